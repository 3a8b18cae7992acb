//! A distributed run whose traffic crosses real interfaces: the coordinator and the target
//! in a network namespace of their own, each agent in another, joined by veth pairs the
//! test creates (addresses of 198.18.0.0/15, the range set aside for benchmarks) and
//! deletes. It needs root and `ip` (iproute2), as `scripts/test.sh` runs here.

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

use super::distributed::{Agent, report_of, values};
use super::{Process, Server, token_hash};
use crate::cli::{host, text};

/// The coordinator's and the target's address, on the hub namespace's loopback.
const SERVICE: &str = "198.18.0.1";

/// Runs `ip ARGS`; a failure says what the test needs.
fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("run ip");
    assert!(
        out.status.success(),
        "ip {}: {} (this test needs root and network namespaces)",
        args.join(" "),
        text(&out.stderr)
    );
}

/// The namespaces and veth pairs of one test, deleted when dropped.
struct Network {
    prefix: String,
    agents: usize,
}

impl Network {
    /// A hub namespace (coordinator, target) with `agents` namespaces joined to it by a
    /// veth pair each, and one more pair from this namespace to the hub, so the test
    /// reaches the coordinator.
    fn create(agents: usize) -> Self {
        let prefix = format!("lw{:05}", std::process::id() % 100_000);
        let network = Self { prefix, agents };
        let hub = network.hub();
        ip(&["netns", "add", &hub]);
        ip(&["-n", &hub, "link", "set", "lo", "up"]);
        ip(&[
            "-n",
            &hub,
            "addr",
            "add",
            &format!("{SERVICE}/32"),
            "dev",
            "lo",
        ]);
        for n in 1..=agents {
            let (namespace, ours, theirs) = network.agent(n);
            ip(&["netns", "add", &namespace]);
            ip(&[
                "link", "add", &ours, "type", "veth", "peer", "name", &theirs,
            ]);
            ip(&["link", "set", &ours, "netns", &hub]);
            ip(&["link", "set", &theirs, "netns", &namespace]);
            network.join(&hub, &ours, &namespace, &theirs, n);
        }
        let (ours, theirs) = (
            format!("{}r", network.prefix),
            format!("{}hr", network.prefix),
        );
        ip(&[
            "link", "add", &ours, "type", "veth", "peer", "name", &theirs,
        ]);
        ip(&["link", "set", &theirs, "netns", &hub]);
        ip(&["addr", "add", "198.18.100.2/24", "dev", &ours]);
        ip(&["link", "set", &ours, "up"]);
        ip(&["-n", &hub, "addr", "add", "198.18.100.1/24", "dev", &theirs]);
        ip(&["-n", &hub, "link", "set", &theirs, "up"]);
        ip(&[
            "route",
            "add",
            &format!("{SERVICE}/32"),
            "via",
            "198.18.100.1",
        ]);
        network
    }

    /// Addresses the hub's end (`198.18.N.1`) and the agent's (`198.18.N.2`) of pair `n`,
    /// and routes the service through it.
    fn join(&self, hub: &str, ours: &str, namespace: &str, theirs: &str, n: usize) {
        ip(&[
            "-n",
            hub,
            "addr",
            "add",
            &format!("198.18.{n}.1/24"),
            "dev",
            ours,
        ]);
        ip(&["-n", hub, "link", "set", ours, "up"]);
        ip(&["-n", namespace, "link", "set", "lo", "up"]);
        let address = format!("198.18.{n}.2/24");
        ip(&["-n", namespace, "addr", "add", &address, "dev", theirs]);
        ip(&["-n", namespace, "link", "set", theirs, "up"]);
        let via = format!("198.18.{n}.1");
        ip(&[
            "-n",
            namespace,
            "route",
            "add",
            &format!("{SERVICE}/32"),
            "via",
            &via,
        ]);
    }

    fn hub(&self) -> String {
        format!("{}hub", self.prefix)
    }

    /// Agent `n`'s namespace, the hub's end of its pair and its own end.
    fn agent(&self, n: usize) -> (String, String, String) {
        let p = &self.prefix;
        (format!("{p}a{n}"), format!("{p}h{n}"), format!("{p}a{n}"))
    }

