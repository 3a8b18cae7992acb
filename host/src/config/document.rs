//! The plan document (JSON or TOML, k6's option names), how documents are laid over each
//! other, and how overrides resolve them into a [`Plan`].

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use url::Url;

use super::duration::serde_text;
use super::executor::Stage;
use super::limits::Limits;
use super::segment::{Segment, SegmentError, Sequence, Tuple};
use super::threshold::{Threshold, ThresholdDocument};
use super::{ConfigError, Executor, HttpPlan, Plan, ScenarioPlan};
use crate::http::{EgressPolicy, TlsSettings};

/// k6's default graceful stop.
const DEFAULT_GRACEFUL_STOP: Duration = Duration::from_secs(30);
/// k6's `maxDuration` of the iteration-count executors.
const DEFAULT_MAX_DURATION: Duration = Duration::from_secs(600);
/// `--rate` without `--vus`: VUs made ready before the first start.
const DEFAULT_RATE_PRE_ALLOCATED: u32 = 10;
/// `--rate` without `--max-vus`: at least this many VUs may be added when all are busy.
const DEFAULT_RATE_MAX_VUS: u32 = 100;

/// One entry of `scenarios`: an executor plus the options common to all executors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScenarioDocument {
    /// The executor and its parameters (flattened: `"executor": "constant-vus", "vus": 5`).
    #[serde(flatten)]
    pub executor: Executor,
    /// Task to run; absent picks by weight.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exec: Option<String>,
    /// Start this long after the run's start (default 0s).
    #[serde(
        default,
        with = "serde_text::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub start_time: Option<Duration>,
    /// Graceful stop (default 30s).
    #[serde(
        default,
        with = "serde_text::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub graceful_stop: Option<Duration>,
    /// VUs started per second (closed models).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spawn_rate: Option<f64>,
    /// Parameters for this scenario's VUs, over the run's.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// Tags on every sample of this scenario.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

/// A plan document: the scenario's `options().plan`, a plan file, or an API body.
///
/// Either the shorthand (`vus`, `duration`, `iterations`, `stages`) or named `scenarios`, as
/// in k6.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlanDocument {
    /// Shorthand: VUs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vus: Option<u32>,
    /// Shorthand: run for this long (`constant-vus`).
    #[serde(
        default,
        with = "serde_text::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub duration: Option<Duration>,
    /// Shorthand: iterations shared by the VUs (`shared-iterations`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iterations: Option<u64>,
    /// Shorthand: a VU ramp (`ramping-vus`, starting at `vus` or 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stages: Option<Vec<Stage>>,
    /// Shorthand: graceful stop; for named scenarios, their default.
    #[serde(
        default,
        with = "serde_text::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub graceful_stop: Option<Duration>,
    /// Shorthand: VUs started per second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spawn_rate: Option<f64>,
    /// Named scenarios, each with its executor, run at the same time.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub scenarios: BTreeMap<String, ScenarioDocument>,
    /// Base URL for relative request URLs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<Url>,
    /// Parameters for `vu.parameter`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<String, String>,
    /// Stats interval (default 1s).
    #[serde(
        default,
        with = "serde_text::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub stats_interval: Option<Duration>,
    /// Thresholds by metric (`"http_req_duration{name:login}": ["p(99)<300"]`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub thresholds: BTreeMap<String, Vec<ThresholdDocument>>,
    /// Record the coordinated-omission corrected series for closed models.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_correction: Option<bool>,
    /// The sandbox's limits (each left out keeps its default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<Limits>,
    /// What requests may reach (everything when left out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub egress: Option<EgressPolicy>,
    /// HTTP settings (the defaults when left out): timeout, redirects, protocols,
    /// connection policy, DNS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpPlan>,
    /// TLS settings (the defaults when left out): trusted CAs, `insecure`, client
    /// certificates, resumption, versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsSettings>,
    /// The part of the plan this instance runs, k6's `executionSegment` (`1/4:1/2`; the
    /// whole plan when left out; `docs/distributed.md`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_segment: Option<String>,
    /// The segments of all instances, k6's `executionSegmentSequence` (`0,1/4,1/2,1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_segment_sequence: Option<String>,
}

