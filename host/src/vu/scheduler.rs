//! Runs one scenario of the plan: waits for its `startTime`, runs its executor (closed or
//! open model), ends it on time, cuts what overstays the graceful stop.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use tokio::sync::{oneshot, watch};

use super::arrival::{self, IdlePool};
use super::clock::Clock;
use super::closed;
use super::gate::Gate;
use super::tasks::TaskPicker;
use crate::config::ScenarioPlan;

/// Longest an open model's time is held past its end for the last starts of its schedule to
/// be handed out (they are due by the end; only a stalled scheduler takes longer, and the
/// starts it did not hand out then count as dropped).
const LAST_START_GRACE: Duration = Duration::from_secs(1);
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
    /// The scenario's context: the run's, with this scenario's parameters and tags.
    pub context: RunContext,
    /// How iterations pick their task.
    pub tasks: TaskPicker,
    /// Numbers VUs across all scenarios of the run, from 1.
    pub next_vu: Arc<AtomicU32>,
    /// The run's test clock.
    pub clock: Clock,
    /// Closed models: how many VUs should run now (set by ramps and live control).
    pub target: Arc<watch::Sender<u32>>,
    pub(crate) gate: Gate,
    pub(crate) idle: IdlePool,
}

impl ScenarioRun {
    /// Prepares a scenario of the plan. `target` is the scenario's VU target, shared with
    /// whoever controls the run live.
    pub fn new(
        plan: ScenarioPlan,
        scenario: Scenario,
        context: RunContext,
        tasks: TaskPicker,
        next_vu: Arc<AtomicU32>,
        clock: Clock,
        target: Arc<watch::Sender<u32>>,
    ) -> Self {
        let gate = Gate::of(&plan);
        Self {
            plan,
            scenario,
            context,
            tasks,
            next_vu,
            clock,
            target,
            gate,
            idle: IdlePool::default(),
        }
    }

    /// Time a VU above the VU target gets to finish its iteration before it is cut.
    pub(crate) fn ramp_down_grace(&self) -> Duration {
        match self.plan.executor.graceful_ramp_down() {
            Duration::ZERO => self.plan.graceful_stop,
            grace => grace,
        }
    }

    /// The next VU's number in the run: under an execution segment, its number in the
    /// whole test (k6's `idInTest`), so that no two instances of a sequence share one.
    pub(crate) fn new_vu_id(&self) -> u32 {
        let local = self.next_vu.fetch_add(1, Ordering::Relaxed);
        match &self.plan.segment {
            Some(tuple) => u32::try_from(tuple.nth_owned(local.into())).unwrap_or(u32::MAX),
            None => local,
        }
    }
}

/// Runs `run` to its end. `stop` turning true stops it early, gracefully.
pub async fn run_scenario(run: Arc<ScenarioRun>, stop: watch::Receiver<bool>) {
    let mut stopped = stop.clone();
    tokio::select! {
        () = run.clock.sleep_until(run.plan.start_time) => {}
        _ = stopped.wait_for(|stopped| *stopped) => return,
    }
    let (phase_tx, phase_rx) = watch::channel(Phase::Running);
    // The executor says when its time starts (an open model first readies its VUs).
    let (begin_tx, begin_rx) = oneshot::channel::<Duration>();
    // An open model says when its schedule's every start was handed out: a ramp's last
    // start may fall on the executor's very end, and must not lose a race with it.
    let (dispatched_tx, dispatched_rx) = oneshot::channel::<()>();
    let expired = Arc::new(AtomicBool::new(false));
    let timer = {
        let (clock, length) = (run.clock.clone(), run.plan.executor.duration());
        let (graceful, expired) = (run.plan.graceful_stop, expired.clone());
        let mut stop = stop;
        // The phase only moves forward: the last value (Cut) stays readable after the timer.
        tokio::spawn(async move {
            let time_up = async {
                if let Ok(began) = begin_rx.await {
                    clock.sleep_until(began + length).await;
                    // A closed model drops its sender: no wait.
                    let _ = tokio::time::timeout(LAST_START_GRACE, dispatched_rx).await;
                    expired.store(true, Ordering::Relaxed);
                }
            };
            tokio::select! {
                () = time_up => {}
                _ = stop.wait_for(|stopped| *stopped) => {}
            }
            phase_tx.send_replace(Phase::Stopping);
            tokio::time::sleep(graceful).await;
            phase_tx.send_replace(Phase::Cut);
        })
    };
    if run.plan.executor.is_arrival_rate() {
        arrival::run(run.clone(), phase_rx, begin_tx, dispatched_tx).await;
    } else {
        drop(dispatched_tx);
        closed::run(run.clone(), phase_rx, begin_tx).await;
    }
    timer.abort();
    if expired.load(Ordering::Relaxed) {
        let unstarted = run.gate.unstarted();
        if unstarted > 0 {
            run.context.recorder().dropped_iterations(unstarted);
        }
    }
}
