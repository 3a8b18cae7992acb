//! Locust-compatible CSV files (`--out csv=PREFIX`): `PREFIX_stats.csv`,
//! `PREFIX_stats_history.csv`, `PREFIX_failures.csv` and `PREFIX_exceptions.csv`, with
//! exactly Locust's columns, in Locust's order, with its line endings (CRLF, as Python's
//! `csv` module writes them), so existing readers keep working.
//!
//! Two differences, both deliberate: times are exact from the histograms (three significant
//! digits, in milliseconds with decimals) where Locust rounds them to 2 significant digits;
//! and the history's percentiles are those of the stats interval the row closes (Locust's
//! "current" window), where Locust's Aggregated rows repeat the cumulative ones.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::run::Report;
use crate::stats::{IntervalStats, Percentiles, RequestStats};

/// The percentile columns, as Locust names them.
const PERCENTILE_COLUMNS: &str = "50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%";

/// `PREFIX_stats.csv`'s header.
pub fn stats_header() -> String {
    format!(
        "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,\
         Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,\
         {PERCENTILE_COLUMNS}"
    )
}

/// `PREFIX_stats_history.csv`'s header.
pub fn history_header() -> String {
    format!(
        "Timestamp,User Count,Type,Name,Requests/s,Failures/s,{PERCENTILE_COLUMNS},\
         Total Request Count,Total Failure Count,Total Median Response Time,\
         Total Average Response Time,Total Min Response Time,Total Max Response Time,\
         Total Average Content Size"
    )
}

/// `PREFIX_failures.csv`'s header.
pub const FAILURES_HEADER: &str = "Method,Name,Error,Occurrences";

/// `PREFIX_exceptions.csv`'s header.
pub const EXCEPTIONS_HEADER: &str = "Count,Message,Traceback,Nodes";

