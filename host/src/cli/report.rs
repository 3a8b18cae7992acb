//! `host report`: result files merged into one run's summary, thresholds and outputs.

use std::path::PathBuf;

use anyhow::bail;
use clap::Args;

use super::{Exit, announce_written, exit_code};
use crate::output::{OutputSpec, Outputs, Results, summary};

/// Flags of `host report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Result files (`host run --out result=FILE`): the parts of one run, each an execution
    /// segment of its plan, or whole runs of one plan to add up.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Where the merged results go: json=FILE, csv=PREFIX, ndjson=FILE, html=FILE
    /// (repeatable).
    #[arg(long = "out", short = 'o', value_name = "KIND=TARGET", value_parser = OutputSpec::parse)]
    pub outputs: Vec<OutputSpec>,
}

pub(crate) async fn report(args: ReportArgs) -> anyhow::Result<Exit> {
    if let Some(OutputSpec::Result(path)) = args
        .outputs
        .iter()
        .find(|spec| matches!(spec, OutputSpec::Result(_)))
    {
        bail!(
            "--out result={}: host report writes json, csv, ndjson and html; name the result \
             files themselves to merge them again",
            path.display()
        );
    }
    let results = Results::open(&args.files)?;
    let mut outputs = Outputs::open(&args.outputs)?;
    if outputs.pushes() {
        bail!(
            "--out otlp and --out prometheus-rw push a live run's figures; host report writes \
             json, csv, ndjson and html"
        );
    }
    let mut output_error = None;
    let merged = results.merge(|interval| {
        if output_error.is_none()
            && let Err(err) = outputs.interval(interval)
        {
            output_error = Some(err);
        }
        Ok(())
    })?;
    for warning in &merged.warnings {
        eprintln!("warning: {warning}");
    }
    let report = merged.report;
    print!("{}", summary(&report));
    let written = match output_error {
        Some(err) => Err(err),
        None => outputs.finish(&report).await,
    };
    exit_code(&report, announce_written(written))
}
