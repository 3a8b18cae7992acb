//! One VU from birth to end: instantiate, `on-vu-start`, iterations as its executor feeds
//! them, `on-vu-stop`; a trap throws the instance away and the VU starts over with a fresh
//! one.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{oneshot, watch};

use super::scheduler::{Phase, ScenarioRun};
use super::woken::when_woken;
use crate::engine::{Identity, Instance, InstanceState};
use crate::runlog::{Level, Source};
use crate::stats::{IterationOutcome, Recorder};

/// Pause before re-creating a VU whose start failed, so a broken scenario does not spin.
const RESTART_BACKOFF: Duration = Duration::from_millis(200);
/// Consecutive failed starts after which a VU is retired.
const MAX_FAILED_STARTS: u32 = 5;

/// One iteration to run: when it was due. Closed models run at once (`None`); open models
/// carry the scheduled start, from which the iteration and its requests are timed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ticket {
    pub scheduled: Option<Instant>,
}

/// How a VU gets its iterations.
pub(crate) enum Feed {
    /// Closed model: VU `index` of its scenario iterates while its executor admits and the
    /// scenario's VU target covers it.
    Closed { index: u32 },
    /// Open model: the VU waits in the scenario's idle pool for tickets from the arrival
    /// scheduler. `first` is the ticket a VU added on demand was made for; `ready` is told
    /// when the VU first waits (or gives up), so the schedule starts with its VUs ready.
    Open {
        first: Option<Ticket>,
        ready: Option<oneshot::Sender<()>>,
    },
}

/// Why a VU's life ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exit {
    /// Its executor has no more iterations for it.
    Done,
    /// The scenario's VU target dropped below it (a ramp-down or live control).
    Retired,
    /// It could not start (instantiation or `on-vu-start` kept failing).
    Failed,
}

enum Next {
    Run(Ticket),
    Exit(Exit),
}

/// When the running iteration started, in nanoseconds after the VU was born, plus one;
/// 0 when no iteration runs. Read when the VU is cut, to count the iteration as interrupted.
struct InFlight {
    born: Instant,
    started: AtomicU64,
}

