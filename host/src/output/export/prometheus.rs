//! Prometheus' side of the metric families: names, the classic buckets, and the text
//! exposition of one run's families (the server's `/metrics`).

use std::fmt::Write as _;

use crate::stats::{Distribution, Family, Kind, Unit, Value};

/// The upper bounds of the classic histogram buckets, in seconds (`+Inf` is implied): from
/// 100 µs to a minute, about three per power of ten, denser where request latencies sit.
pub const CLASSIC_BOUNDS: [f64; 31] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.075, 0.1,
    0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 7.5, 10.0, 30.0, 60.0,
];

/// The native histograms' schema: 8 buckets per power of two (each bound 9 % above the
/// last), the resolution Prometheus' own clients default to.
pub const NATIVE_SCHEMA: i32 = 3;

/// The Prometheus name of `family`: `loadwright_`, its name, its unit, and `_total` for a
/// counter (`loadwright_http_req_duration_seconds`, `loadwright_data_sent_bytes_total`).
pub fn name(family: &Family) -> String {
    let unit = match family.unit {
        Unit::Seconds => "_seconds",
        Unit::Bytes => "_bytes",
        Unit::Count => "",
    };
    let total = if family.kind == Kind::Counter {
        "_total"
    } else {
        ""
    };
    format!("loadwright_{}{unit}{total}", family.name)
}

/// A classic histogram's `le` label value of bound `bound`.
pub fn le(bound: f64) -> String {
    if bound.is_infinite() {
        "+Inf".to_owned()
    } else {
        bound.to_string()
    }
}

/// The classic buckets of `distribution`: each `le` value and its cumulative count, `+Inf`
/// last.
pub fn classic_buckets(distribution: &Distribution) -> Vec<(String, u64)> {
    let counts = distribution.cumulative(&CLASSIC_BOUNDS);
    CLASSIC_BOUNDS
        .iter()
        .zip(counts)
        .map(|(&bound, count)| (le(bound), count))
        .chain([(le(f64::INFINITY), distribution.count)])
        .collect()
}

/// Escapes a label value for the text format.
pub fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn label_text(labels: &[(&str, &str)]) -> String {
    let inner: Vec<String> = labels
        .iter()
        .map(|(name, value)| format!("{name}=\"{}\"", escape(value)))
        .collect();
    format!("{{{}}}", inner.join(","))
}

/// Writes the text exposition of `families` (the `# HELP` and `# TYPE` lines of each once,
/// as `heads` says) with `common` labels on every series: one run's figures in `/metrics`.
pub fn write_text(out: &mut String, families: &[Family], common: &[(&str, &str)], heads: bool) {
    for family in families {
        let name = name(family);
        if heads {
            let kind = match family.kind {
                Kind::Counter => "counter",
                Kind::Gauge => "gauge",
                Kind::Histogram => "histogram",
            };
            let _ = writeln!(out, "# HELP {name} {}", family.help);
            let _ = writeln!(out, "# TYPE {name} {kind}");
        }
        for series in &family.series {
            let mut labels: Vec<(&str, &str)> = common.to_vec();
            labels.extend(series.labels.iter().map(|(k, v)| (*k, v.as_str())));
            match &series.value {
                Value::Number(value) => {
                    let _ = writeln!(out, "{name}{} {value}", label_text(&labels));
                }
                Value::Histogram(distribution) => {
                    write_histogram(out, &name, &labels, distribution);
                }
            }
        }
    }
}

/// Writes the classic buckets, sum and count of histogram `name` with `labels`.
pub fn write_histogram(out: &mut String, name: &str, labels: &[(&str, &str)], d: &Distribution) {
    for (le, count) in classic_buckets(d) {
        let mut with_le = labels.to_vec();
        with_le.push(("le", &le));
        let _ = writeln!(out, "{name}_bucket{} {count}", label_text(&with_le));
    }
    let labels = label_text(labels);
    let _ = writeln!(out, "{name}_sum{labels} {}", d.sum);
    let _ = writeln!(out, "{name}_count{labels} {}", d.count);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::Series;

    #[test]
    fn names_carry_unit_and_total() {
        let family = |name, unit, kind| Family {
            name,
            help: "",
            unit,
            kind,
            series: Vec::new(),
        };
        let reqs = family("http_reqs", Unit::Count, Kind::Counter);
        assert_eq!(name(&reqs), "loadwright_http_reqs_total");
        let sent = family("data_sent", Unit::Bytes, Kind::Counter);
        assert_eq!(name(&sent), "loadwright_data_sent_bytes_total");
        let duration = family("http_req_duration", Unit::Seconds, Kind::Histogram);
        assert_eq!(name(&duration), "loadwright_http_req_duration_seconds");
    }

    #[test]
    fn text_exposition_has_cumulative_buckets() {
        let family = Family {
            name: "http_req_duration",
            help: "Durations.",
            unit: Unit::Seconds,
            kind: Kind::Histogram,
            series: vec![Series {
                labels: vec![("name", "a\"b".to_owned())],
                value: Value::Histogram(Distribution {
                    count: 3,
                    sum: 0.0062,
                    zeros: 0,
                    buckets: vec![(200, 1), (3_000, 2)],
                    ..Default::default()
                }),
            }],
        };
        let mut text = String::new();
        write_text(&mut text, &[family], &[("run", "r1")], true);
        assert!(text.contains("# TYPE loadwright_http_req_duration_seconds histogram\n"));
        let bucket = "loadwright_http_req_duration_seconds_bucket";
        assert!(text.contains(&format!(
            "{bucket}{{run=\"r1\",name=\"a\\\"b\",le=\"0.00025\"}} 1\n"
        )));
        assert!(text.contains(&format!(
            "{bucket}{{run=\"r1\",name=\"a\\\"b\",le=\"0.0025\"}} 1\n"
        )));
        assert!(text.contains(&format!(
            "{bucket}{{run=\"r1\",name=\"a\\\"b\",le=\"0.005\"}} 3\n"
        )));
        assert!(text.contains(&format!(
            "{bucket}{{run=\"r1\",name=\"a\\\"b\",le=\"+Inf\"}} 3\n"
        )));
        assert!(text.contains(
            "loadwright_http_req_duration_seconds_count{run=\"r1\",name=\"a\\\"b\"} 3\n"
        ));
    }
}
