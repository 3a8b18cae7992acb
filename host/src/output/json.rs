//! The end-of-test summary as JSON (`--out json=FILE`): one document per run, described by
//! the JSON Schema in `docs/summary.schema.json` (see `docs/outputs.md`).
//!
//! Metrics are keyed by k6's names with k6's aggregations (`"http_req_duration":
//! {"type": "trend", "values": {"avg": ..., "p(95)": ...}}`), so a k6 summary reader needs
//! little change; request rows, errors and checks follow, as Locust's tables have them.

use std::collections::BTreeMap;
use std::time::UNIX_EPOCH;

use serde::Serialize;

use super::summary::warnings;
use crate::config::PlanDocument;
use crate::engine::ScenarioInfo;
use crate::run::{Report, RunStatus};
use crate::stats::{
    CheckStats, ConnectionStats, CustomKind, ErrorCount, IterationError, OverflowStats,
    RequestStats, TagPoint, ThresholdResult, TrendStats,
};

/// The version of the summary format; bumped on any incompatible change.
pub const SUMMARY_VERSION: u32 = 1;

/// A metric's aggregate in the summary, k6-style.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum MetricSummary {
    /// A sum: `count`, `rate` per second.
    Counter {
        /// Its aggregations.
        values: BTreeMap<&'static str, f64>,
    },
    /// A last value: `value`, `min`, `max`.
    Gauge {
        /// Its aggregations.
        values: BTreeMap<&'static str, f64>,
    },
    /// A ratio: `rate`, `passes`, `fails`.
    Rate {
        /// Its aggregations.
        values: BTreeMap<&'static str, f64>,
    },
    /// A distribution: `count`, `avg`, `min`, `med`, `max`, `p(90)`, `p(95)`, `p(99)`;
    /// milliseconds for times.
    Trend {
        /// Its aggregations.
        values: BTreeMap<&'static str, f64>,
    },
}

fn counter(count: f64, secs: f64) -> MetricSummary {
    MetricSummary::Counter {
        values: [("count", count), ("rate", count / secs)].into(),
    }
}

fn rate(passes: u64, fails: u64) -> MetricSummary {
    let total = (passes + fails).max(1) as f64;
    MetricSummary::Rate {
        values: [
            ("rate", passes as f64 / total),
            ("passes", passes as f64),
            ("fails", fails as f64),
        ]
        .into(),
    }
}

fn gauge(value: f64, min: f64, max: f64) -> MetricSummary {
    MetricSummary::Gauge {
        values: [("value", value), ("min", min), ("max", max)].into(),
    }
}

fn trend(t: &TrendStats) -> MetricSummary {
    MetricSummary::Trend {
        values: [
            ("count", t.count as f64),
            ("avg", t.mean),
            ("min", t.min),
            ("med", t.p50),
            ("max", t.max),
            ("p(90)", t.p90),
            ("p(95)", t.p95),
            ("p(99)", t.p99),
        ]
        .into(),
    }
}

/// The document `--out json=FILE` writes.
#[derive(Debug, Clone, Serialize)]
pub struct Summary<'a> {
    /// [`SUMMARY_VERSION`].
    pub version: u32,
    /// The Loadwright version that ran.
    pub loadwright: &'static str,
    /// How the run ended.
    pub status: &'a RunStatus,
    /// Whether every threshold held.
    pub thresholds_passed: bool,
    /// Wall-clock start, seconds since the Unix epoch.
    pub started_at: f64,
    /// Length of the run, seconds.
    pub elapsed: f64,
    /// The scenario component.
    pub scenario: &'a ScenarioInfo,
    /// The resolved plan, as a plan document (it can be run again as a plan file).
    pub plan: PlanDocument,
    /// Every metric by name.
    pub metrics: BTreeMap<String, MetricSummary>,
    /// Threshold verdicts.
    pub thresholds: &'a [ThresholdResult],
    /// Request rows (by name, then method), then the `Aggregated` row.
    pub requests: Vec<&'a RequestStats>,
    /// Failures by row and kind.
    pub errors: &'a [ErrorCount],
    /// Checks by name.
    pub checks: &'a [CheckStats],
    /// Failed iterations by task and message.
    pub iteration_errors: &'a [IterationError],
    /// Log lines dropped because the log was full.
    pub log_dropped: u64,
    /// Connections opened, TLS handshakes (full and resumed, by version) and the protocols
    /// responses came over.
    pub connections: &'a ConnectionStats,
    /// Samples counted elsewhere than under their own name, or dropped, past the run's name
    /// caps.
    pub overflow: &'a OverflowStats,
    /// Requests by tag value (`status`, `scenario`, the scenarios' and requests' tags).
    pub tags: &'a [TagPoint],
    /// What a reader must not miss (an `insecure` run's unverified certificates, say).
    pub warnings: Vec<String>,
}

