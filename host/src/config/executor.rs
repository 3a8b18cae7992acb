//! Executors: how a scenario schedules VUs and iterations, with k6's names, parameters and
//! defaults. Pure data: each executor validates itself and says how many VUs it plans over
//! time; `vu/` runs it.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::duration::serde_text;
use super::format_duration;
use super::schedule::{Arrivals, ramp_steps, ramp_vus, stages_length};

fn ten_minutes() -> Duration {
    Duration::from_secs(600)
}

fn thirty_seconds() -> Duration {
    Duration::from_secs(30)
}

fn one_second() -> Duration {
    Duration::from_secs(1)
}

fn one() -> u32 {
    1
}

fn one_u64() -> u64 {
    1
}

/// One stage of a ramping executor: move linearly to `target` (VUs, or iterations per
/// `timeUnit`) over `duration`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stage {
    /// How long the stage lasts.
    #[serde(with = "serde_text")]
    pub duration: Duration,
    /// The value reached at the end of the stage.
    pub target: u32,
}

/// An executor's configuration, as in k6's `scenarios` (`"executor": "constant-vus"`).
///
/// Closed models (`constant-vus`, `ramping-vus`, `per-vu-iterations`, `shared-iterations`)
/// start an iteration when a VU finished its previous one; open models
/// (`constant-arrival-rate`, `ramping-arrival-rate`) start iterations on a schedule, whatever
/// earlier ones do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "executor", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Executor {
    /// `vus` VUs loop over iterations for `duration`.
    #[serde(rename_all = "camelCase")]
    ConstantVus {
        /// VUs.
        #[serde(default = "one")]
        vus: u32,
        /// How long they run.
        #[serde(with = "serde_text")]
        duration: Duration,
        /// Most VUs live control may raise the scenario to (ours; default `vus`).
        #[serde(rename = "maxVUs", default, skip_serializing_if = "Option::is_none")]
        max_vus: Option<u32>,
    },
    /// VUs ramp linearly from `startVUs` through the `stages`' targets.
    #[serde(rename_all = "camelCase")]
    RampingVus {
        /// VUs at the start.
        #[serde(rename = "startVUs", default = "one")]
        start_vus: u32,
        /// The ramp.
        stages: Vec<Stage>,
        /// Time a VU ramped down gets to finish its iteration before it is cut.
        #[serde(with = "serde_text", default = "thirty_seconds")]
        graceful_ramp_down: Duration,
    },
    /// Each of `vus` VUs runs exactly `iterations` iterations.
    #[serde(rename_all = "camelCase")]
    PerVuIterations {
        /// VUs.
        #[serde(default = "one")]
        vus: u32,
        /// Iterations per VU.
        #[serde(default = "one_u64")]
        iterations: u64,
        /// Cut-off if the iterations take longer.
        #[serde(with = "serde_text", default = "ten_minutes")]
        max_duration: Duration,
    },
    /// `vus` VUs share `iterations` iterations: fast VUs do more.
    #[serde(rename_all = "camelCase")]
    SharedIterations {
        /// VUs.
        #[serde(default = "one")]
        vus: u32,
        /// Iterations in all.
        #[serde(default = "one_u64")]
        iterations: u64,
        /// Cut-off if the iterations take longer.
        #[serde(with = "serde_text", default = "ten_minutes")]
        max_duration: Duration,
    },
    /// `rate` iterations start every `timeUnit`, evenly spaced, for `duration`.
    #[serde(rename_all = "camelCase")]
    ConstantArrivalRate {
        /// Iterations per `timeUnit`.
        rate: u32,
        /// The unit of `rate`.
        #[serde(with = "serde_text", default = "one_second")]
        time_unit: Duration,
        /// How long iterations are started.
        #[serde(with = "serde_text")]
        duration: Duration,
        /// VUs made ready before the first start.
        #[serde(rename = "preAllocatedVUs")]
        pre_allocated_vus: u32,
        /// Most VUs: when every VU is busy, new ones are added up to this many; past it, a
        /// start is dropped (`dropped_iterations`). Default `preAllocatedVUs`.
        #[serde(rename = "maxVUs", default, skip_serializing_if = "Option::is_none")]
        max_vus: Option<u32>,
    },
    /// The start rate ramps linearly from `startRate` through the `stages`' targets.
    #[serde(rename_all = "camelCase")]
    RampingArrivalRate {
        /// Iterations per `timeUnit` at the start.
        #[serde(default)]
        start_rate: u32,
        /// The unit of the rates.
        #[serde(with = "serde_text", default = "one_second")]
        time_unit: Duration,
        /// The ramp of the rate.
        stages: Vec<Stage>,
        /// VUs made ready before the first start.
        #[serde(rename = "preAllocatedVUs")]
        pre_allocated_vus: u32,
        /// Most VUs (default `preAllocatedVUs`).
        #[serde(rename = "maxVUs", default, skip_serializing_if = "Option::is_none")]
        max_vus: Option<u32>,
    },
}

