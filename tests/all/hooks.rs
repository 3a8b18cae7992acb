//! Event hooks fire in the documented order and counts; guests see the host's numbers.

use loadwright_host::run::RunStatus;
use loadwright_tests::guests;
use loadwright_tests::target::Recorder;

use crate::{run, start};

/// The value of `key` in `request`'s query string.
pub(crate) fn query(request: &str, key: &str) -> Option<String> {
    let query = request.split_once('?')?.1;
    query
        .split('&')
        .find_map(|kv| kv.strip_prefix(&format!("{key}=")).map(str::to_owned))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hooks_fire_in_the_documented_order_and_counts() {
    let target = Recorder::start().await;
    let plan = r#"{"vus": 3, "duration": "1200ms"}"#;
    let report = run(guests::PROBE, plan, &target.url(), &[]).await;
    assert_eq!(report.status, RunStatus::Completed);
    let log = target.requests();
    let path = |r: &String| r.split('?').next().unwrap_or_default().to_owned();

    assert_eq!(
        path(&log[0]),
        "/hook/test-start",
        "on-test-start comes first: {:?}",
        &log[..3]
    );
    assert_eq!(
        query(&log[0], "vu").as_deref(),
        Some("0"),
        "test hooks run outside any VU"
    );
    assert_eq!(target.count("/hook/test-start"), 1);
    assert_eq!(
        path(log.last().expect("requests")),
        "/hook/test-stop",
        "on-test-stop comes last"
    );
    assert_eq!(target.count("/hook/test-stop"), 1);
    assert_eq!(target.count("/hook/vu-start"), 3);
    assert_eq!(target.count("/hook/vu-stop"), 3);
    // 1.2 s at a 200 ms interval: about 6 on-stats calls; allow for a slow machine.
    let stats = target.count("/hook/stats");
    assert!((2..=8).contains(&stats), "on-stats ran {stats} times");

    for vu in 1..=3 {
        let mine: Vec<String> = log
            .iter()
            .filter(|r| query(r, "vu").as_deref() == Some(&vu.to_string()))
            .map(path)
            .collect();
        assert_eq!(
            mine.first().map(String::as_str),
            Some("/hook/vu-start"),
            "VU {vu}: {mine:?}"
        );
        assert_eq!(
            mine.last().map(String::as_str),
            Some("/hook/vu-stop"),
            "VU {vu}"
        );
        assert!(mine.len() > 2, "VU {vu} iterated");
    }
    // The final snapshot handed to on-test-stop holds every request but its own report.
    let reported =
        query(log.last().expect("requests"), "requests").and_then(|n| n.parse::<usize>().ok());
    assert_eq!(reported, Some(log.len() - 1));
}

/// Checks every `/snap?count=..&iterations=..&iteration=..&setup=..` request a probe sent
/// (one VU, one request at a time) against what the server saw before it; returns how many.
///
/// The run must close no interval meanwhile: the probes' `on-stats` hook requests the target
/// too, concurrently with the VU, and a hook request in flight is in the server's log before
/// it is counted.
pub(crate) fn snapshots_match_the_server(log: &[String]) -> usize {
    let mut checked = 0;
    for (index, request) in log.iter().enumerate() {
        if !request.starts_with("/snap?") {
            continue;
        }
        // The guest's snapshot counts exactly the requests the server saw before this
        // report, and the iterations before this one.
        assert_eq!(
            query(request, "count"),
            Some(index.to_string()),
            "{request}"
        );
        assert_eq!(
            query(request, "iterations"),
            query(request, "iteration"),
            "{request}"
        );
        assert_eq!(
            query(request, "setup").as_deref(),
            Some("setup-ok"),
            "setup data reaches VUs"
        );
        checked += 1;
    }
    checked
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_taken_by_a_guest_matches_the_hosts_view() {
    let target = Recorder::start().await;
    // No interval closes during the run (see `snapshots_match_the_server`).
    let plan = r#"{"iterations": 40, "statsInterval": "1h"}"#;
    let report = run(guests::PROBE, plan, &target.url(), &[("mode", "snapshot")]).await;
    assert_eq!(report.snapshot.iterations, 40);
    assert_eq!(snapshots_match_the_server(&target.requests()), 40);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_on_test_start_aborts_the_run_with_its_message() {
    let target = Recorder::start().await;
    let report = run(
        guests::PROBE,
        r#"{"vus": 2, "duration": "5s"}"#,
        &target.url(),
        &[("fail_start", "1")],
    )
    .await;
    match &report.status {
        RunStatus::Aborted { reason } => {
            assert!(reason.contains("refused by the probe"), "{reason}")
        }
        other => panic!("expected an abort, got {other:?}"),
    }
    assert_eq!(target.count("/hook/test-start"), 1);
    assert_eq!(
        target.count("/hook/vu-start"),
        0,
        "no VU starts after a failed on-test-start"
    );
    assert_eq!(report.snapshot.iterations, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vu_that_never_starts_is_retired_and_counted_while_the_others_run() {
    let target = Recorder::start().await;
    let handle = start(
        guests::PROBE,
        r#"{"scenarios": {"s": {"executor": "per-vu-iterations", "vus": 3, "iterations": 4}}}"#,
        &target.url(),
        &[("fail_vu_start", "2")],
    )
    .await;
    let report = handle.wait().await;
    assert_eq!(report.status, RunStatus::Completed);
    let s = &report.snapshot;
    assert_eq!(s.vus_retired, 1, "VU 2 is retired");
    assert_eq!(s.iterations, 8, "VUs 1 and 3 run all their iterations");
    // VU 2 tries five times before it is retired; the others start once.
    assert_eq!(target.count("/hook/vu-start"), 2 + 5);
    assert!(
        handle.recent_logs().iter().any(|l| {
            l.message.contains("VU 2 retired after 5 failed starts")
                && l.message.contains("VU refused by the probe")
        }),
        "the log says why"
    );
}