impl<'a> Summary<'a> {
    /// The summary of `report`.
    pub fn of(report: &'a Report) -> Self {
        let s = &report.snapshot;
        let secs = s.elapsed.as_secs_f64().max(1e-9);
        let t = &s.total;
        let mut metrics: BTreeMap<String, MetricSummary> = BTreeMap::new();
        let mut put = |name: &str, summary: MetricSummary| {
            metrics.insert(name.to_owned(), summary);
        };
        put("http_reqs", counter(t.count as f64, secs));
        put("http_req_failed", rate(t.failures, t.count - t.failures));
        put("http_req_duration", trend(&t.duration));
        let p = &s.http_phases;
        for (name, stats) in [
            ("http_req_blocked", &p.blocked),
            ("http_req_dns", &p.dns),
            ("http_req_connecting", &p.connecting),
            ("http_req_tls_handshaking", &p.tls_handshaking),
            ("http_req_sending", &p.sending),
            ("http_req_waiting", &p.waiting),
            ("http_req_receiving", &p.receiving),
        ] {
            put(name, trend(stats));
        }
        if let Some(corrected) = &s.duration_corrected {
            put("http_req_duration_corrected", trend(corrected));
        }
        put("data_sent", counter(t.bytes_sent as f64, secs));
        put("data_received", counter(t.bytes_received as f64, secs));
        put("iterations", counter(s.iterations as f64, secs));
        put("iteration_duration", trend(&s.iteration_duration));
        put(
            "dropped_iterations",
            counter(s.dropped_iterations as f64, secs),
        );
        let vus_seen = report.series.iter().map(|i| i.vus);
        let (vus_min, vus_max) =
            vus_seen.fold((s.vus, s.vus), |(lo, hi), v| (lo.min(v), hi.max(v)));
        put(
            "vus",
            gauge(f64::from(s.vus), f64::from(vus_min), f64::from(vus_max)),
        );
        put(
            "vus_max",
            gauge(f64::from(s.vus_max), 0.0, f64::from(s.vus_max)),
        );
        if s.vus_retired > 0 {
            put("vus_retired", counter(f64::from(s.vus_retired), secs));
        }
        if !s.checks.is_empty() {
            let passes = s.checks.iter().map(|c| c.passes).sum();
            let fails = s.checks.iter().map(|c| c.fails).sum();
            put("checks", rate(passes, fails));
        }
        for m in &s.metrics {
            let summary = match m.kind {
                CustomKind::Counter => counter(m.value, secs),
                CustomKind::Gauge => {
                    gauge(m.value, m.min.unwrap_or(m.value), m.max.unwrap_or(m.value))
                }
                CustomKind::Rate => {
                    let passes = (m.value * m.count as f64).round() as u64;
                    rate(passes, m.count - passes)
                }
                CustomKind::Trend => trend(&m.trend.unwrap_or_default()),
            };
            put(&m.name, summary);
        }
        let started_at = report
            .started_at
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64();
        Self {
            version: SUMMARY_VERSION,
            loadwright: env!("CARGO_PKG_VERSION"),
            status: &report.status,
            thresholds_passed: report.thresholds_passed(),
            started_at,
            elapsed: s.elapsed.as_secs_f64(),
            scenario: &report.scenario,
            plan: report.plan.to_document(),
            metrics,
            thresholds: &s.thresholds,
            requests: s.requests.iter().chain([t]).collect(),
            errors: &s.errors,
            checks: &s.checks,
            iteration_errors: &s.iteration_errors,
            log_dropped: report.log_dropped,
            connections: &s.connections,
            overflow: &s.overflow,
            tags: &s.tags,
            warnings: warnings(report),
        }
    }
}
