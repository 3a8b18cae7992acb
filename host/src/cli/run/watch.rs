//! Watching a live run from the terminal: progress, guest log lines, keys and signals, and
//! the output files' intervals.

use std::io::IsTerminal as _;
use std::time::Duration;

use tokio::sync::broadcast::error::RecvError;

use super::RunArgs;
use crate::cli::live::{self, Action};
use crate::output::{Outputs, Progress};
use crate::run::RunHandle;
use crate::runlog::Level;

/// Follows `handle` to its end: writes each interval to `outputs`, shows progress and log
/// lines, applies keys and Ctrl-C. Returns the first error writing an output, if any.
pub(super) async fn watch(
    handle: &RunHandle,
    args: &RunArgs,
    keys: bool,
    planned: Duration,
    outputs: &mut Outputs,
) -> Option<anyhow::Error> {
    stop_on_ctrl_c(handle.clone());
    let mut actions = live::listen(keys);
    let mut intervals = handle.subscribe();
    let mut logs = handle.logs();
    let mut progress = Progress::new(std::io::stderr().is_terminal(), planned);
    let mut output_error = None;
    let min_level = if args.verbose {
        Level::Trace
    } else {
        Level::Info
    };
    loop {
        tokio::select! {
            interval = intervals.recv() => match interval {
                Ok(interval) => {
                    if output_error.is_none()
                        && let Err(err) = outputs.interval(&interval)
                    {
                        output_error = Some(err);
                    }
                    if !args.quiet {
                        progress.set_paused(handle.is_paused());
                        progress.interval(&interval);
                    }
                }
                Err(RecvError::Lagged(skipped)) => {
                    progress.note(&format!("{skipped} stats intervals were skipped: output is too slow"));
                }
                Err(RecvError::Closed) => break,
            },
            line = logs.recv() => match line {
                Ok(line) if !args.quiet && line.level >= min_level => progress.log(&line),
                _ => {}
            },
            Some(action) = actions.recv() => {
                let note = live::apply(handle, action);
                if action == Action::Stop || !args.quiet {
                    progress.note(&note);
                }
            }
        }
    }
    live::restore_terminal();
    // Lines written after the last interval (on-test-stop's verdict, for example).
    while let Ok(line) = logs.try_recv() {
        if !args.quiet && line.level >= min_level {
            progress.log(&line);
        }
    }
    progress.finish();
    output_error
}

/// The first Ctrl-C stops the run gracefully; a second quits at once.
fn stop_on_ctrl_c(handle: RunHandle) {
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!(
                "\nstopping: in-flight iterations get their graceful stop (Ctrl-C again quits now)"
            );
            handle.stop();
            if tokio::signal::ctrl_c().await.is_ok() {
                live::restore_terminal();
                std::process::exit(130);
            }
        }
    });
}
