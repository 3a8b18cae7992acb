//! What a collector recorded, in the form that travels: serialized (JSON, every histogram
//! in HdrHistogram's V2 encoding) and merged exactly into another collector.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::metrics::Metrics;

/// Everything a collector recorded over some span (the whole run, or one interval), in a
/// form that serializes and merges exactly: absorbed into one collector, the metrics of
/// several processes give the snapshot that one process recording every sample would have
/// given.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RecordedMetrics(pub(super) Metrics);

impl RecordedMetrics {
    /// Requests recorded.
    pub fn requests(&self) -> u64 {
        self.0.total.count
    }

    /// Adds `other` to these metrics, as if one collector had recorded both.
    pub fn merge(&mut self, other: &RecordedMetrics) {
        self.0.merge(&other.0);
    }
}

/// One closed stats interval as a run hands it on to be merged elsewhere (a result file,
/// a coordinator): when it ended, and everything recorded in it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IntervalDelta {
    /// Time since the run's start at the end of the interval, seconds.
    #[serde(with = "seconds")]
    pub elapsed: Duration,
    /// Length of the interval, seconds.
    #[serde(with = "seconds")]
    pub length: Duration,
    /// Wall-clock end of the interval, in seconds since the Unix epoch.
    pub timestamp: f64,
    /// VUs active at the end.
    pub vus: u32,
    /// Everything recorded in the interval.
    pub metrics: RecordedMetrics,
}

/// A duration as seconds, a JSON number.
pub(crate) mod seconds {
    use std::time::Duration;

    use serde::{Deserialize as _, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(value: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(value.as_secs_f64())
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let secs = f64::deserialize(d)?;
        Duration::try_from_secs_f64(secs).map_err(|_| {
            serde::de::Error::custom(format!(
                "{secs} is not a duration in seconds (a number from 0)"
            ))
        })
    }
}