/// A component's defaults under an operator's document ([`PlanDocument::under`]).
#[derive(Debug, Clone)]
pub struct Governed {
    /// The merged document, the component's limits narrowed into it.
    pub document: PlanDocument,
    /// The component's own egress policy, which the run must pass as well as the plan's.
    pub component_egress: Option<EgressPolicy>,
    /// What of the component's defaults was not applied, for the person running it.
    pub ignored: Vec<String>,
}

/// Settings from the command line or the API, which win over the documents.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// VUs (`--vus`); with `--rate`, the pre-allocated VUs.
    pub vus: Option<u32>,
    /// Duration (`--duration`).
    pub duration: Option<Duration>,
    /// Iterations (`--iterations`).
    pub iterations: Option<u64>,
    /// Arrival rate per second (`--rate`): an open model.
    pub rate: Option<u32>,
    /// Most VUs (`--max-vus`): of an open model, or for live control of `constant-vus`.
    pub max_vus: Option<u32>,
    /// A ramp (`--stages 30s:100,1m:100,10s:0`): of VUs, or of the rate with `--rate`.
    pub stages: Option<Vec<Stage>>,
    /// Run only these named scenarios of the document (`--scenario`).
    pub scenarios: Vec<String>,
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
    /// Thresholds (`--threshold`), added to the document's.
    pub thresholds: Vec<Threshold>,
    /// Record the corrected series (`--latency-correction`).
    pub latency_correction: Option<bool>,
    /// Limits (the API's, within a tenant's caps), over the document's.
    pub limits: Option<Limits>,
    /// Egress policy (`--allow-host`, `--deny-host`, `--deny-private`), over the document's.
    pub egress: Option<EgressPolicy>,
    /// HTTP settings (`--connection-policy`, `--h2c`, `--resolve`, ...), over the document's.
    pub http: Option<HttpPlan>,
    /// TLS settings (`--ca-cert`, `--insecure`, `--client-cert`, ...), over the document's.
    pub tls: Option<TlsSettings>,
    /// The part of the plan this instance runs (`--execution-segment`), over the document's.
    pub execution_segment: Option<Segment>,
    /// The segments of all instances (`--execution-segment-sequence`), over the document's.
    pub execution_segment_sequence: Option<Sequence>,
}

impl Overrides {
    fn shorthand(&self) -> bool {
        self.vus.is_some()
            || self.duration.is_some()
            || self.iterations.is_some()
            || self.rate.is_some()
            || self.stages.is_some()
    }
}

/// The shorthand fields that, together, define one `default` scenario.
#[derive(Debug, Clone, Default)]
struct Shorthand {
    vus: Option<u32>,
    duration: Option<Duration>,
    iterations: Option<u64>,
    stages: Option<Vec<Stage>>,
    rate: Option<u32>,
    max_vus: Option<u32>,
}

