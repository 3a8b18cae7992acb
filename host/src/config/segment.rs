//! Execution segments with k6's semantics: which part of a plan one instance of several
//! runs, computed by each instance alone (no coordinator), so that the parts of a sequence
//! add up exactly to the whole plan.
//!
//! A [`Segment`] is a slice `(from, to]` of `[0, 1]` (`1/4:1/2`, `25%:50%`, `0.25:0.5`); a
//! [`Sequence`] is the points that cut `[0, 1]` into the instances' segments
//! (`0,1/4,1/2,3/4,1`). A [`Tuple`] is one instance's segment within its sequence: it stripes
//! the integers among the sequence's segments the way k6 does (`lib/execution_segment.go`),
//! so that [`Tuple::scale`] gives this instance's share of any count (VUs, iterations,
//! arrivals), the shares of a sequence always sum to the count, and a share never shrinks
//! as the count grows. [`SegmentedIndex`] walks the global numbers (VU or iteration) this
//! instance owns.
//!
//! Points are written as fractions (`1/3`), decimals (`0.25`, at most 9 decimals) or whole
//! percentages (`25%`): the subset of Go's `big.Rat` syntax k6's own tests use.

use std::fmt;
use std::str::FromStr;

use num_integer::Integer as _;
use num_rational::Ratio;

/// An exact point of `[0, 1]`.
pub type Fraction = Ratio<i128>;

/// The largest common denominator of a sequence's segment lengths: the stripes are tables of
/// that many entries (k6 leaves it unbounded).
pub const MAX_LCD: i128 = 100_000;

/// Most decimals a point may have.
const MAX_DECIMALS: usize = 9;

/// Why a segment, a sequence or a re-segmentation is not valid; each message says what to
/// write instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SegmentError {
    /// A point that is not a fraction, a decimal or a whole percentage.
    #[error(
        "{0:?} is not a point of a segment: write a fraction (1/4), a decimal (0.25) or a \
         whole percentage (25%)"
    )]
    NotANumber(String),
    /// `from` below 0.
    #[error("segment {0} starts below 0")]
    StartBelowZero(String),
    /// `from` not before `to`.
    #[error("segment {0} does not start before it ends")]
    StartNotBeforeEnd(String),
    /// `to` above 1.
    #[error("segment {0} ends above 1")]
    EndAboveOne(String),
    /// A sequence with one point or none.
    #[error("the segment sequence {0:?} needs at least two points (0,1/2,1)")]
    TooFewPoints(String),
    /// The segment is not one of the sequence's.
    #[error("the execution segment {segment} is not one of the sequence {sequence}")]
    NotInSequence {
        /// The segment.
        segment: String,
        /// The sequence, filled to `[0, 1]`.
        sequence: String,
    },
    /// The segments' lengths need too large a common denominator.
    #[error(
        "the segment sequence {sequence} needs a common denominator of {lcd} for its \
         segments' lengths; at most {MAX_LCD} is supported: use simpler fractions"
    )]
    TooFine {
        /// The sequence.
        sequence: String,
        /// The common denominator it needs.
        lcd: i128,
    },
    /// Split into zero parts.
    #[error("a segment splits into 1 part or more, not {0}")]
    SplitIntoNothing(i128),
    /// Re-segmented by 0.
    #[error("a tuple is re-segmented by a count of 1 or more, not 0")]
    ZeroCount,
    /// This instance's share of the count re-segmented by is zero.
    #[error("segment {segment} gets none of {count} and has no part in the re-segmented sequence")]
    NoShare {
        /// The segment.
        segment: String,
        /// The count.
        count: u64,
    },
}

fn parse_integer(text: &str) -> Option<i128> {
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if digits.is_empty() || digits.len() > 18 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// A point: `N%` (whole), `a/b`, or a decimal.
fn parse_point(text: &str) -> Result<Fraction, SegmentError> {
    let bad = || SegmentError::NotANumber(text.to_owned());
    let trimmed = text.trim();
    if let Some(percent) = trimmed.strip_suffix('%') {
        return parse_integer(percent.trim())
            .map(|n| Fraction::new(n, 100))
            .ok_or_else(bad);
    }
    if let Some((numerator, denominator)) = trimmed.split_once('/') {
        let (n, d) = (parse_integer(numerator), parse_integer(denominator));
        return match (n, d) {
            (Some(n), Some(d)) if d != 0 => Ok(Fraction::new(n, d)),
            _ => Err(bad()),
        };
    }
    let (sign, unsigned) = match trimmed.strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, trimmed.strip_prefix('+').unwrap_or(trimmed)),
    };
    let (whole, decimals) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && decimals.is_empty())
        || !digits(whole)
        || !digits(decimals)
        || whole.len() > 18
        || decimals.len() > MAX_DECIMALS
    {
        return Err(bad());
    }
    let value = |part: &str| {
        if part.is_empty() {
            Ok(0)
        } else {
            part.parse::<i128>()
        }
    };
    let (whole, fraction) = (
        value(whole).map_err(|_| bad())?,
        value(decimals).map_err(|_| bad())?,
    );
    let scale = 10_i128.pow(decimals.len() as u32);
    Ok(Fraction::new(sign * (whole * scale + fraction), scale))
}

