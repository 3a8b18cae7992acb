//! The run plan: pure, serde-able data that validates itself. Knows nothing of the layers
//! that run it.
//!
//! A plan comes from plan documents (JSON or TOML, k6's option names; see `docs/plan.md`):
//! the scenario's own defaults from its `options()`, a plan file laid over them, then
//! overrides from the command line or the API, applied by [`PlanDocument::resolve`]. The
//! resolved [`Plan`] converts back into a document ([`Plan::to_document`]), which is what is
//! printed and saved with the results.

mod document;
mod duration;
mod executor;
#[cfg(test)]
mod fuzz;
mod limits;
mod schedule;
mod segment;
mod share;
mod threshold;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

pub use document::{Governed, MAX_PLAN_BYTES, Overrides, PlanDocument, ScenarioDocument};
pub use duration::{MAX_DURATION, format_duration, parse_duration};
pub use executor::{Executor, Stage};
pub use limits::Limits;
pub use schedule::{Arrivals, parse_stages};
pub use segment::{Fraction, MAX_LCD, Segment, SegmentError, SegmentedIndex, Sequence, Tuple};
use serde::{Deserialize, Serialize};
pub use share::ArrivalTimes;
pub use threshold::{
    Aggregation, BUILTIN_METRICS, Condition, MetricKind, MetricSelector, Op, Threshold,
    ThresholdDocument, builtin_kind,
};
use url::Url;

use crate::http::{ConnectionPolicy, EgressPolicy, Resolve, TlsSettings};

/// Why a plan is not valid; each message says what to change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The plan document is not valid JSON or TOML, or has an unknown field.
    #[error("invalid plan document: {0}")]
    Document(String),
    /// A duration could not be read.
    #[error("invalid duration {0:?}: use a number with a unit, like 30s, 1m30s or 500ms")]
    Duration(String),
    /// A scenario's settings contradict each other or are out of range.
    #[error("scenario {scenario:?}: {message}")]
    Scenario {
        /// The scenario's name.
        scenario: String,
        /// What is wrong.
        message: String,
    },
    /// Any other setting is out of range.
    #[error("{0}")]
    Invalid(String),
}

/// Run-wide HTTP settings: the plan's `http` object (`docs/http.md`). Every field has a
/// default; a printed plan shows only the ones that differ.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct HttpPlan {
    /// Default timeout of a request, redirects included.
    #[serde(
        with = "duration::serde_text",
        skip_serializing_if = "is_default_timeout"
    )]
    pub timeout: Duration,
    /// Default number of redirects followed.
    #[serde(skip_serializing_if = "is_default_redirects")]
    pub max_redirects: u32,
    /// Offer HTTP/2 to `https` servers by ALPN (HTTP/1.1 otherwise).
    #[serde(skip_serializing_if = "is_true")]
    pub http2: bool,
    /// Speak HTTP/2 to `http` servers without asking first (h2c, prior knowledge).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub h2c: bool,
    /// How VUs use connections: `per-vu`, `shared` or `none`.
    #[serde(skip_serializing_if = "ConnectionPolicy::is_default")]
    pub connection_policy: ConnectionPolicy,
    /// With the `shared` policy, the most connections open to one host at once (0: no cap);
    /// requests wait for a free one, and the wait is `http_req_blocked`.
    #[serde(skip_serializing_if = "is_zero")]
    pub max_connections_per_host: u32,
    /// How long a resolved name is reused (`0s`: resolve for every new connection).
    #[serde(
        with = "duration::serde_text",
        skip_serializing_if = "is_default_dns_ttl"
    )]
    pub dns_ttl: Duration,
    /// Addresses given instead of resolving, curl's `--resolve`: `host:port:address`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resolve: Vec<String>,
}

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
const DEFAULT_REDIRECTS: u32 = 10;
const DEFAULT_DNS_TTL: Duration = Duration::from_secs(300);

fn is_default_timeout(value: &Duration) -> bool {
    *value == DEFAULT_TIMEOUT
}

