//! An HTTP target for tests: listens on 127.0.0.1:0, answers every request with 200 (`ok`,
//! or N bytes for `/big?bytes=N`) and records each request's path and query and when it
//! arrived, in arrival order. It can be told to stall: requests arriving in a time window
//! are answered only when it ends.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

#[derive(Default)]
struct State {
    /// `(path?query, arrival)`, in arrival order.
    log: Vec<(String, Instant)>,
    /// Requests arriving in `[from, until)` are answered at `until`.
    stall: Option<(Instant, Instant)>,
}

/// A running recording target; stops accepting when dropped.
pub struct Recorder {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Recorder {
    /// Starts a target on a free loopback port.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let shared = shared.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                        let target = req
                            .uri()
                            .path_and_query()
                            .map(|pq| pq.to_string())
                            .unwrap_or_default();
                        // `/big?bytes=N` answers N bytes; everything else `ok`.
                        let body = match target.strip_prefix("/big?bytes=") {
                            Some(n) => Bytes::from(vec![b'x'; n.parse().unwrap_or(0)]),
                            None => Bytes::from_static(b"ok"),
                        };
                        let now = Instant::now();
                        let stall_until = {
                            let mut state = shared.lock().expect("state lock");
                            state.log.push((target, now));
                            state
                                .stall
                                .filter(|(from, until)| (*from..*until).contains(&now))
                                .map(|(_, until)| until)
                        };
                        async move {
                            if let Some(until) = stall_until {
                                tokio::time::sleep_until(until.into()).await;
                            }
                            Ok::<_, Infallible>(hyper::Response::new(Full::new(body)))
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self { addr, state, task }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Makes requests arriving from `after` from now, for `length`, wait until its end.
    pub fn stall(&self, after: Duration, length: Duration) {
        let from = Instant::now() + after;
        self.state.lock().expect("state lock").stall = Some((from, from + length));
    }

    /// Every request seen, as `path?query`, in order.
    pub fn requests(&self) -> Vec<String> {
        let state = self.state.lock().expect("state lock");
        state.log.iter().map(|(r, _)| r.clone()).collect()
    }

    /// When each request whose path is `path` (query ignored) arrived, in order.
    pub fn arrivals(&self, path: &str) -> Vec<Instant> {
        let state = self.state.lock().expect("state lock");
        state
            .log
            .iter()
            .filter(|(r, _)| r.split('?').next() == Some(path))
            .map(|(_, at)| *at)
            .collect()
    }

    /// How many requests had a path equal to `path` (query ignored).
    pub fn count(&self, path: &str) -> usize {
        self.arrivals(path).len()
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.task.abort();
    }
}
