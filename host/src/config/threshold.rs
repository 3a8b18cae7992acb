//! Thresholds in k6's syntax: `http_req_duration{name:login}` with `p(99)<300`.
//!
//! Parsing and checking against the built-in metrics' kinds happen here, on pure data;
//! `stats` evaluates them.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::ConfigError;
use super::duration::serde_text;

/// The kind of a metric, which decides the aggregations a threshold may use (k6's four).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MetricKind {
    /// A sum: `count`, `rate` (per second).
    Counter,
    /// A last value: `value`.
    Gauge,
    /// A ratio of true samples: `rate`.
    Rate,
    /// A distribution: `avg`, `min`, `med`, `max`, `p(N)`.
    Trend,
}

/// The built-in metrics and their kinds (k6's names; `http_req_dns` and
/// `http_req_duration_corrected` are ours).
pub const BUILTIN_METRICS: &[(&str, MetricKind)] = &[
    ("checks", MetricKind::Rate),
    ("data_received", MetricKind::Counter),
    ("data_sent", MetricKind::Counter),
    ("dropped_iterations", MetricKind::Counter),
    ("http_req_blocked", MetricKind::Trend),
    ("http_req_connecting", MetricKind::Trend),
    ("http_req_dns", MetricKind::Trend),
    ("http_req_duration", MetricKind::Trend),
    ("http_req_duration_corrected", MetricKind::Trend),
    ("http_req_failed", MetricKind::Rate),
    ("http_req_receiving", MetricKind::Trend),
    ("http_req_sending", MetricKind::Trend),
    ("http_req_tls_handshaking", MetricKind::Trend),
    ("http_req_waiting", MetricKind::Trend),
    ("http_reqs", MetricKind::Counter),
    ("iteration_duration", MetricKind::Trend),
    ("iterations", MetricKind::Counter),
    ("vus", MetricKind::Gauge),
    ("vus_max", MetricKind::Gauge),
];

/// The kind of the built-in metric `name`, if it is one.
pub fn builtin_kind(name: &str) -> Option<MetricKind> {
    BUILTIN_METRICS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, kind)| *kind)
}

/// A metric, or a sub-metric: the metric's samples whose tags have the given values.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MetricSelector {
    /// Metric name.
    pub metric: String,
    /// Tag filters, sorted by key; empty for the whole metric.
    pub tags: Vec<(String, String)>,
}

impl MetricSelector {
    /// Reads `name` or `name{tag:value,tag:value}`.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let text = text.trim();
        let bad = |why: &str| {
            ConfigError::Invalid(format!(
                "threshold metric {text:?}: {why}; write it as `metric` or `metric{{tag:value}}`"
            ))
        };
        let (metric, tags) = match text.split_once('{') {
            None => (text, Vec::new()),
            Some((metric, rest)) => {
                let inner = rest.strip_suffix('}').ok_or_else(|| bad("missing `}`"))?;
                let mut tags = inner
                    .split(',')
                    .map(|pair| {
                        let (key, value) = pair
                            .split_once(':')
                            .ok_or_else(|| bad("a tag filter needs `tag:value`"))?;
                        let (key, value) = (key.trim(), unquote(value.trim()));
                        if key.is_empty() {
                            return Err(bad("a tag name is empty"));
                        }
                        Ok((key.to_owned(), value.to_owned()))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                tags.sort();
                (metric.trim(), tags)
            }
        };
        let valid = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-';
        if metric.is_empty() || !metric.chars().all(valid) {
            return Err(bad("metric names use letters, digits, `_`, `.` and `-`"));
        }
        Ok(Self {
            metric: metric.to_owned(),
            tags,
        })
    }
}

fn unquote(value: &str) -> &str {
    value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
        .unwrap_or(value)
}

impl fmt::Display for MetricSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.metric)?;
        if !self.tags.is_empty() {
            let tags: Vec<String> = self.tags.iter().map(|(k, v)| format!("{k}:{v}")).collect();
            write!(f, "{{{}}}", tags.join(","))?;
        }
        Ok(())
    }
}

/// What a threshold measures of its metric.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Aggregation {
    /// Trend mean.
    Avg,
    /// Trend minimum.
    Min,
    /// Trend maximum.
    Max,
    /// Trend median.
    Med,
    /// Trend percentile, 0 to 100.
    Percentile(f64),
    /// Rate ratio, or counter per second.
    Rate,
    /// Counter sum.
    Count,
    /// Gauge value.
    Value,
}

