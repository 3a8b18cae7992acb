//! An HTTP target for tests: listens on 127.0.0.1:0, answers every request with 200 and
//! records each request's path and query, in arrival order.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// A running recording target; stops accepting when dropped.
pub struct Recorder {
    addr: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Recorder {
    /// Starts a target on a free loopback port.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let recorded = log.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let recorded = recorded.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                        let target = req
                            .uri()
                            .path_and_query()
                            .map(|pq| pq.to_string())
                            .unwrap_or_default();
                        recorded.lock().expect("log lock").push(target);
                        async {
                            Ok::<_, Infallible>(hyper::Response::new(Full::new(
                                Bytes::from_static(b"ok"),
                            )))
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self { addr, log, task }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request seen, as `path?query`, in order.
    pub fn requests(&self) -> Vec<String> {
        self.log.lock().expect("log lock").clone()
    }

    /// How many requests had a path equal to `path` (query ignored).
    pub fn count(&self, path: &str) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.split('?').next() == Some(path))
            .count()
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.task.abort();
    }
}
