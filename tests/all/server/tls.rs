//! TLS in server mode: the CA and client certificate come inline in the plan (a server reads
//! no file for a tenant), `insecure` only for tenants the configuration allows.

use serde_json::json;

use super::{Server, config};
use loadwright_tests::guests;
use loadwright_tests::tls::{Pki, Serve, TlsTarget};

#[test]
fn an_inline_ca_works_and_insecure_needs_the_tenants_permission() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let pki = Pki::new();
    let serve = Serve {
        client_auth: true,
        ..Serve::default()
    };
    let target = runtime.block_on(TlsTarget::start(&pki, serve));
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(&dir.path().join("data"), &config(""));
    let probe = server.upload_guest(guests::PROBE);
    let run = |plan: serde_json::Value| {
        let body = json!({"scenario": probe, "base_url": target.url(),
            "params": {"mode": "fetch"}, "plan": plan});
        server.post("acme-token", "/v1/runs", &body)
    };
    let fetches = json!({"fetch": {"executor": "per-vu-iterations", "vus": 1, "iterations": 2}});
    let identity = json!({"cert": pki.client.cert, "key": pki.client.key});
    let answer = run(json!({"scenarios": fetches,
        "tls": {"caCerts": [pki.ca], "clientCerts": [identity]}}));
    assert_eq!(answer.status, 201, "{answer:?}");
    let id = answer.json()["id"].as_str().expect("id").to_owned();
    let finished = server.wait_for_end(&id);
    let summary = &finished["summary"];
    let checks = summary["checks"].as_array().expect("checks");
    let ok = checks.iter().find(|c| c["name"] == "status=200");
    assert_eq!(ok.map(|c| &c["passes"]), Some(&json!(2)), "{checks:?}");
    assert!(summary["connections"]["tls_full"].as_u64() >= Some(1));
    // The client key is not kept: the stored plan shows it redacted.
    let stored = finished.to_string();
    assert!(!stored.contains("PRIVATE KEY"), "the key was stored");

    let answer = run(json!({"scenarios": fetches, "tls": {"insecure": true}}));
    assert_eq!(answer.status, 422, "{answer:?}");
    assert!(answer.message().contains("tls.insecure"), "{answer:?}");
    let answer = run(json!({"scenarios": fetches, "tls": {"caCerts": ["not a PEM"]}}));
    assert_eq!(answer.status, 422, "{answer:?}");
    assert!(answer.message().contains("tls.caCerts[0]"), "{answer:?}");
    drop(server);

    // A tenant the configuration allows may skip verification.
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(
        &dir.path().join("data"),
        &config("allow-insecure-tls = true"),
    );
    let probe = server.upload_guest(guests::PROBE);
    let body = json!({"scenario": probe, "base_url": target.url(), "params": {"mode": "fetch"},
        "plan": {"scenarios": fetches, "tls": {"insecure": true, "clientCerts": [identity]}}});
    let answer = server.post("acme-token", "/v1/runs", &body);
    assert_eq!(answer.status, 201, "{answer:?}");
    let id = answer.json()["id"].as_str().expect("id").to_owned();
    let finished = server.wait_for_end(&id);
    let warnings = finished["summary"]["warnings"].to_string();
    assert!(warnings.contains("NOT verified"), "{warnings}");
}
