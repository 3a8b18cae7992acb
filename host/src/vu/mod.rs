//! Virtual users: their life (instantiate, `on-vu-start`, iterations, `on-vu-stop`), the
//! executors that decide when iterations start, and the graceful stop.
//!
//! A scenario of the plan runs as [`run_scenario`]: after its `startTime` it runs its
//! executor, a closed model (`closed`: keep a target number of VUs looping) or an open one
//! (`arrival`: start iterations on a schedule), then gives in-flight iterations the
//! graceful-stop period before cutting them. Executors keep time on the run's [`Clock`],
//! which a pause stops.
//!
//! # Layout
//!
//! - `scheduler`: one scenario from `startTime` to the cut; [`ScenarioRun`], [`Phase`].
//! - `closed`: the closed models' VU target, ramps and re-started VUs.
//! - `arrival`: the open models' schedule, idle pool and dropped iterations.
//! - `life`: one VU's life and the iterations it is fed.
//! - `gate`: the iteration budget of `per-vu-iterations` and `shared-iterations`.
//! - `clock`: the pausable test clock.
//! - `tasks`: picking each iteration's task.
//! - `woken`: a future polled only when it woke its task (the signals that cut a VU).

mod arrival;
mod clock;
mod closed;
mod gate;
mod life;
mod scheduler;
mod tasks;
mod woken;

pub use clock::Clock;
pub use scheduler::{Phase, ScenarioRun, run_scenario};
pub use tasks::TaskPicker;
