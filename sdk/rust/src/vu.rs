//! The virtual user this code runs in: identity, think time, run parameters, logging.

use std::cell::OnceCell;
use std::time::Duration;

use crate::__bindings::loadwright::scenario::vu as wit;

pub use wit::Level;

/// This VU's number, from 1 (0 in the test-level hooks); under an execution segment, its
/// number in the whole test, unique across the instances.
pub fn id() -> u32 {
    wit::id()
}

/// The current iteration of this VU, from 0.
pub fn iteration() -> u64 {
    wit::iteration()
}

/// The name of the plan's scenario this VU runs in.
pub fn scenario_name() -> String {
    wit::scenario()
}

/// Pauses this VU (think time). Other VUs run meanwhile.
pub fn sleep(duration: Duration) {
    wit::sleep(duration.as_nanos() as u64);
}

thread_local! {
    /// The run's parameters, fetched from the host on first use: they are fixed for a run.
    static PARAMS: OnceCell<Vec<(String, String)>> = const { OnceCell::new() };
}

/// The run parameters, sorted by key, fetched once per instance.
fn with_params<R>(read: impl FnOnce(&[(String, String)]) -> R) -> R {
    PARAMS.with(|params| read(params.get_or_init(wit::parameters)))
}

/// The run parameter `key` (`host run --param key=value`). Parameters are fixed for a run,
/// so only the first call asks the host; later ones read this VU's copy.
pub fn param(key: &str) -> Option<String> {
    with_params(|params| {
        params
            .binary_search_by(|(k, _)| k.as_str().cmp(key))
            .ok()
            .map(|i| params[i].1.clone())
    })
}

/// All run parameters, sorted by key.
pub fn params() -> Vec<(String, String)> {
    with_params(<[_]>::to_vec)
}

/// What [`Scenario::on_test_start`](crate::Scenario::on_test_start) returned.
pub fn setup_data() -> Vec<u8> {
    wit::setup_data()
}

/// Writes `message` to the run's log.
pub fn log(level: Level, message: &str) {
    wit::log(level, message);
}

/// Logs at `info` level, with `format!` arguments.
#[macro_export]
macro_rules! info {
    ($($arg:tt)*) => { $crate::vu::log($crate::vu::Level::Info, &format!($($arg)*)) };
}

/// Logs at `warn` level, with `format!` arguments.
#[macro_export]
macro_rules! warn {
    ($($arg:tt)*) => { $crate::vu::log($crate::vu::Level::Warn, &format!($($arg)*)) };
}

/// Logs at `error` level, with `format!` arguments.
#[macro_export]
macro_rules! error {
    ($($arg:tt)*) => { $crate::vu::log($crate::vu::Level::Error, &format!($($arg)*)) };
}

/// Logs at `debug` level, with `format!` arguments.
#[macro_export]
macro_rules! debug {
    ($($arg:tt)*) => { $crate::vu::log($crate::vu::Level::Debug, &format!($($arg)*)) };
}
