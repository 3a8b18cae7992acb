//! Distributed runs: `host serve` as the coordinator and `host agent` processes on
//! loopback running the parts of one run, merged as they go.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use loadwright_host::demo::DemoTarget;
use loadwright_tests::guests;
use loadwright_tests::receivers::Prometheus;
use loadwright_tests::target::Recorder;
use serde_json::{Value, json};

use super::{Server, config, token_hash};
use crate::cli::{host_command, host_run, text};

/// The tests' config with an agent token, `agent-token`; acme may push to Prometheus.
fn agent_config() -> String {
    format!(
        "agent-token-sha256 = [\"{}\"]\n{}",
        token_hash("agent-token"),
        config("outputs = [\"prometheus-rw\"]")
    )
}

/// A `host agent` process, killed when dropped.
pub(super) struct Agent {
    child: Child,
}

impl Agent {
    /// Starts agent `name` for `server`, with `extra` flags.
    fn start(server: &Server, name: &str, extra: &[&str]) -> Self {
        Self::spawn(host_command(), &server.process.url, name, extra)
    }

    /// Starts agent `name` of the coordinator at `url` with `command` (a `host`, or
    /// `ip netns exec NS host`), with `extra` flags.
    pub(super) fn spawn(mut command: Command, url: &str, name: &str, extra: &[&str]) -> Self {
        let child = command
            .args(["agent", "--coordinator", url, "--token", "agent-token"])
            .args(["--name", name])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start host agent");
        Self { child }
    }

