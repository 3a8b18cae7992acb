//! A run's cumulative figures as metric families: counters, gauges and histograms with
//! their labels, in one form every observability output encodes from (OTLP, Prometheus
//! remote write, the server's `/metrics`). Histograms keep the run's HdrHistogram buckets,
//! so each output chooses its own bucket layout (classic `le` buckets, or exponential ones)
//! from the exact distribution.

use std::time::SystemTime;

use super::metrics::{Metrics, PHASE_METRICS};
use super::trend::Trend;

/// What a family's values count or measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Durations, in seconds (histograms are recorded in microseconds and converted).
    Seconds,
    /// Bytes.
    Bytes,
    /// Things counted: requests, iterations, VUs.
    Count,
}

/// How a family's values behave over time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Only grows over the run (cumulative from its start).
    Counter,
    /// A value now.
    Gauge,
    /// A cumulative distribution of durations.
    Histogram,
}

/// One metric and its series.
#[derive(Debug, Clone)]
pub struct Family {
    /// Its name without prefix, unit or `_total`, as in the summary (`http_reqs`,
    /// `http_req_duration`).
    pub name: &'static str,
    /// One line saying what it is.
    pub help: &'static str,
    /// Its unit.
    pub unit: Unit,
    /// Its kind; every series' [`Value`] is of that kind.
    pub kind: Kind,
    /// Its series, one per label set.
    pub series: Vec<Series>,
}

/// One label set's value.
#[derive(Debug, Clone)]
pub struct Series {
    /// Labels, by name.
    pub labels: Vec<(&'static str, String)>,
    /// The value.
    pub value: Value,
}

/// A counter's or gauge's number, or a histogram.
#[derive(Debug, Clone)]
pub enum Value {
    /// A counter's or a gauge's value.
    Number(f64),
    /// A distribution.
    Histogram(Distribution),
}

/// A distribution of durations as the run's histogram holds it: its non-empty buckets.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Distribution {
    /// Values recorded.
    pub count: u64,
    /// Their exact sum, in seconds.
    pub sum: f64,
    /// The smallest value, in seconds (at the histogram's precision; 0 when empty).
    pub min: f64,
    /// The largest value, in seconds (likewise).
    pub max: f64,
    /// Values of zero.
    pub zeros: u64,
    /// Every non-empty bucket above zero, ascending: the lowest value it holds, in
    /// microseconds, and its count.
    pub buckets: Vec<(u64, u64)>,
}

impl Distribution {
    /// The distribution of `trend` (recorded in thousandths of a millisecond).
    pub(crate) fn of(trend: &Trend) -> Self {
        let (zeros, buckets) = trend.buckets();
        Self {
            count: trend.count(),
            sum: trend.sum() as f64 / 1e6,
            min: trend.min() / 1000.0,
            max: trend.max() / 1000.0,
            zeros,
            buckets,
        }
    }

    /// Cumulative counts at each of `bounds` (seconds, ascending), as Prometheus' classic
    /// `le` buckets: values at most the bound. The `+Inf` bucket is [`Distribution::count`].
    pub fn cumulative(&self, bounds: &[f64]) -> Vec<u64> {
        let mut counts = Vec::with_capacity(bounds.len());
        let mut buckets = self.buckets.iter().peekable();
        let mut running = self.zeros;
        for &bound in bounds {
            while let Some(&&(micros, count)) = buckets.peek() {
                if micros as f64 / 1e6 > bound {
                    break;
                }
                running += count;
                buckets.next();
            }
            counts.push(running);
        }
        counts
    }

    /// The counts in exponential buckets of `scale` (base 2^(2^-scale)), sparse and
    /// ascending: bucket `i` holds values in (base^(i-1), base^i] seconds, as Prometheus'
    /// native histograms number them (OpenTelemetry's index is one less). Zeros are not in
    /// any bucket ([`Distribution::zeros`]).
    pub fn exponential(&self, scale: i32) -> Vec<(i32, u64)> {
        let factor = 2f64.powi(scale);
        let mut out: Vec<(i32, u64)> = Vec::new();
        for &(micros, count) in &self.buckets {
            let seconds = micros as f64 / 1e6;
            let index = (seconds.log2() * factor).ceil() as i32;
            match out.last_mut() {
                Some((last, total)) if *last == index => *total += count,
                _ => out.push((index, count)),
            }
        }
        out
    }
}

/// The families of everything in `metrics` (cumulative over the run), with `vus` and
/// `vus_max` as gauges.
pub(crate) fn families(metrics: &Metrics, vus: u32, vus_max: u32) -> Vec<Family> {
    let mut families = request_families(metrics);
    families.extend(phase_families(metrics));
    families.extend(iteration_families(metrics));
    families.push(checks(metrics));
    families.push(gauge("vus", "VUs running now.", f64::from(vus)));
    families.push(gauge(
        "vus_max",
        "Most VUs the run can use.",
        f64::from(vus_max),
    ));
    families
}

