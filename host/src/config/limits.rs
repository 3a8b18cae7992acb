//! The sandbox's limits for one run: what a scenario may consume before it costs it a
//! counted failure. Each has a default; a plan (and, in server mode, a tenant's caps) can
//! change it. `docs/security.md` lists them.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::ConfigError;
use super::duration::serde_text;

/// Limits of one run. Field names are the plan document's (`"limits": {"cpuPerCall": "5s"}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Limits {
    /// Guest CPU time one call may use (an iteration, a hook), time spent waiting on the host
    /// (requests, sleeps) not counted. Past it the call traps with `cpu-limit`. `0s` turns
    /// the meter off (a guest computing still yields to others every 10 ms).
    #[serde(with = "serde_text")]
    pub cpu_per_call: Duration,
    /// Linear memory of one instance, in bytes. Growing past it fails (the guest may handle
    /// that); a trap that follows counts as `memory-limit`.
    pub memory_bytes: u64,
    /// Wall-clock time of one iteration, requests and sleeps included; past it the iteration
    /// fails with `iteration-timeout` and the VU starts over.
    #[serde(with = "serde_text")]
    pub iteration_timeout: Duration,
    /// Wall-clock time of one hook call (`on-vu-start`, `on-test-start`, ...).
    #[serde(with = "serde_text")]
    pub hook_timeout: Duration,
    /// Wall-clock time of the whole run; past it the run stops (gracefully). `0s`: no limit.
    #[serde(with = "serde_text")]
    pub run_timeout: Duration,
    /// Bytes of log text kept for the run; further lines are dropped and counted.
    pub log_bytes: u64,
    /// Bytes of log text one VU may write over the run; further lines are dropped and counted.
    pub log_bytes_per_vu: u64,
    /// Largest response body handed to a guest; a larger one fails with `body-too-large`.
    pub max_response_bytes: u64,
    /// Largest request body a guest may send; a larger one fails with `invalid-request`.
    pub max_request_bytes: u64,
    /// Most requests one VU may have in flight at once (a `batch`); past it the extra ones
    /// fail with `too-many-requests`.
    pub max_batch: u32,
    /// Most VUs of the run, all scenarios together.
    #[serde(rename = "maxVUs")]
    pub max_vus: u32,
    /// Distinct request rows (method and name) the stats keep; requests with new names past
    /// it are counted under one `(overflow)` row.
    pub max_request_names: u32,
    /// Distinct custom metrics; samples of new ones past it are dropped and counted.
    pub max_metric_names: u32,
    /// Distinct checks; new ones past it are counted under one `(overflow)` check.
    pub max_check_names: u32,
    /// Longest name (request, check, metric, tag) kept, in bytes; longer ones are cut.
    pub max_name_bytes: u32,
    /// Most header fields a request may have; more fail with `invalid-request`.
    pub max_request_headers: u32,
    /// Most bytes of header fields (names and values) a request may have.
    pub max_request_header_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            cpu_per_call: Duration::from_secs(5),
            memory_bytes: 64 << 20,
            iteration_timeout: Duration::from_secs(120),
            hook_timeout: Duration::from_secs(60),
            run_timeout: Duration::ZERO,
            log_bytes: 10 << 20,
            log_bytes_per_vu: 1 << 20,
            max_response_bytes: 16 << 20,
            max_request_bytes: 16 << 20,
            max_batch: 64,
            max_vus: 50_000,
            max_request_names: 1_000,
            max_metric_names: 200,
            max_check_names: 1_000,
            max_name_bytes: 256,
            max_request_headers: 100,
            max_request_header_bytes: 64 << 10,
        }
    }
}

