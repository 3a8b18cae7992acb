//! A run's statistics: the current snapshot, the time series, a live stream of intervals
//! (Server-Sent Events), the final report (JSON, Locust CSV and the HTML page), and the log.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tokio_stream::StreamExt as _;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;

use super::error::{ApiError, ErrorBody};
use super::lifecycle::REPORT_FILES;
use super::runs::record_of;
use super::state::AppState;
use super::tenants::Caller;
use crate::output::html_report;
use crate::runlog::LogLine;
use crate::store::RunState;

/// One line of a run's log.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LogView {
    /// Seconds since the run started.
    pub elapsed: f64,
    /// The VU that wrote it (0: the test instance or the host).
    pub vu: u32,
    /// `debug`, `info`, `warn` or `error`.
    #[schema(value_type = String)]
    pub level: serde_json::Value,
    /// `guest`, `stdout`, `stderr` or `host`.
    #[schema(value_type = String)]
    pub source: serde_json::Value,
    /// The text.
    pub message: String,
}

impl From<&LogLine> for LogView {
    fn from(line: &LogLine) -> Self {
        Self {
            elapsed: line.elapsed.as_secs_f64(),
            vu: line.vu,
            level: serde_json::to_value(line.level).unwrap_or_default(),
            source: serde_json::to_value(line.source).unwrap_or_default(),
            message: line.message.clone(),
        }
    }
}

fn stored_json(
    state: &AppState,
    id: &str,
    name: &str,
) -> Result<Option<serde_json::Value>, ApiError> {
    let body = state.store.report(id, name)?;
    Ok(body.and_then(|b| serde_json::from_str(&b).ok()))
}

/// The cumulative statistics of a run: live while it runs, the last persisted ones after.
#[utoipa::path(
    get, operation_id = "getRunStats", path = "/v1/runs/{id}/stats", tag = "statistics",
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "the snapshot: totals, rows with percentiles, errors, checks, metrics, thresholds", body = Object),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn stats(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    if let Some(live) = state.live_run(&caller, &id) {
        return Ok(Json(live.handle.snapshot()).into_response());
    }
    record_of(&state, &caller, &id)?;
    match stored_json(&state, &id, "snapshot.json")? {
        Some(snapshot) => Ok(Json(snapshot).into_response()),
        None => Err(ApiError::conflict(format!(
            "run {id:?} ended before its first interval closed: it has no statistics"
        ))),
    }
}

/// What the live stream sends besides intervals.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StreamQuery {
    /// Also a `snapshot` event after each `interval`: the cumulative statistics as that
    /// interval closed (the dashboard's tables follow the run with them).
    #[serde(default)]
    pub snapshots: bool,
}

/// A filter on the time series.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SeriesQuery {
    /// Only intervals that closed after this many seconds into the run.
    pub since: Option<f64>,
}

