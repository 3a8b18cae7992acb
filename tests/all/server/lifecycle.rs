//! A platform's whole flow: upload, run, stream, stop, report; the OpenAPI document and the
//! answers that match it.

use serde_json::{Value, json};

use super::{Server, config};
use loadwright_tests::guests;

#[test]
fn upload_run_stream_and_report() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), &config(""));
    let hello = std::fs::read(guests::HELLO).unwrap();

    let first = server.upload("acme-token", &hello);
    assert_eq!(first.status, 201, "{first:?}");
    let scenario = first.json();
    let id = scenario["id"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 64, "the id is the content hash");
    assert_eq!(scenario["size"], hello.len());
    assert_eq!(scenario["tasks"][0]["name"], "default");
    assert!(
        scenario["imports"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i.as_str().unwrap().starts_with("loadwright:scenario/http"))
    );
    let again = server.upload("acme-token", &hello);
    assert_eq!(
        (again.status, again.json()["id"].as_str()),
        (200, Some(id.as_str()))
    );
    // A Go-built core module is taken as it is, as `host run` takes it.
    let go = server.upload("acme-token", &std::fs::read(guests::GO_HELLO).unwrap());
    assert_eq!(go.status, 201, "{go:?}");
    assert_eq!(go.json()["tasks"][0]["name"], "default");
    let listed = server.get("acme-token", "/v1/scenarios").json();
    assert_eq!(listed.as_array().unwrap().len(), 2);
    assert_eq!(
        server
            .get("acme-token", &format!("/v1/scenarios/{id}"))
            .json()["id"],
        id
    );

    let run = server.start_run(&id, json!({"vus": 2, "duration": "2s"}));
    let events = server.events("acme-token", &run, "", 1000);
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names.first(), Some(&"snapshot"), "{names:?}");
    assert_eq!(names.last(), Some(&"end"), "{names:?}");
    let intervals: Vec<&Value> = events
        .iter()
        .filter(|(n, _)| n == "interval")
        .map(|(_, v)| v)
        .collect();
    assert!(intervals.len() >= 2, "{names:?}");
    let elapsed: Vec<f64> = intervals
        .iter()
        .map(|i| i["elapsed"].as_f64().unwrap())
        .collect();
    assert!(
        elapsed.windows(2).all(|w| w[0] < w[1]),
        "in order: {elapsed:?}"
    );
    assert_eq!(events.last().unwrap().1["state"], "completed");

    let finished = server.wait_for_end(&run);
    assert_eq!(finished["state"], "completed");
    let requests = finished["summary"]["metrics"]["http_reqs"]["values"]["count"]
        .as_f64()
        .unwrap() as u64;
    assert!(requests > 0);
    let streamed: u64 = intervals
        .iter()
        .map(|i| i["requests"].as_u64().unwrap())
        .sum();
    assert!(streamed <= requests, "{streamed} streamed of {requests}");
    let report = server
        .get("acme-token", &format!("/v1/runs/{run}/report"))
        .json();
    assert_eq!(report["status"]["state"], "completed");
    let stats = server
        .get("acme-token", &format!("/v1/runs/{run}/stats"))
        .json();
    assert_eq!(stats["total"]["count"].as_u64(), Some(requests));
    let series = server
        .get("acme-token", &format!("/v1/runs/{run}/series"))
        .json();
    let all = series.as_array().unwrap().len();
    let late = server
        .get("acme-token", &format!("/v1/runs/{run}/series?since=1.5"))
        .json();
    assert!(
        late.as_array().unwrap().len() < all && all >= 2,
        "since filters"
    );
    let csv = server.get("acme-token", &format!("/v1/runs/{run}/report/stats.csv"));
    assert_eq!(csv.status, 200);
    assert!(
        csv.body.starts_with("Type,Name,Request Count,"),
        "{}",
        csv.body
    );
    assert!(
        csv.body.contains(&format!(",Aggregated,{requests},")),
        "{}",
        csv.body
    );
    for file in ["stats_history.csv", "failures.csv", "exceptions.csv"] {
        let answer = server.get("acme-token", &format!("/v1/runs/{run}/report/{file}"));
        assert_eq!(answer.status, 200, "{file}");
    }
    assert_eq!(
        server
            .get("acme-token", &format!("/v1/runs/{run}/report/other.csv"))
            .status,
        404
    );
    // The HTML report: the stored summary and series inlined in one page.
    let page = server.get("acme-token", &format!("/v1/runs/{run}/report.html"));
    assert_eq!(page.status, 200);
    assert!(
        page.body.starts_with("<!doctype html>"),
        "{:.200}",
        page.body
    );
    let marker = "id=\"report-data\">";
    let data = &page.body[page.body.find(marker).unwrap() + marker.len()..];
    let data: Value = serde_json::from_str(&data[..data.find("</script>").unwrap()]).unwrap();
    assert_eq!(data["summary"], report);
    assert_eq!(data["series"], series);
    assert!(
        server
            .get("acme-token", &format!("/v1/runs/{run}/log"))
            .json()
            .is_array()
    );
    let done = server.get("acme-token", "/v1/runs?state=completed").json();
    assert_eq!(done.as_array().unwrap().len(), 1);
    assert_eq!(server.get("acme-token", "/v1/runs?state=bogus").status, 400);
}

