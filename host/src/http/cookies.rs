//! A VU's cookie jar: what `Set-Cookie` stored, sent back to the same host.
//!
//! Deliberately simple for now: cookies are host-only (the `Domain` and `Path` attributes are
//! not interpreted), `Max-Age=0` or an empty value deletes. Enough for session cookies.

use std::collections::HashMap;

/// Cookies by host, in the order they were first set.
#[derive(Debug, Clone, Default)]
pub(crate) struct CookieJar {
    by_host: HashMap<String, Vec<(String, String)>>,
    /// In a fork: every `Set-Cookie` stored, to replay into the parent jar (deletions too).
    journal: Option<Vec<(String, String)>>,
}

impl CookieJar {
    /// Stores the cookie of one `Set-Cookie` header received from `host`.
    pub(crate) fn store(&mut self, host: &str, set_cookie: &str) {
        if let Some(journal) = &mut self.journal {
            journal.push((host.to_owned(), set_cookie.to_owned()));
        }
        let mut parts = set_cookie.split(';');
        let Some((name, value)) = parts.next().and_then(|pair| pair.split_once('=')) else {
            return;
        };
        let (name, value) = (name.trim(), value.trim());
        if name.is_empty() {
            return;
        }
        let expired = parts.any(|attr| {
            let attr = attr.trim();
            attr.len() > 8
                && attr[..8].eq_ignore_ascii_case("max-age=")
                && attr[8..].trim().parse::<i64>().is_ok_and(|age| age <= 0)
        });
        let cookies = self.by_host.entry(host.to_owned()).or_default();
        cookies.retain(|(n, _)| n != name);
        if !expired && !value.is_empty() {
            cookies.push((name.to_owned(), value.to_owned()));
        }
    }

    /// The `Cookie` header value for `host`, if it has cookies.
    pub(crate) fn header_for(&self, host: &str) -> Option<String> {
        let cookies = self.by_host.get(host).filter(|c| !c.is_empty())?;
        let pairs: Vec<String> = cookies.iter().map(|(n, v)| format!("{n}={v}")).collect();
        Some(pairs.join("; "))
    }

    /// A copy for a concurrent request, which records what it stores for [`Self::join`].
    pub(crate) fn fork(&self) -> Self {
        Self {
            by_host: self.by_host.clone(),
            journal: Some(Vec::new()),
        }
    }

    /// Applies what `fork` stored, in order, as if it had been stored here.
    pub(crate) fn join(&mut self, fork: CookieJar) {
        for (host, set_cookie) in fork.journal.unwrap_or_default() {
            self.store(&host, &set_cookie);
        }
    }

    /// Forgets every cookie.
    pub(crate) fn clear(&mut self) {
        self.by_host.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_replaces_and_deletes_cookies() {
        let mut jar = CookieJar::default();
        jar.store("a.test", "session=1; Path=/; HttpOnly");
        jar.store("a.test", "theme=dark");
        assert_eq!(
            jar.header_for("a.test").as_deref(),
            Some("session=1; theme=dark")
        );
        assert_eq!(jar.header_for("b.test"), None);
        jar.store("a.test", "session=2");
        assert_eq!(
            jar.header_for("a.test").as_deref(),
            Some("theme=dark; session=2")
        );
        jar.store("a.test", "theme=x; Max-Age=0");
        assert_eq!(jar.header_for("a.test").as_deref(), Some("session=2"));
    }

    #[test]
    fn a_fork_hands_back_new_and_deleted_cookies() {
        let mut jar = CookieJar::default();
        jar.store("a.test", "session=1");
        jar.store("a.test", "theme=dark");
        let mut fork = jar.fork();
        assert_eq!(fork.header_for("a.test"), jar.header_for("a.test"));
        fork.store("a.test", "session=; Max-Age=0");
        fork.store("b.test", "id=7");
        jar.join(fork);
        assert_eq!(jar.header_for("a.test").as_deref(), Some("theme=dark"));
        assert_eq!(jar.header_for("b.test").as_deref(), Some("id=7"));
    }
}
