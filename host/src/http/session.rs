//! What one VU carries between requests: its connections, its cookies, and the origin of its
//! last request.

use url::Url;

use super::connection::{Connections, Origin};
use super::cookies::CookieJar;
use super::error::HttpError;

/// One user's HTTP state: kept-alive connections (reused across iterations) and a cookie jar.
#[derive(Default)]
pub struct Session {
    pub(crate) connections: Connections,
    pub(crate) cookies: CookieJar,
    /// The origin of the last request, under the URL's text up to its port: a VU's next
    /// request to the same origin finds it without allocating.
    last_origin: Option<(String, Origin)>,
}

impl Session {
    /// A session with no connection and no cookie.
    pub fn new() -> Self {
        Self::default()
    }

    /// The origin `url` goes to.
    pub(crate) fn origin(&mut self, url: &Url) -> Result<Origin, HttpError> {
        let key = &url[..url::Position::AfterPort];
        if let Some((last, origin)) = &self.last_origin
            && last == key
        {
            return Ok(origin.clone());
        }
        let origin = Origin::of(url)?;
        self.last_origin = Some((key.to_owned(), origin.clone()));
        Ok(origin)
    }

    /// Forgets every cookie (the guest's `http.clear-cookies`).
    pub fn clear_cookies(&mut self) {
        self.cookies.clear();
    }
}
