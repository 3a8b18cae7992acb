//! The views the stats give out: cumulative snapshots and per-interval figures.
//! Field meanings match the `types` interface of `wit/types.wit`.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use super::breakdown::{NamePoint, TagPoint};
use super::metrics::CustomKind;

/// Statistics of a distribution, in milliseconds for durations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct TrendStats {
    /// Samples.
    pub count: u64,
    /// Smallest.
    pub min: f64,
    /// Mean (exact).
    pub mean: f64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest.
    pub max: f64,
}

/// The percentiles Locust reports, as quantiles.
pub const LOCUST_QUANTILES: [f64; 11] = [
    0.50, 0.66, 0.75, 0.80, 0.90, 0.95, 0.98, 0.99, 0.999, 0.9999, 1.0,
];

/// Their names, as keys in JSON.
const LOCUST_KEYS: [&str; 11] = [
    "p50", "p66", "p75", "p80", "p90", "p95", "p98", "p99", "p99.9", "p99.99", "p100",
];

/// Locust's 11 percentiles (50, 66, 75, 80, 90, 95, 98, 99, 99.9, 99.99, 100), exact from the
/// histogram (three significant digits), not rounded as Locust rounds them.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Percentiles(pub [f64; 11]);

impl Serialize for Percentiles {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        let mut map = s.serialize_map(Some(LOCUST_KEYS.len()))?;
        for (key, value) in LOCUST_KEYS.iter().zip(self.0) {
            map.serialize_entry(key, &value)?;
        }
        map.end()
    }
}

/// The phases of `http_req_duration` and before it (k6's `http_req_*` trends, plus
/// `http_req_dns`), over the requests with a response, in milliseconds: their distributions
/// ([`HttpPhaseStats`]) or their means ([`PhaseMeans`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct HttpPhases<T> {
    /// `http_req_blocked`.
    pub blocked: T,
    /// `http_req_dns`.
    pub dns: T,
    /// `http_req_connecting`.
    pub connecting: T,
    /// `http_req_tls_handshaking`.
    pub tls_handshaking: T,
    /// `http_req_sending`.
    pub sending: T,
    /// `http_req_waiting`.
    pub waiting: T,
    /// `http_req_receiving`.
    pub receiving: T,
}

/// The distribution of each phase.
pub type HttpPhaseStats = HttpPhases<TrendStats>;

/// The mean of each phase (a request row's).
pub type PhaseMeans = HttpPhases<f64>;

impl<T> From<[T; 7]> for HttpPhases<T> {
    /// The phases in `PHASE_METRICS` order.
    fn from(phases: [T; 7]) -> Self {
        let [
            blocked,
            dns,
            connecting,
            tls_handshaking,
            sending,
            waiting,
            receiving,
        ] = phases;
        Self {
            blocked,
            dns,
            connecting,
            tls_handshaking,
            sending,
            waiting,
            receiving,
        }
    }
}

/// Connections opened, their TLS handshakes, and the protocols responses came over.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ConnectionStats {
    /// Connections opened, each counted with the response it was opened for.
    pub opened: u64,
    /// Responses that came over a kept-alive connection.
    pub reused: u64,
    /// TLS handshakes made in full.
    pub tls_full: u64,
    /// TLS handshakes that resumed an earlier session.
    pub tls_resumed: u64,
    /// New TLS connections by version (`"1.3": 50`).
    pub tls_versions: BTreeMap<&'static str, u64>,
    /// Responses by protocol (`"HTTP/1.1": 1200`).
    pub protocols: BTreeMap<&'static str, u64>,
}

/// Samples the run's name caps (`limits.maxRequestNames`, `maxCheckNames`,
/// `maxMetricNames`) counted elsewhere than under their own name, or dropped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct OverflowStats {
    /// Requests counted under the `(overflow)` row.
    pub requests: u64,
    /// Checks counted under the `(overflow)` check.
    pub checks: u64,
    /// Samples of custom metrics past the cap, dropped.
    pub metric_samples: u64,
    /// Samples of custom metrics named like a built-in metric, dropped.
    pub reserved_samples: u64,
}

impl OverflowStats {
    /// Whether any sample overflowed.
    pub fn any(&self) -> bool {
        self.requests + self.checks + self.metric_samples + self.reserved_samples > 0
    }
}

/// A threshold's verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ThresholdResult {
    /// The metric or sub-metric (`http_req_duration{name:login}`).
    pub metric: String,
    /// The expression (`p(99)<300`).
    pub expression: String,
    /// The value the expression was evaluated on; `None` when the metric has no samples.
    pub value: Option<f64>,
    /// Whether it holds (a metric without samples holds, as in k6).
    pub ok: bool,
    /// Whether its failure stops the run.
    pub abort_on_fail: bool,
    /// Why it could not be evaluated, when it could not (a custom metric of another kind).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One request row of a snapshot.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RequestStats {
    /// Method (empty for the total row).
    pub method: String,
    /// Name (`Aggregated` for the total row).
    pub name: String,
    /// Requests completed.
    pub count: u64,
    /// Requests failed.
    pub failures: u64,
    /// Mean requests per second since the start.
    pub rps: f64,
    /// Requests per second in the last closed interval.
    pub current_rps: f64,
    /// `http_req_duration`, ms.
    pub duration: TrendStats,
    /// `http_req_duration` at Locust's percentiles, ms.
    pub percentiles: Percentiles,
    /// Bytes written.
    pub bytes_sent: u64,
    /// Bytes read.
    pub bytes_received: u64,
    /// Bytes of response bodies (Locust's content size).
    pub body_bytes: u64,
    /// The mean of each phase over the row's requests with a response, ms.
    pub phases: PhaseMeans,
}

