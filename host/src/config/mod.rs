//! The run plan: pure, serde-able data that validates itself. Knows nothing of the layers
//! that run it.
//!
//! A plan comes from a plan document (JSON, k6's option names; see `docs/plan.md`) — the
//! scenario's own defaults from its `options()` — with overrides from the command line or
//! the API applied on top by [`PlanDocument::resolve`].

mod document;
mod duration;
mod executor;

use std::collections::BTreeMap;
use std::time::Duration;

pub use document::{Overrides, PlanDocument};
pub use duration::{format_duration, parse_duration};
pub use executor::Executor;
use serde::Serialize;
use url::Url;

/// Why a plan is not valid; each message says what to change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The plan document is not valid JSON or has an unknown field.
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

/// Run-wide HTTP settings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HttpPlan {
    /// Default timeout of a request, redirects included.
    #[serde(with = "duration::serde_text")]
    pub timeout: Duration,
    /// Default number of redirects followed.
    pub max_redirects: u32,
    /// Largest response body handed to a guest.
    pub max_body_bytes: usize,
}

impl Default for HttpPlan {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(60),
            max_redirects: 10,
            max_body_bytes: 16 << 20,
        }
    }
}

/// One scenario of a run: an executor driving VUs through the component's tasks.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScenarioPlan {
    /// Name, unique in the plan (`default` for the shorthand options).
    pub name: String,
    /// How VUs and iterations are scheduled.
    pub executor: Executor,
    /// The task every iteration runs; `None` picks tasks at random by weight.
    pub exec: Option<String>,
    /// Time in-flight iterations get to finish once the executor is done.
    #[serde(with = "duration::serde_text")]
    pub graceful_stop: Duration,
    /// VUs started per second at the beginning; `None` starts them all at once.
    pub spawn_rate: Option<f64>,
}

/// A complete, validated description of a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    /// The scenarios, run concurrently.
    pub scenarios: Vec<ScenarioPlan>,
    /// Base URL relative request URLs resolve against.
    pub base_url: Option<Url>,
    /// Parameters the guest reads with `vu.parameter`.
    pub params: BTreeMap<String, String>,
    /// Length of a stats interval (and period of `on-stats`).
    #[serde(with = "duration::serde_text")]
    pub stats_interval: Duration,
    /// HTTP defaults.
    pub http: HttpPlan,
    /// Most bytes of log text kept for the run.
    pub log_limit_bytes: u64,
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
            scenario.executor.validate().map_err(fail)?;
            if let Some(rate) = scenario.spawn_rate
                && !(rate > 0.0 && rate.is_finite())
            {
                return Err(fail(format!(
                    "spawnRate must be a positive number, not {rate}"
                )));
            }
        }
        if let Some(url) = &self.base_url
            && url.scheme() != "http"
        {
            return Err(ConfigError::Invalid(format!(
                "base URL {url}: only http:// is supported so far"
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

    /// The most VUs the run can have at once (all scenarios together).
    pub fn max_vus(&self) -> u32 {
        self.scenarios.iter().map(|s| s.executor.vus()).sum()
    }

    /// The longest the run can last, graceful stops included.
    pub fn max_duration(&self) -> Duration {
        self.scenarios
            .iter()
            .map(|s| s.executor.max_duration() + s.graceful_stop)
            .max()
            .unwrap_or_default()
    }
}
