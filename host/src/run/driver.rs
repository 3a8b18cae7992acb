//! Drives one run from `on-test-start` to the report.

use std::sync::Arc;
use std::sync::atomic::AtomicU32;
use std::time::SystemTime;

use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::MissedTickBehavior;

use super::test_instance::TestInstance;
use super::{Placement, Report, RunStatus, Shared};
use crate::engine::{RunContext, Scenario};
use crate::runlog::{Level, Source};
use crate::stats::{Scope, Snapshot};
use crate::vu::{ScenarioRun, TaskPicker, run_scenario};

/// Builds the report of the run as it stands.
pub(crate) fn report(shared: &Shared, status: RunStatus) -> Report {
    Report {
        status,
        plan: shared.plan.clone(),
        scenario: shared.info.clone(),
        started_at: shared.started_at,
        snapshot: shared.collector.snapshot(),
        series: shared.collector.series(),
        log_dropped: shared.log.dropped(),
    }
}

/// Ends the run with `status`: publishes the report, closes the interval stream.
pub(crate) fn finish(shared: &Shared, status: RunStatus) {
    if shared.report.borrow().is_some() {
        return;
    }
    if let RunStatus::Aborted { reason } = &status {
        shared.log.write(
            0,
            Level::Error,
            Source::Host,
            &format!("run aborted: {reason}"),
        );
    }
    let report = Arc::new(report(shared, status.clone()));
    shared.status.send_replace(status);
    shared.report.send_replace(Some(report));
    shared.close_streams();
}

pub(crate) async fn drive(shared: Arc<Shared>, scenario: Scenario, pickers: Vec<TaskPicker>) {
    let context = test_context(&shared);
    let mut test = TestInstance::new(scenario.clone(), context.clone());
    let setup = match &shared.placement {
        Placement::Part { setup_data, .. } => Ok(setup_data.clone()),
        _ => test.on_test_start().await,
    };
    match setup {
        Ok(data) => {
            let _ = context.setup_data.set(data.clone());
            shared.setup.send_replace(Some(Arc::new(data)));
        }
        Err(reason) => return finish(&shared, RunStatus::Aborted { reason }),
    }
    if let Placement::Part { start_at, .. } = &shared.placement
        && !wait_for_start(&shared, *start_at).await
    {
        return finish(&shared, RunStatus::Stopped);
    }
    shared.status.send_replace(RunStatus::Running);
    let stopping = mark_stopping(shared.clone());
    let deadline = enforce_run_timeout(&shared);
    // An agent's part runs no hook but on-test-start's data: the coordinator runs them.
    let (stats_sender, hooks) = if shared.placement.is_part() {
        (watch::channel(None).0, None)
    } else {
        let (sender, hooks) = test.spawn_on_stats();
        (sender, Some(hooks))
    };
    let ticker = tokio::spawn(close_intervals(shared.clone(), stats_sender));
    if matches!(shared.placement, Placement::Remote) {
        let mut done = shared.parts_done.subscribe();
        let _ = done.wait_for(|done| *done).await;
    } else {
        run_scenarios(&shared, &scenario, pickers, &context).await;
    }
    stopping.abort();
    if let Some(deadline) = deadline {
        deadline.abort();
    }
    ticker.abort();
    // The ticker owned the on-stats sender: aborting it ends the hook task, awaited before
    // the final figures so the requests of a last on-stats call are in them.
    let _ = ticker.await;
    let test = match hooks {
        Some(hooks) => hooks.await.ok(),
        None => None,
    };
    close_interval(&shared);
    let final_snapshot = shared.collector.snapshot();
    if let Some(mut test) = test {
        test.on_test_stop(&final_snapshot).await;
    }
    finish(&shared, end_status(&shared));
}

/// The context of the run's test instance (its hooks), and what the scenarios' contexts
/// start from.
fn test_context(shared: &Shared) -> RunContext {
    let plan = &shared.plan;
    RunContext {
        client: shared.client.clone(),
        collector: shared.collector.clone(),
        log: shared.log.clone(),
        base_url: plan.base_url.clone(),
        http: plan.http.clone(),
        params: Arc::new(plan.params.clone()),
        setup_data: Arc::default(),
        limits: plan.limits.clone(),
        scope: Arc::new(Scope {
            scenario: "test".into(),
            tags: Default::default(),
        }),
        latency_correction: false,
    }
}

/// Waits for the wall-clock instant a distributed run's parts start together; false when
/// the run was stopped first.
async fn wait_for_start(shared: &Shared, start_at: SystemTime) -> bool {
    let wait = start_at
        .duration_since(SystemTime::now())
        .unwrap_or_default();
    let mut stop = shared.stop.subscribe();
    tokio::select! {
        () = tokio::time::sleep(wait) => true,
        _ = stop.wait_for(|stopped| *stopped) => false,
    }
}

