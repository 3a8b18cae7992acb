//! The end-of-test summary, and the plan printed at start.

use std::fmt::Write as _;

use super::format::{bytes, millis};
use crate::config::{Plan, format_duration};
use crate::engine::ScenarioInfo;
use crate::run::{Report, RunStatus};
use crate::stats::{CustomKind, RequestStats, TrendStats};

/// The lines describing what is about to run.
pub fn plan_lines(source: &str, info: &ScenarioInfo, plan: &Plan) -> String {
    let mut out = String::new();
    let tasks: Vec<String> = info
        .tasks
        .iter()
        .map(|t| format!("{} ({})", t.name, t.weight))
        .collect();
    let _ = writeln!(
        out,
        "  scenario   {source}  sha256:{}  tasks: {}",
        &info.hash[..12],
        tasks.join(", ")
    );
    for scenario in &plan.scenarios {
        let exec = scenario
            .exec
            .as_deref()
            .map(|e| format!(", exec {e}"))
            .unwrap_or_default();
        let start = if scenario.start_time.is_zero() {
            String::new()
        } else {
            format!(", starts at {}", format_duration(scenario.start_time))
        };
        let _ = writeln!(
            out,
            "  {:<10} {}: {}, graceful stop {}{start}{exec}",
            scenario.name,
            scenario.executor.name(),
            scenario.executor.describe(),
            format_duration(scenario.graceful_stop)
        );
    }
    for threshold in &plan.thresholds {
        let abort = if threshold.abort_on_fail {
            " (abort on fail)"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "  threshold  {}: {}{abort}",
            threshold.selector, threshold.expression
        );
    }
    match &plan.base_url {
        Some(url) => {
            let _ = writeln!(out, "  base URL   {url}");
        }
        None => {
            let _ = writeln!(out, "  base URL   (none: requests must use absolute URLs)");
        }
    }
    out
}

fn trend_line(t: &TrendStats, unit_ms: bool) -> String {
    let f = |v: f64| {
        if unit_ms {
            millis(v)
        } else {
            format!("{v:.3}")
        }
    };
    format!(
        "avg={} min={} med={} p(90)={} p(95)={} p(99)={} max={}",
        f(t.mean),
        f(t.min),
        f(t.p50),
        f(t.p90),
        f(t.p95),
        f(t.p99),
        f(t.max)
    )
}

fn metric(out: &mut String, name: &str, value: String) {
    let dots = ".".repeat(24usize.saturating_sub(name.len()));
    let _ = writeln!(out, "  {name} {dots}: {value}");
}

fn row_line(out: &mut String, label: &str, r: &RequestStats) {
    let fail_pct = if r.count > 0 {
        r.failures as f64 * 100.0 / r.count as f64
    } else {
        0.0
    };
    let _ = writeln!(
        out,
        "  {:<32} {:>9} {:>9} {:>6.2}% {:>9.1} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
        truncate(label, 32),
        r.count,
        r.failures,
        fail_pct,
        r.rps,
        millis(r.duration.mean),
        millis(r.duration.p50),
        millis(r.duration.p90),
        millis(r.duration.p95),
        millis(r.duration.p99),
        millis(r.duration.max),
    );
}

/// A threshold's value for people: at most 3 decimals.
fn round(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}

fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(width - 1).collect();
    cut.push('…');
    cut
}

