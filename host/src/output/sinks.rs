//! `--out KIND=TARGET`: where a run's results go besides the terminal. Files are created
//! when the run starts, so a bad path fails before any load is generated.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use anyhow::Context as _;

use super::csv::CsvFiles;
use super::export::{Export, Exporters, Protocol, RunLabels};
use super::html::html_report;
use super::json::Summary;
use super::result::{ResultFile, ResultWriter};
use crate::http::Egress;
use crate::run::{Report, RunHandle};
use crate::stats::IntervalStats;

/// One `--out` flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputSpec {
    /// `json=FILE`: the end-of-test summary.
    Json(PathBuf),
    /// `csv=PREFIX`: Locust's CSV files.
    Csv(PathBuf),
    /// `ndjson=FILE`: one JSON line per stats interval, as they close.
    Ndjson(PathBuf),
    /// `html=FILE`: the report page, one self-contained file.
    Html(PathBuf),
    /// `result=FILE`: every interval's counters and histograms, for `host report` to merge.
    Result(PathBuf),
    /// `otlp=URL` or `prometheus-rw=URL`: the figures pushed at every interval.
    Export(Export),
}

impl OutputSpec {
    /// Reads `json=FILE`, `csv=PREFIX`, `ndjson=FILE`, `html=FILE`, `result=FILE`,
    /// `otlp=URL` or `prometheus-rw=URL`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let usage = || {
            format!(
                "--out {text:?}: write json=FILE (the summary), csv=PREFIX (Locust's CSV files), \
                 ndjson=FILE (one line per stats interval), html=FILE (the report page), \
                 result=FILE (the mergeable results, for host report), otlp=URL (an \
                 OpenTelemetry collector) or prometheus-rw=URL (a Prometheus remote-write \
                 receiver)"
            )
        };
        let (kind, target) = text.split_once('=').ok_or_else(usage)?;
        if target.is_empty() {
            return Err(usage());
        }
        let export = |protocol| {
            Export::new(protocol, target)
                .map(Self::Export)
                .map_err(|e| format!("--out {text:?}: {e}"))
        };
        if let Some(protocol) = Protocol::from_name(kind) {
            return export(protocol);
        }
        let target = PathBuf::from(target);
        match kind {
            "json" => Ok(Self::Json(target)),
            "csv" => Ok(Self::Csv(target)),
            "ndjson" => Ok(Self::Ndjson(target)),
            "html" => Ok(Self::Html(target)),
            "result" => Ok(Self::Result(target)),
            _ => Err(usage()),
        }
    }
}

/// The open outputs of one run.
#[derive(Default)]
pub struct Outputs {
    json: Vec<PathBuf>,
    csv: Vec<CsvFiles>,
    ndjson: Vec<(PathBuf, BufWriter<File>)>,
    html: Vec<PathBuf>,
    result: Option<ResultFile>,
    writer: Option<ResultWriter>,
    exports: Vec<Export>,
    exporters: Option<Exporters>,
}

impl Outputs {
    /// Opens every output (creating files, so a bad path fails now).
    pub fn open(specs: &[OutputSpec]) -> anyhow::Result<Self> {
        let mut outputs = Self::default();
        for spec in specs {
            match spec {
                OutputSpec::Json(path) => {
                    File::create(path).with_context(|| format!("cannot create {path:?}"))?;
                    outputs.json.push(path.clone());
                }
                OutputSpec::Csv(prefix) => outputs.csv.push(CsvFiles::create(prefix)?),
                OutputSpec::Ndjson(path) => {
                    let file =
                        File::create(path).with_context(|| format!("cannot create {path:?}"))?;
                    outputs.ndjson.push((path.clone(), BufWriter::new(file)));
                }
                OutputSpec::Html(path) => {
                    File::create(path).with_context(|| format!("cannot create {path:?}"))?;
                    outputs.html.push(path.clone());
                }
                OutputSpec::Result(path) => {
                    if outputs.result.is_some() {
                        anyhow::bail!(
                            "--out result={}: a run writes one result file (copy it for more)",
                            path.display()
                        );
                    }
                    outputs.result = Some(ResultFile::create(path)?);
                }
                OutputSpec::Export(export) => outputs.exports.push(with_env_headers(export)?),
            }
        }
        Ok(outputs)
    }

    /// Whether the run must hand on its intervals' deltas (`--out result=FILE`):
    /// [`crate::run::RunOptions::keep_deltas`].
    pub fn keeps_deltas(&self) -> bool {
        self.result.is_some()
    }

    /// Whether any output pushes the figures of a live run (which `host report` has not).
    pub fn pushes(&self) -> bool {
        !self.exports.is_empty()
    }

