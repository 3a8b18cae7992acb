//! `loadwright:scenario/http`: requests from the guest, sent natively and recorded.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::future::{self, Either};

use crate::engine::bindings::http::{self as wit, Host};
use crate::engine::state::{HttpHost, Wire};
use crate::http::{ErrorKind, ExpectedStatuses, HttpError, Protocol, Request, Response};
use crate::stats::{ConnectionInfo, Recorder, RequestSample};

use super::metrics::tag_pairs;

/// What the stats need to know of a request besides its outcome.
struct Label {
    method: http::Method,
    name: Arc<str>,
    tags: Vec<(String, String)>,
}

impl HttpHost {
    /// Turns the guest's request into the client's, resolving the URL against the base URL.
    fn prepare(&mut self, request: wit::Request) -> Result<(Request, Label), (HttpError, Label)> {
        let method = parse_method(&request.method);
        let tags = tag_pairs(request.tags);
        // Built only for a refused request: the row it is counted under.
        let invalid = |message: String| {
            let name = request
                .name
                .as_ref()
                .unwrap_or(&request.url)
                .as_str()
                .into();
            let method = method.clone().unwrap_or(http::Method::GET);
            let tags = tags.clone();
            (
                HttpError::new(ErrorKind::InvalidRequest, message),
                Label { method, name, tags },
            )
        };
        let (url, default_name) = match self.urls.resolve(&request.url) {
            Ok(resolved) => resolved,
            Err(url::ParseError::RelativeUrlWithoutBase) => {
                return Err(invalid(format!(
                    "relative URL {:?} needs a base URL: run with --host http://...",
                    request.url
                )));
            }
            Err(err) => return Err(invalid(format!("bad URL {:?}: {err}", request.url))),
        };
        let http_method = method
            .clone()
            .map_err(|()| invalid(format!("bad method {:?}", request.method)))?;
        let header_bytes: usize = request
            .headers
            .iter()
            .map(|(name, value)| name.len() + value.len())
            .sum();
        if request.headers.len() > self.max_request_headers
            || header_bytes > self.max_request_header_bytes
        {
            return Err(invalid(format!(
                "the request has {} header fields of {header_bytes} bytes, over the run's \
                 limits of {} fields (limits.maxRequestHeaders) and {} bytes \
                 (limits.maxRequestHeaderBytes)",
                request.headers.len(),
                self.max_request_headers,
                self.max_request_header_bytes
            )));
        }
        if request.body.len() > self.max_request_bytes {
            return Err(invalid(format!(
                "the request body has {} bytes, over the run's limit of {} (limits.maxRequestBytes)",
                request.body.len(),
                self.max_request_bytes
            )));
        }
        let name = request.name.map_or(default_name, Arc::from);
        let expected = ExpectedStatuses::new(
            request
                .expected_statuses
                .iter()
                .map(|r| (r.min, r.max))
                .collect(),
        );
        let prepared = Request {
            method: http_method,
            url,
            headers: request.headers,
            body: Bytes::from(request.body),
            timeout: request.timeout.map_or(self.timeout, Duration::from_nanos),
            expected,
            max_redirects: request.max_redirects.unwrap_or(self.max_redirects),
            discard_body: request.discard_body,
            decompress: request.decompress,
        };
        let method = prepared.method.clone();
        Ok((prepared, Label { method, name, tags }))
    }

    /// The VU's wire, taken out for an exchange.
    fn take_wire(&mut self) -> Box<Wire> {
        self.wire
            .take()
            .unwrap_or_else(|| Wire::new(self.client.clone()))
    }

    /// The VU's wire: a new one if its last exchange was dropped in flight (a call cut by its
    /// time limit), with new connections and no cookies.
    fn wire(&mut self) -> &mut Wire {
        self.wire
            .get_or_insert_with(|| Wire::new(self.client.clone()))
    }

    /// The expected interval for requests starting now, with latency correction on.
    fn pace(&mut self) -> Option<Duration> {
        let pacing = self.pacing.as_mut()?;
        pacing.observe(Instant::now())
    }
}

