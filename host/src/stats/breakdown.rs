//! The requests broken down by name and by tag: light tallies (counts, failures, the sum and
//! the largest of the durations) rather than histograms, so a run can afford one per tag
//! value over the whole run and one per name and tag value in every point of its series.
//!
//! The tags tallied are the response's `status`, the plan scenario's name (`scenario`), the
//! scenario's own tags and the request's tags (a request's tag wins over its scenario's).
//! Past [`MAX_TAG_VALUES`] distinct tag values, new ones are tallied under one
//! `(overflow)` entry. A series point keeps the [`POINT_ENTRIES`] busiest names, and as many
//! values of each tag; the rest are added up under `(other)`.

use std::borrow::Cow;
use std::sync::LazyLock;

use foldhash::HashMap;
use serde::{Deserialize, Serialize};

use super::metrics::{RequestSample, Row};
use super::names::{Names, OVERFLOW, bounded};
use super::submetric::Scope;

/// Distinct tag values (a tag and a value) a run tallies.
pub const MAX_TAG_VALUES: usize = 100;

/// Entries a series point keeps of each breakdown: the busiest names, and the busiest values
/// of each tag.
pub const POINT_ENTRIES: usize = 16;

/// The name entries past [`POINT_ENTRIES`] are added up under.
pub const OTHER: &str = "(other)";

/// Requests, failures and their durations, without a histogram. Durations are in
/// thousandths of a millisecond, as [`super::Trend`] records them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Tally {
    pub count: u64,
    pub failures: u64,
    /// Requests whose duration is in `sum` (failures before a response are not).
    pub timed: u64,
    pub sum: u128,
    pub max: u64,
}

impl Tally {
    fn record(&mut self, sample: &RequestSample<'_>) {
        self.count += 1;
        self.failures += u64::from(sample.failure.is_some());
        if sample.failure.is_none() || !sample.duration.is_zero() {
            let micros = sample.duration.as_micros() as u64;
            self.timed += 1;
            self.sum += u128::from(micros);
            self.max = self.max.max(micros);
        }
    }

    /// The tally of a request row.
    pub(crate) fn of_row(row: &Row) -> Self {
        Self {
            count: row.count,
            failures: row.failures,
            timed: row.duration.count(),
            sum: row.duration.sum(),
            max: row.duration.max_thousandths(),
        }
    }

    pub(crate) fn merge(&mut self, other: &Tally) {
        self.count += other.count;
        self.failures += other.failures;
        self.timed += other.timed;
        self.sum += other.sum;
        self.max = self.max.max(other.max);
    }

    /// Its figures, durations in milliseconds.
    pub(crate) fn figures(&self) -> TallyStats {
        let mean = match self.timed {
            0 => 0.0,
            timed => self.sum as f64 / timed as f64 / 1000.0,
        };
        TallyStats {
            requests: self.count,
            failures: self.failures,
            mean,
            max: self.max as f64 / 1000.0,
        }
    }
}

/// Requests, failures and durations of one entry of a breakdown.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct TallyStats {
    /// Requests completed.
    pub requests: u64,
    /// Requests failed.
    pub failures: u64,
    /// Mean `http_req_duration`, ms (exact).
    pub mean: f64,
    /// Largest `http_req_duration`, ms (within the histogram's 0.1 % in a series point).
    pub max: f64,
}

/// The requests with one method and name in one point of the series.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct NamePoint {
    /// Method (empty for `(other)`).
    pub method: String,
    /// Name, or `(other)` for the names past the point's busiest.
    pub name: String,
    /// Their figures.
    #[serde(flatten)]
    pub figures: TallyStats,
}

/// The requests with one value of a tag, in one point of the series or over the run.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TagPoint {
    /// Tag (`status`, `scenario`, or the scenario's or request's own).
    pub tag: String,
    /// Value, or `(other)` for the values past the point's busiest.
    pub value: String,
    /// Their figures.
    #[serde(flatten)]
    pub figures: TallyStats,
}

/// A pair of keys (method and name, or tag and value) and its tally.
pub(crate) type Entry = ((String, String), Tally);

/// Tallies by a pair of keys, two levels deep so that lookups need no allocation.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Tallies(HashMap<String, HashMap<String, Tally>>);

