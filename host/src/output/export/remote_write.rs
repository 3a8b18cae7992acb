//! Prometheus remote write 1.0: the `prometheus.WriteRequest` protobuf (declared here with
//! prost, as the protocol's `types.proto` has it), snappy's block format, and the protocol's
//! headers. Histograms go as native histograms (schema [`NATIVE_SCHEMA`]) and as classic
//! `_bucket`/`_sum`/`_count` series; a receiver that refuses native histograms gets the
//! classic ones alone.

use super::prometheus::{self, NATIVE_SCHEMA};
use super::{Encoded, RunLabels};
use crate::stats::{Distribution, Exposition, Family, Kind, Unit, Value};

/// `prometheus.WriteRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WriteRequest {
    /// The series, each with its samples.
    #[prost(message, repeated, tag = "1")]
    pub timeseries: Vec<TimeSeries>,
    /// What each metric is.
    #[prost(message, repeated, tag = "3")]
    pub metadata: Vec<MetricMetadata>,
}

/// `prometheus.TimeSeries`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TimeSeries {
    /// Labels, sorted by name, `__name__` among them.
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<Label>,
    /// Float samples.
    #[prost(message, repeated, tag = "2")]
    pub samples: Vec<Sample>,
    /// Native histogram samples.
    #[prost(message, repeated, tag = "4")]
    pub histograms: Vec<Histogram>,
}

/// `prometheus.Label`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Label {
    /// Name.
    #[prost(string, tag = "1")]
    pub name: String,
    /// Value.
    #[prost(string, tag = "2")]
    pub value: String,
}

/// `prometheus.Sample`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Sample {
    /// Value.
    #[prost(double, tag = "1")]
    pub value: f64,
    /// Milliseconds since the Unix epoch.
    #[prost(int64, tag = "2")]
    pub timestamp: i64,
}

/// `prometheus.Histogram`, integer counts, positive buckets only.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Histogram {
    /// Observations.
    #[prost(uint64, tag = "1")]
    pub count_int: u64,
    /// Their sum.
    #[prost(double, tag = "3")]
    pub sum: f64,
    /// Resolution: 2^(2^-schema) per bucket.
    #[prost(sint32, tag = "4")]
    pub schema: i32,
    /// Observations at most this far from zero are in the zero bucket.
    #[prost(double, tag = "5")]
    pub zero_threshold: f64,
    /// The zero bucket's count.
    #[prost(uint64, tag = "6")]
    pub zero_count_int: u64,
    /// Runs of consecutive positive buckets.
    #[prost(message, repeated, tag = "11")]
    pub positive_spans: Vec<BucketSpan>,
    /// Each positive bucket's count less the previous one's.
    #[prost(sint64, repeated, tag = "12")]
    pub positive_deltas: Vec<i64>,
    /// Milliseconds since the Unix epoch.
    #[prost(int64, tag = "15")]
    pub timestamp: i64,
}

/// `prometheus.BucketSpan`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct BucketSpan {
    /// Buckets skipped since the previous span (the first: the first bucket's index).
    #[prost(sint32, tag = "1")]
    pub offset: i32,
    /// Consecutive buckets in the span.
    #[prost(uint32, tag = "2")]
    pub length: u32,
}

/// `prometheus.MetricMetadata`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct MetricMetadata {
    /// `COUNTER` 1, `GAUGE` 2, `HISTOGRAM` 3.
    #[prost(int32, tag = "1")]
    pub r#type: i32,
    /// The family's name.
    #[prost(string, tag = "2")]
    pub metric_family_name: String,
    /// What it is.
    #[prost(string, tag = "4")]
    pub help: String,
    /// Its unit.
    #[prost(string, tag = "5")]
    pub unit: String,
}

/// Whether a receiver's refusal says it keeps no native histograms (Prometheus without
/// `--enable-feature=native-histograms` answers 500 "native histograms are disabled").
pub(super) fn refused_native(error: &str) -> bool {
    error.starts_with(['4', '5']) && error.to_ascii_lowercase().contains("native histogram")
}

