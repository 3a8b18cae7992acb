//! The client's request and response types, independent of the guest bindings.

use std::time::Duration;

use bytes::Bytes;
use http::Method;
use url::Url;

/// Which statuses count as success.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExpectedStatuses(Vec<(u16, u16)>);

impl ExpectedStatuses {
    /// Statuses in any of the inclusive `ranges`; no range means 200 to 399.
    pub fn new(ranges: Vec<(u16, u16)>) -> Self {
        Self(ranges)
    }

    /// Whether `status` is expected.
    pub fn contains(&self, status: u16) -> bool {
        if self.0.is_empty() {
            return (200..400).contains(&status);
        }
        self.0
            .iter()
            .any(|&(min, max)| (min..=max).contains(&status))
    }
}

/// A request ready to send: the URL is absolute and parsed.
#[derive(Debug, Clone)]
pub struct Request {
    /// Method.
    pub method: Method,
    /// Absolute `http` URL.
    pub url: Url,
    /// Header fields in order.
    pub headers: Vec<(String, String)>,
    /// Body, empty for none.
    pub body: Bytes,
    /// Timeout of the whole exchange, redirects included.
    pub timeout: Duration,
    /// Statuses that count as success.
    pub expected: ExpectedStatuses,
    /// Most redirects to follow.
    pub max_redirects: u32,
    /// Count the body without keeping it.
    pub discard_body: bool,
}

/// The HTTP version a response came over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Protocol {
    /// HTTP/1.0.
    Http10,
    /// HTTP/1.1.
    Http11,
    /// HTTP/2.
    Http2,
    /// HTTP/3.
    Http3,
}

impl Protocol {
    pub(crate) fn from_version(version: http::Version) -> Self {
        match version {
            http::Version::HTTP_10 | http::Version::HTTP_09 => Self::Http10,
            http::Version::HTTP_2 => Self::Http2,
            http::Version::HTTP_3 => Self::Http3,
            _ => Self::Http11,
        }
    }
}

/// How long each phase of a request took (k6's names, plus DNS).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Timings {
    /// Waiting for a connection slot.
    pub blocked: Duration,
    /// Name resolution.
    pub dns: Duration,
    /// TCP connect.
    pub connecting: Duration,
    /// TLS handshake.
    pub tls_handshaking: Duration,
    /// Writing the request.
    pub sending: Duration,
    /// Request written to first response byte.
    pub waiting: Duration,
    /// Reading the body.
    pub receiving: Duration,
}

impl Timings {
    /// `sending + waiting + receiving`: k6's `http_req_duration`.
    pub fn duration(&self) -> Duration {
        self.sending + self.waiting + self.receiving
    }
}

/// A response with its measurements.
#[derive(Debug, Clone)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Whether the status was expected.
    pub ok: bool,
    /// Header fields, names in lower case.
    pub headers: Vec<(String, String)>,
    /// The body (empty when discarded).
    pub body: Bytes,
    /// Body bytes received on the wire.
    pub body_size: u64,
    /// Final URL, after redirects.
    pub url: Url,
    /// Redirects followed.
    pub redirects: u32,
    /// Protocol of the final response.
    pub protocol: Protocol,
    /// Timings of the final hop.
    pub timings: Timings,
    /// Whether the final hop reused a kept-alive connection.
    pub connection_reused: bool,
    /// Bytes written for all hops (request lines, headers, bodies).
    pub bytes_sent: u64,
    /// Bytes read for all hops (status lines, headers, bodies).
    pub bytes_received: u64,
}