impl Aggregation {
    fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "avg" => Self::Avg,
            "min" => Self::Min,
            "max" => Self::Max,
            "med" => Self::Med,
            "rate" => Self::Rate,
            "count" => Self::Count,
            "value" => Self::Value,
            _ => {
                let inner = text.strip_prefix("p(")?.strip_suffix(')')?;
                let p: f64 = inner.trim().parse().ok()?;
                if !(0.0..=100.0).contains(&p) {
                    return None;
                }
                Self::Percentile(p)
            }
        })
    }

    /// Whether a metric of `kind` has this aggregation.
    pub fn fits(self, kind: MetricKind) -> bool {
        match kind {
            MetricKind::Trend => matches!(
                self,
                Self::Avg | Self::Min | Self::Max | Self::Med | Self::Percentile(_)
            ),
            MetricKind::Rate => self == Self::Rate,
            MetricKind::Counter => matches!(self, Self::Count | Self::Rate),
            MetricKind::Gauge => self == Self::Value,
        }
    }

    /// The aggregations a metric of `kind` has, for messages.
    pub fn names_for(kind: MetricKind) -> &'static str {
        match kind {
            MetricKind::Trend => "avg, min, med, max, p(N)",
            MetricKind::Rate => "rate",
            MetricKind::Counter => "count, rate",
            MetricKind::Gauge => "value",
        }
    }
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `==` (or k6's `===`)
    Eq,
    /// `!=`
    Ne,
}

impl Op {
    /// Whether `left op right` holds.
    pub fn holds(self, left: f64, right: f64) -> bool {
        match self {
            Self::Lt => left < right,
            Self::Le => left <= right,
            Self::Gt => left > right,
            Self::Ge => left >= right,
            Self::Eq => left == right,
            Self::Ne => left != right,
        }
    }
}

/// `aggregation op value`, as in `p(95)<500`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Condition {
    /// What is measured.
    pub aggregation: Aggregation,
    /// How it is compared.
    pub op: Op,
    /// The bound (milliseconds for time trends).
    pub value: f64,
}

impl Condition {
    /// Reads `p(95)<500`, `rate < 0.01`, `count>=10`.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        let bad = || {
            ConfigError::Invalid(format!(
                "threshold {text:?}: write it as AGGREGATION OPERATOR NUMBER, like p(95)<500, \
                 avg<200, rate<0.01 or count>100 (aggregations: avg, min, med, max, p(N), rate, \
                 count, value; operators: < <= > >= == !=)"
            ))
        };
        let at = compact.find(['<', '>', '=', '!']).ok_or_else(bad)?;
        let (aggregation, rest) = compact.split_at(at);
        let (op, value) = [
            ("<=", Op::Le),
            (">=", Op::Ge),
            ("===", Op::Eq),
            ("==", Op::Eq),
            ("!=", Op::Ne),
            ("<", Op::Lt),
            (">", Op::Gt),
        ]
        .iter()
        .find_map(|(sign, op)| rest.strip_prefix(sign).map(|value| (*op, value)))
        .ok_or_else(bad)?;
        let value: f64 = value.parse().map_err(|_| bad())?;
        if !value.is_finite() {
            return Err(bad());
        }
        Ok(Self {
            aggregation: Aggregation::parse(aggregation).ok_or_else(bad)?,
            op,
            value,
        })
    }
}

/// One threshold of a plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    /// The metric or sub-metric it watches.
    pub selector: MetricSelector,
    /// The expression as written (`p(95)<500`).
    pub expression: String,
    /// The parsed expression.
    pub condition: Condition,
    /// Stop the run as soon as the threshold fails.
    pub abort_on_fail: bool,
    /// With `abort_on_fail`: time after the start before it is evaluated for aborting.
    pub delay_abort_eval: Duration,
}

impl Threshold {
    /// A threshold on `metric` (with its tag filters) with the expression `expression`,
    /// checked against the built-in metrics' kinds.
    pub fn new(metric: &str, expression: &str) -> Result<Self, ConfigError> {
        let selector = MetricSelector::parse(metric)?;
        let condition = Condition::parse(expression)?;
        if let Some(kind) = builtin_kind(&selector.metric)
            && !condition.aggregation.fits(kind)
        {
            return Err(ConfigError::Invalid(format!(
                "threshold {selector}: {expression:?} does not apply to a {kind:?} metric; \
                 use {}",
                Aggregation::names_for(kind)
            )));
        }
        if matches!(selector.metric.as_str(), "vus" | "vus_max") && !selector.tags.is_empty() {
            return Err(ConfigError::Invalid(format!(
                "threshold {selector}: {} has no sub-metrics; drop the tag filter",
                selector.metric
            )));
        }
        Ok(Self {
            selector,
            expression: expression.trim().to_owned(),
            condition,
            abort_on_fail: false,
            delay_abort_eval: Duration::ZERO,
        })
    }

    /// Reads the command line's `METRIC: EXPRESSION` (`http_req_duration{name:a}: p(95)<200`).
    pub fn parse_flag(text: &str) -> Result<Self, ConfigError> {
        // The metric ends at the first `:` outside its braces.
        let mut depth = 0i32;
        let split = text.char_indices().find_map(|(i, c)| {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ':' if depth == 0 => return Some(i),
                _ => {}
            }
            None
        });
        let Some(at) = split else {
            return Err(ConfigError::Invalid(format!(
                "threshold {text:?}: write it as METRIC: EXPRESSION, like \
                 'http_req_duration{{name:login}}: p(99)<300'"
            )));
        };
        Self::new(&text[..at], &text[at + 1..])
    }
}