impl Shorthand {
    /// k6's shorthand: stages make `ramping-vus`, iterations `shared-iterations` (bounded by
    /// the duration, if any), a duration alone `constant-vus`; with a rate, the arrival-rate
    /// executors. Nothing at all is one VU doing one iteration.
    fn executor(self) -> Result<Executor, ConfigError> {
        let invalid = |message: &str| Err(ConfigError::Invalid(message.to_owned()));
        let Self {
            vus,
            duration,
            iterations,
            stages,
            rate,
            max_vus,
        } = self;
        if let Some(rate) = rate {
            let pre_allocated_vus = vus.unwrap_or(DEFAULT_RATE_PRE_ALLOCATED);
            let max_vus = Some(max_vus.unwrap_or(pre_allocated_vus.max(DEFAULT_RATE_MAX_VUS)));
            if iterations.is_some() {
                return invalid(
                    "--rate starts iterations on a schedule; it cannot be combined with \
                     --iterations (use --duration or --stages)",
                );
            }
            return match (stages, duration) {
                (Some(_), Some(_)) => {
                    invalid("--stages sets the length of the run; drop --duration or --stages")
                }
                (Some(stages), None) => Ok(Executor::RampingArrivalRate {
                    start_rate: rate,
                    time_unit: Duration::from_secs(1),
                    stages,
                    pre_allocated_vus,
                    max_vus,
                }),
                (None, Some(duration)) => Ok(Executor::ConstantArrivalRate {
                    rate,
                    time_unit: Duration::from_secs(1),
                    duration,
                    pre_allocated_vus,
                    max_vus,
                }),
                (None, None) => invalid(
                    "--rate needs --duration (constant-arrival-rate) or --stages \
                     (ramping-arrival-rate, starting from the rate)",
                ),
            };
        }
        if let Some(stages) = stages {
            if duration.is_some() || iterations.is_some() {
                return invalid(
                    "stages set the length of the run; drop the duration and iterations",
                );
            }
            return Ok(Executor::RampingVus {
                start_vus: vus.unwrap_or(1),
                stages,
                graceful_ramp_down: DEFAULT_GRACEFUL_STOP,
            });
        }
        let vus = vus.unwrap_or(1);
        Ok(match (duration, iterations) {
            (duration, Some(iterations)) => Executor::SharedIterations {
                vus,
                iterations,
                max_duration: duration.unwrap_or(DEFAULT_MAX_DURATION),
            },
            (Some(duration), None) => Executor::ConstantVus {
                vus,
                duration,
                max_vus,
            },
            (None, None) => Executor::SharedIterations {
                vus,
                iterations: u64::from(vus),
                max_duration: DEFAULT_MAX_DURATION,
            },
        })
    }
}

/// The largest plan document taken, in bytes: far more than any real plan needs, small
/// enough that a plan never weighs on the memory of the host that stores and runs it.
pub const MAX_PLAN_BYTES: usize = 256 << 10;

fn check_size(text: &str) -> Result<(), ConfigError> {
    if text.len() > MAX_PLAN_BYTES {
        return Err(ConfigError::Document(format!(
            "the document has {} bytes, over the {MAX_PLAN_BYTES} a plan may have",
            text.len()
        )));
    }
    Ok(())
}

impl PlanDocument {
    /// Reads a JSON plan document; an empty text is the empty document. Over
    /// [`MAX_PLAN_BYTES`] it is refused (and nesting past serde_json's depth limit too).
    pub fn from_json(text: &str) -> Result<Self, ConfigError> {
        check_size(text)?;
        if text.trim().is_empty() {
            return Ok(Self::default());
        }
        serde_json::from_str(text).map_err(|err| ConfigError::Document(err.to_string()))
    }

