//! The OpenAPI document, generated from the handlers' annotations so it cannot drift from
//! the code; served at `/v1/openapi.json`.

use serde_json::{Value, json};
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

/// The API's version, which the document carries: the minor number moves with every
/// addition, the major one with any change that breaks a client (`docs/server.md`).
pub const API_VERSION: &str = "1.2.0";

/// Operations that take a run's id, and those that take a scenario's: what the ids that
/// `createRun` and `uploadScenario` answer with lead to (OpenAPI links).
const RUN_OPERATIONS: [&str; 12] = [
    "getRun",
    "stopRun",
    "setRunVus",
    "pauseRun",
    "resumeRun",
    "getRunStats",
    "getRunSeries",
    "streamRun",
    "getRunReport",
    "getRunReportFile",
    "getRunReportHtml",
    "getRunLog",
];
const SCENARIO_OPERATIONS: [&str; 2] = ["getScenario", "deleteScenario"];

/// Operations no id-producing answer links to, and why.
pub const STANDALONE: [(&str, &str); 1] = [("getOpenApiDocument", "this document")];

/// The whole document: what the annotations generate, and what they cannot say (utoipa's
/// link objects serialize with the wrong field names, so the additions are made on the
/// JSON): links from the answers that carry ids to the operations that take them, the
/// upload's binary bodies, the admin token of `/metrics`, and the 400 and 415 answers of
/// every JSON body.
pub fn document_json() -> Value {
    let mut document = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
    document["info"]["version"] = json!(API_VERSION);
    link(&mut document, "/v1/runs", "post", "201", &RUN_OPERATIONS);
    for status in ["200", "201"] {
        link(
            &mut document,
            "/v1/scenarios",
            "post",
            status,
            &SCENARIO_OPERATIONS,
        );
    }
    link_scenario_to_runs(&mut document);
    link_assignment(&mut document);
    binary_upload(&mut document);
    event_streams(&mut document);
    report_file_names(&mut document);
    admin_metrics(&mut document);
    json_refusals(&mut document);
    document
}

/// Links the answer `status` of `method path` to each of `targets`, its `id` to theirs.
fn link(document: &mut Value, path: &str, method: &str, status: &str, targets: &[&str]) {
    let links: serde_json::Map<String, Value> = targets
        .iter()
        .map(|target| {
            let link = json!({"operationId": target, "parameters": {"id": "$response.body#/id"}});
            ((*target).to_owned(), link)
        })
        .collect();
    add_links(document, path, method, status, Value::Object(links));
}

/// Adds `links` to the answer `status` of `method path` (kept when it has some already).
fn add_links(document: &mut Value, path: &str, method: &str, status: &str, links: Value) {
    let pointer = format!("/paths/{}/{method}/responses/{status}", escape(path));
    let response = document
        .pointer_mut(&pointer)
        .and_then(Value::as_object_mut);
    let existing = response.and_then(|r| {
        r.entry("links")
            .or_insert_with(|| json!({}))
            .as_object_mut()
    });
    if let (Some(existing), Value::Object(links)) = (existing, links) {
        existing.extend(links);
    }
}

/// An uploaded scenario's id is what a run's request names.
fn link_scenario_to_runs(document: &mut Value) {
    let link = json!({"createRun": {
        "operationId": "createRun",
        "requestBody": {"scenario": "$response.body#/id"},
    }});
    for status in ["200", "201"] {
        add_links(document, "/v1/scenarios", "post", status, link.clone());
    }
}

/// An agent's assignment names the scenario to fetch and the run and part it then reports
/// on, as the agent that polled.
fn link_assignment(document: &mut Value) {
    let part = |operation: &str| {
        json!({
            "operationId": operation,
            "parameters": {"id": "$response.body#/run", "part": "$response.body#/part"},
            "requestBody": {"agent": "$request.body#/id"},
        })
    };
    let links = json!({
        "getAgentScenario": {
            "operationId": "getAgentScenario",
            "parameters": {"id": "$response.body#/scenario"},
        },
        "readyPart": part("readyPart"),
        "handInPartInterval": part("handInPartInterval"),
        "endPart": part("endPart"),
    });
    add_links(document, "/v1/agents/poll", "post", "200", links);
}

/// Every operation of the document.
fn operations_mut(document: &mut Value) -> impl Iterator<Item = &mut Value> {
    document
        .get_mut("paths")
        .and_then(Value::as_object_mut)
        .into_iter()
        .flat_map(|paths| paths.values_mut())
        .filter_map(Value::as_object_mut)
        .flat_map(|item| item.values_mut())
}

/// `path` as a JSON pointer token.
fn escape(path: &str) -> String {
    path.replace('~', "~0").replace('/', "~1")
}