/// A threshold as the plan document writes it: a string, or an object with options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ThresholdDocument {
    /// `"p(95)<500"`.
    Expression(String),
    /// `{"threshold": "p(95)<500", "abortOnFail": true, "delayAbortEval": "10s"}`.
    #[serde(rename_all = "camelCase")]
    Full {
        /// The expression.
        threshold: String,
        /// Stop the run as soon as it fails.
        #[serde(default)]
        abort_on_fail: bool,
        /// Time after the start before an abort is considered.
        #[serde(
            default,
            with = "serde_text::option",
            skip_serializing_if = "Option::is_none"
        )]
        delay_abort_eval: Option<Duration>,
    },
}

impl ThresholdDocument {
    /// The threshold it describes, on `metric`.
    pub fn resolve(&self, metric: &str) -> Result<Threshold, ConfigError> {
        match self {
            Self::Expression(expression) => Threshold::new(metric, expression),
            Self::Full {
                threshold,
                abort_on_fail,
                delay_abort_eval,
            } => {
                let mut resolved = Threshold::new(metric, threshold)?;
                resolved.abort_on_fail = *abort_on_fail;
                resolved.delay_abort_eval = delay_abort_eval.unwrap_or_default();
                Ok(resolved)
            }
        }
    }

    /// The document form of `threshold`.
    pub fn of(threshold: &Threshold) -> Self {
        if !threshold.abort_on_fail && threshold.delay_abort_eval.is_zero() {
            return Self::Expression(threshold.expression.clone());
        }
        Self::Full {
            threshold: threshold.expression.clone(),
            abort_on_fail: threshold.abort_on_fail,
            delay_abort_eval: (!threshold.delay_abort_eval.is_zero())
                .then_some(threshold.delay_abort_eval),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn k6_threshold_syntax_is_read() {
        let t = Threshold::parse_flag("http_req_duration{name:login}: p(99) < 300").unwrap();
        assert_eq!(t.selector.metric, "http_req_duration");
        assert_eq!(t.selector.tags, vec![("name".into(), "login".into())]);
        assert_eq!(t.condition.aggregation, Aggregation::Percentile(99.0));
        assert_eq!(t.condition.op, Op::Lt);
        assert_eq!(t.condition.value, 300.0);
        assert_eq!(t.selector.to_string(), "http_req_duration{name:login}");

        let t = Threshold::new("checks", "rate>0.99").unwrap();
        assert_eq!(
            (t.condition.aggregation, t.condition.op),
            (Aggregation::Rate, Op::Gt)
        );
        let t = Threshold::new("http_reqs{status: \"200\", method:GET}", "count>=10").unwrap();
        assert_eq!(
            t.selector.tags,
            vec![
                ("method".into(), "GET".into()),
                ("status".into(), "200".into())
            ]
        );
        let t = Threshold::new("my_counter", "count===3").unwrap();
        assert_eq!(t.condition.op, Op::Eq);
        assert_eq!(
            Condition::parse("p(99.9)<=1.5").unwrap().aggregation,
            Aggregation::Percentile(99.9)
        );
    }

    #[test]
    fn wrong_thresholds_say_what_to_write() {
        let cases = [
            (
                "http_req_duration",
                "rate<1",
                "use avg, min, med, max, p(N)",
            ),
            ("http_req_failed", "p(95)<1", "use rate"),
            ("http_req_duration", "p(95)", "AGGREGATION OPERATOR NUMBER"),
            (
                "http_req_duration",
                "p(101)<3",
                "AGGREGATION OPERATOR NUMBER",
            ),
            (
                "http_req_duration",
                "avg<fast",
                "AGGREGATION OPERATOR NUMBER",
            ),
            ("http_req_duration{name}", "avg<1", "tag:value"),
            ("http_req_duration{name:a", "avg<1", "missing `}`"),
            ("vus{scenario:a}", "value<3", "no sub-metrics"),
        ];
        for (metric, expression, message) in cases {
            let err = Threshold::new(metric, expression).unwrap_err().to_string();
            assert!(err.contains(message), "{metric} {expression}: {err}");
        }
        let err = Threshold::parse_flag("p(95)<3").unwrap_err().to_string();
        assert!(err.contains("METRIC: EXPRESSION"), "{err}");
    }

    #[test]
    fn documents_accept_strings_and_objects() {
        let list: Vec<ThresholdDocument> = serde_json::from_str(
            r#"["p(95)<500", {"threshold": "p(99)<900", "abortOnFail": true, "delayAbortEval": "10s"}]"#,
        )
        .unwrap();
        let second = list[1].resolve("http_req_duration").unwrap();
        assert!(second.abort_on_fail);
        assert_eq!(second.delay_abort_eval, Duration::from_secs(10));
        assert_eq!(ThresholdDocument::of(&second), list[1]);
        let first = list[0].resolve("http_req_duration").unwrap();
        assert_eq!(ThresholdDocument::of(&first), list[0]);
    }
}