fn is_default_redirects(value: &u32) -> bool {
    *value == DEFAULT_REDIRECTS
}

fn is_default_dns_ttl(value: &Duration) -> bool {
    *value == DEFAULT_DNS_TTL
}

fn is_true(value: &bool) -> bool {
    *value
}

fn is_zero(value: &u32) -> bool {
    *value == 0
}

impl Default for HttpPlan {
    fn default() -> Self {
        Self {
            timeout: DEFAULT_TIMEOUT,
            max_redirects: DEFAULT_REDIRECTS,
            http2: true,
            h2c: false,
            connection_policy: ConnectionPolicy::default(),
            max_connections_per_host: 0,
            dns_ttl: DEFAULT_DNS_TTL,
            resolve: Vec::new(),
        }
    }
}

impl HttpPlan {
    /// Checks the settings; the message names the field at fault.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.timeout.is_zero() {
            return Err(ConfigError::Invalid(
                "http.timeout must be longer than 0s".into(),
            ));
        }
        if self.max_connections_per_host > 0 && self.connection_policy != ConnectionPolicy::Shared {
            return Err(ConfigError::Invalid(format!(
                "http.maxConnectionsPerHost caps the shared pool; it does not apply to the {} \
                 policy (set connectionPolicy to shared, or leave the cap out)",
                self.connection_policy
            )));
        }
        for entry in &self.resolve {
            Resolve::parse(entry).map_err(ConfigError::Invalid)?;
        }
        Ok(())
    }
}

/// One scenario of a run: an executor driving VUs through the component's tasks.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioPlan {
    /// Name, unique in the plan (`default` for the shorthand options).
    pub name: String,
    /// How VUs and iterations are scheduled.
    pub executor: Executor,
    /// The task every iteration runs; `None` picks tasks at random by weight.
    pub exec: Option<String>,
    /// When the scenario starts, after the run's start.
    pub start_time: Duration,
    /// Time in-flight iterations get to finish once the executor is done.
    pub graceful_stop: Duration,
    /// VUs started per second (closed models); `None` starts them all at once.
    pub spawn_rate: Option<f64>,
    /// Parameters for this scenario's VUs, over the run's (k6's `env`).
    pub env: BTreeMap<String, String>,
    /// Tags on every sample of this scenario (the `scenario` tag is always there).
    pub tags: BTreeMap<String, String>,
    /// The execution segment this instance runs (the same for every scenario of the plan),
    /// or `None` for the whole plan: what it runs of the executor is in `share.rs`.
    pub segment: Option<Arc<Tuple>>,
}

impl ScenarioPlan {
    /// A scenario of `executor` with every other setting at its default: started with the
    /// run, k6's graceful stop (30s), the whole plan.
    pub fn new(name: impl Into<String>, executor: Executor) -> Self {
        Self {
            name: name.into(),
            executor,
            exec: None,
            start_time: Duration::ZERO,
            graceful_stop: Duration::from_secs(30),
            spawn_rate: None,
            env: BTreeMap::new(),
            tags: BTreeMap::new(),
            segment: None,
        }
    }

    /// When the scenario's executor ends, after the run's start.
    pub fn end(&self) -> Duration {
        self.start_time + self.executor.duration()
    }
}

/// A complete, validated description of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The scenarios, run concurrently.
    pub scenarios: Vec<ScenarioPlan>,
    /// Base URL relative request URLs resolve against.
    pub base_url: Option<Url>,
    /// Parameters the guest reads with `vu.parameter`.
    pub params: BTreeMap<String, String>,
    /// Length of a stats interval (and period of `on-stats`).
    pub stats_interval: Duration,
    /// Pass/fail criteria.
    pub thresholds: Vec<Threshold>,
    /// Also record `http_req_duration_corrected` for closed-model scenarios: each request
    /// corrected for coordinated omission with the VU's usual pace as expected interval.
    pub latency_correction: bool,
    /// HTTP settings: defaults of requests, protocols, connections, DNS.
    pub http: HttpPlan,
    /// TLS settings: trusted CAs, verification, client certificates, resumption, versions.
    pub tls: TlsSettings,
    /// The sandbox's limits.
    pub limits: Limits,
    /// What the run's requests may reach.
    pub egress: EgressPolicy,
}

