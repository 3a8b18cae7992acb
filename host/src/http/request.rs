//! The client's request and response types, independent of the guest bindings.

use std::time::Duration;

use bytes::Bytes;
use http::Method;
use url::Url;

use super::TlsVersion;
use super::headers::HeaderBlock;

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
    /// Absolute `http` or `https` URL.
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
    /// Ask for a compressed response and decode it (gzip, deflate, br).
    pub decompress: bool,
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
    /// The protocol's name, as the stats and the `proto` tag write it (`HTTP/1.1`, `HTTP/2`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Http10 => "HTTP/1.0",
            Self::Http11 => "HTTP/1.1",
            Self::Http2 => "HTTP/2",
            Self::Http3 => "HTTP/3",
        }
    }

    /// The protocol's place in [`Protocol::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// Every protocol, in order.
    pub const ALL: [Self; 4] = [Self::Http10, Self::Http11, Self::Http2, Self::Http3];
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

/// What the TLS handshake of a response's connection gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TlsInfo {
    /// The version negotiated.
    pub version: TlsVersion,
    /// Whether the session was resumed (an abbreviated handshake) rather than new.
    pub resumed: bool,
}

/// A response with its measurements.
#[derive(Debug, Clone)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Whether the status was expected.
    pub ok: bool,
    /// Header fields, names in lower case.
    pub headers: HeaderBlock,
    /// The body (empty when discarded).
    pub body: Bytes,
    /// Body bytes received on the wire.
    pub body_size: u64,
    /// Final URL, after redirects, as text: the guest receives it so, and a `Url` is 64 bytes
    /// more to move with every response.
    pub url: String,
    /// Redirects followed.
    pub redirects: u32,
    /// Protocol of the final response.
    pub protocol: Protocol,
    /// Timings of the final hop.
    pub timings: Timings,
    /// Whether the final hop reused a kept-alive connection.
    pub connection_reused: bool,
    /// The TLS session of the final hop's connection (`None` for plain HTTP).
    pub tls: Option<TlsInfo>,
    /// Bytes written for all hops (request lines, headers, bodies).
    pub bytes_sent: u64,
    /// Bytes read for all hops (status lines, headers, bodies).
    pub bytes_received: u64,
}
