//! Coordinated omission: a target that stalls for a second. An open model keeps starting
//! iterations through the stall and times them from their scheduled start, so the stall
//! shows in its percentiles; a closed model's VUs wait with the target, so its raw series
//! hides it, and the corrected series brings it back.

use std::time::Duration;

use loadwright_host::run::RunStatus;
use loadwright_tests::guests;
use loadwright_tests::target::Recorder;

use crate::run;

const STALL: Duration = Duration::from_secs(1);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stall_shows_in_the_open_models_p99() {
    let target = Recorder::start().await;
    target.stall(Duration::from_millis(800), STALL);
    let plan = r#"{"scenarios": {"open": {"executor": "constant-arrival-rate", "rate": 100,
        "duration": "3s", "preAllocatedVUs": 10, "maxVUs": 300}}}"#;
    let report = run(guests::HELLO, plan, &target.url(), &[]).await;
    assert_eq!(report.status, RunStatus::Completed);
    let s = &report.snapshot;
    assert_eq!(s.iterations, 300);
    assert_eq!(s.dropped_iterations, 0, "maxVUs leaves room for the stall");
    let d = &s.total.duration;
    // About a third of the starts fall in the stall and wait up to 1 s each.
    assert!(d.p99 > 800.0, "the stall shows in p99: {d:?}");
    assert!(d.p90 > 300.0, "and in p90: {d:?}");
    assert!(d.p50 < 300.0, "most requests are fast: {d:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stall_hides_in_a_closed_models_raw_series_but_not_in_the_corrected_one() {
    let target = Recorder::start().await;
    target.stall(Duration::from_millis(800), STALL);
    let plan = r#"{"vus": 1, "duration": "3s", "latencyCorrection": true}"#;
    let report = run(guests::HELLO, plan, &target.url(), &[]).await;
    let s = &report.snapshot;
    assert!(
        s.total.count > 500,
        "one VU loops fast outside the stall: {}",
        s.total.count
    );
    let raw = &s.total.duration;
    assert!(
        raw.max >= 700.0,
        "one request waited out the stall: {raw:?}"
    );
    assert!(raw.p99 < 100.0, "but the raw p99 does not show it: {raw:?}");
    let corrected = s.duration_corrected.expect("latency correction is on");
    assert!(
        corrected.p99 > 500.0,
        "the corrected series fills in the requests the stall held back: {corrected:?}"
    );
    assert!(corrected.count > s.total.count);
}