    /// `host` in `namespace`.
    fn host_in(namespace: &str) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", namespace]).arg(host());
        command.env(
            "LOADWRIGHT_CACHE_DIR",
            std::env::temp_dir().join("loadwright-test-cache"),
        );
        command
    }

    /// Bytes agent `n`'s interface received and sent.
    fn traffic(&self, n: usize) -> (u64, u64) {
        let (namespace, _, interface) = self.agent(n);
        let out = Command::new("ip")
            .args(["-n", &namespace, "-s", "-j", "link", "show", &interface])
            .output()
            .expect("run ip");
        let links: Value = serde_json::from_slice(&out.stdout).expect("ip -j gives JSON");
        let stats = &links[0]["stats64"];
        let bytes = |way: &str| stats[way]["bytes"].as_u64().expect("a byte count");
        (bytes("rx"), bytes("tx"))
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        // Deleting a namespace deletes the pairs with an end in it.
        let _ = Command::new("ip")
            .args(["link", "del", &format!("{}r", self.prefix)])
            .status();
        for n in 1..=self.agents {
            let _ = Command::new("ip")
                .args(["netns", "del", &self.agent(n).0])
                .status();
        }
        let _ = Command::new("ip")
            .args(["netns", "del", &self.hub()])
            .status();
    }
}

#[test]
fn agents_in_namespaces_of_their_own_run_one_run_over_veth_pairs() {
    let network = Network::create(3);
    let dir = tempfile::tempdir().expect("temp dir");
    let config = format!(
        "agent-token-sha256 = [\"{agent}\"]\n\n[[tenant]]\nname = \"acme\"\n\
         token-sha256 = [\"{acme}\"]\negress = {{ allow = [\"198.18.0.0/15\"] }}\n",
        agent = token_hash("agent-token"),
        acme = token_hash("acme-token"),
    );
    let config_path = dir.path().join("server.toml");
    std::fs::write(&config_path, config).expect("write config");
    let data = dir.path().join("data");
    let listen = format!("{SERVICE}:0");
    let mut serve = Network::host_in(&network.hub());
    serve.args(["serve", "--listen", &listen, "--config"]);
    serve.arg(&config_path).arg("--data-dir").arg(&data);
    let process = Process::spawn(serve);
    let mut target = Network::host_in(&network.hub());
    target.args(["target", "--listen", &listen]);
    let server = Server::of(process, Process::spawn(target));

    let results = dir.path().join("parts");
    std::fs::create_dir(&results).expect("mkdir");
    let results_flag = results.display().to_string();
    let _agents: Vec<Agent> = (1..=3)
        .map(|n| {
            let command = Network::host_in(&network.agent(n).0);
            let name = format!("ns-agent-{n}");
            Agent::spawn(
                command,
                &server.process.url,
                &name,
                &["--results", &results_flag],
            )
        })
        .collect();
    let scenario = server.upload_guest(loadwright_tests::guests::SHOP);
    let id = server.start_run(
        &scenario,
        json!({"agents": 3, "vus": 6, "iterations": 30, "agent_wait": "30s"}),
    );
    let run = server.wait_for_end(&id);
    assert_eq!(run["state"], "completed", "{run}");
    let summary = &run["summary"];
    assert_eq!(values(summary, "iterations")["count"], 30.0);

    let component = std::fs::metadata(loadwright_tests::guests::SHOP)
        .expect("shop")
        .len();
    let mut requests = 0.0;
    for n in 1..=3 {
        let part = results.join(format!("{id}-part-{n}.ndjson"));
        let json = dir.path().join(format!("part-{n}.json"));
        let out = report_of(&[Path::new(&part)], &json);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let part: Value =
            serde_json::from_str(&std::fs::read_to_string(&json).expect("read")).expect("JSON");
        requests += values(&part, "http_reqs")["count"].as_f64().unwrap_or(0.0);
        let sent = values(&part, "data_sent")["count"].as_f64().unwrap_or(0.0) as u64;
        let (received, transmitted) = network.traffic(n);
        assert!(
            received >= component,
            "agent {n} fetched the scenario over its veth: {received} bytes in"
        );
        assert!(
            sent > 0 && transmitted >= sent,
            "agent {n}'s requests ({sent} bytes) left over its veth: {transmitted} bytes out"
        );
    }
    assert_eq!(values(summary, "http_reqs")["count"], requests);
}
