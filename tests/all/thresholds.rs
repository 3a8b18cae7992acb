//! Thresholds pass and fail as written, on metrics and tagged sub-metrics; `abortOnFail`
//! stops a run, after `delayAbortEval`.

use std::time::{Duration, Instant};

use loadwright_host::run::RunStatus;
use loadwright_tests::guests;
use loadwright_tests::target::Recorder;

use crate::{run, run_sleeping};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thresholds_pass_and_fail_as_written() {
    let target = Recorder::start().await;
    let plan = r#"{"scenarios": {"s": {"executor": "per-vu-iterations", "vus": 2,
            "iterations": 30, "tags": {"team": "checkout"}}},
        "thresholds": {
            "http_reqs": ["count==60", "count>60"],
            "http_reqs{status:200}": ["count==60"],
            "http_req_failed": ["rate<0.01"],
            "http_req_failed{name:/nothing}": ["rate<0.5"],
            "iterations{team:checkout}": ["count==60"],
            "iterations{team:other}": ["count>0"],
            "http_req_duration{scenario:s}": ["p(99.9)<10000", "max<0.001"],
            "checks{check:status is 200}": ["rate==1"]}}"#;
    let report = run(guests::HELLO, plan, &target.url(), &[]).await;
    assert_eq!(report.status, RunStatus::Completed);
    assert_eq!(target.count("/"), 60);
    let verdicts: Vec<(String, bool)> = report
        .snapshot
        .thresholds
        .iter()
        .map(|t| (format!("{}: {}", t.metric, t.expression), t.ok))
        .collect();
    let expected = [
        ("checks{check:status is 200}: rate==1", true),
        ("http_req_duration{scenario:s}: p(99.9)<10000", true),
        ("http_req_duration{scenario:s}: max<0.001", false),
        ("http_req_failed: rate<0.01", true),
        ("http_req_failed{name:/nothing}: rate<0.5", true),
        ("http_reqs: count==60", true),
        ("http_reqs: count>60", false),
        ("http_reqs{status:200}: count==60", true),
        ("iterations{team:checkout}: count==60", true),
        ("iterations{team:other}: count>0", false),
    ];
    let expected: Vec<(String, bool)> = expected
        .iter()
        .map(|(t, ok)| ((*t).to_owned(), *ok))
        .collect();
    assert_eq!(verdicts, expected);
    assert!(!report.thresholds_passed());
    // A rate without samples holds, and says it had none; a counter without samples is 0.
    let value = |metric: &str| {
        let t = report
            .snapshot
            .thresholds
            .iter()
            .find(|t| t.metric == metric);
        t.and_then(|t| t.value)
    };
    assert_eq!(value("http_req_failed{name:/nothing}"), None);
    assert_eq!(value("iterations{team:other}"), Some(0.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abort_on_fail_stops_the_run_after_its_delay() {
    // Nothing listens on port 9: every request fails.
    let plan = r#"{"vus": 2, "duration": "30s", "thresholds": {"http_req_failed": [
        {"threshold": "rate<0.5", "abortOnFail": true, "delayAbortEval": "600ms"}]}}"#;
    let began = Instant::now();
    let report = run_sleeping(plan, "http://127.0.0.1:9", 20).await;
    let took = began.elapsed();
    assert_eq!(
        report.status,
        RunStatus::AbortedByThreshold {
            threshold: "http_req_failed: rate<0.5".into()
        }
    );
    assert!(
        took >= Duration::from_millis(600),
        "not before the delay: {took:?}"
    );
    assert!(took < Duration::from_secs(10), "long before 30 s: {took:?}");
    assert!(!report.thresholds_passed());
}
