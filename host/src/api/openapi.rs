//! The OpenAPI document, generated from the handlers' annotations so it cannot drift from
//! the code; served at `/v1/openapi.json`.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::agents::{AgentHello, AgentRef, Directive, PartEnd, PartInterval};
use super::error::{ErrorBody, ErrorDetail};
use super::fleet::{AgentLoss, Assignment, StartAnswer};
use super::runs::{CreateRun, RunView, SetVus};
use super::scenarios::ScenarioView;
use super::stats::LogView;
use super::{agents, ops, runs, scenarios, stats};
use crate::store::RunState;

/// The API's OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Loadwright",
        description = "Upload compiled scenarios (WebAssembly components), run them, and read \
                       live statistics and reports, per tenant. Every /v1 route takes \
                       `Authorization: Bearer TOKEN`."
    ),
    paths(
        scenarios::upload, scenarios::list, scenarios::get, scenarios::delete,
        runs::create, runs::list, runs::get, runs::stop, runs::set_vus, runs::pause,
        runs::resume,
        stats::stats, stats::series, stats::stream, stats::report, stats::report_file, stats::report_html,
        stats::log,
        agents::poll, agents::scenario, agents::ready, agents::interval, agents::end,
        ops::healthz, ops::readyz, ops::metrics, document,
    ),
    components(schemas(
        ErrorBody, ErrorDetail, ScenarioView, CreateRun, RunView, SetVus, RunState, LogView,
        AgentHello, AgentRef, PartInterval, Directive, PartEnd, Assignment, StartAnswer, AgentLoss
    )),
    modifiers(&BearerAuth),
    tags(
        (name = "scenarios", description = "compiled scenarios: upload, list, fetch, delete"),
        (name = "runs", description = "runs: start, list, stop, live control"),
        (name = "statistics", description = "snapshots, time series, live stream, reports, log"),
        (name = "operations", description = "health, readiness, metrics"),
        (name = "agents", description = "what agents call, with an agent token: parts of distributed runs"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// This document.
#[utoipa::path(
    get, path = "/v1/openapi.json", tag = "operations",
    responses((status = 200, description = "the OpenAPI 3.1 document", body = Object))
)]
pub async fn document() -> axum::Json<utoipa::openapi::OpenApi> {
    axum::Json(ApiDoc::openapi())
}
