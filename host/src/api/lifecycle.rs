//! A run's life on the server: each closed interval and the cumulative snapshot are written
//! as they come (so a crash keeps what a run had), state changes are recorded, and at the
//! end the summary, the Locust CSV files and the log are stored before the run leaves the
//! live set.

use std::sync::Arc;

use tokio::sync::broadcast::error::RecvError;

use super::exports;
use super::state::AppState;
use super::stats::LogView;
use crate::output::export::Exporters;
use crate::output::{Summary, exceptions_csv, failures_csv, history_csv, stats_csv};
use crate::run::RunHandle;
use crate::store::RunState;

/// The names of a finished run's stored report files.
pub const REPORT_FILES: [&str; 4] = [
    "stats.csv",
    "stats_history.csv",
    "failures.csv",
    "exceptions.csv",
];

/// Follows run `id` to its end, persisting as it goes; at the end, waits for its
/// observability outputs' last batches (at most 10 s) so that how they fared is in the
/// stored log.
pub async fn persist(
    state: Arc<AppState>,
    id: String,
    handle: RunHandle,
    exporters: Option<Exporters>,
) {
    let mut intervals = handle.subscribe();
    let mut status = handle.watch_status();
    let mut recorded = RunState::Starting;
    loop {
        tokio::select! {
            interval = intervals.recv() => match interval {
                Ok(interval) => {
                    let written = serde_json::to_string(&interval)
                        .map_err(anyhow::Error::from)
                        .and_then(|body| {
                            state.store.append_interval(&id, interval.elapsed.as_secs_f64(), &body)
                        })
                        .and_then(|()| {
                            let snapshot = serde_json::to_string(&handle.snapshot())?;
                            state.store.put_report(&id, "snapshot.json", &snapshot)
                        });
                    if let Err(err) = written {
                        tracing::error!(run = %id, "cannot persist an interval: {err:#}");
                    }
                }
                Err(RecvError::Lagged(skipped)) => {
                    tracing::warn!(run = %id, skipped, "the store fell behind the run's intervals");
                }
                Err(RecvError::Closed) => break,
            },
            changed = status.changed() => {
                if changed.is_err() {
                    break;
                }
                let (now, _) = RunState::of(&status.borrow_and_update());
                if now != recorded && !now.is_finished() {
                    recorded = now;
                    if let Err(err) = state.store.set_run_state(&id, now) {
                        tracing::error!(run = %id, "cannot record the run's state: {err:#}");
                    }
                }
            }
        }
    }
    let report = handle.wait().await;
    if let Some(exporters) = exporters {
        exports::finish(exporters, &handle).await;
    }
    let (final_state, reason) = RunState::of(&report.status);
    let summary = serde_json::to_value(Summary::of(&report)).unwrap_or_default();
    let lines: Vec<LogView> = handle.recent_logs().iter().map(Into::into).collect();
    let logs = serde_json::to_string(&lines).unwrap_or_default();
    let snapshot = serde_json::to_string(&report.snapshot).unwrap_or_default();
    let files = [
        ("stats.csv", stats_csv(&report)),
        ("stats_history.csv", history_csv(&report.series)),
        ("failures.csv", failures_csv(&report)),
        ("exceptions.csv", exceptions_csv(&report)),
        ("snapshot.json", snapshot),
        ("log.json", logs),
    ];
    if let Err(err) = state
        .store
        .finish_run(&id, final_state, reason.as_deref(), &summary, &files)
    {
        tracing::error!(run = %id, "cannot store the run's report: {err:#}");
    }
    tracing::info!(run = %id, state = final_state.as_str(), "run finished");
    state.live().remove(&id);
}