    /// Reads a TOML plan document (at most [`MAX_PLAN_BYTES`]).
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        check_size(text)?;
        toml::from_str(text).map_err(|err| ConfigError::Document(err.to_string()))
    }

    /// Reads a plan file: TOML if its name ends in `.toml`, JSON otherwise.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|err| ConfigError::Document(format!("cannot read {path:?}: {err}")))?;
        let toml = path.extension().is_some_and(|e| e == "toml");
        let parsed = if toml {
            Self::from_toml(&text)
        } else {
            Self::from_json(&text)
        };
        parsed.map_err(|err| match err {
            ConfigError::Document(message) => ConfigError::Document(format!("{path:?}: {message}")),
            other => other,
        })
    }

    fn defines_load(&self) -> bool {
        self.vus.is_some()
            || self.duration.is_some()
            || self.iterations.is_some()
            || self.stages.is_some()
            || !self.scenarios.is_empty()
    }

    /// Lays `over` (a plan file) on this document (the scenario's defaults). If `over` says
    /// anything about the load (shorthand or scenarios), its load replaces this one's whole;
    /// parameters and thresholds are merged, `over` winning per key; other fields of `over`
    /// win where set.
    pub fn overlay(mut self, over: PlanDocument) -> Self {
        if over.defines_load() {
            self.vus = over.vus;
            self.duration = over.duration;
            self.iterations = over.iterations;
            self.stages = over.stages;
            self.scenarios = over.scenarios;
        }
        self.graceful_stop = over.graceful_stop.or(self.graceful_stop);
        self.spawn_rate = over.spawn_rate.or(self.spawn_rate);
        self.base_url = over.base_url.or(self.base_url);
        self.stats_interval = over.stats_interval.or(self.stats_interval);
        self.latency_correction = over.latency_correction.or(self.latency_correction);
        self.limits = over.limits.or(self.limits);
        self.egress = over.egress.or(self.egress);
        self.http = over.http.or(self.http);
        self.tls = over.tls.or(self.tls);
        self.execution_segment = over.execution_segment.or(self.execution_segment);
        self.execution_segment_sequence = over
            .execution_segment_sequence
            .or(self.execution_segment_sequence);
        self.params.extend(over.params);
        self.thresholds.extend(over.thresholds);
        self
    }

    /// The component's own defaults (this document) under the `operator`'s document (a plan
    /// file, or the plan a platform sent): the operator is the authority. Where the operator
    /// is silent, the defaults apply as [`PlanDocument::overlay`] lays them, except that they
    /// may only narrow what the operator allows, never widen it:
    ///
    /// - the component's `egress` is taken out and returned, to be stacked on the run (a
    ///   connection must pass it as well as the operator's);
    /// - each of its `limits` applies only where it is stricter than the operator's (or the
    ///   default);
    /// - its `tls.insecure` is dropped: only the operator can skip certificate checks.
    ///
    /// What was dropped is said in the result's `ignored`.
    pub fn under(mut self, operator: PlanDocument) -> Governed {
        let mut ignored = Vec::new();
        let component_egress = self.egress.take().filter(|e| !e.is_open());
        let component_limits = self.limits.take();
        let operator_limits = operator.limits.clone();
        let operator_insecure = operator.tls.as_ref().is_some_and(|t| t.insecure);
        let mut document = self.overlay(operator);
        document.limits = match (component_limits, operator_limits) {
            (Some(component), operator) => {
                let operator = operator.unwrap_or_default();
                let effective = operator.stricter(&component);
                if effective != component {
                    ignored.push(
                        "limits the component raised above the operator's (or the defaults)"
                            .to_owned(),
                    );
                }
                Some(effective)
            }
            (None, operator) => operator,
        };
        if let Some(tls) = &mut document.tls
            && tls.insecure
            && !operator_insecure
        {
            tls.insecure = false;
            ignored.push("tls.insecure (only the operator can skip certificate checks)".into());
        }
        Governed {
            document,
            component_egress,
            ignored,
        }
    }

    /// Applies `overrides` and builds a validated plan.
    ///
    /// Shorthand flags (`--vus`, `--duration`, `--iterations`, `--rate`, `--stages`) replace
    /// the document's scenarios with one `default` scenario, as in k6; `--scenario` keeps only
    /// the named ones.
    pub fn resolve(self, overrides: Overrides) -> Result<Plan, ConfigError> {
        let cli_shorthand = overrides.shorthand();
        if cli_shorthand && !overrides.scenarios.is_empty() {
            return Err(ConfigError::Invalid(
                "--scenario picks scenarios of the plan; it cannot be combined with \
                 --vus, --duration, --iterations, --rate or --stages, which replace them"
                    .into(),
            ));
        }
        let graceful_stop = overrides.graceful_stop.or(self.graceful_stop);
        let scenarios = if cli_shorthand || self.scenarios.is_empty() {
            if !overrides.scenarios.is_empty() {
                return Err(ConfigError::Invalid(format!(
                    "--scenario {}: the plan has no named scenarios",
                    overrides.scenarios.join(", ")
                )));
            }
            let only_vus = overrides.vus.is_some()
                && !(overrides.duration.is_some()
                    || overrides.iterations.is_some()
                    || overrides.rate.is_some()
                    || overrides.stages.is_some());
            let shorthand = if cli_shorthand && !only_vus {
                Shorthand {
                    vus: overrides.vus.or(self.vus),
                    duration: overrides.duration,
                    iterations: overrides.iterations,
                    stages: overrides.stages.clone(),
                    rate: overrides.rate,
                    max_vus: overrides.max_vus,
                }
            } else {
                // The document's shorthand, with `--vus` (and `--max-vus`) over it.
                Shorthand {
                    vus: overrides.vus.or(self.vus),
                    duration: self.duration,
                    iterations: self.iterations,
                    stages: self.stages.clone(),
                    rate: None,
                    max_vus: overrides.max_vus,
                }
            };
            vec![ScenarioPlan {
                name: "default".into(),
                executor: shorthand.executor()?,
                exec: None,
                start_time: Duration::ZERO,
                graceful_stop: graceful_stop.unwrap_or(DEFAULT_GRACEFUL_STOP),
                spawn_rate: overrides.spawn_rate.or(self.spawn_rate),
                env: BTreeMap::new(),
                tags: BTreeMap::new(),
                segment: None,
            }]
        } else {
            let mut chosen = self.scenarios;
            if !overrides.scenarios.is_empty() {
                let known: Vec<String> = chosen.keys().cloned().collect();
                for name in &overrides.scenarios {
                    if !chosen.contains_key(name) {
                        return Err(ConfigError::Invalid(format!(
                            "--scenario {name:?}: the plan's scenarios are {}",
                            known.join(", ")
                        )));
                    }
                }
                chosen.retain(|name, _| overrides.scenarios.contains(name));
            }
            chosen
                .into_iter()
                .map(|(name, doc)| {
                    // `--spawn-rate` is for the closed models; open ones have no spawn rate.
                    let spawn_rate = if doc.executor.is_arrival_rate() {
                        doc.spawn_rate
                    } else {
                        overrides.spawn_rate.or(doc.spawn_rate)
                    };
                    ScenarioPlan {
                        name,
                        executor: doc.executor,
                        exec: doc.exec,
                        start_time: doc.start_time.unwrap_or_default(),
                        graceful_stop: overrides
                            .graceful_stop
                            .or(doc.graceful_stop)
                            .or(self.graceful_stop)
                            .unwrap_or(DEFAULT_GRACEFUL_STOP),
                        spawn_rate,
                        env: doc.env,
                        tags: doc.tags,
                        segment: None,
                    }
                })
                .collect()
        };
        let segment = execution_tuple(
            overrides.execution_segment,
            overrides.execution_segment_sequence,
            self.execution_segment.as_deref(),
            self.execution_segment_sequence.as_deref(),
        )?;
        let mut scenarios = scenarios;
        for scenario in &mut scenarios {
            scenario.executor.normalize();
            scenario.segment = segment.clone();
        }
        let mut thresholds = Vec::new();
        for (metric, list) in &self.thresholds {
            for threshold in list {
                thresholds.push(threshold.resolve(metric)?);
            }
        }
        thresholds.extend(overrides.thresholds);
        // Grouped by metric, as the document form groups them, so a saved plan reads back
        // equal.
        thresholds.sort_by_key(|t| t.selector.to_string());
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
            thresholds,
            latency_correction: overrides
                .latency_correction
                .or(self.latency_correction)
                .unwrap_or(false),
            http: overrides.http.or(self.http).unwrap_or_default(),
            tls: overrides.tls.or(self.tls).unwrap_or_default(),
            limits: overrides.limits.or(self.limits).unwrap_or_default(),
            egress: overrides.egress.or(self.egress).unwrap_or_default(),
        };
        plan.validate()?;
        Ok(plan)
    }
}

