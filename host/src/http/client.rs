//! Sends requests over connections it opens and times itself.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use http::Method;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use url::{Host, Url};

use super::connect;
use super::connection::{Conn, Origin};
use super::egress::Egress;
use super::error::{ErrorKind, HttpError};
use super::request::{Protocol, Request, Response, Timings};
use super::session::Session;

/// Settings of a run's client.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Time allowed to establish a TCP connection.
    pub connect_timeout: Duration,
    /// Largest body handed to a guest; larger ones fail with `body-too-large`.
    pub max_body_bytes: usize,
    /// `User-Agent` sent when the request has none.
    pub user_agent: String,
    /// What requests may reach.
    pub egress: Egress,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            max_body_bytes: 16 << 20,
            user_agent: concat!("loadwright/", env!("CARGO_PKG_VERSION")).to_owned(),
            egress: Egress::open(),
        }
    }
}

/// The HTTP client of a run, shared by its VUs; each VU brings its own [`Session`].
#[derive(Debug, Clone)]
pub struct Client {
    options: Arc<ClientOptions>,
    /// `options.user_agent`, validated once; cloning it is a reference count.
    user_agent: http::HeaderValue,
}

/// One request-response exchange on one connection.
struct Hop {
    status: u16,
    headers: Vec<(String, String)>,
    body: Bytes,
    body_size: u64,
    protocol: Protocol,
    timings: Timings,
    reused: bool,
    sent: u64,
    received: u64,
}

impl Client {
    /// A client with `options`.
    pub fn new(options: ClientOptions) -> Self {
        let user_agent = http::HeaderValue::from_str(&options.user_agent)
            .unwrap_or_else(|_| http::HeaderValue::from_static("loadwright"));
        Self {
            options: Arc::new(options),
            user_agent,
        }
    }

    /// Sends `request` with `session`'s connections and cookies, following redirects, within
    /// the request's timeout.
    pub async fn send(
        &self,
        session: &mut Session,
        request: Request,
    ) -> Result<Response, HttpError> {
        let timeout = request.timeout;
        match tokio::time::timeout(timeout, self.follow(session, request)).await {
            Ok(result) => result,
            Err(_) => Err(HttpError::new(
                ErrorKind::Timeout,
                format!("no complete response within {timeout:?}"),
            )),
        }
    }

