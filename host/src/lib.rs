//! Loadwright's engine: runs load-test scenarios that are sandboxed WebAssembly components,
//! with every request performed natively and measured.
//!
//! # Layout
//!
//! - `cli`: the `host` command line (`run`, `report`, `serve`, `agent`, `inspect`,
//!   `target`), the terminal's live control keys and `host run --web`'s run page, a thin
//!   shell over [`run`] and [`api`].
//! - [`api`]: the server's HTTP API (`host serve`): tenants, scenarios, runs, live stats
//!   (SSE), reports, OpenAPI, Prometheus metrics, and the dashboard's files (`host/web`).
//! - [`store`]: the server's persistence: SQLite for metadata, runs, series and reports;
//!   components on disk by hash.
//! - [`run`]: one library API under every shell: start a [`run::Run`] from a plan, get a
//!   handle with status, snapshots, a live stream of intervals, live control, and stop.
//! - [`vu`]: VU lifecycle and the executors that schedule iterations; graceful stop.
//! - [`engine`]: the one wasmtime engine, component loading, validation and caching, the
//!   host side of each WIT interface (`engine/host/<interface>.rs`), and the outbox through
//!   which a guest's request is run by its VU's task rather than on its fiber
//!   (`engine/outbox.rs`).
//! - [`stats`]: HdrHistograms, sharded recording, intervals, snapshots, sub-metrics,
//!   thresholds, the bounded time series.
//! - [`http`]: the native HTTP client: TLS (rustls), HTTP/1.1 of its own and HTTP/2
//!   (hyper), connection policies, DNS, phase timings, egress policy, error taxonomy.
//! - [`config`]: the run plan: pure data, k6's names, executors, thresholds, validation.
//! - [`runlog`]: the run's bounded log (guest logs, stdout/stderr, host notices).
//! - [`output`]: live progress, the end-of-test summary, and the `--out` files (JSON
//!   summary, Locust CSV, NDJSON, the HTML report page, whose scripts are in `host/web`;
//!   the mergeable result file), result files merged into one report (`host report`), and
//!   the observability outputs that push a live run's figures (OTLP, Prometheus remote
//!   write).
//! - [`demo`]: the built-in demo HTTP target, to try Loadwright with no server of your own.
//! - `sync`: a mutex's lock that outlives a panic, shared by every module that locks one.
//! - [`timer`]: one reusable timer for a sequence of bounded waits (a VU's requests, an
//!   instance's calls), instead of a timer registered and removed per wait.
//!
//! Imports point down: `cli` → `api` → `run`/`store` → `vu`/`engine`/`stats` → `http`.

pub mod api;
pub mod cli;
pub mod config;
pub mod demo;
pub mod engine;
pub mod http;
pub mod output;
pub mod run;
pub mod runlog;
pub mod stats;
pub mod store;
mod sync;
pub mod timer;
pub mod vu;
