//! Name resolution for a run: addresses given in the plan (curl's `--resolve`), then a cache
//! of the system resolver's answers kept for the run's TTL. Concurrent lookups of one name
//! wait for a single query.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::OnceCell;

use super::error::{ErrorKind, HttpError};

/// Names the cache holds at most; past it, it starts over (a scenario inventing host names
/// cannot grow it without bound).
const MAX_CACHED_NAMES: usize = 10_000;

/// One `resolve` entry: connections to `host:port` go to `addrs`, with no lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolve {
    /// The host name, lower case.
    pub host: String,
    /// The port.
    pub port: u16,
    /// The addresses, tried in order.
    pub addrs: Vec<IpAddr>,
}

impl Resolve {
    /// Reads `host:port:address[,address...]` (IPv6 addresses in brackets or not).
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = |why: &str| {
            format!(
                "resolve entry {text:?}: {why}; write host:port:address, like \
                 api.example.com:443:127.0.0.1 or api.example.com:443:[::1],10.0.0.2"
            )
        };
        let mut parts = text.trim().splitn(3, ':');
        let (Some(host), Some(port), Some(addrs)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(bad("three parts are needed"));
        };
        if host.is_empty() {
            return Err(bad("the host is empty"));
        }
        let port = port.parse().map_err(|_| bad("the port is not a number"))?;
        let addrs = addrs
            .split(',')
            .map(|addr| {
                let addr = addr.trim().trim_start_matches('[').trim_end_matches(']');
                addr.parse::<IpAddr>()
                    .map_err(|_| bad(&format!("{addr:?} is not an IP address")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            host: host.trim_end_matches('.').to_ascii_lowercase(),
            port,
            addrs,
        })
    }
}

type Answer = Result<Arc<[IpAddr]>, String>;

struct Entry {
    at: Instant,
    answer: Arc<OnceCell<Answer>>,
}

/// A run's resolver.
pub(crate) struct Resolver {
    ttl: Duration,
    given: HashMap<(String, u16), Vec<IpAddr>>,
    cache: Mutex<HashMap<String, Entry>>,
}

impl std::fmt::Debug for Resolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resolver")
            .field("ttl", &self.ttl)
            .field("given", &self.given)
            .finish_non_exhaustive()
    }
}

impl Resolver {
    /// A resolver that keeps answers for `ttl` (zero: asks every time) and answers the
    /// `given` entries itself.
    pub(crate) fn new(ttl: Duration, given: &[Resolve]) -> Self {
        Self {
            ttl,
            given: given
                .iter()
                .map(|r| ((r.host.clone(), r.port), r.addrs.clone()))
                .collect(),
            cache: Mutex::default(),
        }
    }

    /// The addresses of `host` for a connection to `port`.
    pub(crate) async fn lookup(&self, host: &str, port: u16) -> Result<Arc<[IpAddr]>, HttpError> {
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Ok(Arc::new([ip]));
        }
        let name = host.trim_end_matches('.').to_ascii_lowercase();
        if let Some(addrs) = self.given.get(&(name, port)) {
            return Ok(addrs.as_slice().into());
        }
        let failed = |message: String| HttpError::new(ErrorKind::Dns, format!("{host}: {message}"));
        if self.ttl.is_zero() {
            return query(host.to_owned()).await.map_err(failed);
        }
        let answer = self.entry(host);
        let result = answer.get_or_init(|| query(host.to_owned())).await.clone();
        if result.is_err() {
            // A failure is not kept: the next connection asks again.
            self.forget(host, &answer);
        }
        result.map_err(failed)
    }

    /// The cache's entry for `host`, fresh or being filled.
    fn entry(&self, host: &str) -> Arc<OnceCell<Answer>> {
        let mut cache = crate::sync::lock(&self.cache);
        if let Some(entry) = cache.get(host)
            && entry.at.elapsed() < self.ttl
        {
            return entry.answer.clone();
        }
        if cache.len() >= MAX_CACHED_NAMES {
            cache.clear();
        }
        let answer = Arc::new(OnceCell::new());
        let entry = Entry {
            at: Instant::now(),
            answer: answer.clone(),
        };
        cache.insert(host.to_owned(), entry);
        answer
    }

    fn forget(&self, host: &str, answer: &Arc<OnceCell<Answer>>) {
        let mut cache = crate::sync::lock(&self.cache);
        if cache
            .get(host)
            .is_some_and(|entry| Arc::ptr_eq(&entry.answer, answer))
        {
            cache.remove(host);
        }
    }
}

/// Asks the system resolver (getaddrinfo, on tokio's blocking pool).
async fn query(host: String) -> Answer {
    match tokio::net::lookup_host((host.as_str(), 0)).await {
        Ok(addrs) => {
            let addrs: Vec<IpAddr> = addrs.map(|a| a.ip()).collect();
            if addrs.is_empty() {
                Err("no address".to_owned())
            } else {
                Ok(addrs.into())
            }
        }
        Err(err) => Err(err.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_entries_read_like_curls() {
        let entry = Resolve::parse("API.example.com:443:127.0.0.1,[::1]").expect("parses");
        assert_eq!(entry.host, "api.example.com");
        assert_eq!(entry.port, 443);
        assert_eq!(
            entry.addrs,
            vec![
                "127.0.0.1".parse::<IpAddr>().expect("v4"),
                "::1".parse::<IpAddr>().expect("v6")
            ]
        );
        assert!(Resolve::parse("example.com:443").is_err());
        assert!(Resolve::parse("example.com:https:1.2.3.4").is_err());
        let err = Resolve::parse("example.com:443:nope").unwrap_err();
        assert!(err.contains("\"nope\" is not an IP address"), "{err}");
    }

    #[tokio::test]
    async fn given_addresses_answer_without_a_lookup_and_names_are_cached() {
        // `localhost` is in /etc/hosts: no query leaves the machine.
        let given = [Resolve::parse("localhost:8443:10.1.2.3").expect("parses")];
        let resolver = Resolver::new(Duration::from_secs(60), &given);
        let addrs = resolver.lookup("LocalHost", 8443).await.expect("given");
        assert_eq!(&*addrs, &["10.1.2.3".parse::<IpAddr>().expect("ip")]);
        // Another port of the same name is not given: it is looked up.
        let looked_up = resolver.lookup("localhost", 443).await.expect("localhost");
        assert!(looked_up.iter().all(IpAddr::is_loopback), "{looked_up:?}");
        let first = resolver.lookup("localhost", 80).await.expect("localhost");
        let again = resolver.lookup("localhost", 80).await.expect("localhost");
        assert!(
            Arc::ptr_eq(&first, &again),
            "the second answer came from the cache"
        );
        let uncached = Resolver::new(Duration::ZERO, &[]);
        let a = uncached.lookup("localhost", 80).await.expect("localhost");
        let b = uncached.lookup("localhost", 80).await.expect("localhost");
        assert!(!Arc::ptr_eq(&a, &b), "ttl 0s asks every time");
    }
}