/// Records a request's outcome with `recorder`. `start_lag` is how late its iteration
/// started (added to its duration); `expected_interval` is the VU's usual pace when latency
/// correction is on.
fn record(
    recorder: &Recorder,
    start_lag: Duration,
    label: &Label,
    result: &Result<Response, HttpError>,
    expected_interval: Option<Duration>,
) {
    // Only a failure needs a kind; formatting `status-NNN` for every success would cost
    // an allocation per request.
    let status_kind = match result {
        Ok(response) if !response.ok => Some(format!("status-{}", response.status)),
        _ => None,
    };
    let sample = match result {
        Ok(response) => {
            let t = &response.timings;
            RequestSample {
                method: label.method.as_str(),
                name: &label.name,
                status: response.status,
                duration: t.duration() + start_lag,
                phases: Some(t),
                failure: status_kind.as_deref(),
                bytes_sent: response.bytes_sent,
                bytes_received: response.bytes_received,
                body_bytes: response.body_size,
                tags: &label.tags,
                expected_interval,
                connection: Some(ConnectionInfo {
                    protocol: response.protocol,
                    reused: response.connection_reused,
                    tls: response.tls,
                }),
            }
        }
        Err(err) => RequestSample {
            method: label.method.as_str(),
            name: &label.name,
            status: 0,
            duration: Duration::ZERO,
            phases: None,
            failure: Some(err.kind.as_str()),
            bytes_sent: 0,
            bytes_received: 0,
            body_bytes: 0,
            tags: &label.tags,
            expected_interval: None,
            connection: None,
        },
    };
    recorder.request(&sample);
}

/// The method, upper-cased without allocating when it already is (the common case).
fn parse_method(method: &str) -> Result<http::Method, ()> {
    let parsed = if method.bytes().any(|b| b.is_ascii_lowercase()) {
        http::Method::from_bytes(method.to_ascii_uppercase().as_bytes())
    } else {
        http::Method::from_bytes(method.as_bytes())
    };
    parsed.map_err(|_| ())
}

fn to_wit(result: Result<Response, HttpError>) -> Result<wit::Response, wit::HttpError> {
    match result {
        Ok(r) => Ok(wit::Response {
            status: r.status,
            headers: r.headers.into_string(),
            body: r.body.to_vec(),
            body_size: r.body_size,
            url: r.url,
            redirects: r.redirects,
            protocol: match r.protocol {
                Protocol::Http10 => wit::Protocol::Http10,
                Protocol::Http11 => wit::Protocol::Http11,
                Protocol::Http2 => wit::Protocol::Http2,
                Protocol::Http3 => wit::Protocol::Http3,
            },
            timings: wit::Timings {
                blocked: r.timings.blocked.as_nanos() as u64,
                dns: r.timings.dns.as_nanos() as u64,
                connecting: r.timings.connecting.as_nanos() as u64,
                tls_handshaking: r.timings.tls_handshaking.as_nanos() as u64,
                sending: r.timings.sending.as_nanos() as u64,
                waiting: r.timings.waiting.as_nanos() as u64,
                receiving: r.timings.receiving.as_nanos() as u64,
                duration: r.timings.duration().as_nanos() as u64,
            },
            connection_reused: r.connection_reused,
            tls_resumed: r.tls.is_some_and(|tls| tls.resumed),
            ok: r.ok,
        }),
        Err(err) => Err(wit::HttpError {
            kind: match err.kind {
                ErrorKind::Denied => wit::ErrorKind::Denied,
                ErrorKind::InvalidRequest => wit::ErrorKind::InvalidRequest,
                ErrorKind::Dns => wit::ErrorKind::Dns,
                ErrorKind::ConnectRefused => wit::ErrorKind::ConnectRefused,
                ErrorKind::ConnectTimeout => wit::ErrorKind::ConnectTimeout,
                ErrorKind::TlsCertificate => wit::ErrorKind::TlsCertificate,
                ErrorKind::TlsHandshake => wit::ErrorKind::TlsHandshake,
                ErrorKind::Timeout => wit::ErrorKind::Timeout,
                ErrorKind::Reset => wit::ErrorKind::Reset,
                ErrorKind::Protocol => wit::ErrorKind::Protocol,
                ErrorKind::BodyTooLarge => wit::ErrorKind::BodyTooLarge,
                ErrorKind::TooManyRedirects => wit::ErrorKind::TooManyRedirects,
                ErrorKind::TooManyRequests => wit::ErrorKind::TooManyRequests,
                ErrorKind::Other => wit::ErrorKind::Other,
            },
            message: err.message,
        }),
    }
}

