//! The observability outputs: a run's figures pushed, at every stats interval, where teams
//! already look: an OpenTelemetry collector (`otlp=URL`) or a Prometheus remote-write
//! receiver (`prometheus-rw=URL`).
//!
//! Every batch carries the run's **cumulative** figures (counters and histograms since the
//! start), so a batch lost to a slow or absent receiver loses a point in time, never a
//! request: the next batch carries it. Sending never slows the run: each output has a queue
//! of [`QUEUE_BATCHES`]; when it is full the oldest batch is dropped (and counted), and a
//! receiver that fails is counted and not retried. The last batch is sent when the run ends.
//!
//! # Layout
//!
//! - `queue`: the bounded, never-blocking queue of batches.
//! - `otlp`: OTLP/HTTP protobuf encoding (exponential histograms).
//! - `remote_write`: Prometheus remote write 1.0 (native and classic histograms).
//! - `prometheus`: Prometheus names and classic buckets, shared with the server's
//!   `/metrics`.

#[cfg(test)]
mod dashboard_tests;
mod otlp;
pub mod prometheus;
mod queue;
mod remote_write;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use http::Method;
use url::Url;

use crate::http::{Client, ClientOptions, Egress, Request, Session};
use crate::run::RunHandle;
use crate::stats::Exposition;
use crate::timer::Timer;
use queue::Queue;

/// Batches an output holds while its receiver is busy; past that the oldest is dropped.
pub const QUEUE_BATCHES: usize = 8;

/// Time one batch is given to be sent.
const SEND_TIMEOUT: Duration = Duration::from_secs(5);

/// Time the outputs are given, once the run is over, to send what they hold.
const FINISH_TIMEOUT: Duration = Duration::from_secs(10);

/// A protocol a run's figures are pushed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Protocol {
    /// OTLP metrics over HTTP, protobuf.
    Otlp,
    /// Prometheus remote write 1.0.
    PrometheusRw,
}

impl Protocol {
    /// The name `--out` and the server's runs use.
    pub fn name(self) -> &'static str {
        match self {
            Self::Otlp => "otlp",
            Self::PrometheusRw => "prometheus-rw",
        }
    }

    /// The protocol called `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Otlp, Self::PrometheusRw]
            .into_iter()
            .find(|p| p.name() == name)
    }
}

/// One output a run pushes to.
#[derive(Clone, PartialEq, Eq)]
pub struct Export {
    /// Its protocol.
    pub protocol: Protocol,
    /// Where batches are sent, without credentials.
    pub url: Url,
    /// Header fields sent with every batch (credentials among them).
    headers: Vec<(String, String)>,
}

impl std::fmt::Debug for Export {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(name, _)| name.as_str()).collect();
        f.debug_struct("Export")
            .field("protocol", &self.protocol)
            .field("url", &self.url.as_str())
            .field("headers", &names)
            .finish()
    }
}

impl Export {
    /// An output of `protocol` at `url` (`http` or `https`). An OTLP URL without a path gets
    /// OTLP/HTTP's `/v1/metrics`. Credentials in the URL (`https://user:key@host/…`) are
    /// sent as basic authentication and kept out of the URL shown.
    pub fn new(protocol: Protocol, url: &str) -> Result<Self, String> {
        let mut url = Url::parse(url).map_err(|e| format!("{url:?} is not a URL: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("{url} is not an http or https URL"));
        }
        if protocol == Protocol::Otlp && url.path() == "/" {
            url.set_path("/v1/metrics");
        }
        let mut headers = Vec::new();
        if !url.username().is_empty() || url.password().is_some() {
            let user = percent_decoded(url.username());
            let password = percent_decoded(url.password().unwrap_or_default());
            let credentials = BASE64.encode(format!("{user}:{password}"));
            headers.push(("authorization".to_owned(), format!("Basic {credentials}")));
            let _ = url.set_username("");
            let _ = url.set_password(None);
        }
        Ok(Self {
            protocol,
            url,
            headers,
        })
    }

    /// Adds header fields from `NAME=VALUE,NAME=VALUE` (OpenTelemetry's
    /// `OTEL_EXPORTER_OTLP_HEADERS` form, values percent-encoded).
    pub fn with_headers(mut self, list: &str) -> Result<Self, String> {
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (name, value) = entry
                .split_once('=')
                .ok_or_else(|| format!("header {entry:?} is not NAME=VALUE"))?;
            let name = name.trim().to_ascii_lowercase();
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic() && b != b':') {
                return Err(format!("header name {name:?} is not a header field name"));
            }
            self.headers.push((name, percent_decoded(value.trim())));
        }
        Ok(self)
    }
}

