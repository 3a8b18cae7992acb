//! The error a task or hook returns: any error converts into it with `?`.

use std::fmt;

/// An error that fails the current iteration (or hook) with its message.
///
/// Any `std::error::Error` converts into it, so `?` works on requests, parsing and I/O alike.
pub struct Error {
    message: String,
}

/// A result whose error is [`Error`].
pub type Result<T = (), E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error with `message`.
    pub fn msg(message: impl fmt::Display) -> Self {
        Self {
            message: message.to_string(),
        }
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl<E: std::error::Error> From<E> for Error {
    fn from(err: E) -> Self {
        Self::msg(err)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.message, f)
    }
}
