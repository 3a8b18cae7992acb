//! `/v1/scenarios`: upload (validated and compiled), list, fetch, delete.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{StatusCode, header};
use serde::Serialize;

use super::error::{ApiError, ErrorBody};
use super::state::AppState;
use super::tenants::Caller;
use crate::engine::LoadError;
use crate::store::ScenarioRecord;

/// A scenario as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ScenarioView {
    /// The component's SHA-256 (hex): the same bytes are the same scenario.
    pub id: String,
    /// The tenant it belongs to.
    pub tenant: String,
    /// Bytes of the component.
    pub size: u64,
    /// When it was first uploaded, seconds since the Unix epoch.
    pub created_at: f64,
    /// Its declared tasks (`name`, `weight`).
    #[schema(value_type = Vec<Object>)]
    pub tasks: serde_json::Value,
    /// Its default plan (from its options), a plan document; null for none.
    #[schema(value_type = Object, nullable)]
    pub options: serde_json::Value,
    /// Every import of the component.
    #[schema(value_type = Vec<String>)]
    pub imports: serde_json::Value,
}

impl From<ScenarioRecord> for ScenarioView {
    fn from(record: ScenarioRecord) -> Self {
        let field = |name: &str| record.info.get(name).cloned().unwrap_or_default();
        let options = match record.info.get("plan").and_then(|p| p.as_str()) {
            Some(plan) if !plan.is_empty() => serde_json::from_str(plan).unwrap_or_default(),
            _ => serde_json::Value::Null,
        };
        Self {
            tasks: field("tasks"),
            imports: field("imports"),
            options,
            id: record.id,
            tenant: record.tenant,
            size: record.size,
            created_at: record.created_at,
        }
    }
}

/// The tenant a write acts for: the admin reads everyone's but writes as no one.
pub(super) fn writer(caller: &Caller) -> Result<&super::tenants::Tenant, ApiError> {
    match caller {
        Caller::Tenant(tenant) => Ok(tenant),
        Caller::Admin => Err(ApiError::forbidden(
            "the admin token reads every tenant's data and changes none; upload, start and \
             control runs with the tenant's token",
        )),
    }
}

/// The component in a request: its raw body, or the first file of a multipart form.
async fn component_bytes(state: &Arc<AppState>, request: Request) -> Result<Bytes, ApiError> {
    let multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    let too_large = |err: &dyn std::fmt::Display| {
        ApiError::too_large(format!("the upload is too large for the server: {err}"))
    };
    if !multipart {
        return Bytes::from_request(request, state)
            .await
            .map_err(|err| too_large(&err));
    }
    let mut form = Multipart::from_request(request, state)
        .await
        .map_err(|err| ApiError::bad_request(format!("not a multipart form: {err}")))?;
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|err| ApiError::bad_request(format!("a malformed multipart form: {err}")))?
    {
        if field.file_name().is_some() || field.name() == Some("component") {
            return field.bytes().await.map_err(|err| too_large(&err));
        }
    }
    Err(ApiError::bad_request(
        "the form has no file: send the component as a file field named `component`",
    ))
}

pub(super) fn load_error(err: &LoadError) -> ApiError {
    match err {
        LoadError::TooLarge { .. } => ApiError::too_large(err.to_string()),
        _ => ApiError::invalid(err.to_string()),
    }
}