impl Executor {
    /// k6's name of the executor.
    pub fn name(&self) -> &'static str {
        match self {
            Self::ConstantVus { .. } => "constant-vus",
            Self::RampingVus { .. } => "ramping-vus",
            Self::PerVuIterations { .. } => "per-vu-iterations",
            Self::SharedIterations { .. } => "shared-iterations",
            Self::ConstantArrivalRate { .. } => "constant-arrival-rate",
            Self::RampingArrivalRate { .. } => "ramping-arrival-rate",
        }
    }

    /// Whether iterations start on a schedule (open model) rather than when a VU is free.
    pub fn is_arrival_rate(&self) -> bool {
        matches!(
            self,
            Self::ConstantArrivalRate { .. } | Self::RampingArrivalRate { .. }
        )
    }

    /// VUs started when the scenario starts.
    pub fn initial_vus(&self) -> u32 {
        match self {
            Self::ConstantVus { vus, .. }
            | Self::PerVuIterations { vus, .. }
            | Self::SharedIterations { vus, .. } => *vus,
            Self::RampingVus { start_vus, .. } => *start_vus,
            Self::ConstantArrivalRate {
                pre_allocated_vus, ..
            }
            | Self::RampingArrivalRate {
                pre_allocated_vus, ..
            } => *pre_allocated_vus,
        }
    }

    /// The most VUs the executor can have at once.
    pub fn max_vus(&self) -> u32 {
        match self {
            Self::ConstantVus { vus, max_vus, .. } => max_vus.unwrap_or(*vus).max(*vus),
            Self::PerVuIterations { vus, .. } | Self::SharedIterations { vus, .. } => *vus,
            Self::RampingVus {
                start_vus, stages, ..
            } => stages.iter().map(|s| s.target).fold(*start_vus, u32::max),
            Self::ConstantArrivalRate {
                pre_allocated_vus,
                max_vus,
                ..
            }
            | Self::RampingArrivalRate {
                pre_allocated_vus,
                max_vus,
                ..
            } => max_vus
                .unwrap_or(*pre_allocated_vus)
                .max(*pre_allocated_vus),
        }
    }

    /// How long the executor runs before its graceful stop: the duration, the stages' total,
    /// or the `maxDuration` cut-off of the iteration-count executors.
    pub fn duration(&self) -> Duration {
        match self {
            Self::ConstantVus { duration, .. } | Self::ConstantArrivalRate { duration, .. } => {
                *duration
            }
            Self::PerVuIterations { max_duration, .. }
            | Self::SharedIterations { max_duration, .. } => *max_duration,
            Self::RampingVus { stages, .. } | Self::RampingArrivalRate { stages, .. } => {
                stages_length(stages)
            }
        }
    }

    /// Time a VU retired by a ramp-down gets to finish its iteration (`ramping-vus` only).
    pub fn graceful_ramp_down(&self) -> Duration {
        match self {
            Self::RampingVus {
                graceful_ramp_down, ..
            } => *graceful_ramp_down,
            _ => Duration::ZERO,
        }
    }

    /// The VUs the executor plans to have `at` after its start (0 once it is over). Open
    /// models plan their pre-allocated VUs; they add more, up to `maxVUs`, only when needed.
    pub fn planned_vus(&self, at: Duration) -> u32 {
        if at >= self.duration() {
            return 0;
        }
        match self {
            Self::RampingVus {
                start_vus, stages, ..
            } => ramp_vus(*start_vus, stages, at),
            _ => self.initial_vus(),
        }
    }

    /// Every change of a `ramping-vus` ramp, `(time after the start, VUs from then on)`,
    /// computed as it is consumed; empty for the other executors, whose VUs do not change
    /// by plan.
    pub fn vu_steps(&self) -> Box<dyn Iterator<Item = (Duration, u32)> + Send + '_> {
        match self {
            Self::RampingVus {
                start_vus, stages, ..
            } => Box::new(ramp_steps(*start_vus, stages)),
            _ => Box::new(std::iter::empty()),
        }
    }

    /// The arrival schedule of an open model: the offset of every iteration start from the
    /// scenario's start, as k6 gives it ([`Arrivals`]). `None` for closed models.
    pub fn arrivals(&self) -> Option<Arrivals> {
        match self {
            Self::ConstantArrivalRate {
                rate,
                time_unit,
                duration,
                ..
            } => Some(Arrivals::constant(*rate, *time_unit, *duration)),
            Self::RampingArrivalRate {
                start_rate,
                time_unit,
                stages,
                ..
            } => Some(Arrivals::ramp(*start_rate, *time_unit, stages)),
            _ => None,
        }
    }

    /// Iterations the executor plans in all, when it fixes them (iteration counts and open
    /// models); `None` for the duration-bound closed models.
    pub fn planned_iterations(&self) -> Option<u64> {
        match self {
            Self::PerVuIterations {
                vus, iterations, ..
            } => Some(u64::from(*vus) * iterations),
            Self::SharedIterations { iterations, .. } => Some(*iterations),
            Self::ConstantVus { .. } | Self::RampingVus { .. } => None,
            Self::ConstantArrivalRate { .. } | Self::RampingArrivalRate { .. } => {
                self.arrivals().map(|a| a.count() as u64)
            }
        }
    }

    /// Fills the defaults that depend on other fields (`maxVUs`), so the plan printed and
    /// saved says what runs.
    pub(crate) fn normalize(&mut self) {
        let max = self.max_vus();
        match self {
            Self::ConstantArrivalRate { max_vus, .. }
            | Self::RampingArrivalRate { max_vus, .. } => *max_vus = Some(max),
            Self::ConstantVus { vus, max_vus, .. } => {
                *max_vus = max_vus.filter(|m| *m > *vus);
            }
            _ => {}
        }
    }

    /// Checks the parameters; the message says what to change.
    pub fn validate(&self) -> Result<(), String> {
        let name = self.name();
        let positive = |what: &str, value: Duration| {
            if value.is_zero() {
                Err(format!("{name}: {what} must be longer than 0s"))
            } else {
                Ok(())
            }
        };
        match self {
            Self::ConstantVus {
                vus,
                duration,
                max_vus,
            } => {
                if *vus == 0 {
                    return Err(format!("{name}: vus must be at least 1"));
                }
                if let Some(max) = max_vus
                    && max < vus
                {
                    return Err(format!(
                        "{name}: maxVUs ({max}) must be at least vus ({vus})"
                    ));
                }
                positive("duration", *duration)
            }
            Self::RampingVus { stages, .. } => {
                validate_stages(name, stages)?;
                if self.max_vus() == 0 {
                    return Err(format!(
                        "{name}: startVUs and every stage target are 0, so no VU would ever run"
                    ));
                }
                Ok(())
            }
            Self::PerVuIterations {
                vus,
                iterations,
                max_duration,
            }
            | Self::SharedIterations {
                vus,
                iterations,
                max_duration,
            } => {
                if *vus == 0 {
                    return Err(format!("{name}: vus must be at least 1"));
                }
                if *iterations == 0 {
                    return Err(format!("{name}: iterations must be at least 1"));
                }
                if matches!(self, Self::SharedIterations { .. }) && u64::from(*vus) > *iterations {
                    return Err(format!(
                        "{name}: {iterations} iterations cannot keep {vus} VUs busy; \
                         use at most {iterations} VUs"
                    ));
                }
                positive("maxDuration", *max_duration)
            }
            Self::ConstantArrivalRate {
                rate,
                time_unit,
                duration,
                ..
            } => {
                if *rate == 0 {
                    return Err(format!("{name}: rate must be at least 1"));
                }
                positive("timeUnit", *time_unit)?;
                positive("duration", *duration)?;
                self.validate_vus()
            }
            Self::RampingArrivalRate {
                time_unit, stages, ..
            } => {
                positive("timeUnit", *time_unit)?;
                validate_stages(name, stages)?;
                self.validate_vus()
            }
        }
    }

    fn validate_vus(&self) -> Result<(), String> {
        let (Self::ConstantArrivalRate {
            pre_allocated_vus,
            max_vus,
            ..
        }
        | Self::RampingArrivalRate {
            pre_allocated_vus,
            max_vus,
            ..
        }) = self
        else {
            return Ok(());
        };
        let name = self.name();
        if let Some(max) = max_vus {
            if *max == 0 {
                return Err(format!("{name}: maxVUs must be at least 1"));
            }
            if max < pre_allocated_vus {
                return Err(format!(
                    "{name}: maxVUs ({max}) must be at least preAllocatedVUs ({pre_allocated_vus})"
                ));
            }
        } else if *pre_allocated_vus == 0 {
            return Err(format!(
                "{name}: preAllocatedVUs is 0 and maxVUs is not set, so no VU could run; \
                 set preAllocatedVUs (VUs ready at the start) or maxVUs"
            ));
        }
        Ok(())
    }

    /// One line for people: `10 VUs for 30s`, `50 iterations/s for 1m (5-100 VUs)`.
    pub fn describe(&self) -> String {
        let plural = |n: u64, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
        let vus = |n: u32| plural(u64::from(n), "VU");
        let per = |unit: Duration| {
            if unit == Duration::from_secs(1) {
                "/s".to_owned()
            } else {
                format!(" per {}", format_duration(unit))
            }
        };
        let stages = |stages: &[Stage]| {
            stages
                .iter()
                .map(|s| format!("{}:{}", format_duration(s.duration), s.target))
                .collect::<Vec<_>>()
                .join(",")
        };
        match self {
            Self::ConstantVus {
                vus: n, duration, ..
            } => {
                let max = match self.max_vus() {
                    m if m > *n => format!(" (live control up to {m})"),
                    _ => String::new(),
                };
                format!("{} for {}{max}", vus(*n), format_duration(*duration))
            }
            Self::RampingVus {
                start_vus,
                stages: s,
                graceful_ramp_down,
            } => format!(
                "{} ramping through {} (graceful ramp-down {})",
                vus(*start_vus),
                stages(s),
                format_duration(*graceful_ramp_down)
            ),
            Self::PerVuIterations {
                vus: n,
                iterations,
                max_duration,
            } => format!(
                "{} × {} each (max {})",
                vus(*n),
                plural(*iterations, "iteration"),
                format_duration(*max_duration)
            ),
            Self::SharedIterations {
                vus: n,
                iterations,
                max_duration,
            } => format!(
                "{} sharing {} (max {})",
                vus(*n),
                plural(*iterations, "iteration"),
                format_duration(*max_duration)
            ),
            Self::ConstantArrivalRate {
                rate,
                time_unit,
                duration,
                pre_allocated_vus,
                ..
            } => format!(
                "{rate} iterations{} for {} ({}-{} VUs)",
                per(*time_unit),
                format_duration(*duration),
                pre_allocated_vus,
                self.max_vus()
            ),
            Self::RampingArrivalRate {
                start_rate,
                time_unit,
                stages: s,
                pre_allocated_vus,
                ..
            } => format!(
                "{start_rate} iterations{} ramping through {} ({}-{} VUs)",
                per(*time_unit),
                stages(s),
                pre_allocated_vus,
                self.max_vus()
            ),
        }
    }
}

