//! The `host` binary, as a person or a CI job runs it.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::OnceLock;

use loadwright_tests::guests;

/// Builds the `host` binary once (a no-op when it is up to date) and returns its path.
fn host() -> &'static PathBuf {
    static HOST: OnceLock<PathBuf> = OnceLock::new();
    HOST.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "--quiet", "-p", "loadwright-host", "--bin", "host"])
            .status()
            .expect("run cargo build");
        assert!(status.success(), "building the host binary failed");
        let exe = std::env::current_exe().expect("test binary path");
        let profile_dir = exe
            .parent()
            .and_then(|deps| deps.parent())
            .expect("target/<profile>");
        profile_dir.join("host")
    })
}

fn host_run(args: &[&str]) -> Output {
    Command::new(host())
        .args(args)
        .env(
            "LOADWRIGHT_CACHE_DIR",
            std::env::temp_dir().join("loadwright-test-cache"),
        )
        .output()
        .expect("run host")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn run_against_the_demo_target_prints_a_summary() {
    let out = host_run(&[
        "run",
        guests::HELLO,
        "--target-demo",
        "--iterations",
        "25",
        "--vus",
        "5",
    ]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("run completed"), "{stdout}");
    let row = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("GET /"))
        .unwrap_or_default();
    let count: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(count.get(2), Some(&"25"), "row: {row}");
    assert!(stdout.contains("status is 200"), "{stdout}");
    assert!(
        stderr.contains("shared-iterations: 5 VUs sharing 25 iterations"),
        "{stderr}"
    );
}

#[test]
fn inspect_lists_tasks_plan_and_imports() {
    let out = host_run(&["inspect", guests::SHOP]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        stdout.contains("browse") && stdout.contains("weight 5"),
        "{stdout}"
    );
    assert!(stdout.contains("\"duration\": \"10s\""), "{stdout}");
    assert!(
        stdout.contains("loadwright:scenario/http@0.1.0"),
        "{stdout}"
    );
}

#[test]
fn bad_input_gets_a_message_and_exit_code_1() {
    let junk = std::env::temp_dir().join("loadwright-junk.wasm");
    std::fs::write(&junk, "junk").expect("write junk");
    let out = host_run(&["run", junk.to_str().expect("utf-8 path")]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with("error: cannot load") && stderr.contains("not a WebAssembly file"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");

    let out = host_run(&["run", guests::HELLO, "--vus", "3", "--iterations", "2"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("use at most 2 VUs"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn an_aborted_run_exits_with_98() {
    let out = host_run(&[
        "run",
        guests::PROBE,
        "--host",
        "http://127.0.0.1:9",
        "--param",
        "fail_start=1",
        "-q",
    ]);
    assert_eq!(out.status.code(), Some(98), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("refused by the probe"));
}
