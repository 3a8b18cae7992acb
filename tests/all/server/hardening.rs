//! `host serve` against a hostile client: absurd plans, the admin token, slow and stuck
//! clients at shutdown, racing uploads, and malformed requests, each answered in JSON.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::json;

use super::{Server, config};
use loadwright_tests::guests;

/// `/proc/PID/status`'s value of `key` in KiB.
fn status_kib(pid: u32, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}

/// User and system CPU time of process `pid`, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) end with `)`.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let field = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    field(11) + field(12)
}

/// `bytes` (a component) with a custom section named `tag` appended: another hash, the
/// same scenario.
fn variant(bytes: &[u8], tag: &str) -> Vec<u8> {
    let mut out = bytes.to_vec();
    let name = tag.as_bytes();
    let payload_len = 1 + name.len();
    assert!(
        payload_len < 128 && name.len() < 128,
        "one-byte LEB128 sizes"
    );
    out.push(0);
    out.push(payload_len as u8);
    out.push(name.len() as u8);
    out.extend_from_slice(name);
    out
}

#[test]
fn absurd_plans_are_refused_and_a_stage_bomb_costs_no_memory() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), &config(""));
    let hello = server.upload_guest(guests::HELLO);
    let huge = "18446744073709551615s";
    let plan =
        json!({"stages": [{"duration": huge, "target": 1}, {"duration": huge, "target": 1}]});
    let answer = server.post(
        "acme-token",
        "/v1/runs",
        &json!({"scenario": hello, "plan": plan}),
    );
    assert_eq!(answer.status, 422, "{answer:?}");
    assert!(answer.message().contains("366 days"), "{answer:?}");

    // 8 000 one-second stages up to 150 VUs and back: a plan under the size limit whose VU
    // steps, were they built up front, would be 1.2 million.
    let stages: Vec<_> = (0..8_000)
        .map(|i| json!({"duration": "1s", "target": if i % 2 == 0 { 150 } else { 0 }}))
        .collect();
    let pid = server.process.child.id();
    let before = status_kib(pid, "VmRSS:");
    let body = json!({"scenario": hello, "plan": {"stages": stages}});
    let answer = server.post("acme-token", "/v1/runs", &body);
    assert_eq!(answer.status, 201, "{}", answer.message());
    let id = answer.json()["id"].as_str().expect("id").to_owned();
    std::thread::sleep(Duration::from_millis(500));
    let grown = status_kib(pid, "VmRSS:").saturating_sub(before);
    assert!(grown < 64 << 10, "the server grew by {grown} KiB");
    assert_eq!(
        server
            .post("acme-token", &format!("/v1/runs/{id}/stop"), &json!({}))
            .status,
        202
    );
}

#[test]
fn the_admin_token_reads_every_run_and_controls_none() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), &config(""));
    let hello = server.upload_guest(guests::HELLO);
    let id = server.start_run(&hello, json!({"vus": 1, "duration": "30s"}));
    assert_eq!(
        server.get("admin-token", &format!("/v1/runs/{id}")).status,
        200
    );
    for action in ["stop", "pause", "resume", "vus"] {
        let path = format!("/v1/runs/{id}/{action}");
        let answer = server.post("admin-token", &path, &json!({"vus": 2}));
        assert_eq!(answer.status, 403, "{action}: {answer:?}");
    }
    let delete = server.delete("admin-token", &format!("/v1/scenarios/{hello}"));
    assert_eq!(delete.status, 403);
    let stop = server.post("acme-token", &format!("/v1/runs/{id}/stop"), &json!({}));
    assert_eq!(stop.status, 202, "the tenant still can");
}

#[test]
fn sigterm_exits_within_the_grace_whatever_clients_hold() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config_path = data.with_extension("toml");
    std::fs::write(&config_path, config("")).unwrap();
    let process = super::Process::start(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        data.to_str().unwrap(),
        "--config",
        config_path.to_str().unwrap(),
        "--shutdown-grace",
        "2s",
    ]);
    let address = process.url.trim_start_matches("http://").to_owned();
    // A request line and half a head, never finished; an upload short of its length.
    let mut half_head = TcpStream::connect(&address).unwrap();
    half_head
        .write_all(b"GET /v1/runs HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let mut short_body = TcpStream::connect(&address).unwrap();
    short_body
        .write_all(
            b"POST /v1/scenarios HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer acme-token\r\n\
              Content-Type: application/wasm\r\nContent-Length: 100000\r\n\r\n\0asm",
        )
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let began = Instant::now();
    assert!(process.terminate(), "a clean exit");
    let took = began.elapsed();
    assert!(
        took < Duration::from_secs(3),
        "2 s of grace, a second to close: {took:?}"
    );
}

