//! Nothing is lost: after `kill -9` and a restart, uploaded scenarios and finished runs are
//! there and the active run reads as interrupted with what it had persisted; SIGTERM stops
//! runs gracefully and stores their reports.

use std::time::{Duration, Instant};

use serde_json::json;

use super::{Server, config};
use loadwright_tests::guests;

#[test]
fn a_killed_server_keeps_everything_and_marks_the_active_run_interrupted() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data, &config(""));
    let id = server.upload_guest(guests::HELLO);
    let done = server.start_run(&id, json!({"vus": 1, "iterations": 5}));
    server.wait_for_end(&done);
    let plan = json!({"vus": 2, "duration": "60s", "statsInterval": "200ms"});
    let active = server.start_run(&id, json!({"plan": plan, "params": {"think_ms": "10"}}));
    // Let it persist a few intervals.
    let deadline = Instant::now() + Duration::from_secs(30);
    while server
        .get("acme-token", &format!("/v1/runs/{active}/series"))
        .json()
        .as_array()
        .map_or(0, Vec::len)
        < 3
    {
        assert!(Instant::now() < deadline, "no intervals persisted");
        std::thread::sleep(Duration::from_millis(100));
    }
    let Server {
        process, target, ..
    } = server;
    process.kill_hard();
    drop(target);

    let server = Server::start(&data, &config(""));
    let scenarios = server.get("acme-token", "/v1/scenarios").json();
    assert_eq!(scenarios[0]["id"], id.as_str());
    let finished = server.get("acme-token", &format!("/v1/runs/{done}")).json();
    assert_eq!(finished["state"], "completed");
    assert!(finished["summary"]["metrics"]["http_reqs"].is_object());
    let report = server.get("acme-token", &format!("/v1/runs/{done}/report/stats.csv"));
    assert_eq!(report.status, 200);
    let interrupted = server
        .get("acme-token", &format!("/v1/runs/{active}"))
        .json();
    assert_eq!(interrupted["state"], "interrupted", "{interrupted}");
    let series = server
        .get("acme-token", &format!("/v1/runs/{active}/series"))
        .json();
    assert!(
        series.as_array().unwrap().len() >= 3,
        "its intervals are kept"
    );
    let stats = server
        .get("acme-token", &format!("/v1/runs/{active}/stats"))
        .json();
    assert!(
        stats["total"]["count"].as_u64().unwrap() > 0,
        "and its last snapshot"
    );
    // A restarted server takes new runs of the kept scenario.
    let again = server.start_run(&id, json!({"vus": 1, "iterations": 2}));
    assert_eq!(server.wait_for_end(&again)["state"], "completed");
}

#[test]
fn sigterm_stops_runs_gracefully_and_stores_their_reports() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data, &config(""));
    let id = server.upload_guest(guests::HELLO);
    let run = server.start_run(
        &id,
        json!({"vus": 2, "duration": "60s", "params": {"think_ms": "10"}}),
    );
    std::thread::sleep(Duration::from_millis(1500));
    let Server {
        process, target, ..
    } = server;
    let began = Instant::now();
    assert!(process.terminate(), "the server exits cleanly");
    assert!(
        began.elapsed() < Duration::from_secs(30),
        "without waiting for the run's end"
    );
    drop(target);

    let server = Server::start(&data, &config(""));
    let stopped = server.get("acme-token", &format!("/v1/runs/{run}")).json();
    assert_eq!(stopped["state"], "stopped", "{stopped}");
    assert!(stopped["summary"].is_object());
}
