//! A guest whose default plan is far larger than any plan may be (12 MiB of parameters):
//! loading it must fail with a message, not print or store it.

use loadwright::{Options, Result, Scenario};

#[derive(Default)]
struct BadPlan;

impl Scenario for BadPlan {
    fn options() -> Options<Self> {
        let padding = "x".repeat(12 << 20);
        let plan = format!(r#"{{"params": {{"padding": "{padding}"}}}}"#);
        Options::new()
            .task("noop", 1, BadPlan::noop)
            .plan_json(&plan)
    }
}

impl BadPlan {
    fn noop(&mut self) -> Result<()> {
        Ok(())
    }
}

loadwright::scenario!(BadPlan);
