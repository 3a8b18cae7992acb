//! Hostile guests cost their own run a counted failure of the right kind, never the host,
//! the run's other VUs, or another run.

use std::time::{Duration, Instant};

use loadwright_host::run::{Report, RunStatus};
use loadwright_tests::guests;
use loadwright_tests::target::Recorder;

use crate::{run, start};

/// A plan with a `hostile` scenario (`iterations` iterations on one VU) beside a `healthy`
/// one (2 VUs × 50 requests to `/ok`), and `limits`.
fn plan(iterations: u32, limits: &str) -> String {
    format!(
        r#"{{"scenarios": {{
            "hostile": {{"executor": "per-vu-iterations", "vus": 1, "iterations": {iterations},
                         "exec": "hostile"}},
            "healthy": {{"executor": "per-vu-iterations", "vus": 2, "iterations": 50,
                         "exec": "healthy"}}}},
          "limits": {limits}}}"#
    )
}

/// Failed iterations of task `hostile` by kind.
fn failures(report: &Report, kind: &str) -> u64 {
    report
        .snapshot
        .iteration_errors
        .iter()
        .filter(|e| e.task == "hostile" && e.kind == kind)
        .map(|e| e.count)
        .sum()
}

/// Runs `mode` on the hostile scenario and checks the healthy one was untouched: the `/ok`
/// row has its 100 requests, plus `extra` sent by hostile iterations that behaved.
async fn run_hostile(mode: &str, iterations: u32, limits: &str, extra: u64) -> (Report, Recorder) {
    let target = Recorder::start().await;
    let began = Instant::now();
    let report = run(
        guests::HOSTILE,
        &plan(iterations, limits),
        &target.url(),
        &[("mode", mode)],
    )
    .await;
    assert_eq!(report.status, RunStatus::Completed, "{mode}");
    assert!(
        began.elapsed() < Duration::from_secs(30),
        "{mode}: the run ended on its own"
    );
    let healthy = report
        .snapshot
        .requests
        .iter()
        .find(|r| r.name == "/ok")
        .map_or(0, |r| r.count);
    assert_eq!(
        healthy,
        100 + extra,
        "{mode}: the healthy VUs made every request"
    );
    ((*report).clone(), target)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_loop_fails_with_cpu_limit() {
    let (report, _) = run_hostile("spin", 3, r#"{"cpuPerCall": "200ms"}"#, 0).await;
    assert_eq!(
        failures(&report, "cpu-limit"),
        3,
        "{:?}",
        report.snapshot.iteration_errors
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calling_the_host_between_stretches_does_not_dodge_the_cpu_limit() {
    for mode in ["spin_sleep", "spin_send"] {
        let (report, _) = run_hostile(mode, 2, r#"{"cpuPerCall": "200ms"}"#, 0).await;
        assert_eq!(
            failures(&report, "cpu-limit"),
            2,
            "{mode}: {:?}",
            report.snapshot.iteration_errors
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allocating_without_end_fails_with_memory_limit() {
    let (report, _) = run_hostile("alloc", 2, r#"{"memoryBytes": 16777216}"#, 0).await;
    assert_eq!(
        failures(&report, "memory-limit"),
        2,
        "{:?}",
        report.snapshot.iteration_errors
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_every_tenth_iteration_is_counted_and_the_rest_run() {
    let (report, _) = run_hostile("panic_every", 30, "{}", 27).await;
    assert_eq!(failures(&report, "trap"), 3, "iterations 9, 19 and 29");
    let trap = report
        .snapshot
        .iteration_errors
        .iter()
        .find(|e| e.kind == "trap")
        .map(|e| e.message.clone())
        .unwrap_or_default();
    assert!(trap.contains("unreachable"), "{trap}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_flood_is_dropped_and_counted() {
    let (report, _) = run_hostile("log_flood", 3, r#"{"logBytesPerVu": 20000}"#, 3).await;
    assert!(
        report.log_dropped > 50_000,
        "60 000 lines, 20 kB kept: {} dropped",
        report.log_dropped
    );
    assert_eq!(failures(&report, "trap") + failures(&report, "error"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_response_fails_with_body_too_large() {
    let (report, target) = run_hostile("big", 3, r#"{"maxResponseBytes": 1000000}"#, 0).await;
    assert_eq!(target.count("/big"), 3);
    let too_large: u64 = report
        .snapshot
        .errors
        .iter()
        .filter(|e| e.kind == "body-too-large")
        .map(|e| e.count)
        .sum();
    assert_eq!(too_large, 3);
    assert_eq!(
        failures(&report, "error"),
        3,
        "the SDK's send returned the error"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_iteration_past_its_timeout_fails_and_the_vu_starts_over() {
    let (report, _) = run_hostile("hang", 2, r#"{"iterationTimeout": "300ms"}"#, 0).await;
    assert_eq!(failures(&report, "iteration-timeout"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_run_at_the_same_time_is_unaffected() {
    let target = Recorder::start().await;
    let hostile = start(
        guests::HOSTILE,
        r#"{"vus": 2, "duration": "2s", "limits": {"cpuPerCall": "200ms"}}"#,
        &target.url(),
        &[("mode", "spin")],
    )
    .await;
    let healthy = start(
        guests::HELLO,
        r#"{"vus": 4, "iterations": 300}"#,
        &target.url(),
        &[],
    )
    .await;
    let (hostile, healthy) = tokio::join!(hostile.wait(), healthy.wait());
    assert_eq!(healthy.status, RunStatus::Completed);
    assert_eq!(healthy.snapshot.total.count, 300);
    assert_eq!(healthy.snapshot.iterations_failed, 0);
    assert_eq!(
        target.count("/"),
        300,
        "every request of the healthy run arrived"
    );
    assert!(
        failures(&hostile, "cpu-limit") >= 4,
        "{:?}",
        hostile.snapshot.iteration_errors
    );
}