impl Limits {
    /// Checks that every limit leaves room to run; the message says what to change.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |message: String| Err(ConfigError::Invalid(format!("limits: {message}")));
        if !self.cpu_per_call.is_zero() && self.cpu_per_call < Duration::from_millis(10) {
            return invalid(
                "cpuPerCall must be at least 10ms (the CPU clock ticks every 10ms), or 0s for \
                 no limit"
                    .into(),
            );
        }
        if self.memory_bytes < 1 << 20 {
            return invalid(format!(
                "memoryBytes {} is under 1 MiB; a guest needs at least that",
                self.memory_bytes
            ));
        }
        for (name, value) in [
            ("iterationTimeout", self.iteration_timeout),
            ("hookTimeout", self.hook_timeout),
        ] {
            if value.is_zero() {
                return invalid(format!("{name} must be longer than 0s"));
            }
        }
        if self.max_batch == 0 || self.max_vus == 0 {
            return invalid("maxBatch and maxVUs must be at least 1".into());
        }
        if self.max_request_names == 0 || self.max_metric_names == 0 || self.max_check_names == 0 {
            return invalid(
                "maxRequestNames, maxMetricNames and maxCheckNames must be at least 1".into(),
            );
        }
        if self.max_name_bytes < 16 {
            return invalid(format!(
                "maxNameBytes {} is too short for a name; use at least 16",
                self.max_name_bytes
            ));
        }
        Ok(())
    }

    /// For each limit, the stricter of these and `other`'s: what a component's own
    /// defaults may do to the operator's limits (narrow them, never widen them). For
    /// `cpuPerCall` and `runTimeout`, `0s` means none, the widest.
    pub fn stricter(&self, other: &Limits) -> Limits {
        let none_is_widest = |a: Duration, b: Duration| match (a.is_zero(), b.is_zero()) {
            (true, _) => b,
            (_, true) => a,
            _ => a.min(b),
        };
        Limits {
            cpu_per_call: none_is_widest(self.cpu_per_call, other.cpu_per_call),
            memory_bytes: self.memory_bytes.min(other.memory_bytes),
            iteration_timeout: self.iteration_timeout.min(other.iteration_timeout),
            hook_timeout: self.hook_timeout.min(other.hook_timeout),
            run_timeout: none_is_widest(self.run_timeout, other.run_timeout),
            log_bytes: self.log_bytes.min(other.log_bytes),
            log_bytes_per_vu: self.log_bytes_per_vu.min(other.log_bytes_per_vu),
            max_response_bytes: self.max_response_bytes.min(other.max_response_bytes),
            max_request_bytes: self.max_request_bytes.min(other.max_request_bytes),
            max_batch: self.max_batch.min(other.max_batch),
            max_vus: self.max_vus.min(other.max_vus),
            max_request_names: self.max_request_names.min(other.max_request_names),
            max_metric_names: self.max_metric_names.min(other.max_metric_names),
            max_check_names: self.max_check_names.min(other.max_check_names),
            max_name_bytes: self.max_name_bytes.min(other.max_name_bytes),
            max_request_headers: self.max_request_headers.min(other.max_request_headers),
            max_request_header_bytes: self
                .max_request_header_bytes
                .min(other.max_request_header_bytes),
        }
    }

    /// These limits under a tenant's `caps` (server mode), where each field of `caps` is the
    /// most a run of the tenant may have. A limit left at its default is lowered to the cap;
    /// one the run raised past the cap is refused, naming the field. For `cpuPerCall` and
    /// `runTimeout`, `0s` means "none", so it is past any cap but `0s`.
    pub fn capped_by(&self, caps: &Limits) -> Result<Limits, ConfigError> {
        let defaults = Limits::default();
        let mut out = self.clone();
        let mut refused = Vec::new();
        let mut cap = |name: &str, value: &mut u128, default: u128, cap: u128| {
            if *value > cap {
                if *value == default {
                    *value = cap;
                } else {
                    refused.push(format!("{name} (at most {})", shown(name, cap)));
                }
            }
        };
        // Durations in nanoseconds, "none" as the largest value.
        let time = |d: Duration, zero_is_none: bool| {
            if zero_is_none && d.is_zero() {
                u128::MAX
            } else {
                d.as_nanos()
            }
        };
        let untime = |n: u128| {
            if n == u128::MAX {
                Duration::ZERO
            } else {
                Duration::from_nanos(n as u64)
            }
        };
        for (name, value, default, ceiling, zero_is_none) in [
            (
                "cpuPerCall",
                &mut out.cpu_per_call,
                defaults.cpu_per_call,
                caps.cpu_per_call,
                true,
            ),
            (
                "iterationTimeout",
                &mut out.iteration_timeout,
                defaults.iteration_timeout,
                caps.iteration_timeout,
                false,
            ),
            (
                "hookTimeout",
                &mut out.hook_timeout,
                defaults.hook_timeout,
                caps.hook_timeout,
                false,
            ),
            (
                "runTimeout",
                &mut out.run_timeout,
                defaults.run_timeout,
                caps.run_timeout,
                true,
            ),
        ] {
            let mut v = time(*value, zero_is_none);
            cap(
                name,
                &mut v,
                time(default, zero_is_none),
                time(ceiling, zero_is_none),
            );
            *value = untime(v);
        }
        for (name, value, default, ceiling) in [
            (
                "memoryBytes",
                &mut out.memory_bytes,
                defaults.memory_bytes,
                caps.memory_bytes,
            ),
            (
                "logBytes",
                &mut out.log_bytes,
                defaults.log_bytes,
                caps.log_bytes,
            ),
            (
                "logBytesPerVu",
                &mut out.log_bytes_per_vu,
                defaults.log_bytes_per_vu,
                caps.log_bytes_per_vu,
            ),
            (
                "maxResponseBytes",
                &mut out.max_response_bytes,
                defaults.max_response_bytes,
                caps.max_response_bytes,
            ),
            (
                "maxRequestBytes",
                &mut out.max_request_bytes,
                defaults.max_request_bytes,
                caps.max_request_bytes,
            ),
            (
                "maxRequestHeaderBytes",
                &mut out.max_request_header_bytes,
                defaults.max_request_header_bytes,
                caps.max_request_header_bytes,
            ),
        ] {
            let mut v = u128::from(*value);
            cap(name, &mut v, u128::from(default), u128::from(ceiling));
            *value = v as u64;
        }
        for (name, value, default, ceiling) in [
            (
                "maxBatch",
                &mut out.max_batch,
                defaults.max_batch,
                caps.max_batch,
            ),
            ("maxVUs", &mut out.max_vus, defaults.max_vus, caps.max_vus),
            (
                "maxRequestNames",
                &mut out.max_request_names,
                defaults.max_request_names,
                caps.max_request_names,
            ),
            (
                "maxMetricNames",
                &mut out.max_metric_names,
                defaults.max_metric_names,
                caps.max_metric_names,
            ),
            (
                "maxCheckNames",
                &mut out.max_check_names,
                defaults.max_check_names,
                caps.max_check_names,
            ),
            (
                "maxNameBytes",
                &mut out.max_name_bytes,
                defaults.max_name_bytes,
                caps.max_name_bytes,
            ),
            (
                "maxRequestHeaders",
                &mut out.max_request_headers,
                defaults.max_request_headers,
                caps.max_request_headers,
            ),
        ] {
            let mut v = u128::from(*value);
            cap(name, &mut v, u128::from(default), u128::from(ceiling));
            *value = v as u32;
        }
        if refused.is_empty() {
            Ok(out)
        } else {
            Err(ConfigError::Invalid(format!(
                "limits past the tenant's caps: {}",
                refused.join(", ")
            )))
        }
    }
}

