//! HTTPS against a local TLS server with certificates the test makes: trust, verification,
//! client certificates, resumption and versions, as the response, the stats and the server
//! see them.

use loadwright_host::output::{Summary, summary};
use loadwright_host::run::{Report, RunStatus};
use loadwright_tests::guests;
use loadwright_tests::tls::{Pki, Serve, TlsTarget};
use serde_json::json;

use crate::run;

/// The plan of `vus` VUs doing `iterations` fetches each, started `spawn_rate` per second,
/// with `tls` as the plan's TLS settings.
fn plan(vus: u32, iterations: u32, spawn_rate: Option<f64>, tls: serde_json::Value) -> String {
    let mut scenario = json!({"executor": "per-vu-iterations", "vus": vus,
        "iterations": iterations});
    if let Some(rate) = spawn_rate {
        scenario["spawnRate"] = json!(rate);
    }
    json!({"scenarios": {"fetch": scenario}, "tls": tls}).to_string()
}

/// Runs the probe's `fetch` of `path` with `plan` against `target`.
async fn fetch(target: &TlsTarget, plan: &str, path: &str) -> Report {
    let report = run(
        guests::PROBE,
        plan,
        &target.url(),
        &[("mode", "fetch"), ("path", path)],
    )
    .await;
    assert_eq!(report.status, RunStatus::Completed);
    (*report).clone()
}

/// How often the probe reported `name` (its checks are named for what it saw).
pub(crate) fn seen(report: &Report, name: &str) -> u64 {
    report
        .snapshot
        .checks
        .iter()
        .filter(|c| c.name == name)
        .map(|c| c.passes)
        .sum()
}

/// The check names starting with `prefix`.
pub(crate) fn seen_starting(report: &Report, prefix: &str) -> Vec<String> {
    report
        .snapshot
        .checks
        .iter()
        .filter(|c| c.name.starts_with(prefix))
        .map(|c| c.name.clone())
        .collect()
}

/// Failures of `kind` of the probe's fetches (its hooks report to the target too).
pub(crate) fn errors(report: &Report, kind: &str) -> u64 {
    let errors = &report.snapshot.errors;
    errors
        .iter()
        .filter(|e| e.kind == kind && e.name == "fetch")
        .map(|e| e.count)
        .sum()
}

/// The `fetch` row's request count.
fn fetches(report: &Report) -> u64 {
    let rows = &report.snapshot.requests;
    rows.iter()
        .filter(|r| r.name == "fetch")
        .map(|r| r.count)
        .sum()
}

/// The plan's `tls` object trusting `pki`'s CA, with `more` fields.
fn trusting(pki: &Pki, more: serde_json::Value) -> serde_json::Value {
    let mut tls = json!({"caCerts": [pki.ca]});
    for (key, value) in more.as_object().into_iter().flatten() {
        tls[key] = value.clone();
    }
    tls
}

