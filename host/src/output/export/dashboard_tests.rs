//! `deploy/grafana/loadwright.json` against what the outputs produce: every metric its
//! queries name is one that remote write sends for a run that recorded a bit of everything,
//! and the dashboard holds together (unique panel ids, every variable defined).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use super::RunLabels;
use super::remote_write::write_request;
use crate::http::Timings;
use crate::stats::{Collector, IterationOutcome, RequestSample, Scope};

const DASHBOARD: &str = include_str!("../../../../deploy/grafana/loadwright.json");

/// The metric names remote write sends for a run with requests (one failed), phases,
/// checks and iterations.
fn produced() -> BTreeSet<String> {
    let collector = Collector::new();
    let recorder = collector.recorder(Arc::new(Scope::default()));
    let phases = Timings {
        waiting: Duration::from_millis(3),
        ..Timings::default()
    };
    for (status, failure) in [(200, None), (503, Some("status-503"))] {
        recorder.request(&RequestSample {
            method: "GET",
            name: "home",
            status,
            duration: Duration::from_millis(4),
            phases: Some(&phases),
            failure,
            bytes_sent: 10,
            bytes_received: 100,
            body_bytes: 40,
            tags: &[],
            expected_interval: None,
            connection: None,
        });
    }
    recorder.check("home is up", true, &[]);
    recorder.iteration(IterationOutcome::Completed, Duration::from_millis(5));
    let labels = RunLabels {
        run: "r".into(),
        scenario: "s".into(),
        started_at: std::time::UNIX_EPOCH,
    };
    write_request(&collector.exposition(), &labels, true)
        .timeseries
        .iter()
        .flat_map(|t| &t.labels)
        .filter(|l| l.name == "__name__")
        .map(|l| l.value.clone())
        .collect()
}

/// Every string of `value` under one of `keys`, depth first.
fn strings_under<'a>(value: &'a Value, keys: &[&str], out: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                match child {
                    Value::String(text) if keys.contains(&key.as_str()) => out.push(text),
                    _ => strings_under(child, keys, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| strings_under(i, keys, out)),
        _ => {}
    }
}

/// The words of `text` made of `[a-z0-9_]` that start with `prefix`.
fn words<'a>(text: &'a str, prefix: &str) -> Vec<&'a str> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with(prefix))
        .collect()
}

#[test]
fn the_dashboard_queries_only_metrics_the_outputs_produce() {
    let dashboard: Value = serde_json::from_str(DASHBOARD).expect("the dashboard is JSON");
    let mut queries = Vec::new();
    strings_under(&dashboard, &["expr", "query", "definition"], &mut queries);
    let named: BTreeSet<&str> = queries
        .iter()
        .flat_map(|q| words(q, "loadwright_"))
        .collect();
    let produced = produced();
    let unknown: Vec<_> = named.iter().filter(|n| !produced.contains(**n)).collect();
    assert!(
        unknown.is_empty(),
        "not produced: {unknown:?}; produced: {produced:?}"
    );
    for core in [
        "loadwright_http_reqs_total",
        "loadwright_http_req_failed_total",
        "loadwright_http_req_duration_seconds_bucket",
        "loadwright_vus",
    ] {
        assert!(named.contains(core), "the dashboard shows no {core}");
    }
}

#[test]
fn the_dashboard_holds_together() {
    let dashboard: Value = serde_json::from_str(DASHBOARD).expect("the dashboard is JSON");
    assert_eq!(dashboard["uid"], "loadwright");
    let panels = dashboard["panels"].as_array().expect("panels");
    let ids: BTreeSet<u64> = panels.iter().filter_map(|p| p["id"].as_u64()).collect();
    assert_eq!(ids.len(), panels.len(), "panel ids are unique");
    let defined: BTreeSet<&str> = dashboard["templating"]["list"]
        .as_array()
        .expect("variables")
        .iter()
        .filter_map(|v| v["name"].as_str())
        .collect();
    let mut texts = Vec::new();
    strings_under(&dashboard, &["expr", "query", "uid"], &mut texts);
    for text in texts {
        for var in text.split('$').skip(1) {
            let name = var.trim_start_matches('{');
            let name: String = name
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            assert!(
                name.starts_with("__") || defined.contains(name.as_str()),
                "${name} in {text:?} is not a variable of the dashboard"
            );
        }
    }
    for panel in panels {
        assert!(panel["gridPos"]["w"].as_u64().is_some(), "{panel}");
        assert!(
            !panel["targets"].as_array().expect("targets").is_empty(),
            "{panel}"
        );
    }
}