/// Uploads a compiled component (the raw body, or a multipart form's file field). It is
/// validated and compiled; the same bytes give the same scenario.
#[utoipa::path(
    post, operation_id = "uploadScenario", path = "/v1/scenarios", tag = "scenarios",
    request_body(content = Vec<u8>, content_type = "application/wasm",
        description = "the component (a multipart/form-data file field works too)"),
    responses(
        (status = 201, description = "uploaded", body = ScenarioView),
        (status = 200, description = "already uploaded: the same scenario", body = ScenarioView),
        (status = 400, description = "not WebAssembly, or a malformed form", body = ErrorBody),
        (status = 401, description = "no valid token", body = ErrorBody),
        (status = 403, description = "the tenant's stored-bytes quota is used up", body = ErrorBody),
        (status = 413, description = "over the tenant's upload size", body = ErrorBody),
        (status = 422, description = "not a scenario this host can run (a core module, another world, forbidden imports)", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn upload(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    request: Request,
) -> Result<(StatusCode, Json<ScenarioView>), ApiError> {
    let tenant = writer(&caller)?;
    let bytes = component_bytes(&state, request).await?;
    let quotas = &tenant.quotas;
    if bytes.len() as u64 > quotas.upload_bytes {
        return Err(ApiError::too_large(format!(
            "the component has {} bytes; tenant {:?} may upload at most {}",
            bytes.len(),
            tenant.name,
            quotas.upload_bytes
        )));
    }
    if bytes.is_empty() {
        return Err(ApiError::bad_request(
            "the body is empty: send the component's bytes (Content-Type: application/wasm)",
        ));
    }
    let scenario = state
        .engine
        .load(&bytes)
        .await
        .map_err(|e| load_error(&e))?;
    let info = scenario.info();
    // From the quota check to the save, one upload at a time.
    let _saving = state.saving.lock().await;
    if state
        .store
        .scenario(Some(&tenant.name), &info.hash)?
        .is_none()
    {
        let stored = state.store.stored_bytes(&tenant.name)?;
        if stored + bytes.len() as u64 > quotas.stored_bytes {
            return Err(ApiError::forbidden(format!(
                "tenant {:?} stores {stored} bytes of components; {} more would pass its quota \
                 of {}: delete scenarios it no longer needs",
                tenant.name,
                bytes.len(),
                quotas.stored_bytes
            )));
        }
    }
    let info_json = serde_json::to_value(info).map_err(anyhow::Error::from)?;
    let (record, created) =
        state
            .store
            .save_scenario(&tenant.name, &info.hash, &info_json, &bytes)?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(record.into())))
}

/// The caller's scenarios (every tenant's for the admin), newest first.
#[utoipa::path(
    get, operation_id = "listScenarios", path = "/v1/scenarios", tag = "scenarios",
    responses(
        (status = 200, body = Vec<ScenarioView>),
        (status = 401, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn list(
    State(state): State<Arc<AppState>>,
    caller: Caller,
) -> Result<Json<Vec<ScenarioView>>, ApiError> {
    let records = state.store.scenarios(caller.scope())?;
    Ok(Json(records.into_iter().map(Into::into).collect()))
}

/// One scenario's metadata: tasks, options, imports, size, hash.
#[utoipa::path(
    get, operation_id = "getScenario", path = "/v1/scenarios/{id}", tag = "scenarios",
    params(("id" = String, Path, description = "the scenario's hash")),
    responses(
        (status = 200, body = ScenarioView),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn get(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ScenarioView>, ApiError> {
    state
        .store
        .scenario(caller.scope(), &id)?
        .map(|r| Json(r.into()))
        .ok_or_else(|| ApiError::not_found("scenario", &id))
}

/// Deletes a scenario; refused while one of the tenant's runs uses it.
#[utoipa::path(
    delete, operation_id = "deleteScenario", path = "/v1/scenarios/{id}", tag = "scenarios",
    params(("id" = String, Path, description = "the scenario's hash")),
    responses(
        (status = 204, description = "deleted"),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "a run in progress uses it", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn delete(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let tenant = writer(&caller)?;
    let in_use = state
        .live()
        .iter()
        .find(|(_, run)| run.tenant == tenant.name && run.scenario == id)
        .map(|(run_id, _)| run_id.clone());
    if let Some(run) = in_use {
        return Err(ApiError::conflict(format!(
            "run {run:?} uses this scenario; stop it (POST /v1/runs/{run}/stop) or wait for it to end"
        )));
    }
    if state.store.delete_scenario(&tenant.name, &id)? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("scenario", &id))
    }
}