impl Tallies {
    fn get_or_insert(&mut self, first: &str, second: &str) -> &mut Tally {
        if !self.0.contains_key(first) {
            self.0.insert(first.to_owned(), HashMap::default());
        }
        let by_second = self.0.get_mut(first).expect("inserted above");
        if !by_second.contains_key(second) {
            by_second.insert(second.to_owned(), Tally::default());
        }
        by_second.get_mut(second).expect("inserted above")
    }

    fn contains(&self, first: &str, second: &str) -> bool {
        self.0.get(first).is_some_and(|m| m.contains_key(second))
    }

    /// Adds `tally` under `first`, `second`.
    pub(crate) fn add(&mut self, first: &str, second: &str, tally: &Tally) {
        self.get_or_insert(first, second).merge(tally);
    }

    pub(crate) fn merge(&mut self, other: &Tallies) {
        for (first, by_second) in &other.0 {
            for (second, tally) in by_second {
                if tally.count > 0 {
                    self.add(first, second, tally);
                }
            }
        }
    }

    /// Zeroes every tally, keeping the keys and allocations.
    pub(crate) fn reset(&mut self) {
        self.0
            .values_mut()
            .flat_map(HashMap::values_mut)
            .for_each(|tally| *tally = Tally::default());
    }

    pub(crate) fn clear(&mut self) {
        self.0.clear();
    }

    pub(crate) fn get(&self, first: &str, second: &str) -> Option<&Tally> {
        self.0.get(first).and_then(|m| m.get(second))
    }

    /// The tallies with requests, in no particular order.
    pub(crate) fn entries(&self) -> impl Iterator<Item = Entry> + '_ {
        self.0.iter().flat_map(|(first, by_second)| {
            by_second
                .iter()
                .filter(|(_, tally)| tally.count > 0)
                .map(|(second, tally)| ((first.clone(), second.clone()), *tally))
        })
    }

    /// Tallies `sample` under each of its tags: `status`, `scenario`, the scope's tags and
    /// its own.
    pub(crate) fn record_tags(&mut self, sample: &RequestSample<'_>, scope: &Scope, names: &Names) {
        self.record_tag("status", &status_text(sample.status), sample, names);
        self.record_tag("scenario", &scope.scenario, sample, names);
        for (key, value) in &scope.tags {
            if !sample.tags.iter().any(|(k, _)| k == key) {
                self.record_tag(key, value, sample, names);
            }
        }
        for (key, value) in sample.tags {
            self.record_tag(key, value, sample, names);
        }
    }

    fn record_tag(&mut self, key: &str, value: &str, sample: &RequestSample<'_>, names: &Names) {
        if let Some(tally) = self.0.get_mut(key).and_then(|m| m.get_mut(value)) {
            tally.record(sample);
            return;
        }
        let (key, value) = (
            bounded(key, names.caps.max_bytes),
            bounded(value, names.caps.max_bytes),
        );
        let admitted = self.contains(&key, &value) || names.tags.admit(&tag_key(&key, &value));
        let tally = if admitted {
            self.get_or_insert(&key, &value)
        } else {
            self.get_or_insert(OVERFLOW, OVERFLOW)
        };
        tally.record(sample);
    }
}

/// The key a tag value is admitted under.
fn tag_key(key: &str, value: &str) -> String {
    format!("{key}={value}")
}

/// A status code as text, without allocating for the usual ones.
fn status_text(status: u16) -> Cow<'static, str> {
    static TEXTS: LazyLock<Vec<String>> =
        LazyLock::new(|| (0..600).map(|s| s.to_string()).collect());
    match TEXTS.get(usize::from(status)) {
        Some(text) => Cow::Borrowed(text.as_str()),
        None => Cow::Owned(status.to_string()),
    }
}

/// The busiest `limit` entries, busiest first, then the others added up under `other` (if
/// there are others).
pub(crate) fn busiest(
    mut entries: Vec<Entry>,
    limit: usize,
    other: (String, String),
) -> Vec<Entry> {
    entries.sort_by(|a, b| b.1.count.cmp(&a.1.count).then_with(|| a.0.cmp(&b.0)));
    if entries.len() <= limit {
        return entries;
    }
    let mut rest = Tally::default();
    for (_, tally) in entries.split_off(limit) {
        rest.merge(&tally);
    }
    merge_entries(&mut entries, vec![(other, rest)]);
    entries
}

