//! One VU from birth to end: instantiate, `on-vu-start`, iterations, `on-vu-stop`; a trap
//! throws the instance away and the VU starts over with a fresh one.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::scheduler::{Phase, ScenarioRun};
use crate::engine::{Identity, Instance, InstanceState};
use crate::runlog::{Level, Source};
use crate::stats::{IterationOutcome, Recorder};

/// Pause before re-creating a VU whose start failed, so a broken scenario does not spin.
const RESTART_BACKOFF: Duration = Duration::from_millis(200);
/// Consecutive failed starts after which a VU is retired.
const MAX_FAILED_STARTS: u32 = 5;

/// When the running iteration started, in nanoseconds after the VU was born, plus one;
/// 0 when no iteration runs. Read when the VU is cut, to count the iteration as interrupted.
struct InFlight {
    born: Instant,
    started: AtomicU64,
}

impl InFlight {
    fn begin(&self) {
        let nanos = self.born.elapsed().as_nanos() as u64;
        self.started.store(nanos + 1, Ordering::Relaxed);
    }

    fn end(&self) {
        self.started.store(0, Ordering::Relaxed);
    }

    fn running_for(&self) -> Option<Duration> {
        match self.started.load(Ordering::Relaxed) {
            0 => None,
            started => Some(
                self.born
                    .elapsed()
                    .saturating_sub(Duration::from_nanos(started - 1)),
            ),
        }
    }
}

/// The whole life of VU `id` in `run`. Cutting it (the end of the graceful stop) drops
/// whatever it is doing: the instance with it, and a running iteration counts as interrupted.
pub(crate) async fn vu_life(run: Arc<ScenarioRun>, id: u32, phase: watch::Receiver<Phase>) {
    let recorder = run.context.collector.recorder(id);
    let in_flight = InFlight {
        born: Instant::now(),
        started: AtomicU64::new(0),
    };
    let mut cut_phase = phase.clone();
    run.context.collector.add_vus(1);
    // One select for the whole life, not one per iteration: it is polled on every wake-up.
    tokio::select! {
        biased;
        () = live(&run, id, &phase, &recorder, &in_flight) => {}
        _ = cut_phase.wait_for(|p| *p == Phase::Cut) => {
            if let Some(duration) = in_flight.running_for() {
                recorder.iteration(IterationOutcome::Interrupted, duration);
            }
        }
    }
    run.context.collector.add_vus(-1);
}

async fn live(
    run: &ScenarioRun,
    id: u32,
    phase: &watch::Receiver<Phase>,
    recorder: &Recorder,
    in_flight: &InFlight,
) {
    let context = &run.context;
    let log = |level: Level, message: String| context.log.write(id, level, Source::Host, &message);
    let identity = Identity {
        vu: id,
        scenario: Arc::from(run.plan.name.as_str()),
    };
    let running = || *phase.borrow() == Phase::Running;
    let mut rng = fastrand::Rng::new();
    let mut started = 0u64;
    let mut failed_starts = 0u32;

    'life: while running() {
        let state = InstanceState::new(context, identity.clone());
        let mut instance = match Instance::new(&run.scenario, state).await {
            Ok(instance) => instance,
            Err(trap) => {
                log(
                    Level::Error,
                    format!("VU {id} could not be instantiated: {trap}"),
                );
                return;
            }
        };
        instance.state_mut().set_iteration(started);
        let failure = match instance.on_vu_start().await {
            Ok(Ok(())) => None,
            Ok(Err(message)) => Some(format!("on-vu-start failed: {message}")),
            Err(trap) => Some(format!("on-vu-start trapped: {trap}")),
        };
        if let Some(failure) = failure {
            failed_starts += 1;
            if failed_starts >= MAX_FAILED_STARTS {
                log(
                    Level::Error,
                    format!("VU {id} retired after {failed_starts} failed starts; last: {failure}"),
                );
                return;
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
            if !running() || !run.gate.admit(started) {
                if let Err(trap) = instance.on_vu_stop().await {
                    log(Level::Warn, format!("VU {id}: on-vu-stop trapped: {trap}"));
                }
                return;
            }
            let task = run.tasks.pick(&mut rng);
            instance.state_mut().set_iteration(started);
            started += 1;
            let began = Instant::now();
            in_flight.begin();
            let outcome = instance.run_task(task).await;
            in_flight.end();
            match outcome {
                Ok(Ok(())) => recorder.iteration(IterationOutcome::Completed, began.elapsed()),
                Ok(Err(message)) => {
                    recorder.iteration(IterationOutcome::Failed, began.elapsed());
                    recorder.iteration_error(task_name(run, task), &message);
                }
                Err(trap) => {
                    recorder.iteration(IterationOutcome::Failed, began.elapsed());
                    recorder.iteration_error(task_name(run, task), &trap.message);
                    log(
                        Level::Warn,
                        format!("VU {id} trapped, starting it over: {trap}"),
                    );
                    continue 'life;
                }
            }
        }
    }
}

fn task_name(run: &ScenarioRun, task: u32) -> &str {
    run.scenario
        .info()
        .tasks
        .get(task as usize)
        .map_or("?", |t| t.name.as_str())
}