/// A slice `(from, to]` of the whole plan, `0 ≤ from < to ≤ 1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Segment {
    from: Fraction,
    to: Fraction,
}

impl Segment {
    /// The whole plan, `0:1`.
    pub const FULL: Segment = Segment {
        from: Fraction::new_raw(0, 1),
        to: Fraction::new_raw(1, 1),
    };

    /// The segment `(from, to]`, if `0 ≤ from < to ≤ 1`.
    pub fn new(from: Fraction, to: Fraction) -> Result<Self, SegmentError> {
        let shown = || format!("{from}:{to}");
        if from < Fraction::from_integer(0) {
            return Err(SegmentError::StartBelowZero(shown()));
        }
        if from >= to {
            return Err(SegmentError::StartNotBeforeEnd(shown()));
        }
        if to > Fraction::from_integer(1) {
            return Err(SegmentError::EndAboveOne(shown()));
        }
        Ok(Self { from, to })
    }

    /// Where it starts.
    pub fn from(&self) -> Fraction {
        self.from
    }

    /// Where it ends.
    pub fn to(&self) -> Fraction {
        self.to
    }

    /// `to - from`.
    pub fn length(&self) -> Fraction {
        self.to - self.from
    }

    /// `n` equal parts of it.
    pub fn split(&self, n: i128) -> Result<Vec<Segment>, SegmentError> {
        if n < 1 {
            return Err(SegmentError::SplitIntoNothing(n));
        }
        let step = self.length() / n;
        Ok((0..n)
            .map(|i| Segment {
                from: self.from + step * i,
                to: self.from + step * (i + 1),
            })
            .collect())
    }

    /// The part of this segment that `child` is of the whole: `1/2:1` and `0:1/2` give
    /// `1/2:3/4`.
    pub fn sub_segment(&self, child: &Segment) -> Segment {
        let length = self.length();
        Segment {
            from: self.from + child.from * length,
            to: self.from + child.to * length,
        }
    }
}

impl FromStr for Segment {
    type Err = SegmentError;

    /// `from:to`, or `to` alone (`from` 0); empty is the whole plan.
    fn from_str(text: &str) -> Result<Self, SegmentError> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(Self::FULL);
        }
        match text.split_once(':') {
            Some((from, to)) => Self::new(parse_point(from)?, parse_point(to)?),
            None => Self::new(Fraction::from_integer(0), parse_point(text)?),
        }
    }
}

impl fmt::Display for Segment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.from, self.to)
    }
}

/// Consecutive segments, each starting where the one before ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sequence(Vec<Segment>);

impl Sequence {
    /// Its segments, in order.
    pub fn segments(&self) -> &[Segment] {
        &self.0
    }

    /// The sequence filled out to `[0, 1]` (a segment before its first point and after its
    /// last, where they are missing).
    fn filled(&self) -> Vec<Segment> {
        let mut segments = self.0.clone();
        let zero = Fraction::from_integer(0);
        let one = Fraction::from_integer(1);
        if let Some(first) = segments.first().copied()
            && first.from > zero
        {
            segments.insert(
                0,
                Segment {
                    from: zero,
                    to: first.from,
                },
            );
        }
        if let Some(last) = segments.last().copied()
            && last.to < one
        {
            segments.push(Segment {
                from: last.to,
                to: one,
            });
        }
        segments
    }
}

impl FromStr for Sequence {
    type Err = SegmentError;

    /// Two or more comma-separated points, strictly increasing within `[0, 1]`.
    fn from_str(text: &str) -> Result<Self, SegmentError> {
        let points = text
            .split(',')
            .map(parse_point)
            .collect::<Result<Vec<_>, _>>()?;
        if points.len() < 2 {
            return Err(SegmentError::TooFewPoints(text.to_owned()));
        }
        let segments = points
            .windows(2)
            .map(|pair| Segment::new(pair[0], pair[1]))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self(segments))
    }
}

