//! A distribution of non-negative values: an HdrHistogram plus exact sum, min and max.

use std::borrow::Cow;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Serializer as _, V2Serializer};
use serde::{Deserialize, Serialize};

use super::snapshot::{Percentiles, TrendStats};

/// Values are kept in thousandths (microseconds for durations in milliseconds) with three
/// significant digits; the histogram is allocated at the first value other than zero, or
/// when zeros are merged in (16 KiB, zeroed), and grows to fit the largest value seen, so a
/// trend nothing is recorded into costs nothing. Zeros are counted beside it until merged.
#[derive(Debug, Clone)]
pub struct Trend {
    histogram: Option<Histogram<u64>>,
    sum: u128,
    /// Zeros recorded and not in the histogram yet: the setup phases of a request on a
    /// kept-alive connection (blocked, DNS, connecting, TLS) are zero, and counting one is
    /// an addition where the histogram's record is about a hundred instructions. `merge`
    /// moves them into the histogram it merges into; readers count them.
    zeros: u64,
    /// A histogram read from mergeable results, as its non-zero buckets (the lowest value of
    /// each, its count), not in `histogram`: merging it costs its buckets, not the range of
    /// a whole histogram ([`super::wire`]). Readers take it into account.
    wire: Vec<(u64, u64)>,
}

/// A trend as it is written in mergeable results: its histogram in HdrHistogram's V2
/// encoding (base64), its exact sum and its zeros not yet in the histogram.
#[derive(Serialize, Deserialize)]
struct EncodedTrend {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    histogram: Option<String>,
    sum: u128,
    #[serde(default)]
    zeros: u64,
}

impl Serialize for Trend {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if !self.wire.is_empty() {
            let mut copy = self.clone();
            copy.take_in_wire();
            return copy.serialize(serializer);
        }
        let histogram = match self.recorded() {
            Some(histogram) => {
                let mut bytes = Vec::new();
                V2Serializer::new()
                    .serialize(histogram, &mut bytes)
                    .map_err(|e| serde::ser::Error::custom(format!("histogram: {e:?}")))?;
                Some(BASE64.encode(bytes))
            }
            None => None,
        };
        EncodedTrend {
            histogram,
            sum: self.sum,
            zeros: self.zeros,
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Trend {
    /// A trend as [`Serialize`] wrote it; its histogram has the layout of every trend's
    /// (three significant digits from 1, growing), so merging it is exact. The histogram is
    /// kept as its buckets until it is merged or read.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let encoded = EncodedTrend::deserialize(deserializer)?;
        let wire = match encoded.histogram {
            Some(text) => {
                let bytes = BASE64.decode(text).map_err(serde::de::Error::custom)?;
                super::wire::decode(&bytes)
                    .map_err(|e| serde::de::Error::custom(format!("histogram: {e}")))?
            }
            None => Vec::new(),
        };
        Ok(Self {
            histogram: None,
            sum: encoded.sum,
            zeros: encoded.zeros,
            wire,
        })
    }
}

impl Default for Trend {
    fn default() -> Self {
        Self::new()
    }
}

impl Trend {
    /// An empty trend (no histogram yet).
    pub const fn new() -> Self {
        Self {
            histogram: None,
            sum: 0,
            zeros: 0,
            wire: Vec::new(),
        }
    }

