//! What VUs record: request rows, errors, iterations, checks and custom metrics. One
//! [`Metrics`] is a shard, an interval or the whole run; they merge losslessly.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::trend::Trend;

/// One completed request, as the stats see it.
#[derive(Debug, Clone, Copy)]
pub struct RequestSample<'a> {
    /// Method, upper case.
    pub method: &'a str,
    /// Row name.
    pub name: &'a str,
    /// `http_req_duration`; zero for requests that failed before a response.
    pub duration: Duration,
    /// `None` for a success; the failure kind otherwise (`connect-refused`, `status-503`).
    pub failure: Option<&'a str>,
    /// Bytes written.
    pub bytes_sent: u64,
    /// Bytes read.
    pub bytes_received: u64,
}

/// How an iteration ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IterationOutcome {
    /// The task returned `ok`.
    Completed,
    /// The task returned `err` or trapped.
    Failed,
    /// Cut by the end of the graceful stop.
    Interrupted,
}

/// The kind of a custom metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CustomKind {
    /// Sum.
    Counter,
    /// Last value.
    Gauge,
    /// Ratio of true samples.
    Rate,
    /// Distribution.
    Trend,
}

/// One request row: every request with the same method and name.
#[derive(Debug, Clone, Default)]
pub(crate) struct Row {
    pub count: u64,
    pub failures: u64,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    pub duration: Trend,
}

impl Row {
    fn record(&mut self, sample: &RequestSample<'_>) {
        self.count += 1;
        self.failures += u64::from(sample.failure.is_some());
        self.bytes_sent += sample.bytes_sent;
        self.bytes_received += sample.bytes_received;
        if sample.failure.is_none() || !sample.duration.is_zero() {
            self.duration.record_duration(sample.duration);
        }
    }

    fn merge(&mut self, other: &Row) {
        self.count += other.count;
        self.failures += other.failures;
        self.bytes_sent += other.bytes_sent;
        self.bytes_received += other.bytes_received;
        self.duration.merge(&other.duration);
    }

    fn reset(&mut self) {
        self.count = 0;
        self.failures = 0;
        self.bytes_sent = 0;
        self.bytes_received = 0;
        self.duration.reset();
    }
}

/// A custom metric's aggregate.
#[derive(Debug, Clone)]
pub(crate) struct Custom {
    pub kind: CustomKind,
    pub count: u64,
    /// Counter: sum; rate: true samples; gauge: last value; trend: unused.
    pub value: f64,
    /// When a gauge was last set, so merging keeps the latest value.
    pub set_at: Option<Instant>,
    pub trend: Option<Trend>,
}

impl Custom {
    fn new(kind: CustomKind) -> Self {
        let trend = (kind == CustomKind::Trend).then(Trend::new);
        Self {
            kind,
            count: 0,
            value: 0.0,
            set_at: None,
            trend,
        }
    }

    fn merge(&mut self, other: &Custom) {
        self.count += other.count;
        match self.kind {
            CustomKind::Gauge => {
                if other.set_at > self.set_at {
                    self.value = other.value;
                    self.set_at = other.set_at;
                }
            }
            _ => self.value += other.value,
        }
        if let (Some(mine), Some(theirs)) = (&mut self.trend, &other.trend) {
            mine.merge(theirs);
        }
    }

    fn reset(&mut self) {
        self.count = 0;
        if self.kind != CustomKind::Gauge {
            self.value = 0.0;
        }
        if let Some(trend) = &mut self.trend {
            trend.reset();
        }
    }
}

/// Everything recorded over some span: by one shard, in one interval, or over the run.
#[derive(Debug, Clone, Default)]
pub(crate) struct Metrics {
    /// Rows by method, then name (two levels so lookups need no allocation).
    pub rows: HashMap<String, HashMap<String, Row>>,
    /// All requests together.
    pub total: Row,
    /// Failures by (method, name, kind).
    pub errors: HashMap<(String, String, String), u64>,
    pub iterations: u64,
    pub iterations_failed: u64,
    pub iterations_interrupted: u64,
    pub dropped_iterations: u64,
    pub iteration_duration: Trend,
    /// Checks: (passes, fails).
    pub checks: HashMap<String, (u64, u64)>,
    pub custom: HashMap<String, Custom>,
    /// Failed iterations by (task, first line of the message).
    pub iteration_errors: HashMap<(String, String), u64>,
}

/// Distinct iteration error messages kept; others are counted under one row.
const MAX_ITERATION_ERRORS: usize = 100;

