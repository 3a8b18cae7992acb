//! Runs end on time: graceful stop lets iterations finish, then cuts what overstays.

use std::time::{Duration, Instant};

use loadwright_host::run::RunStatus;
use loadwright_tests::guests;
use loadwright_tests::target::Recorder;

use crate::{run_sleeping, start};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overlong_iterations_are_cut_after_the_graceful_stop() {
    let target = Recorder::start().await;
    let plan = r#"{"vus": 2, "duration": "500ms", "gracefulStop": "500ms"}"#;
    let began = Instant::now();
    let report = run_sleeping(plan, &target.url(), 10000).await;
    let took = began.elapsed();
    assert_eq!(report.status, RunStatus::Completed);
    // 0.5 s of run plus 0.5 s of graceful stop; generous upper bound for a busy machine.
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(5),
        "took {took:?}"
    );
    assert_eq!(report.snapshot.iterations_interrupted, 2);
    assert_eq!(report.snapshot.iterations, 0);
    assert_eq!(
        target.count("/hook/vu-stop"),
        0,
        "a cut VU does not get on-vu-stop"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_flight_iterations_finish_within_the_graceful_stop() {
    let target = Recorder::start().await;
    let plan = r#"{"vus": 2, "duration": "300ms", "gracefulStop": "5s"}"#;
    let began = Instant::now();
    let report = run_sleeping(plan, &target.url(), 400).await;
    let took = began.elapsed();
    assert_eq!(report.snapshot.iterations_interrupted, 0);
    assert_eq!(
        report.snapshot.iterations, 2,
        "each VU finished the iteration it had started"
    );
    assert_eq!(target.count("/hook/vu-stop"), 2);
    assert!(
        took < Duration::from_secs(3),
        "did not wait out the whole graceful stop: {took:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_request_ends_the_run_early() {
    let target = Recorder::start().await;
    let handle = start(
        guests::HELLO,
        r#"{"vus": 2, "duration": "60s"}"#,
        &target.url(),
        &[],
    )
    .await;
    let mut intervals = handle.subscribe();
    let first = intervals.recv().await.expect("an interval");
    assert!(first.total_requests > 0);
    handle.stop();
    let began = Instant::now();
    let report = handle.wait().await;
    assert!(began.elapsed() < Duration::from_secs(5));
    assert_eq!(report.status, RunStatus::Stopped);
    assert_eq!(report.snapshot.total.count, target.count("/") as u64);
    // The interval stream ends with the run.
    use tokio::sync::broadcast::error::RecvError;
    while !matches!(intervals.recv().await, Err(RecvError::Closed)) {}
}
