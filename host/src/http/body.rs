//! A response body on its way to the guest: what to do with it, where it collects, and the
//! response it ends up in. Shared by HTTP/1.1 and HTTP/2.

use std::time::Duration;

use bytes::{Bytes, BytesMut};

use super::error::{ErrorKind, HttpError};
use super::headers::HeaderBlock;
use super::request::Protocol;

/// What to do with a response body.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BodyPolicy {
    /// Count the body without keeping it.
    pub discard: bool,
    /// Largest body kept; a larger one fails with `body-too-large`.
    pub limit: usize,
    /// The request was `HEAD`: the response has no body whatever its headers say.
    pub head_request: bool,
}

/// A response as read off the wire, with the time each part took.
#[derive(Debug)]
pub(crate) struct Answer {
    pub status: u16,
    /// The protocol it came over.
    pub protocol: Protocol,
    /// Header fields, names in lower case.
    pub headers: HeaderBlock,
    /// The body as received (still encoded), empty when discarded.
    pub body: Bytes,
    /// Body bytes received (chunk framing not counted).
    pub body_size: u64,
    /// Writing the request.
    pub sending: Duration,
    /// From the request written to the first byte of the response.
    pub waiting: Duration,
    /// From the first byte to the end of the body.
    pub receiving: Duration,
}

/// Collects a body up to its limit, or only counts it.
pub(crate) struct Sink {
    policy: BodyPolicy,
    size: u64,
    first: Option<Bytes>,
    rest: BytesMut,
}

impl Sink {
    pub(crate) fn new(policy: BodyPolicy) -> Self {
        Self {
            policy,
            size: 0,
            first: None,
            rest: BytesMut::new(),
        }
    }

    /// Whether the body is only counted.
    pub(crate) fn discards(&self) -> bool {
        self.policy.discard
    }

    /// Counts `bytes` of a discarded body.
    pub(crate) fn count(&mut self, bytes: usize) {
        self.size += bytes as u64;
    }

    /// Adds `chunk`: kept, or only counted when the body is discarded.
    pub(crate) fn push(&mut self, chunk: Bytes) -> Result<(), HttpError> {
        self.size += chunk.len() as u64;
        if self.policy.discard {
            return Ok(());
        }
        let limit = self.policy.limit;
        if self.size > limit as u64 {
            return Err(HttpError::new(
                ErrorKind::BodyTooLarge,
                format!("response body is over the {limit} bytes handed to guests"),
            ));
        }
        // A body in one piece (the common case) is kept without copying.
        match self.first.take() {
            None if self.rest.is_empty() => self.first = Some(chunk),
            None => self.rest.extend_from_slice(&chunk),
            Some(first) => {
                self.rest.reserve(first.len() + chunk.len());
                self.rest.extend_from_slice(&first);
                self.rest.extend_from_slice(&chunk);
            }
        }
        Ok(())
    }

    /// The body kept and the bytes counted.
    pub(crate) fn finish(self) -> (Bytes, u64) {
        (self.first.unwrap_or_else(|| self.rest.freeze()), self.size)
    }
}
