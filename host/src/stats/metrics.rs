//! What VUs record: request rows, errors, iterations, checks and custom metrics. One
//! [`Metrics`] is a shard, an interval or the whole run; they merge losslessly.

use foldhash::HashMap;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::breakdown::Tallies;
use super::names::{Names, OVERFLOW, OVERFLOW_METHOD, bounded};
use super::submetric::{HttpValue, Scope, Source, SubMetrics, SubValue};
use super::trend::Trend;
use crate::config::builtin_kind;
use crate::http::{Protocol, Timings, TlsInfo, TlsVersion};

/// The names of the request phases, as their metrics are called.
pub const PHASE_METRICS: [&str; 7] = [
    "http_req_blocked",
    "http_req_dns",
    "http_req_connecting",
    "http_req_tls_handshaking",
    "http_req_sending",
    "http_req_waiting",
    "http_req_receiving",
];

/// The phases of a request, in [`PHASE_METRICS`] order.
fn phases(t: &Timings) -> [Duration; 7] {
    [
        t.blocked,
        t.dns,
        t.connecting,
        t.tls_handshaking,
        t.sending,
        t.waiting,
        t.receiving,
    ]
}

/// One completed request, as the stats see it.
#[derive(Debug, Clone, Copy)]
pub struct RequestSample<'a> {
    /// Method, upper case.
    pub method: &'a str,
    /// Row name.
    pub name: &'a str,
    /// Status code; 0 when the request failed before a response.
    pub status: u16,
    /// `http_req_duration`, from the iteration's scheduled start for open models (the time
    /// the start was late is added); zero for requests that failed before a response.
    pub duration: Duration,
    /// The phases, for a request that got a response.
    pub phases: Option<&'a Timings>,
    /// `None` for a success; the failure kind otherwise (`connect-refused`, `status-503`).
    pub failure: Option<&'a str>,
    /// Bytes written.
    pub bytes_sent: u64,
    /// Bytes read.
    pub bytes_received: u64,
    /// Bytes of the response body (Locust's content size).
    pub body_bytes: u64,
    /// The request's own tags.
    pub tags: &'a [(String, String)],
    /// With latency correction: the VU's usual time between requests, the expected interval
    /// of the corrected series.
    pub expected_interval: Option<Duration>,
    /// The response's connection, for a request that got a response.
    pub connection: Option<ConnectionInfo>,
}

/// How the connection of a response came about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionInfo {
    /// The protocol the response came over.
    pub protocol: Protocol,
    /// Whether a kept-alive connection carried it (otherwise it opened one).
    pub reused: bool,
    /// The connection's TLS session (`None` for plain HTTP).
    pub tls: Option<TlsInfo>,
}

/// Connections opened, their TLS handshakes, and the protocols responses came over.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ConnectionCounts {
    /// Connections opened (each counted with the response it was opened for).
    pub opened: u64,
    /// Responses over a kept-alive connection.
    pub reused: u64,
    /// TLS handshakes in full.
    pub tls_full: u64,
    /// TLS handshakes that resumed a session.
    pub tls_resumed: u64,
    /// New TLS connections by version: 1.2, 1.3.
    pub tls_versions: [u64; 2],
    /// Responses by protocol, in [`Protocol::ALL`] order.
    pub protocols: [u64; 4],
}

impl ConnectionCounts {
    fn record(&mut self, info: &ConnectionInfo) {
        self.protocols[info.protocol.index()] += 1;
        if info.reused {
            self.reused += 1;
            return;
        }
        self.opened += 1;
        if let Some(tls) = info.tls {
            if tls.resumed {
                self.tls_resumed += 1;
            } else {
                self.tls_full += 1;
            }
            let version = usize::from(tls.version == TlsVersion::Tls13);
            self.tls_versions[version] += 1;
        }
    }

    fn merge(&mut self, other: &Self) {
        self.opened += other.opened;
        self.reused += other.reused;
        self.tls_full += other.tls_full;
        self.tls_resumed += other.tls_resumed;
        for (mine, theirs) in self.tls_versions.iter_mut().zip(other.tls_versions) {
            *mine += theirs;
        }
        for (mine, theirs) in self.protocols.iter_mut().zip(other.protocols) {
            *mine += theirs;
        }
    }
}

