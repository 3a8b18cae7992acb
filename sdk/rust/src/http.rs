//! HTTP requests, sent and measured by the host.
//!
//! Build a request with [`get`], [`post`], ... chain options, then [`Request::send`] it.
//! Relative URLs (`/login`) resolve against the run's base URL (`host run --host`).

use std::cell::OnceCell;
use std::fmt;
use std::ops::{Bound, RangeBounds};
use std::time::Duration;

use crate::__bindings::loadwright::scenario::http as wit;
use crate::__bindings::loadwright::scenario::types::Tag;

pub use wit::{ErrorKind, Protocol, Timings};

/// A request being built.
#[derive(Debug, Clone)]
#[must_use = "a request does nothing until it is sent"]
pub struct Request {
    inner: wit::Request,
}

/// Starts a request with `method` to `url`.
pub fn request(method: &str, url: impl Into<String>) -> Request {
    Request {
        inner: wit::Request {
            method: method.to_owned(),
            url: url.into(),
            headers: Vec::new(),
            body: Vec::new(),
            name: None,
            timeout: None,
            tags: Vec::new(),
            expected_statuses: Vec::new(),
            max_redirects: None,
            discard_body: false,
            decompress: true,
        },
    }
}

/// Starts a `GET` request.
pub fn get(url: impl Into<String>) -> Request {
    request("GET", url)
}

/// Starts a `POST` request.
pub fn post(url: impl Into<String>) -> Request {
    request("POST", url)
}

/// Starts a `PUT` request.
pub fn put(url: impl Into<String>) -> Request {
    request("PUT", url)
}

/// Starts a `PATCH` request.
pub fn patch(url: impl Into<String>) -> Request {
    request("PATCH", url)
}

/// Starts a `DELETE` request.
pub fn delete(url: impl Into<String>) -> Request {
    request("DELETE", url)
}

/// Starts a `HEAD` request.
pub fn head(url: impl Into<String>) -> Request {
    request("HEAD", url)
}

impl Request {
    /// Sets the stats name (default: the path without the query string).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.inner.name = Some(name.into());
        self
    }

    /// Adds a header field.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.inner.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.inner.body = body.into();
        self
    }

    /// Sets a JSON body and its `content-type`.
    #[cfg(feature = "json")]
    pub fn json<T: serde::Serialize + ?Sized>(mut self, value: &T) -> Self {
        // Serializing plain data into a Vec cannot fail; a failing Serialize impl sends `null`.
        self.inner.body = serde_json::to_vec(value).unwrap_or_else(|_| b"null".to_vec());
        self.header("content-type", "application/json")
    }

    /// Sets the timeout of the whole exchange (default: the run's, 60 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.inner.timeout = Some(timeout.as_nanos() as u64);
        self
    }

    /// Adds a tag to the request's samples.
    pub fn tag(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.inner.tags.push(Tag {
            key: key.into(),
            value: value.into(),
        });
        self
    }

    /// Counts statuses in `range` as success (call again to add ranges). By default 200–399
    /// succeed; a status outside the expected ones is a failure in the stats.
    pub fn expect_status(mut self, range: impl RangeBounds<u16>) -> Self {
        let min = match range.start_bound() {
            Bound::Included(&s) => s,
            Bound::Excluded(&s) => s.saturating_add(1),
            Bound::Unbounded => 0,
        };
        let max = match range.end_bound() {
            Bound::Included(&e) => e,
            Bound::Excluded(&e) => e.saturating_sub(1),
            Bound::Unbounded => u16::MAX,
        };
        self.inner
            .expected_statuses
            .push(wit::StatusRange { min, max });
        self
    }

    /// Follows at most `max` redirects (0: none).
    pub fn max_redirects(mut self, max: u32) -> Self {
        self.inner.max_redirects = Some(max);
        self
    }

    /// Counts the response body without copying it into the guest.
    pub fn discard_body(mut self) -> Self {
        self.inner.discard_body = true;
        self
    }

    /// Whether to ask for a compressed response (`Accept-Encoding: gzip, deflate, br`, unless
    /// the request sets its own) and decode it before handing it over, as browsers do. On by
    /// default; the bytes received are counted as they came over the wire either way.
    pub fn decompress(mut self, decompress: bool) -> Self {
        self.inner.decompress = decompress;
        self
    }

    /// Sends the request and waits for the response.
    pub fn send(self) -> Result<Response, HttpError> {
        wit::send(&self.inner)
            .map(Response::from)
            .map_err(HttpError::from)
    }
}

/// Sends `requests` concurrently and returns their results in order.
pub fn batch(requests: impl IntoIterator<Item = Request>) -> Vec<Result<Response, HttpError>> {
    let requests: Vec<wit::Request> = requests.into_iter().map(|r| r.inner).collect();
    wit::batch(&requests)
        .into_iter()
        .map(|r| r.map(Response::from).map_err(HttpError::from))
        .collect()
}

