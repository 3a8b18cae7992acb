//! A hostile scenario cannot grow the host without bound, spoof the built-in metrics, send
//! unbounded headers, or loop on host calls past its CPU budget.

use std::time::{Duration, Instant};

use loadwright_host::output::Summary;
use loadwright_host::run::{Report, RunStatus};
use loadwright_host::stats::OVERFLOW;
use loadwright_tests::guests;
use loadwright_tests::target::Recorder;

use crate::cli::plan_file;
use crate::start;

/// Runs `iterations` of the hostile guest's `mode` on `vus` VUs with `limits`; returns the
/// report, the run's log and the target.
async fn hostile_logged(
    mode: &str,
    vus: u32,
    iterations: u32,
    limits: &str,
) -> (Report, Vec<String>, Recorder) {
    let target = Recorder::start().await;
    let plan = format!(
        r#"{{"scenarios": {{"s": {{"executor": "shared-iterations", "vus": {vus},
             "iterations": {iterations}, "exec": "hostile"}}}}, "limits": {limits}}}"#
    );
    let handle = start(guests::HOSTILE, &plan, &target.url(), &[("mode", mode)]).await;
    let report = handle.wait().await;
    assert_eq!(report.status, RunStatus::Completed, "{mode}");
    let log = handle
        .recent_logs()
        .into_iter()
        .map(|l| l.message)
        .collect();
    ((*report).clone(), log, target)
}