    /// The histogram, allocated on first use.
    fn histogram_mut(&mut self) -> &mut Histogram<u64> {
        self.histogram.get_or_insert_with(|| {
            #[allow(
                clippy::unwrap_used,
                reason = "3 significant digits is a valid constant setting"
            )]
            let mut histogram = Histogram::new(3).unwrap();
            histogram.auto(true);
            histogram
        })
    }

    /// The histogram, if it holds a value.
    fn recorded(&self) -> Option<&Histogram<u64>> {
        self.histogram.as_ref().filter(|h| !h.is_empty())
    }

    /// The smallest and the largest value, in thousandths (0 and 0 when empty).
    fn extremes(&self) -> (u64, u64) {
        if !self.wire.is_empty() {
            return self.settled().extremes();
        }
        let (min, max) = self.recorded().map_or((0, 0), |h| (h.min(), h.max()));
        if self.zeros > 0 { (0, max) } else { (min, max) }
    }

    /// This trend with its zeros in the histogram: itself when it holds none (a trend
    /// only merged into never does), else a copy.
    fn settled(&self) -> Cow<'_, Trend> {
        if self.zeros == 0 && self.wire.is_empty() {
            return Cow::Borrowed(self);
        }
        let mut copy = self.clone();
        let zeros = std::mem::take(&mut copy.zeros);
        copy.add_zeros(zeros);
        copy.take_in_wire();
        Cow::Owned(copy)
    }

    /// Puts the buckets read from mergeable results in the histogram.
    fn take_in_wire(&mut self) {
        let wire = std::mem::take(&mut self.wire);
        self.record_buckets(&wire);
    }

    /// Records buckets read from mergeable results (lowest value, count) in the histogram.
    fn record_buckets(&mut self, buckets: &[(u64, u64)]) {
        if buckets.is_empty() {
            return;
        }
        let histogram = self.histogram_mut();
        for &(value, count) in buckets {
            // Auto-resizing histograms only fail on values beyond u64 range.
            let _ = histogram.record_n(value, count);
        }
    }

    /// Puts `count` zeros in the histogram.
    fn add_zeros(&mut self, count: u64) {
        if count > 0 {
            // Auto-resizing histograms only fail on values beyond u64 range.
            let _ = self.histogram_mut().record_n(0, count);
        }
    }

    /// Records one value in thousandths of the output unit.
    pub fn record(&mut self, thousandths: u64) {
        if thousandths == 0 {
            self.zeros += 1;
            return;
        }
        // Auto-resizing histograms only fail on values beyond u64 range, which cannot happen.
        let _ = self.histogram_mut().record(thousandths);
        self.sum += u128::from(thousandths);
    }

    /// Records a duration, in microseconds (output in milliseconds).
    pub fn record_duration(&mut self, duration: std::time::Duration) {
        self.record(duration.as_micros() as u64);
    }

    /// Records `thousandths`, corrected for coordinated omission (HdrHistogram's
    /// expected-interval correction): a value longer than `interval` also records the values
    /// the samples that would have been taken meanwhile would have had (`value - interval`,
    /// `value - 2·interval`, ... down to `interval`). The interval is raised so that one
    /// value adds at most 10 000 samples.
    pub fn record_corrected(&mut self, thousandths: u64, interval: u64) {
        let interval = interval.max(thousandths / 10_000).max(1);
        let _ = self.histogram_mut().record_correct(thousandths, interval);
        // The same values the histogram added, summed in closed form.
        let extra = (thousandths / interval).saturating_sub(1);
        let sum = u128::from(extra) * u128::from(thousandths)
            - u128::from(interval) * u128::from(extra) * u128::from(extra + 1) / 2;
        self.sum += u128::from(thousandths) + sum;
    }

    /// Number of values.
    pub fn count(&self) -> u64 {
        let wire: u64 = self.wire.iter().map(|(_, count)| count).sum();
        self.histogram.as_ref().map_or(0, Histogram::len) + self.zeros + wire
    }

    /// Adds every value of `other`.
    pub fn merge(&mut self, other: &Trend) {
        self.add_zeros(other.zeros);
        self.take_in_wire();
        self.record_buckets(&other.wire);
        if let Some(theirs) = other.recorded() {
            let _ = self.histogram_mut().add(theirs);
        }
        self.sum += other.sum;
    }

    /// Forgets every value, keeping the allocation (an empty trend is left as it is: zeroing
    /// its counts again would write the whole histogram for nothing).
    pub fn reset(&mut self) {
        if let Some(histogram) = self.histogram.as_mut().filter(|h| !h.is_empty()) {
            histogram.reset();
        }
        self.sum = 0;
        self.zeros = 0;
        self.wire.clear();
    }

    /// The value at `quantile` (0..=1), in the output unit.
    pub fn quantile(&self, quantile: f64) -> f64 {
        self.quantiles([quantile])[0]
    }

    /// The values at `quantiles` (ascending, 0..=1) in one pass, in the output unit.
    pub fn quantiles<const N: usize>(&self, quantiles: [f64; N]) -> [f64; N] {
        if self.zeros > 0 || !self.wire.is_empty() {
            return self.settled().quantiles(quantiles);
        }
        let mut out = [0.0; N];
        if let Some(histogram) = self.recorded() {
            let (min, max) = self.extremes();
            for (slot, value) in out.iter_mut().zip(histogram.value_at_quantiles(quantiles)) {
                // A bucket's highest value can pass the largest sample: keep within them.
                *slot = value.clamp(min, max) as f64 / 1000.0;
            }
        }
        out
    }

    /// The summary statistics, in the output unit.
    pub fn stats(&self) -> TrendStats {
        let count = self.count();
        if count == 0 {
            return TrendStats::default();
        }
        let [p50, p90, p95, p99] = self.quantiles([0.50, 0.90, 0.95, 0.99]);
        TrendStats {
            count,
            min: self.min(),
            mean: self.mean(),
            p50,
            p90,
            p95,
            p99,
            max: self.max(),
        }
    }

    /// The exact mean, in the output unit (0 when empty).
    pub fn mean(&self) -> f64 {
        match self.count() {
            0 => 0.0,
            count => self.sum as f64 / count as f64 / 1000.0,
        }
    }

    /// The exact sum, in thousandths of the output unit.
    pub(crate) fn sum(&self) -> u128 {
        self.sum
    }

    /// Largest value, in thousandths of the output unit.
    pub(crate) fn max_thousandths(&self) -> u64 {
        self.extremes().1
    }

    /// Smallest value, in the output unit.
    pub fn min(&self) -> f64 {
        self.extremes().0 as f64 / 1000.0
    }

    /// Largest value, in the output unit.
    pub fn max(&self) -> f64 {
        self.extremes().1 as f64 / 1000.0
    }

    /// The 11 percentiles Locust reports, in the output unit.
    pub fn locust_percentiles(&self) -> Percentiles {
        Percentiles(self.quantiles(super::snapshot::LOCUST_QUANTILES))
    }

    /// The values of zero, and every non-empty bucket above zero (the lowest value it
    /// holds, its count), ascending: the whole distribution at the histogram's precision.
    /// A value is never placed above itself, so one recorded exactly at a bucket bound of
    /// an output's is counted under that bound.
    pub(crate) fn buckets(&self) -> (u64, Vec<(u64, u64)>) {
        let settled = self.settled();
        let mut zeros = 0;
        let mut buckets = Vec::new();
        if let Some(histogram) = &settled.histogram {
            for v in histogram.iter_recorded() {
                match histogram.lowest_equivalent(v.value_iterated_to()) {
                    0 => zeros += v.count_at_value(),
                    value => buckets.push((value, v.count_at_value())),
                }
            }
        }
        (zeros, buckets)
    }

    /// A compact copy at two significant digits: what the time series keeps.
    pub fn sparse(&self) -> SparseTrend {
        if self.zeros > 0 || !self.wire.is_empty() {
            return self.settled().sparse();
        }
        let mut buckets: Vec<(u16, u32)> = Vec::new();
        for v in self.histogram.iter().flat_map(Histogram::iter_recorded) {
            let index = coarse_index(v.value_iterated_to());
            let count = u32::try_from(v.count_at_value()).unwrap_or(u32::MAX);
            match buckets.last_mut() {
                Some((last, n)) if *last == index => *n = n.saturating_add(count),
                _ => buckets.push((index, count)),
            }
        }
        let (min, max) = self.extremes();
        SparseTrend {
            buckets,
            count: self.count(),
            sum: self.sum,
            min,
            max,
        }
    }
}