impl fmt::Display for Sequence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(first) = self.0.first() {
            write!(f, "{}", first.from)?;
        }
        self.0.iter().try_for_each(|s| write!(f, ",{}", s.to))
    }
}

/// One instance's segment within its (filled) sequence, with the stripes that give each
/// segment of the sequence its share of the integers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tuple {
    segment: Segment,
    sequence: Vec<Segment>,
    index: usize,
    /// The common denominator of the segments' lengths: the stripes repeat every `lcd`.
    lcd: u64,
    /// Per segment of the sequence, the integers of `0..lcd` it owns, ascending.
    stripes: Vec<Vec<u64>>,
}

impl Tuple {
    /// `segment` (the whole plan if `None`) within `sequence` (if `None`, the segment alone,
    /// with what is before and after it).
    pub fn new(
        segment: Option<Segment>,
        sequence: Option<&Sequence>,
    ) -> Result<Self, SegmentError> {
        let segment = segment.unwrap_or(Segment::FULL);
        let filled = match sequence {
            Some(sequence) => sequence.filled(),
            None => Sequence(vec![segment]).filled(),
        };
        let Some(index) = filled.iter().position(|s| *s == segment) else {
            return Err(SegmentError::NotInSequence {
                segment: segment.to_string(),
                sequence: Sequence(filled).to_string(),
            });
        };
        Self::of_filled(segment, filled, index)
    }

    fn of_filled(
        segment: Segment,
        sequence: Vec<Segment>,
        index: usize,
    ) -> Result<Self, SegmentError> {
        let mut lcd: i128 = 1;
        for s in &sequence {
            // Each denominator divides the LCD: one above the cap is refused before the
            // product could overflow.
            let denominator = *s.length().denom();
            lcd = if denominator > MAX_LCD {
                denominator
            } else {
                lcd.lcm(&denominator)
            };
            if lcd > MAX_LCD {
                return Err(SegmentError::TooFine {
                    sequence: Sequence(sequence.clone()).to_string(),
                    lcd,
                });
            }
        }
        let weights: Vec<u64> = sequence
            .iter()
            .map(|s| (s.length() * lcd).to_integer() as u64)
            .collect();
        let stripes = stripes(&weights, lcd as u64);
        Ok(Self {
            segment,
            sequence,
            index,
            lcd: lcd as u64,
            stripes,
        })
    }

    /// This instance's segment.
    pub fn segment(&self) -> Segment {
        self.segment
    }

    /// The sequence, filled out to `[0, 1]`.
    pub fn sequence(&self) -> Sequence {
        Sequence(self.sequence.clone())
    }

    /// This instance's share of `count`: how many of the integers `0..count` it owns (k6's
    /// `ScaleInt64`).
    pub fn scale(&self, count: u64) -> u64 {
        self.share(self.index, count)
    }

    /// Whether this instance owns `number` (from 0) of the numbers of a count: its share of
    /// `count` is how many of `0..count` it owns.
    pub fn owns(&self, number: u64) -> bool {
        self.sequence.len() == 1
            || self.stripes[self.index]
                .binary_search(&(number % self.lcd))
                .is_ok()
    }

    /// The global number (from 1) of this instance's `local`-th number (from 1): what the
    /// [`SegmentedIndex`] gives at its `local`-th step, k6's `idInTest` of the `local`-th VU.
    pub fn nth_owned(&self, local: u64) -> u64 {
        let owned = &self.stripes[self.index];
        if self.sequence.len() == 1 || local == 0 || owned.is_empty() {
            return local;
        }
        let (cycle, position) = (
            (local - 1) / owned.len() as u64,
            (local - 1) % owned.len() as u64,
        );
        cycle * self.lcd + owned[position as usize] + 1
    }

    fn share(&self, index: usize, count: u64) -> u64 {
        if self.sequence.len() == 1 {
            return count;
        }
        let owned = &self.stripes[index];
        let below = owned.partition_point(|&o| o < count % self.lcd) as u64;
        count / self.lcd * owned.len() as u64 + below
    }

    /// The first integer this instance owns, the gaps from each to the next (wrapping round
    /// once), and the period (k6's `GetStripedOffsets`).
    pub fn striped_offsets(&self) -> (u64, Vec<u64>, u64) {
        let owned = &self.stripes[self.index];
        let start = owned.first().copied().unwrap_or(0);
        let mut offsets: Vec<u64> = owned.windows(2).map(|w| w[1] - w[0]).collect();
        offsets.push(start + self.lcd - owned.last().copied().unwrap_or(0));
        (start, offsets, self.lcd)
    }

