//! The native HTTP client: per-VU connections it owns and times phase by phase, and a fixed
//! error taxonomy.
//!
//! The client opens its connections itself (resolve, connect, then hyper's connection
//! handshake) so each phase can be measured; a VU's [`Session`] keeps them alive across
//! iterations, as a real user's browser would. A connection is opened on a task of its own
//! (off the VU's fiber stack), after the [`Egress`] policy has passed the name and each
//! resolved address.

mod client;
mod connect;
mod connection;
mod cookies;
mod egress;
mod error;
mod request;
mod session;

pub use client::{Client, ClientOptions};
pub use egress::{Egress, EgressPolicy, Rule};
pub use error::{ErrorKind, HttpError};
pub use request::{ExpectedStatuses, Protocol, Request, Response, Timings};
pub use session::Session;
