//! The agent's side of `/v1/agents`: each call to the coordinator, over the host's own
//! HTTP client, with the agent's token.

use std::time::Duration;

use anyhow::bail;
use bytes::Bytes;
use http::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::Mutex;
use url::Url;

use crate::api::agents::{AgentHello, AgentRef, Directive, PartEnd, PartInterval};
use crate::api::fleet::{Assignment, POLL_WAIT, StartAnswer};
use crate::http::{Client, ClientOptions, ConnectionPolicy, Request, Session, TlsSettings};
use crate::run::RunStatus;
use crate::stats::IntervalDelta;
use crate::timer::Timer;

/// Time a call other than a poll gets (a component of tens of megabytes included).
const CALL_TIMEOUT: Duration = Duration::from_secs(60);
/// The largest component the agent fetches.
const MAX_COMPONENT_BYTES: usize = 1 << 30;

/// What an answer from the coordinator means for the part.
#[derive(Debug)]
pub(super) enum CallError {
    /// The coordinator does not know the run (any more) or the part is not this agent's:
    /// the part must stop.
    Gone(String),
    /// The coordinator could not be reached or failed: worth trying again.
    Failed(anyhow::Error),
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Gone(message) => write!(f, "{message}"),
            Self::Failed(err) => write!(f, "{err:#}"),
        }
    }
}

/// The coordinator, as one agent talks to it.
pub(super) struct Coordinator {
    client: Client,
    base: Url,
    token: String,
    hello: AgentHello,
    connection: Mutex<(Session, Timer)>,
}

impl Coordinator {
    /// A coordinator at `base`, called with `token`, trusting `ca_certs` (PEM) besides the
    /// built-in roots for https.
    pub fn new(
        base: Url,
        token: String,
        hello: AgentHello,
        ca_certs: Vec<String>,
    ) -> anyhow::Result<Self> {
        let client = Client::new(ClientOptions {
            max_body_bytes: MAX_COMPONENT_BYTES,
            tls: TlsSettings {
                ca_certs,
                ..TlsSettings::default()
            },
            policy: ConnectionPolicy::PerVu,
            ..ClientOptions::default()
        })
        .map_err(anyhow::Error::msg)?;
        Ok(Self {
            client,
            base,
            token,
            hello,
            connection: Mutex::new((Session::new(), Timer::new())),
        })
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
        timeout: Duration,
    ) -> Result<(u16, Bytes), CallError> {
        let url = self
            .base
            .join(path)
            .map_err(|e| CallError::Failed(anyhow::anyhow!("{path}: {e}")))?;
        let mut headers = vec![("authorization".to_owned(), format!("Bearer {}", self.token))];
        if body.is_some() {
            headers.push(("content-type".to_owned(), "application/json".to_owned()));
        }
        let request = Request {
            method,
            url,
            headers,
            body: body.map(Bytes::from).unwrap_or_default(),
            timeout,
            expected: Default::default(),
            max_redirects: 0,
            discard_body: false,
            decompress: false,
        };
        let mut connection = self.connection.lock().await;
        let (session, timer) = &mut *connection;
        let response = self
            .client
            .send(session, timer, request)
            .await
            .map_err(|e| CallError::Failed(anyhow::anyhow!("{}: {e}", self.base)))?;
        match response.status {
            200..=299 => Ok((response.status, response.body)),
            404 | 409 => Err(CallError::Gone(error_message(&response.body))),
            401 => Err(CallError::Failed(anyhow::anyhow!(
                "the coordinator refused the agent token (401): give the token whose SHA-256 \
                 is in its agent-token-sha256"
            ))),
            status => Err(CallError::Failed(anyhow::anyhow!(
                "the coordinator answered {status}: {}",
                error_message(&response.body)
            ))),
        }
    }

    async fn post<B: Serialize, A: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
        timeout: Duration,
    ) -> Result<Option<A>, CallError> {
        let body = serde_json::to_vec(body).map_err(|e| CallError::Failed(e.into()))?;
        let (status, answer) = self.call(Method::POST, path, Some(body), timeout).await?;
        if status == 204 {
            return Ok(None);
        }
        serde_json::from_slice(&answer)
            .map(Some)
            .map_err(|e| CallError::Failed(anyhow::anyhow!("a malformed answer to {path}: {e}")))
    }

    /// Waits a while for a part to run; `None` when none came.
    pub async fn poll(&self) -> Result<Option<Assignment>, CallError> {
        self.post(
            "v1/agents/poll",
            &self.hello,
            POLL_WAIT + Duration::from_secs(15),
        )
        .await
    }

    /// The component of scenario `id`, checked against its hash.
    pub async fn scenario(&self, id: &str) -> anyhow::Result<Vec<u8>> {
        let path = format!("v1/agents/scenarios/{id}");
        let (_, bytes) = self
            .call(Method::GET, &path, None, CALL_TIMEOUT)
            .await
            .map_err(|e| anyhow::anyhow!("cannot fetch scenario {id}: {e}"))?;
        let hash = crate::api::tenants::sha256_hex(&bytes);
        if hash != id {
            bail!("the coordinator sent scenario {id} with another hash ({hash})");
        }
        Ok(bytes.to_vec())
    }

    fn part_path(run: &str, part: u32, call: &str) -> String {
        format!("v1/agents/runs/{run}/parts/{part}/{call}")
    }

    /// Says the part is ready; the coordinator's answer: wait, start, or abort.
    pub async fn ready(&self, run: &str, part: u32) -> Result<StartAnswer, CallError> {
        let body = AgentRef {
            agent: self.hello.id.clone(),
        };
        let path = Self::part_path(run, part, "ready");
        let answer = self
            .post(&path, &body, POLL_WAIT + Duration::from_secs(15))
            .await?;
        answer.ok_or_else(|| CallError::Failed(anyhow::anyhow!("no answer to ready")))
    }

    /// Hands in one interval; whether the part must stop.
    pub async fn interval(
        &self,
        run: &str,
        part: u32,
        delta: IntervalDelta,
    ) -> Result<bool, CallError> {
        let body = PartInterval {
            agent: self.hello.id.clone(),
            delta,
        };
        let path = Self::part_path(run, part, "intervals");
        let answer: Option<Directive> = self.post(&path, &body, CALL_TIMEOUT).await?;
        Ok(answer.is_some_and(|d| d.stop))
    }

    /// Says the part ended.
    pub async fn end(
        &self,
        run: &str,
        part: u32,
        status: RunStatus,
        vus_retired: u32,
    ) -> Result<(), CallError> {
        let body = PartEnd {
            agent: self.hello.id.clone(),
            status,
            vus_retired,
        };
        let path = Self::part_path(run, part, "end");
        let _: Option<serde_json::Value> = self.post(&path, &body, CALL_TIMEOUT).await?;
        Ok(())
    }
}

/// The message of an error answer (`{"error": {"message": ...}}`), or its text.
fn error_message(body: &[u8]) -> String {
    let parsed: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    parsed
        .as_ref()
        .and_then(|v| v["error"]["message"].as_str())
        .map(str::to_owned)
        .unwrap_or_else(|| String::from_utf8_lossy(body).chars().take(300).collect())
}

impl From<CallError> for anyhow::Error {
    fn from(err: CallError) -> Self {
        match err {
            CallError::Gone(message) => anyhow::anyhow!(message),
            CallError::Failed(err) => err,
        }
    }
}
