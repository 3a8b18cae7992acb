//! Checks and custom metrics (k6's `check`, `Counter`, `Gauge`, `Rate`, `Trend`).

use crate::__bindings::loadwright::scenario::metrics as wit;
use crate::__bindings::loadwright::scenario::types::Tag;

fn tags(tags: &[(&str, &str)]) -> Vec<Tag> {
    tags.iter()
        .map(|(k, v)| Tag {
            key: (*k).to_owned(),
            value: (*v).to_owned(),
        })
        .collect()
}

/// Records whether `ok` held under the check `name`, and returns `ok`. A failed check does
/// not fail the iteration; the summary shows each check's pass rate.
pub fn check(name: &str, ok: bool) -> bool {
    wit::check(name, ok, &[])
}

/// A sum that only grows.
#[derive(Debug, Clone, Copy)]
pub struct Counter(&'static str);

impl Counter {
    /// The counter `name`.
    pub const fn new(name: &'static str) -> Self {
        Self(name)
    }

    /// Adds `value` (negative values are ignored).
    pub fn add(&self, value: f64) {
        wit::counter_add(self.0, value, &[]);
    }

    /// Adds `value` with tags.
    pub fn add_tagged(&self, value: f64, tag_list: &[(&str, &str)]) {
        wit::counter_add(self.0, value, &tags(tag_list));
    }
}

/// A value that is set; the last one wins.
#[derive(Debug, Clone, Copy)]
pub struct Gauge(&'static str);

impl Gauge {
    /// The gauge `name`.
    pub const fn new(name: &'static str) -> Self {
        Self(name)
    }

    /// Sets the gauge.
    pub fn set(&self, value: f64) {
        wit::gauge_set(self.0, value, &[]);
    }
}

/// The ratio of true samples.
#[derive(Debug, Clone, Copy)]
pub struct Rate(&'static str);

impl Rate {
    /// The rate `name`.
    pub const fn new(name: &'static str) -> Self {
        Self(name)
    }

    /// Records one sample.
    pub fn add(&self, sample: bool) {
        wit::rate_add(self.0, sample, &[]);
    }
}

/// A distribution of non-negative values (min, mean, percentiles, max).
#[derive(Debug, Clone, Copy)]
pub struct Trend(&'static str);

impl Trend {
    /// The trend `name`.
    pub const fn new(name: &'static str) -> Self {
        Self(name)
    }

    /// Records `value`.
    pub fn add(&self, value: f64) {
        wit::trend_add(self.0, value, &[]);
    }

    /// Records `value` with tags.
    pub fn add_tagged(&self, value: f64, tag_list: &[(&str, &str)]) {
        wit::trend_add(self.0, value, &tags(tag_list));
    }
}
