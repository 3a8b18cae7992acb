//! The built-in demo target: a small HTTP shop on loopback, so a newcomer can see a real run
//! without a server of their own (`host run ... --target-demo`, or `host target`).
//!
//! Routes: `GET /` (a greeting), `POST /login` (sets a `session` cookie, returns a token),
//! `GET /items`, `GET /items/{id}` (1 to 10), `POST /cart` (needs the session cookie: 201, or
//! 401 without it), `GET /slow?ms=N` (answers after N ms, at most 10 s), `GET /status/{code}`,
//! and `GET /_target/stats` (the number of requests served, itself not counted).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// A running demo target.
pub struct DemoTarget {
    addr: SocketAddr,
    requests: Arc<AtomicU64>,
    shutdown: watch::Sender<bool>,
}

impl DemoTarget {
    /// Serves on `addr` (port 0 picks a free port) until dropped or shut down.
    pub async fn start(addr: SocketAddr) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let requests = Arc::new(AtomicU64::new(0));
        let (shutdown, stopped) = watch::channel(false);
        tokio::spawn(accept(listener, requests.clone(), stopped));
        Ok(Self {
            addr,
            requests,
            shutdown,
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its base URL, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Requests served so far (`/_target/stats` excluded).
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Stops accepting connections and closes the open ones.
    pub fn shutdown(&self) {
        self.shutdown.send_replace(true);
    }
}

impl Drop for DemoTarget {
    fn drop(&mut self) {
        self.shutdown();
    }
}

async fn accept(
    listener: TcpListener,
    requests: Arc<AtomicU64>,
    mut stopped: watch::Receiver<bool>,
) {
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(_) => continue,
            },
            _ = stopped.wait_for(|s| *s) => return,
        };
        let _ = stream.set_nodelay(true);
        let requests = requests.clone();
        let mut stopped = stopped.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| handle(req, requests.clone()));
            let conn = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                _ = conn => {}
                _ = stopped.wait_for(|s| *s) => {}
            }
        });
    }
}

fn reply(status: StatusCode, content_type: &str, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    if let Ok(value) = content_type.parse() {
        response
            .headers_mut()
            .insert(hyper::header::CONTENT_TYPE, value);
    }
    response
}

fn item_json(id: u64) -> String {
    format!(
        r#"{{"id":{id},"name":"item {id}","price":{}.{:02}}}"#,
        3 + id * 2,
        (id * 37) % 100
    )
}

async fn handle(
    req: Request<Incoming>,
    requests: Arc<AtomicU64>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_owned();
    if path == "/_target/stats" {
        let body = format!(r#"{{"requests":{}}}"#, requests.load(Ordering::Relaxed));
        return Ok(reply(StatusCode::OK, "application/json", body));
    }
    requests.fetch_add(1, Ordering::Relaxed);
    let method = req.method().clone();
    let query = req.uri().query().unwrap_or_default().to_owned();
    let has_session = req
        .headers()
        .get_all(hyper::header::COOKIE)
        .iter()
        .any(|v| v.to_str().is_ok_and(|c| c.contains("session=")));
    // Read the body so the connection stays usable for the next request.
    let _ = req.into_body().collect().await;
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let response = match (&method, segments.as_slice()) {
        (&Method::GET, [""]) => reply(
            StatusCode::OK,
            "text/plain",
            "hello from the Loadwright demo target\n",
        ),
        (&Method::POST, ["login"]) => {
            let n = requests.load(Ordering::Relaxed);
            let mut response = reply(
                StatusCode::OK,
                "application/json",
                format!(r#"{{"token":"t{n}"}}"#),
            );
            if let Ok(cookie) = format!("session=s{n}; Path=/; HttpOnly").parse() {
                response
                    .headers_mut()
                    .insert(hyper::header::SET_COOKIE, cookie);
            }
            response
        }
        (&Method::GET, ["items"]) => {
            let items: Vec<String> = (1..=10).map(item_json).collect();
            reply(
                StatusCode::OK,
                "application/json",
                format!("[{}]", items.join(",")),
            )
        }
        (&Method::GET, ["items", id]) => match id.parse::<u64>() {
            Ok(id @ 1..=10) => reply(StatusCode::OK, "application/json", item_json(id)),
            _ => reply(StatusCode::NOT_FOUND, "text/plain", "no such item\n"),
        },
        (&Method::POST, ["cart"]) if has_session => {
            reply(StatusCode::CREATED, "application/json", r#"{"ok":true}"#)
        }
        (&Method::POST, ["cart"]) => {
            reply(StatusCode::UNAUTHORIZED, "text/plain", "log in first\n")
        }
        (&Method::GET, ["slow"]) => {
            let ms = query
                .split('&')
                .find_map(|kv| kv.strip_prefix("ms="))
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(100)
                .min(10_000);
            tokio::time::sleep(Duration::from_millis(ms)).await;
            reply(StatusCode::OK, "text/plain", "slow\n")
        }
        (&Method::GET, ["status", code]) => {
            let status = code
                .parse::<u16>()
                .ok()
                .and_then(|c| StatusCode::from_u16(c).ok());
            match status {
                Some(status) => reply(status, "text/plain", format!("{}\n", status.as_u16())),
                None => reply(StatusCode::BAD_REQUEST, "text/plain", "bad status\n"),
            }
        }
        _ => reply(StatusCode::NOT_FOUND, "text/plain", "not found\n"),
    };
    Ok(response)
}