/// Failures of one kind on one row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorCount {
    /// Method of the row.
    pub method: String,
    /// Name of the row.
    pub name: String,
    /// Failure kind (`connect-refused`, `status-503`, ...).
    pub kind: String,
    /// Occurrences.
    pub count: u64,
}

/// A check's tally.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckStats {
    /// Check name.
    pub name: String,
    /// Times it held.
    pub passes: u64,
    /// Times it failed.
    pub fails: u64,
}

/// A custom metric's aggregate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricStats {
    /// Metric name.
    pub name: String,
    /// Kind.
    pub kind: CustomKind,
    /// Samples.
    pub count: u64,
    /// Sum, last value, ratio or mean, by kind.
    pub value: f64,
    /// A gauge's smallest and largest values (`None` for other kinds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// See `min`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// The distribution of a trend.
    pub trend: Option<TrendStats>,
}

/// Failed iterations with one message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IterationError {
    /// The task that failed.
    pub task: String,
    /// `error` (the task returned `err`), or the trap's kind: `trap`, `cpu-limit`,
    /// `memory-limit`, `iteration-timeout`.
    pub kind: String,
    /// First line of the error or trap message.
    pub message: String,
    /// Occurrences.
    pub count: u64,
}

/// The cumulative view of a run at one moment.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Snapshot {
    /// Time since the run started.
    #[serde(serialize_with = "super::delta::seconds::serialize")]
    pub elapsed: Duration,
    /// Active VUs.
    pub vus: u32,
    /// Most VUs the run may use.
    pub vus_max: u32,
    /// VUs retired because they could not start (instantiation or `on-vu-start` kept
    /// failing); the run's log says why.
    pub vus_retired: u32,
    /// Iterations completed or failed.
    pub iterations: u64,
    /// Iterations that failed.
    pub iterations_failed: u64,
    /// Iterations cut at the end of the graceful stop.
    pub iterations_interrupted: u64,
    /// Arrival-rate starts that found no VU.
    pub dropped_iterations: u64,
    /// `iteration_duration`, ms.
    pub iteration_duration: TrendStats,
    /// All requests.
    pub total: RequestStats,
    /// The phases of the requests, ms.
    pub http_phases: HttpPhaseStats,
    /// `http_req_duration_corrected` (closed models, with latency correction), ms.
    pub duration_corrected: Option<TrendStats>,
    /// Connections, TLS handshakes and protocols.
    pub connections: ConnectionStats,
    /// Samples past the run's name caps.
    pub overflow: OverflowStats,
    /// The plan's thresholds, evaluated on these figures.
    pub thresholds: Vec<ThresholdResult>,
    /// Rows sorted by name, then method.
    pub requests: Vec<RequestStats>,
    /// Failures, most frequent first.
    pub errors: Vec<ErrorCount>,
    /// Checks sorted by name.
    pub checks: Vec<CheckStats>,
    /// Custom metrics sorted by name.
    pub metrics: Vec<MetricStats>,
    /// Why iterations failed, most frequent first.
    pub iteration_errors: Vec<IterationError>,
    /// Requests by tag value (`status`, `scenario`, the scenarios' and requests' tags),
    /// sorted by tag, then value.
    pub tags: Vec<TagPoint>,
}

/// The figures of one closed stats interval: one point of the run's time series.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct IntervalStats {
    /// Wall-clock end of the interval, in seconds since the Unix epoch.
    pub timestamp: f64,
    /// Time since the start at the end of the interval.
    #[serde(serialize_with = "super::delta::seconds::serialize")]
    pub elapsed: Duration,
    /// Length of the interval.
    #[serde(serialize_with = "super::delta::seconds::serialize")]
    pub length: Duration,
    /// Requests completed in the interval.
    pub requests: u64,
    /// Requests failed in the interval.
    pub failures: u64,
    /// Requests per second.
    pub rps: f64,
    /// Failures per second.
    pub failures_per_second: f64,
    /// `http_req_duration` over the interval's requests, ms.
    pub duration: TrendStats,
    /// The same at Locust's percentiles.
    pub percentiles: Percentiles,
    /// Iterations ended in the interval.
    pub iterations: u64,
    /// Starts dropped in the interval.
    pub dropped_iterations: u64,
    /// VUs active at the end.
    pub vus: u32,
    /// Requests completed since the start.
    pub total_requests: u64,
    /// Failures since the start.
    pub total_failures: u64,
    /// `http_req_duration` since the start, ms.
    pub total_duration: TrendStats,
    /// Bytes of response bodies since the start.
    pub total_body_bytes: u64,
    /// The interval's requests by method and name: the busiest, busiest first, then the
    /// others added up under `(other)`.
    pub by_name: Vec<NamePoint>,
    /// The interval's requests by tag value: the busiest values of each tag, then each
    /// tag's others under `(other)`; sorted by tag.
    pub by_tag: Vec<TagPoint>,
}
