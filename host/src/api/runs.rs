//! `/v1/runs`: create (within the tenant's quotas and caps), list, get, stop, and live
//! control (VUs, pause, resume).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::error::{ApiError, ErrorBody};
use super::exports;
use super::fleet::{self, AgentLoss};
use super::integral;
use super::lifecycle;
use super::scenarios::{load_error, writer};
use super::state::{AppState, LiveRun};
use super::tenants::{Caller, Tenant};
use crate::config::{Fraction, Overrides, Plan, PlanDocument, Segment, Sequence, parse_duration};
use crate::http::{Egress, EgressPolicy};
use crate::run::{ControlError, Placement, Run, RunHandle, RunOptions, StartError};
use crate::store::{RunRecord, RunState, now};

/// What to run.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRun {
    /// The scenario's id (its hash).
    pub scenario: String,
    /// A plan document (`docs/plan.md`: scenarios and executors, thresholds, `limits`,
    /// `egress`, ...) laid over the scenario's own options.
    #[schema(value_type = Object)]
    #[serde(default)]
    pub plan: Option<serde_json::Value>,
    /// VUs (as `host run --vus`).
    #[serde(default, deserialize_with = "integral::option")]
    pub vus: Option<u32>,
    /// Duration, `30s`, `5m` (as `--duration`).
    #[serde(default)]
    pub duration: Option<String>,
    /// Iterations shared by the VUs (as `--iterations`).
    #[serde(default, deserialize_with = "integral::option")]
    pub iterations: Option<u64>,
    /// Base URL relative request URLs resolve against.
    #[serde(default)]
    pub base_url: Option<String>,
    /// Parameters the scenario reads with `vu.parameter`.
    #[serde(default)]
    pub params: BTreeMap<String, String>,
    /// Run the plan on this many agents (`host agent`), each an equal execution segment of
    /// it, merged here as one run (`docs/distributed.md`).
    #[serde(default, deserialize_with = "integral::option")]
    #[schema(minimum = 1, maximum = 1000)]
    pub agents: Option<u32>,
    /// The agents' segments as a sequence from 0 to 1 (`0,1/4,1`: one agent runs a
    /// quarter, another the rest); with `agents`, as many segments as agents.
    #[serde(default)]
    pub segments: Option<String>,
    /// What a distributed run does when an agent stops reporting: `abort` (default) or
    /// `continue`.
    #[serde(default)]
    pub agent_loss: Option<AgentLoss>,
    /// How long a distributed run waits for enough idle agents before it fails (`2m`).
    #[serde(default)]
    pub agent_wait: Option<String>,
    /// Where the run's figures are pushed at every interval: `otlp=URL` (an OpenTelemetry
    /// collector) or `prometheus-rw=URL` (a Prometheus remote-write receiver), as
    /// `host run --out`; only kinds the tenant's configuration lists, to URLs its egress
    /// policy allows (`docs/outputs.md`).
    #[serde(default)]
    #[schema(max_items = 4)]
    pub outputs: Vec<String>,
}

/// Most agents one run may use.
const MAX_AGENTS: u32 = 1000;
/// How long a distributed run waits for its agents unless the request says otherwise.
const AGENT_WAIT: Duration = Duration::from_secs(120);

/// How a run is split among agents.
struct Distribution {
    segments: Vec<Segment>,
    sequence: String,
    loss: AgentLoss,
    wait: Duration,
}

