//! Think time between iterations, as Locust's `wait_time`: set one in
//! [`Options::wait_time`](crate::Options::wait_time) and the SDK sleeps after every task.
//!
//! ```no_run
//! use std::time::Duration;
//! use loadwright::{wait, Options, Scenario};
//! # #[derive(Default)] struct Shop;
//! # impl Shop { fn browse(&mut self) -> loadwright::Result<()> { Ok(()) } }
//! impl Scenario for Shop {
//!     fn options() -> Options<Self> {
//!         Options::new()
//!             .task("browse", 1, Shop::browse)
//!             // 1 to 3 s of think time after each task.
//!             .wait_time(wait::between(Duration::from_secs(1), Duration::from_secs(3)))
//!     }
//! }
//! ```
//!
//! Waiting belongs to closed models (`constant-vus`, `ramping-vus`, ...), where it sets each
//! VU's pace. In an open model (the arrival-rate executors) the schedule sets the pace; a
//! wait there only keeps the VU busy longer, so more VUs are needed.

use std::time::{Duration, Instant};

/// How long a VU waits after each task.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum WaitTime {
    /// Always the same time.
    Constant(Duration),
    /// A uniformly random time between the two.
    Between(Duration, Duration),
    /// Whatever makes each task start this long after the previous one started (no wait
    /// when the task took longer).
    ConstantPacing(Duration),
    /// Whatever keeps a VU at this many tasks per second at most.
    ConstantThroughput(f64),
}

/// Waits `wait` after each task (Locust's `constant`).
pub fn constant(wait: Duration) -> WaitTime {
    WaitTime::Constant(wait)
}

/// Waits a random time from `min` to `max` after each task (Locust's `between`).
pub fn between(min: Duration, max: Duration) -> WaitTime {
    WaitTime::Between(min.min(max), max.max(min))
}

/// Starts a task every `pace` at most (Locust's `constant_pacing`).
pub fn constant_pacing(pace: Duration) -> WaitTime {
    WaitTime::ConstantPacing(pace)
}

/// Runs at most `tasks_per_second` tasks a second per VU (Locust's `constant_throughput`).
pub fn constant_throughput(tasks_per_second: f64) -> WaitTime {
    WaitTime::ConstantThroughput(tasks_per_second)
}

impl WaitTime {
    /// The wait after a task that took `took`; `unit` is a random number in `[0, 1)` (used
    /// by `Between` only).
    pub fn after(&self, took: Duration, unit: f64) -> Duration {
        match *self {
            Self::Constant(wait) => wait,
            Self::Between(min, max) => min + (max - min).mul_f64(unit.clamp(0.0, 1.0)),
            Self::ConstantPacing(pace) => pace.saturating_sub(took),
            Self::ConstantThroughput(rate) if rate > 0.0 && rate.is_finite() => {
                Duration::from_secs_f64(1.0 / rate).saturating_sub(took)
            }
            Self::ConstantThroughput(_) => Duration::ZERO,
        }
    }

    /// Sleeps the wait for a task that started at `started`.
    pub fn wait(&self, started: Instant) {
        let wait = self.after(started.elapsed(), crate::random::unit());
        if !wait.is_zero() {
            crate::vu::sleep(wait);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn each_wait_time_computes_locusts_wait() {
        assert_eq!(constant(MS * 500).after(MS * 300, 0.5), MS * 500);
        let between = between(MS * 300, MS * 100);
        assert_eq!(
            between.after(MS * 10, 0.0),
            MS * 100,
            "bounds in either order"
        );
        assert_eq!(between.after(MS * 10, 0.5), MS * 200);
        assert_eq!(constant_pacing(MS * 1000).after(MS * 300, 0.5), MS * 700);
        assert_eq!(
            constant_pacing(MS * 1000).after(MS * 1300, 0.5),
            Duration::ZERO
        );
        assert_eq!(constant_throughput(4.0).after(MS * 50, 0.5), MS * 200);
        assert_eq!(constant_throughput(0.0).after(MS * 50, 0.5), Duration::ZERO);
    }
}
