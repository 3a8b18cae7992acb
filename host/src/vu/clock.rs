//! The test clock: time since the run started, not counting pauses. Executors schedule by it
//! (durations, stages, arrivals, `startTime`), so a paused run resumes where it was, as k6's
//! does; graceful stops run on the wall clock.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

#[derive(Debug, Clone, Copy, Default)]
struct PauseState {
    /// When the current pause began, if paused.
    paused_at: Option<Instant>,
    /// Pauses before the current one, in all.
    paused_total: Duration,
}

/// The run's test clock. Cheap to clone; every clone is the same clock.
#[derive(Debug, Clone)]
pub struct Clock {
    started: Instant,
    state: Arc<watch::Sender<PauseState>>,
}

impl Default for Clock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock {
    /// A running clock at 0.
    pub fn new() -> Self {
        Self {
            started: Instant::now(),
            state: Arc::new(watch::channel(PauseState::default()).0),
        }
    }

    fn at(&self, state: PauseState, wall: Instant) -> Duration {
        let paused = state.paused_total
            + state
                .paused_at
                .map_or(Duration::ZERO, |at| wall.saturating_duration_since(at));
        wall.saturating_duration_since(self.started)
            .saturating_sub(paused)
    }

    /// Test time now.
    pub fn now(&self) -> Duration {
        self.at(*self.state.borrow(), Instant::now())
    }

    /// Whether the clock is paused.
    pub fn is_paused(&self) -> bool {
        self.state.borrow().paused_at.is_some()
    }

    /// Stops the clock; `false` if it was already paused.
    pub fn pause(&self) -> bool {
        self.state.send_if_modified(|state| {
            let running = state.paused_at.is_none();
            if running {
                state.paused_at = Some(Instant::now());
            }
            running
        })
    }

    /// Restarts the clock; `false` if it was not paused.
    pub fn resume(&self) -> bool {
        self.state
            .send_if_modified(|state| match state.paused_at.take() {
                Some(at) => {
                    state.paused_total += at.elapsed();
                    true
                }
                None => false,
            })
    }

    /// Returns once the clock runs.
    pub async fn running(&self) {
        let mut state = self.state.subscribe();
        // The sender lives in `self`: the wait ends only when the clock runs.
        let _ = state.wait_for(|s| s.paused_at.is_none()).await;
    }

    /// Returns once test time reaches `at` (at once if it has).
    pub async fn sleep_until(&self, at: Duration) {
        let mut state = self.state.subscribe();
        loop {
            let current = *state.borrow_and_update();
            if current.paused_at.is_some() {
                let _ = state.changed().await;
                continue;
            }
            let now = self.at(current, Instant::now());
            if now >= at {
                return;
            }
            tokio::select! {
                () = tokio::time::sleep(at - now) => {}
                _ = state.changed() => {}
            }
        }
    }

    /// The wall-clock instant at which test time was (or, running on, will be) `at`.
    pub fn instant_of(&self, at: Duration) -> Instant {
        let wall = Instant::now();
        let now = self.at(*self.state.borrow(), wall);
        if at <= now {
            wall - (now - at)
        } else {
            wall + (at - now)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_pause_stops_test_time_and_delays_deadlines() {
        let clock = Clock::new();
        tokio::time::sleep(Duration::from_millis(30)).await;
        assert!(clock.pause());
        assert!(!clock.pause(), "already paused");
        let at_pause = clock.now();
        tokio::time::sleep(Duration::from_millis(60)).await;
        let still = clock.now();
        assert_eq!(at_pause, still, "no time passes while paused");
        let waiter = {
            let clock = clock.clone();
            tokio::spawn(async move {
                clock
                    .sleep_until(at_pause + Duration::from_millis(20))
                    .await;
                Instant::now()
            })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            !waiter.is_finished(),
            "a deadline does not pass while paused"
        );
        let resumed = Instant::now();
        assert!(clock.resume());
        let woke = waiter.await.unwrap_or_else(|e| panic!("{e}"));
        assert!(
            woke >= resumed + Duration::from_millis(15),
            "{:?}",
            woke - resumed
        );
        assert!(clock.now() >= at_pause + Duration::from_millis(20));
    }
}
