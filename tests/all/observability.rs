//! The observability outputs against real receivers: Prometheus (Debian's, with its
//! remote-write receiver, with and without native histograms) queried back, and an OTLP
//! receiver decoding with the OpenTelemetry project's own types. A receiver that is down or
//! slow must not hold the run back, and its lost batches are reported.

use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use loadwright_tests::guests;
use loadwright_tests::receivers::{Answer, OtlpReceiver, Prometheus};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::metrics::v1::{
    ExponentialHistogramDataPoint, metric, number_data_point,
};
use serde_json::Value;

use crate::cli::{host_command, text};

/// The classic buckets' bounds, as `output::export::prometheus` has them.
use loadwright_host::output::export::prometheus::CLASSIC_BOUNDS;

/// Runs `shop` against the demo target with 4 VUs for `seconds`, with `outputs`, writing
/// its summary to `DIR/RUN_ID.json`; returns the process' output and the summary.
async fn run_shop(dir: &Path, seconds: u32, run_id: &str, outputs: &[String]) -> (Output, Value) {
    run_shop_with(dir, seconds, run_id, outputs, &[]).await
}

/// [`run_shop`] with `env` in the environment.
async fn run_shop_with(
    dir: &Path,
    seconds: u32,
    run_id: &str,
    outputs: &[String],
    env: &[(&str, &str)],
) -> (Output, Value) {
    let summary = dir.join(format!("{run_id}.json"));
    let mut command = host_command();
    command.args(["run", guests::SHOP, "--target-demo", "--vus", "4", "-q"]);
    command.arg(format!("--duration={seconds}s"));
    command.arg(format!("--run-id={run_id}"));
    command.arg(format!("--out=json={}", summary.display()));
    for output in outputs {
        command.arg(format!("--out={output}"));
    }
    command.envs(env.iter().copied());
    let output = tokio::task::spawn_blocking(move || command.output().expect("run host"))
        .await
        .expect("join");
    assert!(output.status.success(), "{}", text(&output.stderr));
    let summary = std::fs::read_to_string(&summary).expect("summary");
    (
        output,
        serde_json::from_str(&summary).expect("summary JSON"),
    )
}

fn value(summary: &Value, metric: &str, value: &str) -> f64 {
    summary["metrics"][metric]["values"][value]
        .as_f64()
        .unwrap_or_else(|| panic!("{metric} {value} in {summary}"))
}

/// The `(sent, failed, dropped)` batches the run reported for `output`.
fn fared(stderr: &str, output: &str) -> (u64, u64, u64) {
    let line = stderr
        .lines()
        .find(|l| l.starts_with(output) && l.contains("batches sent"))
        .unwrap_or_else(|| panic!("no report of {output} in {stderr}"));
    let number = |word: &str| -> u64 {
        let before = line.split(word).next().expect("split");
        let n = before
            .trim_end()
            .rsplit([' ', ',', ':'])
            .next()
            .expect("number");
        n.parse().unwrap_or_else(|_| panic!("{word} in {line}"))
    };
    (
        number(" batches sent"),
        number(" failed"),
        number(" dropped"),
    )
}

/// The classic bounds around `seconds`: the largest below it and the smallest at or above
/// it (what `histogram_quantile` interpolates between).
fn classic_bucket(seconds: f64) -> (f64, f64) {
    let upper = CLASSIC_BOUNDS
        .iter()
        .copied()
        .find(|&b| b >= seconds)
        .unwrap_or(f64::INFINITY);
    let lower = CLASSIC_BOUNDS
        .iter()
        .copied()
        .rev()
        .find(|&b| b < seconds)
        .unwrap_or(0.0);
    (lower, upper)
}

/// Asserts `estimate` lies in the classic bucket of `p95` (seconds), either bucket when the
/// histogram's own precision (0.1 %) puts `p95` at a bound.
fn assert_in_classic_bucket(estimate: f64, p95: f64) {
    let (lower, _) = classic_bucket(p95 * 0.999);
    let (_, upper) = classic_bucket(p95 * 1.001);
    assert!(
        (lower..=upper).contains(&estimate),
        "the histogram's p95 {estimate} s is outside the bucket ({lower}, {upper}] of the summary's {p95} s"
    );
}

