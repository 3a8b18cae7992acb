//! `loadwright:scenario/metrics`: custom metrics and checks.

use crate::engine::bindings::metrics::Host;
use crate::engine::bindings::types::Tag;
use crate::engine::state::MetricsHost;
use crate::runlog::{Level, Source};
use crate::stats::{CustomKind, Recorded, bounded};

/// The WIT tags as the stats take them (moved, not copied; no allocation when empty).
pub(crate) fn tag_pairs(tags: Vec<Tag>) -> Vec<(String, String)> {
    tags.into_iter().map(|t| (t.key, t.value)).collect()
}

/// Names of metrics used with two kinds a VU reports, each once; past it, no more.
const MAX_CONFLICTS_TOLD: usize = 32;

impl MetricsHost {
    fn record(&mut self, name: &str, kind: CustomKind, value: f64, tags: Vec<Tag>) {
        if !value.is_finite() {
            return;
        }
        // Caps and reserved names are reported once for the run, by the collector.
        let recorded = self.recorder.custom(name, kind, value, &tag_pairs(tags));
        if recorded == Recorded::OtherKind
            && self.conflicts.len() < MAX_CONFLICTS_TOLD
            && !self.conflicts.iter().any(|n| n == name)
        {
            let name = bounded(name, 64).into_owned();
            self.log.write(
                self.vu,
                Level::Warn,
                Source::Host,
                &format!("metric {name:?} already has another kind; {kind:?} samples are ignored"),
            );
            self.conflicts.push(name);
        }
    }
}

impl Host for MetricsHost {
    fn counter_add(&mut self, name: String, value: f64, tags: Vec<Tag>) {
        if value >= 0.0 {
            self.record(&name, CustomKind::Counter, value, tags);
        }
    }

    fn gauge_set(&mut self, name: String, value: f64, tags: Vec<Tag>) {
        self.record(&name, CustomKind::Gauge, value, tags);
    }

    fn rate_add(&mut self, name: String, sample: bool, tags: Vec<Tag>) {
        self.record(&name, CustomKind::Rate, f64::from(u8::from(sample)), tags);
    }

    fn trend_add(&mut self, name: String, value: f64, tags: Vec<Tag>) {
        if value >= 0.0 {
            self.record(&name, CustomKind::Trend, value, tags);
        }
    }

    fn check(&mut self, name: String, ok: bool, tags: Vec<Tag>) -> bool {
        self.recorder.check(&name, ok, &tag_pairs(tags));
        ok
    }
}
