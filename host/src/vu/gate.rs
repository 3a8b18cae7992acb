//! The iteration budget of a closed-model executor: may this VU start another iteration?

use std::sync::atomic::{AtomicU64, Ordering};

use crate::config::{Executor, ScenarioPlan};

/// What a closed-model executor allows, shared by its VUs.
#[derive(Debug)]
pub(crate) enum Gate {
    /// `constant-vus`, `ramping-vus`: iterate until the executor's time is up.
    Forever,
    /// `per-vu-iterations`: each VU runs `limit`; `started` counts them all, of `planned`.
    PerVu {
        limit: u64,
        planned: u64,
        started: AtomicU64,
    },
    /// `shared-iterations`: the VUs take iterations from one pool.
    Shared(AtomicU64),
}

impl Gate {
    /// The budget of `plan` on this instance (its share of a shared pool).
    pub(crate) fn of(plan: &ScenarioPlan) -> Self {
        match &plan.executor {
            Executor::PerVuIterations { iterations, .. } => Self::PerVu {
                limit: *iterations,
                planned: plan.planned_iterations().unwrap_or(0),
                started: AtomicU64::new(0),
            },
            Executor::SharedIterations { .. } => {
                Self::Shared(AtomicU64::new(plan.shared_iterations().unwrap_or(0)))
            }
            _ => Self::Forever,
        }
    }

    /// Whether a VU that already started `started` iterations may start one more.
    pub(crate) fn admit(&self, started: u64) -> bool {
        match self {
            Self::Forever => true,
            Self::PerVu {
                limit,
                started: all,
                ..
            } => {
                let admitted = started < *limit;
                if admitted {
                    all.fetch_add(1, Ordering::Relaxed);
                }
                admitted
            }
            Self::Shared(remaining) => remaining
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |r| r.checked_sub(1))
                .is_ok(),
        }
    }

    /// Iterations planned but never started (k6 counts them as dropped when `maxDuration`
    /// runs out).
    pub(crate) fn unstarted(&self) -> u64 {
        match self {
            Self::Forever => 0,
            Self::PerVu {
                planned, started, ..
            } => planned.saturating_sub(started.load(Ordering::Relaxed)),
            Self::Shared(remaining) => remaining.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn shared_iterations_are_handed_out_exactly_once() {
        let gate = Gate::of(&ScenarioPlan::new(
            "s",
            Executor::SharedIterations {
                vus: 2,
                iterations: 3,
                max_duration: Duration::from_secs(1),
            },
        ));
        let admitted = (0..10).filter(|_| gate.admit(0)).count();
        assert_eq!(admitted, 3);
        assert_eq!(gate.unstarted(), 0);
    }

    #[test]
    fn per_vu_iterations_count_each_vu_separately() {
        let gate = Gate::of(&ScenarioPlan::new(
            "s",
            Executor::PerVuIterations {
                vus: 2,
                iterations: 2,
                max_duration: Duration::from_secs(1),
            },
        ));
        assert!(gate.admit(0) && gate.admit(1));
        assert!(!gate.admit(2));
        assert!(gate.admit(0), "another VU starts its own");
        assert_eq!(gate.unstarted(), 1);
    }
}