/// The run's closed intervals, in order: rps, failures, percentiles, VUs per interval.
#[utoipa::path(
    get, operation_id = "getRunSeries", path = "/v1/runs/{id}/series", tag = "statistics",
    params(("id" = String, Path), SeriesQuery),
    responses(
        (status = 200, body = Vec<Object>),
        (status = 400, description = "a malformed query", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn series(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    Query(query): Query<SeriesQuery>,
) -> Result<Json<Vec<serde_json::Value>>, ApiError> {
    record_of(&state, &caller, &id)?;
    let since = query.since.unwrap_or(f64::NEG_INFINITY);
    Ok(Json(state.store.intervals(&id, since)?))
}

fn event(name: &str, body: &impl Serialize) -> Event {
    Event::default()
        .event(name)
        .json_data(body)
        .unwrap_or_else(|_| Event::default().event(name))
}

/// The live stream of a run: first a `snapshot` event (the cumulative statistics now), then
/// an `interval` event as each interval closes, a `lagged` event (`{"skipped": N}`) when a
/// slow reader missed some, and an `end` event with the final state. A finished run's
/// stream is its last snapshot and `end`.
#[utoipa::path(
    get, operation_id = "streamRun", path = "/v1/runs/{id}/stream", tag = "statistics",
    params(("id" = String, Path), StreamQuery),
    responses(
        (status = 200, description = "Server-Sent Events: snapshot, interval, lagged, end", content_type = "text/event-stream", body = String),
        (status = 400, description = "a malformed query", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn stream(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    Query(query): Query<StreamQuery>,
) -> Result<Response, ApiError> {
    let record = record_of(&state, &caller, &id)?;
    let Some(live) = state.live_run(&caller, &id) else {
        let snapshot = stored_json(&state, &id, "snapshot.json")?.unwrap_or_default();
        let end = serde_json::json!({"state": record.state, "reason": record.reason});
        let events = [event("snapshot", &snapshot), event("end", &end)];
        let stream = tokio_stream::iter(events.map(Ok::<_, Infallible>));
        return Ok(Sse::new(stream).keep_alive(keep_alive()).into_response());
    };
    Ok(live_stream(live.handle.clone(), query.snapshots))
}

/// The Server-Sent Events of a run in progress: a `snapshot`, then each `interval` (and
/// with `snapshots`, the cumulative statistics after each), `lagged` when the reader fell
/// behind, and `end`. The server's stream and `host run --web`'s.
pub(crate) fn live_stream(handle: crate::run::RunHandle, snapshots: bool) -> Response {
    // Subscribed before the snapshot is taken: no interval falls between the two.
    let intervals = BroadcastStream::new(handle.subscribe());
    let first = event("snapshot", &handle.snapshot());
    let snapshots = snapshots.then(|| handle.clone());
    let updates = futures_util::StreamExt::flat_map(intervals, move |item| {
        let events = match item {
            Ok(interval) => {
                let snapshot = snapshots.as_ref().map(|h| event("snapshot", &h.snapshot()));
                [Some(event("interval", &interval)), snapshot]
            }
            Err(BroadcastStreamRecvError::Lagged(skipped)) => [
                Some(event("lagged", &serde_json::json!({ "skipped": skipped }))),
                None,
            ],
        };
        tokio_stream::iter(events.into_iter().flatten())
    });
    let end = end_event(handle);
    let stream = tokio_stream::once(first)
        .chain(updates)
        .chain(end)
        .map(Ok::<_, Infallible>);
    Sse::new(stream).keep_alive(keep_alive()).into_response()
}

/// A comment line every 15 s while a stream is idle (the server's stream and `--web`'s).
fn keep_alive() -> KeepAlive {
    KeepAlive::new().interval(Duration::from_secs(15))
}

/// The `end` event, once the run has its report.
fn end_event(handle: crate::run::RunHandle) -> impl tokio_stream::Stream<Item = Event> {
    tokio_stream::once(()).then(move |()| {
        let handle = handle.clone();
        async move {
            let report = handle.wait().await;
            let (state, reason) = crate::store::RunState::of(&report.status);
            event(
                "end",
                &serde_json::json!({ "state": state, "reason": reason }),
            )
        }
    })
}

/// The final report of a finished run, as the JSON summary (`docs/summary.schema.json`).
#[utoipa::path(
    get, operation_id = "getRunReport", path = "/v1/runs/{id}/report", tag = "statistics",
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "the JSON summary", body = Object),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "the run is not over (or was interrupted)", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn report(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let record = record_of(&state, &caller, &id)?;
    record.summary.map(Json).ok_or_else(|| {
        let stats = format!("/v1/runs/{id}/stats");
        let what = format!("a report comes when it ends (its statistics so far are at {stats})");
        not_over(&id, record.state, &what)
    })
}

/// The answer for a report asked of a run not over: 409, saying what comes at its end.
fn not_over(id: &str, state: RunState, what: &str) -> ApiError {
    ApiError::conflict(format!("run {id:?} is {}: {what}", state.as_str()))
}

/// A Locust-compatible CSV file of a finished run: `stats.csv`, `stats_history.csv`,
/// `failures.csv` or `exceptions.csv`.
#[utoipa::path(
    get, operation_id = "getRunReportFile", path = "/v1/runs/{id}/report/{file}", tag = "statistics",
    params(("id" = String, Path), ("file" = String, Path, description = "stats.csv, stats_history.csv, failures.csv or exceptions.csv")),
    responses(
        (status = 200, description = "the CSV file", content_type = "text/csv", body = String),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn report_file(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path((id, file)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let record = record_of(&state, &caller, &id)?;
    if !REPORT_FILES.contains(&file.as_str()) {
        return Err(ApiError::not_found(
            "report file (there are stats.csv, stats_history.csv, failures.csv, exceptions.csv)",
            &file,
        ));
    }
    let body = state
        .store
        .report(&id, &file)?
        .ok_or_else(|| not_over(&id, record.state, "its files come when it ends"))?;
    Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], body).into_response())
}

/// The report page of a finished run: one self-contained HTML file (data, charts and
/// scripts inlined; it opens offline), the same as `host run --out html=FILE` writes. Built
/// from the stored summary and series when asked for.
#[utoipa::path(
    get, operation_id = "getRunReportHtml", path = "/v1/runs/{id}/report.html", tag = "statistics",
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "the HTML report", content_type = "text/html", body = String),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "the run is not over (or was interrupted)", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn report_html(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let record = record_of(&state, &caller, &id)?;
    let Some(summary) = &record.summary else {
        return Err(not_over(&id, record.state, "its report comes when it ends"));
    };
    let series = state.store.intervals(&id, f64::NEG_INFINITY)?;
    let page = html_report(summary, &series).map_err(anyhow::Error::from)?;
    Ok(([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response())
}

/// The run's log: the most recent lines (bounded by the run's `limits.logBytes`).
#[utoipa::path(
    get, operation_id = "getRunLog", path = "/v1/runs/{id}/log", tag = "statistics",
    params(("id" = String, Path)),
    responses((status = 200, body = Vec<LogView>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn log(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    if let Some(live) = state.live_run(&caller, &id) {
        let lines: Vec<LogView> = live.handle.recent_logs().iter().map(Into::into).collect();
        return Ok(Json(
            serde_json::to_value(lines).map_err(anyhow::Error::from)?,
        ));
    }
    record_of(&state, &caller, &id)?;
    Ok(Json(
        stored_json(&state, &id, "log.json")?.unwrap_or_else(|| serde_json::json!([])),
    ))
}
