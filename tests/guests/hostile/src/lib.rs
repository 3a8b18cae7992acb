//! The test suite's hostile guest: task `hostile` misbehaves in the way the `mode` parameter
//! names, task `healthy` sends one `GET /ok`, so one run can hold both.
//!
//! Modes: `spin` (an endless loop that never calls the host), `spin_sleep` and `spin_send`
//! (compute 5 ms, call the host, again, forever: dodging a per-stretch budget), `alloc`
//! (allocate 1 MiB blocks until memory runs out), `panic_every` (every 10th iteration of a
//! VU panics), `log_flood` (20 000 lines on stdout per iteration), `big` (fetch a 2 MB body),
//! `hang` (sleep for an hour), `names` (a new request name, check and metric per iteration),
//! `long_names` (8 MiB names), `spoof` (custom metrics named `http_reqs` and `checks`),
//! `snapshot_loop` and `sleep0_loop` (host calls in an endless loop), `headers` (10 000
//! header fields, then a 1 MiB one), `urls` (one request to each URL of the `urls`
//! parameter).

use std::hint::black_box;
use std::time::{Duration, Instant};

use loadwright::metrics::{Counter, Rate};
use loadwright::{Options, Result, Scenario, check, get, sleep, stats, vu};

/// A counter of a name made at run time (the SDK's metrics take names for the whole run).
fn counter(name: String) -> Counter {
    Counter::new(Box::leak(name.into_boxed_str()))
}

/// Computes for about `time` (reading the clock is a host call).
fn compute(time: Duration) {
    let started = Instant::now();
    let mut x = 1u64;
    while started.elapsed() < time {
        for _ in 0..1000 {
            x = black_box(x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1));
        }
    }
}

#[derive(Default)]
struct Hostile {
    hoard: Vec<Vec<u8>>,
}

impl Scenario for Hostile {
    fn options() -> Options<Self> {
        Options::new()
            .task("hostile", 1, Hostile::hostile)
            .task("healthy", 0, Hostile::healthy)
    }
}

impl Hostile {
    fn healthy(&mut self) -> Result<()> {
        get("/ok").send()?;
        Ok(())
    }

    fn hostile(&mut self) -> Result<()> {
        match vu::param("mode").as_deref() {
            Some("spin") => {
                let mut x = 1u64;
                loop {
                    x = black_box(x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1));
                }
            }
            Some("spin_sleep") => loop {
                compute(Duration::from_millis(5));
                sleep(Duration::from_millis(1));
            },
            Some("spin_send") => loop {
                compute(Duration::from_millis(5));
                let _ = get("/ok").name("/ok-from-hostile").send();
            },
            Some("alloc") => loop {
                self.hoard.push(black_box(vec![1u8; 1 << 20]));
            },
            Some("panic_every") => {
                if vu::iteration() % 10 == 9 {
                    panic!("planned panic at iteration {}", vu::iteration());
                }
                self.healthy()
            }
            Some("log_flood") => {
                for line in 0..20_000 {
                    println!("flood line {line} of VU {}", vu::id());
                }
                self.healthy()
            }
            Some("big") => {
                get("/big?bytes=2000000").send()?;
                Ok(())
            }
            Some("names") => {
                // A new request row, check and metric every iteration.
                let unique = format!("{}-{}", vu::id(), vu::iteration());
                let _ = get(format!("/ok/{unique}")).send();
                check(&format!("check {unique}"), true);
                counter(format!("metric {unique}")).add(1.0);
                Ok(())
            }
            Some("long_names") => {
                let long = "n".repeat(8 << 20);
                let _ = get("/ok").name(long.clone()).send();
                check(&long, true);
                counter(long).add(1.0);
                Ok(())
            }
            Some("spoof") => {
                Counter::new("http_reqs").add(1_000_000.0);
                Rate::new("checks").add(false);
                self.healthy()
            }
            Some("snapshot_loop") => loop {
                black_box(stats::snapshot());
            },
            Some("sleep0_loop") => loop {
                sleep(Duration::ZERO);
            },
            Some("headers") => {
                let mut request = get("/ok").name("/ok-many-headers");
                for i in 0..10_000 {
                    request = request.header(format!("x-h{i}"), "v");
                }
                let refused = request.send().err().map(|e| e.kind_name());
                check(&format!("10000 headers: {refused:?}"), true);
                let big = get("/ok")
                    .name("/ok-big-header")
                    .header("x-big", "v".repeat(1 << 20));
                let refused = big.send().err().map(|e| e.kind_name());
                check(&format!("1 MiB header: {refused:?}"), true);
                Ok(())
            }
            Some("urls") => {
                // One request to each URL of `urls` (comma-separated), each its own row.
                let urls = vu::param("urls").unwrap_or_default();
                for url in urls.split(',').filter(|u| !u.is_empty()) {
                    let _ = get(url).name(url).send();
                }
                Ok(())
            }
            Some("hang") => {
                sleep(Duration::from_secs(3600));
                Ok(())
            }
            _ => self.healthy(),
        }
    }
}

loadwright::scenario!(Hostile);
