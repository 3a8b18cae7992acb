//! The run's stats hub: shards VUs record into, aggregates, the time series.

use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use super::TagPoint;
use super::breakdown::{self, Tallies, Tally};
use super::delta::{IntervalDelta, RecordedMetrics};
use super::exposition::{Distribution, Exposition};
use super::metrics::{
    ConnectionCounts, CustomKind, IterationOutcome, Metrics, Recorded, RequestSample, Row,
};
use super::names::{NameCaps, Names, OVERFLOW};
use super::series::Series;
use super::snapshot::{
    CheckStats, ConnectionStats, ErrorCount, HttpPhaseStats, IntervalStats, IterationError,
    MetricStats, OverflowStats, RequestStats, Snapshot,
};
use super::submetric::{Scope, SubMetrics};
use super::thresholds;
use super::trend::Trend;
use crate::config::Threshold;
use crate::http::{Protocol, TlsVersion};
use crate::sync::lock;

/// Shards per collector: one per worker thread (threads past this many share), so a sample
/// is recorded into memory its own thread keeps warm, behind a lock only the drain contends.
const SHARDS: usize = 16;

/// The shard of the calling thread: threads are numbered as they first record, and keep
/// their number for every collector.
fn thread_shard() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static SHARD: usize = NEXT.fetch_add(1, Ordering::Relaxed) % SHARDS;
    }
    SHARD.with(|shard| *shard)
}

/// Collects a run's samples and serves snapshots and intervals.
#[derive(Debug)]
pub struct Collector {
    shards: Box<[Mutex<Shard>]>,
    aggregate: Mutex<Aggregate>,
    started: Instant,
    vus: AtomicU32,
    vus_max: AtomicU32,
    vus_retired: AtomicU32,
    thresholds: Vec<Threshold>,
    subs: SubMetrics,
    latency_correction: bool,
    names: Names,
    /// Which overflows the run's log has been told about (requests, checks, metrics, reserved).
    told: Mutex<[bool; 4]>,
}

/// What the VUs of one worker thread record into.
#[derive(Debug, Default)]
struct Shard {
    metrics: Metrics,
    /// Whether anything was recorded since the last drain: an idle shard is skipped.
    touched: bool,
}

#[derive(Debug)]
struct Aggregate {
    cumulative: Metrics,
    /// Emptied metrics a drain swaps for a shard's, so the shard keeps recording into
    /// histograms already allocated instead of new ones allocated and zeroed at each drain.
    spare: Metrics,
    interval: Span,
    interval_started: Instant,
    /// Everything recorded in the current interval, when the run hands its intervals on
    /// ([`Collector::keep_deltas`]); `None` otherwise, as a histogram per row costs memory.
    delta: Option<Metrics>,
    /// The last closed interval and its length, for `current_rps`.
    last: Span,
    last_length: Duration,
    series: Series,
}

/// What an interval needs of its samples: the totals, and a tally per row and per tag value
/// (for `current_rps` and the breakdowns). No per-row histogram: an interval's points are
/// totals, and a histogram per row per copy is what a run's memory grows with.
#[derive(Debug, Default)]
struct Span {
    total: Row,
    iterations: u64,
    iterations_interrupted: u64,
    dropped_iterations: u64,
    /// Requests by method, then name.
    names: Tallies,
    /// Requests by tag, then value.
    tags: Tallies,
}

impl Aggregate {
    /// Adds `metrics` (a drained shard's, or another collector's) to every figure kept.
    fn take_in(&mut self, metrics: &Metrics) {
        self.cumulative.merge(metrics);
        self.interval.add(metrics);
        if let Some(delta) = &mut self.delta {
            delta.merge(metrics);
        }
    }
}

impl Span {
    fn add(&mut self, metrics: &Metrics) {
        self.total.merge(&metrics.total);
        self.iterations += metrics.iterations;
        self.iterations_interrupted += metrics.iterations_interrupted;
        self.dropped_iterations += metrics.dropped_iterations;
        for (method, by_name) in &metrics.rows {
            for (name, row) in by_name {
                self.names.add(method, name, &Tally::of_row(row));
            }
        }
        self.tags.merge(&metrics.tags);
    }

    /// Zeroes the span, keeping its rows' names and allocations.
    fn reset(&mut self) {
        self.total.reset();
        self.iterations = 0;
        self.iterations_interrupted = 0;
        self.dropped_iterations = 0;
        self.names.reset();
        self.tags.reset();
    }

    fn count(&self, method: &str, name: &str) -> u64 {
        self.names.get(method, name).map_or(0, |tally| tally.count)
    }
}

impl Collector {
    /// A collector whose clock starts now, with no threshold.
    pub fn new() -> Arc<Self> {
        Self::with_thresholds(Vec::new(), false, NameCaps::default())
    }

    /// A collector that evaluates `thresholds` in every snapshot and keeps the sub-metrics
    /// they filter on; `latency_correction` shows the corrected series in snapshots; `caps`
    /// bound the names it keeps.
    pub fn with_thresholds(
        thresholds: Vec<Threshold>,
        latency_correction: bool,
        caps: NameCaps,
    ) -> Arc<Self> {
        let now = Instant::now();
        Arc::new(Self {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            aggregate: Mutex::new(Aggregate {
                cumulative: Metrics::default(),
                spare: Metrics::default(),
                interval: Span::default(),
                interval_started: now,
                delta: None,
                last: Span::default(),
                last_length: Duration::ZERO,
                series: Series::default(),
            }),
            started: now,
            vus: AtomicU32::new(0),
            vus_max: AtomicU32::new(0),
            vus_retired: AtomicU32::new(0),
            subs: SubMetrics::of(&thresholds),
            thresholds,
            latency_correction,
            names: Names::new(caps),
            told: Mutex::default(),
        })
    }

