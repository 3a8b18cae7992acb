//! Runs one scenario of the plan: starts its VUs, ends its executor, cuts what overstays.

use std::sync::Arc;
use std::sync::atomic::AtomicU32;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::executor::Gate;
use super::life::vu_life;
use super::tasks::TaskPicker;
use crate::config::ScenarioPlan;
use crate::engine::{RunContext, Scenario};

/// Where a scenario is in its life, as its VUs see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    /// Iterations may start.
    Running,
    /// No new iteration starts; in-flight ones may finish (the graceful stop).
    Stopping,
    /// In-flight iterations are cut and counted as interrupted.
    Cut,
}

/// Everything the VUs of one plan scenario share.
pub struct ScenarioRun {
    /// The plan's scenario.
    pub plan: ScenarioPlan,
    /// The compiled component.
    pub scenario: Scenario,
    /// The run's shared context.
    pub context: RunContext,
    /// How iterations pick their task.
    pub tasks: TaskPicker,
    /// Numbers VUs across all scenarios of the run, from 1.
    pub next_vu: Arc<AtomicU32>,
    pub(crate) gate: Gate,
}

impl ScenarioRun {
    /// Prepares a scenario of the plan, with the picker made for its tasks and `exec`.
    pub fn new(
        plan: ScenarioPlan,
        scenario: Scenario,
        context: RunContext,
        tasks: TaskPicker,
        next_vu: Arc<AtomicU32>,
    ) -> Self {
        let gate = Gate::of(&plan.executor);
        Self {
            plan,
            scenario,
            context,
            tasks,
            next_vu,
            gate,
        }
    }
}

/// Runs `run` to its end. `stop` turning true stops it early, gracefully.
pub async fn run_scenario(run: Arc<ScenarioRun>, mut stop: watch::Receiver<bool>) {
    let started = Instant::now();
    let (phase_tx, phase_rx) = watch::channel(Phase::Running);
    let end = started + run.plan.executor.max_duration();
    let graceful = run.plan.graceful_stop;
    // The phase only moves forward: the last value (Cut) stays readable after the timer ends.
    let timer = tokio::spawn(async move {
        tokio::select! {
            () = tokio::time::sleep_until(end) => {}
            _ = stop.wait_for(|stopped| *stopped) => {}
        }
        phase_tx.send_replace(Phase::Stopping);
        tokio::time::sleep(graceful).await;
        phase_tx.send_replace(Phase::Cut);
    });

    let mut vus = JoinSet::new();
    let mut spawn_phase = phase_rx.clone();
    for index in 0..run.plan.executor.vus() {
        if let Some(rate) = run.plan.spawn_rate {
            let at = started + Duration::from_secs_f64(f64::from(index) / rate);
            tokio::select! {
                () = tokio::time::sleep_until(at) => {}
                _ = spawn_phase.wait_for(|p| *p != Phase::Running) => break,
            }
        }
        let id = run
            .next_vu
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        vus.spawn(vu_life(run.clone(), id, phase_rx.clone()));
    }
    while vus.join_next().await.is_some() {}
    timer.abort();
}
