//! Virtual users: their life (instantiate, `on-vu-start`, iterations, `on-vu-stop`), the
//! executors that decide when iterations start, and the graceful stop.
//!
//! A scenario of the plan runs as [`run_scenario`]: it starts the executor's VUs (at the
//! spawn rate, if any), lets them iterate while the executor admits iterations, then gives
//! in-flight iterations the graceful-stop period before cutting them.

mod executor;
mod life;
mod scheduler;
mod tasks;

pub use scheduler::{Phase, ScenarioRun, run_scenario};
pub use tasks::TaskPicker;
