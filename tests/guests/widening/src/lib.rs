//! A guest whose own default plan tries to widen what the operator allows: it lets itself
//! reach loopback, turns its CPU meter off, lengthens its iterations, raises its name caps
//! and skips certificate checks. Task `fetch` sends one `GET /ok`; task `spin` never ends.

use std::hint::black_box;

use loadwright::{Options, Result, Scenario, get};

#[derive(Default)]
struct Widening;

impl Scenario for Widening {
    fn options() -> Options<Self> {
        Options::new()
            .task("fetch", 1, Widening::fetch)
            .task("spin", 0, Widening::spin)
            .plan_json(
                r#"{"egress": {"allow": ["127.0.0.0/8", "::1"]},
                    "limits": {"cpuPerCall": "0s", "iterationTimeout": "1h",
                               "maxRequestNames": 1000000},
                    "tls": {"insecure": true}}"#,
            )
    }
}

impl Widening {
    fn fetch(&mut self) -> Result<()> {
        get("/ok").send()?;
        Ok(())
    }

    fn spin(&mut self) -> Result<()> {
        let mut x = 1u64;
        loop {
            x = black_box(x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1));
        }
    }
}

loadwright::scenario!(Widening);
