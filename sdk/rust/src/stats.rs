//! The run's live statistics: every VU's requests, iterations, checks and metrics so far.

use crate::__bindings::loadwright::scenario::stats as wit;

pub use crate::__bindings::loadwright::scenario::types::{
    CheckStats, ErrorCount, MetricKind, MetricStats, RequestStats, StatsSnapshot as Snapshot,
    TrendStats,
};

/// The cumulative statistics of the run now (times in milliseconds).
pub fn snapshot() -> Snapshot {
    wit::snapshot()
}

/// The row of `method` and `name` in `snapshot`, if it has one.
pub fn row<'a>(snapshot: &'a Snapshot, method: &str, name: &str) -> Option<&'a RequestStats> {
    snapshot
        .requests
        .iter()
        .find(|r| r.method == method && r.name == name)
}