impl RequestSample<'_> {
    /// Whether the request has tag `key` = `value` in `scope`.
    fn has(&self, scope: &Scope, key: &str, value: &str) -> bool {
        match key {
            "name" => self.name == value,
            "method" => self.method == value,
            "status" => value.parse::<u16>().ok() == Some(self.status),
            "expected_response" => {
                value
                    == if self.failure.is_none() {
                        "true"
                    } else {
                        "false"
                    }
            }
            "error" => self.failure == Some(value),
            "proto" => self
                .connection
                .is_some_and(|c| c.protocol.as_str() == value),
            "tls_version" => self
                .connection
                .and_then(|c| c.tls)
                .is_some_and(|t| t.version.as_str() == value),
            _ => scope.has(self.tags, key, value),
        }
    }
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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

/// Whether a custom sample was recorded, and why not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// It was.
    Yes,
    /// The metric already has another kind.
    OtherKind,
    /// The name is a built-in metric's.
    Reserved,
    /// The run has as many custom metrics as `maxMetricNames` allows.
    OverCap,
}

/// Samples counted elsewhere than under their own name, or not at all.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Overflow {
    /// Requests counted under the overflow row.
    pub requests: u64,
    /// Checks counted under the overflow check.
    pub checks: u64,
    /// Samples of custom metrics past the cap, dropped.
    pub metrics: u64,
    /// Samples of custom metrics named like a built-in one, dropped.
    pub reserved: u64,
}

impl Overflow {
    fn merge(&mut self, other: &Self) {
        self.requests += other.requests;
        self.checks += other.checks;
        self.metrics += other.metrics;
        self.reserved += other.reserved;
    }
}

/// One request row: every request with the same method and name.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Row {
    pub count: u64,
    pub failures: u64,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    pub body_bytes: u64,
    pub duration: Trend,
    /// Sums of the phases of the requests with a response, in [`PHASE_METRICS`] order, µs.
    pub phase_sums: [u64; 7],
    /// Requests with a response (what `phase_sums` divide by).
    pub phased: u64,
}

impl Row {
    fn record(&mut self, sample: &RequestSample<'_>) {
        self.count += 1;
        if let Some(timings) = sample.phases {
            self.phased += 1;
            for (sum, phase) in self.phase_sums.iter_mut().zip(phases(timings)) {
                *sum += phase.as_micros() as u64;
            }
        }
        self.failures += u64::from(sample.failure.is_some());
        self.bytes_sent += sample.bytes_sent;
        self.bytes_received += sample.bytes_received;
        self.body_bytes += sample.body_bytes;
        if sample.failure.is_none() || !sample.duration.is_zero() {
            self.duration.record_duration(sample.duration);
        }
    }

    pub(crate) fn merge(&mut self, other: &Row) {
        self.count += other.count;
        self.failures += other.failures;
        self.bytes_sent += other.bytes_sent;
        self.bytes_received += other.bytes_received;
        self.body_bytes += other.body_bytes;
        self.duration.merge(&other.duration);
        self.phased += other.phased;
        for (mine, theirs) in self.phase_sums.iter_mut().zip(other.phase_sums) {
            *mine += theirs;
        }
    }

    /// The mean of each phase, ms, in [`PHASE_METRICS`] order.
    pub(crate) fn phase_means(&self) -> [f64; 7] {
        let phased = self.phased.max(1) as f64;
        self.phase_sums.map(|sum| sum as f64 / phased / 1000.0)
    }

    pub(crate) fn reset(&mut self) {
        self.count = 0;
        self.failures = 0;
        self.bytes_sent = 0;
        self.bytes_received = 0;
        self.body_bytes = 0;
        self.duration.reset();
        self.phase_sums = [0; 7];
        self.phased = 0;
    }
}