    /// Waits up to `limit` for the agent to exit; its exit code.
    fn exit_within(&mut self, limit: Duration) -> Option<i32> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    /// Kills it with SIGKILL, as a crash or a lost machine ends it.
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A demo target in this process (so the test can count what it served), on `runtime`.
fn demo_target(runtime: &tokio::runtime::Runtime) -> DemoTarget {
    runtime
        .block_on(DemoTarget::start(([127, 0, 0, 1], 0).into()))
        .expect("demo target")
}

/// The run's log messages.
fn log(server: &Server, id: &str) -> Vec<String> {
    let lines = server
        .get("acme-token", &format!("/v1/runs/{id}/log"))
        .json();
    lines
        .as_array()
        .map(|lines| {
            lines
                .iter()
                .filter_map(|l| l["message"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Waits until run `id`'s log has a line containing `text`.
fn wait_for_log(server: &Server, id: &str, text: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !log(server, id).iter().any(|l| l.contains(text)) {
        assert!(
            Instant::now() < deadline,
            "no {text:?} in {:?}",
            log(server, id)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The coordinator's agents by state, from `/metrics`.
fn agents_in(server: &Server, state: &str) -> u64 {
    let metrics = server.get("admin-token", "/metrics").body;
    let series = format!("loadwright_agents{{state=\"{state}\"}} ");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(&series))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {series} in {metrics}"))
}

/// Waits until `count` agents are idle.
fn wait_for_idle(server: &Server, count: u64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while agents_in(server, "idle") != count {
        assert!(Instant::now() < deadline, "{count} agents never idle");
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub(super) fn values(summary: &Value, metric: &str) -> Value {
    summary["metrics"][metric]["values"].clone()
}

pub(super) fn report_of(files: &[&Path], json: &Path) -> std::process::Output {
    let mut args = vec!["report".to_owned()];
    args.extend(files.iter().map(|f| f.display().to_string()));
    args.push(format!("--out=json={}", json.display()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    host_run(&args)
}

#[test]
fn three_agents_run_the_shop_example_as_one_run() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let demo = demo_target(&runtime);
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(&dir.path().join("data"), &agent_config());
    let results = dir.path().join("parts");
    std::fs::create_dir(&results).expect("mkdir");
    let results_flag = results.display().to_string();
    let _agents: Vec<Agent> = (1..=3)
        .map(|n| {
            Agent::start(
                &server,
                &format!("agent-{n}"),
                &["--results", &results_flag],
            )
        })
        .collect();
    wait_for_idle(&server, 3);
    let scenario = server.upload_guest(guests::SHOP);
    let prometheus = Prometheus::start(false);
    // 60 iterations, 20 per agent: only the whole run reaches 30.
    let id = server.start_run(
        &scenario,
        json!({"base_url": demo.url(), "agents": 3, "vus": 6, "iterations": 60,
               "plan": {"thresholds": {"iterations": ["count<30"]}},
               "outputs": [format!("prometheus-rw={}", prometheus.write_url())]}),
    );
    let run = server.wait_for_end(&id);
    assert_eq!(run["state"], "completed", "{run}");
    let summary = &run["summary"];
    assert_eq!(values(summary, "iterations")["count"], 60.0);
    assert_eq!(
        values(summary, "http_reqs")["count"],
        demo.requests() as f64,
        "every request the target saw, merged once"
    );
    assert_eq!(summary["thresholds_passed"], false, "judged on the whole");
    // The coordinator pushes the merged figures.
    let pushed = prometheus.query(&format!("sum(loadwright_http_reqs_total{{run=\"{id}\"}})"));
    assert_eq!(pushed, values(summary, "http_reqs")["count"].as_f64());
    let agents_line = log(&server, &id)
        .into_iter()
        .find(|l| l.starts_with("agents: "))
        .expect("the run names its agents");
    for n in 1..=3 {
        assert!(agents_line.contains(&format!("agent-{n}")), "{agents_line}");
    }

    // The same samples, merged from the parts' own files: the same distribution.
    let parts: Vec<_> = (1..=3)
        .map(|n| results.join(format!("{id}-part-{n}.ndjson")))
        .collect();
    let parts: Vec<&Path> = parts.iter().map(|p| p.as_path()).collect();
    let merged = dir.path().join("merged.json");
    let out = report_of(&parts, &merged);
    assert_eq!(out.status.code(), Some(99), "{}", text(&out.stderr));
    let merged: Value =
        serde_json::from_str(&std::fs::read_to_string(&merged).expect("read")).expect("JSON");
    let distribution = |s: &Value| {
        let v = values(s, "http_req_duration");
        ["count", "med", "p(90)", "p(95)", "p(99)", "max", "min"].map(|k| v[k].clone())
    };
    assert_eq!(distribution(&merged), distribution(summary));
    for part in &parts {
        let out = report_of(&[part], &dir.path().join("part.json"));
        assert_eq!(
            out.status.code(),
            Some(0),
            "no part fails alone: {}",
            text(&out.stderr)
        );
    }
    demo.shutdown();
}

#[test]
fn the_hooks_run_once_at_the_coordinator_and_every_agent_gets_the_setup_data() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let target = runtime.block_on(Recorder::start());
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(&dir.path().join("data"), &agent_config());
    let _agents: Vec<Agent> = (1..=3)
        .map(|n| Agent::start(&server, &format!("agent-{n}"), &[]))
        .collect();
    wait_for_idle(&server, 3);
    let scenario = server.upload_guest(guests::PROBE);
    let id = server.start_run(
        &scenario,
        json!({"base_url": target.url(), "agents": 3, "vus": 3, "iterations": 9,
               "params": {"mode": "snapshot"}}),
    );
    let run = server.wait_for_end(&id);
    assert_eq!(run["state"], "completed", "{run}");
    let requests = target.requests();
    assert_eq!(target.count("/hook/test-start"), 1, "on-test-start once");
    let snaps: Vec<&String> = requests
        .iter()
        .filter(|r| r.starts_with("/snap?"))
        .collect();
    assert_eq!(snaps.len(), 9, "{requests:?}");
    assert!(
        snaps.iter().all(|r| r.contains("&setup=setup-ok")),
        "every agent's VUs read the coordinator's setup data: {snaps:?}"
    );
    let mut vus: Vec<&str> = requests
        .iter()
        .filter_map(|r| r.strip_prefix("/hook/vu-start?vu="))
        .collect();
    vus.sort_unstable();
    assert_eq!(
        vus,
        ["1", "2", "3"],
        "one VU per agent, numbered as in one process"
    );
    // on-test-stop once, at the coordinator, on the merged figures: every request the
    // target saw (the agents' and the coordinator's hooks') but its own report.
    let stops: Vec<&String> = requests
        .iter()
        .filter(|r| r.starts_with("/hook/test-stop"))
        .collect();
    assert_eq!(stops.len(), 1, "{stops:?}");
    let before = requests.len() - 1;
    assert!(
        stops[0].starts_with(&format!("/hook/test-stop?requests={before}&")),
        "{stops:?} after {before} requests"
    );
    let merged = values(&run["summary"], "http_reqs")["count"].as_f64();
    assert_eq!(merged, Some(requests.len() as f64));
}

#[test]
fn abort_on_fail_judged_on_the_merged_figures_stops_every_agent() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let demo = demo_target(&runtime);
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(&dir.path().join("data"), &agent_config());
    let mut agents: Vec<Agent> = (1..=3)
        .map(|n| Agent::start(&server, &format!("agent-{n}"), &["--once"]))
        .collect();
    wait_for_idle(&server, 3);
    let scenario = server.upload_guest(guests::SHOP);
    let started = Instant::now();
    let id = server.start_run(
        &scenario,
        json!({"base_url": demo.url(), "agents": 3, "vus": 3, "duration": "2m",
               "plan": {"thresholds": {"iterations": [
                   {"threshold": "count<20", "abortOnFail": true}]}}}),
    );
    let run = server.wait_for_end(&id);
    assert_eq!(run["state"], "aborted-by-threshold", "{run}");
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "stopped long before 2m"
    );
    for agent in &mut agents {
        assert_eq!(
            agent.exit_within(Duration::from_secs(30)),
            Some(0),
            "each agent stopped its part gracefully and exited"
        );
    }
    demo.shutdown();
}

#[test]
fn a_late_agent_waits_and_a_lost_one_is_reported() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let demo = demo_target(&runtime);
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(&dir.path().join("data"), &agent_config());
    let mut agents: Vec<Agent> = (1..=2)
        .map(|n| Agent::start(&server, &format!("agent-{n}"), &[]))
        .collect();
    wait_for_idle(&server, 2);
    let scenario = server.upload_guest(guests::SHOP);
    let id = server.start_run(
        &scenario,
        json!({"base_url": demo.url(), "agents": 3, "vus": 3, "duration": "10s",
               "agent_loss": "continue"}),
    );
    // Two agents are not enough: the run waits for a third.
    wait_for_log(&server, &id, "waiting for 3 idle agents (2 now)");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        agents_in(&server, "busy"),
        0,
        "no part is handed out before all three"
    );
    agents.push(Agent::start(&server, "agent-3", &[]));
    wait_for_log(&server, &id, "agents: ");
    // An agent that comes once the run has its three is not admitted: it stays idle.
    let _late = Agent::start(&server, "agent-late", &[]);
    wait_for_idle(&server, 1);
    assert_eq!(agents_in(&server, "busy"), 3);
    std::thread::sleep(Duration::from_secs(2));
    agents[0].kill();
    let run = server.wait_for_end(&id);
    assert_eq!(run["state"], "completed", "agentLoss continue: {run}");
    let lost = log(&server, &id)
        .into_iter()
        .find(|l| l.contains("has not reported for 5s"))
        .expect("the lost agent is in the log");
    assert!(
        lost.contains("agent-1") && lost.contains("goes on without it"),
        "{lost}"
    );

    // The default: a lost agent aborts the run.
    wait_for_idle(&server, 3);
    let id = server.start_run(
        &scenario,
        json!({"base_url": demo.url(), "agents": 3, "vus": 3, "duration": "1m"}),
    );
    wait_for_log(&server, &id, "agents: ");
    let answer = server.post("acme-token", &format!("/v1/runs/{id}/pause"), &json!({}));
    assert_eq!(answer.status, 409);
    assert!(
        answer.message().contains("the run is distributed"),
        "{answer:?}"
    );
    std::thread::sleep(Duration::from_secs(1));
    agents[1].kill();
    let run = server.wait_for_end(&id);
    assert_eq!(run["state"], "aborted", "{run}");
    let reason = run["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("agent-2") && reason.contains("agentLoss: abort"),
        "{reason}"
    );
    demo.shutdown();
}

#[test]
fn distributed_runs_are_checked_and_agents_keep_to_their_routes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(&dir.path().join("data"), &agent_config());
    let scenario = server.upload_guest(guests::SHOP);
    let refused = |extra: Value, expected: &str| {
        let mut body = json!({"scenario": scenario, "vus": 2, "duration": "5s"});
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            body.extend(extra.clone());
        }
        let answer = server.post("acme-token", "/v1/runs", &body);
        assert_eq!(answer.status, 422, "{answer:?}");
        assert!(answer.message().contains(expected), "{answer:?}");
    };
    refused(json!({"agents": 0}), "agents must be 1 to 1000");
    refused(json!({"segments": "0,1/2"}), "must run from 0 to 1");
    refused(
        json!({"agents": 3, "segments": "0,1/2,1"}),
        "2 segments for 3 agents",
    );
    refused(json!({"agents": 3}), "part 3 (2/3:1) cannot run");
    refused(
        json!({"agents": 2, "plan": {"executionSegment": "0:1/2"}}),
        "remove executionSegment",
    );
    refused(json!({"agent_loss": "continue"}), "add agents");

    // Nobody comes: the run fails after its wait, saying what is missing.
    let id = server.start_run(&scenario, json!({"agents": 2, "agent_wait": "1s"}));
    let run = server.wait_for_end(&id);
    assert_eq!(run["state"], "aborted", "{run}");
    let reason = run["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("needs 2 agents; 0 were ready within 1s"),
        "{reason}"
    );

    // Tenants' tokens do not reach the agents' routes, nor agents' tokens the tenants'.
    let hello = json!({"id": "a1", "name": "a", "version": env!("CARGO_PKG_VERSION")});
    assert_eq!(
        server.post("acme-token", "/v1/agents/poll", &hello).status,
        401
    );
    assert_eq!(server.get("agent-token", "/v1/runs").status, 401);
    let old = json!({"id": "a1", "name": "a", "version": "0.0.1"});
    let answer = server.post("agent-token", "/v1/agents/poll", &old);
    assert_eq!(answer.status, 409);
    assert!(
        answer.message().contains("run the same version on both"),
        "{answer:?}"
    );
    let path = format!("/v1/agents/scenarios/{scenario}");
    assert_eq!(
        server.get("agent-token", &path).status,
        404,
        "only the scenarios of distributed runs in progress"
    );
}
