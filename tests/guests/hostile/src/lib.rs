//! The test suite's hostile guest: task `hostile` misbehaves in the way the `mode` parameter
//! names, task `healthy` sends one `GET /ok`, so one run can hold both.
//!
//! Modes: `spin` (an endless loop that never calls the host), `spin_sleep` and `spin_send`
//! (compute 5 ms, call the host, again, forever: dodging a per-stretch budget), `alloc`
//! (allocate 1 MiB blocks until memory runs out), `panic_every` (every 10th iteration of a
//! VU panics), `log_flood` (20 000 lines on stdout per iteration), `big` (fetch a 2 MB body),
//! `hang` (sleep for an hour).

use std::hint::black_box;
use std::time::{Duration, Instant};

use loadwright::{Options, Result, Scenario, get, sleep, vu};

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
            Some("hang") => {
                sleep(Duration::from_secs(3600));
                Ok(())
            }
            _ => self.healthy(),
        }
    }
}

loadwright::scenario!(Hostile);
