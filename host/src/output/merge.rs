//! `host report`: result files (`--out result=FILE`) merged into the report of one run, as
//! if one process had recorded every sample. The files are read line by line, side by
//! side: memory holds one interval per file, not the files.

use std::fs::File;
use std::io::{BufRead, BufReader, Lines};
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use anyhow::{Context as _, bail};

use super::result::{End, Header, RESULT_VERSION, Record};
use crate::config::{Fraction, Overrides, Plan, PlanDocument, Segment};
use crate::run::{Report, RunStatus};
use crate::stats::{Collector, IntervalDelta, IntervalStats, NameCaps};

/// Result files merged: the report of the whole run, and what the reader should know about
/// the files (parts missing or repeated, runs that did not end).
#[derive(Debug)]
pub struct Merged {
    /// The report, its thresholds judged on the merged figures.
    pub report: Report,
    /// Sentences about the files, for the terminal.
    pub warnings: Vec<String>,
}

/// The lines of one result file, gzipped or not.
struct Reader {
    path: PathBuf,
    lines: Lines<Box<dyn BufRead>>,
    line: usize,
}

impl Reader {
    fn open(path: &Path) -> anyhow::Result<Self> {
        let file = File::open(path).with_context(|| format!("cannot open {path:?}"))?;
        let mut file = BufReader::new(file);
        let gzipped = file
            .fill_buf()
            .with_context(|| format!("cannot read {path:?}"))?
            .starts_with(&[0x1f, 0x8b]);
        let input: Box<dyn BufRead> = if gzipped {
            Box::new(BufReader::new(flate2::bufread::MultiGzDecoder::new(file)))
        } else {
            Box::new(file)
        };
        Ok(Self {
            path: path.to_owned(),
            lines: input.lines(),
            line: 0,
        })
    }

    /// The next record, `None` at the end of the file.
    fn read(&mut self) -> anyhow::Result<Option<Record>> {
        let Some(line) = self.lines.next() else {
            return Ok(None);
        };
        self.line += 1;
        let line = line.with_context(|| format!("cannot read {:?}", self.path))?;
        let record = serde_json::from_str(&line).with_context(|| {
            format!(
                "{:?} line {}: not a result record (was it written by --out result=FILE?)",
                self.path, self.line
            )
        })?;
        Ok(Some(record))
    }
}

/// One result file being read.
struct Part {
    path: PathBuf,
    reader: Reader,
    header: Header,
    /// The part of the plan it ran (its execution segment), resolved.
    plan: Plan,
    /// Its next interval, read and not merged yet.
    next: Option<IntervalDelta>,
    intervals: u64,
    end: Option<End>,
    /// Whether every line was read.
    done: bool,
}

impl Part {
    fn open(path: &Path) -> anyhow::Result<Self> {
        let mut reader = Reader::open(path)?;
        let header = match reader.read()? {
            Some(Record::Header(header)) => *header,
            Some(_) => bail!("{path:?} does not start with a result header"),
            None => bail!("{path:?} is empty: it is not a result file (--out result=FILE)"),
        };
        if header.format != RESULT_VERSION {
            bail!(
                "{path:?} was written by Loadwright {} in result format {}; this Loadwright \
                 ({}) reads format {RESULT_VERSION}",
                header.loadwright,
                header.format,
                env!("CARGO_PKG_VERSION")
            );
        }
        let plan = header
            .plan
            .clone()
            .resolve(Overrides::default())
            .with_context(|| format!("{path:?}: its plan is invalid"))?;
        let mut part = Self {
            path: path.to_owned(),
            reader,
            header,
            plan,
            next: None,
            intervals: 0,
            end: None,
            done: false,
        };
        part.advance()?;
        Ok(part)
    }

    /// Reads up to the next interval (into `next`) or to the end.
    fn advance(&mut self) -> anyhow::Result<()> {
        self.next = None;
        while !self.done {
            match self.reader.read()? {
                Some(Record::Interval(delta)) => {
                    self.intervals += 1;
                    self.next = Some(*delta);
                    return Ok(());
                }
                Some(Record::End(end)) => self.end = Some(end),
                Some(Record::Header(_)) => bail!(
                    "{:?} line {}: a second header: result files are merged by naming each \
                     (host report a.ndjson b.ndjson), not by joining them",
                    self.path,
                    self.reader.line
                ),
                None => self.done = true,
            }
        }
        Ok(())
    }

