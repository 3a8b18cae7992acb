//! The run's stats hub: shards VUs record into, aggregates, the time series.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::metrics::{CustomKind, IterationOutcome, Metrics, RequestSample, Row};
use super::snapshot::{
    CheckStats, ErrorCount, IntervalStats, IterationError, MetricStats, RequestStats, Snapshot,
};

/// Shards per collector: enough that VUs on different worker threads rarely meet on one
/// lock, few enough that draining them stays cheap.
const SHARDS: usize = 16;

/// Collects a run's samples and serves snapshots and intervals.
#[derive(Debug)]
pub struct Collector {
    shards: Box<[Mutex<Metrics>]>,
    aggregate: Mutex<Aggregate>,
    started: Instant,
    vus: AtomicU32,
    vus_max: AtomicU32,
}

#[derive(Debug)]
struct Aggregate {
    cumulative: Metrics,
    interval: Metrics,
    interval_started: Instant,
    /// The last closed interval and its length, for `current_rps`.
    last: Metrics,
    last_length: Duration,
    series: Vec<IntervalStats>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding a stats lock leaves plain counters behind: still usable.
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Collector {
    /// A collector whose clock starts now.
    pub fn new() -> Arc<Self> {
        let now = Instant::now();
        Arc::new(Self {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            aggregate: Mutex::new(Aggregate {
                cumulative: Metrics::default(),
                interval: Metrics::default(),
                interval_started: now,
                last: Metrics::default(),
                last_length: Duration::ZERO,
                series: Vec::new(),
            }),
            started: now,
            vus: AtomicU32::new(0),
            vus_max: AtomicU32::new(0),
        })
    }

    /// A recorder for the VU numbered `vu`.
    pub fn recorder(self: &Arc<Self>, vu: u32) -> Recorder {
        Recorder {
            collector: self.clone(),
            shard: vu as usize % SHARDS,
        }
    }

    /// Time since the collector started.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Counts a VU in (`delta` 1) or out (`-1`).
    pub fn add_vus(&self, delta: i32) {
        if delta >= 0 {
            self.vus.fetch_add(delta as u32, Ordering::Relaxed);
        } else {
            self.vus.fetch_sub(delta.unsigned_abs(), Ordering::Relaxed);
        }
    }

    /// Sets the most VUs the run may use.
    pub fn set_vus_max(&self, vus: u32) {
        self.vus_max.store(vus, Ordering::Relaxed);
    }

    /// Active VUs.
    pub fn vus(&self) -> u32 {
        self.vus.load(Ordering::Relaxed)
    }

    fn drain(&self, aggregate: &mut Aggregate) {
        for shard in self.shards.iter() {
            let mut shard = lock(shard);
            aggregate.cumulative.merge(&shard);
            aggregate.interval.merge(&shard);
            shard.reset();
        }
    }

    /// The cumulative statistics now, including every sample recorded so far.
    pub fn snapshot(&self) -> Snapshot {
        let mut aggregate = lock(&self.aggregate);
        self.drain(&mut aggregate);
        self.build_snapshot(&aggregate)
    }

    /// Closes the current interval, appends it to the series and returns it.
    pub fn close_interval(&self) -> IntervalStats {
        let mut aggregate = lock(&self.aggregate);
        self.drain(&mut aggregate);
        let now = Instant::now();
        let length = now - aggregate.interval_started;
        let secs = length.as_secs_f64().max(1e-9);
        let interval = &aggregate.interval;
        let stats = IntervalStats {
            elapsed: now - self.started,
            length,
            requests: interval.total.count,
            failures: interval.total.failures,
            rps: interval.total.count as f64 / secs,
            failures_per_second: interval.total.failures as f64 / secs,
            duration: interval.total.duration.stats(),
            iterations: interval.iterations + interval.iterations_interrupted,
            vus: self.vus(),
            total_requests: aggregate.cumulative.total.count,
            total_failures: aggregate.cumulative.total.failures,
        };
        let aggregate = &mut *aggregate;
        std::mem::swap(&mut aggregate.interval, &mut aggregate.last);
        aggregate.interval.reset();
        aggregate.last_length = length;
        aggregate.interval_started = now;
        aggregate.series.push(stats.clone());
        stats
    }

    /// Every closed interval so far, oldest first.
    pub fn series(&self) -> Vec<IntervalStats> {
        lock(&self.aggregate).series.clone()
    }

    fn build_snapshot(&self, aggregate: &Aggregate) -> Snapshot {
        let elapsed = self.started.elapsed();
        let secs = elapsed.as_secs_f64().max(1e-9);
        let last_secs = aggregate.last_length.as_secs_f64();
        let current_rps = |method: &str, name: &str| {
            if last_secs <= 0.0 {
                return 0.0;
            }
            let count = if method.is_empty() {
                aggregate.last.total.count
            } else {
                aggregate
                    .last
                    .rows
                    .get(method)
                    .and_then(|m| m.get(name))
                    .map_or(0, |r| r.count)
            };
            count as f64 / last_secs
        };
        let row_stats = |method: &str, name: &str, row: &Row| RequestStats {
            method: method.to_owned(),
            name: name.to_owned(),
            count: row.count,
            failures: row.failures,
            rps: row.count as f64 / secs,
            current_rps: current_rps(method, name),
            duration: row.duration.stats(),
            bytes_sent: row.bytes_sent,
            bytes_received: row.bytes_received,
        };
        let m = &aggregate.cumulative;
        let mut requests: Vec<RequestStats> = m
            .rows
            .iter()
            .flat_map(|(method, by_name)| {
                by_name
                    .iter()
                    .map(move |(name, row)| row_stats(method, name, row))
            })
            .filter(|row| row.count > 0)
            .collect();
        requests.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.method.cmp(&b.method)));
        let mut errors: Vec<ErrorCount> = m
            .errors
            .iter()
            .map(|((method, name, kind), &count)| ErrorCount {
                method: method.clone(),
                name: name.clone(),
                kind: kind.clone(),
                count,
            })
            .collect();
        errors.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then_with(|| (&a.name, &a.method, &a.kind).cmp(&(&b.name, &b.method, &b.kind)))
        });
        let mut checks: Vec<CheckStats> = m
            .checks
            .iter()
            .map(|(name, &(passes, fails))| CheckStats {
                name: name.clone(),
                passes,
                fails,
            })
            .collect();
        checks.sort_by(|a, b| a.name.cmp(&b.name));
        let mut metrics: Vec<MetricStats> = m
            .custom
            .iter()
            .map(|(name, custom)| {
                let trend = custom.trend.as_ref().map(|t| t.stats());
                let value = match custom.kind {
                    CustomKind::Counter | CustomKind::Gauge => custom.value,
                    CustomKind::Rate if custom.count > 0 => custom.value / custom.count as f64,
                    CustomKind::Rate => 0.0,
                    CustomKind::Trend => trend.map_or(0.0, |t| t.mean),
                };
                MetricStats {
                    name: name.clone(),
                    kind: custom.kind,
                    count: custom.count,
                    value,
                    trend,
                }
            })
            .collect();
        metrics.sort_by(|a, b| a.name.cmp(&b.name));
        let mut iteration_errors: Vec<IterationError> = m
            .iteration_errors
            .iter()
            .map(|((task, message), &count)| IterationError {
                task: task.clone(),
                message: message.clone(),
                count,
            })
            .collect();
        iteration_errors.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then_with(|| a.message.cmp(&b.message))
        });
        Snapshot {
            elapsed,
            vus: self.vus(),
            vus_max: self.vus_max.load(Ordering::Relaxed),
            iterations: m.iterations,
            iterations_failed: m.iterations_failed,
            iterations_interrupted: m.iterations_interrupted,
            dropped_iterations: m.dropped_iterations,
            iteration_duration: m.iteration_duration.stats(),
            total: row_stats("", "Aggregated", &m.total),
            requests,
            errors,
            checks,
            metrics,
            iteration_errors,
        }
    }
}

