//! `host run`: load, plan, run with live progress, summarize.

use std::collections::BTreeMap;
use std::io::IsTerminal as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::Args;
use tokio::sync::broadcast::error::RecvError;
use url::Url;

use super::Exit;
use crate::config::{Overrides, PlanDocument, parse_duration};
use crate::demo::DemoTarget;
use crate::engine::{Engine, EngineOptions};
use crate::output::{Progress, plan_lines, summary};
use crate::run::{Run, RunStatus};
use crate::runlog::Level;

/// Flags of `host run`. Shorthand flags replace the scenario's own scenarios, as in k6.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The scenario component (.wasm).
    pub scenario: PathBuf,
    /// Number of VUs.
    #[arg(long, short = 'u')]
    pub vus: Option<u32>,
    /// How long to run (`30s`, `1m30s`): constant-vus.
    #[arg(long, short = 'd', value_parser = duration_arg)]
    pub duration: Option<Duration>,
    /// Iterations shared by all VUs: shared-iterations.
    #[arg(long, short = 'i')]
    pub iterations: Option<u64>,
    /// VUs started per second at the beginning (default: all at once).
    #[arg(long)]
    pub spawn_rate: Option<f64>,
    /// Time in-flight iterations get to finish at the end (default 30s).
    #[arg(long, value_parser = duration_arg)]
    pub graceful_stop: Option<Duration>,
    /// Base URL for relative request URLs, like Locust's --host.
    #[arg(long, short = 'H', conflicts_with = "target_demo")]
    pub host: Option<Url>,
    /// A parameter the scenario reads with `vu.parameter` (repeatable).
    #[arg(long = "param", short = 'p', value_name = "KEY=VALUE", value_parser = param_arg)]
    pub params: Vec<(String, String)>,
    /// Start the built-in demo target on loopback and point the run at it.
    #[arg(long)]
    pub target_demo: bool,
    /// Length of a stats interval (progress, time series, on-stats).
    #[arg(long, value_parser = duration_arg)]
    pub stats_interval: Option<Duration>,
    /// Print no progress and no guest log, only the summary.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Also show the guests' debug and trace log lines.
    #[arg(long, short = 'v')]
    pub verbose: bool,
    /// Do not cache compiled components on disk.
    #[arg(long)]
    pub no_cache: bool,
}

fn duration_arg(text: &str) -> Result<Duration, String> {
    parse_duration(text).map_err(|err| err.to_string())
}

fn param_arg(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        _ => Err(format!("{text:?} is not KEY=VALUE")),
    }
}

pub(crate) async fn run(args: RunArgs) -> anyhow::Result<Exit> {
    let bytes = std::fs::read(&args.scenario)
        .with_context(|| format!("failed to read {:?}", args.scenario))?;
    let cache_dir = if args.no_cache {
        None
    } else {
        super::default_cache_dir()
    };
    let engine_options = EngineOptions {
        cache_dir,
        ..Default::default()
    };

    // First load: validate and read the scenario's defaults (no instance pool needed yet).
    let probe = Engine::new(engine_options.clone())?;
    let scenario = probe
        .load(&bytes)
        .await
        .with_context(|| format!("cannot load {:?}", args.scenario))?;
    let info = scenario.info().clone();
    drop((scenario, probe));

    let demo = if args.target_demo {
        let addr: SocketAddr = ([127, 0, 0, 1], 0).into();
        Some(
            DemoTarget::start(addr)
                .await
                .context("cannot start the demo target")?,
        )
    } else {
        None
    };
    let base_url = match (&demo, args.host) {
        (Some(demo), _) => Some(Url::parse(&demo.url())?),
        (None, host) => host,
    };
    let overrides = Overrides {
        vus: args.vus,
        duration: args.duration,
        iterations: args.iterations,
        graceful_stop: args.graceful_stop,
        spawn_rate: args.spawn_rate,
        base_url,
        params: args.params.into_iter().collect::<BTreeMap<_, _>>(),
        stats_interval: args.stats_interval,
    };
    let document = PlanDocument::from_json(&info.plan)
        .context("the scenario's default plan (from its options) is invalid")?;
    let plan = document.resolve(overrides).context("invalid plan")?;

    // The run's engine, with an instance pool sized for the plan; the component comes from
    // the cache the first load filled.
    let engine = Engine::new(EngineOptions {
        max_instances: Run::instances_needed(&plan),
        ..engine_options
    })?;
    let scenario = engine
        .load(&bytes)
        .await
        .with_context(|| format!("cannot load {:?}", args.scenario))?;

    if !args.quiet {
        eprintln!("loadwright {}", env!("CARGO_PKG_VERSION"));
        eprint!(
            "{}",
            plan_lines(&args.scenario.display().to_string(), &info, &plan)
        );
        if demo.is_some() {
            eprintln!("             (the built-in demo target, on loopback)");
        }
        eprintln!();
    }
    let planned = plan
        .scenarios
        .iter()
        .map(|s| s.executor.max_duration())
        .max()
        .unwrap_or_default();
    let handle = Run::start(&engine, scenario, plan)?;

    let stopper = handle.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!(
                "\nstopping: in-flight iterations get their graceful stop (Ctrl-C again quits now)"
            );
            stopper.stop();
            if tokio::signal::ctrl_c().await.is_ok() {
                std::process::exit(130);
            }
        }
    });

    let mut intervals = handle.subscribe();
    let mut logs = handle.logs();
    let mut progress = Progress::new(std::io::stderr().is_terminal(), planned);
    let min_level = if args.verbose {
        Level::Trace
    } else {
        Level::Info
    };
    loop {
        tokio::select! {
            interval = intervals.recv() => match interval {
                Ok(interval) if !args.quiet => progress.interval(&interval),
                Ok(_) | Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => break,
            },
            line = logs.recv() => match line {
                Ok(line) if !args.quiet && line.level >= min_level => progress.log(&line),
                _ => {}
            },
        }
    }
    // Lines written after the last interval (on-test-stop's verdict, for example).
    while let Ok(line) = logs.try_recv() {
        if !args.quiet && line.level >= min_level {
            progress.log(&line);
        }
    }
    progress.finish();
    let report = handle.wait().await;
    print!("{}", summary(&report));
    if let Some(demo) = demo {
        demo.shutdown();
    }
    match &report.status {
        RunStatus::Aborted { reason } => {
            eprintln!("error: the run was aborted: {reason}");
            Ok(Exit::Aborted)
        }
        RunStatus::Completed | RunStatus::Stopped => Ok(Exit::Ok),
        other => bail!("the run ended in an unexpected state: {other:?}"),
    }
}