/// A point's name entries: the busiest [`POINT_ENTRIES`], the rest under `(other)`.
pub(crate) fn point_names(entries: Vec<Entry>) -> Vec<Entry> {
    busiest(entries, POINT_ENTRIES, (String::new(), OTHER.to_owned()))
}

/// A point's tag entries: the busiest [`POINT_ENTRIES`] values of each tag, the rest of
/// each under its tag's `(other)`. Sorted by tag, then busiest first.
pub(crate) fn point_tags(entries: Vec<Entry>) -> Vec<Entry> {
    let mut by_tag: HashMap<String, Vec<Entry>> = HashMap::default();
    for entry in entries {
        by_tag.entry(entry.0.0.clone()).or_default().push(entry);
    }
    let mut tags: Vec<(String, Vec<Entry>)> = by_tag.into_iter().collect();
    tags.sort_by(|a, b| a.0.cmp(&b.0));
    tags.into_iter()
        .flat_map(|(tag, entries)| busiest(entries, POINT_ENTRIES, (tag, OTHER.to_owned())))
        .collect()
}

/// Adds `more` into `entries`, entry by entry.
pub(crate) fn merge_entries(entries: &mut Vec<Entry>, more: Vec<Entry>) {
    for (key, tally) in more {
        match entries.iter_mut().find(|(k, _)| *k == key) {
            Some((_, sum)) => sum.merge(&tally),
            None => entries.push((key, tally)),
        }
    }
}

/// The views of name entries.
pub(crate) fn name_points(entries: &[Entry]) -> Vec<NamePoint> {
    entries
        .iter()
        .map(|((method, name), tally)| NamePoint {
            method: method.clone(),
            name: name.clone(),
            figures: tally.figures(),
        })
        .collect()
}

/// The views of tag entries.
pub(crate) fn tag_points(entries: &[Entry]) -> Vec<TagPoint> {
    entries
        .iter()
        .map(|((tag, value), tally)| TagPoint {
            tag: tag.clone(),
            value: value.clone(),
            figures: tally.figures(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(first: &str, second: &str, count: u64) -> Entry {
        let tally = Tally {
            count,
            failures: 1,
            timed: count,
            sum: u128::from(count) * 2000,
            max: 3000 + count,
        };
        ((first.to_owned(), second.to_owned()), tally)
    }

    #[test]
    fn a_point_keeps_the_busiest_names_and_adds_up_the_rest() {
        let entries: Vec<Entry> = (1..=20)
            .map(|i| entry("GET", &format!("/{i}"), i))
            .collect();
        let kept = point_names(entries);
        assert_eq!(kept.len(), POINT_ENTRIES + 1);
        assert_eq!(kept[0].0.1, "/20", "busiest first");
        let other = kept
            .iter()
            .find(|(k, _)| k.1 == OTHER)
            .expect("an (other) entry");
        assert_eq!(other.1.count, 1 + 2 + 3 + 4, "the four quietest");
        assert_eq!(other.1.failures, 4);
        assert_eq!(other.1.max, 3004);
        let total: u64 = kept.iter().map(|(_, t)| t.count).sum();
        assert_eq!(total, (1..=20).sum::<u64>(), "nothing lost");
        let figures = other.1.figures();
        assert!((figures.mean - 2.0).abs() < 1e-9, "{figures:?}");
    }

    #[test]
    fn tags_are_cut_per_tag_not_across_tags() {
        let mut entries: Vec<Entry> = (0..20)
            .map(|i| entry("user", &format!("u{i}"), 1))
            .collect();
        entries.push(entry("status", "200", 50));
        entries.push(entry("status", "503", 2));
        let kept = point_tags(entries);
        let status: Vec<_> = kept.iter().filter(|(k, _)| k.0 == "status").collect();
        assert_eq!(status.len(), 2, "a tag with few values keeps them all");
        let users: Vec<_> = kept.iter().filter(|(k, _)| k.0 == "user").collect();
        assert_eq!(users.len(), POINT_ENTRIES + 1);
        assert!(users.iter().any(|(k, t)| k.1 == OTHER && t.count == 4));
        assert_eq!(kept[0].0.0, "status", "sorted by tag");
    }

    #[test]
    fn status_texts_are_borrowed_for_the_usual_codes() {
        assert!(matches!(status_text(200), Cow::Borrowed("200")));
        assert!(matches!(status_text(0), Cow::Borrowed("0")));
        assert_eq!(status_text(999), "999");
    }
}