impl Plan {
    /// The plan as a document that resolves back to it: what is printed and saved.
    pub fn to_document(&self) -> PlanDocument {
        let mut thresholds: BTreeMap<String, Vec<ThresholdDocument>> = BTreeMap::new();
        for threshold in &self.thresholds {
            thresholds
                .entry(threshold.selector.to_string())
                .or_default()
                .push(ThresholdDocument::of(threshold));
        }
        PlanDocument {
            scenarios: self
                .scenarios
                .iter()
                .map(|s| {
                    let doc = ScenarioDocument {
                        executor: s.executor.clone(),
                        exec: s.exec.clone(),
                        start_time: (!s.start_time.is_zero()).then_some(s.start_time),
                        graceful_stop: Some(s.graceful_stop),
                        spawn_rate: s.spawn_rate,
                        env: s.env.clone(),
                        tags: s.tags.clone(),
                    };
                    (s.name.clone(), doc)
                })
                .collect(),
            base_url: self.base_url.clone(),
            params: self.params.clone(),
            stats_interval: Some(self.stats_interval),
            thresholds,
            latency_correction: self.latency_correction.then_some(true),
            limits: (self.limits != Limits::default()).then(|| self.limits.clone()),
            egress: (!self.egress.is_open()).then(|| self.egress.clone()),
            http: (self.http != HttpPlan::default()).then(|| self.http.clone()),
            tls: (!self.tls.is_default()).then(|| self.tls.clone()),
            execution_segment: self.segment().map(|t| t.segment().to_string()),
            execution_segment_sequence: self.segment().map(|t| t.sequence().to_string()),
            ..PlanDocument::default()
        }
    }
}

