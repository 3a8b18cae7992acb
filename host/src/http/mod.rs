//! The native HTTP client: per-VU connections it owns and times phase by phase, TLS by
//! rustls, and a fixed error taxonomy.
//!
//! The client opens its connections itself (resolve, connect, the TLS handshake, then
//! hyper's connection handshake) so each phase can be measured; a VU's [`Session`] keeps them
//! alive across iterations, as a real user's browser would. A connection is opened on a task
//! of its own (off the VU's fiber stack), after the [`Egress`] policy has passed the name and
//! each resolved address. [`TlsSettings`] (trusted CAs, client certificates, resumption,
//! versions) become rustls configurations once per run.

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
mod pool;
mod request;
mod session;
mod stream;
mod tls;

pub use client::{Client, ClientOptions};
pub use dns::Resolve;
pub use egress::{Egress, EgressPolicy, Rule};
pub use error::{ErrorKind, HttpError};
pub use pool::ConnectionPolicy;
pub use request::{ExpectedStatuses, Protocol, Request, Response, Timings, TlsInfo};
pub use session::Session;
pub use tls::{ClientCert, TlsSettings, TlsVersion, parse_certs, parse_key};
