//! OTLP/HTTP metrics, protobuf-encoded with the OpenTelemetry project's own message types
//! (`opentelemetry-proto`). Counters are cumulative monotonic sums, gauges are gauges, and
//! every duration trend is an exponential histogram of scale [`SCALE`] (the same buckets
//! as Prometheus' native histograms), cumulative from the run's start, so a backend can add
//! up runs and agents. The run is the resource, and its id and scenario also label every
//! point.

use std::time::{SystemTime, UNIX_EPOCH};

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::exponential_histogram_data_point::Buckets;
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, ExponentialHistogram, ExponentialHistogramDataPoint, Gauge, Metric,
    NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, metric, number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;

use super::prometheus::NATIVE_SCHEMA;
use super::{Encoded, RunLabels};
use crate::stats::{Distribution, Exposition, Family, Kind, Unit, Value};

/// The exponential histograms' scale: 8 buckets per power of two.
pub const SCALE: i32 = NATIVE_SCHEMA;

/// `figures` as one OTLP export request, protobuf-encoded.
pub(super) fn encode(figures: &Exposition, labels: &RunLabels) -> Encoded {
    let body = prost::Message::encode_to_vec(&request(figures, labels));
    Encoded {
        body,
        headers: vec![("content-type".into(), "application/x-protobuf".into())],
    }
}

fn nanos(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

fn attribute(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.to_owned())),
        }),
        ..Default::default()
    }
}