/// A VU's handle for recording samples into its shard of the run's collector.
#[derive(Debug, Clone)]
pub struct Recorder {
    collector: Arc<Collector>,
    shard: usize,
}

impl Recorder {
    fn with<R>(&self, f: impl FnOnce(&mut Metrics) -> R) -> R {
        f(&mut lock(&self.collector.shards[self.shard]))
    }

    /// The collector this recorder feeds.
    pub fn collector(&self) -> &Arc<Collector> {
        &self.collector
    }

    /// Records a completed or failed request.
    pub fn request(&self, sample: &RequestSample<'_>) {
        self.with(|m| m.record_request(sample));
    }

    /// Records how an iteration ended and how long it took.
    pub fn iteration(&self, outcome: IterationOutcome, duration: Duration) {
        self.with(|m| m.record_iteration(outcome, duration));
    }

    /// Records why an iteration of `task` failed.
    pub fn iteration_error(&self, task: &str, message: &str) {
        self.with(|m| m.record_iteration_error(task, message));
    }

    /// Records a check's outcome.
    pub fn check(&self, name: &str, ok: bool) {
        self.with(|m| m.record_check(name, ok));
    }

    /// Records a custom metric sample; `false` when `name` is already a metric of another kind.
    pub fn custom(&self, name: &str, kind: CustomKind, value: f64) -> bool {
        self.with(|m| m.record_custom(name, kind, value))
    }

