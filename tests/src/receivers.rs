//! Receivers of the observability outputs for tests: a real Prometheus (Debian's package,
//! `scripts/setup.sh --observability`) with its remote-write receiver, and an OTLP/HTTP
//! receiver that decodes each export with the OpenTelemetry project's own protobuf types.
//! Each listens on loopback and is stopped when dropped.

use std::convert::Infallible;
use std::net::{SocketAddr, TcpListener as StdListener};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use tokio::net::TcpListener;

/// A free loopback port (bound, then let go).
fn free_port() -> u16 {
    let listener = StdListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local addr").port()
}

/// A Prometheus server with its remote-write receiver, on a loopback port, storing in a
/// temporary folder.
pub struct Prometheus {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Prometheus {
    /// Starts Prometheus, with native histograms if `native`, and waits until it is ready.
    pub fn start(native: bool) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = dir.path().join("prometheus.yml");
        std::fs::write(&config, "global:\n  scrape_interval: 15s\n").expect("write config");
        let port = free_port();
        let mut command = Command::new("prometheus");
        command
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--web.enable-remote-write-receiver")
            .stdout(Stdio::null())
            .stderr(Stdio::from(
                std::fs::File::create(dir.path().join("log")).expect("log file"),
            ));
        if native {
            command.arg("--enable-feature=native-histograms");
        }
        let child = command.spawn().unwrap_or_else(|e| {
            panic!(
                "cannot start prometheus ({e}): these tests need Debian's prometheus package; \
                 run scripts/setup.sh --observability"
            )
        });
        let prometheus = Self {
            child,
            port,
            _dir: dir,
        };
        prometheus.wait_ready();
        prometheus
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let ready = format!("{}/-/ready", self.url());
        while Instant::now() < deadline {
            if ureq::get(&ready).call().is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("prometheus did not get ready in 30 s: {}", self.log());
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Its remote-write endpoint.
    pub fn write_url(&self) -> String {
        format!("{}/api/v1/write", self.url())
    }

    /// What it logged.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self._dir.path().join("log")).unwrap_or_default()
    }

    /// Prometheus' whole answer to the instant query `promql` now (`status`, `data`).
    pub fn query_answer(&self, promql: &str) -> serde_json::Value {
        let url = format!("{}/api/v1/query", self.url());
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let mut answer = agent
            .get(&url)
            .query("query", promql)
            .call()
            .unwrap_or_else(|e| panic!("query {promql}: {e}"));
        answer.body_mut().read_json().expect("JSON answer")
    }

    /// The value of the instant query `promql` now, if it has one sample.
    pub fn query(&self, promql: &str) -> Option<f64> {
        let body = self.query_answer(promql);
        let result = body["data"]["result"].as_array()?;
        let [sample] = result.as_slice() else {
            return None;
        };
        sample["value"][1].as_str()?.parse().ok()
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How an [`OtlpReceiver`] answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// At once, with 200.
    Promptly,
    /// After this long, with 200.
    After(Duration),
}

/// An OTLP/HTTP metrics receiver keeping every export it decoded.
pub struct OtlpReceiver {
    addr: SocketAddr,
    exports: Arc<Mutex<Vec<ExportMetricsServiceRequest>>>,
    headers: Arc<Mutex<Option<hyper::HeaderMap>>>,
    task: tokio::task::JoinHandle<()>,
}

impl OtlpReceiver {
    /// Starts a receiver on a free loopback port.
    pub async fn start(answer: Answer) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let exports = Arc::new(Mutex::new(Vec::new()));
        let headers = Arc::new(Mutex::new(None));
        let shared = (exports.clone(), headers.clone());
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let shared = shared.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                        let (exports, headers) = shared.clone();
                        *headers.lock().expect("headers lock") = Some(req.headers().clone());
                        async move { Ok::<_, Infallible>(receive(req, &exports, answer).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self {
            addr,
            exports,
            headers,
            task,
        }
    }

    /// The value of header field `name` of the last request, if it had one.
    pub fn last_header(&self, name: &str) -> Option<String> {
        let headers = self.headers.lock().expect("headers lock");
        let value = headers.as_ref()?.get(name)?;
        value.to_str().ok().map(str::to_owned)
    }

    /// Its metrics endpoint, `http://127.0.0.1:PORT/v1/metrics`.
    pub fn url(&self) -> String {
        format!("http://{}/v1/metrics", self.addr)
    }

    /// Every export decoded so far, in arrival order.
    pub fn exports(&self) -> Vec<ExportMetricsServiceRequest> {
        self.exports.lock().expect("exports lock").clone()
    }
}

impl Drop for OtlpReceiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn receive(
    req: hyper::Request<hyper::body::Incoming>,
    exports: &Mutex<Vec<ExportMetricsServiceRequest>>,
    answer: Answer,
) -> hyper::Response<Full<Bytes>> {
    let respond = |status: u16, body: &'static str| {
        let mut response = hyper::Response::new(Full::new(Bytes::from_static(body.as_bytes())));
        *response.status_mut() = hyper::StatusCode::from_u16(status).expect("status");
        response
    };
    if let Answer::After(delay) = answer {
        tokio::time::sleep(delay).await;
    }
    let content_type = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    if req.uri().path() != "/v1/metrics" || content_type != "application/x-protobuf" {
        return respond(415, "POST protobuf to /v1/metrics");
    }
    let Ok(body) = req.into_body().collect().await else {
        return respond(400, "body cut");
    };
    match <ExportMetricsServiceRequest as prost::Message>::decode(body.to_bytes()) {
        Ok(export) => {
            exports.lock().expect("exports lock").push(export);
            respond(200, "")
        }
        Err(_) => respond(400, "not an ExportMetricsServiceRequest"),
    }
}
