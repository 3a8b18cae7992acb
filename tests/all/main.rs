//! Loadwright's integration tests: real guests (built from source), real runs, servers on
//! loopback. One binary, one module per area.

mod cli;
mod cli_tls;
mod connections;
mod contract;
mod control;
mod counts;
mod egress;
mod executors;
mod faults;
mod go;
mod hardening;
mod hooks;
mod https;
mod loading;
mod observability;
mod open_model;
mod precedence;
mod results;
mod sandbox;
mod segments;
mod server;
mod stop;
mod thresholds;

use std::sync::Arc;
use std::time::Duration;

use loadwright_host::config::{Overrides, PlanDocument};
use loadwright_host::engine::{Engine, EngineOptions, Scenario};
use loadwright_host::run::{Report, Run, RunHandle};

/// An engine with room for the tests' runs.
pub fn engine() -> Engine {
    Engine::new(EngineOptions {
        max_instances: 64,
        ..Default::default()
    })
    .expect("engine")
}

/// Loads the guest at `path`.
pub async fn load(engine: &Engine, path: &str) -> Scenario {
    let bytes = std::fs::read(path).expect("read guest");
    engine
        .load(&bytes)
        .await
        .unwrap_or_else(|err| panic!("load {path}: {err}"))
}

/// Starts `guest` with the plan document `plan`, against `base`, with `params`, on an
/// engine sized for the plan.
pub async fn start(guest: &str, plan: &str, base: &str, params: &[(&str, &str)]) -> RunHandle {
    let overrides = Overrides {
        base_url: Some(base.parse().expect("base URL")),
        params: params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        stats_interval: Some(Duration::from_millis(200)),
        ..Default::default()
    };
    let plan = PlanDocument::from_json(plan)
        .and_then(|d| d.resolve(overrides))
        .expect("plan");
    let engine = Engine::new(EngineOptions {
        max_instances: Run::instances_needed(&plan).max(64),
        ..Default::default()
    })
    .expect("engine");
    let scenario = load(&engine, guest).await;
    Run::start(&engine, scenario, plan).expect("start")
}

/// Starts the probe with every iteration sleeping `sleep_ms` before its request.
pub async fn start_sleeping(plan: &str, base: &str, sleep_ms: u64) -> RunHandle {
    let ms = sleep_ms.to_string();
    start(
        loadwright_tests::guests::PROBE,
        plan,
        base,
        &[("mode", "sleep"), ("sleep_ms", &ms)],
    )
    .await
}

/// Runs the probe with every iteration sleeping `sleep_ms`, to the end.
pub async fn run_sleeping(plan: &str, base: &str, sleep_ms: u64) -> Arc<Report> {
    start_sleeping(plan, base, sleep_ms).await.wait().await
}

/// Runs to the end and returns the report.
pub async fn run(guest: &str, plan: &str, base: &str, params: &[(&str, &str)]) -> Arc<Report> {
    start(guest, plan, base, params).await.wait().await
}
