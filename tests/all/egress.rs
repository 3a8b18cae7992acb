//! The egress policy refuses what a run may not reach before a socket is opened, and lets
//! through what it names.

use loadwright_host::run::{Report, RunStatus};
use loadwright_tests::guests;
use loadwright_tests::target::Recorder;

use crate::run;

/// Runs 5 iterations of the hostile guest's `healthy` task (one `GET /ok` each) against a
/// local target, under `egress`; returns the report and the requests the target saw.
async fn run_with(egress: &str) -> (Report, usize) {
    let target = Recorder::start().await;
    let plan = format!(
        r#"{{"scenarios": {{"s": {{"executor": "per-vu-iterations", "vus": 1,
             "iterations": 5, "exec": "healthy"}}}}, "egress": {egress}}}"#
    );
    let report = run(guests::HOSTILE, &plan, &target.url(), &[]).await;
    assert_eq!(report.status, RunStatus::Completed);
    ((*report).clone(), target.count("/ok"))
}

fn denied(report: &Report) -> u64 {
    let errors = &report.snapshot.errors;
    errors
        .iter()
        .filter(|e| e.kind == "denied")
        .map(|e| e.count)
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deny_private_refuses_loopback_without_connecting() {
    let (report, seen) = run_with(r#"{"denyPrivate": true}"#).await;
    assert_eq!(seen, 0, "no request reached the target");
    assert_eq!(denied(&report), 5, "{:?}", report.snapshot.errors);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_allow_rule_naming_the_range_lets_requests_through() {
    let (report, seen) = run_with(r#"{"denyPrivate": true, "allow": ["127.0.0.0/8"]}"#).await;
    assert_eq!(seen, 5);
    assert_eq!(denied(&report), 0, "{:?}", report.snapshot.errors);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deny_rules_and_ports_are_respected() {
    let (report, seen) = run_with(r#"{"deny": ["127.0.0.1"]}"#).await;
    assert_eq!((seen, denied(&report)), (0, 5));
    // An allow list with another port only: the target's port is not in it.
    let (report, seen) = run_with(r#"{"allow": ["127.0.0.1:1"]}"#).await;
    assert_eq!((seen, denied(&report)), (0, 5));
}