    /// Sentences for the run's log about caps reached since the last call, each said once:
    /// what overflowed and what happens to such samples now.
    pub fn new_overflows(&self) -> Vec<String> {
        let overflow = lock(&self.aggregate).cumulative.overflow;
        let caps = self.names.caps;
        let counts = [
            overflow.requests,
            overflow.checks,
            overflow.metrics,
            overflow.reserved,
        ];
        let sentences = [
            format!(
                "the run has {} distinct request names (limits.maxRequestNames); requests \
                 with new names are counted under \"{OVERFLOW}\": give requests a name \
                 (`.name(\"/items/{{id}}\")`) so that URLs with ids share one row",
                caps.requests
            ),
            format!(
                "the run has {} distinct checks (limits.maxCheckNames); new checks are \
                 counted under \"{OVERFLOW}\"",
                caps.checks
            ),
            format!(
                "the run has {} custom metrics (limits.maxMetricNames); samples of new \
                 metrics are dropped",
                caps.metrics
            ),
            "a custom metric was named like a built-in one (http_reqs, checks, ...); its \
             samples are dropped"
                .to_owned(),
        ];
        let mut told = lock(&self.told);
        let mut out = Vec::new();
        for ((count, told), sentence) in counts.iter().zip(told.iter_mut()).zip(sentences) {
            if *count > 0 && !*told {
                *told = true;
                out.push(sentence);
            }
        }
        out
    }