    /// The plan's document without its execution segment: the same for every part of one plan.
    fn whole_document(&self) -> PlanDocument {
        PlanDocument {
            execution_segment: None,
            ..self.header.plan.clone()
        }
    }

    fn segment(&self) -> Segment {
        self.plan.segment().map_or(Segment::FULL, |t| t.segment())
    }
}

/// Result files opened and checked to be parts of one run, ready to merge.
pub struct Results {
    parts: Vec<Part>,
    /// The whole plan the parts ran segments of.
    plan: Plan,
}

impl Results {
    /// Opens the result files at `paths` and checks that they ran one plan and scenario.
    pub fn open(paths: &[PathBuf]) -> anyhow::Result<Self> {
        if paths.is_empty() {
            bail!("name at least one result file (written by host run --out result=FILE)");
        }
        let parts = paths
            .iter()
            .map(|path| Part::open(path))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let plan = whole_plan(&parts)?;
        Ok(Self { parts, plan })
    }

    /// Merges the files into one report; hands each merged interval to `on_interval` as it
    /// closes (for the streaming outputs: every interval, where the report's series thins a
    /// long run's out).
    pub fn merge(
        mut self,
        mut on_interval: impl FnMut(&IntervalStats) -> anyhow::Result<()>,
    ) -> anyhow::Result<Merged> {
        let plan = self.plan;
        let parts = &mut self.parts;
        let mut warnings: Vec<String> = coverage(parts).into_iter().collect();
        let start = parts
            .iter()
            .map(|p| p.header.started_at)
            .fold(f64::INFINITY, f64::min);
        let collector = Collector::with_thresholds(
            plan.thresholds.clone(),
            plan.latency_correction,
            NameCaps::default(),
        );
        let last = replay(
            parts,
            &collector,
            (start, plan.stats_interval),
            &mut on_interval,
        )?;
        let ends = Ends::of(parts, start, &mut warnings);
        collector.set_vus(ends.vus, ends.retired);
        collector.set_vus_max(ends.vus_max);
        let report = Report {
            status: merged_status(ends.statuses),
            scenario: parts[0].header.scenario.clone(),
            plan,
            started_at: UNIX_EPOCH + Duration::from_secs_f64(start.max(0.0)),
            snapshot: collector.snapshot_at(ends.elapsed.max(last)),
            series: collector.series(),
            log_dropped: ends.log_dropped,
        };
        Ok(Merged { report, warnings })
    }
}

/// The parts' end records added up.
#[derive(Default)]
struct Ends {
    elapsed: Duration,
    vus: u32,
    retired: u32,
    vus_max: u32,
    log_dropped: u64,
    statuses: Vec<RunStatus>,
}

impl Ends {
    /// The end records of `parts` (started `start`); a warning for each part without one.
    fn of(parts: &[Part], start: f64, warnings: &mut Vec<String>) -> Self {
        let mut ends = Self::default();
        for part in parts {
            let Some(end) = &part.end else {
                warnings.push(format!(
                    "{} has no end record: its run died or is still running; its {} \
                     intervals are merged",
                    part.path.display(),
                    part.intervals
                ));
                ends.statuses.push(RunStatus::Aborted {
                    reason: format!("{} ended before its run did", part.path.display()),
                });
                ends.vus_max += part.plan.max_vus();
                continue;
            };
            let offset = Duration::from_secs_f64((part.header.started_at - start).max(0.0));
            ends.elapsed = ends.elapsed.max(offset + end.elapsed);
            ends.vus += end.vus;
            ends.retired += end.vus_retired;
            ends.vus_max += end.vus_max;
            ends.log_dropped += end.log_dropped;
            ends.statuses.push(end.status.clone());
        }
        ends
    }
}

/// The plan every part ran a segment of, without the segment; an error if two files ran
/// different plans or scenarios.
fn whole_plan(parts: &[Part]) -> anyhow::Result<Plan> {
    let first = &parts[0];
    let document = first.whole_document();
    for part in &parts[1..] {
        if part.header.scenario.hash != first.header.scenario.hash {
            bail!(
                "{} and {} ran different scenarios (component {} and {}): only the parts \
                 of one run merge",
                first.path.display(),
                part.path.display(),
                short(&first.header.scenario.hash),
                short(&part.header.scenario.hash),
            );
        }
        if part.whole_document() != document {
            bail!(
                "{} and {} ran different plans (beyond their execution segments): only the \
                 parts of one run merge",
                first.path.display(),
                part.path.display()
            );
        }
    }
    let whole = PlanDocument {
        execution_segment_sequence: None,
        ..document
    };
    whole
        .resolve(Overrides::default())
        .context("the merged plan is invalid")
}

fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

/// A sentence when the files' execution segments do not cover the plan exactly once.
fn coverage(parts: &[Part]) -> Option<String> {
    let mut segments: Vec<Segment> = parts.iter().map(Part::segment).collect();
    segments.sort_by_key(|s| (s.from(), s.to()));
    let covered: Fraction = segments.iter().map(Segment::length).sum();
    let overlap = segments.windows(2).any(|w| w[1].from() < w[0].to());
    if covered == Fraction::from_integer(1) && !overlap {
        return None;
    }
    let list = segments
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    Some(if overlap {
        format!(
            "the files' execution segments overlap ({list}): their samples are added up, \
             as several runs, not as the parts of one"
        )
    } else {
        format!(
            "the files' execution segments cover {covered} of the plan ({list}): the \
             figures are those of that part, and thresholds are judged on it"
        )
    })
}

/// Feeds every part's intervals into `collector`, the intervals that ended about the same
/// time (the same multiple of `interval` after `start`) as one, each handed to
/// `on_interval`; returns when the last ended.
fn replay(
    parts: &mut [Part],
    collector: &Collector,
    (start, interval): (f64, Duration),
    on_interval: &mut impl FnMut(&IntervalStats) -> anyhow::Result<()>,
) -> anyhow::Result<Duration> {
    let period = interval.as_secs_f64().max(1e-3);
    let bucket = |delta: &IntervalDelta| ((delta.timestamp - start) / period).round().max(0.0);
    let mut last = Duration::ZERO;
    loop {
        let Some(current) = parts
            .iter()
            .filter_map(|p| p.next.as_ref().map(bucket))
            .reduce(f64::min)
        else {
            return Ok(last);
        };
        let mut vus = 0;
        let mut ended = last;
        for part in parts.iter_mut() {
            let mut part_vus = None;
            while let Some(delta) = part.next.as_ref().filter(|d| bucket(d) == current) {
                collector.absorb(&delta.metrics);
                part_vus = Some(delta.vus);
                ended = ended.max(Duration::from_secs_f64((delta.timestamp - start).max(0.0)));
                part.advance()?;
            }
            vus += part_vus.unwrap_or(0);
        }
        collector.set_vus(vus, 0);
        let length = ended.saturating_sub(last);
        on_interval(&collector.close_interval_at(ended, length, start + ended.as_secs_f64()))?;
        last = ended;
    }
}

/// How the whole run ended, from how its parts did: a threshold's abort, then any other
/// abort, then a stop, decide before completion.
fn merged_status(statuses: Vec<RunStatus>) -> RunStatus {
    let mut reasons = Vec::new();
    let mut stopped = false;
    for status in statuses {
        match status {
            RunStatus::AbortedByThreshold { .. } => return status,
            RunStatus::Aborted { reason } => reasons.push(reason),
            RunStatus::Stopped => stopped = true,
            _ => {}
        }
    }
    if !reasons.is_empty() {
        reasons.dedup();
        return RunStatus::Aborted {
            reason: reasons.join("; "),
        };
    }
    if stopped {
        RunStatus::Stopped
    } else {
        RunStatus::Completed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_threshold_abort_then_any_abort_then_a_stop_decide_how_the_whole_ended() {
        let aborted = |reason: &str| RunStatus::Aborted {
            reason: reason.into(),
        };
        let by_threshold = RunStatus::AbortedByThreshold {
            threshold: "http_req_failed: rate<0.01".into(),
        };
        let cases = [
            (
                vec![RunStatus::Completed, RunStatus::Completed],
                RunStatus::Completed,
            ),
            (
                vec![RunStatus::Completed, RunStatus::Stopped],
                RunStatus::Stopped,
            ),
            (
                vec![aborted("a"), RunStatus::Stopped, aborted("b"), aborted("b")],
                aborted("a; b"),
            ),
            (vec![aborted("a"), by_threshold.clone()], by_threshold),
        ];
        for (parts, whole) in cases {
            assert_eq!(merged_status(parts.clone()), whole, "{parts:?}");
        }
    }
}
