//! The plan document (JSON, k6's option names) and how overrides resolve it into a [`Plan`].

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use url::Url;

use super::duration::serde_text;
use super::{ConfigError, Executor, HttpPlan, Plan, ScenarioPlan};

/// k6's default graceful stop.
const DEFAULT_GRACEFUL_STOP: Duration = Duration::from_secs(30);

/// One entry of `scenarios`: an executor plus the options common to all executors.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScenarioDocument {
    /// The executor and its parameters (flattened: `"executor": "constant-vus", "vus": 5`).
    #[serde(flatten)]
    pub executor: Executor,
    /// Task to run; absent picks by weight.
    #[serde(default)]
    pub exec: Option<String>,
    /// Graceful stop (default 30s).
    #[serde(default, deserialize_with = "serde_text::option::deserialize")]
    pub graceful_stop: Option<Duration>,
    /// VUs started per second.
    #[serde(default)]
    pub spawn_rate: Option<f64>,
}

/// A plan document: the scenario's `options().plan`, a plan file, or an API body.
///
/// Either the shorthand (`vus`, `duration`, `iterations`) or named `scenarios`, as in k6.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlanDocument {
    /// Shorthand: VUs.
    #[serde(default)]
    pub vus: Option<u32>,
    /// Shorthand: run for this long.
    #[serde(default, deserialize_with = "serde_text::option::deserialize")]
    pub duration: Option<Duration>,
    /// Shorthand: iterations shared by the VUs.
    #[serde(default)]
    pub iterations: Option<u64>,
    /// Shorthand: graceful stop.
    #[serde(default, deserialize_with = "serde_text::option::deserialize")]
    pub graceful_stop: Option<Duration>,
    /// Shorthand: VUs started per second.
    #[serde(default)]
    pub spawn_rate: Option<f64>,
    /// Named scenarios, each with its executor.
    #[serde(default)]
    pub scenarios: BTreeMap<String, ScenarioDocument>,
    /// Base URL for relative request URLs.
    #[serde(default)]
    pub base_url: Option<Url>,
    /// Parameters for `vu.parameter`.
    #[serde(default)]
    pub params: BTreeMap<String, String>,
    /// Stats interval (default 1s).
    #[serde(default, deserialize_with = "serde_text::option::deserialize")]
    pub stats_interval: Option<Duration>,
}

/// Settings from the command line or the API, which win over the document.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// VUs (`--vus`).
    pub vus: Option<u32>,
    /// Duration (`--duration`).
    pub duration: Option<Duration>,
    /// Iterations (`--iterations`).
    pub iterations: Option<u64>,
    /// Graceful stop (`--graceful-stop`).
    pub graceful_stop: Option<Duration>,
    /// Spawn rate (`--spawn-rate`).
    pub spawn_rate: Option<f64>,
    /// Base URL (`--host`).
    pub base_url: Option<Url>,
    /// Parameters (`--param k=v`), added to the document's.
    pub params: BTreeMap<String, String>,
    /// Stats interval.
    pub stats_interval: Option<Duration>,
}

impl PlanDocument {
    /// Reads a JSON plan document; an empty text is the empty document.
    pub fn from_json(text: &str) -> Result<Self, ConfigError> {
        if text.trim().is_empty() {
            return Ok(Self::default());
        }
        serde_json::from_str(text).map_err(|err| ConfigError::Document(err.to_string()))
    }

    /// Applies `overrides` and builds a validated plan.
    ///
    /// Shorthand flags on the command line (`--vus`, `--duration`, `--iterations`) replace the
    /// document's scenarios with one `default` scenario, as in k6.
    pub fn resolve(self, overrides: Overrides) -> Result<Plan, ConfigError> {
        let cli_shorthand = overrides.vus.is_some()
            || overrides.duration.is_some()
            || overrides.iterations.is_some();
        let scenarios = if cli_shorthand || self.scenarios.is_empty() {
            let (vus, duration, iterations) = if cli_shorthand {
                (
                    overrides.vus.or(self.vus),
                    overrides.duration.or(if overrides.iterations.is_some() {
                        None
                    } else {
                        self.duration
                    }),
                    overrides.iterations.or(if overrides.duration.is_some() {
                        None
                    } else {
                        self.iterations
                    }),
                )
            } else {
                (self.vus, self.duration, self.iterations)
            };
            vec![ScenarioPlan {
                name: "default".into(),
                executor: shorthand_executor(vus, duration, iterations),
                exec: None,
                graceful_stop: overrides
                    .graceful_stop
                    .or(self.graceful_stop)
                    .unwrap_or(DEFAULT_GRACEFUL_STOP),
                spawn_rate: overrides.spawn_rate.or(self.spawn_rate),
            }]
        } else {
            self.scenarios
                .into_iter()
                .map(|(name, doc)| ScenarioPlan {
                    name,
                    executor: doc.executor,
                    exec: doc.exec,
                    graceful_stop: overrides
                        .graceful_stop
                        .or(doc.graceful_stop)
                        .unwrap_or(DEFAULT_GRACEFUL_STOP),
                    spawn_rate: overrides.spawn_rate.or(doc.spawn_rate),
                })
                .collect()
        };
        let mut params = self.params;
        params.extend(overrides.params);
        let plan = Plan {
            scenarios,
            base_url: overrides.base_url.or(self.base_url),
            params,
            stats_interval: overrides
                .stats_interval
                .or(self.stats_interval)
                .unwrap_or(Duration::from_secs(1)),
            http: HttpPlan::default(),
            log_limit_bytes: 10 << 20,
        };
        plan.validate()?;
        Ok(plan)
    }
}

