//! What of a scenario this instance runs: its share of the executor under the plan's
//! execution segment, as k6 splits each executor (`lib/executor/*.go`).
//!
//! | executor | VUs here | iterations or starts here |
//! |---|---|---|
//! | `constant-vus` | share of `vus` (and of `maxVUs`) | for the duration |
//! | `ramping-vus` | at each moment, the share of the planned VUs | for the stages |
//! | `per-vu-iterations` | share of `vus` | `iterations` each (not scaled) |
//! | `shared-iterations` | share of `vus` | share of `iterations` under the tuple re-cut by `vus` |
//! | arrival rates | shares of `preAllocatedVUs` and `maxVUs` | the starts the tuple re-cut by `maxVUs` owns |
//!
//! A share is [`Tuple::scale`]: the shares of a full sequence add up to the whole plan, for
//! every count and at every moment. With no segment every share is the whole.

use std::time::Duration;

use super::segment::Tuple;
use super::{Executor, ScenarioPlan};

/// The start times of an open model's iterations on this instance.
pub type ArrivalTimes = Box<dyn Iterator<Item = Duration> + Send>;

impl ScenarioPlan {
    fn share(&self, count: u64) -> u64 {
        self.segment
            .as_ref()
            .map_or(count, |tuple| tuple.scale(count))
    }

    fn share_u32(&self, count: u32) -> u32 {
        u32::try_from(self.share(u64::from(count))).unwrap_or(u32::MAX)
    }

    /// The tuple re-cut by `count` (the VUs of `shared-iterations`, the `maxVUs` of an
    /// arrival rate), as k6 re-cuts it; `None` when this instance has no share of `count`.
    fn recut(&self, count: u32) -> Option<Option<Tuple>> {
        match &self.segment {
            None => Some(None),
            Some(tuple) => tuple.resegment(u64::from(count)).ok().map(Some),
        }
    }

    /// VUs started when the scenario starts, on this instance.
    pub fn initial_vus(&self) -> u32 {
        self.share_u32(self.executor.initial_vus())
    }

    /// The most VUs the scenario can have at once on this instance.
    pub fn max_vus(&self) -> u32 {
        self.share_u32(self.executor.max_vus())
    }

    /// The VUs this instance plans `at` after the scenario's start.
    pub fn planned_vus(&self, at: Duration) -> u32 {
        self.share_u32(self.executor.planned_vus(at))
    }

    /// Every change of this instance's VUs along a `ramping-vus` ramp, `(time after the
    /// start, VUs from then on)`: the global steps at which its share changes.
    pub fn vu_steps(&self) -> Box<dyn Iterator<Item = (Duration, u32)> + Send + '_> {
        let mut current = self.initial_vus();
        Box::new(
            self.executor
                .vu_steps()
                .map(|(at, vus)| (at, self.share_u32(vus)))
                .filter(move |&(_, vus)| std::mem::replace(&mut current, vus) != vus),
        )
    }

    /// The iterations the VUs of a `shared-iterations` scenario share on this instance.
    pub fn shared_iterations(&self) -> Option<u64> {
        let Executor::SharedIterations {
            vus, iterations, ..
        } = &self.executor
        else {
            return None;
        };
        Some(match self.recut(*vus) {
            Some(Some(tuple)) => tuple.scale(*iterations),
            Some(None) => *iterations,
            None => 0,
        })
    }

    /// The start times of an open model's iterations on this instance: the global
    /// schedule's starts that the tuple re-cut by `maxVUs` owns. `None` for closed models.
    pub fn arrivals(&self) -> Option<ArrivalTimes> {
        let arrivals = self.executor.arrivals()?;
        Some(match self.recut(self.executor.max_vus()) {
            Some(None) => Box::new(arrivals),
            Some(Some(tuple)) => Box::new(
                arrivals
                    .zip(0_u64..)
                    .filter(move |&(_, number)| tuple.owns(number))
                    .map(|(at, _)| at),
            ),
            None => Box::new(std::iter::empty()),
        })
    }

    /// Iterations this instance plans in all, when the executor fixes them.
    pub fn planned_iterations(&self) -> Option<u64> {
        match &self.executor {
            Executor::PerVuIterations { iterations, .. } => {
                Some(u64::from(self.initial_vus()) * iterations)
            }
            Executor::SharedIterations { .. } => self.shared_iterations(),
            Executor::ConstantVus { .. } | Executor::RampingVus { .. } => None,
            Executor::ConstantArrivalRate { .. } | Executor::RampingArrivalRate { .. } => {
                self.arrivals().map(|a| a.count() as u64)
            }
        }
    }

    /// Whether this instance has anything of the scenario to run (k6's `HasWork`): a
    /// scenario without is skipped.
    pub fn has_work(&self) -> bool {
        match &self.executor {
            Executor::SharedIterations { .. } => {
                self.max_vus() > 0 && self.shared_iterations().is_some_and(|n| n > 0)
            }
            _ => self.max_vus() > 0,
        }
    }
}

#[cfg(test)]
mod tests;