impl Distribution {
    /// The distribution `body` asks for, checked against `plan`; `None` for a run here.
    fn of(body: &CreateRun, plan: &Plan) -> Result<Option<Self>, ApiError> {
        let invalid = |message: String| Err(ApiError::invalid(message));
        let segments = match (&body.segments, body.agents) {
            (None, None) => {
                if body.agent_loss.is_some() || body.agent_wait.is_some() {
                    return invalid(
                        "agent_loss and agent_wait are for distributed runs: add agents".into(),
                    );
                }
                return Ok(None);
            }
            (Some(text), agents) => {
                let sequence: Sequence = text
                    .parse()
                    .map_err(|e| ApiError::invalid(format!("segments: {e}")))?;
                let segments = sequence.segments().to_vec();
                let (first, last) = (segments[0].from(), segments[segments.len() - 1].to());
                if first != Fraction::from_integer(0) || last != Fraction::from_integer(1) {
                    return invalid(format!(
                        "segments {text:?} must run from 0 to 1: together the agents run the \
                         whole plan"
                    ));
                }
                if agents.is_some_and(|n| n as usize != segments.len()) {
                    return invalid(format!(
                        "segments {text:?} has {} segments for {} agents",
                        segments.len(),
                        agents.unwrap_or_default()
                    ));
                }
                segments
            }
            (None, Some(agents)) => {
                if !(1..=MAX_AGENTS).contains(&agents) {
                    return invalid(format!("agents must be 1 to {MAX_AGENTS}, not {agents}"));
                }
                Segment::FULL
                    .split(i128::from(agents))
                    .map_err(|e| ApiError::invalid(format!("agents: {e}")))?
            }
        };
        if segments.len() > MAX_AGENTS as usize {
            return invalid(format!("at most {MAX_AGENTS} agents run one plan"));
        }
        if plan.segment().is_some() {
            return invalid(
                "the plan has an executionSegment: a distributed run gives each agent its \
                 segment itself; remove executionSegment and executionSegmentSequence"
                    .into(),
            );
        }
        let sequence = std::iter::once(segments[0].from().to_string())
            .chain(segments.iter().map(|s| s.to().to_string()))
            .collect::<Vec<_>>()
            .join(",");
        for (index, segment) in segments.iter().enumerate() {
            let part = PlanDocument {
                execution_segment: Some(segment.to_string()),
                execution_segment_sequence: Some(sequence.clone()),
                ..plan.to_document()
            };
            if let Err(err) = part.resolve(Overrides::default()) {
                return invalid(format!(
                    "with {} agents, part {} ({segment}) cannot run: {err}; use fewer agents",
                    segments.len(),
                    index + 1
                ));
            }
        }
        let wait = match &body.agent_wait {
            Some(text) => {
                parse_duration(text).map_err(|e| ApiError::invalid(format!("agent_wait: {e}")))?
            }
            None => AGENT_WAIT,
        };
        Ok(Some(Self {
            segments,
            sequence,
            loss: body.agent_loss.unwrap_or_default(),
            wait,
        }))
    }
}

/// A run as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RunView {
    /// Its id.
    pub id: String,
    /// Its tenant.
    pub tenant: String,
    /// Its scenario's id.
    pub scenario: String,
    /// Where it is.
    pub state: RunState,
    /// Why it was aborted or interrupted, or the threshold that stopped it.
    pub reason: Option<String>,
    /// The resolved plan (a plan document).
    #[schema(value_type = Object)]
    pub plan: serde_json::Value,
    /// The most VUs its plan uses.
    pub vus_max: u32,
    /// Active VUs now (0 once it is over).
    pub vus: u32,
    /// When it was created, seconds since the Unix epoch.
    pub created_at: f64,
    /// When it ended.
    pub ended_at: Option<f64>,
    /// The JSON summary once it is over (`docs/summary.schema.json`); only on `GET
    /// /v1/runs/{id}`.
    #[schema(value_type = Option<Object>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<serde_json::Value>,
}

impl RunView {
    /// The view of `record`, with the live state of the run when it is in progress.
    pub fn of(record: RunRecord, live: Option<&LiveRun>, with_summary: bool) -> Self {
        let (state, reason, vus) = match live {
            Some(run) => {
                let (state, reason) = RunState::of(&run.handle.status());
                (state, reason, run.handle.vus())
            }
            None => (record.state, record.reason, 0),
        };
        Self {
            id: record.id,
            tenant: record.tenant,
            scenario: record.scenario,
            state,
            reason,
            plan: record.plan,
            vus_max: record.vus,
            vus,
            created_at: record.created_at,
            ended_at: record.ended_at,
            summary: if with_summary { record.summary } else { None },
        }
    }
}

fn new_run_id() -> String {
    format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..))
}

