//! A server run's observability outputs: only the kinds its tenant may use, only to URLs
//! its egress policy allows; pushed to a real Prometheus while `/metrics` shows the run's
//! latency histogram; how they fared in the run's log.

use std::time::{Duration, Instant};

use loadwright_tests::guests;
use loadwright_tests::receivers::Prometheus;
use serde_json::{Value, json};

use super::{Server, config};

/// The count of `/metrics`' `+Inf` bucket of run `run`'s latency histogram, if there.
fn latency_count(metrics: &str, run: &str) -> Option<u64> {
    let prefix = format!(
        "loadwright_run_http_req_duration_seconds_bucket{{tenant=\"acme\",run=\"{run}\",le=\"+Inf\"}} "
    );
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .and_then(|count| count.parse().ok())
}

#[test]
fn a_run_pushes_to_the_outputs_its_tenant_may_use() {
    let prometheus = Prometheus::start(true);
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(
        &dir.path().join("data"),
        &config("outputs = [\"prometheus-rw\"]"),
    );
    let shop = server.upload_guest(guests::SHOP);
    let write = format!("prometheus-rw={}", prometheus.write_url());
    let body = |outputs: Value| {
        json!({"scenario": shop, "base_url": server.target.url, "vus": 2, "duration": "3s",
               "outputs": outputs})
    };
    let refusals = [
        (
            json!(["otlp=http://127.0.0.1:4318"]),
            "may not push to otlp",
        ),
        (json!(["json=/tmp/x.json"]), "otlp=URL or prometheus-rw=URL"),
        (
            json!(["prometheus-rw=http://10.1.2.3:9090/api/v1/write"]),
            "egress",
        ),
        (json!(["prometheus-rw=not a url"]), "is not a URL"),
        (json!([&write, &write, &write, &write, &write]), "at most 4"),
    ];
    for (outputs, why) in refusals {
        let answer = server.post("acme-token", "/v1/runs", &body(outputs.clone()));
        assert_eq!(answer.status, 422, "{outputs}: {answer:?}");
        assert!(answer.message().contains(why), "{outputs}: {answer:?}");
        assert!(answer.message().contains("outputs"), "{answer:?}");
    }
    // globex's configuration lists no outputs.
    let globex = server.upload("globex-token", &std::fs::read(guests::SHOP).expect("shop"));
    assert!(matches!(globex.status, 200 | 201), "{globex:?}");
    let answer = server.post("globex-token", "/v1/runs", &body(json!([&write])));
    assert_eq!(answer.status, 422, "{answer:?}");
    assert!(
        answer.message().contains("tenant \"globex\" may not push"),
        "{answer:?}"
    );

    let run = server.start_run(
        &shop,
        json!({"vus": 2, "duration": "3s", "outputs": [&write]}),
    );
    // While it runs, /metrics has its latency histogram.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let metrics = server.get("admin-token", "/metrics");
        if latency_count(&metrics.body, &run).is_some_and(|n| n > 0) {
            assert!(
                metrics
                    .body
                    .contains("# TYPE loadwright_run_http_req_duration_seconds histogram")
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no latency histogram: {}",
            metrics.body
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let ended = server.wait_for_end(&run);
    let count = ended["summary"]["metrics"]["http_reqs"]["values"]["count"]
        .as_f64()
        .expect("count");
    let query = format!("sum(loadwright_http_reqs_total{{run=\"{run}\",scenario=\"{shop}\"}})");
    assert_eq!(
        prometheus.query(&query),
        Some(count),
        "{}",
        prometheus.log()
    );
    let log = server
        .get("acme-token", &format!("/v1/runs/{run}/log"))
        .json();
    let lines: Vec<&str> = log
        .as_array()
        .expect("lines")
        .iter()
        .filter_map(|l| l["message"].as_str())
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("output prometheus-rw") && l.contains(" 0 failed, 0 dropped")),
        "{lines:?}"
    );
}
