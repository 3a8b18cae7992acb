//! The stats count exactly what the target saw.

use loadwright_host::run::RunStatus;
use loadwright_tests::guests;
use loadwright_tests::target::Recorder;

use crate::run;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_iterations_count_equals_the_servers_count() {
    let target = Recorder::start().await;
    let plan =
        r#"{"scenarios": {"s": {"executor": "shared-iterations", "vus": 4, "iterations": 500}}}"#;
    let report = run(guests::HELLO, plan, &target.url(), &[]).await;
    assert_eq!(report.status, RunStatus::Completed);
    assert_eq!(report.snapshot.iterations, 500);
    assert_eq!(report.snapshot.total.count, 500);
    assert_eq!(target.count("/"), 500);
    let row = &report.snapshot.requests[0];
    assert_eq!(
        (row.method.as_str(), row.name.as_str(), row.count),
        ("GET", "/", 500)
    );
    assert_eq!(report.snapshot.checks[0].passes, 500);
    assert!(
        report.snapshot.total.bytes_received > 500 * 20,
        "bytes are counted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timed_run_counts_every_request_the_server_saw() {
    let target = Recorder::start().await;
    let plan = r#"{"vus": 3, "duration": "1s"}"#;
    let report = run(guests::HELLO, plan, &target.url(), &[]).await;
    assert_eq!(report.status, RunStatus::Completed);
    let seen = target.count("/") as u64;
    assert!(seen > 10, "the run made requests ({seen})");
    assert_eq!(report.snapshot.total.count, seen);
    assert_eq!(report.snapshot.total.failures, 0);
    let series_total: u64 = report.series.iter().map(|i| i.requests).sum();
    assert_eq!(series_total, seen, "the intervals add up to the total");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_vu_iterations_runs_each_vu_exactly_and_tasks_by_weight() {
    let target = Recorder::start().await;
    let plan =
        r#"{"scenarios": {"s": {"executor": "per-vu-iterations", "vus": 4, "iterations": 600}}}"#;
    let report = run(guests::PROBE, plan, &target.url(), &[]).await;
    assert_eq!(report.snapshot.iterations, 2400);
    let (a, b) = (target.count("/a"), target.count("/b"));
    assert_eq!(a + b, 2400);
    for vu in 1..=4 {
        let mine = target
            .requests()
            .iter()
            .filter(|r| {
                (r.starts_with("/a?") || r.starts_with("/b?")) && r.ends_with(&format!("vu={vu}"))
            })
            .count();
        assert_eq!(mine, 600, "VU {vu} ran exactly its iterations");
    }
    // Weights 3:1; over 2400 picks the ratio stays well inside 2.4..3.8.
    let ratio = a as f64 / b as f64;
    assert!((2.4..3.8).contains(&ratio), "a/b = {a}/{b} = {ratio}");
    let rows: Vec<(&str, u64)> = report
        .snapshot
        .requests
        .iter()
        .map(|r| (r.name.as_str(), r.count))
        .collect();
    assert!(
        rows.contains(&("/a", a as u64)) && rows.contains(&("/b", b as u64)),
        "{rows:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_are_counted_by_kind() {
    // Nothing listens on port 9 of loopback: every request is refused.
    let plan = r#"{"iterations": 5}"#;
    let report = run(guests::HELLO, plan, "http://127.0.0.1:9", &[]).await;
    assert_eq!(report.snapshot.total.count, 5);
    assert_eq!(report.snapshot.total.failures, 5);
    assert_eq!(report.snapshot.errors[0].kind, "connect-refused");
    assert_eq!(report.snapshot.errors[0].count, 5);
    assert_eq!(report.snapshot.iterations_failed, 5);
    assert!(
        report.snapshot.iteration_errors[0]
            .message
            .contains("connect-refused")
    );
}
