//! The native HTTP client: connections it opens, times phase by phase and polices, TLS by
//! rustls, HTTP/1.1 of its own and HTTP/2 by hyper, and a fixed error taxonomy.
//!
//! The client opens its connections itself (the egress check, DNS, TCP, the TLS handshake,
//! then HTTP/2's when ALPN or h2c chose it) so each phase can be measured.
//! A [`ConnectionPolicy`] says whose kept-alive connections a request may use: its VU's
//! [`Session`] (as a user's browser), the run's shared pool, or none. A connection is opened
//! on a task of its own (off the VU's fiber stack); an HTTP/1.1 exchange then runs in the
//! VU's own future, with nothing between it and the socket (`docs/decisions/0003`).
//!
//! # Layout
//!
//! - `client`: [`Client`], [`ClientOptions`]: redirects, timeouts, policies, batches.
//! - `connect`: opening a connection, each phase timed; `dns`: the resolver with its cache
//!   and [`Resolve`] entries; `tls`: [`TlsSettings`] and the rustls configurations.
//! - `stream`: TCP metered (wire bytes) with TLS over it; `connection`: a connection and
//!   the pools of kept-alive ones; `pool`: policies and the shared pool.
//! - `h1`: HTTP/1.1; `h2`: HTTP/2; `body`: bodies on their way to the guest; `headers`:
//!   a response's fields as one block of text; `decode`: gzip, deflate and br.
//! - `egress`, `cookies`, `session`, `request`, `error`: the policy, the VU's cookie jar and
//!   state, the request and response types, the error taxonomy.

mod body;
mod client;
mod connect;
mod connection;
mod cookies;
mod decode;
mod dns;
mod egress;
mod error;
mod h1;
mod h2;
mod headers;
mod pool;
mod request;
mod session;
mod stream;
mod tls;

pub use client::{Client, ClientOptions};
pub use dns::Resolve;
pub use egress::{Egress, EgressPolicy, Rule};
pub use error::{ErrorKind, HttpError};
pub use headers::HeaderBlock;
pub use pool::ConnectionPolicy;
pub use request::{ExpectedStatuses, Protocol, Request, Response, Timings, TlsInfo};
pub use session::Session;
pub use tls::{ClientCert, TlsSettings, TlsVersion, parse_certs, parse_key};
