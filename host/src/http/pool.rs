//! Connection policies: whose kept-alive connections a request may use.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use serde::{Deserialize, Serialize};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::connection::{Connections, Origin};
use super::error::{ErrorKind, HttpError};
use crate::sync::lock;

/// How a run's VUs use connections.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConnectionPolicy {
    /// Each VU keeps its own connections across iterations, as a user's browser does.
    #[default]
    PerVu,
    /// One pool for the run: a request takes any idle connection to its origin (with a cap
    /// per host when one is set), as a service calling another does.
    Shared,
    /// A new connection, and so a new handshake, for every request (`Connection: close` is
    /// sent, so the server closes first and keeps the TIME_WAIT).
    None,
}

impl ConnectionPolicy {
    /// The policy's name in plans (`per-vu`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PerVu => "per-vu",
            Self::Shared => "shared",
            Self::None => "none",
        }
    }

    /// Whether this is the default (`per-vu`).
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }
}

impl fmt::Display for ConnectionPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ConnectionPolicy {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "per-vu" => Ok(Self::PerVu),
            "shared" => Ok(Self::Shared),
            "none" => Ok(Self::None),
            _ => Err(format!(
                "connection policy {text:?}: use per-vu, shared or none"
            )),
        }
    }
}

/// The run's pool under the `shared` policy: idle connections of every VU, and at most
/// `cap` connections in use per host.
pub(crate) struct SharedPool {
    idle: Mutex<Connections>,
    cap: usize,
    slots: Mutex<HashMap<Arc<str>, Arc<Semaphore>>>,
}

impl fmt::Debug for SharedPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedPool")
            .field("cap", &self.cap)
            .finish_non_exhaustive()
    }
}

impl SharedPool {
    /// A pool with at most `cap` connections in use per host (0: no cap).
    pub(crate) fn new(cap: u32) -> Self {
        Self {
            idle: Mutex::default(),
            cap: cap as usize,
            slots: Mutex::default(),
        }
    }

    /// The idle connections (locked briefly: take one or put one back).
    pub(crate) fn idle(&self) -> MutexGuard<'_, Connections> {
        lock(&self.idle)
    }

    /// Waits for one of `origin`'s host's slots when there is a cap; the slot is held until
    /// the permit is dropped, at the end of the exchange.
    pub(crate) async fn slot(
        &self,
        origin: &Origin,
    ) -> Result<Option<OwnedSemaphorePermit>, HttpError> {
        if self.cap == 0 {
            return Ok(None);
        }
        let slots = lock(&self.slots)
            .entry(origin.host.clone())
            .or_insert_with(|| Arc::new(Semaphore::new(self.cap)))
            .clone();
        let permit = slots
            .acquire_owned()
            .await
            .map_err(|_| HttpError::new(ErrorKind::Other, "the connection pool was closed"))?;
        Ok(Some(permit))
    }
}