/// Sub-buckets per power of two in a [`SparseTrend`]: values are kept within 1/128 (0.8 %).
const COARSE_SUB_BUCKETS: u64 = 128;

/// The bucket of `value` at two significant digits (log-linear: 128 per power of two; values
/// under 128 exactly). Fits in 16 bits for every `u64`.
fn coarse_index(value: u64) -> u16 {
    if value < COARSE_SUB_BUCKETS {
        return value as u16;
    }
    let octave = 63 - value.leading_zeros() as u64; // 7 and up
    let shift = octave - 7;
    let sub = (value >> shift) - COARSE_SUB_BUCKETS;
    ((octave - 6) * COARSE_SUB_BUCKETS + sub) as u16
}

/// The highest value of bucket `index`.
fn coarse_value(index: u16) -> u64 {
    let index = u64::from(index);
    if index < COARSE_SUB_BUCKETS {
        return index;
    }
    let shift = index / COARSE_SUB_BUCKETS - 1;
    let sub = index % COARSE_SUB_BUCKETS;
    let top = (u128::from(COARSE_SUB_BUCKETS + sub + 1) << shift) - 1;
    u64::try_from(top).unwrap_or(u64::MAX)
}

/// A trend reduced to its non-empty buckets at two significant digits (each 6 bytes of
/// data), with the exact count, sum, min and max: what the time series keeps per point.
/// Merging two is exact at that precision, and a point's size is bounded by the buckets
/// (at most about 128 per power of two of latency), never by the samples.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SparseTrend {
    buckets: Vec<(u16, u32)>,
    count: u64,
    sum: u128,
    min: u64,
    max: u64,
}

