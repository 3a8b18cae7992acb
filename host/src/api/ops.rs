//! Operations: liveness, readiness, and Prometheus metrics.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::error::{ApiError, ErrorBody};
use super::state::AppState;
use super::tenants::Caller;
use crate::output::export::prometheus;
use crate::stats::Snapshot;

/// The process is up.
#[utoipa::path(get, operation_id = "getHealth", path = "/healthz", tag = "operations", responses((status = 200, body = String)))]
pub async fn healthz() -> &'static str {
    "ok\n"
}

/// The server takes work: its database answers and it is not shutting down.
#[utoipa::path(
    get, operation_id = "getReadiness", path = "/readyz", tag = "operations",
    responses((status = 200, body = String), (status = 503, body = String))
)]
pub async fn readyz(State(state): State<Arc<AppState>>) -> (StatusCode, &'static str) {
    if state.is_draining() {
        (StatusCode::SERVICE_UNAVAILABLE, "shutting down\n")
    } else if !state.store.is_healthy() {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "the database does not answer\n",
        )
    } else {
        (StatusCode::OK, "ready\n")
    }
}

/// Each run in progress's request durations, every request name together, as a classic
/// histogram (the buckets of the observability outputs, `docs/outputs.md`).
fn run_latencies(out: &mut String, state: &AppState) {
    let live: Vec<_> = state
        .live()
        .iter()
        .map(|(id, run)| (id.clone(), run.tenant.clone(), run.handle.clone()))
        .collect();
    let name = "loadwright_run_http_req_duration_seconds";
    let _ = writeln!(
        out,
        "# HELP {name} Request durations of a run in progress, every request name together.\n\
         # TYPE {name} histogram"
    );
    for (id, tenant, handle) in live {
        let all = handle.request_durations();
        prometheus::write_histogram(out, name, &[("tenant", &tenant), ("run", &id)], &all);
    }
}

/// A per-run series: name, type, help, and its value in a snapshot.
type RunSeries = (
    &'static str,
    &'static str,
    &'static str,
    fn(&Snapshot) -> f64,
);

/// Runs by tenant and state, and per run in progress its VUs, requests, failures, current
/// rps and request durations (a histogram), in Prometheus text format. Needs the admin
/// token (tenants and runs are named in it).
#[utoipa::path(
    get, operation_id = "getMetrics", path = "/metrics", tag = "operations",
    responses(
        (status = 200, description = "Prometheus text exposition format", content_type = "text/plain", body = String),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn metrics(
    State(state): State<Arc<AppState>>,
    caller: Caller,
) -> Result<Response, ApiError> {
    if !matches!(caller, Caller::Admin) {
        return Err(ApiError::forbidden("the metrics need the admin token"));
    }
    let mut out = String::new();
    out.push_str(
        "# HELP loadwright_runs Runs by tenant and state.\n# TYPE loadwright_runs gauge\n",
    );
    for (tenant, run_state, count) in state.store.run_counts()? {
        let _ = writeln!(
            out,
            "loadwright_runs{{tenant=\"{}\",state=\"{}\"}} {count}",
            prometheus::escape(&tenant),
            run_state.as_str()
        );
    }
    let live: Vec<_> = state
        .live()
        .iter()
        .map(|(id, run)| (id.clone(), run.tenant.clone(), run.handle.snapshot()))
        .collect();
    let series: [RunSeries; 4] = [
        (
            "loadwright_run_vus",
            "gauge",
            "Active VUs of a run in progress.",
            |s| f64::from(s.vus),
        ),
        (
            "loadwright_run_requests_total",
            "counter",
            "Requests a run in progress has made.",
            |s| s.total.count as f64,
        ),
        (
            "loadwright_run_errors_total",
            "counter",
            "Failed requests of a run in progress.",
            |s| s.total.failures as f64,
        ),
        (
            "loadwright_run_rps",
            "gauge",
            "Requests per second of a run in progress, over its last interval.",
            |s| s.total.current_rps,
        ),
    ];
    for (name, kind, help, value) in series {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (id, tenant, snapshot) in &live {
            let _ = writeln!(
                out,
                "{name}{{tenant=\"{}\",run=\"{}\"}} {}",
                prometheus::escape(tenant),
                prometheus::escape(id),
                value(snapshot)
            );
        }
    }
    run_latencies(&mut out, &state);
    let (idle, busy) = state.fleet.counts();
    let _ = writeln!(
        out,
        "# HELP loadwright_agents Agents (host agent) of the coordinator: idle ones heard from \
         lately, busy ones holding a part of a run.\n# TYPE loadwright_agents gauge\n\
         loadwright_agents{{state=\"idle\"}} {idle}\nloadwright_agents{{state=\"busy\"}} {busy}"
    );
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
        .into_response())
}