#[tokio::test]
async fn prometheus_remote_write_gives_the_summary_counts_and_percentiles() {
    let prometheus = Prometheus::start(true);
    let dir = tempfile::tempdir().expect("temp dir");
    let out = format!("prometheus-rw={}", prometheus.write_url());
    let (output, summary) = run_shop(dir.path(), 3, "rw-native", &[out]).await;
    let stderr = text(&output.stderr);
    let (sent, failed, dropped) = fared(&stderr, "prometheus-rw");
    assert!(sent >= 2 && failed == 0 && dropped == 0, "{stderr}");

    let requests = prometheus.query("sum(loadwright_http_reqs_total{run=\"rw-native\"})");
    assert_eq!(
        requests,
        Some(value(&summary, "http_reqs", "count")),
        "{}",
        prometheus.log()
    );
    let iterations =
        prometheus.query("loadwright_iterations_total{run=\"rw-native\",scenario=\"shop\"}");
    assert_eq!(iterations, Some(value(&summary, "iterations", "count")));

    let p95 = value(&summary, "http_req_duration", "p(95)") / 1000.0;
    let classic = prometheus
        .query("histogram_quantile(0.95, sum by (le) (loadwright_http_req_duration_seconds_bucket{run=\"rw-native\"}))")
        .expect("classic quantile");
    assert_in_classic_bucket(classic, p95);
    // Native buckets are 9 % wide (schema 3): the estimate is within one of the p95.
    let native = prometheus
        .query("histogram_quantile(0.95, sum(loadwright_http_req_duration_seconds{run=\"rw-native\"}))")
        .expect("native quantile");
    let ratio = native / p95;
    assert!(
        (1.0 / 1.095..=1.095).contains(&ratio),
        "native p95 {native} s, summary {p95} s"
    );
}

#[tokio::test]
async fn a_prometheus_without_native_histograms_gets_classic_buckets() {
    let prometheus = Prometheus::start(false);
    let dir = tempfile::tempdir().expect("temp dir");
    let out = format!("prometheus-rw={}", prometheus.write_url());
    let (output, summary) = run_shop(dir.path(), 2, "rw-classic", &[out]).await;
    let stderr = text(&output.stderr);
    let (sent, failed, _) = fared(&stderr, "prometheus-rw");
    assert!(sent >= 2 && failed == 0, "{stderr}");
    let requests = prometheus.query("sum(loadwright_http_reqs_total{run=\"rw-classic\"})");
    assert_eq!(requests, Some(value(&summary, "http_reqs", "count")));
    let p95 = value(&summary, "http_req_duration", "p(95)") / 1000.0;
    let classic = prometheus
        .query("histogram_quantile(0.95, sum by (le) (loadwright_http_req_duration_seconds_bucket{run=\"rw-classic\"}))")
        .expect("classic quantile");
    assert_in_classic_bucket(classic, p95);
    assert_eq!(
        prometheus.query("count(loadwright_http_req_duration_seconds{run=\"rw-classic\"})"),
        None,
        "no native histogram was stored"
    );
}

/// The sum of the cumulative counter `name`'s points in `export`.
fn counter(export: &ExportMetricsServiceRequest, name: &str) -> f64 {
    let metrics = &export.resource_metrics[0].scope_metrics[0].metrics;
    let metric = metrics
        .iter()
        .find(|m| m.name == name)
        .unwrap_or_else(|| panic!("{name}"));
    let Some(metric::Data::Sum(sum)) = &metric.data else {
        panic!("{name} is not a sum: {metric:?}");
    };
    sum.data_points
        .iter()
        .map(|p| match p.value {
            Some(number_data_point::Value::AsDouble(v)) => v,
            Some(number_data_point::Value::AsInt(v)) => v as f64,
            None => 0.0,
        })
        .sum()
}

/// The bounds (seconds) of the exponential bucket holding the `quantile` of every one of
/// `points` together (all of one scale).
fn exponential_bucket(points: &[ExponentialHistogramDataPoint], quantile: f64) -> (f64, f64) {
    let scale = points[0].scale;
    assert!(points.iter().all(|p| p.scale == scale), "one scale");
    let mut zeros = 0;
    let mut buckets = std::collections::BTreeMap::<i32, u64>::new();
    for point in points {
        zeros += point.zero_count;
        if let Some(positive) = &point.positive {
            for (i, count) in positive.bucket_counts.iter().enumerate() {
                *buckets.entry(positive.offset + i as i32).or_default() += count;
            }
        }
    }
    let total: u64 = zeros + buckets.values().sum::<u64>();
    let rank = (quantile * total as f64).ceil() as u64;
    let base = 2f64.powf(2f64.powi(-scale));
    let mut seen = zeros;
    if seen >= rank {
        return (0.0, 0.0);
    }
    for (index, count) in buckets {
        seen += count;
        if seen >= rank {
            return (base.powi(index), base.powi(index + 1));
        }
    }
    panic!("rank {rank} past the buckets of {points:?}");
}

