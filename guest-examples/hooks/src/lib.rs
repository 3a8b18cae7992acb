//! Event hooks and live statistics: `on-stats` logs the live p95 every interval, a task reads
//! a snapshot itself, and `on-test-stop` prints a verdict.
//!
//! `host run hooks.wasm --target-demo`

use std::time::Duration;

use loadwright::stats::{self, Snapshot};
use loadwright::{Options, Result, Scenario, get, info, sleep, vu};

/// The verdict's budget for the 95th percentile, in milliseconds (`--param p95_budget_ms=5`).
fn budget_ms() -> f64 {
    vu::param("p95_budget_ms")
        .and_then(|v| v.parse().ok())
        .unwrap_or(50.0)
}

#[derive(Default)]
struct Hooks;

impl Scenario for Hooks {
    fn options() -> Options<Self> {
        Options::new().vus(4).duration("5s")
    }

    fn on_test_start() -> Result<Vec<u8>> {
        info!("starting; the p95 budget is {}ms", budget_ms());
        Ok(Vec::new())
    }

    fn run(&mut self) -> Result<()> {
        get("/").send()?;
        // Every 20th iteration of VU 1 looks at the live numbers itself.
        if vu::id() == 1 && vu::iteration().is_multiple_of(20) {
            let now = stats::snapshot();
            info!("VU 1 sees {} requests so far", now.total.count);
        }
        sleep(Duration::from_millis(20));
        Ok(())
    }

    fn on_stats(snapshot: &Snapshot) {
        info!(
            "live: {} requests, {:.0} rps now, p95 {:.2}ms",
            snapshot.total.count, snapshot.total.current_rps, snapshot.total.duration.p95
        );
    }

    fn on_test_stop(summary: &Snapshot) {
        let p95 = summary.total.duration.p95;
        let verdict = if p95 <= budget_ms() && summary.total.failures == 0 {
            "PASS"
        } else {
            "FAIL"
        };
        println!(
            "verdict: {verdict} (p95 {p95:.2}ms, budget {}ms, {} failures)",
            budget_ms(),
            summary.total.failures
        );
    }
}

loadwright::scenario!(Hooks);