// The probe's hooks report to the target too (`on-test-start` from the test instance, on
// a connection of its own; `on-vu-start` first on each VU's connection): the counts below
// include them.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trusted_ca_works_and_an_untrusted_one_fails_as_tls_certificate() {
    let pki = Pki::new();
    let target = TlsTarget::start(&pki, Serve::default()).await;
    let trusted = fetch(&target, &plan(1, 3, None, trusting(&pki, json!({}))), "/").await;
    let checks = &trusted.snapshot.checks;
    assert_eq!(seen(&trusted, "status=200"), 3, "{checks:?}");
    assert_eq!(seen(&trusted, "protocol=HTTP/1.1"), 3);
    assert_eq!(seen(&trusted, "reused=true"), 3, "on-vu-start opened it");
    // The VU resumes the session of the test instance's connection.
    let c = &trusted.snapshot.connections;
    assert_eq!((c.opened, c.tls_full, c.tls_resumed), (2, 1, 1), "{c:?}");
    let responses = trusted.snapshot.total.count;
    assert_eq!(c.opened + c.reused, responses);
    assert_eq!(c.protocols.get("HTTP/1.1"), Some(&responses));
    assert!(trusted.snapshot.http_phases.tls_handshaking.max > 0.0);

    let other = Pki::named("Another test CA");
    let untrusted = fetch(&target, &plan(1, 2, None, trusting(&other, json!({}))), "/").await;
    let failures = &untrusted.snapshot.errors;
    assert_eq!(errors(&untrusted, "tls-certificate"), 2, "{failures:?}");
    let messages = seen_starting(&untrusted, "message=");
    assert!(
        !messages.is_empty() && messages.iter().all(|m| m.contains("unknown issuer")),
        "{messages:?}"
    );
    // Mozilla's roots alone do not know the test CA either.
    let default = fetch(&target, &plan(1, 1, None, json!({})), "/").await;
    assert_eq!(errors(&default, "tls-certificate"), 1);
    assert_eq!(fetches(&default), 1);
    assert_eq!(
        target.seen().requests(),
        responses,
        "only the trusted run got answers"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insecure_accepts_any_certificate_and_says_so_loudly() {
    let pki = Pki::new();
    let target = TlsTarget::start(&pki, Serve::default()).await;
    let report = fetch(&target, &plan(1, 2, None, json!({"insecure": true})), "/").await;
    assert_eq!(seen(&report, "status=200"), 2);
    assert!(summary(&report).contains("WARNING: TLS certificates were NOT verified"));
    let json = serde_json::to_value(Summary::of(&report)).expect("summary JSON");
    let warnings = json["warnings"].as_array().expect("warnings");
    assert!(
        warnings
            .iter()
            .any(|w| w.as_str().is_some_and(|w| w.contains("NOT verified"))),
        "{warnings:?}"
    );
    assert_eq!(json["plan"]["tls"]["insecure"], json!(true));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_certificates_are_presented_to_the_servers_they_name() {
    let pki = Pki::new();
    let serve = Serve {
        client_auth: true,
        ..Serve::default()
    };
    let target = TlsTarget::start(&pki, serve).await;
    let without = fetch(&target, &plan(1, 1, None, trusting(&pki, json!({}))), "/").await;
    let failures = &without.snapshot.errors;
    assert_eq!(
        errors(&without, "tls-handshake"),
        1,
        "{failures:?} {:?}",
        seen_starting(&without, "message=")
    );
    let messages = seen_starting(&without, "message=");
    assert!(
        messages.len() == 1 && messages[0].contains("requires a client certificate"),
        "{messages:?}"
    );

    let identity = |domains: serde_json::Value| {
        let cert = json!({"domains": domains, "cert": pki.client.cert, "key": pki.client.key});
        trusting(&pki, json!({"clientCerts": [cert]}))
    };
    let with = fetch(
        &target,
        &plan(1, 2, None, identity(json!(["127.0.0.1"]))),
        "/",
    )
    .await;
    assert_eq!(seen(&with, "status=200"), 2, "{:?}", with.snapshot.checks);
    // A certificate for another domain is not presented here.
    let elsewhere = identity(json!(["*.example.com"]));
    let other = fetch(&target, &plan(1, 1, None, elsewhere), "/").await;
    assert_eq!(errors(&other, "tls-handshake"), 1);
    // The key never leaves the run: the saved plan shows it redacted.
    let saved = serde_json::to_string(&Summary::of(&with)).expect("summary JSON");
    assert!(!saved.contains("PRIVATE KEY") && saved.contains("(redacted)"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_are_resumed_unless_resumption_is_off() {
    let pki = Pki::new();
    let target = TlsTarget::start(&pki, Serve::default()).await;
    // `on-test-start` handshakes in full; three VUs started after it, half a second apart,
    // resume its session.
    let report = fetch(
        &target,
        &plan(3, 2, Some(2.0), trusting(&pki, json!({}))),
        "/",
    )
    .await;
    let c = &report.snapshot.connections;
    assert_eq!((c.opened, c.tls_full, c.tls_resumed), (4, 1, 3), "{c:?}");
    assert_eq!((target.seen().full(), target.seen().resumed()), (1, 3));
    let checks = &report.snapshot.checks;
    assert_eq!(seen(&report, "tls_resumed=true"), 6, "{checks:?}");

    let target = TlsTarget::start(&pki, Serve::default()).await;
    let off = trusting(&pki, json!({"resumption": false}));
    let report = fetch(&target, &plan(3, 1, Some(4.0), off), "/").await;
    let c = &report.snapshot.connections;
    assert_eq!((c.tls_full, c.tls_resumed), (4, 0), "{c:?}");
    assert_eq!((target.seen().full(), target.seen().resumed()), (4, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_versions_are_negotiated_within_the_plans_range() {
    let pki = Pki::new();
    let serve = Serve {
        tls12_only: true,
        ..Serve::default()
    };
    let target = TlsTarget::start(&pki, serve).await;
    let report = fetch(&target, &plan(1, 1, None, trusting(&pki, json!({}))), "/").await;
    let versions = &report.snapshot.connections.tls_versions;
    assert_eq!(versions.get("1.2"), Some(&2), "{versions:?}");
    assert_eq!(versions.get("1.3"), None);
    let only13 = trusting(&pki, json!({"minVersion": "1.3"}));
    let report = fetch(&target, &plan(1, 1, None, only13), "/").await;
    let failures = &report.snapshot.errors;
    assert_eq!(errors(&report, "tls-handshake"), 1, "{failures:?}");
}
