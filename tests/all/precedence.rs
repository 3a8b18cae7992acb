//! The operator is the authority: a component's own defaults may narrow what the command
//! line and the plan file allow, never widen it. And a component whose defaults are not a
//! plan is refused at load, by `inspect` too.

use std::process::Output;

use loadwright_tests::guests;
use loadwright_tests::target::Recorder;
use serde_json::Value;

use crate::cli::{host_run, plan_file, text};

/// Runs the widening guest against a local target with `flags`; returns the output, the
/// JSON summary and the requests the target saw.
fn widening(flags: &[&str]) -> (Output, Value, usize) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let target = runtime.block_on(Recorder::start());
    let dir = tempfile::tempdir().expect("temp dir");
    let json = dir.path().join("summary.json");
    let out_flag = format!("json={}", json.display());
    let url = target.url();
    let base = ["run", guests::WIDENING, "--host", &url, "--out", &out_flag];
    let out = host_run(&[&base[..], flags].concat());
    let summary = std::fs::read_to_string(&json)
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or(Value::Null);
    let seen = target.count("/ok");
    (out, summary, seen)
}

fn denied(summary: &Value) -> u64 {
    summary["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["kind"] == "denied")
        .filter_map(|e| e["count"].as_u64())
        .sum()
}

#[test]
fn a_components_egress_cannot_undo_the_operators() {
    // The component allows 127.0.0.0/8; --deny-private still refuses loopback.
    let (out, summary, seen) = widening(&["--iterations", "3", "--deny-private"]);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!((seen, denied(&summary)), (0, 3), "{stderr}");
    assert!(
        stderr.contains("egress     and the scenario's own: only 127.0.0.0/8, ::1"),
        "{stderr}"
    );
    // A deny rule of the operator is not removed by the component's allow rule.
    let (_, summary, seen) = widening(&["--iterations", "2", "--deny-host", "127.0.0.1"]);
    assert_eq!((seen, denied(&summary)), (0, 2));
    // Without operator rules, the component's own policy applies (and lets loopback in).
    let (_, summary, seen) = widening(&["--iterations", "2"]);
    assert_eq!((seen, denied(&summary)), (2, 0));
}

#[test]
fn a_components_limits_and_insecure_cannot_widen_the_operators() {
    let (_dir, plan) = plan_file(
        "plan.json",
        r#"{"scenarios": {"s": {"executor": "per-vu-iterations", "vus": 1, "iterations": 2,
            "exec": "spin"}}, "limits": {"cpuPerCall": "200ms"}}"#,
    );
    let started = std::time::Instant::now();
    let (out, summary, _) = widening(&["--plan", &plan]);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    // cpuPerCall 0s (none) from the component: ignored, the operator's 200ms holds.
    let errors = summary["iteration_errors"].to_string();
    assert!(errors.contains("cpu-limit"), "{errors}");
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    let limits = &summary["plan"]["limits"];
    assert_eq!(limits["cpuPerCall"], "200ms", "{limits}");
    assert_eq!(
        limits["iterationTimeout"], "2m",
        "the component's 1h is not taken"
    );
    assert_eq!(limits["maxRequestNames"], 1000, "nor its million names");
    assert!(summary["plan"]["tls"].is_null(), "nor its insecure TLS");
    assert!(
        stderr.contains("⚠ ignored  the scenario's limits"),
        "{stderr}"
    );
    assert!(
        stderr.contains("⚠ ignored  the scenario's tls.insecure"),
        "{stderr}"
    );
    assert!(
        stderr.contains("limits     cpu per call 200ms, memory 64 MiB, iteration 2m"),
        "{stderr}"
    );
}

#[test]
fn a_default_plan_that_is_not_a_plan_is_refused_at_load() {
    for command in ["inspect", "run"] {
        let out = host_run(&[command, guests::BAD_PLAN]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{command}: {stderr}");
        assert!(
            stderr.contains("default plan (from options) is invalid")
                && stderr.contains("over the 262144 a plan may have"),
            "{command}: {stderr}"
        );
        assert!(
            out.stdout.len() < 4096,
            "{command}: nothing of it is printed"
        );
    }
}
