//! `host run --web [ADDR]`: the dashboard's run page for this run, served while it runs.
//!
//! The page is the server's (`api::web`); the routes it reads are the server's too, for the
//! one run there is, named `local`: its view, series, statistics, stream, log, and stop,
//! pause, resume and VUs. No token: the address is loopback unless asked otherwise, and
//! `GET /v1/local` tells the page to skip the login. The run never waits for a browser: at
//! its end the page's streams get their `end` event, and at most [`FLUSH`] to send it.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::api::ApiError;
use crate::api::runs::{SetVus, apply_vus, control_error};
use crate::api::stats::{LogView, StreamQuery, live_stream};
use crate::run::{ControlError, RunHandle};
use crate::stats::{IntervalStats, Snapshot};
use crate::store::RunState;

/// The run's id in the routes.
const ID: &str = "local";

/// How long the page's open streams get, once the run is over, to send what they have.
const FLUSH: Duration = Duration::from_secs(2);

/// The run page being served.
pub(crate) struct RunPage {
    /// The address it listens on.
    pub(crate) addr: SocketAddr,
    shutdown: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl RunPage {
    /// Stops serving once open streams have sent their end (bounded by [`FLUSH`]).
    pub(crate) async fn finish(self) {
        let _ = self.shutdown.send(());
        let _ = tokio::time::timeout(FLUSH, self.task).await;
    }
}

/// Binds `addr` and serves the run page for `handle` until [`RunPage::finish`].
pub(crate) async fn serve(addr: SocketAddr, handle: RunHandle) -> anyhow::Result<RunPage> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("--web {addr}: cannot listen there"))?;
    let bound = listener.local_addr()?;
    let router = Router::new()
        .route("/v1/local", get(|| async { Json(json!({ "run": ID })) }))
        .route("/v1/runs/local", get(view))
        .route("/v1/runs/local/series", get(series))
        .route("/v1/runs/local/stats", get(stats))
        .route("/v1/runs/local/stream", get(stream))
        .route("/v1/runs/local/log", get(log))
        .route("/v1/runs/local/stop", post(stop))
        .route("/v1/runs/local/pause", post(pause))
        .route("/v1/runs/local/resume", post(resume))
        .route("/v1/runs/local/vus", post(set_vus))
        .merge(crate::api::web::routes())
        .fallback(|uri: axum::http::Uri| async move {
            ApiError::not_found("route (this is one local run: /v1/runs/local)", uri.path())
        })
        .with_state(handle);
    let (shutdown, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let serving = axum::serve(listener, router).with_graceful_shutdown(async move {
            let _ = stopped.await;
        });
        if let Err(err) = serving.await {
            tracing::warn!("the run page stopped serving: {err}");
        }
    });
    Ok(RunPage {
        addr: bound,
        shutdown,
        task,
    })
}

/// The run as the server's `GET /v1/runs/{id}` shows one.
async fn view(State(handle): State<RunHandle>) -> Json<Value> {
    let (state, reason) = RunState::of(&handle.status());
    Json(json!({
        "id": ID,
        "scenario": handle.scenario().hash,
        "state": state,
        "reason": reason,
        "vus": handle.vus(),
        "vus_max": handle.plan().max_vus(),
        "plan": handle.plan().to_document(),
    }))
}

async fn series(State(handle): State<RunHandle>) -> Json<Vec<IntervalStats>> {
    Json(handle.series())
}

async fn stats(State(handle): State<RunHandle>) -> Json<Snapshot> {
    Json(handle.snapshot())
}

async fn stream(State(handle): State<RunHandle>, Query(query): Query<StreamQuery>) -> Response {
    live_stream(handle, query.snapshots)
}

async fn log(State(handle): State<RunHandle>) -> Json<Vec<LogView>> {
    Json(handle.recent_logs().iter().map(Into::into).collect())
}

async fn stop(State(handle): State<RunHandle>) -> (StatusCode, Json<Value>) {
    handle.stop();
    (StatusCode::ACCEPTED, view(State(handle)).await)
}

async fn pause(State(handle): State<RunHandle>) -> Result<Json<Value>, ApiError> {
    control(handle, RunHandle::pause).await
}

async fn resume(State(handle): State<RunHandle>) -> Result<Json<Value>, ApiError> {
    control(handle, RunHandle::resume).await
}

async fn control(
    handle: RunHandle,
    action: fn(&RunHandle) -> Result<bool, ControlError>,
) -> Result<Json<Value>, ApiError> {
    action(&handle).map_err(|e| control_error(&e))?;
    Ok(view(State(handle)).await)
}

async fn set_vus(
    State(handle): State<RunHandle>,
    body: Result<Json<SetVus>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let Json(body) = body.map_err(|err| ApiError::of_status(err.status(), err.body_text()))?;
    apply_vus(&handle, &body)?;
    Ok(view(State(handle)).await)
}