#[test]
fn a_run_can_be_controlled_and_stopped_and_a_late_subscriber_catches_up() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), &config(""));
    let id = server.upload_guest(guests::HELLO);
    let plan = json!({"scenarios": {"s": {"executor": "constant-vus", "vus": 2,
        "maxVUs": 4, "duration": "60s"}}, "statsInterval": "200ms"});
    let run = server.start_run(&id, json!({"plan": plan, "params": {"think_ms": "20"}}));
    std::thread::sleep(std::time::Duration::from_millis(900));

    // Joining late: the current snapshot first, then the intervals as they close.
    let events = server.events("acme-token", &run, "", 4);
    assert_eq!(events[0].0, "snapshot");
    assert!(
        events[0].1["total"]["count"].as_u64().unwrap() > 0,
        "already counting"
    );
    assert!(
        events[1..].iter().all(|(n, _)| n == "interval"),
        "{events:?}"
    );

    let vus = server.post(
        "acme-token",
        &format!("/v1/runs/{run}/vus"),
        &json!({"vus": 4}),
    );
    assert_eq!(vus.status, 200, "{vus:?}");
    let past = server.post(
        "acme-token",
        &format!("/v1/runs/{run}/vus"),
        &json!({"vus": 9}),
    );
    assert_eq!(past.status, 422);
    assert!(past.message().contains("at most 4"), "{past:?}");
    let paused = server.post("acme-token", &format!("/v1/runs/{run}/pause"), &json!({}));
    assert_eq!(
        (paused.status, paused.json()["state"].as_str()),
        (200, Some("paused"))
    );
    let resumed = server.post("acme-token", &format!("/v1/runs/{run}/resume"), &json!({}));
    assert_eq!(resumed.status, 200);

    let stopped = server.post("acme-token", &format!("/v1/runs/{run}/stop"), &json!({}));
    assert_eq!(stopped.status, 202, "{stopped:?}");
    let finished = server.wait_for_end(&run);
    assert_eq!(finished["state"], "stopped");
    let again = server.post("acme-token", &format!("/v1/runs/{run}/stop"), &json!({}));
    assert_eq!(again.status, 409);
}

/// Checks `value` against the OpenAPI document's schema `name`.
fn conforms(doc: &Value, name: &str, value: &Value) {
    let schema = json!({
        "$ref": format!("#/components/schemas/{name}"),
        "components": doc["components"],
    });
    let validator = jsonschema::validator_for(&schema).expect("a valid schema");
    let errors: Vec<String> = validator
        .iter_errors(value)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{name}: {errors:?}\n{value}");
}

#[test]
fn the_openapi_document_describes_the_answers() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), &config(""));
    let doc = server.get("", "/v1/openapi.json").json();
    let paths = doc["paths"].as_object().unwrap();
    for route in [
        "/v1/scenarios",
        "/v1/scenarios/{id}",
        "/v1/runs",
        "/v1/runs/{id}",
        "/v1/runs/{id}/stop",
        "/v1/runs/{id}/vus",
        "/v1/runs/{id}/pause",
        "/v1/runs/{id}/resume",
        "/v1/runs/{id}/stats",
        "/v1/runs/{id}/series",
        "/v1/runs/{id}/stream",
        "/v1/runs/{id}/report",
        "/v1/runs/{id}/report/{file}",
        "/v1/runs/{id}/report.html",
        "/v1/runs/{id}/log",
        "/healthz",
        "/readyz",
        "/metrics",
        "/v1/openapi.json",
    ] {
        assert!(paths.contains_key(route), "{route} is documented");
    }
    let id = server.upload_guest(guests::HELLO);
    let scenario = server
        .get("acme-token", &format!("/v1/scenarios/{id}"))
        .json();
    conforms(&doc, "ScenarioView", &scenario);
    let run = server.start_run(&id, json!({"vus": 1, "iterations": 3}));
    let finished = server.wait_for_end(&run);
    conforms(&doc, "RunView", &finished);
    let runs = server.get("acme-token", "/v1/runs").json();
    conforms(&doc, "RunView", &runs[0]);
    let error = server.get("acme-token", "/v1/runs/nope");
    assert_eq!(error.status, 404);
    conforms(&doc, "ErrorBody", &error.json());
    let log = server
        .get("acme-token", &format!("/v1/runs/{run}/log"))
        .json();
    for line in log.as_array().unwrap() {
        conforms(&doc, "LogView", line);
    }
    // A document that does not match is caught: the check can fail.
    let mut broken = finished.clone();
    broken["state"] = json!("sideways");
    let schema = json!({"$ref": "#/components/schemas/RunView", "components": doc["components"]});
    assert!(
        !jsonschema::validator_for(&schema)
            .unwrap()
            .is_valid(&broken)
    );
    assert_eq!(server.get("", "/healthz").status, 200);
    assert_eq!(server.get("", "/readyz").status, 200);
}

#[test]
fn the_stream_can_follow_each_interval_with_a_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), &config(""));
    let id = server.upload_guest(guests::HELLO);
    let run = server.start_run(&id, json!({"vus": 2, "duration": "3s"}));
    let events = server.events("acme-token", &run, "?snapshots=true", 1000);
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names.first(), Some(&"snapshot"), "{names:?}");
    assert_eq!(names.last(), Some(&"end"), "{names:?}");
    let mut streamed = 0;
    let mut followed = 0;
    for pair in events.windows(2) {
        if pair[0].0 != "interval" {
            continue;
        }
        // Each interval is followed by the cumulative statistics as it closed, which hold
        // at least every request the intervals so far counted.
        assert_eq!(pair[1].0, "snapshot", "{names:?}");
        streamed += pair[0].1["requests"].as_u64().unwrap();
        let total = pair[1].1["total"]["count"].as_u64().unwrap();
        assert!(total >= streamed, "{total} < {streamed}");
        followed += 1;
    }
    assert!(followed >= 2, "{names:?}");
}
