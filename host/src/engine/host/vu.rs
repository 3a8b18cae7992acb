//! `loadwright:scenario/vu`: identity, think time, parameters, log.

use crate::engine::bindings::vu::{Host, Level as WitLevel};
use crate::engine::state::VuHost;
use crate::runlog::{Level, Source};

impl Host for VuHost {
    fn id(&mut self) -> u32 {
        self.identity.vu
    }

    fn iteration(&mut self) -> u64 {
        self.iteration
    }

    fn scenario(&mut self) -> String {
        self.identity.scenario.to_string()
    }

    async fn sleep(&mut self, duration: u64) {
        if duration == 0 {
            // Nothing to wait for: the call returns at once, so a loop of `sleep(0)` is guest
            // time as any loop is, metered and stopped by the CPU budget (a timer would round
            // it up to a millisecond; a yield would spend the host's time between polls).
            // The VU still yields to others at the next epoch tick.
        } else {
            tokio::time::sleep(std::time::Duration::from_nanos(duration)).await;
        }
    }

    fn parameter(&mut self, key: String) -> Option<String> {
        self.params.get(&key).cloned()
    }

    fn parameters(&mut self) -> Vec<(String, String)> {
        self.params
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    fn setup_data(&mut self) -> Vec<u8> {
        self.setup_data.get().cloned().unwrap_or_default()
    }

    fn log(&mut self, level: WitLevel, message: String) {
        let level = match level {
            WitLevel::Trace => Level::Trace,
            WitLevel::Debug => Level::Debug,
            WitLevel::Info => Level::Info,
            WitLevel::Warn => Level::Warn,
            WitLevel::Error => Level::Error,
        };
        self.log
            .write(self.identity.vu, level, Source::Guest, &message);
    }
}
