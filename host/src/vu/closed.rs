//! Closed models (`constant-vus`, `ramping-vus`, `per-vu-iterations`, `shared-iterations`):
//! keep as many VUs running as the scenario's VU target says, each looping over iterations.
//!
//! The target starts at the executor's initial VUs; a `ramping-vus` ramp moves it along the
//! stages, and live control moves it for `constant-vus`. VU `index` runs while
//! `index < target`; above it, it finishes its iteration (or is cut after the ramp-down
//! grace) and leaves, to be started again if the target comes back up.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{oneshot, watch};
use tokio::task::JoinSet;

use super::life::{Exit, Feed, vu_life};
use super::scheduler::{Phase, ScenarioRun};

/// One VU place of the scenario.
#[derive(Debug, Clone, Copy)]
struct Slot {
    /// The VU's number, kept when it is started again.
    id: u32,
    /// Its executor has nothing more for it, or it could not start.
    done: bool,
}

/// The scenario's VU places and the VUs running in them.
struct Places {
    slots: Vec<Slot>,
    /// Places whose VU left (ramp-down) and may be started again, lowest first.
    vacated: BTreeSet<u32>,
    /// Places whose VU is done for good.
    done: usize,
    vus: JoinSet<(u32, Exit)>,
    /// With a spawn rate: the time between two VU starts, and when the next may start.
    spawn_every: Option<Duration>,
    next_spawn: Instant,
}

impl Places {
    /// Starts VUs until `want` places are taken, as fast as the spawn rate allows; returns
    /// when the next one may start, if the rate held one back.
    fn fill(
        &mut self,
        run: &Arc<ScenarioRun>,
        want: usize,
        phase: &watch::Receiver<Phase>,
    ) -> Option<Instant> {
        loop {
            let index = match self.vacated.first() {
                Some(&index) if (index as usize) < want => index,
                _ if self.slots.len() < want => self.slots.len() as u32,
                _ => return None,
            };
            if let Some(every) = self.spawn_every {
                let now = Instant::now();
                if now < self.next_spawn {
                    return Some(self.next_spawn);
                }
                self.next_spawn = self.next_spawn.max(now - every) + every;
            }
            self.vacated.remove(&index);
            if index as usize == self.slots.len() {
                self.slots.push(Slot {
                    id: run.new_vu_id(),
                    done: false,
                });
            }
            let id = self.slots[index as usize].id;
            let life = vu_life(run.clone(), id, Feed::Closed { index }, phase.clone());
            self.vus.spawn(async move { (index, life.await) });
        }
    }

    /// Notes that the VU of place `index` left with `exit`.
    fn left(&mut self, index: u32, exit: Exit) {
        let slot = &mut self.slots[index as usize];
        if exit == Exit::Retired {
            self.vacated.insert(index);
        } else if !slot.done {
            slot.done = true;
            self.done += 1;
        }
    }
}

/// Runs a closed-model scenario until its VUs are all gone.
pub(crate) async fn run(
    run: Arc<ScenarioRun>,
    mut phase: watch::Receiver<Phase>,
    begin: oneshot::Sender<Duration>,
) {
    let began = run.clock.now();
    let _ = begin.send(began);
    let ramp = {
        let run = run.clone();
        tokio::spawn(async move {
            for (at, vus) in run.plan.vu_steps() {
                run.clock.sleep_until(began + at).await;
                run.target.send_replace(vus);
            }
        })
    };
    let mut target = run.target.subscribe();
    let mut places = Places {
        slots: Vec::new(),
        vacated: BTreeSet::new(),
        done: 0,
        vus: JoinSet::new(),
        spawn_every: run
            .plan
            .spawn_rate
            .map(|rate| Duration::try_from_secs_f64(1.0 / rate).unwrap_or_default()),
        next_spawn: Instant::now(),
    };
    loop {
        let running = *phase.borrow_and_update() == Phase::Running;
        let want = *target.borrow_and_update() as usize;
        let spawn_at = if running {
            places.fill(&run, want, &phase)
        } else {
            None
        };
        let all_done = places.done > 0 && places.done >= want;
        if places.vus.is_empty() && spawn_at.is_none() && (!running || all_done) {
            break;
        }
        tokio::select! {
            Some(joined) = places.vus.join_next() => match joined {
                Ok((index, exit)) => places.left(index, exit),
                // A VU task that panicked is a place lost, as if it could not start.
                Err(_) => places.done += 1,
            },
            _ = target.changed() => {}
            _ = phase.changed() => {}
            () = sleep_until(spawn_at) => {}
        }
    }
    ramp.abort();
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}
