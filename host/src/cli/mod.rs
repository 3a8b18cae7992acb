//! The `host` command line: raw flags in, a validated plan and a library call out.

mod agent;
mod inspect;
mod live;
mod open_files;
mod report;
mod run;
mod serve;
mod target;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use clap::{Parser, Subcommand};

use crate::run::{Report, RunStatus};

pub use run::RunArgs;

/// Exit codes of `host`, stable for scripts and CI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Exit {
    /// The command did what was asked.
    Ok = 0,
    /// Bad input: an unreadable file, a component that does not fit, an invalid plan.
    Error = 1,
    /// Bad flags (reported by the parser).
    Usage = 2,
    /// The run was aborted: `on-test-start` failed or the test instance could not start.
    Aborted = 98,
    /// A threshold failed (k6's code), or one with `abortOnFail` stopped the run.
    ThresholdsFailed = 99,
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit as u8)
    }
}

/// Loadwright: load tests whose scenarios are sandboxed WebAssembly components.
#[derive(Debug, Parser)]
#[command(name = "host", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a scenario: live progress, then a summary.
    Run(Box<RunArgs>),
    /// Show what a scenario declares: tasks, default plan, imports.
    Inspect(inspect::InspectArgs),
    /// Serve the HTTP API a platform drives: upload scenarios, run them, read stats.
    Serve(serve::ServeArgs),
    /// Merge result files (host run --out result=FILE) into one run's summary, thresholds
    /// and outputs.
    Report(report::ReportArgs),
    /// Run parts of distributed runs for a coordinator (a `host serve`).
    Agent(agent::AgentArgs),
    /// Serve the built-in demo target until Ctrl-C.
    Target(target::TargetArgs),
}

/// Where compiled components are cached: `$LOADWRIGHT_CACHE_DIR`, else the user's cache
/// directory.
pub(crate) fn default_cache_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("LOADWRIGHT_CACHE_DIR") {
        return Some(PathBuf::from(dir));
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))?;
    Some(base.join("loadwright").join("components"))
}

/// Logs of the host itself go to stderr, filtered by `RUST_LOG` (default: warnings).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Runs the parsed command.
pub async fn execute(cli: Cli) -> anyhow::Result<Exit> {
    match cli.command {
        Command::Run(args) => run::run(*args).await,
        Command::Inspect(args) => inspect::inspect(args).await,
        Command::Serve(args) => serve::run(args).await,
        Command::Report(args) => report::report(args).await,
        Command::Agent(args) => agent::agent(args).await,
        Command::Target(args) => target::serve(args).await,
    }
}

/// Says which output files were written (or why not); returns whether writing failed.
fn announce_written(written: anyhow::Result<Vec<PathBuf>>) -> bool {
    match written {
        Ok(paths) => {
            for path in paths {
                eprintln!("wrote {}", path.display());
            }
            false
        }
        Err(err) => {
            eprintln!("error: {err:#}");
            true
        }
    }
}

/// The exit code a run's end earns, with the reason on stderr.
fn exit_code(report: &Report, output_failed: bool) -> anyhow::Result<Exit> {
    match &report.status {
        RunStatus::Aborted { reason } => {
            eprintln!("error: the run was aborted: {reason}");
            Ok(Exit::Aborted)
        }
        RunStatus::AbortedByThreshold { threshold } => {
            eprintln!("error: threshold {threshold} failed and aborted the run");
            Ok(Exit::ThresholdsFailed)
        }
        _ if !report.thresholds_passed() => {
            let failed = report.snapshot.thresholds.iter().filter(|t| !t.ok).count();
            eprintln!("error: {failed} threshold(s) failed");
            Ok(Exit::ThresholdsFailed)
        }
        _ if output_failed => Ok(Exit::Error),
        RunStatus::Completed | RunStatus::Stopped => Ok(Exit::Ok),
        other => bail!("the run ended in an unexpected state: {other:?}"),
    }
}