/// Forgets this VU's cookies.
pub fn clear_cookies() {
    wit::clear_cookies();
}

/// A response.
#[derive(Debug, Clone)]
pub struct Response {
    inner: wit::Response,
    /// The header block split into pairs, the first time [`Response::headers`] asks.
    fields: OnceCell<Vec<(String, String)>>,
}

impl From<wit::Response> for Response {
    fn from(inner: wit::Response) -> Self {
        Self {
            inner,
            fields: OnceCell::new(),
        }
    }
}

/// The `(name, value)` lines of a header block (`name: value\r\n` each), in order.
fn header_lines(block: &str) -> impl Iterator<Item = (&str, &str)> {
    // Split by characters: a search for one byte is cheaper than one for a string.
    block.split_terminator('\n').filter_map(|line| {
        let (name, value) = line.strip_suffix('\r')?.split_once(':')?;
        Some((name, value.strip_prefix(' ').unwrap_or(value)))
    })
}

impl Response {
    /// Status code.
    pub fn status(&self) -> u16 {
        self.inner.status
    }

    /// Whether the status was expected (what the stats counted as success).
    pub fn is_ok(&self) -> bool {
        self.inner.ok
    }

    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        header_lines(&self.inner.headers)
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// All header fields in order, names in lower case. The host sends them as one block of
    /// text; it is split into pairs the first time this is called.
    pub fn headers(&self) -> &[(String, String)] {
        self.fields.get_or_init(|| {
            header_lines(&self.inner.headers)
                .map(|(n, v)| (n.to_owned(), v.to_owned()))
                .collect()
        })
    }

    /// The body.
    pub fn bytes(&self) -> &[u8] {
        &self.inner.body
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.inner.body).into_owned()
    }

    /// The body parsed as JSON.
    #[cfg(feature = "json")]
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(&self.inner.body)
    }

    /// Body size on the wire, even when discarded.
    pub fn body_size(&self) -> u64 {
        self.inner.body_size
    }

    /// The final URL, after redirects.
    pub fn url(&self) -> &str {
        &self.inner.url
    }

    /// Redirects followed.
    pub fn redirects(&self) -> u32 {
        self.inner.redirects
    }

    /// The HTTP version used.
    pub fn protocol(&self) -> Protocol {
        self.inner.protocol
    }

    /// The timing breakdown (nanoseconds).
    pub fn timings(&self) -> &Timings {
        &self.inner.timings
    }

    /// `http_req_duration` of this request.
    pub fn duration(&self) -> Duration {
        Duration::from_nanos(self.inner.timings.duration)
    }

    /// Whether the request reused a kept-alive connection.
    pub fn connection_reused(&self) -> bool {
        self.inner.connection_reused
    }

    /// Whether the connection's TLS session was resumed rather than new (false for plain
    /// HTTP).
    pub fn tls_resumed(&self) -> bool {
        self.inner.tls_resumed
    }

    /// An error if the status was not expected, to fail the iteration with `?`.
    pub fn error_for_status(self) -> Result<Self, HttpError> {
        if self.inner.ok {
            Ok(self)
        } else {
            Err(HttpError {
                kind: ErrorKind::Other,
                message: format!(
                    "unexpected status {} from {}",
                    self.inner.status, self.inner.url
                ),
            })
        }
    }
}

/// Why a request got no response.
#[derive(Debug, Clone)]
pub struct HttpError {
    /// The failure's kind, a stable key in the stats.
    pub kind: ErrorKind,
    /// What happened.
    pub message: String,
}

impl From<wit::HttpError> for HttpError {
    fn from(err: wit::HttpError) -> Self {
        Self {
            kind: err.kind,
            message: err.message,
        }
    }
}

impl HttpError {
    /// The kind's stable name, as the stats show it (`connect-refused`).
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            ErrorKind::Denied => "denied",
            ErrorKind::InvalidRequest => "invalid-request",
            ErrorKind::Dns => "dns",
            ErrorKind::ConnectRefused => "connect-refused",
            ErrorKind::ConnectTimeout => "connect-timeout",
            ErrorKind::TlsCertificate => "tls-certificate",
            ErrorKind::TlsHandshake => "tls-handshake",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Reset => "reset",
            ErrorKind::Protocol => "protocol",
            ErrorKind::BodyTooLarge => "body-too-large",
            ErrorKind::TooManyRedirects => "too-many-redirects",
            ErrorKind::TooManyRequests => "too-many-requests",
            ErrorKind::Other => "other",
        }
    }
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind_name(), self.message)
    }
}

impl std::error::Error for HttpError {}