fn family(
    name: &'static str,
    help: &'static str,
    unit: Unit,
    kind: Kind,
    series: Vec<Series>,
) -> Family {
    Family {
        name,
        help,
        unit,
        kind,
        series,
    }
}

fn unlabelled(value: Value) -> Vec<Series> {
    vec![Series {
        labels: Vec::new(),
        value,
    }]
}

fn counter(name: &'static str, help: &'static str, unit: Unit, value: u64) -> Family {
    let series = unlabelled(Value::Number(value as f64));
    family(name, help, unit, Kind::Counter, series)
}

fn gauge(name: &'static str, help: &'static str, value: f64) -> Family {
    let series = unlabelled(Value::Number(value));
    family(name, help, Unit::Count, Kind::Gauge, series)
}

fn histogram(name: &'static str, help: &'static str, trend: &Trend) -> Family {
    let series = unlabelled(Value::Histogram(Distribution::of(trend)));
    family(name, help, Unit::Seconds, Kind::Histogram, series)
}

fn name_method(name: &str, method: &str) -> Vec<(&'static str, String)> {
    vec![("name", name.to_owned()), ("method", method.to_owned())]
}

/// Requests, failures, errors, statuses, bytes and durations, by name and method.
fn request_families(metrics: &Metrics) -> Vec<Family> {
    let mut reqs = Vec::new();
    let mut failed = Vec::new();
    let mut durations = Vec::new();
    let mut rows: Vec<_> = metrics
        .rows
        .iter()
        .flat_map(|(method, by_name)| by_name.iter().map(move |(name, row)| (method, name, row)))
        .collect();
    rows.sort_by(|a, b| (a.1, a.0).cmp(&(b.1, b.0)));
    for (method, name, row) in rows {
        let labels = name_method(name, method);
        let number = |n: u64| Value::Number(n as f64);
        reqs.push(Series {
            labels: labels.clone(),
            value: number(row.count),
        });
        failed.push(Series {
            labels: labels.clone(),
            value: number(row.failures),
        });
        durations.push(Series {
            labels,
            value: Value::Histogram(Distribution::of(&row.duration)),
        });
    }
    let total = &metrics.total;
    vec![
        family(
            "http_reqs",
            "HTTP requests made.",
            Unit::Count,
            Kind::Counter,
            reqs,
        ),
        family(
            "http_req_failed",
            "HTTP requests that failed (an error, or a status not expected).",
            Unit::Count,
            Kind::Counter,
            failed,
        ),
        family(
            "http_req_errors",
            "Failed HTTP requests by kind of error.",
            Unit::Count,
            Kind::Counter,
            errors(metrics),
        ),
        family(
            "http_responses",
            "HTTP requests by response status (0: no response).",
            Unit::Count,
            Kind::Counter,
            statuses(metrics),
        ),
        family(
            "http_req_duration",
            "HTTP request durations, from the request's start to its response's end.",
            Unit::Seconds,
            Kind::Histogram,
            durations,
        ),
        counter(
            "data_sent",
            "Bytes sent, headers included.",
            Unit::Bytes,
            total.bytes_sent,
        ),
        counter(
            "data_received",
            "Bytes received, headers included.",
            Unit::Bytes,
            total.bytes_received,
        ),
    ]
}

fn errors(metrics: &Metrics) -> Vec<Series> {
    let mut errors: Vec<_> = metrics.errors.iter().collect();
    errors.sort();
    errors
        .into_iter()
        .map(|((method, name, kind), count)| {
            let mut labels = name_method(name, method);
            labels.push(("error", kind.clone()));
            Series {
                labels,
                value: Value::Number(*count as f64),
            }
        })
        .collect()
}

fn statuses(metrics: &Metrics) -> Vec<Series> {
    let mut statuses: Vec<_> = metrics
        .tags
        .entries()
        .filter(|((tag, _), _)| tag == "status")
        .map(|((_, status), tally)| (status, tally.count))
        .collect();
    statuses.sort();
    statuses
        .into_iter()
        .map(|(status, count)| Series {
            labels: vec![("status", status)],
            value: Value::Number(count as f64),
        })
        .collect()
}

/// The request phases of every request together.
fn phase_families(metrics: &Metrics) -> impl Iterator<Item = Family> + '_ {
    const HELP: [&str; 7] = [
        "Time waiting for a connection.",
        "Time resolving the host name.",
        "Time connecting.",
        "Time in the TLS handshake.",
        "Time sending the request.",
        "Time waiting for the response's first byte.",
        "Time receiving the response.",
    ];
    PHASE_METRICS
        .iter()
        .zip(HELP)
        .zip(&metrics.phases)
        .map(|((name, help), trend)| histogram(name, help, trend))
}

