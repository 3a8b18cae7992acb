//! The dashboard's files (`host/web`, compiled into the binary): the page at `/`, its
//! scripts and stylesheets, and the chart library. They hold no data and need no token:
//! everything the page shows comes from `/v1` with the token the person typed, which the
//! page keeps in the tab's session storage, never in a URL (docs/web.md).

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::output::assets::{BASE_CSS, CHARTS_JS, UPLOT_CSS, UPLOT_JS};

/// The page: a shell the script fills.
const APP_HTML: &str = include_str!("../../web/app.html");
/// The dashboard's script.
const APP_JS: &str = include_str!("../../web/app.js");
/// The dashboard's stylesheet.
const APP_CSS: &str = include_str!("../../web/app.css");

/// What the page may load and where it may connect: only this server. Styles may be set
/// inline by the chart library.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; \
    form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

/// A file of the dashboard with its type and the headers every one carries.
fn file(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
            // The files change with the binary: revalidate rather than cache for a day.
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
}

/// The dashboard's routes: `/`, and its scripts and stylesheets under `/ui/`; for the
/// server and for `host run --web`.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    const JS: &str = "text/javascript; charset=utf-8";
    const CSS: &str = "text/css; charset=utf-8";
    Router::new()
        .route(
            "/",
            get(|| async { file("text/html; charset=utf-8", APP_HTML) }),
        )
        .route("/ui/app.js", get(|| async { file(JS, APP_JS) }))
        .route("/ui/base.css", get(|| async { file(CSS, BASE_CSS) }))
        .route("/ui/app.css", get(|| async { file(CSS, APP_CSS) }))
        .route("/ui/charts.js", get(|| async { file(JS, CHARTS_JS) }))
        .route(
            "/ui/uPlot.iife.min.js",
            get(|| async { file(JS, UPLOT_JS) }),
        )
        .route("/ui/uPlot.min.css", get(|| async { file(CSS, UPLOT_CSS) }))
}