    /// The walk over the global numbers this instance owns.
    pub fn index(&self) -> SegmentedIndex {
        let (start, offsets, lcd) = self.striped_offsets();
        SegmentedIndex::new(start, lcd, offsets)
    }

    /// The tuple of a sequence re-cut by `count`: each segment becomes its share of `count`
    /// over `count`, and those with none are left out (k6's
    /// `GetNewExecutionTupleFromValue`; shared iterations and arrival rates use it).
    pub fn resegment(&self, count: u64) -> Result<Tuple, SegmentError> {
        if count == 0 {
            return Err(SegmentError::ZeroCount);
        }
        if count.is_multiple_of(self.lcd) {
            return Ok(self.clone());
        }
        let total = i128::from(count);
        let mut sequence = Vec::new();
        let mut index = None;
        let mut before: i128 = 0;
        for position in 0..self.sequence.len() {
            let share = i128::from(self.share(position, count));
            if share == 0 {
                continue;
            }
            if position == self.index {
                index = Some(sequence.len());
            }
            sequence.push(Segment {
                from: Fraction::new(before, total),
                to: Fraction::new(before + share, total),
            });
            before += share;
        }
        let index = index.ok_or_else(|| SegmentError::NoShare {
            segment: self.segment.to_string(),
            count,
        })?;
        Self::of_filled(sequence[index], sequence, index)
    }
}

/// Gives each of `0..lcd` to one segment, `weights[j]` of them to segment `j`: in order of
/// weight (largest first, ties in sequence order), `i` goes to the first segment that is
/// not ahead of its even spread (`i ≥ ceil(given_j · lcd / weight_j)`).
fn stripes(weights: &[u64], lcd: u64) -> Vec<Vec<u64>> {
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|&a, &b| weights[b].cmp(&weights[a]));
    let mut owned: Vec<Vec<u64>> = weights
        .iter()
        .map(|&w| Vec::with_capacity(w as usize))
        .collect();
    for i in 0..lcd {
        let next = order.iter().copied().find(|&j| {
            let given = owned[j].len() as u64;
            given < weights[j]
                && u128::from(i) * u128::from(weights[j]) >= u128::from(given) * u128::from(lcd)
        });
        if let Some(j) = next {
            owned[j].push(i);
        }
    }
    owned
}

/// Walks the global numbers (1-based) one instance owns, given its striped offsets: each
/// step gives the local number (how many so far) and the global one (k6's
/// `SegmentedIndex`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentedIndex {
    start: u64,
    lcd: u64,
    offsets: Vec<u64>,
    local: u64,
    global: u64,
}

impl SegmentedIndex {
    /// An index before its first number.
    pub fn new(start: u64, lcd: u64, offsets: Vec<u64>) -> Self {
        Self {
            start,
            lcd,
            offsets,
            local: 0,
            global: 0,
        }
    }

    fn offset_after(&self, local: u64) -> u64 {
        self.offsets[((local - 1) % self.offsets.len() as u64) as usize]
    }

    /// The next owned number: `(local, global)`, both 1-based.
    pub fn forward(&mut self) -> (u64, u64) {
        self.global = if self.local == 0 {
            self.start + 1
        } else {
            self.global + self.offset_after(self.local)
        };
        self.local += 1;
        (self.local, self.global)
    }

    /// Steps back one number: `(0, 0)` before the first.
    pub fn back(&mut self) -> (u64, u64) {
        if self.local <= 1 {
            self.local = 0;
            self.global = 0;
        } else {
            self.local -= 1;
            self.global -= self.offset_after(self.local);
        }
        (self.local, self.global)
    }

    /// Moves to the last owned number not above `global`: `(0, 0)` if there is none.
    pub fn goto(&mut self, global: u64) -> (u64, u64) {
        self.local = 0;
        self.global = 0;
        if global <= self.start {
            return (0, 0);
        }
        let cycles = (global - self.start - 1) / self.lcd;
        if cycles > 0 {
            self.local = cycles * self.offsets.len() as u64;
            // The number before the first of the next cycle.
            self.global = self.start + 1 + cycles * self.lcd - self.offsets[self.offsets.len() - 1];
        }
        loop {
            let (_, next) = self.forward();
            if next > global {
                return self.back();
            }
        }
    }
}

#[cfg(test)]
mod tests;