/// `text` with its `%XX` escapes decoded (left as it is where they make no UTF-8).
fn percent_decoded(text: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", text.replace('+', "%2B")).as_bytes())
        .next()
        .map_or_else(|| text.to_owned(), |(_, value)| value.into_owned())
}

/// What the figures are labelled with: the run and its scenario.
#[derive(Debug, Clone)]
pub struct RunLabels {
    /// The run's id (the server's, or one `host run` makes up).
    pub run: String,
    /// The scenario's name.
    pub scenario: String,
    /// When the run started: the start of every cumulative figure.
    pub started_at: SystemTime,
}

/// How one output fared.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportReport {
    /// `otlp` or `prometheus-rw`.
    pub output: &'static str,
    /// Its receiver.
    pub url: String,
    /// Batches the receiver took.
    pub sent: u64,
    /// Batches it refused, or that could not reach it.
    pub failed: u64,
    /// Batches dropped unsent: the queue was full, or the run ended before they went.
    pub dropped: u64,
    /// The last failure, if any.
    pub last_error: Option<String>,
}

impl std::fmt::Display for ExportReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {} batches sent, {} failed, {} dropped",
            self.output, self.url, self.sent, self.failed, self.dropped
        )?;
        if let Some(error) = &self.last_error {
            write!(f, " (last failure: {error})")?;
        }
        Ok(())
    }
}

/// The observability outputs of one run, fed from its intervals.
pub struct Exporters {
    outputs: Vec<(Export, Arc<Queue>, tokio::task::JoinHandle<ExportReport>)>,
    feeder: tokio::task::JoinHandle<()>,
}

impl Exporters {
    /// Starts pushing `handle`'s figures to each of `exports`, through a client bound by
    /// `egress`. Nothing is sent before the first interval closes.
    pub fn start(
        exports: &[Export],
        handle: &RunHandle,
        labels: RunLabels,
        egress: Egress,
    ) -> anyhow::Result<Self> {
        let client = Client::new(ClientOptions {
            egress,
            ..ClientOptions::default()
        })
        .map_err(anyhow::Error::msg)?;
        let labels = Arc::new(labels);
        let mut outputs = Vec::new();
        for export in exports {
            let queue = Arc::new(Queue::new(QUEUE_BATCHES));
            let sender = Sender {
                export: export.clone(),
                client: client.clone(),
                labels: labels.clone(),
                queue: queue.clone(),
            };
            outputs.push((export.clone(), queue, tokio::spawn(sender.run())));
        }
        let queues = outputs.iter().map(|(_, queue, _)| queue.clone()).collect();
        let feeder = tokio::spawn(feed(handle.clone(), queues));
        Ok(Self { outputs, feeder })
    }

    /// Waits (at most 10 s) for the last batch of the ended run to be sent;
    /// how each output fared.
    pub async fn finish(self) -> Vec<ExportReport> {
        let _ = self.feeder.await;
        let deadline = tokio::time::Instant::now() + FINISH_TIMEOUT;
        let mut reports = Vec::new();
        for (export, queue, mut sender) in self.outputs {
            match tokio::time::timeout_at(deadline, &mut sender).await {
                Ok(Ok(report)) => reports.push(report),
                _ => {
                    sender.abort();
                    reports.push(queue.abandoned(export.protocol.name(), &export.url));
                }
            }
        }
        reports
    }
}