#[tokio::test]
async fn otlp_gives_the_summary_counts_and_exponential_histograms() {
    let receiver = OtlpReceiver::start(Answer::Promptly).await;
    let dir = tempfile::tempdir().expect("temp dir");
    // Credentials in the URL go as basic authentication, and OpenTelemetry's variable adds
    // header fields.
    let url = receiver.url().replace("http://", "http://bench:s3cret@");
    let env = [("OTEL_EXPORTER_OTLP_HEADERS", "X-Scope-OrgID=acme")];
    let (output, summary) =
        run_shop_with(dir.path(), 3, "otlp-1", &[format!("otlp={url}")], &env).await;
    let stderr = text(&output.stderr);
    assert!(!stderr.contains("s3cret"), "{stderr}");
    assert_eq!(
        receiver.last_header("x-scope-orgid").as_deref(),
        Some("acme")
    );
    // base64 of "bench:s3cret"
    let basic = receiver.last_header("authorization");
    assert_eq!(basic.as_deref(), Some("Basic YmVuY2g6czNjcmV0"));
    let (sent, failed, dropped) = fared(&stderr, "otlp");
    let exports = receiver.exports();
    assert_eq!(sent, exports.len() as u64, "{stderr}");
    assert!(sent >= 2 && failed == 0 && dropped == 0, "{stderr}");

    let last = exports.last().expect("an export");
    let resource = last.resource_metrics[0]
        .resource
        .as_ref()
        .expect("resource");
    let run_id = resource
        .attributes
        .iter()
        .find(|a| a.key == "loadwright.run.id");
    assert!(format!("{run_id:?}").contains("otlp-1"), "{resource:?}");
    assert_eq!(
        counter(last, "loadwright.http_reqs"),
        value(&summary, "http_reqs", "count")
    );
    assert_eq!(
        counter(last, "loadwright.iterations"),
        value(&summary, "iterations", "count")
    );
    // Counters are cumulative: no export has more than the last.
    for export in &exports {
        assert!(counter(export, "loadwright.http_reqs") <= counter(last, "loadwright.http_reqs"));
    }

    let metrics = &last.resource_metrics[0].scope_metrics[0].metrics;
    let duration = metrics
        .iter()
        .find(|m| m.name == "loadwright.http_req_duration")
        .expect("duration");
    let Some(metric::Data::ExponentialHistogram(histogram)) = &duration.data else {
        panic!("not an exponential histogram: {duration:?}");
    };
    let count: u64 = histogram.data_points.iter().map(|p| p.count).sum();
    assert_eq!(count as f64, value(&summary, "http_req_duration", "count"));
    // Each request name has its own point; together, their p95 falls in the bucket of the
    // summary's (the HdrHistogram's own precision, 0.1 %, aside).
    let p95 = value(&summary, "http_req_duration", "p(95)") / 1000.0;
    let (lower, upper) = exponential_bucket(&histogram.data_points, 0.95);
    assert!(
        lower / 1.002 <= p95 && p95 <= upper * 1.002,
        "p95 {p95} s, bucket ({lower}, {upper}]"
    );
}

#[tokio::test]
async fn a_receiver_down_or_slow_never_holds_the_run_back() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (_, baseline) = run_shop(dir.path(), 3, "baseline", &[]).await;
    let rate = value(&baseline, "http_reqs", "rate");

    // Nothing listens on a port just let go.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let down = format!(
        "otlp=http://{}/v1/metrics",
        closed.local_addr().expect("addr")
    );
    drop(closed);
    let slow = OtlpReceiver::start(Answer::After(Duration::from_secs(60))).await;
    let outputs = [down, format!("otlp={}", slow.url())];
    let started = Instant::now();
    let (output, summary) = run_shop(dir.path(), 3, "troubled", &outputs).await;
    let took = started.elapsed();
    let stderr = text(&output.stderr);

    // Every batch to the closed port failed; the slow one took none, lost some to its
    // timeout and dropped the rest when the run gave up waiting for it.
    let reports: Vec<_> = stderr
        .lines()
        .filter(|l| l.contains("batches sent"))
        .collect();
    assert_eq!(reports.len(), 2, "{stderr}");
    let (sent, failed, _) = fared(reports[0], "otlp");
    assert!(sent == 0 && failed >= 3, "{stderr}");
    let (sent, _, dropped) = fared(reports[1], "otlp");
    assert!(sent == 0 && dropped >= 1, "{stderr}");
    assert!(slow.exports().is_empty());
    // The run waits at most 10 s after its end for its outputs.
    assert!(took < Duration::from_secs(3 + 10 + 15), "took {took:?}");
    // The load is not held back (the precise figure is measured by bench/outputs.py).
    let troubled = value(&summary, "http_reqs", "rate");
    assert!(
        troubled >= rate * 0.8,
        "{troubled}/s with troubled receivers, {rate}/s without"
    );
}
