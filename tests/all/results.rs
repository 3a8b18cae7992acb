//! Result files (`--out result=FILE`) and `host report`: the parts of one run, run as
//! separate processes at once against one target, merge into the whole run's figures and
//! verdicts.

use std::path::Path;
use std::process::{Command, Output};

use loadwright_host::demo::DemoTarget;
use loadwright_tests::guests;
use serde_json::Value;

use crate::cli::{host_command, host_run, text};

const SEQUENCE: &str = "0,1/3,2/3,1";
const THIRDS: [&str; 3] = ["0:1/3", "1/3:2/3", "2/3:1"];

/// `host run shop` on `segment` of 30 iterations shared by 6 VUs, writing
/// `DIR/part-N.ndjson` (its result) and `DIR/part-N.json` (its own summary).
fn part(dir: &Path, url: &str, n: usize, segment: &str) -> Command {
    let mut command = host_command();
    command.args([
        "run",
        guests::SHOP,
        "-H",
        url,
        "--vus",
        "6",
        "--iterations",
        "30",
    ]);
    command.args(["--execution-segment", segment]);
    command.args(["--execution-segment-sequence", SEQUENCE]);
    // Each part does 10 of the 30 iterations: only the whole fails this threshold.
    command.args(["-t", "iterations: count<20", "-q"]);
    command.arg(format!(
        "--out=result={}",
        dir.join(format!("part-{n}.ndjson")).display()
    ));
    command.arg(format!(
        "--out=json={}",
        dir.join(format!("part-{n}.json")).display()
    ));
    command
}

/// Runs `command` to its end off the runtime's threads (the target serves on them).
async fn output(mut command: Command) -> Output {
    tokio::task::spawn_blocking(move || command.output().expect("run host"))
        .await
        .expect("join")
}

/// Compresses `path` into `path.gz`, as a file shipped from another machine may be.
fn gzip(path: &str) {
    let text = std::fs::read(path).expect("read");
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut encoder, &text).expect("compress");
    std::fs::write(format!("{path}.gz"), encoder.finish().expect("compress")).expect("write");
}

async fn demo_target() -> DemoTarget {
    DemoTarget::start(([127, 0, 0, 1], 0).into())
        .await
        .expect("demo target")
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path:?}: {e}"))
}

fn metric(summary: &Value, name: &str, value: &str) -> f64 {
    summary["metrics"][name]["values"][value]
        .as_f64()
        .unwrap_or_else(|| panic!("{name} {value} in {summary}"))
}