    /// Starts writing the result file, if any, from `handle`'s run (started with
    /// [`Outputs::keeps_deltas`]), and pushing its figures, labelled with `labels`, to the
    /// observability outputs.
    pub fn follow(&mut self, handle: &RunHandle, labels: RunLabels) -> anyhow::Result<()> {
        if !self.exports.is_empty() {
            let exporters = Exporters::start(&self.exports, handle, labels, Egress::open())?;
            self.exporters = Some(exporters);
        }
        let Some(file) = self.result.take() else {
            return Ok(());
        };
        let deltas = handle
            .take_deltas()
            .context("the run was started without keeping its intervals' deltas")?;
        self.writer = Some(file.start(handle, deltas)?);
        Ok(())
    }

    /// Writes a closed interval to the streaming outputs.
    pub fn interval(&mut self, interval: &IntervalStats) -> anyhow::Result<()> {
        for csv in &mut self.csv {
            csv.interval(interval)?;
        }
        for (path, out) in &mut self.ndjson {
            serde_json::to_writer(&mut *out, interval)
                .map_err(anyhow::Error::from)
                .and_then(|()| {
                    out.write_all(b"\n")?;
                    Ok(out.flush()?)
                })
                .with_context(|| format!("cannot write {path:?}"))?;
        }
        Ok(())
    }

    /// Writes the end-of-test outputs; returns every file written. How each observability
    /// output fared is said on stderr.
    pub async fn finish(self, report: &Report) -> anyhow::Result<Vec<PathBuf>> {
        if let Some(exporters) = self.exporters {
            for fared in exporters.finish().await {
                eprintln!("{fared}");
            }
        }
        let mut written = Vec::new();
        if let Some(writer) = self.writer {
            written.push(writer.finish(report).await?);
        }
        for path in self.json {
            let text = serde_json::to_string_pretty(&Summary::of(report))?;
            std::fs::write(&path, text + "\n").with_context(|| format!("cannot write {path:?}"))?;
            written.push(path);
        }
        for csv in self.csv {
            written.extend(csv.finish(report)?);
        }
        if !self.html.is_empty() {
            let page = html_report(&Summary::of(report), &report.series)?;
            for path in self.html {
                std::fs::write(&path, &page).with_context(|| format!("cannot write {path:?}"))?;
                written.push(path);
            }
        }
        for (path, mut out) in self.ndjson {
            out.flush()
                .with_context(|| format!("cannot write {path:?}"))?;
            written.push(path);
        }
        Ok(written)
    }
}

/// `export` with the header fields OpenTelemetry's exporters take from the environment
/// (`OTEL_EXPORTER_OTLP_METRICS_HEADERS`, else `OTEL_EXPORTER_OTLP_HEADERS`), for OTLP.
fn with_env_headers(export: &Export) -> anyhow::Result<Export> {
    if export.protocol != Protocol::Otlp {
        return Ok(export.clone());
    }
    let variables = [
        "OTEL_EXPORTER_OTLP_METRICS_HEADERS",
        "OTEL_EXPORTER_OTLP_HEADERS",
    ];
    let Some((variable, list)) = variables
        .iter()
        .find_map(|v| std::env::var(v).ok().map(|list| (v, list)))
    else {
        return Ok(export.clone());
    };
    export
        .clone()
        .with_headers(&list)
        .map_err(|e| anyhow::anyhow!("{variable}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_flags_name_kind_and_target() {
        assert_eq!(
            OutputSpec::parse("csv=results/run"),
            Ok(OutputSpec::Csv("results/run".into()))
        );
        assert_eq!(
            OutputSpec::parse("html=report.html"),
            Ok(OutputSpec::Html("report.html".into()))
        );
        assert_eq!(
            OutputSpec::parse("result=part-1.ndjson"),
            Ok(OutputSpec::Result("part-1.ndjson".into()))
        );
        let Ok(OutputSpec::Export(otlp)) = OutputSpec::parse("otlp=http://127.0.0.1:4318") else {
            panic!("otlp=URL is an export");
        };
        assert_eq!(otlp.url.as_str(), "http://127.0.0.1:4318/v1/metrics");
        let Ok(OutputSpec::Export(rw)) =
            OutputSpec::parse("prometheus-rw=http://127.0.0.1:9090/api/v1/write")
        else {
            panic!("prometheus-rw=URL is an export");
        };
        assert_eq!(rw.protocol, Protocol::PrometheusRw);
        assert_eq!(rw.url.path(), "/api/v1/write");
        let err = OutputSpec::parse("otlp=ftp://x").unwrap_err();
        assert!(err.contains("not an http or https URL"), "{err}");
        let err = OutputSpec::parse("xml=a").unwrap_err();
        assert!(err.contains("json=FILE"), "{err}");
        assert!(OutputSpec::parse("json=").is_err());
        assert!(OutputSpec::parse("json").is_err());
    }
}
