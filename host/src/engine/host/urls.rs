//! A VU's request URLs, resolved against the run's base URL and named for the stats, with
//! the last few kept: a scenario requests a handful of URLs over and over, and parsing one
//! again cost more than any other step of preparing a request (about 1 600 instructions for
//! `/` under cachegrind; a kept one is a string comparison and a copy).

use std::sync::Arc;

use url::Url;

/// How many resolved URLs a VU keeps.
const KEPT: usize = 8;
/// Longest URL a VU keeps: the memory kept per VU stays small whatever a scenario requests.
const KEPT_BYTES: usize = 2048;

/// A URL as the guest wrote it, resolved, with its default stats name.
struct Resolved {
    raw: String,
    url: Url,
    name: Arc<str>,
}

/// Resolves a VU's request URLs: see the module's documentation.
pub(crate) struct UrlResolver {
    base: Option<Url>,
    kept: Vec<Resolved>,
    /// Where the next URL is kept once `kept` is full.
    next: usize,
}

impl UrlResolver {
    /// A resolver for URLs relative to `base`, or only absolute ones without.
    pub(crate) fn new(base: Option<Url>) -> Self {
        Self {
            base,
            kept: Vec::new(),
            next: 0,
        }
    }

    /// `raw` resolved against the base URL (`join` also takes absolute URLs), and its
    /// default stats name: the path without query for URLs on the base URL's origin, the full
    /// URL without query for others, so rows of different hosts never merge.
    pub(crate) fn resolve(&mut self, raw: &str) -> Result<(Url, Arc<str>), url::ParseError> {
        if let Some(kept) = self.kept.iter().find(|kept| kept.raw == raw) {
            return Ok((kept.url.clone(), kept.name.clone()));
        }
        let url = match &self.base {
            Some(base) => base.join(raw)?,
            None => Url::parse(raw)?,
        };
        let name: Arc<str> = self.default_name(&url).into();
        if raw.len() > KEPT_BYTES {
            return Ok((url, name));
        }
        let resolved = Resolved {
            raw: raw.to_owned(),
            url: url.clone(),
            name: name.clone(),
        };
        if self.kept.len() < KEPT {
            self.kept.push(resolved);
        } else {
            self.kept[self.next] = resolved;
            self.next = (self.next + 1) % KEPT;
        }
        Ok((url, name))
    }

    fn default_name(&self, url: &Url) -> String {
        // Compared part by part: `Url::origin` allocates.
        let same_origin = self.base.as_ref().is_some_and(|base| {
            base.scheme() == url.scheme()
                && base.host_str() == url.host_str()
                && base.port_or_known_default() == url.port_or_known_default()
        });
        if same_origin {
            url.path().to_owned()
        } else {
            let mut bare = url.clone();
            bare.set_query(None);
            bare.set_fragment(None);
            bare.to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolver() -> UrlResolver {
        UrlResolver::new(Some(Url::parse("http://api.test:8080/v1/").unwrap()))
    }

    #[test]
    fn urls_resolve_against_the_base_and_are_named_by_path_or_whole() {
        let mut urls = resolver();
        let (url, name) = urls.resolve("/items?id=1").unwrap();
        assert_eq!(url.as_str(), "http://api.test:8080/items?id=1");
        assert_eq!(&*name, "/items");
        let (url, name) = urls.resolve("http://other.test/x?q=1#f").unwrap();
        assert_eq!(url.as_str(), "http://other.test/x?q=1#f");
        assert_eq!(&*name, "http://other.test/x");
        let err = UrlResolver::new(None).resolve("/relative").unwrap_err();
        assert_eq!(err, url::ParseError::RelativeUrlWithoutBase);
    }

    #[test]
    fn a_kept_url_resolves_as_it_did_and_the_oldest_makes_room() {
        let mut urls = resolver();
        let first = urls.resolve("/a").unwrap();
        for i in 0..KEPT {
            let (url, name) = urls.resolve(&format!("/n{i}")).unwrap();
            assert_eq!(&*name, format!("/n{i}"));
            assert_eq!(url.path(), format!("/n{i}"));
        }
        assert_eq!(urls.kept.len(), KEPT);
        assert!(
            urls.kept.iter().all(|kept| kept.raw != "/a"),
            "the oldest gave way"
        );
        let again = urls.resolve("/a").unwrap();
        assert_eq!(again, first);
        let kept = urls.resolve("/a").unwrap();
        assert!(Arc::ptr_eq(&kept.1, &again.1), "the second is the kept one");
    }

    #[test]
    fn a_long_url_resolves_but_is_not_kept() {
        let mut urls = resolver();
        let long = format!("/{}", "x".repeat(KEPT_BYTES));
        let (url, name) = urls.resolve(&long).unwrap();
        assert_eq!(url.path(), long);
        assert_eq!(&*name, long);
        assert!(urls.kept.is_empty());
    }
}
