//! The smallest useful scenario: each iteration fetches `/` and checks the status, then
//! thinks for `think_ms` milliseconds if that parameter is given.
//!
//! `host run hello.wasm --target-demo --vus 10 --duration 10s [--param think_ms=500]`

use std::time::Duration;

use loadwright::{Result, Scenario, check, get, sleep, vu};

#[derive(Default)]
struct Hello;

impl Scenario for Hello {
    fn run(&mut self) -> Result<()> {
        let response = get("/").send();
        // Think time follows the request whether it worked or not.
        if let Some(think) = vu::param("think_ms").and_then(|ms| ms.parse().ok()) {
            sleep(Duration::from_millis(think));
        }
        check("status is 200", response?.status() == 200);
        Ok(())
    }
}

loadwright::scenario!(Hello);