/// The plan of a run: the scenario's defaults under the request's plan and shorthand (the
/// authority, `PlanDocument::under`), its limits within the tenant's caps, `tls.insecure`
/// only where the tenant may; and the scenario's own egress policy, to stack on the run.
fn resolve_plan(
    defaults: &str,
    body: &CreateRun,
    tenant: &Tenant,
) -> Result<(Plan, EgressPolicy), ApiError> {
    let invalid = |err: &dyn std::fmt::Display| ApiError::invalid(format!("invalid plan: {err}"));
    let component = PlanDocument::from_json(defaults).map_err(|e| invalid(&e))?;
    let operator = match &body.plan {
        Some(plan) => PlanDocument::from_json(&plan.to_string()).map_err(|e| invalid(&e))?,
        None => PlanDocument::default(),
    };
    let governed = component.under(operator);
    for ignored in &governed.ignored {
        tracing::info!(tenant = %tenant.name, "the scenario's {ignored} was not applied");
    }
    let overrides = Overrides {
        vus: body.vus,
        duration: body
            .duration
            .as_deref()
            .map(parse_duration)
            .transpose()
            .map_err(|e| invalid(&e))?,
        iterations: body.iterations,
        base_url: body
            .base_url
            .as_deref()
            .map(url::Url::parse)
            .transpose()
            .map_err(|e| invalid(&format!("base_url: {e}")))?,
        params: body.params.clone(),
        ..Overrides::default()
    };
    let mut plan = governed
        .document
        .resolve(overrides)
        .map_err(|e| invalid(&e))?;
    plan.limits = plan
        .limits
        .capped_by(&tenant.limits)
        .map_err(|e| ApiError::invalid(e.to_string()))?;
    if plan.tls.insecure && !tenant.allow_insecure_tls {
        return Err(ApiError::invalid(format!(
            "tls.insecure: tenant {:?} may not skip TLS certificate verification (the server's \
             configuration allows it per tenant: allow-insecure-tls); trust the target's CA \
             with tls.caCerts instead",
            tenant.name
        )));
    }
    Ok((plan, governed.component_egress.unwrap_or_default()))
}