/// Marks the run `Stopping` when a stop is asked.
fn mark_stopping(shared: Arc<Shared>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut stop = shared.stop.subscribe();
        if stop.wait_for(|stopped| *stopped).await.is_ok() {
            shared.status.send_if_modified(|status| {
                let running = matches!(*status, RunStatus::Running | RunStatus::Paused);
                if running {
                    *status = RunStatus::Stopping;
                }
                running
            });
        }
    })
}

/// limits.runTimeout: the whole run, wall clock, then a graceful stop.
fn enforce_run_timeout(shared: &Arc<Shared>) -> Option<tokio::task::JoinHandle<()>> {
    let run_timeout = shared.plan.limits.run_timeout;
    (!run_timeout.is_zero()).then(|| {
        let shared = shared.clone();
        tokio::spawn(async move {
            tokio::time::sleep(run_timeout).await;
            let message = format!(
                "the run reached its time limit of {} (limits.runTimeout) and stops",
                crate::config::format_duration(run_timeout)
            );
            shared.log.write(0, Level::Warn, Source::Host, &message);
            shared.stop.send_replace(true);
        })
    })
}

/// Runs every scenario with work for this instance to its end.
async fn run_scenarios(
    shared: &Shared,
    scenario: &Scenario,
    pickers: Vec<TaskPicker>,
    context: &RunContext,
) {
    let plan = &shared.plan;
    let next_vu = Arc::new(AtomicU32::new(1));
    let mut scenarios = JoinSet::new();
    for ((scenario_plan, picker), live) in plan.scenarios.iter().zip(pickers).zip(&shared.scenarios)
    {
        // Under an execution segment, a scenario may have nothing for this instance.
        if !scenario_plan.has_work() {
            continue;
        }
        let mut params = plan.params.clone();
        params.extend(scenario_plan.env.clone());
        let context = RunContext {
            params: Arc::new(params),
            scope: Arc::new(Scope {
                scenario: scenario_plan.name.clone(),
                tags: scenario_plan.tags.clone(),
            }),
            latency_correction: plan.latency_correction
                && !scenario_plan.executor.is_arrival_rate(),
            ..context.clone()
        };
        let run = ScenarioRun::new(
            scenario_plan.clone(),
            scenario.clone(),
            context,
            picker,
            next_vu.clone(),
            shared.clock.clone(),
            live.target.clone(),
        );
        scenarios.spawn(run_scenario(Arc::new(run), shared.stop.subscribe()));
    }
    while scenarios.join_next().await.is_some() {}
}

/// How the run ended: a threshold's abort, then another abort, then a stop, before
/// completion.
fn end_status(shared: &Shared) -> RunStatus {
    if let Some(threshold) = shared.aborted_by.get() {
        return RunStatus::AbortedByThreshold {
            threshold: threshold.clone(),
        };
    }
    if let Some(reason) = shared.aborted.get() {
        return RunStatus::Aborted {
            reason: reason.clone(),
        };
    }
    if *shared.stop.borrow() {
        RunStatus::Stopped
    } else {
        RunStatus::Completed
    }
}

/// Stops the run if a threshold with `abortOnFail` fails in `snapshot`, once its
/// `delayAbortEval` has passed.
fn abort_on_failed_threshold(shared: &Shared, snapshot: &Snapshot) {
    let thresholds = shared.plan.thresholds.iter().zip(&snapshot.thresholds);
    let failed = thresholds
        .filter(|(plan, verdict)| {
            plan.abort_on_fail && !verdict.ok && snapshot.elapsed >= plan.delay_abort_eval
        })
        .map(|(_, verdict)| format!("{}: {}", verdict.metric, verdict.expression))
        .next();
    let Some(threshold) = failed else { return };
    let message = format!("threshold {threshold} failed; it has abortOnFail, so the run stops");
    if shared.aborted_by.set(threshold).is_ok() {
        shared.log.write(0, Level::Error, Source::Host, &message);
        shared.stop.send_replace(true);
    }
}

/// Closes the current interval and publishes it; says in the log which name caps the run
/// reached since the last one.
fn close_interval(shared: &Shared) {
    let (interval, delta) = shared.collector.close_interval_with_delta();
    shared.publish_interval(interval, delta);
    for sentence in shared.collector.new_overflows() {
        shared.log.write(0, Level::Warn, Source::Host, &sentence);
    }
}

/// Closes an interval at each tick, publishes it, and hands a snapshot to `on-stats`.
async fn close_intervals(shared: Arc<Shared>, stats: watch::Sender<Option<Arc<Snapshot>>>) {
    let mut ticker = tokio::time::interval(shared.plan.stats_interval);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    ticker.tick().await;
    loop {
        ticker.tick().await;
        close_interval(&shared);
        let snapshot = shared.collector.snapshot();
        // An agent's part is judged with the others, at the coordinator.
        if !shared.placement.is_part() {
            abort_on_failed_threshold(&shared, &snapshot);
        }
        stats.send_replace(Some(Arc::new(snapshot)));
    }
}
