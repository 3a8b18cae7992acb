//! Live control of a running run through the library API (what the terminal keys and the
//! server use): VUs of a constant-vus scenario, pause and resume.

use std::time::{Duration, Instant};

use loadwright_host::run::{ControlError, RunHandle, RunStatus};
use loadwright_tests::target::Recorder;

use crate::start_sleeping;

/// Waits for an interval whose VU count satisfies `wanted`; panics after 5 s.
async fn wait_for_vus(handle: &RunHandle, wanted: impl Fn(u32) -> bool) -> u32 {
    let mut intervals = handle.subscribe();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let interval = tokio::time::timeout_at(deadline.into(), intervals.recv())
            .await
            .expect("the VUs changed in time")
            .expect("an interval");
        if wanted(interval.vus) {
            return interval.vus;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vus_change_live_within_max_vus() {
    let target = Recorder::start().await;
    let plan = r#"{"scenarios": {"web": {"executor": "constant-vus", "vus": 2,
        "duration": "4s", "maxVUs": 6, "gracefulStop": "1s"}}}"#;
    let handle = start_sleeping(plan, &target.url(), 20).await;
    assert_eq!(wait_for_vus(&handle, |v| v == 2).await, 2);
    handle.set_vus("web", 5).expect("within maxVUs");
    assert_eq!(wait_for_vus(&handle, |v| v == 5).await, 5);
    handle.set_vus("web", 1).expect("down");
    assert_eq!(wait_for_vus(&handle, |v| v == 1).await, 1);

    assert_eq!(
        handle.set_vus("web", 7),
        Err(ControlError::TooMany {
            name: "web".into(),
            max: 6
        })
    );
    let unknown = handle.set_vus("nope", 1).unwrap_err().to_string();
    assert!(unknown.contains("its scenarios are: web"), "{unknown}");
    handle.stop();
    let report = handle.wait().await;
    assert_eq!(report.status, RunStatus::Stopped);
    // Five VUs ran; each left through on-vu-stop (four ramped down or stopped, one at the end).
    assert_eq!(target.count("/hook/vu-start"), 5);
    assert_eq!(target.count("/hook/vu-stop"), 5);
    assert!(
        handle.set_vus("web", 2).is_err(),
        "a finished run is not changed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_run_starts_no_iteration_and_resumes_where_it_was() {
    let target = Recorder::start().await;
    let plan = r#"{"scenarios": {"web": {"executor": "constant-vus", "vus": 2,
        "duration": "1500ms"}, "ramp": {"executor": "ramping-vus", "startVUs": 0,
        "stages": [{"duration": "1500ms", "target": 2}]}}}"#;
    let began = Instant::now();
    let handle = start_sleeping(plan, &target.url(), 20).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(handle.pause(), Ok(true));
    assert_eq!(handle.status(), RunStatus::Paused);
    // In-flight iterations (at most one per VU) finish; then nothing starts.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let at_pause = target.count("/a") + target.count("/b");
    tokio::time::sleep(Duration::from_millis(800)).await;
    let later = target.count("/a") + target.count("/b");
    assert_eq!(at_pause, later, "no iteration started while paused");
    assert!(handle.is_paused());
    assert_eq!(handle.resume(), Ok(true));
    assert_eq!(handle.status(), RunStatus::Running);
    assert_eq!(handle.resume(), Ok(false), "not paused any more");
    let report = handle.wait().await;
    let took = began.elapsed();
    assert_eq!(report.status, RunStatus::Completed);
    // 1.5 s of test time plus about 1 s paused.
    assert!(
        took >= Duration::from_millis(2300),
        "the pause did not count against the duration: {took:?}"
    );
    assert!(
        target.count("/a") + target.count("/b") > later,
        "iterations started again after resuming"
    );
}
