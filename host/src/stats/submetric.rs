//! Sub-metrics: a metric's samples whose tags match a threshold's filter
//! (`http_req_duration{name:login}`). As in k6, only the sub-metrics thresholds name are
//! kept, so tags cost nothing when no threshold filters on them.

use std::collections::BTreeMap;

use super::trend::Trend;
use crate::config::{MetricSelector, Threshold};

/// Who records: the scenario and its tags, which every sample of it carries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    /// The plan scenario's name (the `scenario` tag).
    pub scenario: String,
    /// The scenario's `tags`.
    pub tags: BTreeMap<String, String>,
}

impl Scope {
    /// Whether a sample with its own `tags`, recorded in this scope, has `key` = `value`.
    /// The sample's tags win over the scenario's.
    pub(crate) fn has(&self, tags: &[(String, String)], key: &str, value: &str) -> bool {
        if let Some((_, own)) = tags.iter().find(|(k, _)| k == key) {
            return own == value;
        }
        if key == "scenario" {
            return self.scenario == value;
        }
        self.tags.get(key).is_some_and(|v| v == value)
    }
}

/// Which value of an HTTP request feeds a sub-metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HttpValue {
    Duration,
    Corrected,
    /// A phase, by its index in `PHASE_METRICS`.
    Phase(usize),
    Reqs,
    Failed,
    Sent,
    Received,
}

/// The samples a sub-metric takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    Http(HttpValue),
    Checks,
    Iterations,
    IterationDuration,
    Dropped,
    Custom(String),
}

impl Source {
    fn of(metric: &str) -> Self {
        let http = |value| Self::Http(value);
        match metric {
            "http_req_duration" => http(HttpValue::Duration),
            "http_req_duration_corrected" => http(HttpValue::Corrected),
            "http_reqs" => http(HttpValue::Reqs),
            "http_req_failed" => http(HttpValue::Failed),
            "data_sent" => http(HttpValue::Sent),
            "data_received" => http(HttpValue::Received),
            "checks" => Self::Checks,
            "iterations" => Self::Iterations,
            "iteration_duration" => Self::IterationDuration,
            "dropped_iterations" => Self::Dropped,
            other => match super::metrics::PHASE_METRICS
                .iter()
                .position(|m| *m == other)
            {
                Some(index) => http(HttpValue::Phase(index)),
                None => Self::Custom(other.to_owned()),
            },
        }
    }
}

/// One sub-metric: a selector and where its samples come from.
#[derive(Debug, Clone)]
pub(crate) struct SubMetric {
    pub selector: MetricSelector,
    pub source: Source,
}

impl SubMetric {
    /// Whether a sample whose tags answer `has(key, value)` belongs to this sub-metric.
    pub(crate) fn matches(&self, has: impl Fn(&str, &str) -> bool) -> bool {
        self.selector.tags.iter().all(|(k, v)| has(k, v))
    }
}

/// The sub-metrics of a run, indexed as each [`super::metrics::Metrics`] stores their values.
#[derive(Debug, Clone, Default)]
pub(crate) struct SubMetrics {
    pub list: Vec<SubMetric>,
}

impl SubMetrics {
    /// The sub-metrics the thresholds filter on, each once.
    pub(crate) fn of(thresholds: &[Threshold]) -> Self {
        let mut list: Vec<SubMetric> = Vec::new();
        for threshold in thresholds {
            let selector = &threshold.selector;
            if selector.tags.is_empty() || list.iter().any(|s| &s.selector == selector) {
                continue;
            }
            list.push(SubMetric {
                selector: selector.clone(),
                source: Source::of(&selector.metric),
            });
        }
        Self { list }
    }

    /// The index of `selector`'s values.
    pub(crate) fn index(&self, selector: &MetricSelector) -> Option<usize> {
        self.list.iter().position(|s| &s.selector == selector)
    }

    /// The sub-metrics fed by `wanted`, with their indexes.
    pub(crate) fn fed_by<'a>(
        &'a self,
        wanted: impl Fn(&Source) -> bool + 'a,
    ) -> impl Iterator<Item = (usize, &'a SubMetric)> + 'a {
        self.list
            .iter()
            .enumerate()
            .filter(move |(_, s)| wanted(&s.source))
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

/// The aggregate of one sub-metric over some span.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub(crate) enum SubValue {
    /// No sample yet.
    #[default]
    Empty,
    Trend(Trend),
    Rate {
        trues: u64,
        total: u64,
    },
    Counter(#[serde(with = "super::metrics::float")] f64),
    Gauge(#[serde(with = "super::metrics::float")] f64),
}

impl SubValue {
    pub(crate) fn trend(&mut self) -> &mut Trend {
        if !matches!(self, Self::Trend(_)) {
            *self = Self::Trend(Trend::new());
        }
        match self {
            Self::Trend(trend) => trend,
            _ => unreachable!("just made a trend"),
        }
    }

    pub(crate) fn add_rate(&mut self, sample: bool) {
        match self {
            Self::Rate { trues, total } => {
                *trues += u64::from(sample);
                *total += 1;
            }
            _ => {
                *self = Self::Rate {
                    trues: u64::from(sample),
                    total: 1,
                }
            }
        }
    }

    pub(crate) fn add_counter(&mut self, value: f64) {
        match self {
            Self::Counter(sum) => *sum += value,
            _ => *self = Self::Counter(value),
        }
    }

    pub(crate) fn merge(&mut self, other: &SubValue) {
        match (&mut *self, other) {
            (_, Self::Empty) => {}
            (Self::Empty, other) => *self = other.clone(),
            (Self::Trend(mine), Self::Trend(theirs)) => mine.merge(theirs),
            (Self::Rate { trues, total }, Self::Rate { trues: t, total: n }) => {
                *trues += t;
                *total += n;
            }
            (Self::Counter(mine), Self::Counter(theirs)) => *mine += theirs,
            (Self::Gauge(mine), Self::Gauge(theirs)) => *mine = *theirs,
            // Samples of two kinds under one name: the first kind wins, as for metrics.
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_name_the_sub_metrics_kept() {
        let thresholds = [
            Threshold::new("http_req_duration{name:login}", "p(99)<300"),
            Threshold::new("http_req_duration{name:login}", "avg<100"),
            Threshold::new("http_req_duration", "p(95)<100"),
            Threshold::new("http_req_waiting{scenario:a}", "max<1"),
            Threshold::new("cart_items{kind:book}", "count>1"),
        ]
        .map(|t| t.unwrap_or_else(|e| panic!("{e}")));
        let subs = SubMetrics::of(&thresholds);
        assert_eq!(subs.list.len(), 3, "one per distinct filtered selector");
        assert_eq!(subs.list[0].source, Source::Http(HttpValue::Duration));
        assert!(matches!(
            subs.list[1].source,
            Source::Http(HttpValue::Phase(_))
        ));
        assert_eq!(subs.list[2].source, Source::Custom("cart_items".into()));
    }

    #[test]
    fn sample_tags_win_over_the_scenarios() {
        let scope = Scope {
            scenario: "buyers".into(),
            tags: [("team".to_owned(), "a".to_owned())].into(),
        };
        let own = [("team".to_owned(), "b".to_owned())];
        assert!(scope.has(&[], "team", "a"));
        assert!(scope.has(&own, "team", "b"));
        assert!(!scope.has(&own, "team", "a"));
        assert!(scope.has(&[], "scenario", "buyers"));
        assert!(!scope.has(&[], "other", "x"));
    }
}
