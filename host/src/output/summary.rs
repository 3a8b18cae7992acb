//! The end-of-test summary, and the plan printed at start.

use std::fmt::Write as _;

use super::format::{bytes, millis};
use crate::config::{HttpPlan, Plan, format_duration};
use crate::engine::ScenarioInfo;
use crate::http::{ConnectionPolicy, TlsSettings};
use crate::run::{Report, RunStatus};
use crate::stats::{
    ConnectionStats, CustomKind, MetricStats, OVERFLOW, RequestStats, Snapshot, TrendStats,
};

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
    if let Some(tuple) = plan.segment() {
        let shares: Vec<String> = plan
            .scenarios
            .iter()
            .map(|s| format!("{} {} of {} VUs", s.name, s.max_vus(), s.executor.max_vus()))
            .collect();
        let _ = writeln!(
            out,
            "  segment    {} of {}: {}",
            tuple.segment(),
            tuple.sequence(),
            shares.join(", ")
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
    let limits = &plan.limits;
    let _ = writeln!(
        out,
        "  limits     cpu per call {}, memory {} MiB, iteration {}, hook {}, run {}; {} \
         request names, {} checks, {} metrics",
        none_for_zero(limits.cpu_per_call),
        limits.memory_bytes >> 20,
        format_duration(limits.iteration_timeout),
        format_duration(limits.hook_timeout),
        none_for_zero(limits.run_timeout),
        limits.max_request_names,
        limits.max_check_names,
        limits.max_metric_names,
    );
    let _ = writeln!(out, "  egress     {}", plan.egress);
    if let Some(http) = http_line(&plan.http) {
        let _ = writeln!(out, "  http       {http}");
    }
    if let Some(tls) = tls_line(&plan.tls) {
        let _ = writeln!(out, "  tls        {tls}");
    }
    out
}

/// A limit's duration, `none` for `0s`.
fn none_for_zero(duration: std::time::Duration) -> String {
    if duration.is_zero() {
        "none".to_owned()
    } else {
        format_duration(duration)
    }
}

/// The HTTP settings that differ from the defaults, in words.
fn http_line(http: &HttpPlan) -> Option<String> {
    let defaults = HttpPlan::default();
    let mut parts = Vec::new();
    match http.connection_policy {
        ConnectionPolicy::PerVu => {}
        ConnectionPolicy::Shared if http.max_connections_per_host > 0 => parts.push(format!(
            "connections shared by the run, at most {} per host",
            http.max_connections_per_host
        )),
        ConnectionPolicy::Shared => parts.push("connections shared by the run".to_owned()),
        ConnectionPolicy::None => parts.push("a new connection for every request".to_owned()),
    }
    if http.h2c {
        parts.push("HTTP/2 in the clear (h2c)".to_owned());
    }
    if !http.http2 {
        parts.push("HTTP/1.1 only".to_owned());
    }
    if http.dns_ttl != defaults.dns_ttl {
        parts.push(format!("names kept {}", format_duration(http.dns_ttl)));
    }
    for entry in &http.resolve {
        parts.push(format!("resolve {entry}"));
    }
    if http.timeout != defaults.timeout {
        parts.push(format!("timeout {}", format_duration(http.timeout)));
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// The TLS settings that differ from the defaults, in words.
fn tls_line(tls: &TlsSettings) -> Option<String> {
    let mut parts = Vec::new();
    if tls.insecure {
        parts.push("⚠ certificates NOT verified (insecure)".to_owned());
    }
    if !tls.ca_certs.is_empty() {
        parts.push(format!("{} extra CA bundle(s) trusted", tls.ca_certs.len()));
    }
    for cert in &tls.client_certs {
        let to = if cert.domains.is_empty() {
            "every server".to_owned()
        } else {
            cert.domains.join(", ")
        };
        parts.push(format!("client certificate for {to}"));
    }
    if !tls.resumption {
        parts.push("no session resumption".to_owned());
    }
    if tls.min_version.is_some() || tls.max_version.is_some() {
        let min = tls.min_version.map_or("1.2", |v| v.as_str());
        let max = tls.max_version.map_or("1.3", |v| v.as_str());
        parts.push(format!("TLS {min} to {max}"));
    }
    (!parts.is_empty()).then(|| parts.join("; "))
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

/// Warnings a reader of the run's results must not miss, one sentence each: settings that
/// make the figures mean something else than they seem to.
pub fn warnings(report: &Report) -> Vec<String> {
    let mut warnings = Vec::new();
    if report.plan.tls.insecure {
        warnings.push(
            "TLS certificates were NOT verified (--insecure / tls.insecure): the run could \
             have reached an impostor"
                .to_owned(),
        );
    }
    let (overflow, limits) = (&report.snapshot.overflow, &report.plan.limits);
    if overflow.requests > 0 {
        warnings.push(format!(
            "{} requests were counted under \"{OVERFLOW}\": the run reached {} distinct \
             request names (limits.maxRequestNames); name requests whose URLs carry ids",
            overflow.requests, limits.max_request_names
        ));
    }
    if overflow.checks > 0 {
        warnings.push(format!(
            "{} checks were counted under \"{OVERFLOW}\": the run reached {} distinct \
             checks (limits.maxCheckNames)",
            overflow.checks, limits.max_check_names
        ));
    }
    if overflow.metric_samples > 0 {
        warnings.push(format!(
            "{} custom metric samples were dropped: the run reached {} custom metrics \
             (limits.maxMetricNames)",
            overflow.metric_samples, limits.max_metric_names
        ));
    }
    if overflow.reserved_samples > 0 {
        warnings.push(format!(
            "{} custom metric samples were dropped: their metric was named like a built-in \
             one",
            overflow.reserved_samples
        ));
    }
    warnings
}

/// The end-of-test summary of `report`.
pub fn summary(report: &Report) -> String {
    let mut out = String::new();
    headline(&mut out, report);
    request_table(&mut out, &report.snapshot);
    failure_tables(&mut out, &report.snapshot);
    checks_table(&mut out, &report.snapshot);
    thresholds_table(&mut out, &report.snapshot);
    let _ = writeln!(out);
    metric_lines(&mut out, &report.snapshot);
    if report.log_dropped > 0 {
        let _ = writeln!(
            out,
            "\n  {} log lines were dropped: the run's log is full",
            report.log_dropped
        );
    }
    out
}

/// How the run ended, and its warnings.
fn headline(out: &mut String, report: &Report) {
    let how = match &report.status {
        RunStatus::Completed => "completed".to_owned(),
        RunStatus::Stopped => "stopped early".to_owned(),
        RunStatus::Aborted { reason } => format!("aborted: {reason}"),
        RunStatus::AbortedByThreshold { threshold } => {
            format!("aborted: threshold {threshold} failed")
        }
        other => format!("{other:?}"),
    };
    let elapsed = report.snapshot.elapsed.as_secs_f64();
    let _ = writeln!(out, "\nrun {how} after {elapsed:.1}s\n");
    for warning in warnings(report) {
        let _ = writeln!(out, "  ⚠ WARNING: {warning}\n");
    }
}

/// Locust's table: one row per request name, then the aggregate.
fn request_table(out: &mut String, s: &Snapshot) {
    let _ = writeln!(
        out,
        "  {:<32} {:>9} {:>9} {:>7} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "Request", "Count", "Fails", "Fail%", "RPS", "Avg", "p50", "p90", "p95", "p99", "Max"
    );
    for r in &s.requests {
        row_line(out, &format!("{} {}", r.method, r.name), r);
    }
    let _ = writeln!(out, "  {}", "─".repeat(136));
    row_line(out, "Aggregated", &s.total);
}

/// Failed requests by row and kind, and failed iterations by message.
fn failure_tables(out: &mut String, s: &Snapshot) {
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
}

fn checks_table(out: &mut String, s: &Snapshot) {
    if s.checks.is_empty() {
        return;
    }
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

fn thresholds_table(out: &mut String, s: &Snapshot) {
    if s.thresholds.is_empty() {
        return;
    }
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

/// k6's metric lines: checks, custom metrics, data, then the built-in ones.
fn metric_lines(out: &mut String, s: &Snapshot) {
    let secs = s.elapsed.as_secs_f64().max(1e-9);
    if !s.checks.is_empty() {
        let passes: u64 = s.checks.iter().map(|c| c.passes).sum();
        let fails: u64 = s.checks.iter().map(|c| c.fails).sum();
        let rate = passes as f64 * 100.0 / (passes + fails).max(1) as f64;
        metric(out, "checks", format!("{rate:.2}%  ✓ {passes}  ✗ {fails}"));
    }
    for m in &s.metrics {
        metric(out, &m.name, custom_value(m, secs));
    }
    let t = &s.total;
    let per_second = |n: u64| bytes((n as f64 / secs) as u64);
    metric(
        out,
        "data_received",
        format!(
            "{}  {}/s",
            bytes(t.bytes_received),
            per_second(t.bytes_received)
        ),
    );
    metric(
        out,
        "data_sent",
        format!("{}  {}/s", bytes(t.bytes_sent), per_second(t.bytes_sent)),
    );
    if s.dropped_iterations > 0 {
        metric(
            out,
            "dropped_iterations",
            format!(
                "{}  {:.1}/s",
                s.dropped_iterations,
                s.dropped_iterations as f64 / secs
            ),
        );
    }
    connection_lines(out, &s.connections);
    for (name, value) in builtin_lines(s, secs) {
        metric(out, name, value);
    }
    if s.vus_retired > 0 {
        metric(
            out,
            "vus_retired",
            format!("{}  (could not start; the log says why)", s.vus_retired),
        );
    }
    metric(out, "vus_max", s.vus_max.to_string());
}

fn custom_value(m: &MetricStats, secs: f64) -> String {
    match m.kind {
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
    }
}

/// Connections opened, their TLS handshakes, and the protocols responses came over.
fn connection_lines(out: &mut String, c: &ConnectionStats) {
    if c.opened == 0 && c.reused == 0 {
        return;
    }
    let responses = (c.opened + c.reused).max(1) as f64;
    metric(
        out,
        "http_connections",
        format!(
            "{} opened, {:.2}% of responses on a kept-alive connection",
            c.opened,
            c.reused as f64 * 100.0 / responses
        ),
    );
    let protocols: Vec<String> = c
        .protocols
        .iter()
        .map(|(name, count)| format!("{name} {:.2}%", *count as f64 * 100.0 / responses))
        .collect();
    metric(out, "http_protocols", protocols.join(", "));
    if c.tls_full + c.tls_resumed > 0 {
        let versions: Vec<String> = c
            .tls_versions
            .iter()
            .map(|(version, count)| format!("TLS {version}: {count}"))
            .collect();
        metric(
            out,
            "tls_handshakes",
            format!(
                "{} full, {} resumed  ({})",
                c.tls_full,
                c.tls_resumed,
                versions.join(", ")
            ),
        );
    }
}

/// The built-in metrics in k6's (alphabetical) order.
fn builtin_lines(s: &Snapshot, secs: f64) -> Vec<(&'static str, String)> {
    let (p, t) = (&s.http_phases, &s.total);
    let failed_pct = if t.count > 0 {
        t.failures as f64 * 100.0 / t.count as f64
    } else {
        0.0
    };
    let mut lines = vec![
        ("http_req_blocked", trend_line(&p.blocked, true)),
        ("http_req_connecting", trend_line(&p.connecting, true)),
        ("http_req_dns", trend_line(&p.dns, true)),
        ("http_req_duration", trend_line(&t.duration, true)),
        (
            "http_req_failed",
            format!("{failed_pct:.2}%  ({} of {})", t.failures, t.count),
        ),
        ("http_req_receiving", trend_line(&p.receiving, true)),
        ("http_req_sending", trend_line(&p.sending, true)),
        (
            "http_req_tls_handshaking",
            trend_line(&p.tls_handshaking, true),
        ),
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
            4,
            ("http_req_duration_corrected", trend_line(corrected, true)),
        );
    }
    lines
}