/// The tuple of the execution segment and sequence given (flags over the document's), or
/// `None` for the whole plan.
fn execution_tuple(
    segment: Option<Segment>,
    sequence: Option<Sequence>,
    document_segment: Option<&str>,
    document_sequence: Option<&str>,
) -> Result<Option<Arc<Tuple>>, ConfigError> {
    let segment = match segment {
        Some(segment) => Some(segment),
        None => parsed(document_segment, "executionSegment")?,
    };
    let sequence = match sequence {
        Some(sequence) => Some(sequence),
        None => parsed(document_sequence, "executionSegmentSequence")?,
    };
    if segment.is_none_or(|s| s == Segment::FULL) && sequence.is_none() {
        return Ok(None);
    }
    let tuple =
        Tuple::new(segment, sequence.as_ref()).map_err(|e| invalid("executionSegment", e))?;
    Ok(Some(Arc::new(tuple)))
}

/// A document's `field`, parsed if present.
fn parsed<T: std::str::FromStr<Err = SegmentError>>(
    text: Option<&str>,
    field: &str,
) -> Result<Option<T>, ConfigError> {
    text.map(|t| t.parse().map_err(|e| invalid(field, e)))
        .transpose()
}

fn invalid(field: &str, err: SegmentError) -> ConfigError {
    ConfigError::Invalid(format!("{field}: {err}"))
}

impl Serialize for Plan {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_document().serialize(serializer)
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

