//! What one VU carries between requests: its connections and its cookies.

use super::connection::Connections;
use super::cookies::CookieJar;

/// One user's HTTP state: kept-alive connections (reused across iterations) and a cookie jar.
#[derive(Default)]
pub struct Session {
    pub(crate) connections: Connections,
    pub(crate) cookies: CookieJar,
}

impl Session {
    /// A session with no connection and no cookie.
    pub fn new() -> Self {
        Self::default()
    }

    /// Forgets every cookie (the guest's `http.clear-cookies`).
    pub fn clear_cookies(&mut self) {
        self.cookies.clear();
    }
}