    /// A recorder whose samples carry `scope`'s tags. It records into the shard of the
    /// thread it runs on.
    pub fn recorder(self: &Arc<Self>, scope: Arc<Scope>) -> Recorder {
        Recorder {
            collector: self.clone(),
            scope,
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

    /// Notes that a VU was retired: it could not start (instantiation or `on-vu-start` kept
    /// failing), and stopped trying instead of spinning.
    pub fn vu_retired(&self) {
        self.vus_retired.fetch_add(1, Ordering::Relaxed);
    }

    /// Sets the active VUs and the retired ones: for figures replayed from elsewhere rather
    /// than counted here as VUs start and stop.
    pub fn set_vus(&self, active: u32, retired: u32) {
        self.vus.store(active, Ordering::Relaxed);
        self.vus_retired.store(retired, Ordering::Relaxed);
    }

    /// Sets the most VUs the run may use.
    pub fn set_vus_max(&self, vus: u32) {
        self.vus_max.store(vus, Ordering::Relaxed);
    }

    /// Active VUs.
    pub fn vus(&self) -> u32 {
        self.vus.load(Ordering::Relaxed)
    }

    /// Moves every shard's samples into the aggregates. A shard starts over empty: its rows
    /// (a histogram each) live only until the next drain, so the memory a row costs is one
    /// histogram in the cumulative figures, not one per shard that saw it.
    fn drain(&self, aggregate: &mut Aggregate) {
        for shard in self.shards.iter() {
            {
                let mut shard = lock(shard);
                if !shard.touched {
                    continue;
                }
                shard.touched = false;
                std::mem::swap(&mut shard.metrics, &mut aggregate.spare);
            }
            let mut span = std::mem::take(&mut aggregate.spare);
            aggregate.take_in(&span);
            span.recycle();
            aggregate.spare = span;
        }
    }

    /// From now on, keeps everything recorded in each interval, for
    /// [`Collector::close_interval_with_delta`] to hand on. Call it before recording starts:
    /// what was recorded before is in no delta.
    pub fn keep_deltas(&self) {
        let mut aggregate = lock(&self.aggregate);
        if aggregate.delta.is_none() {
            aggregate.delta = Some(Metrics::default());
        }
    }

    /// The cumulative statistics now, including every sample recorded so far.
    pub fn snapshot(&self) -> Snapshot {
        self.snapshot_at(self.started.elapsed())
    }

    /// The cumulative statistics of a run `elapsed` long (rates are per second of it): for
    /// figures replayed from elsewhere rather than recorded here now.
    pub fn snapshot_at(&self, elapsed: Duration) -> Snapshot {
        let mut aggregate = lock(&self.aggregate);
        self.drain(&mut aggregate);
        self.build_snapshot(&aggregate, elapsed)
    }

    /// Everything recorded so far, to be merged elsewhere ([`Collector::absorb`]).
    pub fn recorded(&self) -> RecordedMetrics {
        let mut aggregate = lock(&self.aggregate);
        self.drain(&mut aggregate);
        RecordedMetrics(aggregate.cumulative.clone())
    }

    /// The cumulative figures now as metric families, for the observability outputs.
    pub fn exposition(&self) -> Exposition {
        let mut aggregate = lock(&self.aggregate);
        self.drain(&mut aggregate);
        let vus_max = self.vus_max.load(Ordering::Relaxed);
        let families = super::exposition::families(&aggregate.cumulative, self.vus(), vus_max);
        Exposition {
            at: SystemTime::now(),
            families,
        }
    }

    /// The durations of every request so far, all names together (the total row's trend).
    pub fn request_durations(&self) -> Distribution {
        let mut aggregate = lock(&self.aggregate);
        self.drain(&mut aggregate);
        Distribution::of(&aggregate.cumulative.total.duration)
    }

    /// Adds what another collector recorded (of the same plan: its thresholds' sub-metrics
    /// line up) to this one's figures, in the current interval, as if recorded here.
    pub fn absorb(&self, recorded: &RecordedMetrics) {
        lock(&self.aggregate).take_in(&recorded.0);
    }

    /// Closes the current interval, appends it to the series and returns it.
    pub fn close_interval(&self) -> IntervalStats {
        self.close_interval_with_delta().0
    }

    /// Closes the current interval, appends it to the series and returns it, with
    /// everything recorded in it when the collector keeps deltas.
    pub fn close_interval_with_delta(&self) -> (IntervalStats, Option<IntervalDelta>) {
        let mut aggregate = lock(&self.aggregate);
        self.drain(&mut aggregate);
        let now = Instant::now();
        let length = now - aggregate.interval_started;
        aggregate.interval_started = now;
        let timestamp = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64();
        let stats = self.close(&mut aggregate, now - self.started, length, timestamp);
        let delta = aggregate.delta.as_mut().map(|delta| IntervalDelta {
            elapsed: stats.elapsed,
            length,
            timestamp,
            vus: stats.vus,
            metrics: RecordedMetrics(std::mem::take(delta)),
        });
        (stats, delta)
    }

    /// Closes the current interval as having ended `elapsed` after the start and lasted
    /// `length`, at `timestamp` (seconds since the Unix epoch): for intervals replayed from
    /// elsewhere ([`Collector::absorb`]) rather than recorded here now.
    pub fn close_interval_at(
        &self,
        elapsed: Duration,
        length: Duration,
        timestamp: f64,
    ) -> IntervalStats {
        let mut aggregate = lock(&self.aggregate);
        self.drain(&mut aggregate);
        self.close(&mut aggregate, elapsed, length, timestamp)
    }

    fn close(
        &self,
        aggregate: &mut Aggregate,
        elapsed: Duration,
        length: Duration,
        timestamp: f64,
    ) -> IntervalStats {
        let secs = length.as_secs_f64().max(1e-9);
        let interval = &aggregate.interval;
        let cumulative = &aggregate.cumulative.total;
        let stats = IntervalStats {
            timestamp,
            elapsed,
            length,
            requests: interval.total.count,
            failures: interval.total.failures,
            rps: interval.total.count as f64 / secs,
            failures_per_second: interval.total.failures as f64 / secs,
            duration: interval.total.duration.stats(),
            percentiles: interval.total.duration.locust_percentiles(),
            iterations: interval.iterations + interval.iterations_interrupted,
            dropped_iterations: interval.dropped_iterations,
            vus: self.vus(),
            total_requests: cumulative.count,
            total_failures: cumulative.failures,
            total_duration: cumulative.duration.stats(),
            total_body_bytes: cumulative.body_bytes,
            by_name: Vec::new(),
            by_tag: Vec::new(),
        };
        let histogram = interval.total.duration.sparse();
        let names = breakdown::point_names(interval.names.entries().collect());
        let tags = breakdown::point_tags(interval.tags.entries().collect());
        let stats = aggregate.series.push(stats, histogram, names, tags);
        std::mem::swap(&mut aggregate.interval, &mut aggregate.last);
        aggregate.interval.reset();
        aggregate.last_length = length;
        stats
    }

    /// The time series so far, oldest first: one point per interval, or per several once
    /// the run is long (at most 512 points; see `docs/outputs.md`).
    pub fn series(&self) -> Vec<IntervalStats> {
        lock(&self.aggregate).series.points()
    }

    /// Points and histogram buckets the time series holds: what its memory grows with.
    pub fn series_footprint(&self) -> (usize, usize) {
        lock(&self.aggregate).series.footprint()
    }

    fn build_snapshot(&self, aggregate: &Aggregate, elapsed: Duration) -> Snapshot {
        let secs = elapsed.as_secs_f64().max(1e-9);
        let last_secs = aggregate.last_length.as_secs_f64();
        let current_rps = |method: &str, name: &str| {
            if last_secs <= 0.0 {
                return 0.0;
            }
            let count = if method.is_empty() {
                aggregate.last.total.count
            } else {
                aggregate.last.count(method, name)
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
            percentiles: row.duration.locust_percentiles(),
            bytes_sent: row.bytes_sent,
            bytes_received: row.bytes_received,
            body_bytes: row.body_bytes,
            phases: row.phase_means().into(),
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
                let gauge = custom.kind == CustomKind::Gauge && custom.count > 0;
                MetricStats {
                    name: name.clone(),
                    kind: custom.kind,
                    count: custom.count,
                    value,
                    min: gauge.then_some(custom.min),
                    max: gauge.then_some(custom.max),
                    trend,
                }
            })
            .collect();
        metrics.sort_by(|a, b| a.name.cmp(&b.name));
        let mut iteration_errors: Vec<IterationError> = m
            .iteration_errors
            .iter()
            .map(|((task, kind, message), &count)| IterationError {
                task: task.clone(),
                kind: kind.clone(),
                message: message.clone(),
                count,
            })
            .collect();
        iteration_errors.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then_with(|| a.message.cmp(&b.message))
        });
        let vus_max = self.vus_max.load(Ordering::Relaxed);
        let evaluator = thresholds::Context {
            metrics: m,
            subs: &self.subs,
            elapsed_secs: secs,
            vus: self.vus(),
            vus_max,
        };
        Snapshot {
            elapsed,
            vus: self.vus(),
            vus_max,
            vus_retired: self.vus_retired.load(Ordering::Relaxed),
            iterations: m.iterations,
            iterations_failed: m.iterations_failed,
            iterations_interrupted: m.iterations_interrupted,
            dropped_iterations: m.dropped_iterations,
            iteration_duration: m.iteration_duration.stats(),
            total: row_stats("", "Aggregated", &m.total),
            http_phases: HttpPhaseStats::from(m.phases.each_ref().map(Trend::stats)),
            duration_corrected: self.latency_correction.then(|| m.corrected.stats()),
            connections: connection_stats(&m.connections),
            overflow: OverflowStats {
                requests: m.overflow.requests,
                checks: m.overflow.checks,
                metric_samples: m.overflow.metrics,
                reserved_samples: m.overflow.reserved,
            },
            thresholds: self
                .thresholds
                .iter()
                .map(|t| evaluator.evaluate(t))
                .collect(),
            requests,
            errors,
            checks,
            metrics,
            iteration_errors,
            tags: tag_stats(&m.tags),
        }
    }
}