/// The upload's body as generic clients can send it: binary, as `application/wasm` or
/// `application/octet-stream`, or a multipart form's `component` file.
fn binary_upload(document: &mut Value) {
    let bytes = json!({"type": "string", "format": "binary", "minLength": 1});
    let binary = json!({"schema": bytes});
    let form = json!({"schema": {
        "type": "object",
        "properties": {"component": bytes},
        "required": ["component"],
        "additionalProperties": false,
    }});
    let pointer = format!(
        "/paths/{}/post/requestBody/content",
        escape("/v1/scenarios")
    );
    if let Some(content) = document.pointer_mut(&pointer) {
        *content = json!({
            "application/wasm": binary,
            "application/octet-stream": binary,
            "multipart/form-data": form,
        });
    }
}

/// A Server-Sent Events answer's schema is that of each event (OpenAPI 3.1 has no
/// `itemSchema`): its name, and its data, one JSON document.
fn event_streams(document: &mut Value) {
    let event = json!({
        "type": "object",
        "required": ["event", "data"],
        "properties": {
            "event": {"type": "string", "enum": ["snapshot", "interval", "lagged", "end"]},
            "data": {"type": "string", "contentMediaType": "application/json"},
        },
    });
    let streams = operations_mut(document)
        .filter_map(|operation| operation.get_mut("responses"))
        .filter_map(Value::as_object_mut)
        .flat_map(|responses| responses.values_mut())
        .filter_map(|response| response.pointer_mut("/content/text~1event-stream"));
    for media in streams {
        media["schema"] = event.clone();
    }
}

/// A report's files are the four CSV files a run keeps.
fn report_file_names(document: &mut Value) {
    let pointer = format!(
        "/paths/{}/get/parameters",
        escape("/v1/runs/{id}/report/{file}")
    );
    let parameters = document.pointer_mut(&pointer).and_then(Value::as_array_mut);
    for parameter in parameters.into_iter().flatten() {
        if parameter["name"] == "file" {
            parameter["schema"] = json!({"type": "string", "enum": super::lifecycle::REPORT_FILES});
        }
    }
}

/// `/metrics` takes the admin token, a scheme of its own.
fn admin_metrics(document: &mut Value) {
    if let Some(schemes) = document
        .pointer_mut("/components/securitySchemes")
        .and_then(Value::as_object_mut)
    {
        schemes.insert(
            "admin".into(),
            json!({"type": "http", "scheme": "bearer",
                   "description": "the admin token, whose SHA-256 is the server's admin-token-sha256"}),
        );
    }
    if let Some(operation) = document.pointer_mut("/paths/~1metrics/get") {
        operation["security"] = json!([{"admin": []}]);
    }
}

/// Every operation with a JSON body answers 400 to malformed JSON, 415 to a body that is
/// not JSON and 422 to JSON of the wrong shape; each is documented with the error body.
fn json_refusals(document: &mut Value) {
    let error = json!({"$ref": "#/components/schemas/ErrorBody"});
    for operation in operations_mut(document) {
        if operation
            .pointer("/requestBody/content/application~1json")
            .is_none()
        {
            continue;
        }
        let Some(responses) = operation
            .get_mut("responses")
            .and_then(Value::as_object_mut)
        else {
            continue;
        };
        for (status, description) in [
            ("400", "malformed JSON"),
            ("415", "a body that is not application/json"),
            (
                "422",
                "JSON of the wrong shape: a field missing, unknown or of the wrong type",
            ),
        ] {
            responses.entry(status).or_insert_with(|| {
                json!({"description": description,
                       "content": {"application/json": {"schema": error.clone()}}})
            });
        }
    }
}

