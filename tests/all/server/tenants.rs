//! Bad uploads are refused with a message; tenants see and touch only their own; quotas and
//! caps refuse with 403/429/422 and say why.

use serde_json::json;

use super::{Server, config};
use loadwright_tests::guests;

#[test]
fn every_bad_upload_gets_its_4xx_and_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        &dir.path().join("data"),
        &config("quotas = { upload-bytes = 2000000 }"),
    );
    let read = |path: &str| std::fs::read(path).unwrap();
    let cases: [(&str, Vec<u8>, u16, &str); 6] = [
        (
            "not wasm",
            b"#!/bin/sh\n".to_vec(),
            422,
            "not a WebAssembly file",
        ),
        (
            "a core module",
            b"\0asm\x01\0\0\0".to_vec(),
            422,
            "wasm32-wasip2",
        ),
        (
            "another world",
            read(guests::OTHER_WORLD),
            422,
            "does not export",
        ),
        (
            "forbidden imports",
            read(guests::SOCKETS),
            422,
            "wasi:sockets/",
        ),
        (
            "over the quota",
            vec![0u8; 2_000_001],
            413,
            "at most 2000000",
        ),
        ("empty", Vec::new(), 400, "body is empty"),
    ];
    for (what, bytes, status, message) in cases {
        let answer = server.upload("acme-token", &bytes);
        assert_eq!(answer.status, status, "{what}: {answer:?}");
        assert!(answer.message().contains(message), "{what}: {answer:?}");
    }
    assert!(
        server
            .get("acme-token", "/v1/scenarios")
            .json()
            .as_array()
            .unwrap()
            .is_empty()
    );

    // A multipart form's file field is taken too.
    let hello = read(guests::HELLO);
    let boundary = "loadwright-test-boundary";
    let mut form = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"component\"; \
         filename=\"hello.wasm\"\r\nContent-Type: application/wasm\r\n\r\n"
    )
    .into_bytes();
    form.extend_from_slice(&hello);
    form.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let mut response = server
        .agent
        .post(&server.url("/v1/scenarios"))
        .header("Authorization", "Bearer acme-token")
        .header(
            "Content-Type",
            &format!("multipart/form-data; boundary={boundary}"),
        )
        .send(&form[..])
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    let body: serde_json::Value =
        serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!(body["size"], hello.len());
}

