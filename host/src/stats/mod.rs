//! Statistics: HdrHistograms per request row, sharded recording, per-interval time series,
//! cumulative snapshots.
//!
//! VUs record into one of a few [`Collector`] shards (a short, rarely contended lock); the
//! collector drains the shards into its aggregates when a snapshot is asked for and when it
//! closes an interval. Samples are never kept one by one.

mod collector;
mod metrics;
mod snapshot;
mod trend;

pub use collector::{Collector, Recorder};
pub use metrics::{CustomKind, IterationOutcome, RequestSample};
pub use snapshot::{
    CheckStats, ErrorCount, IntervalStats, IterationError, MetricStats, RequestStats, Snapshot,
    TrendStats,
};
pub use trend::Trend;