/// The run's requests by tag value, sorted by tag, then value.
fn tag_stats(tags: &Tallies) -> Vec<TagPoint> {
    let mut entries: Vec<_> = tags.entries().collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    breakdown::tag_points(&entries)
}

/// A VU's handle for recording samples into the run's collector, in the shard of the thread
/// it records on.
#[derive(Debug, Clone)]
pub struct Recorder {
    collector: Arc<Collector>,
    scope: Arc<Scope>,
}

impl Recorder {
    fn with<R>(&self, f: impl FnOnce(&mut Metrics, &Scope, &SubMetrics, &Names) -> R) -> R {
        let collector = &self.collector;
        let mut shard = lock(&collector.shards[thread_shard()]);
        shard.touched = true;
        f(
            &mut shard.metrics,
            &self.scope,
            &collector.subs,
            &collector.names,
        )
    }

    /// The collector this recorder feeds.
    pub fn collector(&self) -> &Arc<Collector> {
        &self.collector
    }

    /// Records a completed or failed request.
    pub fn request(&self, sample: &RequestSample<'_>) {
        self.with(|m, scope, subs, names| m.record_request(sample, scope, subs, names));
    }

    /// Records how an iteration ended and how long it took.
    pub fn iteration(&self, outcome: IterationOutcome, duration: Duration) {
        self.with(|m, scope, subs, _| m.record_iteration(outcome, duration, scope, subs));
    }

    /// Records why an iteration of `task` failed: `kind` is `error` (the task returned
    /// `err`) or a trap's kind (`trap`, `cpu-limit`, `memory-limit`, `iteration-timeout`).
    pub fn iteration_error(&self, task: &str, kind: &str, message: &str) {
        self.with(|m, _, _, _| m.record_iteration_error(task, kind, message));
    }

    /// Records a check's outcome; `tags` are the check's own.
    pub fn check(&self, name: &str, ok: bool, tags: &[(String, String)]) {
        self.with(|m, scope, subs, names| m.record_check(name, ok, tags, scope, subs, names));
    }

    /// Records a custom metric sample, or says why it was not recorded.
    pub fn custom(
        &self,
        name: &str,
        kind: CustomKind,
        value: f64,
        tags: &[(String, String)],
    ) -> Recorded {
        self.with(|m, scope, subs, names| {
            m.record_custom(name, kind, value, tags, scope, subs, names)
        })
    }

    /// Counts iterations that were due but never started: arrival-rate starts that found no
    /// free VU, iterations left when `maxDuration` ran out.
    pub fn dropped_iterations(&self, count: u64) {
        self.with(|m, scope, subs, _| m.record_dropped(count, scope, subs));
    }
}