impl SparseTrend {
    /// Adds every value of `other`.
    pub fn merge(&mut self, other: &SparseTrend) {
        if other.count == 0 {
            return;
        }
        if self.count == 0 {
            *self = other.clone();
            return;
        }
        let mut merged: Vec<(u16, u32)> =
            Vec::with_capacity(self.buckets.len().max(other.buckets.len()));
        let (mut a, mut b) = (
            self.buckets.iter().peekable(),
            other.buckets.iter().peekable(),
        );
        loop {
            let next = match (a.peek(), b.peek()) {
                (Some(&&(va, ca)), Some(&&(vb, cb))) if va == vb => {
                    a.next();
                    b.next();
                    (va, ca.saturating_add(cb))
                }
                (Some(&&x), Some(&&y)) if x.0 < y.0 => {
                    a.next();
                    x
                }
                (_, Some(&&y)) => {
                    b.next();
                    y
                }
                (Some(&&x), None) => {
                    a.next();
                    x
                }
                (None, None) => break,
            };
            merged.push(next);
        }
        self.buckets = merged;
        self.count += other.count;
        self.sum += other.sum;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }

    /// Buckets kept.
    pub fn len(&self) -> usize {
        self.buckets.len()
    }

    /// Whether no value was recorded.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The values at `quantiles` (ascending, 0..=1), in the output unit, within 0.8 % of
    /// what the full histogram gives.
    pub fn quantiles<const N: usize>(&self, quantiles: [f64; N]) -> [f64; N] {
        let mut out = [0.0; N];
        if self.count == 0 {
            return out;
        }
        let mut buckets = self.buckets.iter();
        let (mut seen, mut value) = (0u64, 0u64);
        for (slot, quantile) in out.iter_mut().zip(quantiles) {
            let target = ((quantile.clamp(0.0, 1.0) * self.count as f64).ceil() as u64).max(1);
            while seen < target {
                let Some(&(index, c)) = buckets.next() else {
                    break;
                };
                seen += u64::from(c);
                value = coarse_value(index);
            }
            *slot = value.min(self.max).max(self.min) as f64 / 1000.0;
        }
        out
    }