    fn stage(secs: u64, target: u32) -> Stage {
        Stage {
            duration: Duration::from_secs(secs),
            target,
        }
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
                duration: Duration::from_secs(5),
                max_vus: None,
            }
        );
    }

    #[test]
    fn vus_alone_keeps_the_documents_duration() {
        let overrides = Overrides {
            vus: Some(4),
            ..Default::default()
        };
        let plan = resolve(r#"{"vus": 2, "duration": "10s"}"#, overrides).unwrap();
        assert_eq!(
            plan.scenarios[0].executor,
            Executor::ConstantVus {
                vus: 4,
                duration: Duration::from_secs(10),
                max_vus: None,
            }
        );
    }

    #[test]
    fn rate_and_stages_flags_make_the_ramping_and_arrival_executors() {
        let stages = vec![stage(30, 100), stage(60, 100), stage(10, 0)];
        let ramp = resolve(
            "",
            Overrides {
                stages: Some(stages.clone()),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(ramp.scenarios[0].executor.name(), "ramping-vus");
        assert_eq!(ramp.scenarios[0].executor.max_vus(), 100);
        let rate = resolve(
            "",
            Overrides {
                rate: Some(50),
                duration: Some(Duration::from_secs(30)),
                vus: Some(5),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(
            rate.scenarios[0].executor,
            Executor::ConstantArrivalRate {
                rate: 50,
                time_unit: Duration::from_secs(1),
                duration: Duration::from_secs(30),
                pre_allocated_vus: 5,
                max_vus: Some(100),
            }
        );
        let ramp_rate = resolve(
            "",
            Overrides {
                rate: Some(10),
                stages: Some(stages),
                max_vus: Some(40),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(
            ramp_rate.scenarios[0].executor.name(),
            "ramping-arrival-rate"
        );
        assert_eq!(ramp_rate.scenarios[0].executor.max_vus(), 40);
        let err = resolve(
            "",
            Overrides {
                rate: Some(10),
                ..Default::default()
            },
        )
        .unwrap_err();
        assert!(err.contains("--rate needs --duration"), "{err}");
    }

    #[test]
    fn document_scenarios_are_kept_without_shorthand_flags() {
        let json = r#"{"scenarios": {"buyers": {"executor": "per-vu-iterations", "vus": 2, "iterations": 5,
            "exec": "buy", "gracefulStop": "5s", "startTime": "2s", "env": {"who": "b"},
            "tags": {"team": "x"}}}, "params": {"a": "1"}}"#;
        let plan = resolve(json, Overrides::default()).unwrap();
        let scenario = &plan.scenarios[0];
        assert_eq!(scenario.name, "buyers");
        assert_eq!(scenario.exec.as_deref(), Some("buy"));
        assert_eq!(scenario.graceful_stop, Duration::from_secs(5));
        assert_eq!(scenario.start_time, Duration::from_secs(2));
        assert_eq!(scenario.env.get("who").map(String::as_str), Some("b"));
        assert_eq!(scenario.tags.get("team").map(String::as_str), Some("x"));
        assert_eq!(plan.max_vus(), 2);
        assert_eq!(plan.params.get("a").map(String::as_str), Some("1"));
    }

    #[test]
    fn spawn_rate_flag_applies_to_the_closed_models_only() {
        let json = r#"{"scenarios": {
            "open": {"executor": "constant-arrival-rate", "rate": 5, "duration": "1s",
                     "preAllocatedVUs": 1},
            "closed": {"executor": "constant-vus", "duration": "1s"}}}"#;
        let overrides = Overrides {
            spawn_rate: Some(2.0),
            ..Default::default()
        };
        let plan = resolve(json, overrides).unwrap();
        let rates: Vec<Option<f64>> = plan.scenarios.iter().map(|s| s.spawn_rate).collect();
        assert_eq!(rates, vec![Some(2.0), None], "closed, then open (by name)");
    }

    #[test]
    fn scenario_flag_picks_named_scenarios() {
        let json = r#"{"scenarios": {
            "a": {"executor": "constant-vus", "duration": "1s"},
            "b": {"executor": "constant-vus", "duration": "1s"}}}"#;
        let pick = |names: &[&str]| {
            resolve(
                json,
                Overrides {
                    scenarios: names.iter().map(|n| (*n).to_owned()).collect(),
                    ..Default::default()
                },
            )
        };
        let plan = pick(&["b"]).unwrap();
        assert_eq!(plan.scenarios.len(), 1);
        assert_eq!(plan.scenarios[0].name, "b");
        let err = pick(&["c"]).unwrap_err();
        assert!(err.contains("the plan's scenarios are a, b"), "{err}");
    }

    #[test]
    fn a_plan_file_lays_over_the_scenarios_defaults() {
        let defaults = PlanDocument::from_json(
            r#"{"vus": 2, "duration": "10s", "params": {"a": "1", "b": "1"},
                "thresholds": {"http_req_failed": ["rate<0.1"]}}"#,
        )
        .unwrap();
        let file = PlanDocument::from_toml(
            r#"
            params = { b = "2" }
            [scenarios.ramp]
            executor = "ramping-vus"
            stages = [{ duration = "5s", target = 3 }]
            [thresholds]
            "http_req_duration{name:login}" = ["p(99)<300"]
            "#,
        )
        .unwrap();
        let plan = defaults
            .overlay(file)
            .resolve(Overrides::default())
            .unwrap();
        assert_eq!(
            plan.scenarios.len(),
            1,
            "the file's scenarios replace the load"
        );
        assert_eq!(plan.scenarios[0].name, "ramp");
        assert_eq!(plan.params.get("a").map(String::as_str), Some("1"));
        assert_eq!(plan.params.get("b").map(String::as_str), Some("2"));
        assert_eq!(plan.thresholds.len(), 2);
    }

    #[test]
    fn a_resolved_plan_reads_back_equal() {
        let json = r#"{"scenarios": {
            "open": {"executor": "ramping-arrival-rate", "preAllocatedVUs": 2,
                     "stages": [{"duration": "2s", "target": 10}], "startTime": "1s"},
            "closed": {"executor": "constant-vus", "vus": 3, "duration": "5s", "tags": {"k": "v"}}},
            "thresholds": {"checks": ["rate>0.9"], "http_req_duration{name:a}": [
                {"threshold": "p(99)<300", "abortOnFail": true, "delayAbortEval": "2s"}]},
            "latencyCorrection": true}"#;
        let overrides = Overrides {
            thresholds: vec![Threshold::parse_flag("iterations: count>1").unwrap()],
            ..Default::default()
        };
        let plan = resolve(json, overrides).unwrap();
        let saved = serde_json::to_string(&plan).unwrap();
        let again = resolve(&saved, Overrides::default()).unwrap();
        assert_eq!(again, plan, "{saved}");
        assert_eq!(plan.max_duration(), Duration::from_secs(35));
        assert_eq!(plan.planned_vus(Duration::from_millis(500)), 3);
        assert_eq!(plan.planned_vus(Duration::from_millis(1500)), 5);
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
        let err = resolve(
            r#"{"thresholds": {"http_req_duration": ["rate<3"]}}"#,
            Overrides::default(),
        )
        .unwrap_err();
        assert!(err.contains("use avg, min, med, max, p(N)"), "{err}");
    }

    #[test]
    fn oversized_and_deeply_nested_documents_are_refused() {
        let big = format!(r#"{{"params": {{"p": "{}"}}}}"#, "x".repeat(MAX_PLAN_BYTES));
        let err = PlanDocument::from_json(&big).unwrap_err().to_string();
        assert!(err.contains("a plan may have"), "{err}");
        let nested = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let deep = format!(r#"{{"params": {nested}}}"#);
        assert!(
            PlanDocument::from_json(&deep).is_err(),
            "refused, not a stack overflow"
        );
    }

    #[test]
    fn a_components_defaults_narrow_the_operators_plan_but_never_widen_it() {
        let component = PlanDocument::from_json(
            r#"{"vus": 3, "egress": {"allow": ["127.0.0.0/8"]},
                "limits": {"cpuPerCall": "0s", "memoryBytes": 8388608},
                "tls": {"insecure": true, "resumption": false}}"#,
        )
        .unwrap();
        let operator = PlanDocument::from_json(r#"{"egress": {"denyPrivate": true}}"#).unwrap();
        let governed = component.under(operator);
        let document = &governed.document;
        assert_eq!(document.vus, Some(3), "silent operator: the defaults' load");
        assert_eq!(
            document.egress.as_ref().map(|e| e.deny_private),
            Some(true),
            "the operator's egress is the plan's"
        );
        let component_egress = governed.component_egress.expect("kept apart");
        assert_eq!(component_egress.allow.len(), 1, "stacked on the run");
        let limits = document.limits.as_ref().expect("limits");
        assert_eq!(
            limits.cpu_per_call,
            Duration::from_secs(5),
            "0s would widen"
        );
        assert_eq!(limits.memory_bytes, 8 << 20, "narrowing stays");
        let tls = document.tls.as_ref().expect("tls");
        assert!(!tls.insecure && !tls.resumption);
        assert_eq!(governed.ignored.len(), 2, "{:?}", governed.ignored);
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
