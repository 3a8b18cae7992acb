//! The native HTTP client: per-VU connections it owns and times phase by phase, and a fixed
//! error taxonomy.
//!
//! The client opens its connections itself (resolve, connect, then hyper's connection
//! handshake) so each phase can be measured; a VU's [`Session`] keeps them alive across
//! iterations, as a real user's browser would.

mod client;
mod connection;
mod cookies;
mod error;
mod request;
mod session;

pub use client::{Client, ClientOptions};
pub use error::{ErrorKind, HttpError};
pub use request::{ExpectedStatuses, Protocol, Request, Response, Timings};
pub use session::Session;
