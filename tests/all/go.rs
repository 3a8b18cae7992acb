//! Go scenarios, built by the Go toolchain as WASI reactors and loaded as they are: the host
//! makes them components. Counts are exact, tasks in proportion, hooks fire, checks and
//! metrics are recorded, snapshots read from Go, and a Go panic fails only its iteration.

use loadwright_host::run::RunStatus;
use loadwright_host::stats::CustomKind;
use loadwright_tests::guests;
use loadwright_tests::target::Recorder;

use crate::cli::host;
use crate::faults::run_panicking_every_fifth;
use crate::hooks::{query, snapshots_match_the_server};
use crate::{engine, load, run};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_go_module_loads_as_a_component_with_its_tasks() {
    let scenario = load(&engine(), guests::GO_PROBE).await;
    let tasks: Vec<(String, u32)> = scenario
        .info()
        .tasks
        .iter()
        .map(|t| (t.name.clone(), t.weight))
        .collect();
    assert_eq!(tasks, [("a".to_owned(), 3), ("b".to_owned(), 1)]);
    let shop = load(&engine(), guests::GO_SHOP).await;
    assert!(
        shop.info().plan.contains("\"vus\":5"),
        "{}",
        shop.info().plan
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn go_hello_makes_exactly_the_requests_asked_for() {
    let target = Recorder::start().await;
    let report = run(
        guests::GO_HELLO,
        r#"{"vus": 5, "iterations": 60}"#,
        &target.url(),
        &[],
    )
    .await;
    assert_eq!(report.status, RunStatus::Completed);
    assert_eq!(target.count("/"), 60);
    assert_eq!(report.snapshot.total.count, 60);
    assert_eq!(report.snapshot.iterations, 60);
    let check = &report.snapshot.checks[0];
    assert_eq!((check.name.as_str(), check.passes), ("status is 200", 60));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn go_tasks_run_in_proportion_and_every_hook_fires() {
    let target = Recorder::start().await;
    let report = run(
        guests::GO_PROBE,
        r#"{"vus": 4, "iterations": 400}"#,
        &target.url(),
        &[],
    )
    .await;
    assert_eq!(report.status, RunStatus::Completed);
    let (a, b) = (target.count("/a"), target.count("/b"));
    assert_eq!(a + b, 400);
    // Weights 3:1; the pick is random, so the bounds are generous (p < 1e-6 outside).
    assert!((240..=360).contains(&a), "a={a} b={b}");
    assert_eq!(target.count("/hook/test-start"), 1);
    assert_eq!(target.count("/hook/vu-start"), 4);
    assert_eq!(target.count("/hook/vu-stop"), 4);
    let stop = target
        .requests()
        .into_iter()
        .find(|r| r.starts_with("/hook/test-stop"))
        .expect("on-test-stop ran");
    let seen_before: u64 = query(&stop, "requests").unwrap().parse().unwrap();
    assert_eq!(
        seen_before,
        report.snapshot.total.count - 1,
        "the final snapshot reached Go"
    );
    let checks = &report.snapshot.checks[0];
    assert_eq!(
        (checks.name.as_str(), checks.passes, checks.fails),
        ("probe ran", 400, 0)
    );
    let metric = report
        .snapshot
        .metrics
        .iter()
        .find(|m| m.name == "probe_tasks")
        .expect("the custom counter");
    assert_eq!((metric.kind, metric.value), (CustomKind::Counter, 400.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_go_panic_fails_its_iteration_and_the_vu_goes_on() {
    let (report, target) = run_panicking_every_fifth(guests::GO_PROBE).await;
    let s = &report.snapshot;
    // The panic is recovered into the iteration's error: the VU is not started again.
    assert_eq!(target.count("/hook/vu-start"), 2);
    let panics: u64 = s
        .iteration_errors
        .iter()
        .filter(|e| e.kind == "error" && e.message.starts_with("panic: planned panic"))
        .map(|e| e.count)
        .sum();
    assert_eq!(panics, 8, "{:?}", s.iteration_errors);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_stats_reaches_go_every_interval() {
    let target = Recorder::start().await;
    // Stats intervals of 200 ms over a 1.2 s run.
    let report = run(
        guests::GO_PROBE,
        r#"{"vus": 1, "duration": "1200ms"}"#,
        &target.url(),
        &[],
    )
    .await;
    assert_eq!(report.status, RunStatus::Completed);
    let calls = target.count("/hook/stats");
    assert!((3..=8).contains(&calls), "{calls} on-stats calls");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_go_scenario_reads_the_live_snapshot_and_the_setup_data() {
    let target = Recorder::start().await;
    let report = run(
        guests::GO_PROBE,
        // No interval closes during the run: the probe's `on-stats` hook requests the
        // target too, and one in flight would be in the server's log but not yet counted.
        r#"{"iterations": 30, "statsInterval": "1h"}"#,
        &target.url(),
        &[("snapshot", "1")],
    )
    .await;
    assert_eq!(report.snapshot.iterations, 30);
    assert_eq!(snapshots_match_the_server(&target.requests()), 30);
}

#[test]
fn host_run_takes_a_go_module_as_it_is() {
    let out = std::process::Command::new(host())
        .args(["run", guests::GO_SHOP, "--target-demo", "--duration", "2s"])
        .env(
            "LOADWRIGHT_CACHE_DIR",
            std::env::temp_dir().join("loadwright-test-cache"),
        )
        .output()
        .expect("run host");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for line in [
        "POST /login",
        "GET /items/{id}",
        "✓ added to cart",
        "items_added",
    ] {
        assert!(stdout.contains(line), "{line} in:\n{stdout}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_go_vu_draws_its_own_random_numbers() {
    let target = Recorder::start().await;
    let plan =
        r#"{"scenarios": {"s": {"executor": "per-vu-iterations", "vus": 4, "iterations": 1}}}"#;
    run(guests::GO_PROBE, plan, &target.url(), &[("rand", "1")]).await;
    let mut numbers: Vec<String> = target
        .requests()
        .iter()
        .filter_map(|r| r.strip_prefix("/rand?n=").map(str::to_owned))
        .collect();
    assert_eq!(numbers.len(), 4);
    numbers.sort();
    numbers.dedup();
    // Each VU starts its own Go runtime, which seeds math/rand from the host's randomness
    // (a pre-initialized image would give every VU the same numbers: bench/README.md).
    assert_eq!(numbers.len(), 4, "every VU has its own generator");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn go_reads_header_fields_by_name_and_in_order() {
    let target = Recorder::start().await;
    let plan =
        r#"{"scenarios": {"s": {"executor": "per-vu-iterations", "vus": 2, "iterations": 3}}}"#;
    let report = run(guests::GO_PROBE, plan, &target.url(), &[("headers", "1")]).await;
    assert_eq!(report.status, RunStatus::Completed);
    let passes = |name: &str| {
        let check = report.snapshot.checks.iter().find(|c| c.name == name);
        check.map_or(0, |c| c.passes)
    };
    let checks = &report.snapshot.checks;
    // The target answers `ok` (two bytes) with hyper's content-length and date fields.
    assert_eq!(passes("Content-Length=2"), 6, "{checks:?}");
    assert_eq!(passes("fields=content-length,date"), 6, "{checks:?}");
}
