//! What each executor kind decides: may this VU start another iteration?

use std::sync::atomic::{AtomicU64, Ordering};

use crate::config::Executor;

/// The iteration budget of an executor, shared by its VUs.
#[derive(Debug)]
pub(crate) enum Gate {
    /// `constant-vus`: iterate until the executor's time is up.
    Forever,
    /// `per-vu-iterations`: each VU runs this many.
    PerVu(u64),
    /// `shared-iterations`: the VUs take iterations from one pool.
    Shared(AtomicU64),
}

impl Gate {
    pub(crate) fn of(executor: &Executor) -> Self {
        match executor {
            Executor::ConstantVus { .. } => Self::Forever,
            Executor::PerVuIterations { iterations, .. } => Self::PerVu(*iterations),
            Executor::SharedIterations { iterations, .. } => {
                Self::Shared(AtomicU64::new(*iterations))
            }
        }
    }

    /// Whether a VU that already started `started` iterations may start one more.
    pub(crate) fn admit(&self, started: u64) -> bool {
        match self {
            Self::Forever => true,
            Self::PerVu(limit) => started < *limit,
            Self::Shared(remaining) => remaining
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |r| r.checked_sub(1))
                .is_ok(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn shared_iterations_are_handed_out_exactly_once() {
        let gate = Gate::of(&Executor::SharedIterations {
            vus: 2,
            iterations: 3,
            max_duration: Duration::from_secs(1),
        });
        let admitted = (0..10).filter(|_| gate.admit(0)).count();
        assert_eq!(admitted, 3);
    }

    #[test]
    fn per_vu_iterations_count_each_vu_separately() {
        let gate = Gate::PerVu(2);
        assert!(gate.admit(0) && gate.admit(1));
        assert!(!gate.admit(2));
    }
}
