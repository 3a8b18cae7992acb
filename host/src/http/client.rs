//! Sends requests over connections it opens and times itself.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::FutureExt;
use http::Method;
use url::{Host, Url};

use super::body::BodyPolicy;
use super::connect::Connector;
use super::connection::{Conn, Link, Origin};
use super::decode::{Coding, decode};
use super::dns::Resolve;
use super::egress::Egress;
use super::error::{ErrorKind, HttpError};
use super::h1::Head;
use super::h2;
use super::headers::HeaderBlock;
use super::pool::{ConnectionPolicy, SharedPool};
use super::request::{Protocol, Request, Response, Timings, TlsInfo};
use super::session::Session;
use super::tls::TlsSettings;
use crate::timer::{Expired, Timer};

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
    /// Trusted CAs, client certificates, resumption and versions for `https`.
    pub tls: TlsSettings,
    /// Offer HTTP/2 to `https` servers by ALPN.
    pub http2: bool,
    /// Speak HTTP/2 to `http` servers without asking (h2c with prior knowledge).
    pub h2c: bool,
    /// Whose connections a request may use.
    pub policy: ConnectionPolicy,
    /// With the `shared` policy, the most connections in use per host (0: no cap).
    pub max_connections_per_host: u32,
    /// How long resolved names are kept (zero: resolve for every connection).
    pub dns_ttl: Duration,
    /// Addresses given instead of resolving.
    pub resolve: Vec<Resolve>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            max_body_bytes: 16 << 20,
            user_agent: concat!("loadwright/", env!("CARGO_PKG_VERSION")).to_owned(),
            egress: Egress::open(),
            tls: TlsSettings::default(),
            http2: true,
            h2c: false,
            policy: ConnectionPolicy::PerVu,
            max_connections_per_host: 0,
            dns_ttl: Duration::from_secs(300),
            resolve: Vec::new(),
        }
    }
}

/// The HTTP client of a run, shared by its VUs; each VU brings its own [`Session`].
#[derive(Debug, Clone)]
pub struct Client {
    connector: Arc<Connector>,
    /// The run's pool, under the `shared` policy.
    shared: Option<Arc<SharedPool>>,
    /// `options.user_agent`, validated once; cloning it is a reference count.
    user_agent: http::HeaderValue,
}

/// One request-response exchange on one connection.
struct Hop {
    status: u16,
    headers: HeaderBlock,
    body: Bytes,
    body_size: u64,
    protocol: Protocol,
    timings: Timings,
    reused: bool,
    tls: Option<TlsInfo>,
    sent: u64,
    received: u64,
}

impl Client {
    /// A client with `options`. Builds the TLS configurations once; fails, naming the
    /// setting, when a certificate or key in them is unusable.
    pub fn new(options: ClientOptions) -> Result<Self, String> {
        let user_agent = http::HeaderValue::from_str(&options.user_agent)
            .unwrap_or_else(|_| http::HeaderValue::from_static("loadwright"));
        let shared = (options.policy == ConnectionPolicy::Shared)
            .then(|| Arc::new(SharedPool::new(options.max_connections_per_host)));
        Ok(Self {
            connector: Arc::new(Connector::new(options)?),
            shared,
            user_agent,
        })
    }