    /// Sends `requests` concurrently, each on its own connection, and returns the results in
    /// order. Cookies set by any response are kept in `session`.
    pub async fn batch(
        &self,
        session: &mut Session,
        requests: Vec<Request>,
    ) -> Vec<Result<Response, HttpError>> {
        let count = requests.len();
        // A JoinSet aborts the exchanges still running if the VU is cut mid-batch.
        let mut tasks = tokio::task::JoinSet::new();
        for (index, request) in requests.into_iter().enumerate() {
            let mut local = Session::new();
            local.cookies = session.cookies.fork();
            if let Ok(origin) = Origin::of(&request.url)
                && let Some(conn) = session.connections.checkout(&origin)
            {
                local.connections.checkin(origin, conn);
            }
            let client = self.clone();
            tasks.spawn(async move {
                let result = client.send(&mut local, request).await;
                (index, result, local)
            });
        }
        let mut results: Vec<Option<Result<Response, HttpError>>> =
            (0..count).map(|_| None).collect();
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok((index, result, mut local)) => {
                    session.cookies.join(local.cookies);
                    for (origin, conn) in local.connections.drain() {
                        session.connections.checkin(origin, conn);
                    }
                    results[index] = Some(result);
                }
                Err(err) => tracing::error!("a batched request task failed: {err}"),
            }
        }
        results
            .into_iter()
            .map(|r| {
                r.unwrap_or_else(|| {
                    Err(HttpError::new(
                        ErrorKind::Other,
                        "the request's task failed",
                    ))
                })
            })
            .collect()
    }

    async fn follow(
        &self,
        session: &mut Session,
        mut request: Request,
    ) -> Result<Response, HttpError> {
        let (mut sent, mut received, mut redirects) = (0, 0, 0);
        loop {
            // Boxed: the exchange's state (1 KiB) is in flight only during the exchange; inline,
            // every request's future would be that much larger where it is built, on the VU's
            // fiber stack.
            let hop = Box::pin(self.exchange(session, &request)).await?;
            sent += hop.sent;
            received += hop.received;
            let location = is_redirect(hop.status)
                .then(|| header(&hop.headers, "location"))
                .flatten();
            if let (Some(location), true) = (location, request.max_redirects > 0) {
                if redirects >= request.max_redirects {
                    return Err(HttpError::new(
                        ErrorKind::TooManyRedirects,
                        format!("stopped after {redirects} redirects, at {}", request.url),
                    ));
                }
                let next = request.url.join(location).map_err(|err| {
                    HttpError::new(
                        ErrorKind::Protocol,
                        format!("bad redirect {location:?}: {err}"),
                    )
                })?;
                redirects += 1;
                // 303, and 301/302 after a POST, turn into a GET without body, as browsers do.
                if hop.status == 303
                    || (matches!(hop.status, 301 | 302) && request.method == Method::POST)
                {
                    request.method = Method::GET;
                    request.body = Bytes::new();
                }
                request.url = next;
                continue;
            }
            return Ok(Response {
                status: hop.status,
                ok: request.expected.contains(hop.status),
                headers: hop.headers,
                body: hop.body,
                body_size: hop.body_size,
                url: request.url,
                redirects,
                protocol: hop.protocol,
                timings: hop.timings,
                connection_reused: hop.reused,
                bytes_sent: sent,
                bytes_received: received,
            });
        }
    }

    /// One exchange; a kept-alive connection the server closed meanwhile is retried once on a
    /// fresh connection, as browsers do.
    async fn exchange(&self, session: &mut Session, request: &Request) -> Result<Hop, HttpError> {
        let origin = Origin::of(&request.url)?;
        let cookie = session.cookies.header_for(&origin.host);
        let mut pooled = session.connections.checkout(&origin);
        loop {
            let reused = pooled.is_some();
            let (conn, timings) = match pooled.take() {
                Some(conn) => (conn, Timings::default()),
                None => connect::open(self.options.clone(), origin.clone()).await?,
            };
            let hyper_request = self.build(request, &origin, cookie.as_deref())?;
            // Boxed for the same reason as the exchange: its state lives only while in flight.
            let roundtrip =
                self.roundtrip(conn, hyper_request, request.discard_body, timings, reused);
            match Box::pin(roundtrip).await {
                Ok((hop, conn)) => {
                    for (name, value) in &hop.headers {
                        if name == "set-cookie" {
                            session.cookies.store(&origin.host, value);
                        }
                    }
                    session.connections.checkin(origin, conn);
                    return Ok(hop);
                }
                Err(err)
                    if reused && err.kind == ErrorKind::Reset && request.method.is_idempotent() =>
                {
                    continue;
                }
                Err(err) => return Err(err),
            }
        }
    }

    fn build(
        &self,
        request: &Request,
        origin: &Origin,
        cookie: Option<&str>,
    ) -> Result<hyper::Request<Full<Bytes>>, HttpError> {
        let invalid = |err: &dyn std::fmt::Display| {
            HttpError::new(ErrorKind::InvalidRequest, err.to_string())
        };
        let path = &request.url[url::Position::BeforePath..url::Position::AfterQuery];
        let mut builder = hyper::Request::builder()
            .method(request.method.clone())
            .uri(path);
        let (mut has_host, mut has_agent) = (false, false);
        for (name, value) in &request.headers {
            has_host |= name.eq_ignore_ascii_case("host");
            has_agent |= name.eq_ignore_ascii_case("user-agent");
            builder = builder.header(name.as_str(), value.as_str());
        }
        if !has_host {
            let host = match request.url.port() {
                Some(port) => format!("{}:{port}", request.url.host_str().unwrap_or(&origin.host)),
                None => request.url.host_str().unwrap_or(&origin.host).to_owned(),
            };
            builder = builder.header(http::header::HOST, host);
        }
        if !has_agent {
            builder = builder.header(http::header::USER_AGENT, self.user_agent.clone());
        }
        if let Some(cookie) = cookie {
            builder = builder.header(http::header::COOKIE, cookie);
        }
        builder
            .body(Full::new(request.body.clone()))
            .map_err(|err| invalid(&err))
    }

    async fn roundtrip(
        &self,
        mut conn: Conn,
        request: hyper::Request<Full<Bytes>>,
        discard_body: bool,
        mut timings: Timings,
        reused: bool,
    ) -> Result<(Hop, Conn), HttpError> {
        let waited = Instant::now();
        conn.sender
            .ready()
            .await
            .map_err(|err| HttpError::from_hyper(&err))?;
        timings.blocked = waited.elapsed();
        let before = conn.meter.mark();
        let started = Instant::now();
        let response = conn
            .sender
            .send_request(request)
            .await
            .map_err(|err| HttpError::from_hyper(&err))?;
        let headers_at = Instant::now();
        let status = response.status().as_u16();
        let protocol = Protocol::from_version(response.version());
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect();
        let (body, body_size) = self.read_body(response.into_body(), discard_body).await?;
        let done = Instant::now();
        let written = conn
            .meter
            .last_write()
            .filter(|&t| t >= started)
            .unwrap_or(started);
        let first_byte = conn
            .meter
            .first_read()
            .filter(|&t| t >= written)
            .unwrap_or(headers_at);
        timings.sending = written - started;
        timings.waiting = first_byte - written;
        timings.receiving = done.saturating_duration_since(first_byte);
        let after = conn.meter.reading();
        let hop = Hop {
            status,
            headers,
            body,
            body_size,
            protocol,
            timings,
            reused,
            sent: after.written - before.written,
            received: after.read - before.read,
        };
        Ok((hop, conn))
    }

    async fn read_body(
        &self,
        mut body: Incoming,
        discard: bool,
    ) -> Result<(Bytes, u64), HttpError> {
        let limit = self.options.max_body_bytes;
        let mut size = 0u64;
        let mut kept = BytesMut::new();
        let mut first: Option<Bytes> = None;
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|err| HttpError::from_hyper(&err))?;
            let Ok(data) = frame.into_data() else {
                continue;
            };
            size += data.len() as u64;
            if discard {
                continue;
            }
            if size > limit as u64 {
                return Err(HttpError::new(
                    ErrorKind::BodyTooLarge,
                    format!("response body is over the {limit} bytes handed to guests"),
                ));
            }
            // A body in one frame (the common case) is kept without copying.
            match first.take() {
                None if kept.is_empty() => first = Some(data),
                None => kept.extend_from_slice(&data),
                Some(previous) => {
                    kept.extend_from_slice(&previous);
                    kept.extend_from_slice(&data);
                }
            }
        }
        let body = first.unwrap_or_else(|| kept.freeze());
        Ok((body, size))
    }
}

impl Origin {
    pub(crate) fn of(url: &Url) -> Result<Self, HttpError> {
        let scheme = url.scheme();
        if scheme != "http" {
            return Err(HttpError::new(
                ErrorKind::InvalidRequest,
                format!(
                    "{url}: only http:// URLs are supported so far (https arrives with TLS support)"
                ),
            ));
        }
        let host = match url.host() {
            Some(Host::Domain(domain)) => domain.to_owned(),
            Some(Host::Ipv4(ip)) => ip.to_string(),
            Some(Host::Ipv6(ip)) => ip.to_string(),
            None => {
                return Err(HttpError::new(
                    ErrorKind::InvalidRequest,
                    format!("{url}: no host"),
                ));
            }
        };
        let port = url.port_or_known_default().unwrap_or(80);
        Ok(Self {
            scheme: scheme.to_owned(),
            host,
            port,
        })
    }
}

fn is_redirect(status: u16) -> bool {
    matches!(status, 301 | 302 | 303 | 307 | 308)
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}
