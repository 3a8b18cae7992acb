//! Protocols, connection policies, decoding, phases, egress and `resolve`, against the local
//! HTTPS/HTTP2 target, as the responses, the stats and the server see them.

use loadwright_host::run::{Report, RunStatus};
use loadwright_tests::guests;
use loadwright_tests::tls::{
    BIG_BODY_BYTES, COMPRESSED_TEXT, Pki, SERVER_NAME, SLOW_MS, Serve, TlsTarget,
};
use serde_json::{Value, json};

use crate::https::{errors, seen, seen_starting};
use crate::run;

/// A plan of `vus` VUs doing `iterations` fetches each, trusting `pki`, with `more` fields.
fn plan(pki: &Pki, vus: u32, iterations: u32, more: Value) -> String {
    let mut plan = json!({
        "scenarios": {"fetch": {"executor": "per-vu-iterations", "vus": vus,
            "iterations": iterations}},
        "tls": {"caCerts": [pki.ca]},
    });
    for (key, value) in more.as_object().into_iter().flatten() {
        plan[key] = value.clone();
    }
    plan.to_string()
}

/// Runs the probe's fetch of `path` with `plan`, against `base` (the target's URL if empty),
/// with more `params`.
async fn fetch(target: &TlsTarget, plan: &str, path: &str, params: &[(&str, &str)]) -> Report {
    let mut all = vec![("mode", "fetch"), ("path", path)];
    all.extend_from_slice(params);
    let report = run(guests::PROBE, plan, &target.url(), &all).await;
    assert_eq!(report.status, RunStatus::Completed);
    (*report).clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_is_negotiated_when_offered_and_h2c_speaks_it_in_the_clear() {
    let pki = Pki::new();
    let serve = Serve {
        http2: true,
        ..Serve::default()
    };
    let target = TlsTarget::start(&pki, serve).await;
    let report = fetch(&target, &plan(&pki, 2, 2, json!({})), "/proto", &[]).await;
    let checks = &report.snapshot.checks;
    assert_eq!(seen(&report, "protocol=HTTP/2"), 4, "{checks:?}");
    assert_eq!(seen(&report, "body=HTTP/2.0"), 4, "{checks:?}");
    let protocols = &report.snapshot.connections.protocols;
    assert_eq!(protocols.get("HTTP/2"), Some(&report.snapshot.total.count));
    // Without HTTP/2 offered, the same server speaks HTTP/1.1.
    let http1 = json!({"http": {"http2": false}});
    let report = fetch(&target, &plan(&pki, 1, 1, http1), "/proto", &[]).await;
    assert_eq!(seen(&report, "body=HTTP/1.1"), 1);

    let cleartext = Serve {
        tls: false,
        http2: true,
        ..Serve::default()
    };
    let h2c = TlsTarget::start(&pki, cleartext).await;
    let report = fetch(
        &h2c,
        &plan(&pki, 1, 2, json!({"http": {"h2c": true}})),
        "/proto",
        &[],
    )
    .await;
    assert_eq!(
        seen(&report, "body=HTTP/2.0"),
        2,
        "{:?}",
        report.snapshot.checks
    );
    assert_eq!(
        report.snapshot.connections.opened, 2,
        "one for the test instance, one for the VU"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policies_decide_how_many_connections_and_handshakes_a_run_makes() {
    let pki = Pki::new();
    let no_resumption = Serve {
        resumption: false,
        ..Serve::default()
    };
    // `none`: a connection and a full handshake for every request, hooks included.
    let target = TlsTarget::start(&pki, no_resumption.clone()).await;
    let none = json!({"http": {"connectionPolicy": "none"}});
    let report = fetch(&target, &plan(&pki, 2, 3, none), "/", &[]).await;
    let requests = report.snapshot.total.count;
    assert_eq!(target.seen().full(), requests, "a handshake per request");
    assert_eq!(report.snapshot.connections.opened, requests);
    assert_eq!(seen(&report, "reused=false"), 6);

    // `per-vu`: one connection per VU (and one for the test instance).
    let target = TlsTarget::start(&pki, no_resumption.clone()).await;
    let report = fetch(&target, &plan(&pki, 2, 3, json!({})), "/", &[]).await;
    assert_eq!(target.seen().full(), 3);
    assert_eq!(report.snapshot.connections.opened, 3);

    // `shared` with one connection per host: every request, of every VU, takes turns on it.
    let target = TlsTarget::start(&pki, no_resumption).await;
    let shared = json!({"http": {"connectionPolicy": "shared", "maxConnectionsPerHost": 1}});
    let report = fetch(&target, &plan(&pki, 3, 3, shared), "/", &[]).await;
    assert_eq!(target.seen().connections(), 1);
    assert_eq!(seen(&report, "status=200"), 9);
    assert!(
        report.snapshot.http_phases.blocked.max > 0.0,
        "someone waited for it"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gzip_deflate_and_br_are_decoded_and_counted_as_received() {
    let pki = Pki::new();
    let target = TlsTarget::start(&pki, Serve::default()).await;
    let text: String = COMPRESSED_TEXT.chars().take(40).collect();
    for coding in ["gzip", "deflate", "br"] {
        let path = format!("/{coding}");
        let report = fetch(&target, &plan(&pki, 1, 1, json!({})), &path, &[]).await;
        assert_eq!(
            seen(&report, &format!("body={text}")),
            1,
            "{coding}: {:?}",
            report.snapshot.checks
        );
        let sizes = seen_starting(&report, "body_size=");
        let size: usize = sizes[0]["body_size=".len()..].parse().expect("a size");
        assert!(
            size > 0 && size != COMPRESSED_TEXT.len(),
            "{coding}: {size}"
        );
        // Asked not to decode, the guest gets the bytes as they came.
        let raw = fetch(
            &target,
            &plan(&pki, 1, 1, json!({})),
            &path,
            &[("decompress", "0")],
        )
        .await;
        assert_eq!(seen(&raw, &format!("body={text}")), 0, "{coding}");
    }
}

/// A body of many TLS records arrives whole, record by record, and the connection it came on
/// serves the next request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_of_many_tls_records_arrives_whole_on_a_connection_kept_alive() {
    let pki = Pki::new();
    let target = TlsTarget::start(&pki, Serve::default()).await;
    let report = fetch(&target, &plan(&pki, 1, 3, json!({})), "/big", &[]).await;
    assert_eq!(
        seen(&report, "status=200"),
        3,
        "{:?}",
        report.snapshot.checks
    );
    assert_eq!(seen(&report, &format!("body_size={BIG_BODY_BYTES}")), 3);
    let start: String = "0123456789".repeat(4);
    assert_eq!(seen(&report, &format!("body={start}")), 3);
    // After its first fetch, the VU's connection is read to the end of each body and kept.
    let reused = seen(&report, "reused=true");
    assert!(
        reused >= 2,
        "{reused} of 3 fetches on a kept-alive connection"
    );
    assert!(
        target.seen().connections() <= 2,
        "at most the VU's and the test instance's"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phases_add_up_and_sending_is_small_on_loopback() {
    let pki = Pki::new();
    let target = TlsTarget::start(&pki, Serve::default()).await;
    let report = fetch(&target, &plan(&pki, 2, 10, json!({})), "/slow", &[]).await;
    assert_eq!(seen(&report, "phases add up"), 20);
    let phases = &report.snapshot.http_phases;
    // Writing a small request to a loopback socket takes microseconds; the server's 20 ms
    // are waiting, all of them.
    let slow = SLOW_MS as f64;
    assert!(phases.sending.p50 < 1.0, "sending {:?}", phases.sending);
    assert!(phases.waiting.p50 >= slow, "waiting {:?}", phases.waiting);
    let row = report.snapshot.requests.iter().find(|r| r.name == "fetch");
    let duration = row.expect("the fetch row").duration;
    assert!(duration.min >= slow, "{duration:?}");
    // Setup phases only on new connections: three of them (two VUs, the test instance).
    let handshakes = report.snapshot.connections.tls_full + report.snapshot.connections.tls_resumed;
    assert_eq!(handshakes, 3);
}

/// The client's own HTTP/1.1 path and hyper's (HTTP/2) against the same server: the same
/// requests counted, the same statuses and header fields, phases that add up to each
/// response's duration, and the server's 20 ms in `waiting` on both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_own_http1_path_and_hypers_http2_path_agree() {
    let pki = Pki::new();
    let serve = Serve {
        http2: true,
        ..Serve::default()
    };
    let target = TlsTarget::start(&pki, serve).await;
    let own = json!({"http": {"http2": false}});
    let paths = [
        (
            "HTTP/1.1",
            fetch(&target, &plan(&pki, 2, 5, own), "/slow", &[]).await,
        ),
        (
            "HTTP/2",
            fetch(&target, &plan(&pki, 2, 5, json!({})), "/slow", &[]).await,
        ),
    ];
    let slow = SLOW_MS as f64;
    for (protocol, report) in &paths {
        let snapshot = &report.snapshot;
        let checks = &snapshot.checks;
        let fetches = snapshot.requests.iter().find(|r| r.name == "fetch");
        let fetches = fetches.expect("the fetch row");
        assert_eq!((fetches.count, fetches.failures), (10, 0), "{protocol}");
        assert_eq!(seen(report, "status=200"), 10, "{protocol}: {checks:?}");
        assert_eq!(seen(report, "phases add up"), 10, "{protocol}: {checks:?}");
        // Header fields reach the guest in order, looked up by name in any case, a field
        // given twice twice.
        let content_type = "content-type=text/plain; charset=utf-8";
        assert_eq!(seen(report, content_type), 10, "{protocol}: {checks:?}");
        assert_eq!(seen(report, "x-seen=one,two"), 10, "{protocol}: {checks:?}");
        assert_eq!(
            seen(report, &format!("protocol={protocol}")),
            10,
            "{checks:?}"
        );
        // Every response, the hooks' included, came over the protocol.
        let all = snapshot.total.count;
        assert_eq!(snapshot.connections.protocols.get(*protocol), Some(&all));
        let phases = &snapshot.http_phases;
        assert!(
            phases.waiting.p50 >= slow,
            "{protocol}: {:?}",
            phases.waiting
        );
        assert!(phases.sending.p50 < 1.0, "{protocol}: {:?}", phases.sending);
        let duration = &snapshot.total.duration;
        // `http_req_duration` is sending + waiting + receiving; each is kept in whole
        // microseconds, so the means differ by rounding only.
        let sum = phases.sending.mean + phases.waiting.mean + phases.receiving.mean;
        assert!(
            (duration.mean - sum).abs() < 0.01,
            "{protocol}: duration {duration:?}, phases sum to {sum}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_egress_policy_holds_for_https_and_resolve_reaches_a_name_without_dns() {
    let pki = Pki::new();
    let target = TlsTarget::start(&pki, Serve::default()).await;
    let denied = json!({"egress": {"denyPrivate": true}});
    let report = fetch(&target, &plan(&pki, 1, 2, denied), "/", &[]).await;
    assert_eq!(errors(&report, "denied"), 2);
    assert_eq!(target.seen().connections(), 0, "no socket was opened");

    // A name no resolver knows, given by `resolve`: SNI and the certificate check use the
    // name, the connection goes to the address given, and the egress policy checks it.
    let url = format!("https://{SERVER_NAME}:{}", target.port());
    let resolve = json!([format!("{SERVER_NAME}:{}:127.0.0.1", target.port())]);
    let allowed = json!({"http": {"resolve": resolve},
        "egress": {"denyPrivate": true, "allow": ["127.0.0.1"]}});
    let report = run(
        guests::PROBE,
        &plan(&pki, 1, 2, allowed),
        &url,
        &[("mode", "fetch"), ("path", "/")],
    )
    .await;
    assert_eq!(
        seen(&report, "status=200"),
        2,
        "{:?}",
        report.snapshot.errors
    );
    let refused = json!({"http": {"resolve": resolve}, "egress": {"denyPrivate": true}});
    let report = run(
        guests::PROBE,
        &plan(&pki, 1, 1, refused),
        &url,
        &[("mode", "fetch"), ("path", "/")],
    )
    .await;
    assert_eq!(
        errors(&report, "denied"),
        1,
        "the given address is checked too"
    );
}
