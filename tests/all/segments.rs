//! Execution segments end to end: the instances of a sequence, run one after the other
//! against one target, do exactly the whole plan's work between them, each its k6 share.

use loadwright_host::run::RunStatus;
use loadwright_tests::guests;
use loadwright_tests::target::Recorder;

use crate::cli::{host_run, text};
use crate::run;

/// `plan` (a JSON object's fields) with the segment and the sequence added.
fn segmented(plan: &str, segment: &str, sequence: &str) -> String {
    format!(
        r#"{{{plan}, "executionSegment": "{segment}", "executionSegmentSequence": "{sequence}"}}"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_instances_of_a_sequence_share_the_iterations_exactly() {
    let target = Recorder::start().await;
    let plan = r#""scenarios": {"pool": {"executor": "shared-iterations", "vus": 5,
        "iterations": 50}}"#;
    let mut shares = Vec::new();
    for segment in ["0:1/4", "1/4:3/4", "3/4:1"] {
        let plan = segmented(plan, segment, "0,1/4,3/4,1");
        let report = run(guests::HELLO, &plan, &target.url(), &[]).await;
        assert_eq!(report.status, RunStatus::Completed, "{segment}");
        shares.push((report.snapshot.vus_max, report.snapshot.iterations));
        // The plan saved with the results says which part this was.
        let document = report.plan.to_document();
        assert_eq!(document.execution_segment.as_deref(), Some(segment));
    }
    assert_eq!(shares, [(1, 10), (3, 30), (1, 10)], "k6's shares");
    assert_eq!(
        target.count("/"),
        50,
        "the whole plan's iterations, each once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_instances_of_a_sequence_share_the_arrivals_exactly() {
    let target = Recorder::start().await;
    let plan = r#""scenarios": {"open": {"executor": "constant-arrival-rate", "rate": 30,
        "timeUnit": "1s", "duration": "1s", "preAllocatedVUs": 2, "maxVUs": 7}}"#;
    let mut iterations = Vec::new();
    for segment in ["0:1/3", "1/3:2/3", "2/3:1"] {
        let plan = segmented(plan, segment, "0,1/3,2/3,1");
        let report = run(guests::HELLO, &plan, &target.url(), &[]).await;
        assert_eq!(report.status, RunStatus::Completed, "{segment}");
        assert_eq!(report.snapshot.dropped_iterations, 0, "{segment}");
        iterations.push(report.snapshot.iterations);
    }
    // maxVUs 7 re-cuts the thirds as 3/7, 2/7, 2/7 of the starts.
    assert_eq!(iterations.iter().sum::<u64>(), 30, "{iterations:?}");
    assert_eq!(
        iterations,
        [13, 9, 8],
        "each third's share of the 30 starts"
    );
    assert_eq!(target.count("/"), 30);
}

#[test]
fn a_segment_outside_its_sequence_is_refused_with_what_to_write() {
    let out = host_run(&[
        "run",
        guests::HELLO,
        "--vus",
        "2",
        "--iterations",
        "2",
        "--execution-segment",
        "1/2",
        "--execution-segment-sequence",
        "0,1/3,1",
        "--print-plan",
    ]);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("the execution segment 0:1/2 is not one of the sequence 0,1/3,1"),
        "{stderr}"
    );
    let out = host_run(&[
        "run",
        guests::HELLO,
        "--execution-segment",
        "12.5%",
        "--print-plan",
    ]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("write a fraction (1/4)"),
        "{}",
        text(&out.stderr)
    );
    // A valid one is printed with the plan, ready to run again.
    let out = host_run(&[
        "run",
        guests::HELLO,
        "--vus",
        "4",
        "--duration",
        "1s",
        "--execution-segment",
        "25%:50%",
        "--execution-segment-sequence",
        "0,25%,50%,1",
        "--print-plan",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let printed: serde_json::Value = serde_json::from_str(&text(&out.stdout)).expect("JSON");
    assert_eq!(printed["executionSegment"], "1/4:1/2");
    assert_eq!(printed["executionSegmentSequence"], "0,1/4,1/2,1");
    // A run says which part it runs, and each scenario's share.
    let out = host_run(&[
        "run",
        guests::HELLO,
        "--target-demo",
        "--vus",
        "4",
        "--iterations",
        "8",
        "--execution-segment",
        "1/2:1",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("segment    1/2:1 of 0,1/2,1: default 2 of 4 VUs"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_vus_of_a_sequence_have_the_numbers_of_one_process() {
    let target = Recorder::start().await;
    let plan = r#""scenarios": {"pool": {"executor": "per-vu-iterations", "vus": 7,
        "iterations": 1}}"#;
    for segment in ["0:1/4", "1/4:3/4", "3/4:1"] {
        let plan = segmented(plan, segment, "0,1/4,3/4,1");
        let report = run(guests::PROBE, &plan, &target.url(), &[]).await;
        assert_eq!(report.status, RunStatus::Completed, "{segment}");
    }
    let mut ids: Vec<u32> = target
        .requests()
        .iter()
        .filter_map(|r| r.strip_prefix("/hook/vu-start?vu="))
        .map(|id| id.parse().expect("a VU number"))
        .collect();
    ids.sort_unstable();
    assert_eq!(
        ids,
        (1..=7).collect::<Vec<u32>>(),
        "each number once, as in one process"
    );
}
