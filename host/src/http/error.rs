//! Every way a request can fail, as a fixed set of kinds that are stable keys in the stats.

use std::fmt;

/// Why a request produced no response. Mirrors `error-kind` in `wit/http.wit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorKind {
    /// The egress policy refused the target; no socket was opened.
    Denied,
    /// Bad URL, method or header.
    InvalidRequest,
    /// The host name did not resolve.
    Dns,
    /// The target refused the connection.
    ConnectRefused,
    /// The connection was not established in time.
    ConnectTimeout,
    /// The target's certificate was not accepted.
    TlsCertificate,
    /// The TLS handshake failed for another reason.
    TlsHandshake,
    /// The exchange did not complete within its timeout.
    Timeout,
    /// The connection was reset or closed mid-exchange.
    Reset,
    /// The target broke the HTTP protocol.
    Protocol,
    /// The response body exceeded the limit handed to guests.
    BodyTooLarge,
    /// More redirects than allowed.
    TooManyRedirects,
    /// The VU's concurrent-request limit was reached.
    TooManyRequests,
    /// Anything else.
    Other,
}

impl ErrorKind {
    /// The kind's stable name, as in the WIT (`connect-refused`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Denied => "denied",
            Self::InvalidRequest => "invalid-request",
            Self::Dns => "dns",
            Self::ConnectRefused => "connect-refused",
            Self::ConnectTimeout => "connect-timeout",
            Self::TlsCertificate => "tls-certificate",
            Self::TlsHandshake => "tls-handshake",
            Self::Timeout => "timeout",
            Self::Reset => "reset",
            Self::Protocol => "protocol",
            Self::BodyTooLarge => "body-too-large",
            Self::TooManyRedirects => "too-many-redirects",
            Self::TooManyRequests => "too-many-requests",
            Self::Other => "other",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failed request: its kind and a message for people.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct HttpError {
    /// The failure's kind.
    pub kind: ErrorKind,
    /// What happened.
    pub message: String,
}

impl HttpError {
    /// An error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// Classifies an I/O error raised while connecting. Running out of descriptors or of
    /// local ports says what to raise.
    pub(crate) fn from_connect(err: &std::io::Error) -> Self {
        // EMFILE, ENFILE, EADDRNOTAVAIL on Linux.
        match err.raw_os_error() {
            Some(24 | 23) => {
                return Self::new(
                    ErrorKind::Other,
                    format!(
                        "out of file descriptors ({err}): each connection is one; raise the                          open-file limit (ulimit -n; the hard limit with ulimit -Hn or                          LimitNOFILE=), or use fewer connections (connectionPolicy shared)"
                    ),
                );
            }
            Some(99) => {
                return Self::new(
                    ErrorKind::Other,
                    format!(
                        "no free local port ({err}): closed connections hold their port in                          TIME_WAIT for a minute; keep connections alive (connectionPolicy                          per-vu or shared), widen net.ipv4.ip_local_port_range, or spread the                          load over more source addresses"
                    ),
                );
            }
            _ => {}
        }
        let kind = match err.kind() {
            std::io::ErrorKind::ConnectionRefused => ErrorKind::ConnectRefused,
            std::io::ErrorKind::TimedOut => ErrorKind::ConnectTimeout,
            std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::ConnectionAborted => {
                ErrorKind::Reset
            }
            _ => ErrorKind::Other,
        };
        Self::new(kind, format!("connect: {err}"))
    }

    /// Classifies an error hyper raised during an exchange. A TLS alert arriving then (a
    /// server that checks the client certificate after the TLS 1.3 handshake) is a TLS
    /// failure.
    pub(crate) fn from_hyper(err: &hyper::Error) -> Self {
        if let Some(tls) = super::tls::rustls_error(err) {
            return super::tls::classify(tls);
        }
        let kind = if err.is_timeout() {
            ErrorKind::Timeout
        } else if err.is_parse() || err.is_parse_status() || err.is_parse_too_large() {
            ErrorKind::Protocol
        } else if err.is_incomplete_message() || err.is_canceled() || err.is_closed() {
            ErrorKind::Reset
        } else if let Some(io) =
            std::error::Error::source(err).and_then(|s| s.downcast_ref::<std::io::Error>())
        {
            match io.kind() {
                std::io::ErrorKind::ConnectionReset
                | std::io::ErrorKind::ConnectionAborted
                | std::io::ErrorKind::BrokenPipe
                | std::io::ErrorKind::UnexpectedEof => ErrorKind::Reset,
                _ => ErrorKind::Other,
            }
        } else {
            ErrorKind::Protocol
        };
        let mut message = err.to_string();
        if let Some(source) = std::error::Error::source(err) {
            message = format!("{message}: {source}");
        }
        Self::new(kind, message)
    }
}
