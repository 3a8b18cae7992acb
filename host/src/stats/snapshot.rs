//! The views the stats give out: cumulative snapshots and per-interval figures.
//! Field meanings match the `types` interface of `wit/types.wit`.

use std::time::Duration;

use serde::Serialize;

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
    /// Bytes written.
    pub bytes_sent: u64,
    /// Bytes read.
    pub bytes_received: u64,
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
    /// The distribution of a trend.
    pub trend: Option<TrendStats>,
}

/// Failed iterations with one message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IterationError {
    /// The task that failed.
    pub task: String,
    /// First line of the error or trap message.
    pub message: String,
    /// Occurrences.
    pub count: u64,
}

/// The cumulative view of a run at one moment.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Snapshot {
    /// Time since the run started.
    #[serde(serialize_with = "seconds")]
    pub elapsed: Duration,
    /// Active VUs.
    pub vus: u32,
    /// Most VUs the run may use.
    pub vus_max: u32,
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
}

/// The figures of one closed stats interval: one point of the run's time series.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct IntervalStats {
    /// Time since the start at the end of the interval.
    #[serde(serialize_with = "seconds")]
    pub elapsed: Duration,
    /// Length of the interval.
    #[serde(serialize_with = "seconds")]
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
    /// Iterations ended in the interval.
    pub iterations: u64,
    /// VUs active at the end.
    pub vus: u32,
    /// Requests completed since the start.
    pub total_requests: u64,
    /// Failures since the start.
    pub total_failures: u64,
}

fn seconds<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}