/// A custom metric's aggregate.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Custom {
    pub kind: CustomKind,
    pub count: u64,
    /// Counter: sum; rate: true samples; gauge: last value; trend: unused.
    #[serde(with = "float")]
    pub value: f64,
    /// When a gauge was last set (wall clock, so that the processes of a distributed run
    /// compare), so merging keeps the latest value.
    pub set_at: Option<SystemTime>,
    /// A gauge's extremes.
    #[serde(with = "float")]
    pub min: f64,
    #[serde(with = "float")]
    pub max: f64,
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
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
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
                self.min = self.min.min(other.min);
                self.max = self.max.max(other.max);
            }
            _ => self.value += other.value,
        }
        if let (Some(mine), Some(theirs)) = (&mut self.trend, &other.trend) {
            mine.merge(theirs);
        }
    }
}

/// Everything recorded over some span: by one shard, in one interval, or over the run.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Metrics {
    /// Rows by method, then name (two levels so lookups need no allocation).
    pub rows: HashMap<String, HashMap<String, Row>>,
    /// All requests together.
    pub total: Row,
    /// Failures by (method, name, kind).
    #[serde(with = "entries")]
    pub errors: HashMap<(String, String, String), u64>,
    pub iterations: u64,
    pub iterations_failed: u64,
    pub iterations_interrupted: u64,
    pub dropped_iterations: u64,
    pub iteration_duration: Trend,
    /// Checks: (passes, fails).
    pub checks: HashMap<String, (u64, u64)>,
    pub custom: HashMap<String, Custom>,
    /// Failed iterations by (task, kind, first line of the message).
    #[serde(with = "entries")]
    pub iteration_errors: HashMap<(String, String, String), u64>,
    /// The request phases, in [`PHASE_METRICS`] order.
    pub phases: [Trend; 7],
    /// `http_req_duration_corrected`.
    pub corrected: Trend,
    /// Connections, handshakes and protocols.
    pub connections: ConnectionCounts,
    /// Samples past the run's name caps.
    pub overflow: Overflow,
    /// Sub-metric values, indexed as the collector's [`SubMetrics`].
    pub sub: Vec<SubValue>,
    /// Requests by tag, then value.
    pub tags: Tallies,
}

/// Floats that may be infinite or not a number (a gauge's extremes before its first value,
/// or whatever a guest sends), which JSON has no numbers for: written as text then.
pub(crate) mod float {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
        if value.is_finite() {
            serializer.serialize_f64(*value)
        } else {
            serializer.serialize_str(&value.to_string())
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Float {
            Number(f64),
            Text(String),
        }
        match Float::deserialize(deserializer)? {
            Float::Number(value) => Ok(value),
            Float::Text(text) => text.parse().map_err(serde::de::Error::custom),
        }
    }
}

/// A map with keys JSON has no form for (tuples), written as a list of pairs.
mod entries {
    use std::hash::Hash;

    use foldhash::HashMap;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub(super) fn serialize<K: Serialize, V: Serialize, S: Serializer>(
        map: &HashMap<K, V>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(map.iter())
    }

    pub(super) fn deserialize<'de, K, V, D>(deserializer: D) -> Result<HashMap<K, V>, D::Error>
    where
        K: Deserialize<'de> + Eq + Hash,
        V: Deserialize<'de>,
        D: Deserializer<'de>,
    {
        let pairs: Vec<(K, V)> = Vec::deserialize(deserializer)?;
        Ok(pairs.into_iter().collect())
    }
}

/// Distinct iteration error messages kept; others are counted under one row.
const MAX_ITERATION_ERRORS: usize = 100;

impl Metrics {
    fn sub(&mut self, index: usize) -> &mut SubValue {
        if self.sub.len() <= index {
            self.sub.resize_with(index + 1, SubValue::default);
        }
        &mut self.sub[index]
    }

