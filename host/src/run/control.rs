//! Live control of a running run (k6's externally-controlled idea): pause and resume the
//! whole run, change the VUs of a `constant-vus` scenario. The terminal and the API both
//! drive it through these calls.

use std::sync::Arc;

use serde::Serialize;
use tokio::sync::watch;

use super::{RunHandle, RunStatus};
use crate::config::{Executor, ScenarioPlan};

/// Why a control request was refused; the message says what would work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    /// No scenario of that name.
    #[error("the run has no scenario {name:?}; its scenarios are: {known}")]
    UnknownScenario {
        /// The name asked for.
        name: String,
        /// The names there are.
        known: String,
    },
    /// The scenario's VUs are set by its executor.
    #[error(
        "scenario {name:?} is {executor}: only constant-vus scenarios take a VU count live \
         (their VUs are otherwise fixed by the plan)"
    )]
    NotAdjustable {
        /// The scenario.
        name: String,
        /// Its executor.
        executor: &'static str,
    },
    /// More VUs than the scenario's `maxVUs`.
    #[error(
        "scenario {name:?} can have at most {max} VUs (its maxVUs); plan a higher maxVUs, \
         or --max-vus on the command line"
    )]
    TooMany {
        /// The scenario.
        name: String,
        /// Its `maxVUs`.
        max: u32,
    },
    /// The run is over, or not yet running.
    #[error("the run is {0}, so it cannot be changed")]
    NotRunning(&'static str),
    /// The run's VUs run on agents: pausing or resizing them here would change nothing.
    #[error(
        "the run is distributed: its VUs run on its agents, which take no live VU count or \
         pause; stop it, or start it again with another plan"
    )]
    Distributed,
}

/// A scenario as live control sees it.
#[derive(Debug, Clone, Serialize)]
pub struct LiveScenario {
    /// Its name.
    pub name: String,
    /// Its executor's k6 name.
    pub executor: &'static str,
    /// Whether its VU count can be changed (`constant-vus`).
    pub adjustable: bool,
    /// The most VUs it may have.
    pub max_vus: u32,
    /// Its VU target (the VUs it runs, or ramps to).
    #[serde(skip)]
    pub(crate) target: Arc<watch::Sender<u32>>,
}

impl LiveScenario {
    pub(crate) fn new(plan: &ScenarioPlan) -> Self {
        let executor = &plan.executor;
        Self {
            name: plan.name.clone(),
            executor: executor.name(),
            adjustable: matches!(executor, Executor::ConstantVus { .. }),
            max_vus: plan.max_vus(),
            target: Arc::new(watch::channel(plan.initial_vus()).0),
        }
    }

    /// The VUs it should run now.
    pub fn vus(&self) -> u32 {
        *self.target.borrow()
    }
}

impl RunHandle {
    fn require_live(&self) -> Result<(), ControlError> {
        if matches!(self.shared.placement, super::Placement::Remote) {
            return Err(ControlError::Distributed);
        }
        match self.status() {
            RunStatus::Starting => Err(ControlError::NotRunning("starting")),
            status if status.is_finished() => Err(ControlError::NotRunning("finished")),
            _ => Ok(()),
        }
    }

    /// Sets the status to `to` if it is `from` (a stop may have moved it on meanwhile).
    fn move_status(&self, from: RunStatus, to: RunStatus) {
        self.shared.status.send_if_modified(|status| {
            let moved = *status == from;
            if moved {
                *status = to;
            }
            moved
        });
    }

    /// The run's scenarios and whether each can be adjusted.
    pub fn live_scenarios(&self) -> &[LiveScenario] {
        &self.shared.scenarios
    }

    /// Sets the VUs of the `constant-vus` scenario `name` (0 to its `maxVUs`). New VUs start
    /// at the scenario's spawn rate; VUs above the count finish their iteration (within the
    /// graceful stop) and leave.
    pub fn set_vus(&self, name: &str, vus: u32) -> Result<(), ControlError> {
        self.require_live()?;
        let scenarios = &self.shared.scenarios;
        let Some(scenario) = scenarios.iter().find(|s| s.name == name) else {
            let known: Vec<&str> = scenarios.iter().map(|s| s.name.as_str()).collect();
            return Err(ControlError::UnknownScenario {
                name: name.to_owned(),
                known: known.join(", "),
            });
        };
        if !scenario.adjustable {
            return Err(ControlError::NotAdjustable {
                name: name.to_owned(),
                executor: scenario.executor,
            });
        }
        if vus > scenario.max_vus {
            return Err(ControlError::TooMany {
                name: name.to_owned(),
                max: scenario.max_vus,
            });
        }
        scenario.target.send_replace(vus);
        Ok(())
    }

    /// Pauses the run: no iteration starts (in-flight ones finish) and the test clock stops,
    /// so durations, ramps and schedules resume where they were. `false` if already paused.
    pub fn pause(&self) -> Result<bool, ControlError> {
        self.require_live()?;
        let paused = self.shared.clock.pause();
        self.move_status(RunStatus::Running, RunStatus::Paused);
        Ok(paused)
    }

    /// Resumes a paused run; `false` if it was not paused.
    pub fn resume(&self) -> Result<bool, ControlError> {
        self.require_live()?;
        let resumed = self.shared.clock.resume();
        self.move_status(RunStatus::Paused, RunStatus::Running);
        Ok(resumed)
    }

    /// Whether the run is paused.
    pub fn is_paused(&self) -> bool {
        self.shared.clock.is_paused()
    }
}