    /// Counts arrival-rate starts that found no free VU.
    pub fn dropped_iterations(&self, count: u64) {
        self.with(|m| m.dropped_iterations += count);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample<'a>(name: &'a str, ms: u64, failure: Option<&'a str>) -> RequestSample<'a> {
        RequestSample {
            method: "GET",
            name,
            duration: Duration::from_millis(ms),
            failure,
            bytes_sent: 10,
            bytes_received: 100,
        }
    }

    #[test]
    fn snapshot_sees_every_shard_and_interval_resets() {
        let collector = Collector::new();
        for vu in 0..40 {
            let recorder = collector.recorder(vu);
            recorder.request(&sample("/a", 10, None));
            recorder.request(&sample("/b", 20, (vu % 4 == 0).then_some("status-500")));
            recorder.check("ok", vu % 2 == 0);
        }
        let snap = collector.snapshot();
        assert_eq!(snap.total.count, 80);
        assert_eq!(snap.total.failures, 10);
        assert_eq!(snap.total.bytes_received, 8000);
        assert_eq!(snap.requests.len(), 2);
        assert_eq!(snap.requests[1].name, "/b");
        assert_eq!(snap.requests[1].failures, 10);
        assert_eq!(snap.errors[0].kind, "status-500");
        assert_eq!(snap.checks[0].passes, 20);
        let interval = collector.close_interval();
        assert_eq!(interval.requests, 80);
        collector.recorder(1).request(&sample("/a", 5, None));
        let interval = collector.close_interval();
        assert_eq!(interval.requests, 1);
        assert_eq!(interval.total_requests, 81);
        assert_eq!(collector.snapshot().total.count, 81);
        assert_eq!(collector.series().len(), 2);
    }

    #[test]
    fn custom_metrics_aggregate_by_kind() {
        let collector = Collector::new();
        let (a, b) = (collector.recorder(0), collector.recorder(1));
        assert!(a.custom("items", CustomKind::Counter, 2.0));
        assert!(b.custom("items", CustomKind::Counter, 3.0));
        assert!(!b.custom("items", CustomKind::Gauge, 1.0));
        a.custom("hit", CustomKind::Rate, 1.0);
        b.custom("hit", CustomKind::Rate, 0.0);
        a.custom("size", CustomKind::Trend, 1.5);
        b.custom("size", CustomKind::Trend, 2.5);
        let snap = collector.snapshot();
        let by_name = |n: &str| snap.metrics.iter().find(|m| m.name == n).cloned();
        assert_eq!(by_name("items").map(|m| m.value), Some(5.0));
        assert_eq!(by_name("hit").map(|m| m.value), Some(0.5));
        assert_eq!(by_name("size").map(|m| m.value), Some(2.0));
    }
}
