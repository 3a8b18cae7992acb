//! Each executor's schedule, checked against a local target: VUs over time, iteration
//! counts, start spacing, start times, dropped iterations. Timing bounds are loose: the
//! machine may be busy.

use std::time::{Duration, Instant};

use loadwright_host::run::RunStatus;
use loadwright_tests::guests;
use loadwright_tests::target::Recorder;

use crate::{run, run_sleeping};

/// Gaps between consecutive instants.
fn gaps(times: &[Instant]) -> Vec<Duration> {
    times.windows(2).map(|w| w[1] - w[0]).collect()
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ramping_vus_follows_its_stages() {
    let target = Recorder::start().await;
    let plan = r#"{"scenarios": {"ramp": {"executor": "ramping-vus", "startVUs": 0,
        "stages": [{"duration": "1s", "target": 4}, {"duration": "1s", "target": 4},
                   {"duration": "1s", "target": 0}],
        "gracefulRampDown": "1s"}}}"#;
    let report = run_sleeping(plan, &target.url(), 50).await;
    assert_eq!(report.status, RunStatus::Completed);
    let vus_at = |from: f64, to: f64| -> Vec<u32> {
        report
            .series
            .iter()
            .filter(|i| (from..to).contains(&i.elapsed.as_secs_f64()))
            .map(|i| i.vus)
            .collect()
    };
    // Planned: 1 VU from 0.25 s, 4 from 1 s to 2 s, down to 0 at 3 s.
    let early = vus_at(0.0, 0.3);
    assert!(
        early.iter().all(|v| *v <= 1),
        "ramping up from 0: {early:?}"
    );
    let held = vus_at(1.3, 1.9);
    assert!(
        !held.is_empty() && held.iter().all(|v| *v == 4),
        "held at 4: {held:?}"
    );
    let late = vus_at(2.5, 2.9);
    assert!(late.iter().all(|v| *v <= 2), "ramping down: {late:?}");
    assert_eq!(report.snapshot.vus, 0);
    // Each VU started once; ramped-down VUs finished their iteration and said goodbye.
    assert_eq!(target.count("/hook/vu-start"), 4);
    assert_eq!(target.count("/hook/vu-stop"), 4);
    assert_eq!(report.snapshot.iterations_interrupted, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn constant_arrival_rate_starts_iterations_evenly_spaced() {
    let target = Recorder::start().await;
    let plan = r#"{"scenarios": {"open": {"executor": "constant-arrival-rate", "rate": 50,
        "timeUnit": "1s", "duration": "2s", "preAllocatedVUs": 5, "maxVUs": 20}}}"#;
    let report = run(guests::HELLO, plan, &target.url(), &[]).await;
    assert_eq!(report.status, RunStatus::Completed);
    let arrivals = target.arrivals("/");
    assert_eq!(arrivals.len(), 100, "50/s for 2 s");
    assert_eq!(report.snapshot.iterations, 100);
    assert_eq!(report.snapshot.dropped_iterations, 0);
    let gap = median(gaps(&arrivals));
    assert!(
        (Duration::from_millis(17)..Duration::from_millis(23)).contains(&gap),
        "starts 20 ms apart: median gap {gap:?}"
    );
    let span = arrivals[99] - arrivals[0];
    assert!(
        (Duration::from_millis(1800)..Duration::from_millis(2300)).contains(&span),
        "the last start comes 1.98 s after the first: {span:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ramping_arrival_rate_integrates_its_stages() {
    let target = Recorder::start().await;
    // 0 to 40/s over 2 s: 40 starts, a quarter of them in the first second.
    let plan = r#"{"scenarios": {"ramp": {"executor": "ramping-arrival-rate", "startRate": 0,
        "stages": [{"duration": "2s", "target": 40}], "preAllocatedVUs": 4}}}"#;
    let began = Instant::now();
    let report = run(guests::HELLO, plan, &target.url(), &[]).await;
    let arrivals = target.arrivals("/");
    assert_eq!(arrivals.len(), 40);
    assert_eq!(report.snapshot.iterations, 40);
    // As k6: the first start once the rate has added up to one, at sqrt(1/10) s.
    let first = arrivals[0];
    let in_first_second = arrivals
        .iter()
        .filter(|at| **at - first < Duration::from_millis(1000 - 316))
        .count();
    assert!(
        (7..=13).contains(&in_first_second),
        "about 10 in the first second: {in_first_second}"
    );
    let gaps = gaps(&arrivals);
    assert!(
        gaps[2] > gaps[gaps.len() - 3],
        "starts come closer as the rate rises: {:?} then {:?}",
        gaps[2],
        gaps[gaps.len() - 3]
    );
    assert!(began.elapsed() < Duration::from_secs(10));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starts_finding_no_free_vu_and_no_room_are_dropped() {
    let target = Recorder::start().await;
    // 20 starts in 1 s, but 2 VUs that each take 500 ms per iteration: most are dropped.
    let plan = r#"{"scenarios": {"open": {"executor": "constant-arrival-rate", "rate": 20,
        "duration": "1s", "preAllocatedVUs": 1, "maxVUs": 2}}}"#;
    let report = run_sleeping(plan, &target.url(), 500).await;
    let s = &report.snapshot;
    let ran = s.iterations + s.iterations_interrupted;
    assert_eq!(
        ran + s.dropped_iterations,
        20,
        "every start ran or was dropped"
    );
    assert!(
        (2..=6).contains(&ran),
        "two VUs fit about four 500 ms iterations in 1 s: {ran}"
    );
    assert_eq!(
        (target.count("/a") + target.count("/b")) as u64,
        s.iterations,
        "only started iterations reached the target"
    );
    assert_eq!(target.count("/hook/vu-start"), 2, "no VU past maxVUs");
    let dropped: u64 = report.series.iter().map(|i| i.dropped_iterations).sum();
    assert_eq!(dropped, s.dropped_iterations, "the series counts them too");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn iterations_left_when_max_duration_runs_out_count_as_dropped() {
    let target = Recorder::start().await;
    let plan = r#"{"scenarios": {"s": {"executor": "per-vu-iterations", "vus": 2,
        "iterations": 100, "maxDuration": "500ms", "gracefulStop": "0s"}}}"#;
    let report = run_sleeping(plan, &target.url(), 50).await;
    let s = &report.snapshot;
    assert!(
        s.iterations < 40,
        "500 ms of 50 ms iterations: {}",
        s.iterations
    );
    assert_eq!(
        s.iterations + s.iterations_interrupted + s.dropped_iterations,
        200,
        "every planned iteration is accounted for"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenarios_run_concurrently_from_their_start_times() {
    let target = Recorder::start().await;
    let plan = r#"{"scenarios": {
        "early": {"executor": "constant-vus", "vus": 1, "duration": "1500ms", "exec": "a"},
        "late": {"executor": "per-vu-iterations", "vus": 2, "iterations": 3, "exec": "b",
                 "startTime": "700ms"}}}"#;
    let report = run_sleeping(plan, &target.url(), 20).await;
    assert_eq!(report.status, RunStatus::Completed);
    let (a, b) = (target.arrivals("/a"), target.arrivals("/b"));
    assert_eq!(b.len(), 6, "2 VUs × 3 iterations, all of task b");
    let late_by = b[0] - a[0];
    assert!(
        late_by >= Duration::from_millis(650),
        "the late scenario waited for its start time: {late_by:?}"
    );
    assert!(
        a.iter().any(|at| *at > b[0]),
        "the early scenario was still running when the late one started"
    );
}
