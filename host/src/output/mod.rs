//! What a run leaves for people and programs: the plan at start, live progress, the end
//! summary on the terminal, the files of `--out` (JSON summary, Locust CSV, NDJSON, the
//! HTML report, mergeable results) and its observability outputs (OTLP, Prometheus remote
//! write).
//!
//! # Layout
//!
//! - `summary`: the plan lines and the end-of-test summary on the terminal.
//! - `progress`: the live progress line.
//! - `json`: the end-of-test summary document ([`Summary`]).
//! - `csv`: Locust's CSV files.
//! - `html`: the self-contained HTML report page.
//! - [`assets`]: the browser files the report and the dashboard share (uPlot, the charts).
//! - `merge`: result files merged into one run's report (`host report`).
//! - `result`: the mergeable result file (`--out result=FILE`), written as intervals close.
//! - [`export`]: the observability outputs (`otlp=URL`, `prometheus-rw=URL`), pushed at
//!   every interval.
//! - `sinks`: `--out` specs and the open [`Outputs`] of a run.
//! - `format`: numbers for people.

pub mod assets;
mod csv;
pub mod export;
mod format;
mod html;
mod json;
mod merge;
mod progress;
mod result;
mod sinks;
mod summary;

pub use csv::{
    EXCEPTIONS_HEADER, FAILURES_HEADER, exceptions_csv, failures_csv, history_csv, history_header,
    stats_csv, stats_header,
};
pub use format::{bytes, millis};
pub use html::html_report;
pub use json::{MetricSummary, SUMMARY_VERSION, Summary};
pub use merge::{Merged, Results};
pub use progress::Progress;
pub use result::{ResultFile, ResultWriter};
pub use sinks::{OutputSpec, Outputs};
pub use summary::{plan_lines, summary, warnings};
