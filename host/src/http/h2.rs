//! HTTP/2 by hyper: negotiated by ALPN on `https`, or spoken at once on `http` (h2c). One
//! connection carries the requests of a VU (its batches too) at the same time; hyper's
//! connection task does the socket I/O.

use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http2::SendRequest;
use hyper_util::rt::{TokioExecutor, TokioIo};

use super::body::{Answer, BodyPolicy, Sink};
use super::error::{ErrorKind, HttpError};
use super::h1::ACCEPT_ENCODING;
use super::headers::HeaderBlock;
use super::request::{Protocol, Request};
use super::stream::{Meter, Stream};

/// Header fields HTTP/2 forbids (RFC 9113 8.2.2), or that the connection itself sets.
const CONNECTION_FIELDS: [&str; 7] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
];

/// One HTTP/2 connection: a handle to send on; clones share the connection.
#[derive(Clone)]
pub(crate) struct H2 {
    sender: SendRequest<Full<Bytes>>,
}

impl H2 {
    /// HTTP/2's handshake over `stream`; the connection task runs on its own.
    pub(crate) async fn handshake(stream: Stream) -> Result<Self, HttpError> {
        let (sender, connection) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
                .await
                .map_err(|err| HttpError::from_hyper(&err))?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(Self { sender })
    }

    /// Whether the connection is gone (closed by either side, or failed).
    pub(crate) fn is_closed(&self) -> bool {
        self.sender.is_closed()
    }

    /// Sends `request` with the client's own fields and reads the whole response. `sending`
    /// is the time until the connection last wrote (the request's frames, when it is the
    /// only one in flight), `waiting` until the response head was decoded.
    pub(crate) async fn exchange(
        &mut self,
        request: &Request,
        extra: &[(http::HeaderName, http::HeaderValue)],
        meter: &Meter,
        policy: BodyPolicy,
    ) -> Result<Answer, HttpError> {
        let message = build(request, extra)?;
        self.sender
            .ready()
            .await
            .map_err(|err| HttpError::from_hyper(&err))?;
        let started = Instant::now();
        let response = self
            .sender
            .send_request(message)
            .await
            .map_err(|err| HttpError::from_hyper(&err))?;
        let head_at = Instant::now();
        let written = meter
            .last_write()
            .filter(|at| (started..=head_at).contains(at))
            .unwrap_or(started);
        let status = response.status().as_u16();
        let headers: HeaderBlock = response
            .headers()
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_bytes()))
            .collect();
        let mut sink = Sink::new(policy);
        let mut body = response.into_body();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|err| HttpError::from_hyper(&err))?;
            if let Ok(data) = frame.into_data() {
                sink.push(data)?;
            }
        }
        let done = Instant::now();
        let (body, body_size) = sink.finish();
        Ok(Answer {
            status,
            protocol: Protocol::Http2,
            headers,
            body,
            body_size,
            sending: written - started,
            waiting: head_at - written,
            receiving: done - head_at,
        })
    }
}

/// The request as hyper sends it: the absolute URL (its scheme and authority become the
/// pseudo-header fields), the request's fields without the ones HTTP/2 forbids, then the
/// client's `extra` fields where the request has none of that name.
fn build(
    request: &Request,
    extra: &[(http::HeaderName, http::HeaderValue)],
) -> Result<hyper::Request<Full<Bytes>>, HttpError> {
    let invalid =
        |err: &dyn std::fmt::Display| HttpError::new(ErrorKind::InvalidRequest, err.to_string());
    let mut builder = hyper::Request::builder()
        .method(request.method.clone())
        .version(http::Version::HTTP_2)
        .uri(request.url.as_str());
    let headers = builder.headers_mut().ok_or_else(|| invalid(&"bad URL"))?;
    for (name, value) in &request.headers {
        let name = http::HeaderName::from_bytes(name.as_bytes()).map_err(|e| invalid(&e))?;
        if CONNECTION_FIELDS.contains(&name.as_str()) {
            continue;
        }
        let value = http::HeaderValue::from_str(value).map_err(|e| invalid(&e))?;
        headers.append(name, value);
    }
    for (name, value) in extra {
        if !headers.contains_key(name) {
            headers.insert(name.clone(), value.clone());
        }
    }
    builder
        .body(Full::new(request.body.clone()))
        .map_err(|e| invalid(&e))
}

/// The `accept-encoding` field of a decompressing request.
pub(crate) fn accept_encoding() -> (http::HeaderName, http::HeaderValue) {
    (
        http::header::ACCEPT_ENCODING,
        http::HeaderValue::from_static(ACCEPT_ENCODING),
    )
}