#[test]
fn tenants_see_and_touch_only_their_own() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), &config(""));
    let id = server.upload_guest(guests::HELLO);
    let run = server.start_run(&id, json!({"vus": 1, "iterations": 2}));
    server.wait_for_end(&run);

    for token in ["", "wrong-token"] {
        for path in ["/v1/scenarios", &format!("/v1/runs/{run}"), "/v1/runs/nope"] {
            let answer = server.get(token, path);
            assert_eq!(answer.status, 401, "{token:?} {path}");
            assert!(!answer.body.contains(&run) && !answer.body.contains(&id));
        }
    }
    let other = "globex-token";
    for path in [
        format!("/v1/scenarios/{id}"),
        format!("/v1/runs/{run}"),
        format!("/v1/runs/{run}/stats"),
        format!("/v1/runs/{run}/series"),
        format!("/v1/runs/{run}/stream"),
        format!("/v1/runs/{run}/report"),
        format!("/v1/runs/{run}/report/stats.csv"),
        format!("/v1/runs/{run}/report.html"),
        format!("/v1/runs/{run}/log"),
    ] {
        let answer = server.get(other, &path);
        assert_eq!(answer.status, 404, "{path}: {answer:?}");
    }
    for action in ["stop", "pause", "resume", "vus"] {
        let answer = server.post(
            other,
            &format!("/v1/runs/{run}/{action}"),
            &json!({"vus": 1}),
        );
        assert_eq!(answer.status, 404, "{action}: {answer:?}");
    }
    assert_eq!(
        server.delete(other, &format!("/v1/scenarios/{id}")).status,
        404
    );
    let runs_of_other = server.post(other, "/v1/runs", &json!({"scenario": id}));
    assert_eq!(
        runs_of_other.status, 404,
        "another tenant's scenario is not there"
    );
    assert!(
        server
            .get(other, "/v1/scenarios")
            .json()
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert!(
        server
            .get(other, "/v1/runs")
            .json()
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(server.get(other, "/metrics").status, 403);

    // The admin sees everyone's, but writes as no one.
    assert_eq!(
        server
            .get("admin-token", "/v1/scenarios")
            .json()
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        server.get("admin-token", &format!("/v1/runs/{run}")).status,
        200
    );
    let hello = std::fs::read(guests::HELLO).unwrap();
    assert_eq!(server.upload("admin-token", &hello).status, 403);
    let metrics = server.get("admin-token", "/metrics");
    assert!(
        metrics
            .body
            .contains("loadwright_runs{tenant=\"acme\",state=\"completed\"} 1"),
        "{}",
        metrics.body
    );
    // The owner may delete it; then it is gone.
    assert_eq!(
        server
            .delete("acme-token", &format!("/v1/scenarios/{id}"))
            .status,
        204
    );
    assert_eq!(
        server
            .get("acme-token", &format!("/v1/scenarios/{id}"))
            .status,
        404
    );
}

#[test]
fn quotas_and_caps_refuse_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    // Room for hello, and not for one more component.
    let stored = std::fs::metadata(guests::HELLO).unwrap().len() + 10;
    let server = Server::start(
        &dir.path().join("data"),
        &config(&format!(
            "quotas = {{ concurrent-runs = 1, vus-per-run = 5, stored-bytes = {stored} }}\n\
             limits = {{ cpuPerCall = \"1s\" }}"
        )),
    );
    let id = server.upload_guest(guests::HELLO);
    let too_many = server.post(
        "acme-token",
        "/v1/runs",
        &json!({"scenario": id, "vus": 6, "duration": "1s"}),
    );
    assert_eq!(too_many.status, 403, "{too_many:?}");
    assert!(too_many.message().contains("at most 5"), "{too_many:?}");
    let greedy = server.post(
        "acme-token",
        "/v1/runs",
        &json!({"scenario": id, "vus": 1, "duration": "1s", "plan": {"limits": {"cpuPerCall": "0s"}}}),
    );
    assert_eq!(greedy.status, 422, "{greedy:?}");
    assert!(
        greedy.message().contains("cpuPerCall (at most 1s)"),
        "{greedy:?}"
    );

    let long = server.start_run(
        &id,
        json!({"vus": 1, "duration": "30s", "params": {"think_ms": "50"}}),
    );
    let second = server.post(
        "acme-token",
        "/v1/runs",
        &json!({"scenario": id, "vus": 1, "duration": "1s"}),
    );
    assert_eq!(second.status, 429, "{second:?}");
    assert!(second.message().contains("runs in progress"), "{second:?}");
    // A scenario in use cannot be deleted.
    let busy = server.delete("acme-token", &format!("/v1/scenarios/{id}"));
    assert_eq!(busy.status, 409, "{busy:?}");
    server.post("acme-token", &format!("/v1/runs/{long}/stop"), &json!({}));
    server.wait_for_end(&long);

    // Stored bytes: one more component passes the quota.
    let answer = server.upload("acme-token", &std::fs::read(guests::HOOKS).unwrap());
    assert_eq!(answer.status, 403, "{answer:?}");
    assert!(answer.message().contains("quota"), "{answer:?}");
    // The same bytes again take no more room.
    assert_eq!(
        server
            .upload("acme-token", &std::fs::read(guests::HELLO).unwrap())
            .status,
        200
    );
}

#[test]
fn the_server_starts_and_runs_whatever_its_configuration_asks_of_the_machine() {
    // The default max-vus (10 000) and quotas that add up to more: a pool that a stock
    // vm.max_map_count cannot hold. The server starts with the pool the machine holds.
    let dir = tempfile::tempdir().unwrap();
    let text = config("quotas = { vus-total = 200000, vus-per-run = 100000 }")
        .replace("max-vus = 200\n", "");
    let server = Server::start(&dir.path().join("data"), &text);
    assert_eq!(server.get("", "/readyz").status, 200);
    let hello = server.upload_guest(guests::HELLO);
    let id = server.start_run(&hello, json!({"vus": 2, "iterations": 4}));
    let finished = server.wait_for_end(&id);
    assert_eq!(finished["state"], "completed", "{finished}");
}
