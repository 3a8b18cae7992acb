//! The guest contract at work against the built-in demo target: batch, expected statuses,
//! cookies, checks, custom metrics, spawn rate.

use std::time::Duration;

use loadwright_host::demo::DemoTarget;
use loadwright_tests::guests;

use crate::{run, start};

async fn demo() -> DemoTarget {
    DemoTarget::start(([127, 0, 0, 1], 0).into())
        .await
        .expect("demo target")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_sends_its_requests_concurrently() {
    let target = demo().await;
    let report = run(
        guests::PROBE,
        r#"{"iterations": 2}"#,
        &target.url(),
        &[("mode", "batch")],
    )
    .await;
    let s = &report.snapshot;
    assert_eq!(s.iterations_failed, 0, "{:?}", s.iteration_errors);
    let slow = s
        .requests
        .iter()
        .find(|r| r.name == "/slow")
        .expect("a /slow row");
    assert_eq!(slow.count, 6);
    // Three 300 ms requests one after the other would take 900 ms; concurrently about 300.
    assert!(
        slow.duration.min >= 290.0,
        "each took its 300 ms: {}",
        slow.duration.min
    );
    assert!(
        s.iteration_duration.max < 750.0,
        "the batch ran concurrently: {}ms",
        s.iteration_duration.max
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unexpected_statuses_fail_and_expected_ones_do_not() {
    let target = demo().await;
    let report = run(
        guests::PROBE,
        r#"{"iterations": 3}"#,
        &target.url(),
        &[("mode", "status")],
    )
    .await;
    let s = &report.snapshot;
    let row = |name: &str| s.requests.iter().find(|r| r.name == name).expect("row");
    assert_eq!(
        (row("/status/404").count, row("/status/404").failures),
        (3, 0)
    );
    assert_eq!(
        (row("/status/500").count, row("/status/500").failures),
        (3, 3)
    );
    let errors: Vec<(&str, &str, u64)> = s
        .errors
        .iter()
        .map(|e| (e.name.as_str(), e.kind.as_str(), e.count))
        .collect();
    assert!(
        errors.contains(&("/status/500", "status-500", 3)),
        "{errors:?}"
    );
    // The probe's tasks hit /a and /b, which the demo target does not have: 404 fails too.
    assert!(errors.iter().any(|e| e.1 == "status-404"), "{errors:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shop_example_logs_in_keeps_its_cookie_and_records_metrics() {
    let target = demo().await;
    // 120 iterations at weights 5:3:1: every task runs (no `buy` at all has odds 1e-6).
    let plan = r#"{"vus": 10, "iterations": 120}"#;
    let report = run(guests::SHOP, plan, &target.url(), &[]).await;
    let s = &report.snapshot;
    assert_eq!(s.iterations, 120);
    assert_eq!(s.total.failures, 0, "{:?}", s.errors);
    let check = |name: &str| {
        s.checks
            .iter()
            .find(|c| c.name == name)
            .map(|c| (c.passes, c.fails))
    };
    // POST /cart answers 401 without the session cookie set at login: none failed.
    let (added, not_added) = check("added to cart").unwrap_or_default();
    assert_eq!(not_added, 0);
    assert!(added > 0);
    let metric = |name: &str| s.metrics.iter().find(|m| m.name == name).cloned();
    assert_eq!(metric("items_added").map(|m| m.value), Some(added as f64));
    let (found, _) = check("item found").unwrap_or_default();
    assert!(found > 0);
    let price = metric("item_price").expect("item_price trend");
    assert_eq!(price.count, found);
    let trend = price.trend.expect("trend stats");
    assert!(
        trend.min >= 5.0 && trend.max <= 24.0,
        "prices of the demo items: {trend:?}"
    );
    let logins = s
        .requests
        .iter()
        .find(|r| r.name == "/login")
        .map(|r| r.count);
    assert_eq!(logins, Some(10), "one login per VU");
    assert_eq!(
        s.requests
            .iter()
            .filter(|r| r.name.starts_with("/items/"))
            .count(),
        1,
        "named rows merge"
    );
    // The wait time (between 50 and 250 ms after every task) is part of each iteration.
    let d = &s.iteration_duration;
    assert!(
        d.min >= 50.0,
        "every iteration waited at least 50 ms: {d:?}"
    );
    assert!(
        d.p50 >= 100.0 && d.p50 <= 250.0,
        "a random wait around 150 ms: {d:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawn_rate_ramps_vus_up() {
    let target = demo().await;
    let handle = start(
        guests::HELLO,
        r#"{"vus": 3, "duration": "1500ms", "spawnRate": 2}"#,
        &target.url(),
        &[],
    )
    .await;
    let mut intervals = handle.subscribe();
    let first = intervals.recv().await.expect("first interval");
    // At 200 ms only the first VU has started (the next ones come at 500 ms and 1 s).
    assert!(
        first.vus < 3,
        "VUs after {:?}: {}",
        first.elapsed,
        first.vus
    );
    let report = handle.wait().await;
    assert_eq!(report.snapshot.vus_max, 3);
    let peak = report
        .series
        .iter()
        .map(|i| i.vus)
        .max()
        .unwrap_or_default();
    assert_eq!(peak, 3, "all VUs ran at the end");
    assert!(report.snapshot.elapsed < Duration::from_secs(5));
}