impl Host for HttpHost {
    /// Posts the exchange to the VU's outbox, for the VU's task to run (see
    /// `engine::outbox`), and returns a future that waits for it and records it. Not an
    /// `async fn`: one would keep the guest's request and the prepared one in its state, and
    /// wasmtime copies this future into a box at every call.
    fn send(
        &mut self,
        request: wit::Request,
    ) -> impl Future<Output = Result<wit::Response, wit::HttpError>> + Send {
        let (request, label) = match self.prepare(request) {
            Ok(prepared) => prepared,
            Err((err, label)) => {
                let result = Err(err);
                record(&self.recorder, self.start_lag, &label, &result, None);
                return Either::Left(future::ready(to_wit(result)));
            }
        };
        let expected = self.pace();
        let mut wire = self.take_wire();
        // Run by the VU's task, not on this call's fiber (see `engine::outbox`).
        self.outbox.post(Box::pin(async move {
            let result = wire
                .client
                .send(&mut wire.session, &mut wire.timer, request)
                .await;
            (result, wire)
        }));
        Either::Right(async move {
            let (result, wire) = self.outbox.collect().await;
            self.wire = Some(wire);
            record(&self.recorder, self.start_lag, &label, &result, expected);
            to_wit(result)
        })
    }

    async fn batch(
        &mut self,
        requests: Vec<wit::Request>,
    ) -> Vec<Result<wit::Response, wit::HttpError>> {
        let mut results: Vec<Option<Result<Response, HttpError>>> =
            Vec::with_capacity(requests.len());
        let mut labels = Vec::with_capacity(requests.len());
        let mut ready = Vec::new();
        let allowed = self.max_batch;
        for (index, request) in requests.into_iter().enumerate() {
            if index >= allowed {
                // Past the VU's concurrency limit: refused, counted under its own row.
                let label = Label {
                    method: parse_method(&request.method).unwrap_or(http::Method::GET),
                    name: request.name.unwrap_or(request.url).into(),
                    tags: tag_pairs(request.tags),
                };
                let message =
                    format!("a VU may have {allowed} requests in flight at once (limits.maxBatch)");
                labels.push(label);
                results.push(Some(Err(HttpError::new(
                    ErrorKind::TooManyRequests,
                    message,
                ))));
                continue;
            }
            match self.prepare(request) {
                Ok((request, label)) => {
                    ready.push(request);
                    labels.push(label);
                    results.push(None);
                }
                Err((err, label)) => {
                    labels.push(label);
                    results.push(Some(Err(err)));
                }
            }
        }
        let expected = self.pace();
        let wire = self.wire();
        let mut sent = wire
            .client
            .batch(&mut wire.session, ready)
            .await
            .into_iter();
        results
            .into_iter()
            .zip(&labels)
            .map(|(result, label)| {
                let result = result.or_else(|| sent.next()).unwrap_or_else(|| {
                    Err(HttpError::new(ErrorKind::Other, "request lost in batch"))
                });
                record(&self.recorder, self.start_lag, label, &result, expected);
                to_wit(result)
            })
            .collect()
    }

    fn clear_cookies(&mut self) {
        self.wire().session.clear_cookies();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::state::{Identity, InstanceState, RunContext};

    #[tokio::test]
    async fn the_future_wasmtime_boxes_at_every_request_stays_small() {
        let context = RunContext::detached();
        let identity = Identity {
            vu: 1,
            scenario: "s".into(),
        };
        let mut state = InstanceState::new(&context, identity);
        let request = wit::Request {
            method: "GET".into(),
            url: "http://127.0.0.1:9/".into(),
            headers: Vec::new(),
            body: Vec::new(),
            name: None,
            tags: Vec::new(),
            timeout: None,
            expected_statuses: Vec::new(),
            max_redirects: None,
            discard_body: false,
            decompress: false,
        };
        let size = std::mem::size_of_val(&Host::send(&mut state.http, request));
        // The label and room for the response: wasmtime copies this much at every call. An
        // async fn held the guest's request, the prepared request and the exchange, 608
        // bytes.
        assert!(size <= 256, "{size} bytes");
    }
}
