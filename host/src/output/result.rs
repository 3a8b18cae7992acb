//! The mergeable result file (`--out result=FILE`): one JSON line per record, a header,
//! every stats interval's delta (counters and HdrHistograms in the V2 encoding), and an end
//! record. `host report` merges any number of them (`merge`); see `docs/distributed.md`.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc::UnboundedReceiver;

use crate::config::PlanDocument;
use crate::engine::ScenarioInfo;
use crate::run::{Report, RunHandle, RunStatus};
use crate::stats::IntervalDelta;

/// The version of the result file format; bumped on any incompatible change.
pub const RESULT_VERSION: u32 = 1;

/// One line of a result file.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum Record {
    /// The first line: what ran, when.
    Header(Box<Header>),
    /// One closed stats interval.
    Interval(Box<IntervalDelta>),
    /// The last line: how the run ended.
    End(End),
}

/// What ran, and when.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Header {
    /// [`RESULT_VERSION`].
    pub format: u32,
    /// The Loadwright that wrote the file.
    pub loadwright: String,
    /// Wall-clock start of the run, seconds since the Unix epoch.
    pub started_at: f64,
    /// The plan, its execution segment included.
    pub plan: PlanDocument,
    /// The scenario.
    pub scenario: ScenarioInfo,
}

/// How the run ended.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct End {
    /// Its final status.
    pub status: RunStatus,
    /// Its length, seconds.
    #[serde(with = "crate::stats::seconds")]
    pub elapsed: Duration,
    /// VUs active at the end.
    pub vus: u32,
    /// Most VUs the run could use.
    pub vus_max: u32,
    /// VUs retired because they could not start.
    pub vus_retired: u32,
    /// Log lines dropped because the log was full.
    pub log_dropped: u64,
}

/// Seconds since the Unix epoch.
pub(super) fn unix_seconds(time: SystemTime) -> f64 {
    time.duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64()
}

/// A result file created and not yet written to.
#[derive(Debug)]
pub struct ResultFile {
    path: PathBuf,
    out: BufWriter<File>,
}

/// A result file being written as the run's intervals close.
pub struct ResultWriter {
    path: PathBuf,
    task: tokio::task::JoinHandle<anyhow::Result<BufWriter<File>>>,
}

impl ResultFile {
    /// Creates the file (so a bad path fails before the run starts).
    pub fn create(path: &Path) -> anyhow::Result<Self> {
        let file = File::create(path).with_context(|| format!("cannot create {path:?}"))?;
        Ok(Self {
            path: path.to_owned(),
            out: BufWriter::new(file),
        })
    }

    /// Writes the header of `handle`'s run, then each delta from `deltas` as it arrives.
    pub fn start(
        mut self,
        handle: &RunHandle,
        mut deltas: UnboundedReceiver<IntervalDelta>,
    ) -> anyhow::Result<ResultWriter> {
        let header = Header {
            format: RESULT_VERSION,
            loadwright: env!("CARGO_PKG_VERSION").to_owned(),
            started_at: unix_seconds(handle.started_at()),
            plan: handle.plan().to_document(),
            scenario: handle.scenario().clone(),
        };
        write(&mut self.out, &Record::Header(Box::new(header)))
            .with_context(|| format!("cannot write {:?}", self.path))?;
        let path = self.path.clone();
        let task = tokio::task::spawn_blocking(move || {
            let mut out = self.out;
            while let Some(delta) = deltas.blocking_recv() {
                write(&mut out, &Record::Interval(Box::new(delta)))
                    .with_context(|| format!("cannot write {:?}", self.path))?;
            }
            Ok(out)
        });
        Ok(ResultWriter { path, task })
    }
}

impl ResultWriter {
    /// Waits for the last interval (the run is over), then writes the end record of
    /// `report`'s run.
    pub async fn finish(self, report: &Report) -> anyhow::Result<PathBuf> {
        let mut out = self
            .task
            .await
            .with_context(|| format!("writing {:?} failed", self.path))??;
        let snapshot = &report.snapshot;
        let end = End {
            status: report.status.clone(),
            elapsed: snapshot.elapsed,
            vus: snapshot.vus,
            vus_max: snapshot.vus_max,
            vus_retired: snapshot.vus_retired,
            log_dropped: report.log_dropped,
        };
        write(&mut out, &Record::End(end))
            .and_then(|()| Ok(out.flush()?))
            .with_context(|| format!("cannot write {:?}", self.path))?;
        Ok(self.path)
    }
}

/// Writes `record` as one line, flushed: a run that dies leaves every interval before.
fn write(out: &mut BufWriter<File>, record: &Record) -> anyhow::Result<()> {
    serde_json::to_writer(&mut *out, record)?;
    out.write_all(b"\n")?;
    out.flush()?;
    Ok(())
}