/// Queues the run's figures at each closed interval, and once more at its end.
async fn feed(handle: RunHandle, queues: Vec<Arc<Queue>>) {
    let mut intervals = handle.subscribe();
    loop {
        match intervals.recv().await {
            Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
            Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
        }
        if let Some(figures) = take(&handle).await {
            queues.iter().for_each(|queue| queue.push(figures.clone()));
        }
    }
    let last = take(&handle).await;
    for queue in &queues {
        if let Some(figures) = &last {
            queue.push(figures.clone());
        }
        queue.close();
    }
}

/// The run's figures now, taken off the runtime's workers (it walks every histogram);
/// `None` if that failed (the runtime is going away).
async fn take(handle: &RunHandle) -> Option<Arc<Exposition>> {
    let handle = handle.clone();
    tokio::task::spawn_blocking(move || handle.exposition())
        .await
        .ok()
        .map(Arc::new)
}

/// One output's sending loop.
struct Sender {
    export: Export,
    client: Client,
    labels: Arc<RunLabels>,
    queue: Arc<Queue>,
}

/// A batch encoded for its protocol: the body and its content headers.
struct Encoded {
    body: Vec<u8>,
    headers: Vec<(String, String)>,
}

impl Sender {
    async fn run(self) -> ExportReport {
        let mut session = Session::new();
        let mut timer = Timer::new();
        let mut native = true;
        while let Some(figures) = self.queue.pop().await {
            let mut outcome = self.send(&mut session, &mut timer, &figures, native).await;
            if native
                && self.export.protocol == Protocol::PrometheusRw
                && matches!(&outcome, Err(e) if remote_write::refused_native(e))
            {
                // The receiver keeps no native histograms: classic buckets from now on.
                native = false;
                outcome = self.send(&mut session, &mut timer, &figures, native).await;
            }
            self.queue.settle(outcome);
        }
        self.queue
            .report(self.export.protocol.name(), &self.export.url)
    }

    fn encode(&self, figures: &Exposition, native: bool) -> Encoded {
        match self.export.protocol {
            Protocol::Otlp => otlp::encode(figures, &self.labels),
            Protocol::PrometheusRw => remote_write::encode(figures, &self.labels, native),
        }
    }

    async fn send(
        &self,
        session: &mut Session,
        timer: &mut Timer,
        figures: &Exposition,
        native: bool,
    ) -> Result<(), String> {
        let encoded = self.encode(figures, native);
        let mut headers = encoded.headers;
        headers.extend(self.export.headers.iter().cloned());
        let request = Request {
            method: Method::POST,
            url: self.export.url.clone(),
            headers,
            body: Bytes::from(encoded.body),
            timeout: SEND_TIMEOUT,
            expected: Default::default(),
            max_redirects: 0,
            discard_body: false,
            decompress: false,
        };
        let response = self
            .client
            .send(session, timer, request)
            .await
            .map_err(|e| e.to_string())?;
        match response.status {
            200..=299 => Ok(()),
            status => {
                let body = String::from_utf8_lossy(&response.body);
                let body = body.trim();
                let body: String = body.chars().take(300).collect();
                Err(format!("{status} {body}"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_leave_the_url_for_a_header() {
        let export = Export::new(Protocol::PrometheusRw, "https://user:s%40cret@rw.test/push")
            .expect("export");
        assert_eq!(export.url.as_str(), "https://rw.test/push");
        // base64 of "user:s@cret"
        let basic = (
            "authorization".to_owned(),
            "Basic dXNlcjpzQGNyZXQ=".to_owned(),
        );
        assert_eq!(export.headers, [basic]);
        assert!(!format!("{export:?}").contains("dXNlcjpzQGNyZXQ"));
    }

    #[test]
    fn header_lists_are_name_value_pairs() {
        let export = Export::new(Protocol::Otlp, "http://127.0.0.1:4318")
            .and_then(|e| e.with_headers("api-key=a%20b, X-Tenant=acme"))
            .expect("export");
        assert_eq!(export.url.path(), "/v1/metrics");
        let expected = [("api-key", "a b"), ("x-tenant", "acme")];
        let got: Vec<_> = export
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        assert_eq!(got, expected);
        let broken = Export::new(Protocol::Otlp, "http://127.0.0.1:4318")
            .and_then(|e| e.with_headers("no-value"));
        assert!(broken.is_err());
    }
}