fn iteration_families(metrics: &Metrics) -> [Family; 4] {
    [
        counter(
            "iterations",
            "Iterations ended, interrupted ones included.",
            Unit::Count,
            metrics.iterations + metrics.iterations_interrupted,
        ),
        counter(
            "iterations_failed",
            "Iterations that failed.",
            Unit::Count,
            metrics.iterations_failed,
        ),
        counter(
            "dropped_iterations",
            "Iterations an arrival-rate scenario could not start.",
            Unit::Count,
            metrics.dropped_iterations,
        ),
        histogram(
            "iteration_duration",
            "Iteration durations.",
            &metrics.iteration_duration,
        ),
    ]
}

fn checks(metrics: &Metrics) -> Family {
    let mut checks: Vec<_> = metrics.checks.iter().collect();
    checks.sort();
    let series = checks
        .into_iter()
        .flat_map(|(check, (passes, fails))| {
            [("pass", passes), ("fail", fails)].map(|(result, count)| Series {
                labels: vec![("check", check.clone()), ("result", result.to_owned())],
                value: Value::Number(*count as f64),
            })
        })
        .collect();
    family(
        "checks",
        "Checks by name and result.",
        Unit::Count,
        Kind::Counter,
        series,
    )
}

/// A run's cumulative figures at one moment.
#[derive(Debug, Clone)]
pub struct Exposition {
    /// When they were taken.
    pub at: SystemTime,
    /// The families.
    pub families: Vec<Family>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn distribution(micros: &[u64]) -> Distribution {
        let mut trend = Trend::new();
        for &m in micros {
            trend.record(m);
        }
        Distribution::of(&trend)
    }

    #[test]
    fn classic_buckets_count_values_at_most_each_bound() {
        let d = distribution(&[0, 500, 1_000, 1_500, 250_000, 2_000_000]);
        assert_eq!(d.count, 6);
        assert_eq!(d.zeros, 1);
        assert!((d.sum - 2.253).abs() < 1e-9, "{}", d.sum);
        let counts = d.cumulative(&[0.0005, 0.001, 0.01, 0.25, 1.0, 10.0]);
        assert_eq!(counts, vec![2, 3, 4, 5, 5, 6]);
    }

    #[test]
    fn exponential_buckets_hold_values_up_to_their_upper_bound() {
        // Scale 0: bucket i holds (2^(i-1), 2^i] seconds.
        let d = distribution(&[250_000, 500_000, 600_000, 1_000_000, 3_000_000]);
        assert_eq!(d.exponential(0), vec![(-2, 1), (-1, 1), (0, 2), (2, 1)]);
        // Scale 3 splits each power of two in eight.
        let fine = d.exponential(3);
        assert_eq!(fine.iter().map(|(_, n)| n).sum::<u64>(), 5);
        let base = 2f64.powf(1.0 / 8.0);
        for (&(index, _), value) in fine.iter().zip([0.25, 0.5, 0.6, 1.0, 3.0]) {
            let upper = base.powi(index);
            assert!(
                value <= upper * 1.001 && value > upper / base / 1.001,
                "{value} in {index}"
            );
        }
    }

    #[test]
    fn families_cover_requests_by_name_and_status() {
        let mut metrics = Metrics::default();
        let row = metrics
            .rows
            .entry("GET".into())
            .or_default()
            .entry("home".into())
            .or_default();
        row.count = 3;
        row.failures = 1;
        row.duration.record(2_000);
        metrics
            .errors
            .insert(("GET".into(), "home".into(), "timeout".into()), 1);
        let families = families(&metrics, 4, 10);
        let reqs = families
            .iter()
            .find(|f| f.name == "http_reqs")
            .expect("http_reqs");
        assert_eq!(reqs.series.len(), 1);
        assert_eq!(reqs.series[0].labels, name_method("home", "GET"));
        assert!(matches!(reqs.series[0].value, Value::Number(n) if n == 3.0));
        let errors = families
            .iter()
            .find(|f| f.name == "http_req_errors")
            .expect("errors");
        assert_eq!(errors.series[0].labels[2], ("error", "timeout".to_owned()));
        let vus = families.iter().find(|f| f.name == "vus").expect("vus");
        assert!(matches!(vus.series[0].value, Value::Number(n) if n == 4.0));
        assert!(families.iter().all(|f| {
            f.series
                .iter()
                .all(|s| matches!(s.value, Value::Histogram(_)) == (f.kind == Kind::Histogram))
        }));
    }
}
