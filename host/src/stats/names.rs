//! How many distinct names a run keeps, and how long: a scenario that invents a name per
//! request (a URL with an id in it, a metric per user) must not grow the host without bound.
//!
//! Names longer than the run's `maxNameBytes` are cut. Past `maxRequestNames` distinct
//! request rows, new rows are counted under one [`OVERFLOW`] row (as Locust users group ids
//! by hand); past `maxCheckNames`, new checks are counted under one [`OVERFLOW`] check; past
//! `maxMetricNames`, samples of new custom metrics are dropped (their kinds may not mix).
//! Each overflow is counted and reported.

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::Mutex;

/// The name new request rows and checks are counted under once their cap is reached.
pub const OVERFLOW: &str = "(overflow)";

/// The method of the overflow request row (it holds every method).
pub const OVERFLOW_METHOD: &str = "*";

/// The caps of a run: the longest name, and how many distinct names of each kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NameCaps {
    /// Longest name kept, in bytes; longer ones are cut and end with `…`.
    pub max_bytes: usize,
    /// Distinct request rows (method and name).
    pub requests: usize,
    /// Distinct custom metrics.
    pub metrics: usize,
    /// Distinct checks.
    pub checks: usize,
}

impl Default for NameCaps {
    fn default() -> Self {
        Self {
            max_bytes: 256,
            requests: 1_000,
            metrics: 200,
            checks: 1_000,
        }
    }
}

/// `name` cut to at most `max` bytes (at a character boundary, ending with `…`).
pub fn bounded(name: &str, max: usize) -> Cow<'_, str> {
    if name.len() <= max {
        return Cow::Borrowed(name);
    }
    let ellipsis = '…';
    let mut end = max.saturating_sub(ellipsis.len_utf8());
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    let mut cut = String::with_capacity(end + ellipsis.len_utf8());
    cut.push_str(&name[..end]);
    cut.push(ellipsis);
    Cow::Owned(cut)
}

/// The distinct names of one kind a run has admitted, up to its cap. Consulted only when a
/// shard meets a name it does not hold yet.
#[derive(Debug)]
pub(crate) struct Registry {
    cap: usize,
    names: Mutex<HashSet<String>>,
}

impl Registry {
    pub(crate) fn new(cap: usize) -> Self {
        Self {
            cap,
            names: Mutex::default(),
        }
    }

    /// Whether `name` is (or now becomes) one of the admitted names.
    pub(crate) fn admit(&self, name: &str) -> bool {
        let mut names = crate::sync::lock(&self.names);
        if names.contains(name) {
            return true;
        }
        if names.len() >= self.cap {
            return false;
        }
        names.insert(name.to_owned());
        true
    }
}

/// The registries of a run.
#[derive(Debug)]
pub(crate) struct Names {
    pub caps: NameCaps,
    pub requests: Registry,
    pub metrics: Registry,
    pub checks: Registry,
    /// Tag values of the breakdown by tag (`tag=value`).
    pub tags: Registry,
}

impl Names {
    pub(crate) fn new(caps: NameCaps) -> Self {
        Self {
            caps,
            requests: Registry::new(caps.requests),
            metrics: Registry::new(caps.metrics),
            checks: Registry::new(caps.checks),
            tags: Registry::new(super::breakdown::MAX_TAG_VALUES),
        }
    }

    /// The key a request row is admitted under: its method and name.
    pub(crate) fn request_key(method: &str, name: &str) -> String {
        format!("{method} {name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_names_are_cut_at_a_character_boundary() {
        assert_eq!(bounded("short", 10), "short");
        assert_eq!(bounded("ééééé", 7), "éé…", "é is 2 bytes, … is 3");
        assert_eq!(bounded("ééééé", 6), "é…", "never past the limit");
        assert_eq!(bounded(&"x".repeat(8 << 20), 256).len(), 256);
    }

    #[test]
    fn a_registry_admits_up_to_its_cap_and_keeps_admitting_known_names() {
        let registry = Registry::new(2);
        assert!(registry.admit("a") && registry.admit("b"));
        assert!(!registry.admit("c"));
        assert!(registry.admit("a"), "a known name is always admitted");
    }
}