/// Starts a run of one of the tenant's scenarios.
#[utoipa::path(
    post, operation_id = "createRun", path = "/v1/runs", tag = "runs",
    request_body = CreateRun,
    responses(
        (status = 201, description = "started", body = RunView),
        (status = 400, description = "malformed JSON", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "more VUs than the tenant may use in one run", body = ErrorBody),
        (status = 404, description = "no such scenario", body = ErrorBody),
        (status = 422, description = "an invalid plan, or limits past the tenant's caps", body = ErrorBody),
        (status = 429, description = "the tenant's concurrent runs or total VUs are in use", body = ErrorBody),
        (status = 503, description = "shutting down, or the server is at capacity", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn create(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    body: Result<Json<CreateRun>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<RunView>), ApiError> {
    let tenant = writer(&caller)?;
    let Json(body) = body.map_err(|err| ApiError::of_status(err.status(), err.body_text()))?;
    if state.is_draining() {
        return Err(ApiError::unavailable("the server is shutting down"));
    }
    if state
        .store
        .scenario(Some(&tenant.name), &body.scenario)?
        .is_none()
    {
        return Err(ApiError::not_found("scenario", &body.scenario));
    }
    let bytes = state.store.component(&body.scenario)?;
    let scenario = state
        .engine
        .load(&bytes)
        .await
        .map_err(|e| load_error(&e))?;
    let (plan, component_egress) = resolve_plan(&scenario.info().plan, &body, tenant)?;
    let vus = plan.max_vus();
    let quotas = &tenant.quotas;
    if vus > quotas.vus_per_run {
        return Err(ApiError::forbidden(format!(
            "the plan uses up to {vus} VUs; tenant {:?} may use at most {} in one run",
            tenant.name, quotas.vus_per_run
        )));
    }
    let distribution = Distribution::of(&body, &plan)?;
    let exports = exports::requested(&body.outputs, tenant)?;
    let placement = match distribution {
        Some(_) => Placement::Remote,
        None => Placement::Local,
    };
    let id = new_run_id();
    let needed = Run::instances_for(&plan, &placement);
    let record = RunRecord {
        id: id.clone(),
        tenant: tenant.name.clone(),
        scenario: body.scenario.clone(),
        state: RunState::Starting,
        reason: None,
        plan: serde_json::to_value(&plan).map_err(anyhow::Error::from)?,
        vus,
        created_at: now(),
        ended_at: None,
        summary: None,
    };
    let handle = {
        // Quotas are checked and the run registered under one lock: two requests cannot
        // both take the last slot.
        let mut live = state.live();
        let mine: Vec<&LiveRun> = live.values().filter(|r| r.tenant == tenant.name).collect();
        if mine.len() >= quotas.concurrent_runs as usize {
            return Err(ApiError::quota(format!(
                "tenant {:?} has {} runs in progress, its most at once; wait for one to end \
                 or stop one",
                tenant.name,
                mine.len()
            )));
        }
        let in_use: u32 = mine.iter().map(|r| r.vus).sum();
        if in_use + vus > quotas.vus_total {
            return Err(ApiError::quota(format!(
                "tenant {:?} has {in_use} VUs in its runs in progress; {vus} more would pass \
                 its total of {}",
                tenant.name, quotas.vus_total
            )));
        }
        let held: u32 = live.values().map(|r| r.instances).sum();
        if held + needed > state.engine.options().max_instances {
            return Err(ApiError::unavailable(format!(
                "the server is running {held} VUs' worth of instances of its {}; try again \
                 when a run ends",
                state.engine.options().max_instances
            )));
        }
        let egress = Egress::open()
            .and(tenant.egress.clone())
            .and(component_egress.clone());
        let options = RunOptions {
            egress,
            placement,
            ..RunOptions::default()
        };
        let handle = {
            let _runtime = state.load.enter();
            Run::start_with(&state.engine, scenario, plan, options).map_err(|err| match err {
                StartError::Capacity { .. } => ApiError::unavailable(err.to_string()),
                _ => ApiError::invalid(err.to_string()),
            })?
        };
        live.insert(
            id.clone(),
            LiveRun {
                tenant: tenant.name.clone(),
                scenario: body.scenario.clone(),
                vus,
                instances: needed,
                handle: handle.clone(),
            },
        );
        handle
    };
    if let Err(err) = state.store.insert_run(&record) {
        handle.stop();
        state.live().remove(&id);
        return Err(err.into());
    }
    if let Some(distribution) = distribution {
        state.fleet.start(fleet::Request {
            run: id.clone(),
            handle: handle.clone(),
            scenario: body.scenario.clone(),
            plan: record.plan.clone(),
            segments: distribution.segments,
            sequence: distribution.sequence,
            egress: vec![tenant.egress.clone(), component_egress],
            loss: distribution.loss,
            wait: distribution.wait,
        });
    }
    let exporters = match exports::start(&exports, &handle, &id, &body.scenario, tenant) {
        Ok(exporters) => exporters,
        Err(err) => {
            handle.abort(&format!("its outputs could not start: {err:#}"));
            None
        }
    };
    tokio::spawn(lifecycle::persist(
        state.clone(),
        id.clone(),
        handle,
        exporters,
    ));
    let live = state.live_run(&caller, &id);
    Ok((
        StatusCode::CREATED,
        Json(RunView::of(record, live.as_ref(), false)),
    ))
}

/// A filter on the run list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only runs in this state (`running`, `completed`, `interrupted`, ...).
    #[param(value_type = Option<crate::store::RunState>)]
    pub state: Option<String>,
}

/// The caller's runs (every tenant's for the admin), newest first.
#[utoipa::path(
    get, operation_id = "listRuns", path = "/v1/runs", tag = "runs",
    params(ListQuery),
    responses(
        (status = 200, body = Vec<RunView>),
        (status = 400, description = "an unknown state", body = ErrorBody),
        (status = 401, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn list(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Query(query): Query<ListQuery>,
) -> Result<Json<Vec<RunView>>, ApiError> {
    let filter = match query.state.as_deref() {
        None => None,
        Some(name) => Some(RunState::parse(name).ok_or_else(|| {
            ApiError::bad_request(format!(
                "no run state {name:?}: use starting, running, paused, stopping, completed, \
                 stopped, aborted, aborted-by-threshold or interrupted"
            ))
        })?),
    };
    let records = state.store.runs(caller.scope(), None)?;
    let views = records
        .into_iter()
        .map(|record| {
            let live = state.live_run(&caller, &record.id);
            RunView::of(record, live.as_ref(), false)
        })
        .filter(|view| filter.is_none_or(|f| view.state == f))
        .collect();
    Ok(Json(views))
}

/// The record of run `id` the caller may see, else 404.
pub(super) fn record_of(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<RunRecord, ApiError> {
    state
        .store
        .run(caller.scope(), id)?
        .ok_or_else(|| ApiError::not_found("run", id))
}

/// One run: state, plan, timestamps, and its summary once it is over.
#[utoipa::path(
    get, operation_id = "getRun", path = "/v1/runs/{id}", tag = "runs",
    params(("id" = String, Path)),
    responses((status = 200, body = RunView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn get(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<RunView>, ApiError> {
    let record = record_of(&state, &caller, &id)?;
    let live = state.live_run(&caller, &id);
    Ok(Json(RunView::of(record, live.as_ref(), true)))
}

/// Run `id`'s record and its live run, for its own tenant to control: 403 for the admin
/// (who reads every tenant's runs and controls none), 409 when it is not in progress. The
/// record's fields a view shows (plan, timestamps) do not change while the run is live.
fn live_or_conflict(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<(RunRecord, LiveRun), ApiError> {
    writer(caller)?;
    let record = record_of(state, caller, id)?;
    match state.live_run(caller, id) {
        Some(live) => Ok((record, live)),
        None => Err(ApiError::conflict(format!(
            "run {id:?} is {}, not in progress",
            record.state.as_str()
        ))),
    }
}

/// Stops a run gracefully: no new iteration starts; in-flight ones get the graceful stop.
#[utoipa::path(
    post, operation_id = "stopRun", path = "/v1/runs/{id}/stop", tag = "runs",
    params(("id" = String, Path)),
    responses(
        (status = 202, description = "stopping", body = RunView),
        (status = 401, body = ErrorBody), (status = 403, description = "the admin token controls no run", body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "the run is already over", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn stop(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<RunView>), ApiError> {
    let (record, live) = live_or_conflict(&state, &caller, &id)?;
    live.handle.stop();
    Ok((
        StatusCode::ACCEPTED,
        Json(RunView::of(record, Some(&live), false)),
    ))
}

/// A new VU count for a `constant-vus` scenario of a run in progress.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetVus {
    /// The VUs it should run (up to its `maxVUs`).
    #[serde(deserialize_with = "integral::exact")]
    pub vus: u32,
    /// Which scenario of the run; may be left out when the run has one.
    #[serde(default)]
    pub scenario: Option<String>,
}

/// The answer to a refused control call: 409 when the run is not running, 422 otherwise.
pub(crate) fn control_error(err: &ControlError) -> ApiError {
    match err {
        ControlError::NotRunning(_) | ControlError::Distributed => {
            ApiError::conflict(err.to_string())
        }
        _ => ApiError::invalid(err.to_string()),
    }
}

/// Sets the VUs of a scenario of a run in progress, as the local runner's `+`/`-` keys do.
#[utoipa::path(
    post, operation_id = "setRunVus", path = "/v1/runs/{id}/vus", tag = "runs",
    params(("id" = String, Path)),
    request_body = SetVus,
    responses(
        (status = 200, body = RunView),
        (status = 401, body = ErrorBody), (status = 403, description = "the admin token controls no run", body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "the run is not in progress", body = ErrorBody),
        (status = 422, description = "not adjustable, past maxVUs, or no such scenario", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn set_vus(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Json<SetVus>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<RunView>, ApiError> {
    let Json(body) = body.map_err(|err| ApiError::of_status(err.status(), err.body_text()))?;
    let (record, live) = live_or_conflict(&state, &caller, &id)?;
    apply_vus(&live.handle, &body)?;
    Ok(Json(RunView::of(record, Some(&live), false)))
}

/// Sets the VUs `body` asks of a run's scenario (its only one when `body` names none).
pub(crate) fn apply_vus(handle: &RunHandle, body: &SetVus) -> Result<(), ApiError> {
    let name = match (&body.scenario, handle.live_scenarios()) {
        (Some(name), _) => name.clone(),
        (None, [only]) => only.name.clone(),
        (None, _) => {
            return Err(ApiError::invalid(
                "the run has several scenarios: name one in `scenario`",
            ));
        }
    };
    handle
        .set_vus(&name, body.vus)
        .map_err(|e| control_error(&e))
}

/// Pauses a run: no iteration starts and its clock stands still until resumed.
#[utoipa::path(
    post, operation_id = "pauseRun", path = "/v1/runs/{id}/pause", tag = "runs",
    params(("id" = String, Path)),
    responses((status = 200, body = RunView), (status = 401, body = ErrorBody), (status = 403, description = "the admin token controls no run", body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn pause(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<RunView>, ApiError> {
    control(&state, &caller, &id, RunHandle::pause)
}

/// Resumes a paused run.
#[utoipa::path(
    post, operation_id = "resumeRun", path = "/v1/runs/{id}/resume", tag = "runs",
    params(("id" = String, Path)),
    responses((status = 200, body = RunView), (status = 401, body = ErrorBody), (status = 403, description = "the admin token controls no run", body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn resume(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<RunView>, ApiError> {
    control(&state, &caller, &id, RunHandle::resume)
}

/// Applies `action` to run `id` in progress and answers with the run.
fn control(
    state: &AppState,
    caller: &Caller,
    id: &str,
    action: fn(&RunHandle) -> Result<bool, ControlError>,
) -> Result<Json<RunView>, ApiError> {
    let (record, live) = live_or_conflict(state, caller, id)?;
    action(&live.handle).map_err(|e| control_error(&e))?;
    Ok(Json(RunView::of(record, Some(&live), false)))
}