/// A capped value for a message: durations as text, "none" for no limit.
fn shown(name: &str, value: u128) -> String {
    let is_time = matches!(
        name,
        "cpuPerCall" | "iterationTimeout" | "hookTimeout" | "runTimeout"
    );
    match (is_time, value) {
        (true, u128::MAX) => "none".into(),
        (true, nanos) => super::format_duration(Duration::from_nanos(nanos as u64)),
        (false, n) => n.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_read_with_defaults_for_what_is_left_out() {
        let limits: Limits =
            serde_json::from_str(r#"{"cpuPerCall": "200ms", "maxVUs": 10}"#).unwrap();
        assert_eq!(limits.cpu_per_call, Duration::from_millis(200));
        assert_eq!(limits.max_vus, 10);
        assert_eq!(limits.memory_bytes, Limits::default().memory_bytes);
        assert!(serde_json::from_str::<Limits>(r#"{"cpu": "1s"}"#).is_err());
        let tiny = Limits {
            cpu_per_call: Duration::from_millis(1),
            ..Limits::default()
        };
        let err = tiny.validate().unwrap_err().to_string();
        assert!(err.contains("cpuPerCall must be at least 10ms"), "{err}");
    }

    #[test]
    fn a_component_may_narrow_limits_but_never_widen_them() {
        let operator = Limits {
            cpu_per_call: Duration::from_secs(2),
            iteration_timeout: Duration::from_secs(30),
            ..Limits::default()
        };
        let component = Limits {
            cpu_per_call: Duration::ZERO,
            iteration_timeout: Duration::from_secs(3600),
            memory_bytes: 8 << 20,
            max_request_names: 1_000_000,
            ..Limits::default()
        };
        let effective = operator.stricter(&component);
        assert_eq!(
            effective.cpu_per_call,
            Duration::from_secs(2),
            "0s is no limit"
        );
        assert_eq!(effective.iteration_timeout, Duration::from_secs(30));
        assert_eq!(effective.memory_bytes, 8 << 20, "narrowing is kept");
        assert_eq!(effective.max_request_names, 1_000);
        let unmetered = Limits {
            cpu_per_call: Duration::ZERO,
            ..Limits::default()
        };
        assert_eq!(
            unmetered.stricter(&component).cpu_per_call,
            Duration::ZERO,
            "an operator may turn the meter off"
        );
    }

    #[test]
    fn caps_lower_defaults_and_refuse_what_a_run_raised() {
        let caps = Limits {
            cpu_per_call: Duration::from_secs(1),
            max_vus: 100,
            run_timeout: Duration::from_secs(600),
            ..Limits::default()
        };
        // Defaults above a cap come down to it; the rest stay.
        let capped = Limits::default().capped_by(&caps).unwrap();
        assert_eq!(capped.cpu_per_call, Duration::from_secs(1));
        assert_eq!(capped.max_vus, 100);
        assert_eq!(
            capped.run_timeout,
            Duration::from_secs(600),
            "no run timeout is past a cap"
        );
        assert_eq!(capped.memory_bytes, Limits::default().memory_bytes);
        // Values under the caps pass as they are.
        let modest = Limits {
            max_vus: 10,
            cpu_per_call: Duration::from_millis(100),
            ..Limits::default()
        };
        assert_eq!(modest.capped_by(&caps).unwrap().max_vus, 10);
        // Raised past a cap: refused, every such field named.
        let greedy = Limits {
            max_vus: 1000,
            cpu_per_call: Duration::ZERO,
            ..Limits::default()
        };
        let err = greedy.capped_by(&caps).unwrap_err().to_string();
        assert!(err.contains("maxVUs (at most 100)"), "{err}");
        assert!(err.contains("cpuPerCall (at most 1s)"), "{err}");
        // A tenant without caps beyond the defaults takes any run.
        assert!(
            greedy
                .capped_by(&Limits {
                    cpu_per_call: Duration::ZERO,
                    max_vus: 1000,
                    ..Limits::default()
                })
                .is_ok()
        );
    }
}