/// `figures` as one remote-write request, native histograms included if `native`.
pub(super) fn encode(figures: &Exposition, labels: &RunLabels, native: bool) -> Encoded {
    let request = write_request(figures, labels, native);
    let body = prost::Message::encode_to_vec(&request);
    let body = snap::raw::Encoder::new()
        .compress_vec(&body)
        .unwrap_or_default();
    Encoded {
        body,
        headers: vec![
            ("content-type".into(), "application/x-protobuf".into()),
            ("content-encoding".into(), "snappy".into()),
            ("x-prometheus-remote-write-version".into(), "0.1.0".into()),
        ],
    }
}

/// The request of `figures`, before compression.
pub(super) fn write_request(
    figures: &Exposition,
    labels: &RunLabels,
    native: bool,
) -> WriteRequest {
    let timestamp = figures
        .at
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let common = [
        ("run", labels.run.as_str()),
        ("scenario", labels.scenario.as_str()),
    ];
    let mut request = WriteRequest::default();
    for family in &figures.families {
        let name = prometheus::name(family);
        request.metadata.push(metadata(family, &name));
        for series in &family.series {
            let mut base: Vec<(&str, &str)> = common.to_vec();
            base.extend(series.labels.iter().map(|(k, v)| (*k, v.as_str())));
            match &series.value {
                Value::Number(value) => {
                    request
                        .timeseries
                        .push(float(&name, &base, *value, timestamp));
                }
                Value::Histogram(d) => {
                    if native {
                        request.timeseries.push(TimeSeries {
                            labels: sorted(&name, &base),
                            samples: Vec::new(),
                            histograms: vec![native_histogram(d, timestamp)],
                        });
                    }
                    classic(&mut request.timeseries, &name, &base, d, timestamp);
                }
            }
        }
    }
    request
}

fn metadata(family: &Family, name: &str) -> MetricMetadata {
    let (r#type, family_name) = match family.kind {
        Kind::Counter => (1, name.trim_end_matches("_total")),
        Kind::Gauge => (2, name),
        Kind::Histogram => (3, name),
    };
    let unit = match family.unit {
        Unit::Seconds => "seconds",
        Unit::Bytes => "bytes",
        Unit::Count => "",
    };
    MetricMetadata {
        r#type,
        metric_family_name: family_name.to_owned(),
        help: family.help.to_owned(),
        unit: unit.to_owned(),
    }
}