    /// Records `sample` in the row of `method` and `name`, or in the overflow row when the
    /// run has no room for a new one; returns the row's method and name.
    fn record_row<'a>(
        &mut self,
        method: &'a str,
        name: &'a str,
        sample: &RequestSample<'_>,
        names: &Names,
    ) -> (&'a str, &'a str) {
        if let Some(row) = self.rows.get_mut(method).and_then(|by| by.get_mut(name)) {
            row.record(sample);
            return (method, name);
        }
        let (method, name) = if names.requests.admit(&Names::request_key(method, name)) {
            (method, name)
        } else {
            self.overflow.requests += 1;
            (OVERFLOW_METHOD, OVERFLOW)
        };
        let by_name = self.rows.entry(method.to_owned()).or_default();
        match by_name.get_mut(name) {
            Some(row) => row.record(sample),
            None => by_name.entry(name.to_owned()).or_default().record(sample),
        }
        (method, name)
    }

    pub(crate) fn record_request(
        &mut self,
        sample: &RequestSample<'_>,
        scope: &Scope,
        subs: &SubMetrics,
        names: &Names,
    ) {
        let method = bounded(sample.method, names.caps.max_bytes);
        let name = bounded(sample.name, names.caps.max_bytes);
        let (method, name) = self.record_row(&method, &name, sample, names);
        self.total.record(sample);
        self.tags.record_tags(sample, scope, names);
        if let Some(kind) = sample.failure {
            let key = (method.to_owned(), name.to_owned(), kind.to_owned());
            *self.errors.entry(key).or_default() += 1;
        }
        if let Some(timings) = sample.phases {
            for (trend, phase) in self.phases.iter_mut().zip(phases(timings)) {
                trend.record_duration(phase);
            }
        }
        if let Some(connection) = &sample.connection {
            self.connections.record(connection);
        }
        if let Some(interval) = sample.expected_interval
            && sample.phases.is_some()
        {
            self.corrected.record_corrected(
                sample.duration.as_micros() as u64,
                interval.as_micros() as u64,
            );
        }
        if subs.is_empty() {
            return;
        }
        for (index, sub) in subs.fed_by(|s| matches!(s, Source::Http(_))) {
            if !sub.matches(|k, v| sample.has(scope, k, v)) {
                continue;
            }
            let Source::Http(value) = sub.source else {
                continue;
            };
            let answered = sample.phases.is_some();
            let slot = self.sub(index);
            match value {
                HttpValue::Duration if answered => slot.trend().record_duration(sample.duration),
                HttpValue::Corrected => {
                    if let (Some(interval), true) = (sample.expected_interval, answered) {
                        slot.trend().record_corrected(
                            sample.duration.as_micros() as u64,
                            interval.as_micros() as u64,
                        );
                    }
                }
                HttpValue::Phase(i) => {
                    if let Some(timings) = sample.phases {
                        slot.trend().record_duration(phases(timings)[i]);
                    }
                }
                HttpValue::Reqs => slot.add_counter(1.0),
                HttpValue::Failed => slot.add_rate(sample.failure.is_some()),
                HttpValue::Sent => slot.add_counter(sample.bytes_sent as f64),
                HttpValue::Received => slot.add_counter(sample.bytes_received as f64),
                HttpValue::Duration => {}
            }
        }
    }

    pub(crate) fn record_iteration(
        &mut self,
        outcome: IterationOutcome,
        duration: Duration,
        scope: &Scope,
        subs: &SubMetrics,
    ) {
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
        for (index, sub) in
            subs.fed_by(|s| matches!(s, Source::Iterations | Source::IterationDuration))
        {
            if sub.matches(|k, v| scope.has(&[], k, v)) {
                let is_duration = sub.source == Source::IterationDuration;
                let slot = self.sub(index);
                if is_duration {
                    slot.trend().record_duration(duration);
                } else {
                    slot.add_counter(1.0);
                }
            }
        }
    }

    pub(crate) fn record_dropped(&mut self, count: u64, scope: &Scope, subs: &SubMetrics) {
        self.dropped_iterations += count;
        for (index, sub) in subs.fed_by(|s| *s == Source::Dropped) {
            if sub.matches(|k, v| scope.has(&[], k, v)) {
                self.sub(index).add_counter(count as f64);
            }
        }
    }

    pub(crate) fn record_iteration_error(&mut self, task: &str, kind: &str, message: &str) {
        let first_line = message.lines().next().unwrap_or_default();
        let mut key = (
            task.to_owned(),
            kind.to_owned(),
            first_line.chars().take(200).collect::<String>(),
        );
        if !self.iteration_errors.contains_key(&key)
            && self.iteration_errors.len() >= MAX_ITERATION_ERRORS
        {
            key.2 = "(other errors)".to_owned();
        }
        *self.iteration_errors.entry(key).or_default() += 1;
    }

    pub(crate) fn record_check(
        &mut self,
        name: &str,
        ok: bool,
        tags: &[(String, String)],
        scope: &Scope,
        subs: &SubMetrics,
        names: &Names,
    ) {
        let name = bounded(name, names.caps.max_bytes);
        let mut name: &str = &name;
        for (index, sub) in subs.fed_by(|s| *s == Source::Checks) {
            if sub.matches(|k, v| (k == "check" && v == name) || scope.has(tags, k, v)) {
                self.sub(index).add_rate(ok);
            }
        }
        if !self.checks.contains_key(name) && !names.checks.admit(name) {
            self.overflow.checks += 1;
            name = OVERFLOW;
        }
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

    /// Records a custom sample, or says why it was not.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn record_custom(
        &mut self,
        name: &str,
        kind: CustomKind,
        value: f64,
        tags: &[(String, String)],
        scope: &Scope,
        subs: &SubMetrics,
        names: &Names,
    ) -> Recorded {
        let name = bounded(name, names.caps.max_bytes);
        let name: &str = &name;
        if builtin_kind(name).is_some() {
            self.overflow.reserved += 1;
            return Recorded::Reserved;
        }
        if !self.custom.contains_key(name) && !names.metrics.admit(name) {
            self.overflow.metrics += 1;
            return Recorded::OverCap;
        }
        let metric = match self.custom.get_mut(name) {
            Some(metric) => metric,
            None => self
                .custom
                .entry(name.to_owned())
                .or_insert_with(|| Custom::new(kind)),
        };
        if metric.kind != kind {
            return Recorded::OtherKind;
        }
        metric.count += 1;
        match kind {
            CustomKind::Counter => metric.value += value,
            CustomKind::Rate => metric.value += f64::from(u8::from(value != 0.0)),
            CustomKind::Gauge => {
                metric.value = value;
                metric.set_at = Some(SystemTime::now());
                metric.min = metric.min.min(value);
                metric.max = metric.max.max(value);
            }
            CustomKind::Trend => {
                if let Some(trend) = &mut metric.trend {
                    trend.record((value * 1000.0).round() as u64);
                }
            }
        }
        for (index, sub) in subs.fed_by(|s| matches!(s, Source::Custom(n) if n == name)) {
            if sub.matches(|k, v| scope.has(tags, k, v)) {
                let slot = self.sub(index);
                match kind {
                    CustomKind::Counter => slot.add_counter(value),
                    CustomKind::Rate => slot.add_rate(value != 0.0),
                    CustomKind::Gauge => *slot = SubValue::Gauge(value),
                    CustomKind::Trend => slot.trend().record((value * 1000.0).round() as u64),
                }
            }
        }
        Recorded::Yes
    }

    /// Empties the metrics for another span, keeping the histograms of the totals and the
    /// phases (every request records into them) rather than allocating them again. Rows,
    /// checks, errors and custom metrics go: a span holds only the names it saw.
    pub(crate) fn recycle(&mut self) {
        // Destructured whole, so a new field cannot be forgotten here.
        let Self {
            rows,
            total,
            errors,
            iterations,
            iterations_failed,
            iterations_interrupted,
            dropped_iterations,
            iteration_duration,
            checks,
            custom,
            iteration_errors,
            phases,
            corrected,
            connections,
            overflow,
            sub,
            tags,
        } = self;
        rows.clear();
        total.reset();
        errors.clear();
        *iterations = 0;
        *iterations_failed = 0;
        *iterations_interrupted = 0;
        *dropped_iterations = 0;
        iteration_duration.reset();
        checks.clear();
        custom.clear();
        iteration_errors.clear();
        phases.iter_mut().for_each(Trend::reset);
        corrected.reset();
        *connections = ConnectionCounts::default();
        *overflow = Overflow::default();
        sub.clear();
        tags.clear();
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
        for (mine, theirs) in self.phases.iter_mut().zip(&other.phases) {
            mine.merge(theirs);
        }
        self.corrected.merge(&other.corrected);
        self.connections.merge(&other.connections);
        self.overflow.merge(&other.overflow);
        for (index, value) in other.sub.iter().enumerate() {
            self.sub(index).merge(value);
        }
        self.tags.merge(&other.tags);
    }
}