/// The export request of `figures`: one resource (the run), one scope (Loadwright).
pub(super) fn request(figures: &Exposition, labels: &RunLabels) -> ExportMetricsServiceRequest {
    let resource = Resource {
        attributes: vec![
            attribute("service.name", "loadwright"),
            attribute("service.version", env!("CARGO_PKG_VERSION")),
            attribute("loadwright.run.id", &labels.run),
            attribute("loadwright.scenario", &labels.scenario),
        ],
        ..Default::default()
    };
    let times = Times {
        start: nanos(labels.started_at),
        now: nanos(figures.at),
    };
    let common = [
        attribute("run", &labels.run),
        attribute("scenario", &labels.scenario),
    ];
    let metrics = figures
        .families
        .iter()
        .map(|family| metric(family, &common, times))
        .collect();
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(resource),
            scope_metrics: vec![ScopeMetrics {
                scope: Some(InstrumentationScope {
                    name: "loadwright".into(),
                    version: env!("CARGO_PKG_VERSION").into(),
                    ..Default::default()
                }),
                metrics,
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    }
}

/// A point's start (the run's) and time (the figures'), nanoseconds since the epoch.
#[derive(Clone, Copy)]
struct Times {
    start: u64,
    now: u64,
}

fn metric(family: &Family, common: &[KeyValue], times: Times) -> Metric {
    let unit = match family.unit {
        Unit::Seconds => "s",
        Unit::Bytes => "By",
        Unit::Count => "1",
    };
    let attributes = |labels: &[(&str, String)]| -> Vec<KeyValue> {
        let mut all = common.to_vec();
        all.extend(labels.iter().map(|(k, v)| attribute(k, v)));
        all
    };
    let numbers = || {
        family
            .series
            .iter()
            .filter_map(|s| match s.value {
                Value::Number(value) => Some(number_point(attributes(&s.labels), value, times)),
                Value::Histogram(_) => None,
            })
            .collect::<Vec<_>>()
    };
    let data = match family.kind {
        Kind::Counter => metric::Data::Sum(Sum {
            data_points: numbers(),
            aggregation_temporality: AggregationTemporality::Cumulative as i32,
            is_monotonic: true,
        }),
        Kind::Gauge => metric::Data::Gauge(Gauge {
            data_points: numbers(),
        }),
        Kind::Histogram => metric::Data::ExponentialHistogram(ExponentialHistogram {
            data_points: family
                .series
                .iter()
                .filter_map(|s| match &s.value {
                    Value::Histogram(d) => Some(histogram_point(attributes(&s.labels), d, times)),
                    Value::Number(_) => None,
                })
                .collect(),
            aggregation_temporality: AggregationTemporality::Cumulative as i32,
        }),
    };
    Metric {
        name: format!("loadwright.{}", family.name),
        description: family.help.to_owned(),
        unit: unit.to_owned(),
        data: Some(data),
        ..Default::default()
    }
}

fn number_point(attributes: Vec<KeyValue>, value: f64, times: Times) -> NumberDataPoint {
    NumberDataPoint {
        attributes,
        start_time_unix_nano: times.start,
        time_unix_nano: times.now,
        value: Some(number_data_point::Value::AsDouble(value)),
        ..Default::default()
    }
}

/// `d` as an exponential histogram point: OpenTelemetry's bucket `i` holds
/// (base^i, base^(i+1)], one below Prometheus' index of the same bucket.
fn histogram_point(
    attributes: Vec<KeyValue>,
    d: &Distribution,
    times: Times,
) -> ExponentialHistogramDataPoint {
    let buckets = d.exponential(SCALE);
    let positive = buckets.first().map(|&(first, _)| {
        let last = buckets.last().map_or(first, |&(index, _)| index);
        let mut counts = vec![0; (last - first + 1) as usize];
        for &(index, count) in &buckets {
            counts[(index - first) as usize] = count;
        }
        Buckets {
            offset: first - 1,
            bucket_counts: counts,
        }
    });
    let (min, max) = if d.count == 0 {
        (None, None)
    } else {
        (Some(d.min), Some(d.max))
    };
    ExponentialHistogramDataPoint {
        attributes,
        start_time_unix_nano: times.start,
        time_unix_nano: times.now,
        count: d.count,
        sum: Some(d.sum),
        scale: SCALE,
        zero_count: d.zeros,
        positive,
        min,
        max,
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::stats::Series;

    #[test]
    fn histograms_are_cumulative_exponential_points() {
        let figures = Exposition {
            at: UNIX_EPOCH + Duration::from_secs(100),
            families: vec![Family {
                name: "http_req_duration",
                help: "Durations.",
                unit: Unit::Seconds,
                kind: Kind::Histogram,
                series: vec![Series {
                    labels: vec![("name", "home".into())],
                    value: Value::Histogram(Distribution {
                        count: 3,
                        sum: 2.1,
                        min: 1.0,
                        max: 1.1,
                        zeros: 0,
                        buckets: vec![(1_000_000, 1), (1_100_000, 2)],
                    }),
                }],
            }],
        };
        let labels = RunLabels {
            run: "r1".into(),
            scenario: "shop".into(),
            started_at: UNIX_EPOCH + Duration::from_secs(90),
        };
        let request = request(&figures, &labels);
        let scope = &request.resource_metrics[0].scope_metrics[0];
        let metric = &scope.metrics[0];
        assert_eq!(
            (metric.name.as_str(), metric.unit.as_str()),
            ("loadwright.http_req_duration", "s")
        );
        let Some(metric::Data::ExponentialHistogram(h)) = &metric.data else {
            panic!("not an exponential histogram: {metric:?}");
        };
        assert_eq!(
            h.aggregation_temporality,
            AggregationTemporality::Cumulative as i32
        );
        let point = &h.data_points[0];
        assert_eq!((point.count, point.scale), (3, 3));
        assert_eq!(point.start_time_unix_nano, 90_000_000_000);
        assert_eq!(point.time_unix_nano, 100_000_000_000);
        let positive = point.positive.as_ref().expect("buckets");
        // Prometheus indexes 0 and 2 are OpenTelemetry's -1 and 1.
        assert_eq!(positive.offset, -1);
        assert_eq!(positive.bucket_counts, [1, 0, 2]);
        assert_eq!((point.min, point.max), (Some(1.0), Some(1.1)));
        let keys: Vec<_> = point.attributes.iter().map(|a| a.key.as_str()).collect();
        assert_eq!(keys, ["run", "scenario", "name"]);
    }
}