fn validate_stages(name: &str, stages: &[Stage]) -> Result<(), String> {
    if stages.is_empty() {
        return Err(format!(
            "{name}: stages is empty; give at least one {{\"duration\": \"30s\", \"target\": 10}}"
        ));
    }
    if stages_length(stages).is_zero() {
        return Err(format!("{name}: the stages last 0s in all"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stage(secs: u64, target: u32) -> Stage {
        Stage {
            duration: Duration::from_secs(secs),
            target,
        }
    }

    fn parse(json: &str) -> Executor {
        serde_json::from_str(json).unwrap_or_else(|e| panic!("{json}: {e}"))
    }

    #[test]
    fn k6_names_and_defaults_are_read() {
        let ramping =
            parse(r#"{"executor": "ramping-vus", "stages": [{"duration": "10s", "target": 4}]}"#);
        assert_eq!(
            ramping,
            Executor::RampingVus {
                start_vus: 1,
                stages: vec![stage(10, 4)],
                graceful_ramp_down: Duration::from_secs(30),
            }
        );
        let rate = parse(
            r#"{"executor": "constant-arrival-rate", "rate": 30, "timeUnit": "1m",
                "duration": "2m", "preAllocatedVUs": 5, "maxVUs": 50}"#,
        );
        assert_eq!(rate.max_vus(), 50);
        assert_eq!(rate.initial_vus(), 5);
        assert_eq!(rate.planned_iterations(), Some(60));
        let ramp_rate = parse(
            r#"{"executor": "ramping-arrival-rate", "preAllocatedVUs": 2,
                "stages": [{"duration": "1s", "target": 10}]}"#,
        );
        assert_eq!(ramp_rate.max_vus(), 2, "maxVUs defaults to preAllocatedVUs");
        let err = serde_json::from_str::<Executor>(
            r#"{"executor": "constant-arrival-rate", "rate": 1, "duration": "1s"}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("preAllocatedVUs"), "{err}");
    }

    #[test]
    fn ramping_vus_plans_its_vus_over_time() {
        let executor = Executor::RampingVus {
            start_vus: 0,
            stages: vec![stage(10, 10), stage(5, 10), stage(10, 0)],
            graceful_ramp_down: Duration::ZERO,
        };
        let at = |ms: u64| executor.planned_vus(Duration::from_millis(ms));
        assert_eq!(at(0), 0);
        assert_eq!(at(999), 0);
        assert_eq!(at(1000), 1);
        assert_eq!(at(5500), 5);
        assert_eq!(at(12_000), 10);
        assert_eq!(at(16_000), 9);
        assert_eq!(at(24_999), 1);
        assert_eq!(at(25_000), 0, "over");
        assert_eq!(executor.max_vus(), 10);
        assert_eq!(executor.duration(), Duration::from_secs(25));
    }

    #[test]
    fn invalid_executors_say_what_to_change() {
        let cases = [
            (
                r#"{"executor": "ramping-vus", "stages": []}"#,
                "stages is empty",
            ),
            (
                r#"{"executor": "ramping-vus", "startVUs": 0, "stages": [{"duration": "1s", "target": 0}]}"#,
                "no VU would ever run",
            ),
            (
                r#"{"executor": "constant-arrival-rate", "rate": 0, "duration": "1s", "preAllocatedVUs": 1}"#,
                "rate must be at least 1",
            ),
            (
                r#"{"executor": "constant-arrival-rate", "rate": 5, "duration": "1s", "preAllocatedVUs": 4, "maxVUs": 2}"#,
                "maxVUs (2) must be at least preAllocatedVUs (4)",
            ),
            (
                r#"{"executor": "shared-iterations", "vus": 5, "iterations": 2}"#,
                "use at most 2 VUs",
            ),
            (
                r#"{"executor": "constant-vus", "vus": 5, "duration": "1s", "maxVUs": 2}"#,
                "maxVUs (2) must be at least vus (5)",
            ),
        ];
        for (json, message) in cases {
            let err = parse(json).validate().unwrap_err();
            assert!(err.contains(message), "{json}: {err}");
        }
    }

    #[test]
    fn descriptions_read_as_sentences() {
        let rate = parse(
            r#"{"executor": "constant-arrival-rate", "rate": 50, "duration": "1m",
                "preAllocatedVUs": 5, "maxVUs": 100}"#,
        );
        assert_eq!(rate.describe(), "50 iterations/s for 1m (5-100 VUs)");
        let ramp = Executor::RampingVus {
            start_vus: 1,
            stages: vec![stage(30, 100), stage(10, 0)],
            graceful_ramp_down: Duration::from_secs(5),
        };
        assert_eq!(
            ramp.describe(),
            "1 VU ramping through 30s:100,10s:0 (graceful ramp-down 5s)"
        );
    }
}