impl InFlight {
    fn begin(&self, at: Instant) {
        let nanos = at.saturating_duration_since(self.born).as_nanos() as u64;
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

/// The whole life of VU `id` in `run`. Cutting it (the end of the graceful stop, or of a
/// ramp-down's grace) drops whatever it is doing: the instance with it, and a running
/// iteration counts as interrupted.
pub(crate) async fn vu_life(
    run: Arc<ScenarioRun>,
    id: u32,
    mut feed: Feed,
    phase: watch::Receiver<Phase>,
) -> Exit {
    let recorder = run.context.recorder();
    let in_flight = InFlight {
        born: Instant::now(),
        started: AtomicU64::new(0),
    };
    let mut cut_phase = phase.clone();
    let ramp_down = match feed {
        Feed::Closed { index } => Some(index),
        Feed::Open { .. } => None,
    };
    let interrupted = || {
        if let Some(duration) = in_flight.running_for() {
            recorder.iteration(IterationOutcome::Interrupted, duration);
        }
    };
    run.context.collector.add_vus(1);
    // One select for the whole life, not one per iteration: it is polled on every wake-up,
    // and the signals that cut the VU only when they fire (`when_woken`).
    let exit = tokio::select! {
        biased;
        exit = live(&run, id, &mut feed, &phase, &recorder, &in_flight) => exit,
        _ = when_woken(cut_phase.wait_for(|p| *p == Phase::Cut)) => {
            interrupted();
            Exit::Done
        }
        () = when_woken(cut_by_ramp_down(&run, ramp_down)) => {
            interrupted();
            Exit::Retired
        }
    };
    run.context.collector.add_vus(-1);
    exit
}

/// Returns when VU `index` has been above the scenario's VU target for longer than the
/// grace of a ramp-down; never for open-model VUs.
async fn cut_by_ramp_down(run: &ScenarioRun, index: Option<u32>) {
    let Some(index) = index else {
        return std::future::pending().await;
    };
    let grace = run.ramp_down_grace();
    let mut target = run.target.subscribe();
    loop {
        let above = target.wait_for(|t| *t <= index).await.is_ok();
        if !above {
            return std::future::pending().await;
        }
        let back = tokio::select! {
            () = tokio::time::sleep(grace) => return,
            back = target.wait_for(|t| *t > index) => back.is_ok(),
        };
        if !back {
            return std::future::pending().await;
        }
    }
}

/// The next iteration for a VU that started `started` so far, or why it ends.
async fn next(
    run: &ScenarioRun,
    feed: &mut Feed,
    phase: &watch::Receiver<Phase>,
    started: u64,
) -> Next {
    match feed {
        Feed::Closed { index } => loop {
            if *phase.borrow() != Phase::Running {
                return Next::Exit(Exit::Done);
            }
            if *index >= *run.target.borrow() {
                return Next::Exit(Exit::Retired);
            }
            if run.clock.is_paused() {
                let (mut phase, mut target) = (phase.clone(), run.target.subscribe());
                tokio::select! {
                    () = run.clock.running() => {}
                    _ = phase.changed() => {}
                    _ = target.changed() => {}
                }
                continue;
            }
            return if run.gate.admit(started) {
                Next::Run(Ticket { scheduled: None })
            } else {
                Next::Exit(Exit::Done)
            };
        },
        Feed::Open { first, ready } => {
            if let Some(ready) = ready.take() {
                let _ = ready.send(());
            }
            if let Some(ticket) = first.take() {
                return Next::Run(ticket);
            }
            let (sender, receiver) = oneshot::channel();
            if !run.idle.push(sender) {
                return Next::Exit(Exit::Done);
            }
            match receiver.await {
                Ok(ticket) => Next::Run(ticket),
                Err(_) => Next::Exit(Exit::Done),
            }
        }
    }
}

async fn live(
    run: &ScenarioRun,
    id: u32,
    feed: &mut Feed,
    phase: &watch::Receiver<Phase>,
    recorder: &Recorder,
    in_flight: &InFlight,
) -> Exit {
    let context = &run.context;
    let log = |level: Level, message: String| context.log.write(id, level, Source::Host, &message);
    // A ticket the VU was made for is lost if the VU never starts: count it as dropped.
    let lose_first = |feed: &mut Feed| {
        if let Feed::Open {
            first: first @ Some(_),
            ..
        } = feed
        {
            *first = None;
            recorder.dropped_iterations(1);
        }
    };
    let identity = Identity {
        vu: id,
        scenario: Arc::from(run.plan.name.as_str()),
    };
    let mut rng = fastrand::Rng::new();
    let mut started = 0u64;
    let mut failed_starts = 0u32;

    'life: loop {
        if *phase.borrow() != Phase::Running {
            lose_first(feed);
            return Exit::Done;
        }
        let state = InstanceState::new(context, identity.clone());
        // The instantiation and hook futures are boxed: inline, the largest of them (3 KiB
        // for instantiation) would sit in every parked VU's task for its whole life.
        let mut instance = match Box::pin(Instance::new(&run.scenario, state)).await {
            Ok(instance) => instance,
            Err(trap) => {
                log(
                    Level::Error,
                    format!("VU {id} could not be instantiated: {trap}"),
                );
                lose_first(feed);
                context.collector.vu_retired();
                return Exit::Failed;
            }
        };
        instance.state_mut().set_iteration(started);
        let failure = match Box::pin(instance.on_vu_start()).await {
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
                lose_first(feed);
                context.collector.vu_retired();
                return Exit::Failed;
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
            let ticket = match next(run, feed, phase, started).await {
                Next::Run(ticket) => ticket,
                Next::Exit(exit) => {
                    if let Err(trap) = Box::pin(instance.on_vu_stop()).await {
                        log(Level::Warn, format!("VU {id}: on-vu-stop trapped: {trap}"));
                    }
                    return exit;
                }
            };
            let task = run.tasks.pick(&mut rng);
            instance.state_mut().set_iteration(started);
            started += 1;
            let began = Instant::now();
            // An open model times the iteration, and every request in it, from when it was
            // due: a late start is latency the target's users would have seen.
            let due = ticket.scheduled.map_or(began, |at| at.min(began));
            instance.state_mut().set_start_lag(began - due);
            in_flight.begin(due);
            let outcome = instance.run_task(task).await;
            in_flight.end();
            let took = due.elapsed();
            match outcome {
                Ok(Ok(())) => recorder.iteration(IterationOutcome::Completed, took),
                Ok(Err(message)) => {
                    recorder.iteration(IterationOutcome::Failed, took);
                    recorder.iteration_error(task_name(run, task), "error", &message);
                }
                Err(trap) => {
                    recorder.iteration(IterationOutcome::Failed, took);
                    recorder.iteration_error(
                        task_name(run, task),
                        trap.kind.as_str(),
                        &trap.message,
                    );
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