    /// The summary statistics, in the output unit.
    pub fn stats(&self) -> TrendStats {
        if self.count == 0 {
            return TrendStats::default();
        }
        let [p50, p90, p95, p99] = self.quantiles([0.50, 0.90, 0.95, 0.99]);
        TrendStats {
            count: self.count,
            min: self.min as f64 / 1000.0,
            mean: self.sum as f64 / self.count as f64 / 1000.0,
            p50,
            p90,
            p95,
            p99,
            max: self.max as f64 / 1000.0,
        }
    }

    /// The 11 percentiles Locust reports, in the output unit.
    pub fn locust_percentiles(&self) -> Percentiles {
        Percentiles(self.quantiles(super::snapshot::LOCUST_QUANTILES))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_within_three_significant_digits() {
        let mut trend = Trend::new();
        for us in 1..=10_000u64 {
            trend.record(us);
        }
        let stats = trend.stats();
        assert_eq!(stats.count, 10_000);
        assert!(
            (stats.mean - 5.0005).abs() < 1e-9,
            "exact mean, got {}",
            stats.mean
        );
        assert!((stats.p50 - 5.0).abs() <= 0.005, "p50 {}", stats.p50);
        assert!((stats.p99 - 9.9).abs() <= 0.01, "p99 {}", stats.p99);
        assert_eq!(stats.min, 0.001);
        assert!((stats.max - 10.0).abs() <= 0.01);
    }

    #[test]
    fn corrected_recording_fills_in_the_missed_samples() {
        let mut trend = Trend::new();
        // One 1000-unit value at an expected interval of 100: 1000, 900, ..., 100.
        trend.record_corrected(1000, 100);
        assert_eq!(trend.count(), 10);
        assert!((trend.mean() - 0.55).abs() < 1e-12, "{}", trend.mean());
        trend.record_corrected(50, 100);
        assert_eq!(
            trend.count(),
            11,
            "a value under the interval is recorded alone"
        );
    }

    #[test]
    fn coarse_buckets_keep_values_within_one_percent() {
        let mut last = 0;
        for value in (0..2_000_000u64)
            .step_by(997)
            .chain([u64::MAX / 3, u64::MAX])
        {
            let index = coarse_index(value);
            assert!(index >= last, "buckets are ordered");
            last = index;
            let top = coarse_value(index);
            assert!(top >= value, "{value} -> {top}");
            assert!(
                (top - value) as f64 <= value as f64 / 128.0 + 1.0,
                "{value} -> {top}"
            );
        }
    }

    #[test]
    fn a_sparse_copy_merges_and_answers_like_the_histogram() {
        let (mut a, mut b, mut all) = (Trend::new(), Trend::new(), Trend::new());
        for v in 1..5000u64 {
            let value = v * 37 % 100_003;
            if v % 2 == 0 {
                a.record(value)
            } else {
                b.record(value)
            }
            all.record(value);
        }
        let mut sparse = a.sparse();
        sparse.merge(&b.sparse());
        let (coarse, exact) = (sparse.stats(), all.stats());
        assert_eq!(
            (coarse.count, coarse.min, coarse.mean, coarse.max),
            (exact.count, exact.min, exact.mean, exact.max)
        );
        let close = |a: f64, b: f64| (a - b).abs() <= b * 0.01 + 0.001;
        let (c, e) = (sparse.locust_percentiles().0, all.locust_percentiles().0);
        for (c, e) in c.iter().zip(e) {
            assert!(close(*c, e), "{c} vs {e}");
        }
        assert!(sparse.len() <= 128 * 10, "{}", sparse.len());
        assert!(SparseTrend::default().is_empty());
    }

    #[test]
    fn an_empty_trend_holds_no_histogram_and_answers_zeros() {
        let mut trend = Trend::new();
        let empty = Trend::new();
        trend.merge(&empty);
        trend.reset();
        assert!(
            trend.histogram.is_none(),
            "nothing recorded, nothing allocated"
        );
        assert_eq!(trend.stats(), TrendStats::default());
        assert_eq!((trend.min(), trend.max(), trend.mean()), (0.0, 0.0, 0.0));
        assert!(trend.sparse().is_empty());
        let mut other = Trend::new();
        other.record(1500);
        trend.merge(&other);
        assert_eq!((trend.count(), trend.min(), trend.max()), (1, 1.5, 1.5));
        trend.reset();
        assert_eq!((trend.count(), trend.max()), (0, 0.0));
        assert!(trend.histogram.is_some(), "a reset keeps the allocation");
    }

    #[test]
    fn zeros_counted_aside_answer_as_if_in_the_histogram() {
        let values = [0, 0, 0, 5_000, 7_000, 0];
        let mut trend = Trend::new();
        values.iter().for_each(|&v| trend.record(v));
        let mut histogram = Histogram::<u64>::new(3).unwrap();
        values.iter().for_each(|&v| histogram.record(v).unwrap());
        let reference = Trend {
            histogram: Some(histogram),
            sum: 12_000,
            zeros: 0,
            wire: Vec::new(),
        };
        assert_eq!(trend.zeros, 4, "the zeros were not recorded one by one");
        assert_eq!(trend.stats(), reference.stats());
        assert_eq!(
            (trend.min(), trend.max(), trend.mean()),
            (0.0, reference.max(), 2.0)
        );
        assert_eq!(trend.locust_percentiles(), reference.locust_percentiles());
        assert_eq!(trend.sparse(), reference.sparse());
        // Merged: into an empty trend, and into one that holds values.
        let mut merged = Trend::new();
        merged.merge(&trend);
        assert_eq!((merged.zeros, merged.stats()), (0, reference.stats()));
        let mut only_zeros = Trend::new();
        only_zeros.record(0);
        merged.merge(&only_zeros);
        assert_eq!((merged.count(), merged.min()), (7, 0.0));
        trend.reset();
        assert_eq!((trend.count(), trend.stats()), (0, TrendStats::default()));
    }

    #[test]
    fn a_trend_read_back_answers_and_merges_as_the_one_written() {
        let mut written = Trend::new();
        let mut rng = fastrand::Rng::with_seed(3);
        for _ in 0..5_000 {
            written.record((rng.f64().powi(4) * 2e6) as u64);
        }
        let text = serde_json::to_string(&written).expect("serializes");
        let read: Trend = serde_json::from_str(&text).expect("reads back");
        assert!(
            read.histogram.is_none(),
            "kept as buckets until merged or read"
        );
        assert_eq!(read.count(), written.count());
        assert_eq!(read.stats(), written.stats());
        assert_eq!(read.locust_percentiles(), written.locust_percentiles());
        assert_eq!(read.sparse(), written.sparse());
        assert_eq!(serde_json::to_string(&read).expect("serializes"), text);
        // Merged into a trend that holds values, and into one read back too.
        let mut base = Trend::new();
        (1..300u64).for_each(|v| base.record(v * 13));
        let (mut by_buckets, mut by_histogram) = (base.clone(), base);
        by_buckets.merge(&read);
        by_histogram.merge(&written);
        assert_eq!(by_buckets.histogram, by_histogram.histogram);
        assert_eq!(by_buckets.stats(), by_histogram.stats());
        let mut into_read: Trend = serde_json::from_str(&text).expect("reads back");
        into_read.merge(&read);
        let mut twice = written.clone();
        twice.merge(&written);
        assert_eq!(into_read.stats(), twice.stats());
    }

    #[test]
    fn merge_equals_recording_everything_in_one() {
        let (mut a, mut b, mut all) = (Trend::new(), Trend::new(), Trend::new());
        for v in 0..1000u64 {
            let target = if v % 3 == 0 { &mut a } else { &mut b };
            target.record(v * 7);
            all.record(v * 7);
        }
        a.merge(&b);
        assert_eq!(a.stats(), all.stats());
    }
}
