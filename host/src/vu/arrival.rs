//! Open models (`constant-arrival-rate`, `ramping-arrival-rate`): iterations start on a
//! schedule, evenly spaced, whatever earlier ones do.
//!
//! The pre-allocated VUs are made ready first; then at each scheduled start the most recently
//! idle VU takes the iteration. With no idle VU, a new one is added if `maxVUs` allows (its
//! start-up counts as the iteration's delay); otherwise the start is dropped and counted in
//! `dropped_iterations`. Iterations carry their scheduled start, from which they and their
//! requests are timed, so a slow target cannot hide behind busy VUs (no coordinated
//! omission).

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinSet;

use super::clock::Clock;
use super::life::{Feed, Ticket, vu_life};
use super::scheduler::{Phase, ScenarioRun};
use crate::config::ArrivalTimes;

/// Longest the pacer sleeps at once, so it notices a stop or a pause soon.
const PACER_NAP: Duration = Duration::from_millis(20);

/// The idle VUs of an open-model scenario, each waiting for a ticket. Closed when the
/// schedule is over, which tells every waiting VU to stop.
#[derive(Debug)]
pub(crate) struct IdlePool {
    waiting: Mutex<Option<Vec<oneshot::Sender<Ticket>>>>,
}

impl Default for IdlePool {
    fn default() -> Self {
        Self {
            waiting: Mutex::new(Some(Vec::new())),
        }
    }
}

impl IdlePool {
    fn lock(&self) -> MutexGuard<'_, Option<Vec<oneshot::Sender<Ticket>>>> {
        crate::sync::lock(&self.waiting)
    }

    /// Adds a waiting VU; `false` once the pool is closed.
    pub(crate) fn push(&self, vu: oneshot::Sender<Ticket>) -> bool {
        match self.lock().as_mut() {
            Some(waiting) => {
                waiting.push(vu);
                true
            }
            None => false,
        }
    }

    /// The most recently idle VU (its memory is the likeliest to still be in cache).
    fn pop(&self) -> Option<oneshot::Sender<Ticket>> {
        self.lock().as_mut()?.pop()
    }

    /// Closes the pool: waiting VUs are told to stop, later ones are refused.
    fn close(&self) {
        self.lock().take();
    }
}

/// Runs an open-model scenario until its VUs are all gone.
pub(crate) async fn run(
    run: Arc<ScenarioRun>,
    phase: watch::Receiver<Phase>,
    begin: oneshot::Sender<Duration>,
    dispatched: oneshot::Sender<()>,
) {
    let max_vus = run.plan.max_vus() as usize;
    let mut vus = JoinSet::new();
    let spawn = |vus: &mut JoinSet<_>, feed: Feed| {
        vus.spawn(vu_life(run.clone(), run.new_vu_id(), feed, phase.clone()));
    };
    let mut readies = Vec::new();
    for _ in 0..run.plan.initial_vus() {
        let (ready, is_ready) = oneshot::channel();
        spawn(
            &mut vus,
            Feed::Open {
                first: None,
                ready: Some(ready),
            },
        );
        readies.push(is_ready);
    }
    let mut stopped = phase.clone();
    let all_ready = async {
        for ready in readies {
            let _ = ready.await;
        }
    };
    tokio::select! {
        () = all_ready => {}
        _ = stopped.wait_for(|p| *p != Phase::Running) => {}
    }

    let began = run.clock.now();
    let _ = begin.send(began);
    let dropped = run.context.recorder();
    let (due, mut starts) = mpsc::channel(1024);
    if let Some(arrivals) = run.plan.arrivals() {
        let clock = run.clock.clone();
        let spawned = std::thread::Builder::new()
            .name("loadwright-pacer".into())
            .spawn(move || pace(&clock, began, arrivals, &due));
        if let Err(err) = spawned {
            tracing::error!("cannot start the arrival pacer: {err}");
        }
    }
    let mut dispatched = Some(dispatched);
    loop {
        let at = tokio::select! {
            biased;
            _ = stopped.wait_for(|p| *p != Phase::Running) => break,
            at = starts.recv() => match at {
                Some(at) => at,
                None => {
                    // Every start of the schedule was handed out: the executor's time may
                    // end.
                    if let Some(dispatched) = dispatched.take() {
                        let _ = dispatched.send(());
                    }
                    break;
                }
            },
        };
        let mut ticket = Ticket {
            scheduled: Some(run.clock.instant_of(at)),
        };
        // Forget VUs that ended (failed starts) so their places can be filled again.
        while vus.try_join_next().is_some() {}
        loop {
            match run.idle.pop() {
                Some(vu) => match vu.send(ticket) {
                    Ok(()) => break,
                    // That VU is gone; offer the start to the next one.
                    Err(returned) => ticket = returned,
                },
                None if vus.len() < max_vus => {
                    let feed = Feed::Open {
                        first: Some(ticket),
                        ready: None,
                    };
                    spawn(&mut vus, feed);
                    break;
                }
                None => {
                    dropped.dropped_iterations(1);
                    break;
                }
            }
        }
    }
    // Tells the pacer to stop, if it has not.
    drop(starts);
    // The executor's time may run on after its last start.
    let _ = stopped.wait_for(|p| *p != Phase::Running).await;
    run.idle.close();
    while vus.join_next().await.is_some() {}
}

/// Sends each start's test time when it is due, from a thread of its own: a thread's sleep
/// is precise to tens of microseconds, where tokio's timer rounds up to the next
/// millisecond, which would read as latency. Ends with the schedule or when the receiver is
/// gone; stands still while the clock is paused.
fn pace(clock: &Clock, began: Duration, arrivals: ArrivalTimes, due: &mpsc::Sender<Duration>) {
    for offset in arrivals {
        let at = began + offset;
        loop {
            if due.is_closed() {
                return;
            }
            if clock.is_paused() {
                std::thread::sleep(PACER_NAP);
                continue;
            }
            match at.checked_sub(clock.now()) {
                Some(wait) if !wait.is_zero() => std::thread::sleep(wait.min(PACER_NAP)),
                _ => break,
            }
        }
        // Blocks when the scheduler is behind by a full channel: the starts then come late,
        // and their lateness is measured.
        if due.blocking_send(at).is_err() {
            return;
        }
    }
}
