//! The server's HTTP API (`host serve`): axum handlers over the library's run API and the
//! store, per tenant.
//!
//! [`router`] builds the whole API over an [`AppState`], testable without a socket;
//! [`serve`] binds it, runs load on a runtime of its own (so the API answers while runs
//! generate load), and shuts down gracefully.
//!
//! # Layout
//!
//! - [`tenants`]: the configuration file, tenants, hashed tokens (agents' too), quotas,
//!   callers.
//! - [`state`]: shared state, the runs in progress, the bearer-token extractor.
//! - [`error`]: error answers with a message a person can act on.
//! - [`integral`]: whole numbers in request bodies, `8.0` as `8` (JSON Schema's `integer`).
//! - [`scenarios`]: upload (validated, compiled, content-addressed), list, get, delete.
//! - [`runs`]: create within quotas and caps, list, get, stop, live control.
//! - [`stats`]: snapshot, time series, live stream (SSE), report (JSON, CSV), log.
//! - [`exports`]: a run's observability outputs, checked against its tenant's
//!   configuration, and how they fared in its log.
//! - [`lifecycle`]: persisting a run as it goes and at its end.
//! - [`fleet`]: the coordinator's agents and distributed runs: claiming agents, parts,
//!   the agreed start, merging their intervals, lost agents.
//! - [`agents`]: the routes agents call (`/v1/agents`), with an agent token.
//! - [`ops`]: `/healthz`, `/readyz`, `/metrics`.
//! - [`openapi`]: the OpenAPI document, generated from the handlers.
//! - [`web`]: the dashboard's page, script and stylesheet at `/` (`host/web`).

pub mod agents;
pub mod error;
pub mod exports;
pub mod fleet;
pub mod integral;
pub mod lifecycle;
pub mod openapi;
pub mod ops;
pub mod runs;
pub mod scenarios;
pub mod state;
pub mod stats;
pub mod tenants;
pub mod web;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::Uri;
use axum::response::IntoResponse as _;
use axum::routing::{MethodRouter, get, post};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower_http::timeout::RequestBodyTimeoutLayer;

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
        ("/v1/runs/{id}/report.html", get(stats::report_html)),
        ("/v1/runs/{id}/log", get(stats::log)),
        ("/v1/agents/poll", post(agents::poll)),
        ("/v1/agents/scenarios/{id}", get(agents::scenario)),
        (
            "/v1/agents/runs/{id}/parts/{part}/ready",
            post(agents::ready),
        ),
        (
            "/v1/agents/runs/{id}/parts/{part}/intervals",
            post(agents::interval),
        ),
        ("/v1/agents/runs/{id}/parts/{part}/end", post(agents::end)),
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
        .merge(web::routes())
        .fallback(|uri: Uri| async move { ApiError::not_found("route", uri.path()) })
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(axum::middleware::from_fn(
            move |request: axum::extract::Request, next: axum::middleware::Next| {
                by_declared_length(request, next, body_limit)
            },
        ))
        .layer(axum::middleware::map_response(error::json_errors))
        .with_state(state)
}

/// Bodies this short are read whole before the handler runs.
///
/// A handler that answers without reading the body (a control call sent with `{}`, a
/// refusal) would otherwise leave hyper a body that has not arrived yet; hyper then closes
/// the connection after the answer, and a client that reuses it sees it cut.
const SMALL_BODY: u64 = 64 * 1024;

/// Goes by the body's declared length: over `limit`, answers 413 at once rather than
/// reading the body up to the limit to refuse it then; up to [`SMALL_BODY`], reads it
/// whole first, so the connection stays usable whatever the handler does with it; past
/// it, an error answer closes the connection, saying so.
async fn by_declared_length(
    request: axum::extract::Request,
    next: axum::middleware::Next,
    limit: usize,
) -> axum::response::Response {
    let declared = request
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match declared {
        Some(length) if length > limit as u64 => ApiError::too_large(format!(
            "the body has {length} bytes, over the {limit} this server reads"
        ))
        .into_response(),
        Some(length) if length > 0 && length <= SMALL_BODY => {
            let (parts, body) = request.into_parts();
            match axum::body::to_bytes(body, SMALL_BODY as usize).await {
                Ok(bytes) => {
                    let request = axum::extract::Request::from_parts(parts, bytes.into());
                    next.run(request).await
                }
                Err(err) => ApiError::bad_request(format!(
                    "the body of {length} bytes did not arrive whole: {err}"
                ))
                .into_response(),
            }
        }
        Some(length) if length > SMALL_BODY => {
            // A refusal (a wrong token, a quota) is answered before the body is read, and
            // hyper then closes the connection: say so, or a client that reuses it for its
            // next request finds it cut.
            let mut response = next.run(request).await;
            if !response.status().is_success() {
                response.headers_mut().insert(
                    axum::http::header::CONNECTION,
                    axum::http::HeaderValue::from_static("close"),
                );
            }
            response
        }
        _ => next.run(request).await,
    }
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
    let listener = TcpListener::bind(options.listen)
        .await
        .with_context(|| format!("cannot listen on {}", options.listen))?;
    let address = listener.local_addr()?;
    tracing::info!(%address, "serving the API");
    // Scripts and tests read the bound address (port 0 picks one) from this line.
    println!("listening on http://{address}");
    let drained = {
        let state = state.clone();
        async move {
            shutdown_signal().await;
            drain(&state, options.shutdown_grace).await;
        }
    };
    let app = router(state).layer(RequestBodyTimeoutLayer::new(BODY_TIMEOUT));
    accept(listener, app, drained).await;
    tracing::info!("stopped");
    Ok(())
}

/// Time a client has to send a request's head, counted from the end of the previous answer
/// on a kept-alive connection (so it bounds idle connections too); past it the connection
/// is closed.
const HEAD_TIMEOUT: Duration = Duration::from_secs(10);
/// Time a client has to send a request's body (an upload of tens of megabytes included).
const BODY_TIMEOUT: Duration = Duration::from_secs(60);
/// Time connections get to finish at shutdown, once runs are stopped.
const CLOSE_GRACE: Duration = Duration::from_millis(500);

/// Serves connections until `drained` completes, then closes them, waiting at most
/// [`CLOSE_GRACE`]: no client, however slow or stuck, keeps the server alive.
async fn accept(listener: TcpListener, app: Router, drained: impl Future<Output = ()>) {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(HEAD_TIMEOUT);
    let connections = GracefulShutdown::new();
    let mut drained = std::pin::pin!(drained);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(err) => {
                    // Out of descriptors, say: wait a moment rather than spin.
                    tracing::warn!("accepting a connection failed: {err}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut drained => break,
        };
        let service = TowerToHyperService::new(app.clone());
        let connection = http.serve_connection(TokioIo::new(stream), service);
        let connection = connections.watch(connection);
        tokio::spawn(async move {
            let _ = connection.await;
        });
    }
    drop(listener);
    if tokio::time::timeout(CLOSE_GRACE, connections.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open at shutdown were closed");
    }
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