/// The end-of-test summary of `report`.
pub fn summary(report: &Report) -> String {
    let s = &report.snapshot;
    let secs = s.elapsed.as_secs_f64().max(1e-9);
    let mut out = String::new();
    let how = match &report.status {
        RunStatus::Completed => "completed".to_owned(),
        RunStatus::Stopped => "stopped early".to_owned(),
        RunStatus::Aborted { reason } => format!("aborted: {reason}"),
        RunStatus::AbortedByThreshold { threshold } => {
            format!("aborted: threshold {threshold} failed")
        }
        other => format!("{other:?}"),
    };
    let _ = writeln!(out, "\nrun {how} after {:.1}s\n", s.elapsed.as_secs_f64());
    let _ = writeln!(
        out,
        "  {:<32} {:>9} {:>9} {:>7} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "Request", "Count", "Fails", "Fail%", "RPS", "Avg", "p50", "p90", "p95", "p99", "Max"
    );
    for r in &s.requests {
        row_line(&mut out, &format!("{} {}", r.method, r.name), r);
    }
    let _ = writeln!(out, "  {}", "─".repeat(136));
    row_line(&mut out, "Aggregated", &s.total);

    if !s.errors.is_empty() {
        let _ = writeln!(out, "\n  Failures");
        for e in s.errors.iter().take(20) {
            let _ = writeln!(out, "  {:>9}  {} {}  {}", e.count, e.method, e.name, e.kind);
        }
    }
    if !s.iteration_errors.is_empty() {
        let _ = writeln!(out, "\n  Iteration errors");
        for e in s.iteration_errors.iter().take(20) {
            let _ = writeln!(
                out,
                "  {:>9}  [{}] {}: {}",
                e.count, e.task, e.kind, e.message
            );
        }
    }
    if !s.checks.is_empty() {
        let _ = writeln!(out, "\n  Checks");
        for c in &s.checks {
            let total = (c.passes + c.fails).max(1) as f64;
            let mark = if c.fails == 0 { "✓" } else { "✗" };
            let _ = writeln!(
                out,
                "  {mark} {:<40} {:>7.2}%  ✓ {}  ✗ {}",
                c.name,
                c.passes as f64 * 100.0 / total,
                c.passes,
                c.fails
            );
        }
    }
    if !s.thresholds.is_empty() {
        let _ = writeln!(out, "\n  Thresholds");
        for t in &s.thresholds {
            let mark = if t.ok { "✓" } else { "✗" };
            let value = match (&t.error, t.value) {
                (Some(error), _) => error.clone(),
                (None, Some(value)) => format!("{}", round(value)),
                (None, None) => "no samples".to_owned(),
            };
            let _ = writeln!(
                out,
                "  {mark} {:<40} {:<16} {value}",
                truncate(&t.metric, 40),
                t.expression
            );
        }
    }
    let _ = writeln!(out);
    if !s.checks.is_empty() {
        let passes: u64 = s.checks.iter().map(|c| c.passes).sum();
        let fails: u64 = s.checks.iter().map(|c| c.fails).sum();
        let rate = passes as f64 * 100.0 / (passes + fails).max(1) as f64;
        metric(
            &mut out,
            "checks",
            format!("{rate:.2}%  ✓ {passes}  ✗ {fails}"),
        );
    }
    for m in &s.metrics {
        let value = match m.kind {
            CustomKind::Counter => format!("{}  {:.2}/s", m.value, m.value / secs),
            CustomKind::Gauge => format!(
                "{}  min={} max={}",
                m.value,
                m.min.unwrap_or(m.value),
                m.max.unwrap_or(m.value)
            ),
            CustomKind::Rate => {
                let passes = (m.value * m.count as f64).round() as u64;
                format!(
                    "{:.2}%  ✓ {passes}  ✗ {}",
                    m.value * 100.0,
                    m.count - passes
                )
            }
            CustomKind::Trend => m
                .trend
                .as_ref()
                .map(|t| trend_line(t, false))
                .unwrap_or_default(),
        };
        metric(&mut out, &m.name, value);
    }
    let t = &s.total;
    metric(
        &mut out,
        "data_received",
        format!(
            "{}  {}/s",
            bytes(t.bytes_received),
            bytes((t.bytes_received as f64 / secs) as u64)
        ),
    );
    metric(
        &mut out,
        "data_sent",
        format!(
            "{}  {}/s",
            bytes(t.bytes_sent),
            bytes((t.bytes_sent as f64 / secs) as u64)
        ),
    );
    if s.dropped_iterations > 0 {
        metric(
            &mut out,
            "dropped_iterations",
            format!(
                "{}  {:.1}/s",
                s.dropped_iterations,
                s.dropped_iterations as f64 / secs
            ),
        );
    }
    if s.vus_retired > 0 {
        metric(
            &mut out,
            "vus_retired",
            format!("{}  (could not start; the log says why)", s.vus_retired),
        );
    }
    // The built-in metrics in k6's (alphabetical) order.
    let p = &s.http_phases;
    let failed_pct = if t.count > 0 {
        t.failures as f64 * 100.0 / t.count as f64
    } else {
        0.0
    };
    let mut lines = vec![
        ("http_req_blocked", trend_line(&p.blocked, true)),
        ("http_req_connecting", trend_line(&p.connecting, true)),
        ("http_req_duration", trend_line(&t.duration, true)),
        (
            "http_req_failed",
            format!("{failed_pct:.2}%  ({} of {})", t.failures, t.count),
        ),
        ("http_req_receiving", trend_line(&p.receiving, true)),
        ("http_req_sending", trend_line(&p.sending, true)),
        ("http_req_waiting", trend_line(&p.waiting, true)),
        (
            "http_reqs",
            format!("{}  {:.1}/s", t.count, t.count as f64 / secs),
        ),
        (
            "iteration_duration",
            trend_line(&s.iteration_duration, true),
        ),
        (
            "iterations",
            format!(
                "{}  {:.1}/s  ({} failed, {} interrupted)",
                s.iterations,
                s.iterations as f64 / secs,
                s.iterations_failed,
                s.iterations_interrupted
            ),
        ),
    ];
    if let Some(corrected) = &s.duration_corrected {
        lines.insert(
            3,
            ("http_req_duration_corrected", trend_line(corrected, true)),
        );
    }
    for (name, value) in lines {
        metric(&mut out, name, value);
    }
    metric(&mut out, "vus_max", s.vus_max.to_string());
    if report.log_dropped > 0 {
        let _ = writeln!(
            out,
            "\n  {} log lines were dropped: the run's log is full",
            report.log_dropped
        );
    }
    out
}
