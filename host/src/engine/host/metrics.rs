//! `loadwright:scenario/metrics`: custom metrics and checks.

use crate::engine::bindings::metrics::Host;
use crate::engine::bindings::types::Tag;
use crate::engine::state::MetricsHost;
use crate::runlog::{Level, Source};
use crate::stats::CustomKind;

impl MetricsHost {
    fn record(&mut self, name: &str, kind: CustomKind, value: f64) {
        if !value.is_finite() {
            return;
        }
        if !self.recorder.custom(name, kind, value) && !self.conflicts.iter().any(|n| n == name) {
            self.conflicts.push(name.to_owned());
            self.log.write(
                self.vu,
                Level::Warn,
                Source::Host,
                &format!("metric {name:?} already has another kind; {kind:?} samples are ignored"),
            );
        }
    }
}

impl Host for MetricsHost {
    async fn counter_add(&mut self, name: String, value: f64, _tags: Vec<Tag>) {
        if value >= 0.0 {
            self.record(&name, CustomKind::Counter, value);
        }
    }

    async fn gauge_set(&mut self, name: String, value: f64, _tags: Vec<Tag>) {
        self.record(&name, CustomKind::Gauge, value);
    }

    async fn rate_add(&mut self, name: String, sample: bool, _tags: Vec<Tag>) {
        self.record(&name, CustomKind::Rate, f64::from(u8::from(sample)));
    }

    async fn trend_add(&mut self, name: String, value: f64, _tags: Vec<Tag>) {
        if value >= 0.0 {
            self.record(&name, CustomKind::Trend, value);
        }
    }

    async fn check(&mut self, name: String, ok: bool, _tags: Vec<Tag>) -> bool {
        self.recorder.check(&name, ok);
        ok
    }
}