impl Plan {
    /// Checks every setting; the error says what to change.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.scenarios.is_empty() {
            return Err(ConfigError::Invalid("the plan has no scenario".into()));
        }
        let mut names = std::collections::HashSet::new();
        for scenario in &self.scenarios {
            if !names.insert(scenario.name.as_str()) {
                return Err(ConfigError::Invalid(format!(
                    "two scenarios are named {:?}; names must be unique",
                    scenario.name
                )));
            }
            let fail = |message: String| ConfigError::Scenario {
                scenario: scenario.name.clone(),
                message,
            };
            if scenario.name.is_empty() {
                return Err(ConfigError::Invalid("a scenario's name is empty".into()));
            }
            scenario.executor.validate().map_err(fail)?;
            if let Some(rate) = scenario.spawn_rate
                && !(rate > 0.0 && rate.is_finite())
            {
                return Err(fail(format!(
                    "spawnRate must be a positive number, not {rate}"
                )));
            }
            if scenario.spawn_rate.is_some() && scenario.executor.is_arrival_rate() {
                return Err(fail(format!(
                    "spawnRate does not apply to {}: its VUs are made ready before the first \
                     start (preAllocatedVUs) and added when needed",
                    scenario.executor.name()
                )));
            }
        }
        if let Some(tuple) = self.segment()
            && !self.scenarios.iter().any(ScenarioPlan::has_work)
        {
            return Err(ConfigError::Invalid(format!(
                "execution segment {} of {} gets no VU of any scenario: the plan is too small \
                 to split this finely (give it more VUs, or use fewer segments)",
                tuple.segment(),
                tuple.sequence()
            )));
        }
        if let Some(url) = &self.base_url
            && !matches!(url.scheme(), "http" | "https")
        {
            return Err(ConfigError::Invalid(format!(
                "base URL {url}: use an http:// or https:// URL"
            )));
        }
        self.http.validate()?;
        self.tls.validate().map_err(ConfigError::Invalid)?;
        self.limits.validate()?;
        if self.max_vus() > self.limits.max_vus {
            return Err(ConfigError::Invalid(format!(
                "the plan needs up to {} VUs, over the limit of {} (limits.maxVUs)",
                self.max_vus(),
                self.limits.max_vus
            )));
        }
        if self.stats_interval < Duration::from_millis(100) {
            return Err(ConfigError::Invalid(format!(
                "stats interval {} is too short; use at least 100ms",
                format_duration(self.stats_interval)
            )));
        }
        Ok(())
    }

    /// The most VUs the run can have at once (all scenarios together, as if they overlapped).
    pub fn max_vus(&self) -> u32 {
        self.scenarios
            .iter()
            .map(ScenarioPlan::max_vus)
            .fold(0, u32::saturating_add)
    }

    /// The VUs the plan schedules `at` after the run's start, all scenarios together.
    pub fn planned_vus(&self, at: Duration) -> u32 {
        self.scenarios
            .iter()
            .filter(|s| at >= s.start_time)
            .map(|s| s.planned_vus(at - s.start_time))
            .sum()
    }

    /// The execution segment this instance runs, `None` for the whole plan.
    pub fn segment(&self) -> Option<&Tuple> {
        self.scenarios.first().and_then(|s| s.segment.as_deref())
    }

    /// When the last executor ends (graceful stops not included).
    pub fn duration(&self) -> Duration {
        self.scenarios
            .iter()
            .map(ScenarioPlan::end)
            .max()
            .unwrap_or_default()
    }

    /// The longest the run can last, graceful stops included.
    pub fn max_duration(&self) -> Duration {
        self.scenarios
            .iter()
            .map(|s| s.end() + s.graceful_stop + s.executor.graceful_ramp_down())
            .max()
            .unwrap_or_default()
    }
}