#[test]
fn a_client_that_stops_sending_is_cut_after_the_read_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), &config(""));
    let address = server.process.url.trim_start_matches("http://").to_owned();
    let mut slow = TcpStream::connect(&address).unwrap();
    slow.write_all(b"GET /v1/runs HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let began = Instant::now();
    let mut buf = [0u8; 256];
    // The server closes the connection (an empty read, or a reset): it does not hold it.
    let read = slow.read(&mut buf);
    let took = began.elapsed();
    assert!(
        matches!(read, Ok(_) | Err(_)) && took < Duration::from_secs(20),
        "{took:?}"
    );
    assert!(
        took >= Duration::from_secs(5),
        "cut for the timeout, not at once: {took:?}"
    );
    assert_eq!(
        server.get("acme-token", "/v1/runs").status,
        200,
        "others are served"
    );
}

#[test]
fn racing_uploads_respect_the_quota_and_identical_ones_compile_once() {
    let hello = std::fs::read(guests::HELLO).unwrap();
    // Room for one component and a half: of 20 different ones sent at once, one fits.
    let room = hello.len() * 3 / 2;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        &dir.path().join("data"),
        &config(&format!("quotas = {{ stored-bytes = {room} }}")),
    );
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let uploads: Vec<_> = (0..20)
            .map(|i| {
                let (server, bytes) = (&server, variant(&hello, &format!("variant-{i}")));
                scope.spawn(move || server.upload("acme-token", &bytes).status)
            })
            .collect();
        uploads.into_iter().map(|u| u.join().unwrap()).collect()
    });
    assert_eq!(
        statuses.iter().filter(|&&s| s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|&&s| s == 403).count(),
        19,
        "{statuses:?}"
    );

    // One upload of new bytes, then 50 at once of other new bytes: about one compilation's
    // CPU each, not fifty.
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), &config(""));
    let pid = server.process.child.id();
    let before = cpu_ticks(pid);
    assert_eq!(
        server
            .upload("acme-token", &variant(&hello, "alone"))
            .status,
        201
    );
    let one = cpu_ticks(pid) - before;
    let together = variant(&hello, "together");
    let before = cpu_ticks(pid);
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let uploads: Vec<_> = (0..50)
            .map(|_| scope.spawn(|| server.upload("acme-token", &together).status))
            .collect();
        uploads.into_iter().map(|u| u.join().unwrap()).collect()
    });
    let fifty = cpu_ticks(pid) - before;
    assert!(
        statuses.iter().all(|s| matches!(s, 200 | 201)),
        "{statuses:?}"
    );
    assert_eq!(statuses.iter().filter(|&&s| s == 201).count(), 1);
    assert!(
        fifty < one * 5 + 20,
        "one upload took {one} ticks, fifty at once {fifty}"
    );
}

/// A plain TCP connection to `server`, for requests no HTTP client would send.
fn raw_client(server: &Server) -> TcpStream {
    let address = server.process.url.trim_start_matches("http://");
    let client = TcpStream::connect(address).expect("connect");
    client
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("a read timeout");
    client
}

#[test]
fn a_connection_stays_usable_when_a_short_body_arrives_after_its_head() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), &config(""));
    let mut client = raw_client(&server);
    // A control call whose handler never reads the body (`{}`), its body sent late, as a
    // busy client may: the answer must wait for it and the connection serve the next one.
    client
        .write_all(
            b"POST /v1/runs/no-such-run/stop HTTP/1.1\r\nHost: x\r\n\
              Authorization: Bearer acme-token\r\nContent-Length: 2\r\n\r\n",
        )
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    client
        .write_all(b"{}GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answers = Vec::new();
    let _ = client.read_to_end(&mut answers);
    let answers = String::from_utf8_lossy(&answers);
    assert!(answers.starts_with("HTTP/1.1 404"), "{answers}");
    assert_eq!(
        answers.matches("HTTP/1.1 ").count(),
        2,
        "both answered on one connection: {answers}"
    );
    assert!(answers.contains("HTTP/1.1 200"), "{answers}");
}

#[test]
fn a_large_body_refused_unread_closes_its_connection_saying_so() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), &config(""));
    let mut client = raw_client(&server);
    // The admin may upload nothing: refused before its 100 KB are read.
    let body = vec![0u8; 100_000];
    let head = format!(
        "POST /v1/scenarios HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer admin-token\r\n\
         Content-Type: application/wasm\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    client.write_all(head.as_bytes()).unwrap();
    let _ = client.write_all(&body);
    let mut answer = Vec::new();
    let _ = client.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer).to_ascii_lowercase();
    assert!(answer.starts_with("http/1.1 403"), "{answer}");
    assert!(
        answer.contains("\r\nconnection: close\r\n"),
        "a client must not reuse it: {answer}"
    );
    // A client that sends its next request on a new connection is answered.
    assert_eq!(server.get("admin-token", "/v1/scenarios").status, 200);
}

