//! `loadwright:scenario/stats` (and the empty `types`): the live snapshot, converted to WIT.

use crate::engine::bindings::{stats, types};
use crate::engine::state::StatsHost;
use crate::stats::{CustomKind, RequestStats, Snapshot, TrendStats};

impl stats::Host for StatsHost {
    fn snapshot(&mut self) -> types::StatsSnapshot {
        to_wit(&self.collector.snapshot())
    }
}

impl types::Host for StatsHost {}

fn trend(t: &TrendStats) -> types::TrendStats {
    types::TrendStats {
        count: t.count,
        min: t.min,
        mean: t.mean,
        p50: t.p50,
        p90: t.p90,
        p95: t.p95,
        p99: t.p99,
        max: t.max,
    }
}

fn row(r: &RequestStats) -> types::RequestStats {
    types::RequestStats {
        method: r.method.clone(),
        name: r.name.clone(),
        count: r.count,
        failures: r.failures,
        rps: r.rps,
        current_rps: r.current_rps,
        duration: trend(&r.duration),
        bytes_sent: r.bytes_sent,
        bytes_received: r.bytes_received,
    }
}

/// The WIT form of a snapshot, as guests receive it.
pub(crate) fn to_wit(s: &Snapshot) -> types::StatsSnapshot {
    types::StatsSnapshot {
        elapsed: s.elapsed.as_nanos() as u64,
        vus: s.vus,
        vus_max: s.vus_max,
        iterations: s.iterations,
        iterations_failed: s.iterations_failed,
        iterations_interrupted: s.iterations_interrupted,
        dropped_iterations: s.dropped_iterations,
        iteration_duration: trend(&s.iteration_duration),
        total: row(&s.total),
        requests: s.requests.iter().map(row).collect(),
        errors: s
            .errors
            .iter()
            .map(|e| types::ErrorCount {
                method: e.method.clone(),
                name: e.name.clone(),
                kind: e.kind.clone(),
                count: e.count,
            })
            .collect(),
        checks: s
            .checks
            .iter()
            .map(|c| types::CheckStats {
                name: c.name.clone(),
                passes: c.passes,
                fails: c.fails,
            })
            .collect(),
        metrics: s
            .metrics
            .iter()
            .map(|m| types::MetricStats {
                name: m.name.clone(),
                kind: match m.kind {
                    CustomKind::Counter => types::MetricKind::Counter,
                    CustomKind::Gauge => types::MetricKind::Gauge,
                    CustomKind::Rate => types::MetricKind::Rate,
                    CustomKind::Trend => types::MetricKind::Trend,
                },
                count: m.count,
                value: m.value,
                trend: m.trend.as_ref().map(trend),
            })
            .collect(),
    }
}
