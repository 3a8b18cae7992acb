//! A guest that traps fails its iteration; its VU starts over and the run goes on.

use std::sync::Arc;

use loadwright_host::run::{Report, RunStatus};
use loadwright_tests::guests;
use loadwright_tests::target::Recorder;

use crate::run;

/// Runs `probe` (the Rust or the Go probe) with 2 VUs × 20 iterations, panicking in every
/// 5th iteration of each VU, and checks what both must give: 8 failed iterations of 40, and
/// the 32 others' requests. Returns the report and the target.
pub(crate) async fn run_panicking_every_fifth(probe: &str) -> (Arc<Report>, Recorder) {
    let target = Recorder::start().await;
    let plan =
        r#"{"scenarios": {"s": {"executor": "per-vu-iterations", "vus": 2, "iterations": 20}}}"#;
    let report = run(probe, plan, &target.url(), &[("panic_every", "5")]).await;
    assert_eq!(report.status, RunStatus::Completed);
    let s = &report.snapshot;
    assert_eq!(s.iterations, 40);
    assert_eq!(
        s.iterations_failed, 8,
        "iterations 4, 9, 14 and 19 of each VU panic"
    );
    assert_eq!(target.count("/a") + target.count("/b"), 32);
    (report, target)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_iteration_is_counted_and_the_vu_starts_over() {
    let (report, target) = run_panicking_every_fifth(guests::PROBE).await;
    let s = &report.snapshot;
    // Each VU starts once, then again after each of its 4 traps.
    assert_eq!(target.count("/hook/vu-start"), 10);
    assert!(
        s.iteration_errors
            .iter()
            .any(|e| e.message.contains("unreachable")),
        "{:?}",
        s.iteration_errors
    );
}