    /// Sends `request` with `session`'s connections and cookies, following redirects, within
    /// the request's timeout, which runs on `timer`.
    ///
    /// Not an `async fn`: one would keep the request in its state beside the exchange that
    /// owns it, and this future is copied into a box at every request.
    pub fn send<'a>(
        &'a self,
        session: &'a mut Session,
        timer: &'a mut Timer,
        request: Request,
    ) -> impl Future<Output = Result<Response, HttpError>> + Send + 'a {
        let timeout = request.timeout;
        timer
            .within(timeout, self.follow(session, request))
            .map(move |result| {
                result.unwrap_or_else(|Expired| {
                    Err(HttpError::new(
                        ErrorKind::Timeout,
                        format!("no complete response within {timeout:?}"),
                    ))
                })
            })
    }

    /// Sends `requests` concurrently and returns the results in order: HTTP/1.1 requests each
    /// on a connection of its own, HTTP/2 ones on the VU's connection together. Cookies set by
    /// any response are kept in `session`.
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
            if let Ok(origin) = session.origin(&request.url)
                && let Some(conn) = session.connections.checkout(&origin)
            {
                local.connections.checkin(origin, conn);
            }
            let client = self.clone();
            tasks.spawn(async move {
                let mut timer = Timer::new();
                let result = client.send(&mut local, &mut timer, request).await;
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
                .then(|| hop.headers.get("location"))
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
                url: request.url.into(),
                redirects,
                protocol: hop.protocol,
                timings: hop.timings,
                connection_reused: hop.reused,
                tls: hop.tls,
                bytes_sent: sent,
                bytes_received: received,
            });
        }
    }

    /// One exchange, on a connection the policy allows: a kept-alive one the server closed
    /// meanwhile is retried once on a fresh connection, as browsers do.
    async fn exchange(&self, session: &mut Session, request: &Request) -> Result<Hop, HttpError> {
        let origin = session.origin(&request.url)?;
        let cookie = session.cookies.header_for(&origin.host);
        // Only the shared pool makes a request wait for a connection; a VU's own never does.
        let (_slot, blocked) = match &self.shared {
            Some(pool) => {
                let waited = Instant::now();
                let slot = pool.slot(&origin).await?;
                (slot, waited.elapsed())
            }
            None => (None, Duration::ZERO),
        };
        let mut pooled = self.checkout(session, &origin);
        loop {
            let reused = pooled.is_some();
            let (mut conn, mut timings) = match pooled.take() {
                Some(conn) => (conn, Timings::default()),
                None => self.connector.open(origin.clone()).await?,
            };
            timings.blocked = blocked;
            // Inline: the exchange is boxed already, and its own state is mostly this one's.
            match self
                .roundtrip(&mut conn, request, cookie.as_deref(), &mut timings, reused)
                .await
            {
                Ok(hop) => {
                    for value in hop.headers.all("set-cookie") {
                        session.cookies.store(&origin.host, value);
                    }
                    self.checkin(session, origin, conn);
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

    /// A kept-alive connection to `origin` the policy lets this request use, if any.
    fn checkout(&self, session: &mut Session, origin: &Origin) -> Option<Conn> {
        match self.connector.options.policy {
            ConnectionPolicy::PerVu => session.connections.checkout(origin),
            ConnectionPolicy::Shared => self.shared.as_ref()?.idle().checkout(origin),
            ConnectionPolicy::None => None,
        }
    }

    /// Keeps `conn` for later requests, as the policy says.
    fn checkin(&self, session: &mut Session, origin: Origin, conn: Conn) {
        match (self.connector.options.policy, &self.shared) {
            (ConnectionPolicy::PerVu, _) => session.connections.checkin(origin, conn),
            (ConnectionPolicy::Shared, Some(pool)) => pool.idle().checkin(origin, conn),
            _ => {}
        }
    }

    /// The request's exchange on `conn`, with the bytes it moved and the body decoded when
    /// asked.
    async fn roundtrip(
        &self,
        conn: &mut Conn,
        request: &Request,
        cookie: Option<&str>,
        timings: &mut Timings,
        reused: bool,
    ) -> Result<Hop, HttpError> {
        let policy = BodyPolicy {
            discard: request.discard_body,
            limit: self.connector.options.max_body_bytes,
            head_request: request.method == Method::HEAD,
        };
        let answer = match &mut conn.link {
            Link::H1(h1) => {
                let url = &request.url;
                let head = Head {
                    method: request.method.as_str(),
                    target: &url[url::Position::BeforePath..url::Position::AfterQuery],
                    // Host and port as the URL has them (no default port, IPv6 bracketed).
                    host: &url[url::Position::BeforeHost..url::Position::AfterPort],
                    headers: &request.headers,
                    user_agent: self.user_agent.as_bytes(),
                    cookie,
                    accept_encoding: request.decompress,
                    close: self.connector.options.policy == ConnectionPolicy::None,
                    body_len: request.body.len(),
                };
                h1.exchange(&head, &request.body, policy).await?
            }
            Link::H2(h2) => {
                let extra = self.extra_fields(request, cookie)?;
                h2.exchange(request, &extra, &conn.meter, policy).await?
            }
        };
        // A new connection's handshakes count with the request it was opened for.
        let moved = conn.meter.take();
        timings.sending = answer.sending;
        timings.waiting = answer.waiting;
        timings.receiving = answer.receiving;
        let body = match (
            request.decompress && !request.discard_body,
            coding(&answer.headers),
        ) {
            (true, Some(coding)) => decode(coding, &answer.body, policy.limit)?,
            _ => answer.body,
        };
        Ok(Hop {
            status: answer.status,
            headers: answer.headers,
            body,
            body_size: answer.body_size,
            protocol: answer.protocol,
            timings: *timings,
            reused,
            tls: conn.tls,
            sent: moved.written,
            received: moved.read,
        })
    }

    /// The fields the client adds to an HTTP/2 request: user agent, cookie, accepted
    /// encodings.
    fn extra_fields(
        &self,
        request: &Request,
        cookie: Option<&str>,
    ) -> Result<Vec<(http::HeaderName, http::HeaderValue)>, HttpError> {
        let mut extra = vec![(http::header::USER_AGENT, self.user_agent.clone())];
        if let Some(cookie) = cookie {
            let value = http::HeaderValue::from_str(cookie)
                .map_err(|err| HttpError::new(ErrorKind::InvalidRequest, err.to_string()))?;
            extra.push((http::header::COOKIE, value));
        }
        if request.decompress {
            extra.push(h2::accept_encoding());
        }
        Ok(extra)
    }
}

/// The coding of a response's `content-encoding`, if the client decodes it.
fn coding(headers: &HeaderBlock) -> Option<Coding> {
    headers.get("content-encoding").and_then(Coding::of)
}

impl Origin {
    pub(crate) fn of(url: &Url) -> Result<Self, HttpError> {
        let scheme = match url.scheme() {
            "http" => "http",
            "https" => "https",
            _ => {
                return Err(HttpError::new(
                    ErrorKind::InvalidRequest,
                    format!("{url}: only http:// and https:// URLs can be requested"),
                ));
            }
        };
        let host: Arc<str> = match url.host() {
            Some(Host::Domain(domain)) => domain.into(),
            Some(Host::Ipv4(ip)) => ip.to_string().into(),
            Some(Host::Ipv6(ip)) => ip.to_string().into(),
            None => {
                return Err(HttpError::new(
                    ErrorKind::InvalidRequest,
                    format!("{url}: no host"),
                ));
            }
        };
        let port = url.port_or_known_default().unwrap_or(80);
        Ok(Self { scheme, host, port })
    }
}

fn is_redirect(status: u16) -> bool {
    matches!(status, 301 | 302 | 303 | 307 | 308)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::net::TcpListener;

    fn request() -> Request {
        Request {
            method: Method::GET,
            url: Url::parse("http://127.0.0.1:9/").unwrap(),
            headers: Vec::new(),
            body: Bytes::new(),
            timeout: Duration::from_secs(1),
            expected: crate::http::ExpectedStatuses::new(Vec::new()),
            max_redirects: 0,
            discard_body: false,
            decompress: false,
        }
    }

    /// Answers each connection's first request, kept alive as far as the head says, then
    /// closes the connection; counts the connections.
    async fn answer_once_then_close(listener: TcpListener, connections: Arc<AtomicUsize>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut socket, _)) = listener.accept().await {
            connections.fetch_add(1, Ordering::Relaxed);
            tokio::spawn(async move {
                let (mut head, mut chunk) = (Vec::new(), [0u8; 1024]);
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&chunk[..n]),
                    }
                }
                let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
                let _ = socket.write_all(answer).await;
            });
        }
    }

    #[tokio::test]
    async fn a_kept_alive_connection_the_server_closed_while_idle_is_not_reused() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
        let connections = Arc::new(AtomicUsize::new(0));
        tokio::spawn(answer_once_then_close(listener, connections.clone()));
        let client = Client::new(ClientOptions::default()).unwrap();
        let (mut session, mut timer) = (Session::new(), Timer::new());
        for _ in 0..3 {
            // A POST is not retried after a reset: it is answered only if the closed
            // connection was noticed before it was sent.
            let post = Request {
                method: Method::POST,
                url: url.clone(),
                ..request()
            };
            let response = client.send(&mut session, &mut timer, post).await;
            let response = response.expect("answered on a new connection");
            assert_eq!(response.status, 200);
            assert!(!response.connection_reused);
            // Time for the server's close to reach the client's reactor.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(connections.load(Ordering::Relaxed), 3);
    }

    #[tokio::test]
    async fn a_sent_request_is_held_once_in_its_future() {
        let client = Client::new(ClientOptions::default()).unwrap();
        let (mut session, mut timer) = (Session::new(), Timer::new());
        let follow = std::mem::size_of_val(&client.follow(&mut session, request()));
        let send = std::mem::size_of_val(&client.send(&mut session, &mut timer, request()));
        // The exchange (which owns the request) under a timeout: not a second request, not
        // the exchange twice. It is copied into a box (the posted exchange) at every request.
        assert!(
            send < follow + 64,
            "{send} bytes to send, {follow} for the exchange"
        );
    }
}
