//! The test suite's probe: it reports every hook and task to the target server (with its VU
//! id), so tests can check order and counts from the server's own log.
//!
//! Parameters: `mode` = `plain` (default) | `sleep` (sleep `sleep_ms`, then GET /a) |
//! `snapshot` (report the live snapshot) | `batch` (three `GET /slow?ms=300` in one batch) |
//! `status` (`/status/404` expected, `/status/500` not) | `fetch` (one `GET {path}`, what came
//! back reported as checks); `fail_start` (on-test-start fails);
//! `panic_every` = N (every Nth iteration of a VU panics).

use std::time::Duration;

use loadwright::http::Protocol;
use loadwright::stats::{self, Snapshot};
use loadwright::{Error, Options, Result, Scenario, batch, check, get, sleep, vu};

fn param(key: &str) -> Option<String> {
    vu::param(key)
}

fn hit(path: &str) {
    // The hooks report best-effort: a failed report shows up as a missing hit.
    let _ = get(format!(
        "{path}{}vu={}",
        if path.contains('?') { "&" } else { "?" },
        vu::id()
    ))
    .send();
}

#[derive(Default)]
struct Probe;

impl Scenario for Probe {
    fn options() -> Options<Self> {
        Options::new().task("a", 3, Probe::a).task("b", 1, Probe::b)
    }

    fn on_test_start() -> Result<Vec<u8>> {
        hit("/hook/test-start");
        if param("fail_start").is_some() {
            return Err(Error::msg("refused by the probe"));
        }
        Ok(b"setup-ok".to_vec())
    }

    fn on_vu_start(&mut self) -> Result<()> {
        hit("/hook/vu-start");
        // `fail_vu_start=N`: VU N never starts.
        if param("fail_vu_start").and_then(|v| v.parse::<u32>().ok()) == Some(vu::id()) {
            return Err(Error::msg("VU refused by the probe"));
        }
        Ok(())
    }

    fn on_vu_stop(&mut self) {
        hit("/hook/vu-stop");
    }

    fn on_stats(_snapshot: &Snapshot) {
        hit("/hook/stats");
    }

    fn on_test_stop(summary: &Snapshot) {
        hit(&format!("/hook/test-stop?requests={}", summary.total.count));
    }
}

impl Probe {
    fn before_task() -> Result<()> {
        if let Some(every) = param("panic_every").and_then(|v| v.parse::<u64>().ok())
            && vu::iteration() % every == every - 1
        {
            panic!("planned panic at iteration {}", vu::iteration());
        }
        match param("mode").as_deref() {
            Some("sleep") => {
                let ms = param("sleep_ms")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(100);
                sleep(Duration::from_millis(ms));
            }
            Some("snapshot") => {
                let now = stats::snapshot();
                let setup = String::from_utf8_lossy(&vu::setup_data()).into_owned();
                hit(&format!(
                    "/snap?count={}&iterations={}&iteration={}&setup={setup}",
                    now.total.count,
                    now.iterations,
                    vu::iteration()
                ));
            }
            Some("batch") => {
                let slow = || get("/slow?ms=300").name("/slow");
                let results = batch([slow(), slow(), slow()]);
                if results
                    .iter()
                    .any(|r| r.as_ref().map_or(true, |r| r.status() != 200))
                {
                    return Err(Error::msg("a batched request failed"));
                }
            }
            Some("status") => {
                get("/status/404").expect_status(404..=404).send()?;
                get("/status/500").send()?;
            }
            _ => {}
        }
        Ok(())
    }

    /// `mode=fetch`: one `GET {path}` (default `/`; `decompress=0` asks for raw bytes), and
    /// what came back as checks named `key=value` (protocol, reuse, resumption, body, the
    /// error kind), which tests read from the summary.
    fn fetch() -> Result<()> {
        let path = param("path").unwrap_or_else(|| "/".to_owned());
        let decompress = param("decompress").as_deref() != Some("0");
        match get(path).name("fetch").decompress(decompress).send() {
            Ok(response) => {
                let body: String = response.text().chars().take(40).collect();
                check(&format!("status={}", response.status()), true);
                let protocol = match response.protocol() {
                    Protocol::Http10 => "HTTP/1.0",
                    Protocol::Http11 => "HTTP/1.1",
                    Protocol::Http2 => "HTTP/2",
                    Protocol::Http3 => "HTTP/3",
                };
                check(&format!("protocol={protocol}"), true);
                check(&format!("reused={}", response.connection_reused()), true);
                check(&format!("tls_resumed={}", response.tls_resumed()), true);
                check(&format!("body={body}"), true);
                check(&format!("body_size={}", response.body_size()), true);
                let content_type = response.header("Content-Type").unwrap_or("none");
                check(&format!("content-type={content_type}"), true);
                let seen: Vec<&str> = (response.headers().iter())
                    .filter(|(name, _)| name == "x-seen")
                    .map(|(_, value)| value.as_str())
                    .collect();
                check(&format!("x-seen={}", seen.join(",")), true);
                let t = response.timings();
                let adds_up = t.sending + t.waiting + t.receiving == t.duration;
                check("phases add up", adds_up);
            }
            Err(err) => {
                check(&format!("error={}", err.kind_name()), true);
                let message: String = err.message.chars().take(300).collect();
                check(&format!("message={message}"), true);
            }
        }
        Ok(())
    }

    fn a(&mut self) -> Result<()> {
        if param("mode").as_deref() == Some("fetch") {
            return Self::fetch();
        }
        Self::before_task()?;
        get(format!("/a?vu={}", vu::id())).name("/a").send()?;
        Ok(())
    }

    fn b(&mut self) -> Result<()> {
        if param("mode").as_deref() == Some("fetch") {
            return Self::fetch();
        }
        Self::before_task()?;
        get(format!("/b?vu={}", vu::id())).name("/b").send()?;
        Ok(())
    }
}

loadwright::scenario!(Probe);
