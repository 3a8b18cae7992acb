//! The server's HTTP API (`host serve`): axum handlers over the library's run API and the
//! store, per tenant.
//!
//! [`router`] builds the whole API over an [`AppState`], testable without a socket;
//! [`serve`] binds it, runs load on a runtime of its own (so the API answers while runs
//! generate load), and shuts down gracefully.
//!
//! # Layout
//!
//! - [`tenants`]: the configuration file, tenants, hashed tokens, quotas, callers.
//! - [`state`]: shared state, the runs in progress, the bearer-token extractor.
//! - [`error`]: error answers with a message a person can act on.
//! - [`scenarios`]: upload (validated, compiled, content-addressed), list, get, delete.
//! - [`runs`]: create within quotas and caps, list, get, stop, live control.
//! - [`stats`]: snapshot, time series, live stream (SSE), report (JSON, CSV), log.
//! - [`lifecycle`]: persisting a run as it goes and at its end.
//! - [`ops`]: `/healthz`, `/readyz`, `/metrics`.
//! - [`openapi`]: the OpenAPI document, generated from the handlers.

pub mod error;
pub mod lifecycle;
pub mod openapi;
pub mod ops;
pub mod runs;
pub mod scenarios;
pub mod state;
pub mod stats;
pub mod tenants;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::Uri;
use axum::routing::{MethodRouter, get, post};

pub use error::ApiError;
pub use state::AppState;
pub use tenants::ServerConfig;

use crate::engine::{Engine, EngineOptions};
use crate::store::Store;

/// Every route and its handlers; the OpenAPI document must list the same paths (a test
/// checks it).
pub fn routes() -> Vec<(&'static str, MethodRouter<Arc<AppState>>)> {
    vec![
        (
            "/v1/scenarios",
            post(scenarios::upload).get(scenarios::list),
        ),
        (
            "/v1/scenarios/{id}",
            get(scenarios::get).delete(scenarios::delete),
        ),
        ("/v1/runs", post(runs::create).get(runs::list)),
        ("/v1/runs/{id}", get(runs::get)),
        ("/v1/runs/{id}/stop", post(runs::stop)),
        ("/v1/runs/{id}/vus", post(runs::set_vus)),
        ("/v1/runs/{id}/pause", post(runs::pause)),
        ("/v1/runs/{id}/resume", post(runs::resume)),
        ("/v1/runs/{id}/stats", get(stats::stats)),
        ("/v1/runs/{id}/series", get(stats::series)),
        ("/v1/runs/{id}/stream", get(stats::stream)),
        ("/v1/runs/{id}/report", get(stats::report)),
        ("/v1/runs/{id}/report/{file}", get(stats::report_file)),
        ("/v1/runs/{id}/log", get(stats::log)),
        ("/healthz", get(ops::healthz)),
        ("/readyz", get(ops::readyz)),
        ("/metrics", get(ops::metrics)),
        ("/v1/openapi.json", get(openapi::document)),
    ]
}

/// The API over `state`.
pub fn router(state: Arc<AppState>) -> Router {
    // Uploads are capped per tenant in the handler; this bounds what is read at all.
    let largest_upload = state
        .config
        .tenants
        .iter()
        .map(|t| t.quotas.upload_bytes)
        .max()
        .unwrap_or(0);
    let body_limit = usize::try_from(largest_upload)
        .unwrap_or(usize::MAX)
        .saturating_add(1 << 20);
    let mut router = Router::new();
    for (path, handlers) in routes() {
        router = router.route(path, handlers);
    }
    router
        .fallback(|uri: Uri| async move { ApiError::not_found("route", uri.path()) })
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(state)
}

/// How to serve.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Where the database, components and compiled components live.
    pub data_dir: PathBuf,
    /// Tenants, quotas, caps.
    pub config: ServerConfig,
    /// Time runs get to stop gracefully at shutdown before the server exits anyway.
    pub shutdown_grace: Duration,
}

/// Instances the server's pool holds: room for every VU the configuration lets run at once
/// (`max-vus`, and no more than the tenants' quotas add up to) plus each run's test instance
/// and re-created VUs; fewer when the system's memory-mapping limit cannot hold them (a
/// stock `vm.max_map_count` holds about 9 000), with a warning that says what raising it
/// would give. Runs past the pool are refused with 503.
fn pool_size(config: &ServerConfig) -> u32 {
    let quotas = config
        .tenants
        .iter()
        .map(|t| t.quotas.vus_total)
        .fold(0u32, u32::saturating_add);
    let vus = if config.tenants.is_empty() {
        config.max_vus
    } else {
        config.max_vus.min(quotas)
    };
    let wanted = vus.saturating_add(64);
    let (instances, short) = crate::engine::fit_pool(wanted);
    if let Some(short) = short {
        tracing::warn!(
            "the instance pool holds {instances} instances, not the {wanted} the \
             configuration allows: {short}"
        );
    }
    instances
}

/// Serves the API until SIGTERM or Ctrl-C, then stops accepting, stops every run
/// gracefully, persists their reports and returns. Runs execute on `load`; the API on the
/// current runtime.
pub async fn serve(options: ServeOptions, load: tokio::runtime::Handle) -> anyhow::Result<()> {
    let store = Store::open(&options.data_dir)?;
    let engine = Engine::new(EngineOptions {
        max_instances: pool_size(&options.config),
        cache_dir: Some(options.data_dir.join("compiled")),
        ..EngineOptions::default()
    })?;
    let state = Arc::new(AppState::new(engine, store, options.config, load));
    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .with_context(|| format!("cannot listen on {}", options.listen))?;
    let address = listener.local_addr()?;
    tracing::info!(%address, "serving the API");
    // Scripts and tests read the bound address (port 0 picks one) from this line.
    println!("listening on http://{address}");
    let shutdown = {
        let state = state.clone();
        async move {
            shutdown_signal().await;
            drain(&state, options.shutdown_grace).await;
        }
    };
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
        .context("the server failed")?;
    tracing::info!("stopped");
    Ok(())
}

/// Refuses new runs, stops the ones in progress and waits (up to `grace`) until each has
/// stored its report.
async fn drain(state: &AppState, grace: Duration) {
    state.drain();
    let live: Vec<_> = state.live().values().map(|r| r.handle.clone()).collect();
    tracing::info!(runs = live.len(), "shutting down: stopping runs");
    for handle in &live {
        handle.stop();
    }
    let deadline = tokio::time::Instant::now() + grace;
    while !state.live().is_empty() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    if !state.live().is_empty() {
        tracing::warn!("runs still active after the shutdown grace; they will read as interrupted");
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use utoipa::OpenApi as _;

    #[test]
    fn the_openapi_document_lists_every_route() {
        let doc = openapi::ApiDoc::openapi();
        let documented: std::collections::BTreeSet<&str> =
            doc.paths.paths.keys().map(String::as_str).collect();
        let routed: std::collections::BTreeSet<&str> =
            routes().iter().map(|(path, _)| *path).collect();
        assert_eq!(documented, routed);
    }
}
