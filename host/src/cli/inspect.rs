//! `host inspect`: what a component declares.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;

use super::Exit;
use crate::engine::{Engine, EngineOptions};

/// Flags of `host inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The scenario component (.wasm).
    pub scenario: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

pub(crate) async fn inspect(args: InspectArgs) -> anyhow::Result<Exit> {
    let bytes = std::fs::read(&args.scenario)
        .with_context(|| format!("failed to read {:?}", args.scenario))?;
    let engine = Engine::new(EngineOptions {
        cache_dir: super::default_cache_dir(),
        ..Default::default()
    })?;
    let scenario = engine
        .load(&bytes)
        .await
        .with_context(|| format!("cannot load {:?}", args.scenario))?;
    let info = scenario.info();
    if args.json {
        println!("{}", serde_json::to_string_pretty(info)?);
        return Ok(Exit::Ok);
    }
    println!("scenario  {}", args.scenario.display());
    println!("sha256    {}", info.hash);
    println!("size      {} bytes", info.size);
    println!("tasks");
    for task in &info.tasks {
        println!("  {:<24} weight {}", task.name, task.weight);
    }
    println!("default plan");
    if info.plan.is_empty() {
        println!("  (none: 1 VU, 1 iteration unless flags say otherwise)");
    } else {
        let pretty = serde_json::from_str::<serde_json::Value>(&info.plan)
            .and_then(|v| serde_json::to_string_pretty(&v))
            .unwrap_or_else(|_| info.plan.clone());
        for line in pretty.lines() {
            println!("  {line}");
        }
    }
    println!("imports");
    for import in &info.imports {
        println!("  {import}");
    }
    Ok(Exit::Ok)
}
