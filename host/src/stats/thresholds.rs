//! Evaluating thresholds on the run's cumulative figures, histograms included, so any
//! `p(N)` is exact to the histogram's precision.

use super::metrics::{CustomKind, Metrics, PHASE_METRICS};
use super::snapshot::ThresholdResult;
use super::submetric::{SubMetrics, SubValue};
use super::trend::Trend;
use crate::config::{Aggregation, MetricKind, Threshold, builtin_kind};

/// A metric's aggregate, whatever its kind.
enum Value<'a> {
    Trend(&'a Trend),
    Rate {
        trues: u64,
        total: u64,
    },
    Counter(f64),
    Gauge(f64),
    /// No sample yet.
    Missing,
}

/// What thresholds read besides the metrics.
pub(crate) struct Context<'a> {
    pub metrics: &'a Metrics,
    pub subs: &'a SubMetrics,
    pub elapsed_secs: f64,
    pub vus: u32,
    pub vus_max: u32,
}

impl Context<'_> {
    fn value(&self, threshold: &Threshold) -> Value<'_> {
        let m = self.metrics;
        let selector = &threshold.selector;
        if !selector.tags.is_empty() {
            return match self.subs.index(selector).and_then(|i| m.sub.get(i)) {
                Some(SubValue::Trend(trend)) => Value::Trend(trend),
                Some(&SubValue::Rate { trues, total }) => Value::Rate { trues, total },
                Some(&SubValue::Counter(sum)) => Value::Counter(sum),
                Some(&SubValue::Gauge(value)) => Value::Gauge(value),
                // A built-in counter without samples counts 0, so `count>0` can fail.
                Some(SubValue::Empty) | None
                    if builtin_kind(&selector.metric) == Some(MetricKind::Counter) =>
                {
                    Value::Counter(0.0)
                }
                Some(SubValue::Empty) | None => Value::Missing,
            };
        }
        let trues_of = |failures: u64| Value::Rate {
            trues: failures,
            total: m.total.count,
        };
        match selector.metric.as_str() {
            "http_req_duration" => Value::Trend(&m.total.duration),
            "http_req_duration_corrected" => Value::Trend(&m.corrected),
            "http_req_failed" => trues_of(m.total.failures),
            "http_reqs" => Value::Counter(m.total.count as f64),
            "data_sent" => Value::Counter(m.total.bytes_sent as f64),
            "data_received" => Value::Counter(m.total.bytes_received as f64),
            "iterations" => Value::Counter(m.iterations as f64),
            "iteration_duration" => Value::Trend(&m.iteration_duration),
            "dropped_iterations" => Value::Counter(m.dropped_iterations as f64),
            "vus" => Value::Gauge(f64::from(self.vus)),
            "vus_max" => Value::Gauge(f64::from(self.vus_max)),
            "checks" => {
                let (passes, fails) = m
                    .checks
                    .values()
                    .fold((0, 0), |(p, f), (tp, tf)| (p + tp, f + tf));
                Value::Rate {
                    trues: passes,
                    total: passes + fails,
                }
            }
            name => {
                if let Some(i) = PHASE_METRICS.iter().position(|p| *p == name) {
                    return Value::Trend(&m.phases[i]);
                }
                match m.custom.get(name) {
                    None => Value::Missing,
                    Some(custom) => match (custom.kind, &custom.trend) {
                        (CustomKind::Trend, Some(trend)) => Value::Trend(trend),
                        (CustomKind::Trend, None) => Value::Missing,
                        (CustomKind::Counter, _) => Value::Counter(custom.value),
                        (CustomKind::Gauge, _) => Value::Gauge(custom.value),
                        (CustomKind::Rate, _) => Value::Rate {
                            trues: custom.value as u64,
                            total: custom.count,
                        },
                    },
                }
            }
        }
    }

    /// The verdict of `threshold` on these figures.
    pub(crate) fn evaluate(&self, threshold: &Threshold) -> ThresholdResult {
        let condition = threshold.condition;
        let kind_error = |kind: MetricKind| {
            format!(
                "{} is a {kind:?} metric: use {}",
                threshold.selector,
                Aggregation::names_for(kind)
            )
            .to_lowercase()
        };
        let measured: Result<Option<f64>, String> = match self.value(threshold) {
            Value::Missing => Ok(None),
            Value::Trend(trend) if trend.count() == 0 => Ok(None),
            Value::Trend(trend) => match condition.aggregation {
                Aggregation::Avg => Ok(Some(trend.mean())),
                Aggregation::Min => Ok(Some(trend.min())),
                Aggregation::Max => Ok(Some(trend.max())),
                Aggregation::Med => Ok(Some(trend.quantile(0.5))),
                Aggregation::Percentile(p) => Ok(Some(trend.quantile(p / 100.0))),
                _ => Err(kind_error(MetricKind::Trend)),
            },
            Value::Rate { total: 0, .. } => Ok(None),
            Value::Rate { trues, total } => match condition.aggregation {
                Aggregation::Rate => Ok(Some(trues as f64 / total as f64)),
                _ => Err(kind_error(MetricKind::Rate)),
            },
            Value::Counter(sum) => match condition.aggregation {
                Aggregation::Count => Ok(Some(sum)),
                Aggregation::Rate => Ok(Some(sum / self.elapsed_secs.max(1e-9))),
                _ => Err(kind_error(MetricKind::Counter)),
            },
            Value::Gauge(value) => match condition.aggregation {
                Aggregation::Value => Ok(Some(value)),
                _ => Err(kind_error(MetricKind::Gauge)),
            },
        };
        let (value, ok, error) = match measured {
            Ok(Some(value)) => (
                Some(value),
                condition.op.holds(value, condition.value),
                None,
            ),
            Ok(None) => (None, true, None),
            Err(error) => (None, false, Some(error)),
        };
        ThresholdResult {
            metric: threshold.selector.to_string(),
            expression: threshold.expression.clone(),
            value,
            ok,
            abort_on_fail: threshold.abort_on_fail,
            error,
        }
    }
}