/// k6's shorthand: iterations make `shared-iterations` (bounded by the duration, if any),
/// a duration alone makes `constant-vus`, nothing at all is one VU doing one iteration.
fn shorthand_executor(
    vus: Option<u32>,
    duration: Option<Duration>,
    iterations: Option<u64>,
) -> Executor {
    let vus = vus.unwrap_or(1);
    match (duration, iterations) {
        (duration, Some(iterations)) => Executor::SharedIterations {
            vus,
            iterations,
            max_duration: duration.unwrap_or(Duration::from_secs(600)),
        },
        (Some(duration), None) => Executor::ConstantVus { vus, duration },
        (None, None) => Executor::SharedIterations {
            vus,
            iterations: u64::from(vus),
            max_duration: Duration::from_secs(600),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(json: &str, overrides: Overrides) -> Result<Plan, String> {
        PlanDocument::from_json(json)
            .and_then(|d| d.resolve(overrides))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn command_line_shorthand_replaces_document_scenarios() {
        let json = r#"{"scenarios": {"browse": {"executor": "constant-vus", "vus": 3, "duration": "1m"}}}"#;
        let overrides = Overrides {
            vus: Some(7),
            duration: Some(Duration::from_secs(5)),
            ..Default::default()
        };
        let plan = resolve(json, overrides).unwrap();
        assert_eq!(plan.scenarios.len(), 1);
        assert_eq!(
            plan.scenarios[0].executor,
            Executor::ConstantVus {
                vus: 7,
                duration: Duration::from_secs(5)
            }
        );
    }

    #[test]
    fn document_scenarios_are_kept_without_shorthand_flags() {
        let json = r#"{"scenarios": {"buyers": {"executor": "per-vu-iterations", "vus": 2, "iterations": 5,
            "exec": "buy", "gracefulStop": "5s"}}, "params": {"a": "1"}}"#;
        let plan = resolve(json, Overrides::default()).unwrap();
        let scenario = &plan.scenarios[0];
        assert_eq!(scenario.name, "buyers");
        assert_eq!(scenario.exec.as_deref(), Some("buy"));
        assert_eq!(scenario.graceful_stop, Duration::from_secs(5));
        assert_eq!(plan.max_vus(), 2);
        assert_eq!(plan.params.get("a").map(String::as_str), Some("1"));
    }

    #[test]
    fn bad_documents_and_settings_say_what_is_wrong() {
        let unknown = resolve(r#"{"vuz": 3}"#, Overrides::default()).unwrap_err();
        assert!(unknown.contains("unknown field `vuz`"), "{unknown}");
        let typo = resolve(
            r#"{"scenarios": {"s": {"executor": "constant-vus", "duraton": "1s"}}}"#,
            Overrides::default(),
        );
        assert!(typo.is_err(), "a misspelt executor field is refused");
        let too_many = Overrides {
            vus: Some(5),
            iterations: Some(2),
            ..Default::default()
        };
        let err = resolve("", too_many).unwrap_err();
        assert!(err.contains("use at most 2 VUs"), "{err}");
        let err = resolve(
            "",
            Overrides {
                vus: Some(0),
                ..Default::default()
            },
        )
        .unwrap_err();
        assert!(err.contains("vus must be at least 1"), "{err}");
    }

    #[test]
    fn nothing_given_means_one_vu_one_iteration() {
        let plan = resolve("", Overrides::default()).unwrap();
        let expected = Executor::SharedIterations {
            vus: 1,
            iterations: 1,
            max_duration: Duration::from_secs(600),
        };
        assert_eq!(plan.scenarios[0].executor, expected);
    }
}