/// [`hostile_logged`] without the log.
async fn hostile(mode: &str, vus: u32, iterations: u32, limits: &str) -> (Report, Recorder) {
    let (report, _, target) = hostile_logged(mode, vus, iterations, limits).await;
    (report, target)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invented_names_are_folded_into_an_overflow_row_and_counted() {
    let limits = r#"{"maxRequestNames": 40, "maxCheckNames": 30, "maxMetricNames": 20}"#;
    let (report, log, target) = hostile_logged("names", 4, 300, limits).await;
    let s = &report.snapshot;
    assert_eq!(target.requests().len(), 300);
    assert_eq!(s.total.count, 300, "nothing is lost");
    assert_eq!(s.requests.len(), 41, "40 names and the overflow row");
    let overflow = s.requests.iter().find(|r| r.name == OVERFLOW);
    assert_eq!(overflow.map(|r| r.count), Some(260));
    assert_eq!(s.checks.len(), 31);
    assert_eq!(s.metrics.len(), 20);
    assert_eq!(s.overflow.requests, 260);
    assert_eq!(s.overflow.checks, 270);
    assert_eq!(s.overflow.metric_samples, 280);
    let json = serde_json::to_value(Summary::of(&report)).expect("JSON");
    assert_eq!(json["overflow"]["requests"], 260);
    let warnings = json["warnings"].to_string();
    assert!(warnings.contains("maxRequestNames"), "{warnings}");
    let told = log.iter().filter(|l| l.contains("limits.max")).count();
    assert_eq!(told, 3, "each cap is told once: {log:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_of_megabytes_are_cut() {
    let (report, _) = hostile("long_names", 1, 3, "{}").await;
    let s = &report.snapshot;
    let longest = s
        .requests
        .iter()
        .map(|r| r.name.len())
        .chain(s.checks.iter().map(|c| c.name.len()))
        .chain(s.metrics.iter().map(|m| m.name.len()))
        .max();
    assert_eq!(longest, Some(256), "cut at limits.maxNameBytes");
    let json = serde_json::to_string(&Summary::of(&report)).expect("JSON");
    assert!(
        json.len() < 200_000,
        "the summary stays small: {} bytes",
        json.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_metrics_cannot_spoof_built_in_ones() {
    let (report, target) = hostile("spoof", 2, 10, "{}").await;
    let json = serde_json::to_value(Summary::of(&report)).expect("JSON");
    let http_reqs = &json["metrics"]["http_reqs"]["values"]["count"];
    assert_eq!(http_reqs.as_f64(), Some(target.count("/ok") as f64));
    assert_eq!(report.snapshot.overflow.reserved_samples, 20);
    assert!(
        report.snapshot.metrics.is_empty(),
        "no custom metric took the names"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn header_count_and_size_are_bounded() {
    let (report, target) = hostile("headers", 1, 1, "{}").await;
    let checks: Vec<&str> = report
        .snapshot
        .checks
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert!(
        checks.contains(&"10000 headers: Some(\"invalid-request\")"),
        "{checks:?}"
    );
    assert!(
        checks.contains(&"1 MiB header: Some(\"invalid-request\")"),
        "{checks:?}"
    );
    assert_eq!(target.requests().len(), 0, "nothing was sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_loop_of_host_calls_is_stopped_by_the_cpu_budget() {
    for mode in ["snapshot_loop", "sleep0_loop"] {
        let began = Instant::now();
        let limits = r#"{"cpuPerCall": "300ms", "iterationTimeout": "30s"}"#;
        let (report, _) = hostile(mode, 1, 2, limits).await;
        let errors = &report.snapshot.iteration_errors;
        let cpu_limited: u64 = errors
            .iter()
            .filter(|e| e.kind == "cpu-limit")
            .map(|e| e.count)
            .sum();
        // Stopped by the CPU budget (the host's work for the calls counts), long before
        // the iteration timeout.
        assert_eq!(cpu_limited, 2, "{mode}: {errors:?}");
        assert!(
            began.elapsed() < Duration::from_secs(25),
            "{mode}: {:?}",
            began.elapsed()
        );
    }
}

/// The user and system CPU seconds `host ARGS` used, as bash's `times` reports its children.
fn host_cpu_seconds(args: &str) -> f64 {
    let script = format!(
        "{} {args} >/dev/null 2>&1; times",
        crate::cli::host().display()
    );
    let out = crate::cli::bash(&script).output().expect("run bash");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    // The second line is the children's: `0m1.234s 0m0.056s`.
    let children = text.lines().nth(1).unwrap_or_default().to_owned();
    children
        .split_whitespace()
        .map(|t| {
            let (minutes, seconds) = t
                .trim_end_matches('s')
                .split_once('m')
                .unwrap_or(("0", "0"));
            minutes.parse::<f64>().unwrap_or(0.0) * 60.0 + seconds.parse::<f64>().unwrap_or(0.0)
        })
        .sum()
}

#[test]
fn a_host_call_loop_costs_at_most_twice_its_cpu_budget() {
    let (_dir, plan) = plan_file(
        "plan.json",
        r#"{"scenarios": {"s": {"executor": "per-vu-iterations", "vus": 1, "iterations": 1,
            "exec": "hostile"}}, "limits": {"cpuPerCall": "1s", "iterationTimeout": "60s"}}"#,
    );
    let common = format!(
        "run {} --host http://127.0.0.1:9 --plan {plan} -q",
        guests::HOSTILE
    );
    let baseline = host_cpu_seconds(&format!("{common} --param mode=healthy"));
    for mode in ["snapshot_loop", "sleep0_loop"] {
        let used = host_cpu_seconds(&format!("{common} --param mode={mode}"));
        assert!(
            used - baseline < 2.0,
            "{mode}: {used:.2} s of CPU, {baseline:.2} s for an iteration that does nothing"
        );
        // The meter measures the wall time of the call's polls: on a busy machine a call is
        // charged more than the CPU it got, never less.
        assert!(used - baseline > 0.1, "{mode}: it ran ({used:.2} s)");
    }
}

/// Runs `host ARGS` and returns its peak resident memory in KiB (`VmHWM`, read while it
/// runs) and whether it succeeded.
fn host_peak_kib(args: &[&str]) -> (u64, bool) {
    let mut child = crate::cli::host_command()
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start host");
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    loop {
        if let Ok(status) = std::fs::read_to_string(&status_file)
            && let Some(line) = status.lines().find(|l| l.starts_with("VmHWM:"))
        {
            let kib = line.split_whitespace().nth(1).and_then(|n| n.parse().ok());
            peak = peak.max(kib.unwrap_or(0));
        }
        if let Ok(Some(status)) = child.try_wait() {
            return (peak, status.success());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Memory a run may grow by while its guest invents names as fast as it can, with the
/// default caps (documented in docs/security.md; measured: about 16 MiB).
const NAMES_GROWTH_BOUND_KIB: u64 = 48 << 10;

#[test]
fn memory_stays_bounded_while_a_guest_invents_100_000_names() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let target = runtime.block_on(Recorder::start());
    let dir = tempfile::tempdir().expect("temp dir");
    let plan = |iterations: u32| {
        let path = dir.path().join(format!("plan-{iterations}.json"));
        let text = format!(
            r#"{{"scenarios": {{"s": {{"executor": "shared-iterations", "vus": 10,
                "iterations": {iterations}, "maxDuration": "5m", "exec": "hostile"}}}}}}"#
        );
        std::fs::write(&path, text).expect("plan");
        path.display().to_string()
    };
    let url = target.url();
    let run = |plan: &str| {
        host_peak_kib(&[
            "run",
            guests::HOSTILE,
            "--host",
            &url,
            "--plan",
            plan,
            "--param",
            "mode=names",
            "-q",
        ])
    };
    let (baseline, ok) = run(&plan(300));
    assert!(ok && baseline > 0);
    // A request name, a check and a metric per iteration: 102 000 names.
    let (peak, ok) = run(&plan(34_000));
    assert!(ok);
    assert!(
        peak < baseline + NAMES_GROWTH_BOUND_KIB,
        "peak {peak} KiB against {baseline} KiB for 900 names"
    );
    assert!(target.requests().len() >= 34_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipv6_forms_of_private_ipv4_addresses_are_denied() {
    let target = Recorder::start().await;
    let port = target
        .url()
        .rsplit(':')
        .next()
        .unwrap_or_default()
        .to_owned();
    // Loopback and the metadata address, each as IPv6 forms that carry them.
    let urls: Vec<String> = [
        "[::ffff:127.0.0.1]",
        "[::127.0.0.1]",
        "[64:ff9b::7f00:1]",
        "[64:ff9b:1::a9fe:a9fe]",
        "[2002:7f00:1::1]",
        "[2001:0:4136:e378:8000:63bf:80ff:fffe]",
    ]
    .iter()
    .map(|host| format!("http://{host}:{port}/ok"))
    .collect();
    let plan = r#"{"scenarios": {"s": {"executor": "per-vu-iterations", "vus": 1,
        "iterations": 1, "exec": "hostile"}}, "egress": {"denyPrivate": true}}"#;
    let params = [("mode", "urls"), ("urls", &urls.join(","))];
    let report = crate::run(guests::HOSTILE, plan, &target.url(), &params).await;
    let errors = &report.snapshot.errors;
    for url in &urls {
        let denied = errors.iter().any(|e| &e.name == url && e.kind == "denied");
        assert!(denied, "{url}: {errors:?}");
    }
    assert_eq!(target.requests().len(), 0);
}