/// The snapshot's view of `counts`: only the protocols and versions that occurred.
fn connection_stats(counts: &ConnectionCounts) -> ConnectionStats {
    let protocols = Protocol::ALL
        .iter()
        .zip(counts.protocols)
        .filter(|(_, count)| *count > 0)
        .map(|(protocol, count)| (protocol.as_str(), count))
        .collect();
    let tls_versions = [TlsVersion::Tls12, TlsVersion::Tls13]
        .iter()
        .zip(counts.tls_versions)
        .filter(|(_, count)| *count > 0)
        .map(|(version, count)| (version.as_str(), count))
        .collect();
    ConnectionStats {
        opened: counts.opened,
        reused: counts.reused,
        tls_full: counts.tls_full,
        tls_resumed: counts.tls_resumed,
        tls_versions,
        protocols,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::Timings;
    use crate::stats::{MAX_TAG_VALUES, POINT_ENTRIES};

    /// Phases of every test request: all of it waiting for the first byte.
    static WAITING: Timings = Timings {
        blocked: Duration::ZERO,
        dns: Duration::ZERO,
        connecting: Duration::ZERO,
        tls_handshaking: Duration::ZERO,
        sending: Duration::ZERO,
        waiting: Duration::from_millis(15),
        receiving: Duration::ZERO,
    };

    fn sample<'a>(name: &'a str, ms: u64, failure: Option<&'a str>) -> RequestSample<'a> {
        RequestSample {
            method: "GET",
            name,
            status: if failure.is_some() { 500 } else { 200 },
            duration: Duration::from_millis(ms),
            phases: Some(&WAITING),
            failure,
            bytes_sent: 10,
            bytes_received: 100,
            body_bytes: 40,
            tags: &[],
            expected_interval: None,
            connection: None,
        }
    }

    fn scope(name: &str) -> Arc<Scope> {
        Arc::new(Scope {
            scenario: name.into(),
            tags: Default::default(),
        })
    }

    #[test]
    fn snapshot_sees_every_shard_and_interval_resets() {
        let collector = Collector::new();
        // Forty VUs on four threads: four shards (or fewer, shared) to merge.
        std::thread::scope(|threads| {
            for thread in 0..4 {
                let collector = &collector;
                threads.spawn(move || {
                    for vu in (0..40).filter(|vu| vu % 4 == thread) {
                        record_one_vu(collector, vu);
                    }
                });
            }
        });
        check_snapshot_and_intervals(&collector);
    }

    /// What one VU of [`snapshot_sees_every_shard_and_interval_resets`] records.
    fn record_one_vu(collector: &Arc<Collector>, vu: i32) {
        let recorder = collector.recorder(scope("s"));
        recorder.request(&sample("/a", 10, None));
        recorder.request(&sample("/b", 20, (vu % 4 == 0).then_some("status-500")));
        recorder.check("ok", vu % 2 == 0, &[]);
    }

    /// The totals, rows, errors, checks and intervals of forty VUs' samples.
    fn check_snapshot_and_intervals(collector: &Arc<Collector>) {
        let snap = collector.snapshot();
        assert_eq!(snap.total.count, 80);
        assert_eq!(snap.total.failures, 10);
        assert_eq!(snap.total.bytes_received, 8000);
        assert_eq!(snap.requests.len(), 2);
        assert_eq!(snap.requests[1].name, "/b");
        assert_eq!(snap.requests[1].failures, 10);
        assert_eq!(snap.errors[0].kind, "status-500");
        assert_eq!(snap.checks[0].passes, 20);
        assert_eq!(snap.http_phases.waiting.count, 80);
        assert!((snap.http_phases.waiting.mean - 15.0).abs() < 0.01);
        let interval = collector.close_interval();
        assert_eq!(interval.requests, 80);
        collector
            .recorder(scope("s"))
            .request(&sample("/a", 5, None));
        let interval = collector.close_interval();
        assert_eq!(interval.requests, 1);
        assert_eq!(interval.total_requests, 81);
        assert_eq!(collector.snapshot().total.count, 81);
        assert_eq!(collector.series().len(), 2);
    }

    #[test]
    fn drains_recycle_shards_without_losing_or_repeating_a_sample() {
        let collector = Collector::new();
        let recorder = collector.recorder(scope("s"));
        for round in 1..=3 {
            for _ in 0..round {
                recorder.request(&sample("/a", 10, Some("status-500")));
                recorder.check("ok", true, &[]);
                recorder.custom("items", CustomKind::Counter, 1.0, &[]);
                recorder.iteration(IterationOutcome::Completed, Duration::from_millis(5));
            }
            let interval = collector.close_interval();
            assert_eq!(
                (interval.requests, interval.failures, interval.iterations),
                (round, round, round)
            );
        }
        // An interval in which nothing was recorded drains nothing and counts nothing.
        assert_eq!(collector.close_interval().requests, 0);
        let snap = collector.snapshot();
        assert_eq!((snap.total.count, snap.total.failures), (6, 6));
        assert_eq!(snap.errors[0].count, 6);
        assert_eq!(snap.checks[0].passes, 6);
        assert_eq!(snap.metrics[0].value, 6.0);
        assert_eq!(snap.iterations, 6);
        assert_eq!(snap.http_phases.waiting.count, 6);
        // What a drain hands back to a shard holds nothing of the span it carried.
        let mut recycled = lock(&collector.shards[thread_shard()]).metrics.clone();
        recorder.request(&sample("/b", 10, None));
        recycled.merge(&lock(&collector.shards[thread_shard()]).metrics);
        recycled.recycle();
        assert!(recycled.rows.is_empty() && recycled.errors.is_empty());
        assert_eq!(recycled.total.count, 0);
        assert!(recycled.phases.iter().all(|trend| trend.count() == 0));
        assert_eq!(recycled.connections, ConnectionCounts::default());
    }

    #[test]
    fn requests_are_broken_down_by_name_and_tag_per_interval_and_over_the_run() {
        let collector = Collector::new();
        let tags = [("kind".to_owned(), "browse".to_owned())];
        let shop = Arc::new(Scope {
            scenario: "shop".into(),
            tags: [("team".to_owned(), "web".to_owned())].into(),
        });
        let recorder = collector.recorder(shop);
        for i in 0..10 {
            recorder.request(&RequestSample {
                tags: &tags,
                ..sample("/a", 10 + i, None)
            });
        }
        recorder.request(&sample("/b", 40, Some("status-500")));
        let interval = collector.close_interval();
        let names: Vec<_> = interval
            .by_name
            .iter()
            .map(|p| (&*p.name, p.figures.requests))
            .collect();
        assert_eq!(names, [("/a", 10), ("/b", 1)], "busiest first");
        let a = &interval.by_name[0].figures;
        assert!(
            (a.mean - 14.5).abs() < 1e-9 && (a.max - 19.0).abs() < 0.02,
            "{a:?}"
        );
        assert_eq!(interval.by_name[1].figures.failures, 1);
        let tag = |points: &[TagPoint], t: &str, v: &str| {
            points
                .iter()
                .find(|p| p.tag == t && p.value == v)
                .map(|p| p.figures.requests)
        };
        assert_eq!(tag(&interval.by_tag, "status", "200"), Some(10));
        assert_eq!(tag(&interval.by_tag, "status", "500"), Some(1));
        assert_eq!(tag(&interval.by_tag, "scenario", "shop"), Some(11));
        assert_eq!(tag(&interval.by_tag, "team", "web"), Some(11));
        assert_eq!(tag(&interval.by_tag, "kind", "browse"), Some(10));
        // The next interval counts only its own requests; the run counts them all.
        recorder.request(&sample("/b", 5, None));
        let interval = collector.close_interval();
        assert_eq!(
            interval.by_name.len(),
            1,
            "a name without requests is left out"
        );
        assert_eq!(tag(&interval.by_tag, "status", "200"), Some(1));
        let snap = collector.snapshot();
        assert_eq!(tag(&snap.tags, "status", "200"), Some(11));
        assert_eq!(tag(&snap.tags, "scenario", "shop"), Some(12));
        assert_eq!(
            collector.series()[0].by_name.len(),
            2,
            "the series keeps them"
        );
        let row = &snap.requests[0];
        assert!((row.phases.waiting - 15.0).abs() < 0.01, "{:?}", row.phases);
    }

    #[test]
    fn tag_values_past_the_cap_are_tallied_under_overflow() {
        let collector = Collector::new();
        let recorder = collector.recorder(scope("s"));
        let ids: Vec<[(String, String); 1]> = (0..MAX_TAG_VALUES)
            .map(|i| [("user".to_owned(), format!("u{i}"))])
            .collect();
        for tags in &ids {
            recorder.request(&RequestSample {
                tags,
                ..sample("/a", 1, None)
            });
        }
        let snap = collector.snapshot();
        let overflow = snap.tags.iter().find(|p| p.tag == OVERFLOW);
        // `status=200` and `scenario=s` took two of the places.
        assert_eq!(overflow.map(|p| p.figures.requests), Some(2));
        assert_eq!(snap.tags.len(), MAX_TAG_VALUES + 1);
        let interval = collector.close_interval();
        let users = interval.by_tag.iter().filter(|p| p.tag == "user").count();
        assert_eq!(users, POINT_ENTRIES + 1, "the busiest and (other)");
    }

    #[test]
    fn custom_metrics_aggregate_by_kind() {
        let collector = Collector::new();
        let (a, b) = (
            collector.recorder(scope("s")),
            collector.recorder(scope("s")),
        );
        assert_eq!(
            a.custom("items", CustomKind::Counter, 2.0, &[]),
            Recorded::Yes
        );
        assert_eq!(
            b.custom("items", CustomKind::Counter, 3.0, &[]),
            Recorded::Yes
        );
        assert_eq!(
            b.custom("items", CustomKind::Gauge, 1.0, &[]),
            Recorded::OtherKind
        );
        a.custom("hit", CustomKind::Rate, 1.0, &[]);
        b.custom("hit", CustomKind::Rate, 0.0, &[]);
        a.custom("size", CustomKind::Trend, 1.5, &[]);
        b.custom("size", CustomKind::Trend, 2.5, &[]);
        a.custom("level", CustomKind::Gauge, 7.0, &[]);
        a.custom("level", CustomKind::Gauge, 3.0, &[]);
        let snap = collector.snapshot();
        let by_name = |n: &str| snap.metrics.iter().find(|m| m.name == n).cloned();
        assert_eq!(by_name("items").map(|m| m.value), Some(5.0));
        assert_eq!(by_name("hit").map(|m| m.value), Some(0.5));
        assert_eq!(by_name("size").map(|m| m.value), Some(2.0));
        let level = by_name("level").unwrap_or_else(|| panic!("gauge"));
        assert_eq!(
            (level.value, level.min, level.max),
            (3.0, Some(3.0), Some(7.0))
        );
    }

    #[test]
    fn names_past_the_caps_are_folded_cut_or_dropped_and_counted() {
        let caps = NameCaps {
            max_bytes: 32,
            requests: 3,
            metrics: 2,
            checks: 2,
        };
        let collector = Collector::with_thresholds(Vec::new(), false, caps);
        let recorders: Vec<Recorder> = (0..4).map(|_| collector.recorder(scope("s"))).collect();
        let paths: Vec<String> = (0..100).map(|i| format!("/items/{i}")).collect();
        for (i, path) in paths.iter().enumerate() {
            let recorder = &recorders[i % 4];
            recorder.request(&sample(path, 1, None));
            recorder.check(path, true, &[]);
            recorder.custom(path, CustomKind::Counter, 1.0, &[]);
        }
        recorders[0].request(&sample(&"/long".repeat(100), 1, Some("status-500")));
        let reserved = recorders[1].custom("http_reqs", CustomKind::Counter, 1e6, &[]);
        assert_eq!(reserved, Recorded::Reserved);
        let snap = collector.snapshot();
        let rows: Vec<&str> = snap.requests.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(rows.len(), 4, "three names and the overflow row: {rows:?}");
        let overflow = snap.requests.iter().find(|r| r.name == OVERFLOW);
        assert_eq!(
            overflow.map(|r| r.count),
            Some(98),
            "97 paths and the long one"
        );
        assert_eq!(snap.total.count, 101, "nothing is lost");
        assert_eq!(snap.checks.len(), 3);
        assert_eq!(snap.metrics.len(), 2);
        assert_eq!(
            snap.overflow,
            OverflowStats {
                requests: 98,
                checks: 98,
                metric_samples: 98,
                reserved_samples: 1,
            }
        );
        assert!(
            snap.errors.iter().all(|e| e.name.len() <= 32),
            "{:?}",
            snap.errors
        );
        assert_eq!(collector.new_overflows().len(), 4, "each cap is told once");
        assert!(collector.new_overflows().is_empty());
    }

    /// Feeds `intervals` one-second intervals of `per_interval` requests with latencies
    /// from `low` to `high` ms; returns the series' footprint after each of `marks`.
    fn footprints(
        intervals: u64,
        per_interval: u64,
        (low, high): (u64, u64),
        marks: &[u64],
    ) -> Vec<(usize, usize)> {
        let collector = Collector::new();
        let recorder = collector.recorder(scope("s"));
        let names = ["/a", "/b", "/c", "/d"];
        let mut footprints = Vec::new();
        for interval in 0..intervals {
            for i in 0..per_interval {
                let ms = low + (interval * 7919 + i * 104_729) % (high - low);
                recorder.request(&sample(names[(i % 4) as usize], ms, None));
            }
            collector.close_interval();
            if marks.contains(&(interval + 1)) {
                footprints.push(collector.series_footprint());
            }
        }
        let requests: u64 = collector.series().iter().map(|p| p.requests).sum();
        assert_eq!(
            requests,
            intervals * per_interval,
            "merging keeps every request"
        );
        footprints
    }

    #[test]
    fn memory_stays_flat_over_a_30_minute_run() {
        // Latencies spread over 5 to 50 ms, 200 requests a second: after the series reached
        // its 512 points, 30 more minutes change nothing.
        let narrow = footprints(3600, 200, (5, 50), &[1800, 3600]);
        assert_eq!(narrow[0].0, narrow[1].0, "{narrow:?}");
        assert!(narrow[1].0 <= 512, "{narrow:?}");
        assert!(narrow[1].1 <= narrow[0].1 * 21 / 20, "{narrow:?}");
        // Ten times the requests: no more memory than the buckets of the range hold.
        let busy = footprints(1000, 2000, (5, 50), &[1000]);
        let bound = 512 * 4 * 128; // 5 to 50 ms spans 4 powers of two (in µs)
        assert!(busy[0].1 <= bound, "{busy:?}");
        // Latencies over 1 ms to 2 s fill more buckets, still bounded: 12 powers of two.
        let wide = footprints(3600, 200, (1, 2000), &[3600]);
        assert!(wide[0].1 <= 512 * 12 * 128, "{wide:?}");
    }

    /// What one VU of [`the_metrics_of_several_collectors_merge_exactly`] records: samples
    /// of every kind, from `seed`.
    fn record_everything(recorder: &Recorder, seed: u64) {
        let mut rng = fastrand::Rng::with_seed(seed);
        let tags = [("kind".to_owned(), "book".to_owned())];
        for _ in 0..200 {
            let ms = rng.u64(1..5000);
            let name = ["/a", "/b", "/c"][rng.usize(0..3)];
            let failure = (rng.u8(0..10) == 0).then_some("status-503");
            recorder.request(&RequestSample {
                tags: &tags,
                duration: Duration::from_micros(ms * 37),
                ..sample(name, 0, failure)
            });
            recorder.check("ok", rng.bool(), &tags);
            recorder.custom("cart", CustomKind::Counter, rng.f64(), &tags);
            recorder.custom("size", CustomKind::Trend, rng.f64() * 100.0, &[]);
            recorder.custom("level", CustomKind::Gauge, rng.f64(), &[]);
            recorder.custom("hit", CustomKind::Rate, f64::from(rng.u8(0..2)), &[]);
            let outcome = if rng.u8(0..20) == 0 {
                IterationOutcome::Failed
            } else {
                IterationOutcome::Completed
            };
            recorder.iteration(outcome, Duration::from_micros(ms * 41));
        }
        recorder.iteration_error("default", "error", &format!("refused {}", seed % 3));
    }

    #[test]
    fn the_metrics_of_several_collectors_merge_exactly() {
        let thresholds = [
            ("http_req_duration{name:/a}", "p(99)<150"),
            ("http_req_waiting", "p(95)<20"),
            ("checks{kind:book}", "rate>0.4"),
            ("cart{kind:book}", "count>=2"),
            ("size", "p(90)<50"),
        ]
        .map(|(m, e)| Threshold::new(m, e).unwrap_or_else(|err| panic!("{err}")));
        let new = || Collector::with_thresholds(thresholds.to_vec(), false, NameCaps::default());
        let (one, merged) = (new(), new());
        let parts: Vec<Arc<Collector>> = (0..3).map(|_| new()).collect();
        for seed in 0..3 {
            record_everything(&one.recorder(scope("s")), seed);
            record_everything(&parts[seed as usize].recorder(scope("s")), seed);
        }
        for part in &parts {
            // Written as a result file would carry it, and read back.
            let text = serde_json::to_string(&part.recorded()).expect("serializes");
            let read: RecordedMetrics = serde_json::from_str(&text).expect("reads back");
            merged.absorb(&read);
        }
        let (a, b) = (one.snapshot(), merged.snapshot());
        assert_eq!(a.total.count, 600);
        assert_eq!(
            a.total.duration, b.total.duration,
            "the same histogram, so the same percentiles"
        );
        assert_eq!(a.total.percentiles, b.total.percentiles);
        assert_eq!(a.http_phases, b.http_phases);
        assert_eq!(a.iteration_duration, b.iteration_duration);
        let rows = |s: &Snapshot| -> Vec<_> {
            s.requests
                .iter()
                .map(|r| {
                    (
                        r.name.clone(),
                        r.count,
                        r.failures,
                        r.duration,
                        r.percentiles,
                        r.phases,
                    )
                })
                .collect()
        };
        assert_eq!(rows(&a), rows(&b));
        assert_eq!(
            (&a.errors, &a.checks, &a.tags),
            (&b.errors, &b.checks, &b.tags)
        );
        assert_eq!(a.iteration_errors, b.iteration_errors);
        // Float sums (counters) depend on the order they are added in: equal to 1e-12.
        let close = |x: f64, y: f64| (x - y).abs() <= 1e-12 * x.abs().max(1.0);
        let others = b.metrics.iter().filter(|m| m.name != "level");
        for (x, y) in a.metrics.iter().filter(|m| m.name != "level").zip(others) {
            assert_eq!((&x.name, x.count, x.trend), (&y.name, y.count, y.trend));
            assert!(
                close(x.value, y.value),
                "{}: {} and {}",
                x.name,
                x.value,
                y.value
            );
        }
        for (x, y) in a.thresholds.iter().zip(&b.thresholds) {
            assert_eq!(x.ok, y.ok, "thresholds judged on the whole: {}", x.metric);
            let (vx, vy) = (x.value.unwrap_or(0.0), y.value.unwrap_or(0.0));
            assert!(close(vx, vy), "{}: {vx} and {vy}", x.metric);
        }
        let level = |s: &Snapshot| {
            s.metrics
                .iter()
                .find(|m| m.name == "level")
                .map(|m| (m.count, m.min, m.max))
        };
        assert_eq!(level(&a), level(&b), "a gauge: its count and both extremes");
        assert_eq!(a.thresholds.len(), 5);
    }

    #[test]
    fn each_sample_is_in_exactly_one_intervals_delta() {
        let collector = Collector::new();
        let (stats, delta) = collector.close_interval_with_delta();
        assert!(delta.is_none(), "no delta unless asked: {stats:?}");
        collector.keep_deltas();
        let recorder = collector.recorder(scope("s"));
        let replayed = Collector::new();
        for seed in 0..3 {
            record_everything(&recorder, seed);
            // A snapshot drains the shards in the middle of an interval.
            let _ = collector.snapshot();
            record_everything(&recorder, seed + 10);
            let (stats, delta) = collector.close_interval_with_delta();
            let delta = delta.expect("kept");
            assert_eq!(delta.metrics.requests(), stats.requests);
            assert_eq!(
                (delta.elapsed, delta.timestamp),
                (stats.elapsed, stats.timestamp)
            );
            replayed.absorb(&delta.metrics);
            let closed = replayed.close_interval_at(stats.elapsed, stats.length, stats.timestamp);
            assert_eq!(closed.requests, stats.requests);
            assert_eq!(closed.duration, stats.duration);
            assert_eq!(closed.by_name, stats.by_name);
        }
        let (a, b) = (collector.snapshot(), replayed.snapshot());
        assert_eq!(a.total.count, 1200);
        assert_eq!(
            (a.total.count, a.total.duration, a.iterations),
            (b.total.count, b.total.duration, b.iterations)
        );
        assert_eq!((&a.checks, &a.tags), (&b.checks, &b.tags));
        let (_, empty) = collector.close_interval_with_delta();
        assert_eq!(empty.expect("kept").metrics.requests(), 0, "nothing twice");
    }

    #[test]
    fn thresholds_evaluate_metrics_and_tagged_sub_metrics() {
        let thresholds = [
            ("http_req_duration", "p(99)<15"),
            ("http_req_duration{name:/a}", "p(99)<15"),
            ("http_req_duration{scenario:slow}", "avg>=20"),
            ("http_req_failed", "rate<0.1"),
            ("http_reqs{status:500}", "count==2"),
            ("checks{check:ok}", "rate>0.9"),
            ("checks", "rate>0.4"),
            ("cart{kind:book}", "count>=2"),
            ("iterations{scenario:fast}", "count==3"),
            ("never_recorded", "p(95)<1"),
            ("cart", "avg<1"),
        ]
        .map(|(m, e)| Threshold::new(m, e).unwrap_or_else(|err| panic!("{err}")));
        let collector = Collector::with_thresholds(thresholds.to_vec(), false, NameCaps::default());
        let fast = collector.recorder(scope("fast"));
        let slow = collector.recorder(scope("slow"));
        for _ in 0..10 {
            fast.request(&sample("/a", 10, None));
        }
        slow.request(&sample("/b", 20, Some("status-500")));
        slow.request(&sample("/b", 30, Some("status-500")));
        fast.check("ok", true, &[]);
        fast.check("other", false, &[]);
        let book = [("kind".to_owned(), "book".to_owned())];
        fast.custom("cart", CustomKind::Counter, 1.0, &book);
        slow.custom("cart", CustomKind::Counter, 1.0, &book);
        fast.custom("cart", CustomKind::Counter, 5.0, &[]);
        for _ in 0..3 {
            fast.iteration(IterationOutcome::Completed, Duration::from_millis(1));
        }
        slow.iteration(IterationOutcome::Completed, Duration::from_millis(1));
        let verdicts: Vec<(String, bool)> = collector
            .snapshot()
            .thresholds
            .into_iter()
            .map(|t| (format!("{} {}", t.metric, t.expression), t.ok))
            .collect();
        let expected = [
            ("http_req_duration p(99)<15", false),
            ("http_req_duration{name:/a} p(99)<15", true),
            ("http_req_duration{scenario:slow} avg>=20", true),
            ("http_req_failed rate<0.1", false),
            ("http_reqs{status:500} count==2", true),
            ("checks{check:ok} rate>0.9", true),
            ("checks rate>0.4", true),
            ("cart{kind:book} count>=2", true),
            ("iterations{scenario:fast} count==3", true),
            ("never_recorded p(95)<1", true),
            ("cart avg<1", false),
        ];
        let expected: Vec<(String, bool)> = expected
            .iter()
            .map(|(t, ok)| ((*t).to_owned(), *ok))
            .collect();
        assert_eq!(verdicts, expected);
    }
}
