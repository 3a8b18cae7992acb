//! Executors: how a scenario schedules VUs and iterations (k6's names and parameters).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::duration::serde_text;

fn ten_minutes() -> Duration {
    Duration::from_secs(600)
}

fn one() -> u32 {
    1
}

/// An executor's configuration, as in k6's `scenarios` (`"executor": "constant-vus"`).
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
        /// Cut-off if the iterations take longer (default 10m).
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
        /// Cut-off if the iterations take longer (default 10m).
        #[serde(with = "serde_text", default = "ten_minutes")]
        max_duration: Duration,
    },
}

fn one_u64() -> u64 {
    1
}

impl Executor {
    /// k6's name of the executor.
    pub fn name(&self) -> &'static str {
        match self {
            Self::ConstantVus { .. } => "constant-vus",
            Self::PerVuIterations { .. } => "per-vu-iterations",
            Self::SharedIterations { .. } => "shared-iterations",
        }
    }

    /// VUs the executor uses.
    pub fn vus(&self) -> u32 {
        match self {
            Self::ConstantVus { vus, .. }
            | Self::PerVuIterations { vus, .. }
            | Self::SharedIterations { vus, .. } => *vus,
        }
    }

    /// Longest the executor runs before its graceful stop.
    pub fn max_duration(&self) -> Duration {
        match self {
            Self::ConstantVus { duration, .. } => *duration,
            Self::PerVuIterations { max_duration, .. }
            | Self::SharedIterations { max_duration, .. } => *max_duration,
        }
    }

    /// Checks the parameters; the message says what to change.
    pub fn validate(&self) -> Result<(), String> {
        if self.vus() == 0 {
            return Err(format!("{}: vus must be at least 1", self.name()));
        }
        if self.max_duration().is_zero() {
            return Err(format!(
                "{}: the duration must be longer than 0s",
                self.name()
            ));
        }
        match self {
            Self::PerVuIterations { iterations: 0, .. }
            | Self::SharedIterations { iterations: 0, .. } => {
                Err(format!("{}: iterations must be at least 1", self.name()))
            }
            Self::SharedIterations {
                vus, iterations, ..
            } if u64::from(*vus) > *iterations => Err(format!(
                "shared-iterations: {iterations} iterations cannot keep {vus} VUs busy; \
                 use at most {iterations} VUs"
            )),
            _ => Ok(()),
        }
    }

    /// One line for people: `10 VUs for 30s`.
    pub fn describe(&self) -> String {
        let plural = |n: u64, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
        match self {
            Self::ConstantVus { vus, duration } => format!(
                "{} for {}",
                plural(u64::from(*vus), "VU"),
                super::format_duration(*duration)
            ),
            Self::PerVuIterations {
                vus,
                iterations,
                max_duration,
            } => format!(
                "{} × {} each (max {})",
                plural(u64::from(*vus), "VU"),
                plural(*iterations, "iteration"),
                super::format_duration(*max_duration)
            ),
            Self::SharedIterations {
                vus,
                iterations,
                max_duration,
            } => format!(
                "{} sharing {} (max {})",
                plural(u64::from(*vus), "VU"),
                plural(*iterations, "iteration"),
                super::format_duration(*max_duration)
            ),
        }
    }
}