/// One CSV field, quoted when it must be (as Python's `csv` module does).
fn field(text: &str) -> String {
    if text.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

/// Locust writes `N/A` percentiles for a row without requests.
fn percentiles(out: &mut String, count: u64, values: &Percentiles) {
    for value in values.0 {
        if count == 0 {
            out.push_str(",N/A");
        } else {
            let _ = write!(out, ",{value}");
        }
    }
}

fn stats_row(row: &RequestStats, secs: f64) -> String {
    let d = &row.duration;
    let avg_size = if row.count == 0 {
        0.0
    } else {
        row.body_bytes as f64 / row.count as f64
    };
    let mut out = format!(
        "{},{},{},{},{},{},{},{},{},{},{}",
        field(&row.method),
        field(&row.name),
        row.count,
        row.failures,
        d.p50,
        d.mean,
        d.min,
        d.max,
        avg_size,
        row.count as f64 / secs,
        row.failures as f64 / secs,
    );
    percentiles(&mut out, row.count, &row.percentiles);
    out
}

/// The files of one run, opened at its start (so a bad path fails before the load does);
/// the history is appended at each interval, the others written at the end.
pub struct CsvFiles {
    prefix: PathBuf,
    history: BufWriter<File>,
}

fn create(path: &Path) -> anyhow::Result<BufWriter<File>> {
    let file = File::create(path).with_context(|| format!("cannot create {path:?}"))?;
    Ok(BufWriter::new(file))
}

fn path_with(prefix: &Path, suffix: &str) -> PathBuf {
    let mut name = prefix.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

impl CsvFiles {
    /// Creates `PREFIX_stats_history.csv` with its header (the others come at the end).
    pub fn create(prefix: &Path) -> anyhow::Result<Self> {
        let mut history = create(&path_with(prefix, "_stats_history.csv"))?;
        write!(history, "{}\r\n", history_header())?;
        history.flush()?;
        Ok(Self {
            prefix: prefix.to_owned(),
            history,
        })
    }

    /// Appends the Aggregated row of a closed interval to the history.
    pub fn interval(&mut self, i: &IntervalStats) -> anyhow::Result<()> {
        write!(self.history, "{}\r\n", history_row(i))?;
        // A reader tailing the history sees each interval as it closes.
        self.history.flush()?;
        Ok(())
    }

    /// Writes `PREFIX_stats.csv`, `PREFIX_failures.csv` and `PREFIX_exceptions.csv` from the
    /// final report; returns the paths written.
    pub fn finish(mut self, report: &Report) -> anyhow::Result<Vec<PathBuf>> {
        self.history.flush()?;
        let mut written = Vec::new();
        for (suffix, text) in [
            ("_stats.csv", stats_csv(report)),
            ("_failures.csv", failures_csv(report)),
            ("_exceptions.csv", exceptions_csv(report)),
        ] {
            let path = path_with(&self.prefix, suffix);
            let mut file = create(&path)?;
            file.write_all(text.as_bytes())?;
            file.flush()?;
            written.push(path);
        }
        written.insert(1, path_with(&self.prefix, "_stats_history.csv"));
        Ok(written)
    }
}

/// The history's row for a closed interval (the Aggregated row, as Locust writes it).
pub fn history_row(i: &IntervalStats) -> String {
    let secs = i.length.as_secs_f64().max(1e-9);
    let mut row = format!(
        "{},{},,Aggregated,{:.6},{:.6}",
        i.timestamp as u64,
        i.vus,
        i.requests as f64 / secs,
        i.failures as f64 / secs,
    );
    percentiles(&mut row, i.requests, &i.percentiles);
    let t = &i.total_duration;
    let avg_size = if i.total_requests == 0 {
        0.0
    } else {
        i.total_body_bytes as f64 / i.total_requests as f64
    };
    let _ = write!(
        row,
        ",{},{},{},{},{},{},{}",
        i.total_requests, i.total_failures, t.p50, t.mean, t.min, t.max, avg_size
    );
    row
}

/// `_stats_history.csv` of a whole series.
pub fn history_csv(series: &[IntervalStats]) -> String {
    let mut out = format!("{}\r\n", history_header());
    for interval in series {
        let _ = write!(out, "{}\r\n", history_row(interval));
    }
    out
}

/// `_stats.csv`: a row per request name, then Aggregated.
pub fn stats_csv(report: &Report) -> String {
    let s = &report.snapshot;
    let secs = s.elapsed.as_secs_f64().max(1e-9);
    let mut out = format!("{}\r\n", stats_header());
    for row in s.requests.iter().chain([&s.total]) {
        let _ = write!(out, "{}\r\n", stats_row(row, secs));
    }
    out
}

/// `_failures.csv`: failed requests by method, name and kind.
pub fn failures_csv(report: &Report) -> String {
    let mut out = format!("{FAILURES_HEADER}\r\n");
    for e in &report.snapshot.errors {
        let line = [&e.method, &e.name, &e.kind].map(|f| field(f)).join(",");
        let _ = write!(out, "{line},{}\r\n", e.count);
    }
    out
}

/// `_exceptions.csv`: iteration errors (traps and the guest's own errors).
pub fn exceptions_csv(report: &Report) -> String {
    let mut out = format!("{EXCEPTIONS_HEADER}\r\n");
    for e in &report.snapshot.iteration_errors {
        let traceback = format!("{} in task {}", e.kind, e.task);
        let _ = write!(
            out,
            "{},{},{},local\r\n",
            e.count,
            field(&e.message),
            field(&traceback)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_only_when_needed() {
        assert_eq!(field("/items"), "/items");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }

    #[test]
    fn rows_without_requests_have_na_percentiles() {
        let row = RequestStats {
            name: "Aggregated".into(),
            ..Default::default()
        };
        let line = stats_row(&row, 1.0);
        assert_eq!(line.matches("N/A").count(), 11, "{line}");
        assert_eq!(
            line.split(',').count(),
            stats_header().split(',').count(),
            "one field per column"
        );
    }
}
