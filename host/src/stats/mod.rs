//! Statistics: HdrHistograms per request row, sharded recording, per-interval time series in
//! bounded memory, cumulative snapshots, sub-metrics and thresholds.
//!
//! VUs record into one of a few [`Collector`] shards (a short, rarely contended lock); the
//! collector drains the shards into its aggregates when a snapshot is asked for and when it
//! closes an interval. Samples are never kept one by one.
//!
//! # Layout
//!
//! - `breakdown`: requests by name and by tag, as light tallies for snapshots and the series.
//! - `collector`: the shards, the aggregates, snapshots and intervals; [`Recorder`].
//! - `delta`: what a collector recorded in the form that serializes and merges exactly
//!   (histograms in HdrHistogram's V2 encoding): [`RecordedMetrics`], and each interval's
//!   [`IntervalDelta`] a run hands on to a result file or a coordinator.
//! - `exposition`: the cumulative figures as metric families ([`Exposition`]), which the
//!   observability outputs and `/metrics` encode.
//! - `metrics`: what one span records (rows, phases, iterations, checks, custom metrics).
//! - `submetric`: the tagged sub-metrics thresholds filter on, and the [`Scope`] of a sample.
//! - `thresholds`: evaluating the plan's thresholds on the cumulative figures.
//! - `series`: the bounded time series.
//! - `trend`: the HdrHistogram wrapper and its sparse, mergeable copy.
//! - `wire`: HdrHistogram's V2 encoding read into its buckets, for merging without the
//!   histogram's whole range.
//! - `snapshot`: the views handed out (snapshots, intervals, threshold verdicts).

mod breakdown;
mod collector;
mod delta;
mod exposition;
mod metrics;
mod names;
mod series;
mod snapshot;
mod submetric;
mod thresholds;
mod trend;
mod wire;

pub use breakdown::{MAX_TAG_VALUES, NamePoint, OTHER, POINT_ENTRIES, TagPoint, TallyStats};
pub use collector::{Collector, Recorder};
pub(crate) use delta::seconds;
pub use delta::{IntervalDelta, RecordedMetrics};
pub use exposition::{Distribution, Exposition, Family, Kind, Series, Unit, Value};
pub use metrics::{
    ConnectionInfo, CustomKind, IterationOutcome, PHASE_METRICS, Recorded, RequestSample,
};
pub use names::{NameCaps, OVERFLOW, OVERFLOW_METHOD, bounded};
pub use snapshot::{
    CheckStats, ConnectionStats, ErrorCount, HttpPhaseStats, HttpPhases, IntervalStats,
    IterationError, LOCUST_QUANTILES, MetricStats, OverflowStats, Percentiles, PhaseMeans,
    RequestStats, Snapshot, ThresholdResult, TrendStats,
};
pub use submetric::Scope;
pub use trend::{SparseTrend, Trend};
