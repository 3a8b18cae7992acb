//! `/v1/agents`: what agents (`host agent`) call, with an agent token: poll for a part of a
//! distributed run, fetch its scenario, say it is ready (and learn when to start), hand in
//! each interval, say it ended. See [`super::fleet`] for what the coordinator does.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::error::{ApiError, ErrorBody};
use super::fleet::{Assignment, Distributed, PartError, StartAnswer};
use super::state::{AppState, bearer};
use crate::run::RunStatus;
use crate::stats::IntervalDelta;

/// A request made with an agent token.
pub struct AgentCaller;

impl FromRequestParts<Arc<AppState>> for AgentCaller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        if state.tokens.is_agent(bearer(parts)?) {
            Ok(Self)
        } else {
            Err(ApiError::unauthorized())
        }
    }
}

/// Who polls.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentHello {
    /// The agent's id, chosen by the agent when it starts (random).
    #[schema(
        min_length = 1,
        max_length = 128,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]+$"
    )]
    pub id: String,
    /// Its name, for people: the host name, a pod's name.
    #[schema(
        min_length = 1,
        max_length = 128,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]+$"
    )]
    pub name: String,
    /// Its Loadwright version: it must be the coordinator's.
    pub version: String,
}

/// Which agent calls about a part.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentRef {
    /// The agent's id.
    pub agent: String,
}

/// One interval of a part.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PartInterval {
    /// The agent's id.
    pub agent: String,
    /// Everything the part recorded in the interval (counters, and histograms in
    /// HdrHistogram's V2 encoding): a result file's `interval` record.
    #[schema(value_type = Object)]
    pub delta: IntervalDelta,
}

/// What the part does next.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Directive {
    /// Stop now (gracefully): the run was stopped or aborted.
    pub stop: bool,
}

/// How a part ended.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PartEnd {
    /// The agent's id.
    pub agent: String,
    /// The part's final status.
    #[schema(value_type = Object)]
    pub status: RunStatus,
    /// VUs retired because they could not start.
    #[serde(deserialize_with = "super::integral::exact")]
    pub vus_retired: u32,
}

const MAX_NAME: usize = 128;

fn check(hello: &AgentHello) -> Result<(), ApiError> {
    let version = env!("CARGO_PKG_VERSION");
    if hello.version != version {
        return Err(ApiError::conflict(format!(
            "the agent is Loadwright {}, the coordinator {version}: run the same version on both",
            hello.version
        )));
    }
    for (what, value) in [("id", &hello.id), ("name", &hello.name)] {
        if value.is_empty()
            || value.chars().count() > MAX_NAME
            || value.chars().any(char::is_control)
        {
            return Err(ApiError::invalid(format!(
                "the agent's {what} must be 1 to {MAX_NAME} printable characters"
            )));
        }
    }
    Ok(())
}

