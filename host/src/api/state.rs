//! The server's shared state: the engine, the store, the tenants, and the runs in progress.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::error::ApiError;
use super::fleet::Fleet;
use super::tenants::{Caller, ServerConfig, Tokens};
use crate::engine::Engine;
use crate::run::RunHandle;
use crate::store::Store;

/// A run in progress.
#[derive(Clone)]
pub struct LiveRun {
    /// Its tenant.
    pub tenant: String,
    /// Its scenario's id.
    pub scenario: String,
    /// The most VUs it uses (counted against the tenant's quota).
    pub vus: u32,
    /// Instance slots it holds in the engine's pool.
    pub instances: u32,
    /// The run.
    pub handle: RunHandle,
}

/// Everything handlers share.
pub struct AppState {
    /// The one engine; its pool is shared by every run.
    pub engine: Engine,
    /// Persistence.
    pub store: Store,
    /// Tenants, quotas, caps.
    pub config: ServerConfig,
    /// Bearer tokens to callers.
    pub tokens: Tokens,
    /// The runtime runs execute on, apart from the one serving the API.
    pub load: tokio::runtime::Handle,
    /// The agents, and the distributed runs they run the parts of.
    pub fleet: Arc<Fleet>,
    live: Mutex<HashMap<String, LiveRun>>,
    draining: AtomicBool,
    /// Held while an upload checks the stored-bytes quota and saves: two uploads never both
    /// take the last room.
    pub saving: tokio::sync::Mutex<()>,
}

impl AppState {
    /// State over `engine` and `store`, running load on `load`.
    pub fn new(
        engine: Engine,
        store: Store,
        config: ServerConfig,
        load: tokio::runtime::Handle,
    ) -> Self {
        let tokens = Tokens::of(&config);
        Self {
            engine,
            store,
            config,
            tokens,
            load,
            fleet: Arc::default(),
            live: Mutex::new(HashMap::new()),
            draining: AtomicBool::new(false),
            saving: tokio::sync::Mutex::new(()),
        }
    }

    /// The runs in progress, by id.
    pub fn live(&self) -> MutexGuard<'_, HashMap<String, LiveRun>> {
        crate::sync::lock(&self.live)
    }

    /// The live run `id`, if the caller may see it.
    pub fn live_run(&self, caller: &Caller, id: &str) -> Option<LiveRun> {
        let live = self.live();
        let run = live.get(id)?;
        match caller.scope() {
            Some(tenant) if tenant != run.tenant => None,
            _ => Some(run.clone()),
        }
    }

    /// From now on, no run starts (the server is shutting down).
    pub fn drain(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    /// Whether the server is shutting down.
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }
}

impl FromRequestParts<Arc<AppState>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer(parts)?;
        state
            .tokens
            .caller(token)
            .cloned()
            .ok_or_else(ApiError::unauthorized)
    }
}

/// The bearer token of a request, or the 401 to answer.
pub(super) fn bearer(parts: &Parts) -> Result<&str, ApiError> {
    parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer_token)
        .map(str::trim)
        .ok_or_else(ApiError::unauthorized)
}

/// The token of an `Authorization` value of the Bearer scheme (the scheme's name is
/// case-insensitive, RFC 9110 11.1).
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim_start().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then_some(token)
}

#[cfg(test)]
mod tests {
    use super::bearer_token;

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer abc"), Some("abc"));
        assert_eq!(bearer_token("BEARER abc"), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearerabc"), None);
    }
}
