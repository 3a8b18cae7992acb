//! `host serve` driven over HTTP on loopback, as a platform drives it: the real binary in a
//! child process, a demo target beside it, and a small blocking client.

mod distributed;
mod durability;
mod hardening;
mod lifecycle;
mod namespaces;
mod outputs;
mod tenants;
mod tls;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::cli::host;

/// SHA-256 of `token`, hex, as the config wants it.
fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The config of the tests: tenants `acme` (token `acme-token`, may reach loopback) and
/// `globex` (`globex-token`), the admin (`admin-token`), and `extra` TOML for acme's table.
fn config(acme_extra: &str) -> String {
    format!(
        r#"admin-token-sha256 = "{admin}"
max-vus = 200

[[tenant]]
name = "acme"
token-sha256 = ["{acme}"]
egress = {{ allow = ["127.0.0.0/8"], denyPrivate = true }}
{acme_extra}

[[tenant]]
name = "globex"
token-sha256 = ["{globex}"]
"#,
        admin = token_hash("admin-token"),
        acme = token_hash("acme-token"),
        globex = token_hash("globex-token"),
    )
}

/// A child process that is killed when dropped.
struct Process {
    child: Child,
    /// What it printed first: its address.
    url: String,
}

impl Process {
    /// Starts `host ARGS` and waits for the line that holds its URL.
    fn start(args: &[&str]) -> Self {
        let mut command = Command::new(host());
        command.args(args);
        Self::spawn(command)
    }

    /// Starts `command` (a `host` that prints its URL first) and waits for that line.
    fn spawn(mut command: Command) -> Self {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .env("RUST_LOG", "warn")
            .spawn()
            .expect("start host");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let line = lines.next().expect("a first line").expect("readable");
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no URL in {line:?}"))
            .trim_end_matches('/')
            .to_owned();
        // Keep draining its stdout so it never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Self { child, url }
    }

    /// Sends SIGTERM and waits for the exit; returns whether it exited cleanly.
    fn terminate(mut self) -> bool {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// Kills it with SIGKILL, as a crash would end it.
    fn kill_hard(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A server over `data` with `config`, and a demo target to load.
struct Server {
    process: Process,
    target: Process,
    agent: ureq::Agent,
}

/// An answer: status and body.
#[derive(Debug)]
struct Answer {
    status: u16,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|err| panic!("not JSON ({err}): {}", self.body))
    }

    /// The error message of an error answer.
    fn message(&self) -> String {
        self.json()["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}

impl Server {
    fn start(data: &Path, config_text: &str) -> Self {
        let config_path = data.with_extension("toml");
        std::fs::write(&config_path, config_text).expect("write config");
        let process = Process::start(&[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            data.to_str().expect("a UTF-8 path"),
            "--config",
            config_path.to_str().expect("a UTF-8 path"),
            "--shutdown-grace",
            "10s",
        ]);
        let target = Process::start(&["target", "--listen", "127.0.0.1:0"]);
        Self::of(process, target)
    }

    /// A server of the running `process`, with `target` to load.
    fn of(process: Process, target: Process) -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            // Under the server's 10 s idle cut, so no request goes out on a closing connection.
            .max_idle_age(Duration::from_secs(5))
            .build()
            .into();
        Self {
            process,
            target,
            agent,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.process.url)
    }

    fn answer(mut response: ureq::http::Response<ureq::Body>) -> Answer {
        let status = response.status().as_u16();
        let body = response.body_mut().read_to_string().unwrap_or_default();
        Answer { status, body }
    }

    fn get(&self, token: &str, path: &str) -> Answer {
        let mut request = self.agent.get(&self.url(path));
        if !token.is_empty() {
            request = request.header("Authorization", &format!("Bearer {token}"));
        }
        Self::answer(request.call().expect("GET"))
    }

    fn post(&self, token: &str, path: &str, body: &Value) -> Answer {
        let response = self
            .agent
            .post(&self.url(path))
            .header("Authorization", &format!("Bearer {token}"))
            .send_json(body)
            .expect("POST");
        Self::answer(response)
    }

    fn delete(&self, token: &str, path: &str) -> Answer {
        let response = self
            .agent
            .delete(&self.url(path))
            .header("Authorization", &format!("Bearer {token}"))
            .call()
            .expect("DELETE");
        Self::answer(response)
    }

    fn upload(&self, token: &str, bytes: &[u8]) -> Answer {
        let response = self
            .agent
            .post(&self.url("/v1/scenarios"))
            .header("Authorization", &format!("Bearer {token}"))
            .header("Content-Type", "application/wasm")
            .send(bytes)
            .expect("upload");
        Self::answer(response)
    }

    /// Uploads `guest` for acme; returns its id.
    fn upload_guest(&self, guest: &str) -> String {
        let answer = self.upload("acme-token", &std::fs::read(guest).expect("guest"));
        assert!(matches!(answer.status, 200 | 201), "{answer:?}");
        answer.json()["id"].as_str().expect("id").to_owned()
    }

    /// Starts a run of `scenario` for acme against the demo target; returns its id.
    fn start_run(&self, scenario: &str, extra: Value) -> String {
        let mut body = serde_json::json!({"scenario": scenario, "base_url": self.target.url});
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            body.extend(extra.clone());
        }
        let answer = self.post("acme-token", "/v1/runs", &body);
        assert_eq!(answer.status, 201, "{answer:?}");
        answer.json()["id"].as_str().expect("id").to_owned()
    }

    /// Waits until run `id` is over; returns it.
    fn wait_for_end(&self, id: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let run = self.get("acme-token", &format!("/v1/runs/{id}")).json();
            let over = !matches!(
                run["state"].as_str(),
                Some("starting" | "running" | "paused" | "stopping")
            );
            if over && (!run["summary"].is_null() || run["state"] == "interrupted") {
                return run;
            }
            assert!(Instant::now() < deadline, "run {id} did not end: {run}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The events of run `id`'s stream (`query` after its path), read until `end` (or
    /// `limit` events).
    fn events(&self, token: &str, id: &str, query: &str, limit: usize) -> Vec<(String, Value)> {
        let mut response = self
            .agent
            .get(&self.url(&format!("/v1/runs/{id}/stream{query}")))
            .header("Authorization", &format!("Bearer {token}"))
            .call()
            .expect("stream");
        assert_eq!(response.status().as_u16(), 200);
        let reader = BufReader::new(response.body_mut().as_reader());
        let mut events = Vec::new();
        let mut name = String::new();
        for line in reader.lines() {
            let line = line.expect("stream line");
            if let Some(event) = line.strip_prefix("event: ") {
                name = event.to_owned();
            } else if let Some(data) = line.strip_prefix("data: ") {
                let value = serde_json::from_str(data).unwrap_or(Value::Null);
                events.push((std::mem::take(&mut name), value));
                if events.last().is_some_and(|(n, _)| n == "end") || events.len() >= limit {
                    break;
                }
            }
        }
        events
    }
}