/// Registers the agent (or notes it is alive) and waits a while for a part of a run: 200
/// with the part, or 204 when none came (poll again).
#[utoipa::path(
    post, operation_id = "pollForPart", path = "/v1/agents/poll", tag = "agents",
    request_body = AgentHello,
    responses(
        (status = 200, description = "a part to run", body = Assignment),
        (status = 204, description = "no work yet: poll again"),
        (status = 400, description = "malformed JSON", body = ErrorBody),
        (status = 401, description = "no agent token", body = ErrorBody),
        (status = 409, description = "another Loadwright version than the coordinator's", body = ErrorBody),
        (status = 422, description = "an unusable id or name", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn poll(
    State(state): State<Arc<AppState>>,
    _agent: AgentCaller,
    body: Result<Json<AgentHello>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(hello) = body.map_err(|err| ApiError::of_status(err.status(), err.body_text()))?;
    check(&hello)?;
    Ok(match state.fleet.poll(&hello.id, &hello.name).await {
        Some(assignment) => Json(assignment).into_response(),
        None => StatusCode::NO_CONTENT.into_response(),
    })
}

/// The component of a scenario a distributed run in progress runs.
#[utoipa::path(
    get, operation_id = "getAgentScenario", path = "/v1/agents/scenarios/{id}", tag = "agents",
    params(("id" = String, Path, description = "the scenario's hash")),
    responses(
        (status = 200, description = "the component", content_type = "application/wasm", body = Vec<u8>),
        (status = 401, description = "no agent token", body = ErrorBody),
        (status = 404, description = "no distributed run in progress runs it", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn scenario(
    State(state): State<Arc<AppState>>,
    _agent: AgentCaller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    if !state.fleet.runs_scenario(&id) {
        return Err(ApiError::not_found("scenario", &id));
    }
    let bytes = state.store.component(&id)?;
    Ok((
        [(header::CONTENT_TYPE, "application/wasm")],
        Bytes::from(bytes),
    )
        .into_response())
}

/// The distributed run `id`, or 404.
fn distributed(state: &AppState, id: &str) -> Result<Arc<Distributed>, ApiError> {
    state
        .fleet
        .run(id)
        .ok_or_else(|| ApiError::not_found("distributed run in progress", id))
}

fn part_error(run: &str, part: u32) -> impl Fn(PartError) -> ApiError {
    let run = run.to_owned();
    move |err| match err {
        PartError::NotYours => ApiError::conflict(format!(
            "part {part} of run {run} is not held by this agent"
        )),
    }
}

/// The agent's part is ready to start; answers when to start (or to ask again, or that
/// the run will not start).
#[utoipa::path(
    post, operation_id = "readyPart", path = "/v1/agents/runs/{id}/parts/{part}/ready", tag = "agents",
    params(
        ("id" = String, Path, description = "the run"),
        ("part" = u32, Path, description = "the part's index"),
    ),
    request_body = AgentRef,
    responses(
        (status = 200, body = StartAnswer),
        (status = 400, description = "malformed JSON", body = ErrorBody),
        (status = 401, description = "no agent token", body = ErrorBody),
        (status = 404, description = "no such run in progress", body = ErrorBody),
        (status = 409, description = "the part is another agent's", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn ready(
    State(state): State<Arc<AppState>>,
    _agent: AgentCaller,
    Path((id, part)): Path<(String, u32)>,
    body: Result<Json<AgentRef>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<StartAnswer>, ApiError> {
    let Json(body) = body.map_err(|err| ApiError::of_status(err.status(), err.body_text()))?;
    let run = distributed(&state, &id)?;
    let answer = run.ready(part, &body.agent).await;
    answer.map(Json).map_err(part_error(&id, part))
}

/// One interval of the agent's part, merged into the run's figures; answers whether to
/// stop.
#[utoipa::path(
    post, operation_id = "handInPartInterval", path = "/v1/agents/runs/{id}/parts/{part}/intervals", tag = "agents",
    params(
        ("id" = String, Path, description = "the run"),
        ("part" = u32, Path, description = "the part's index"),
    ),
    request_body = PartInterval,
    responses(
        (status = 200, body = Directive),
        (status = 400, description = "malformed JSON", body = ErrorBody),
        (status = 401, description = "no agent token", body = ErrorBody),
        (status = 404, description = "no such run in progress", body = ErrorBody),
        (status = 409, description = "the part is another agent's", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn interval(
    State(state): State<Arc<AppState>>,
    _agent: AgentCaller,
    Path((id, part)): Path<(String, u32)>,
    body: Result<Json<PartInterval>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Directive>, ApiError> {
    let Json(body) = body.map_err(|err| ApiError::of_status(err.status(), err.body_text()))?;
    let run = distributed(&state, &id)?;
    let stop = run
        .interval(part, &body.agent, &body.delta)
        .map_err(part_error(&id, part))?;
    Ok(Json(Directive { stop }))
}

/// The agent's part ended.
#[utoipa::path(
    post, operation_id = "endPart", path = "/v1/agents/runs/{id}/parts/{part}/end", tag = "agents",
    params(
        ("id" = String, Path, description = "the run"),
        ("part" = u32, Path, description = "the part's index"),
    ),
    request_body = PartEnd,
    responses(
        (status = 204, description = "noted"),
        (status = 400, description = "malformed JSON", body = ErrorBody),
        (status = 401, description = "no agent token", body = ErrorBody),
        (status = 404, description = "no such run in progress", body = ErrorBody),
        (status = 409, description = "the part is another agent's", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn end(
    State(state): State<Arc<AppState>>,
    _agent: AgentCaller,
    Path((id, part)): Path<(String, u32)>,
    body: Result<Json<PartEnd>, axum::extract::rejection::JsonRejection>,
) -> Result<StatusCode, ApiError> {
    let Json(body) = body.map_err(|err| ApiError::of_status(err.status(), err.body_text()))?;
    let run = distributed(&state, &id)?;
    run.end(part, &body.agent, body.vus_retired, &body.status)
        .map_err(part_error(&id, part))?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_states_the_limits_an_agent_hello_is_held_to() {
        let document = crate::api::openapi::document_json();
        let hello = &document["components"]["schemas"]["AgentHello"]["properties"];
        for field in ["id", "name"] {
            assert_eq!(hello[field]["minLength"], 1, "{hello}");
            assert_eq!(hello[field]["maxLength"], MAX_NAME, "{hello}");
        }
        let long = "é".repeat(MAX_NAME);
        let hello = |id: &str| AgentHello {
            id: id.to_owned(),
            name: "agent".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        };
        assert!(
            check(&hello(&long)).is_ok(),
            "{MAX_NAME} characters are allowed"
        );
        assert!(check(&hello(&format!("{long}é"))).is_err());
        assert!(
            check(&hello("a\u{7}b")).is_err(),
            "control characters are refused"
        );
    }
}