/// This document.
#[utoipa::path(
    get, operation_id = "getOpenApiDocument", path = "/v1/openapi.json", tag = "operations",
    responses((status = 200, description = "the OpenAPI 3.1 document", body = Object))
)]
pub async fn document() -> axum::Json<Value> {
    axum::Json(document_json())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// Every operation of the document: (path, method, the operation).
    fn operations(document: &Value) -> Vec<(String, String, Value)> {
        let paths = document["paths"].as_object().expect("paths");
        paths
            .iter()
            .flat_map(|(path, item)| {
                let item = item.as_object().expect("path item");
                item.iter()
                    .map(move |(method, op)| (path.clone(), method.clone(), op.clone()))
            })
            .collect()
    }

    #[test]
    fn every_route_taking_an_id_is_reached_by_a_link_or_says_why_not() {
        let document = document_json();
        let operations = operations(&document);
        let ids: Vec<&str> = operations
            .iter()
            .filter_map(|(_, _, op)| op["operationId"].as_str())
            .collect();
        let unique: BTreeSet<&str> = ids.iter().copied().collect();
        assert_eq!(unique.len(), ids.len(), "operation ids are unique: {ids:?}");
        let linked: BTreeSet<&str> = operations
            .iter()
            .flat_map(|(_, _, op)| op["responses"].as_object().into_iter().flatten())
            .flat_map(|(_, response)| response["links"].as_object().into_iter().flatten())
            .filter_map(|(_, link)| link["operationId"].as_str())
            .collect();
        for target in &linked {
            assert!(unique.contains(target), "a link to no operation: {target}");
        }
        let standalone: BTreeSet<&str> = STANDALONE.iter().map(|(id, _)| *id).collect();
        for (path, _) in crate::api::routes() {
            if !path.contains('{') {
                continue;
            }
            for (_, method, op) in operations.iter().filter(|(p, _, _)| p == path) {
                let id = op["operationId"].as_str().expect("operation id");
                assert!(
                    linked.contains(id) || standalone.contains(id),
                    "{method} {path} ({id}) takes an id no link leads to"
                );
            }
        }
    }

    #[test]
    fn parameters_are_where_the_routes_take_them() {
        for (path, method, op) in operations(&document_json()) {
            let parameters = op["parameters"].as_array().cloned().unwrap_or_default();
            let in_path: BTreeSet<String> = parameters
                .iter()
                .filter(|p| p["in"] == "path")
                .filter_map(|p| p["name"].as_str().map(str::to_owned))
                .collect();
            let templated: BTreeSet<String> = path
                .split('/')
                .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
                .map(str::to_owned)
                .collect();
            assert_eq!(in_path, templated, "{method} {path}: path parameters");
        }
        let series = &document_json()["paths"]["/v1/runs/{id}/series"]["get"]["parameters"];
        let since = series
            .as_array()
            .and_then(|p| p.iter().find(|p| p["name"] == "since"));
        assert_eq!(since.map(|p| &p["in"]), Some(&json!("query")), "{series}");
    }

    #[test]
    fn ids_link_to_what_takes_them_run_requests_and_agent_parts_included() {
        let document = document_json();
        let upload = &document["paths"]["/v1/scenarios"]["post"]["responses"]["201"]["links"];
        assert_eq!(
            upload["createRun"]["requestBody"]["scenario"], "$response.body#/id",
            "{upload}"
        );
        let poll = &document["paths"]["/v1/agents/poll"]["post"]["responses"]["200"]["links"];
        assert_eq!(
            poll["readyPart"]["parameters"]["part"],
            "$response.body#/part"
        );
        assert_eq!(poll["endPart"]["requestBody"]["agent"], "$request.body#/id");
        assert_eq!(
            poll["getAgentScenario"]["parameters"]["id"],
            "$response.body#/scenario"
        );
    }

    #[test]
    fn report_files_are_listed() {
        let document = document_json();
        let parameters = &document["paths"]["/v1/runs/{id}/report/{file}"]["get"]["parameters"];
        let file = parameters
            .as_array()
            .and_then(|p| p.iter().find(|p| p["name"] == "file"));
        let names = file.map(|p| p["schema"]["enum"].clone());
        assert_eq!(
            names,
            Some(json!(crate::api::lifecycle::REPORT_FILES)),
            "{parameters}"
        );
    }

    #[test]
    fn a_live_stream_is_described_event_by_event() {
        let document = document_json();
        let stream = &document["paths"]["/v1/runs/{id}/stream"]["get"]["responses"]["200"]["content"]
            ["text/event-stream"]["schema"];
        assert_eq!(stream["required"], json!(["event", "data"]), "{stream}");
        assert_eq!(
            stream["properties"]["data"]["contentMediaType"],
            "application/json"
        );
    }

    #[test]
    fn uploads_json_refusals_and_metrics_are_documented() {
        let document = document_json();
        let upload = &document["paths"]["/v1/scenarios"]["post"]["requestBody"]["content"];
        for media in ["application/wasm", "application/octet-stream"] {
            assert_eq!(upload[media]["schema"]["format"], "binary", "{upload}");
            assert_eq!(upload[media]["schema"]["minLength"], 1, "{upload}");
        }
        let set_vus = &document["paths"]["/v1/runs/{id}/vus"]["post"]["responses"];
        for status in ["400", "415", "422"] {
            assert!(set_vus.get(status).is_some(), "{status}: {set_vus}");
        }
        let metrics = &document["paths"]["/metrics"]["get"];
        assert_eq!(metrics["security"], json!([{"admin": []}]));
        assert_eq!(
            document["components"]["securitySchemes"]["admin"]["scheme"],
            "bearer"
        );
    }
}