#[test]
fn every_refusal_under_v1_is_json_and_the_scheme_is_case_insensitive() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), &config(""));
    let hello = server.upload_guest(guests::HELLO);
    let id = server.start_run(&hello, json!({"vus": 1, "iterations": 1}));
    server.wait_for_end(&id);
    let long = format!("/v1/runs/{}", "x".repeat(20_000));
    for (path, status) in [
        (format!("/v1/runs/{id}/series?since=soon"), 400),
        ("/v1/runs?state=a&state=b".to_owned(), 400),
        ("/v1/runs/%FF%FE".to_owned(), 400),
        ("/v1/nothing-here".to_owned(), 404),
        (long, 404),
    ] {
        let answer = server.get("acme-token", &path);
        assert_eq!(answer.status, status, "{path}: {answer:?}");
        assert!(
            !answer.message().is_empty(),
            "{path}: JSON with a message: {answer:?}"
        );
    }
    // A method the route does not take.
    let answer = server.delete("acme-token", "/v1/runs");
    assert_eq!(answer.status, 405, "{answer:?}");
    assert!(!answer.message().is_empty(), "{answer:?}");
    // A JSON body over the limit is 413, in JSON (answered from its length, before it is
    // sent: a raw client reads the answer).
    let address = server.process.url.trim_start_matches("http://").to_owned();
    let mut client = TcpStream::connect(&address).unwrap();
    client
        .write_all(
            b"POST /v1/runs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer acme-token\r\n\
              Content-Type: application/json\r\nContent-Length: 400000000\r\n\r\n{",
        )
        .unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut answer = Vec::new();
    let _ = client.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(
        answer.contains("application/json") && answer.contains("\"error\""),
        "{answer}"
    );
    // `bearer` in lower case is the same scheme.
    let response = server
        .agent
        .get(&server.url("/v1/runs"))
        .header("Authorization", "bearer acme-token")
        .call()
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
}

#[test]
fn a_run_beside_a_guest_inventing_names_keeps_its_counts_and_its_latency() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), &config(""));
    let hello = server.upload_guest(guests::HELLO);
    let hostile = server.upload_guest(guests::HOSTILE);
    let measured = json!({"plan": {"scenarios": {"m": {"executor": "shared-iterations",
        "vus": 2, "iterations": 600}}}});
    let summary_of = |id: &str| server.wait_for_end(id)["summary"].clone();
    let p99 = |summary: &serde_json::Value| {
        summary["metrics"]["http_req_duration"]["values"]["p(99)"]
            .as_f64()
            .unwrap_or(f64::MAX)
    };
    let alone = summary_of(&server.start_run(&hello, measured.clone()));
    let names = json!({"params": {"mode": "names"}, "plan": {"scenarios": {"h": {
        "executor": "constant-vus", "vus": 4, "duration": "30s", "exec": "hostile"}}}});
    let noisy = server.start_run(&hostile, names);
    std::thread::sleep(Duration::from_millis(500));
    let beside = summary_of(&server.start_run(&hello, measured));
    let count = |s: &serde_json::Value| s["metrics"]["http_reqs"]["values"]["count"].as_f64();
    assert_eq!(
        count(&beside),
        Some(600.0),
        "every request of the measured run"
    );
    assert!(
        p99(&beside) <= 2.0 * p99(&alone) + 20.0,
        "p99 beside {} ms, alone {} ms",
        p99(&beside),
        p99(&alone)
    );
    let stop = server.post("acme-token", &format!("/v1/runs/{noisy}/stop"), &json!({}));
    assert_eq!(stop.status, 202);
    let noisy = summary_of(&noisy);
    assert!(
        noisy["overflow"]["requests"].as_u64() > Some(0),
        "it did overflow"
    );
}

#[test]
fn the_dashboard_is_served_without_a_token_and_holds_no_data() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), &config(""));
    server.upload_guest(guests::HELLO);
    for (path, kind, needle) in [
        ("/", "text/html", "/ui/app.js"),
        ("/ui/app.js", "text/javascript", "sessionStorage"),
        ("/ui/app.css", "text/css", "--accent"),
        ("/ui/base.css", "text/css", ":root"),
        ("/ui/charts.js", "text/javascript", "LoadwrightCharts"),
        ("/ui/uPlot.iife.min.js", "text/javascript", "uPlot"),
        ("/ui/uPlot.min.css", "text/css", ".uplot"),
    ] {
        let mut response = server.agent.get(&server.url(path)).call().unwrap();
        assert_eq!(response.status().as_u16(), 200, "{path}");
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        assert!(header("content-type").starts_with(kind), "{path}");
        let policy = header("content-security-policy");
        assert!(
            policy.contains("connect-src 'self'") && policy.contains("frame-ancestors 'none'"),
            "{path}: {policy}"
        );
        assert_eq!(header("x-content-type-options"), "nosniff");
        let body = response.body_mut().read_to_string().unwrap();
        assert!(body.contains(needle), "{path}");
        // The scenario uploaded above is reached only through /v1 with a token.
        assert!(!body.contains("hello"), "{path}");
    }
    // Anything else outside /v1 is still a JSON 404.
    assert_eq!(server.get("", "/ui/other.js").status, 404);
}