/// Each row's (method, name, count).
fn rows(summary: &Value) -> Vec<(String, String, u64)> {
    let rows = summary["requests"].as_array().expect("requests");
    rows.iter()
        .map(|r| {
            let field = |k: &str| r[k].as_str().unwrap_or_default().to_owned();
            (
                field("method"),
                field("name"),
                r["count"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_processes_parts_merge_into_the_whole_run() {
    let demo = demo_target().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let children: Vec<_> = THIRDS
        .iter()
        .enumerate()
        .map(|(n, segment)| tokio::spawn(output(part(dir.path(), &demo.url(), n, segment))))
        .collect();
    let mut parts = Vec::new();
    for (n, child) in children.into_iter().enumerate() {
        let out = child.await.expect("join");
        assert!(out.status.success(), "part {n}: {}", text(&out.stderr));
        parts.push(read_json(&dir.path().join(format!("part-{n}.json"))));
    }
    let path = |name: &str| dir.path().join(name).display().to_string();
    gzip(&path("part-2.ndjson"));
    let out = host_run(&[
        "report",
        &path("part-0.ndjson"),
        &path("part-1.ndjson"),
        &path("part-2.ndjson.gz"),
        &format!("--out=json={}", path("merged.json")),
        &format!("--out=ndjson={}", path("merged-intervals.ndjson")),
    ]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(99), "the whole fails: {stderr}");
    assert!(stderr.contains("1 threshold(s) failed"), "{stderr}");
    let merged = read_json(&dir.path().join("merged.json"));

    let requests = metric(&merged, "http_reqs", "count");
    assert_eq!(
        requests,
        demo.requests() as f64,
        "every request the target saw, once"
    );
    let sum = |name, value| parts.iter().map(|p| metric(p, name, value)).sum::<f64>();
    assert_eq!(requests, sum("http_reqs", "count"));
    assert_eq!(metric(&merged, "iterations", "count"), 30.0);
    let max = parts
        .iter()
        .map(|p| metric(p, "http_req_duration", "max"))
        .fold(0.0, f64::max);
    assert_eq!(metric(&merged, "http_req_duration", "max"), max);
    let mut expected: Vec<(String, String, u64)> = Vec::new();
    for row in parts.iter().flat_map(rows) {
        match expected
            .iter_mut()
            .find(|e| (&e.0, &e.1) == (&row.0, &row.1))
        {
            Some(e) => e.2 += row.2,
            None => expected.push(row),
        }
    }
    expected.sort();
    let mut merged_rows = rows(&merged);
    merged_rows.sort();
    assert_eq!(
        merged_rows, expected,
        "each row adds the parts' requests up"
    );
    for part in &parts {
        assert_eq!(part["thresholds_passed"], true, "no part fails alone");
    }
    assert_eq!(merged["thresholds_passed"], false);
    assert_eq!(
        merged["plan"].get("executionSegment"),
        None,
        "the whole plan"
    );
    assert_eq!(metric(&merged, "vus_max", "value"), 6.0);

    let intervals = std::fs::read_to_string(path("merged-intervals.ndjson")).expect("read");
    let last: Value = intervals
        .lines()
        .last()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .expect("an interval");
    assert_eq!(last["total_requests"].as_f64(), Some(requests));
    demo.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_that_are_not_one_runs_parts_are_refused_or_reported() {
    let demo = demo_target().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let path = |name: &str| dir.path().join(name).display().to_string();
    for (n, segment) in THIRDS.iter().enumerate().take(2) {
        let out = output(part(dir.path(), &demo.url(), n, segment)).await;
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    // Another plan: 8 iterations.
    let out = host_run(&[
        "run",
        guests::SHOP,
        "-H",
        &demo.url(),
        "--iterations",
        "8",
        "-q",
        &format!("--out=result={}", path("other.ndjson")),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));

    let out = host_run(&["report", &path("part-0.ndjson"), &path("other.ndjson")]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("ran different plans"), "{stderr}");

    // Two thirds: merged (20 iterations fail count<20), with a warning that a third is
    // missing.
    let out = host_run(&["report", &path("part-0.ndjson"), &path("part-1.ndjson")]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(99), "{stderr}");
    assert!(
        stderr.contains("cover 2/3 of the plan (0:1/3, 1/3:2/3)"),
        "{stderr}"
    );
    // The same part twice overlaps.
    let out = host_run(&["report", &path("part-0.ndjson"), &path("part-0.ndjson")]);
    assert!(
        text(&out.stderr).contains("segments overlap"),
        "{}",
        text(&out.stderr)
    );

    // A file cut short (its run died): merged, and the report says so.
    let whole = std::fs::read_to_string(path("part-1.ndjson")).expect("read");
    let lines: Vec<&str> = whole.lines().collect();
    std::fs::write(path("cut.ndjson"), lines[..lines.len() - 1].join("\n")).expect("write");
    let out = host_run(&["report", &path("part-0.ndjson"), &path("cut.ndjson")]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(98), "{stderr}");
    assert!(stderr.contains("cut.ndjson has no end record"), "{stderr}");
    assert!(
        stderr.contains("cut.ndjson ended before its run did"),
        "{stderr}"
    );

    // Not a result file at all.
    let out = host_run(&["report", &path("part-0.json")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("not a result record"),
        "{}",
        text(&out.stderr)
    );
    demo.shutdown();
}
