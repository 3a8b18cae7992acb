//! One VU from birth to end: instantiate, `on-vu-start`, iterations, `on-vu-stop`; a trap
//! throws the instance away and the VU starts over with a fresh one.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::scheduler::{Phase, ScenarioRun};
use crate::engine::{Identity, Instance, InstanceState};
use crate::runlog::{Level, Source};
use crate::stats::IterationOutcome;

/// Runs `fut` unless the phase reaches [`Phase::Cut`] first.
async fn until_cut<F: Future>(phase: &mut watch::Receiver<Phase>, fut: F) -> Option<F::Output> {
    tokio::select! {
        biased;
        out = fut => Some(out),
        _ = phase.wait_for(|p| *p == Phase::Cut) => None,
    }
}

/// Pause before re-creating a VU whose start failed, so a broken scenario does not spin.
const RESTART_BACKOFF: Duration = Duration::from_millis(200);
/// Consecutive failed starts after which a VU is retired.
const MAX_FAILED_STARTS: u32 = 5;

/// The whole life of VU `id` in `run`.
pub(crate) async fn vu_life(run: Arc<ScenarioRun>, id: u32, mut phase: watch::Receiver<Phase>) {
    let context = &run.context;
    let recorder = context.collector.recorder(id);
    let log = |level: Level, message: String| context.log.write(id, level, Source::Host, &message);
    let identity = Identity {
        vu: id,
        scenario: Arc::from(run.plan.name.as_str()),
    };
    let mut rng = fastrand::Rng::new();
    let mut started = 0u64;
    let mut failed_starts = 0u32;
    context.collector.add_vus(1);

    'life: while *phase.borrow() == Phase::Running {
        let state = InstanceState::new(context, identity.clone());
        let mut instance = match until_cut(&mut phase, Instance::new(&run.scenario, state)).await {
            None => break 'life,
            Some(Ok(instance)) => instance,
            Some(Err(trap)) => {
                log(
                    Level::Error,
                    format!("VU {id} could not be instantiated: {trap}"),
                );
                break 'life;
            }
        };
        instance.state_mut().set_iteration(started);
        let failure = match until_cut(&mut phase, instance.on_vu_start()).await {
            None => break 'life,
            Some(Ok(Ok(()))) => None,
            Some(Ok(Err(message))) => Some(format!("on-vu-start failed: {message}")),
            Some(Err(trap)) => Some(format!("on-vu-start trapped: {trap}")),
        };
        if let Some(failure) = failure {
            failed_starts += 1;
            if failed_starts >= MAX_FAILED_STARTS {
                log(
                    Level::Error,
                    format!("VU {id} retired after {failed_starts} failed starts; last: {failure}"),
                );
                break 'life;
            }
            log(
                Level::Error,
                format!("VU {id}: {failure}; starting it again"),
            );
            tokio::time::sleep(RESTART_BACKOFF).await;
            continue 'life;
        }
        failed_starts = 0;
        loop {
            if *phase.borrow() != Phase::Running || !run.gate.admit(started) {
                if let Some(Err(trap)) = until_cut(&mut phase, instance.on_vu_stop()).await {
                    log(Level::Warn, format!("VU {id}: on-vu-stop trapped: {trap}"));
                }
                break 'life;
            }
            let task = run.tasks.pick(&mut rng);
            instance.state_mut().set_iteration(started);
            started += 1;
            let began = Instant::now();
            match until_cut(&mut phase, instance.run_task(task)).await {
                None => {
                    recorder.iteration(IterationOutcome::Interrupted, began.elapsed());
                    break 'life;
                }
                Some(Ok(Ok(()))) => {
                    recorder.iteration(IterationOutcome::Completed, began.elapsed())
                }
                Some(Ok(Err(message))) => {
                    recorder.iteration(IterationOutcome::Failed, began.elapsed());
                    recorder.iteration_error(task_name(&run, task), &message);
                }
                Some(Err(trap)) => {
                    recorder.iteration(IterationOutcome::Failed, began.elapsed());
                    recorder.iteration_error(task_name(&run, task), &trap.message);
                    log(
                        Level::Warn,
                        format!("VU {id} trapped, starting it over: {trap}"),
                    );
                    continue 'life;
                }
            }
        }
    }
    context.collector.add_vus(-1);
}

fn task_name(run: &ScenarioRun, task: u32) -> &str {
    run.scenario
        .info()
        .tasks
        .get(task as usize)
        .map_or("?", |t| t.name.as_str())
}