/// Labels sorted by name, `__name__` first among them.
fn sorted(name: &str, labels: &[(&str, &str)]) -> Vec<Label> {
    let mut out: Vec<Label> = labels
        .iter()
        .map(|(k, v)| Label {
            name: (*k).to_owned(),
            value: (*v).to_owned(),
        })
        .collect();
    out.push(Label {
        name: "__name__".into(),
        value: name.to_owned(),
    });
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

fn float(name: &str, labels: &[(&str, &str)], value: f64, timestamp: i64) -> TimeSeries {
    TimeSeries {
        labels: sorted(name, labels),
        samples: vec![Sample { value, timestamp }],
        histograms: Vec::new(),
    }
}

fn classic(
    out: &mut Vec<TimeSeries>,
    name: &str,
    labels: &[(&str, &str)],
    d: &Distribution,
    at: i64,
) {
    let bucket = format!("{name}_bucket");
    for (le, count) in prometheus::classic_buckets(d) {
        let mut with_le = labels.to_vec();
        with_le.push(("le", &le));
        out.push(float(&bucket, &with_le, count as f64, at));
    }
    out.push(float(&format!("{name}_sum"), labels, d.sum, at));
    out.push(float(&format!("{name}_count"), labels, d.count as f64, at));
}

/// `d` as a native histogram: its exponential buckets as spans of consecutive indexes and
/// the deltas between neighbouring counts.
fn native_histogram(d: &Distribution, timestamp: i64) -> Histogram {
    let buckets = d.exponential(NATIVE_SCHEMA);
    let mut spans: Vec<BucketSpan> = Vec::new();
    let mut deltas = Vec::with_capacity(buckets.len());
    let mut previous: Option<(i32, u64)> = None;
    for &(index, count) in &buckets {
        match previous {
            Some((last, _)) if index == last + 1 => {
                if let Some(span) = spans.last_mut() {
                    span.length += 1;
                }
            }
            Some((last, _)) => spans.push(BucketSpan {
                offset: index - last - 1,
                length: 1,
            }),
            None => spans.push(BucketSpan {
                offset: index,
                length: 1,
            }),
        }
        let before = previous.map_or(0, |(_, c)| c as i64);
        deltas.push(count as i64 - before);
        previous = Some((index, count));
    }
    Histogram {
        count_int: d.count,
        sum: d.sum,
        schema: NATIVE_SCHEMA,
        zero_threshold: 2f64.powi(-128),
        zero_count_int: d.zeros,
        positive_spans: spans,
        positive_deltas: deltas,
        timestamp,
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use crate::stats::Series;

    fn figures() -> Exposition {
        let d = Distribution {
            count: 4,
            sum: 0.5,
            zeros: 1,
            // Schema 3 indexes: 1 s is 0, 1.1 s is 2 (bound 1.189), 4 s is 16.
            buckets: vec![(1_000_000, 1), (1_100_000, 1), (4_000_000, 1)],
            ..Default::default()
        };
        Exposition {
            at: UNIX_EPOCH + Duration::from_millis(1_700_000_000_123),
            families: vec![Family {
                name: "http_req_duration",
                help: "Durations.",
                unit: Unit::Seconds,
                kind: Kind::Histogram,
                series: vec![Series {
                    labels: vec![("name", "home".into())],
                    value: Value::Histogram(d),
                }],
            }],
        }
    }

    fn labels() -> RunLabels {
        RunLabels {
            run: "r1".into(),
            scenario: "shop".into(),
            started_at: UNIX_EPOCH,
        }
    }

    #[test]
    fn native_histograms_have_spans_and_deltas() {
        let request = write_request(&figures(), &labels(), true);
        let native = &request.timeseries[0];
        let names: Vec<_> = native.labels.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, ["__name__", "name", "run", "scenario"]);
        let h = &native.histograms[0];
        assert_eq!((h.count_int, h.zero_count_int, h.schema), (4, 1, 3));
        assert_eq!(h.timestamp, 1_700_000_000_123);
        let spans: Vec<_> = h
            .positive_spans
            .iter()
            .map(|s| (s.offset, s.length))
            .collect();
        assert_eq!(spans, [(0, 1), (1, 1), (13, 1)]);
        assert_eq!(h.positive_deltas, [1, 0, 0]);
        // 32 classic buckets, a sum and a count follow.
        assert_eq!(request.timeseries.len(), 1 + 32 + 2);
    }

    #[test]
    fn without_native_only_classic_series_go() {
        let request = write_request(&figures(), &labels(), false);
        assert!(request.timeseries.iter().all(|t| t.histograms.is_empty()));
        let count = request.timeseries.last().expect("count");
        assert_eq!(
            count.labels[0].value,
            "loadwright_http_req_duration_seconds_count"
        );
        assert_eq!(count.samples[0].value, 4.0);
    }

    #[test]
    fn the_body_is_snappy_compressed_protobuf() {
        let encoded = encode(&figures(), &labels(), true);
        let raw = snap::raw::Decoder::new()
            .decompress_vec(&encoded.body)
            .expect("snappy");
        let decoded: WriteRequest = prost::Message::decode(raw.as_slice()).expect("protobuf");
        assert_eq!(decoded, write_request(&figures(), &labels(), true));
        assert!(refused_native("500 native histograms are disabled"));
        assert!(!refused_native("connection refused"));
        assert!(!refused_native("500 out of order sample"));
    }
}