impl Metrics {
    pub(crate) fn record_request(&mut self, sample: &RequestSample<'_>) {
        let by_name = match self.rows.get_mut(sample.method) {
            Some(by_name) => by_name,
            None => self.rows.entry(sample.method.to_owned()).or_default(),
        };
        match by_name.get_mut(sample.name) {
            Some(row) => row.record(sample),
            None => by_name
                .entry(sample.name.to_owned())
                .or_default()
                .record(sample),
        }
        self.total.record(sample);
        if let Some(kind) = sample.failure {
            let key = (
                sample.method.to_owned(),
                sample.name.to_owned(),
                kind.to_owned(),
            );
            *self.errors.entry(key).or_default() += 1;
        }
    }

    pub(crate) fn record_iteration(&mut self, outcome: IterationOutcome, duration: Duration) {
        match outcome {
            IterationOutcome::Completed => {}
            IterationOutcome::Failed => self.iterations_failed += 1,
            IterationOutcome::Interrupted => {
                self.iterations_interrupted += 1;
                return;
            }
        }
        self.iterations += 1;
        self.iteration_duration.record_duration(duration);
    }

    pub(crate) fn record_iteration_error(&mut self, task: &str, message: &str) {
        let first_line = message.lines().next().unwrap_or_default();
        let mut key = (
            task.to_owned(),
            first_line.chars().take(200).collect::<String>(),
        );
        if !self.iteration_errors.contains_key(&key)
            && self.iteration_errors.len() >= MAX_ITERATION_ERRORS
        {
            key.1 = "(other errors)".to_owned();
        }
        *self.iteration_errors.entry(key).or_default() += 1;
    }

    pub(crate) fn record_check(&mut self, name: &str, ok: bool) {
        let tally = match self.checks.get_mut(name) {
            Some(tally) => tally,
            None => self.checks.entry(name.to_owned()).or_default(),
        };
        if ok {
            tally.0 += 1;
        } else {
            tally.1 += 1;
        }
    }

    /// Records a custom sample; `false` when `name` already has another kind.
    pub(crate) fn record_custom(&mut self, name: &str, kind: CustomKind, value: f64) -> bool {
        let metric = match self.custom.get_mut(name) {
            Some(metric) => metric,
            None => self
                .custom
                .entry(name.to_owned())
                .or_insert_with(|| Custom::new(kind)),
        };
        if metric.kind != kind {
            return false;
        }
        metric.count += 1;
        match kind {
            CustomKind::Counter => metric.value += value,
            CustomKind::Rate => metric.value += f64::from(u8::from(value != 0.0)),
            CustomKind::Gauge => {
                metric.value = value;
                metric.set_at = Some(Instant::now());
            }
            CustomKind::Trend => {
                if let Some(trend) = &mut metric.trend {
                    trend.record((value * 1000.0).round() as u64);
                }
            }
        }
        true
    }

    pub(crate) fn merge(&mut self, other: &Metrics) {
        for (method, by_name) in &other.rows {
            let mine = self.rows.entry(method.clone()).or_default();
            for (name, row) in by_name {
                if row.count > 0 {
                    mine.entry(name.clone()).or_default().merge(row);
                }
            }
        }
        self.total.merge(&other.total);
        for (key, count) in &other.errors {
            *self.errors.entry(key.clone()).or_default() += count;
        }
        self.iterations += other.iterations;
        self.iterations_failed += other.iterations_failed;
        self.iterations_interrupted += other.iterations_interrupted;
        self.dropped_iterations += other.dropped_iterations;
        self.iteration_duration.merge(&other.iteration_duration);
        for (name, (passes, fails)) in &other.checks {
            let tally = self.checks.entry(name.clone()).or_default();
            tally.0 += passes;
            tally.1 += fails;
        }
        for (key, count) in &other.iteration_errors {
            *self.iteration_errors.entry(key.clone()).or_default() += count;
        }
        for (name, metric) in &other.custom {
            match self.custom.get_mut(name) {
                Some(mine) if mine.kind == metric.kind => mine.merge(metric),
                Some(_) => {}
                None => {
                    self.custom.insert(name.clone(), metric.clone());
                }
            }
        }
    }

    /// Zeroes every figure, keeping rows and allocations for the next span.
    pub(crate) fn reset(&mut self) {
        for row in self.rows.values_mut().flat_map(HashMap::values_mut) {
            row.reset();
        }
        self.total.reset();
        self.errors.clear();
        self.iteration_errors.clear();
        self.iterations = 0;
        self.iterations_failed = 0;
        self.iterations_interrupted = 0;
        self.dropped_iterations = 0;
        self.iteration_duration.reset();
        self.checks.values_mut().for_each(|tally| *tally = (0, 0));
        self.custom.values_mut().for_each(Custom::reset);
    }
}
