//! The smallest useful scenario: each iteration fetches `/` and checks the status.
//!
//! `host run hello.wasm --target-demo --vus 10 --duration 10s`

use loadwright::{Result, Scenario, check, get};

#[derive(Default)]
struct Hello;

impl Scenario for Hello {
    fn run(&mut self) -> Result<()> {
        let response = get("/").send()?;
        check("status is 200", response.status() == 200);
        Ok(())
    }
}

loadwright::scenario!(Hello);
