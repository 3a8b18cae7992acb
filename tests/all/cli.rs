//! The `host` binary, as a person or a CI job runs it.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::OnceLock;

use loadwright_tests::guests;

/// Builds the `host` binary once (a no-op when it is up to date) and returns its path.
pub(crate) fn host() -> &'static PathBuf {
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

/// `program` with the tests' component cache in its environment.
fn with_cache(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut command = Command::new(program);
    command.env(
        "LOADWRIGHT_CACHE_DIR",
        std::env::temp_dir().join("loadwright-test-cache"),
    );
    command
}

/// `host` with the tests' component cache.
pub(crate) fn host_command() -> Command {
    with_cache(host())
}

/// `bash -c SCRIPT` with the tests' component cache, for a `host` that needs a shell
/// around it (`ulimit`, `times`).
pub(crate) fn bash(script: &str) -> Command {
    let mut command = with_cache("bash");
    command.args(["-c", script]);
    command
}

/// Runs `host ARGS` to its end.
pub(crate) fn host_run(args: &[&str]) -> Output {
    host_command().args(args).output().expect("run host")
}

/// Output bytes as text.
pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A plan file called `name` holding `contents`, in a temporary directory that lives as long
/// as the returned guard; the path as `--plan` takes it.
pub(crate) fn plan_file(name: &str, contents: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(name);
    std::fs::write(&path, contents).expect("write plan");
    let path = path.to_str().expect("utf-8 path").to_owned();
    (dir, path)
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
        stdout.contains("loadwright:scenario/http@0.2.0"),
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

/// Locust's header lines, copied from Locust's `stats.py` (not from our code).
const LOCUST_STATS_HEADER: &str = "Type,Name,Request Count,Failure Count,Median Response Time,\
Average Response Time,Min Response Time,Max Response Time,Average Content Size,Requests/s,\
Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%";
const LOCUST_HISTORY_HEADER: &str = "Timestamp,User Count,Type,Name,Requests/s,Failures/s,\
50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%,Total Request Count,Total Failure Count,\
Total Median Response Time,Total Average Response Time,Total Min Response Time,\
Total Max Response Time,Total Average Content Size";
const LOCUST_FAILURES_HEADER: &str = "Method,Name,Error,Occurrences";
const LOCUST_EXCEPTIONS_HEADER: &str = "Count,Message,Traceback,Nodes";

#[test]
fn a_failed_threshold_exits_with_99_and_passing_ones_with_0() {
    let base = [
        "run",
        guests::HELLO,
        "--target-demo",
        "--iterations",
        "20",
        "-q",
    ];
    let passing = [
        &base[..],
        &[
            "-t",
            "http_reqs: count==20",
            "-t",
            "checks{check:status is 200}: rate==1",
        ],
    ]
    .concat();
    let out = host_run(&passing);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("✓ http_reqs"),
        "{}",
        text(&out.stdout)
    );

    let failing = [&base[..], &["-t", "http_req_duration: p(95)<0.001"]].concat();
    let out = host_run(&failing);
    assert_eq!(out.status.code(), Some(99), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("✗ http_req_duration"));
    assert!(text(&out.stderr).contains("1 threshold(s) failed"));

    let out = host_run(&[&base[..], &["-t", "http_req_duration: rate<1"]].concat());
    assert_eq!(
        out.status.code(),
        Some(2),
        "a malformed threshold is a usage error"
    );
    assert!(text(&out.stderr).contains("use avg, min, med, max, p(N)"));
}

#[test]
fn csv_files_carry_locusts_columns_and_line_endings() {
    let dir = tempfile::tempdir().expect("temp dir");
    let prefix = dir.path().join("run");
    let out = host_run(&[
        "run",
        guests::SHOP,
        "--target-demo",
        "--vus",
        "2",
        "--duration",
        "2s",
        "--stats-interval",
        "500ms",
        "-q",
        "--out",
        &format!("csv={}", prefix.display()),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let read = |suffix: &str| {
        let path = format!("{}_{suffix}.csv", prefix.display());
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    };
    for (file, header) in [
        ("stats", LOCUST_STATS_HEADER),
        ("stats_history", LOCUST_HISTORY_HEADER),
        ("failures", LOCUST_FAILURES_HEADER),
        ("exceptions", LOCUST_EXCEPTIONS_HEADER),
    ] {
        let content = read(file);
        assert!(
            content.starts_with(&format!("{header}\r\n")),
            "{file}: {content}"
        );
        assert!(
            content.split("\r\n").all(|line| !line.contains('\n')),
            "{file}: CRLF line ends"
        );
    }
    let stats = read("stats");
    let rows: Vec<Vec<&str>> = stats
        .trim_end()
        .split("\r\n")
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    let columns = LOCUST_STATS_HEADER.split(',').count();
    assert!(rows.iter().all(|r| r.len() == columns), "{stats}");
    let total = rows.last().expect("an Aggregated row");
    assert_eq!((total[0], total[1]), ("", "Aggregated"));
    let count: u64 = total[2].parse().expect("Request Count");
    let by_rows: u64 = rows[..rows.len() - 1]
        .iter()
        .map(|r| r[2].parse::<u64>().expect("count"))
        .sum();
    assert_eq!(count, by_rows, "the Aggregated row adds up the others");
    let history = read("stats_history");
    let lines: Vec<&str> = history.trim_end().split("\r\n").skip(1).collect();
    assert!(lines.len() >= 3, "one row per 500 ms interval: {history}");
    let last_total: u64 = lines
        .last()
        .and_then(|l| l.split(',').nth(17))
        .and_then(|c| c.parse().ok())
        .expect("Total Request Count");
    assert_eq!(last_total, count, "the history ends at the final count");
}

#[test]
fn the_json_summary_validates_against_its_schema() {
    let dir = tempfile::tempdir().expect("temp dir");
    let summary = dir.path().join("summary.json");
    let intervals = dir.path().join("intervals.ndjson");
    let page = dir.path().join("report.html");
    let out = host_run(&[
        "run",
        guests::SHOP,
        "--target-demo",
        "--rate",
        "40",
        "--duration",
        "2s",
        "--vus",
        "4",
        "--stats-interval",
        "500ms",
        "-t",
        "http_req_duration{name:/items}: p(99)<5000",
        "-q",
        "--out",
        &format!("json={}", summary.display()),
        "--out",
        &format!("ndjson={}", intervals.display()),
        "--out",
        &format!("html={}", page.display()),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let document: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).expect("summary")).expect("JSON");
    let schema_path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/summary.schema.json");
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(schema_path).expect("schema"))
            .expect("schema JSON");
    let validator = jsonschema::validator_for(&schema).expect("a valid schema");
    let errors: Vec<String> = validator
        .iter_errors(&document)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    // The schema is strict enough to catch a drift.
    let mut broken = document.clone();
    broken["metrics"]["http_reqs"]["values"]
        .as_object_mut()
        .expect("values")
        .remove("count");
    assert!(!validator.is_valid(&broken));

    assert_eq!(document["status"]["state"], "completed");
    assert_eq!(
        document["plan"]["scenarios"]["default"]["executor"],
        "constant-arrival-rate"
    );
    assert_eq!(document["metrics"]["iterations"]["values"]["count"], 80.0);
    assert_eq!(document["thresholds"][0]["ok"], true);

    // One NDJSON line per interval, adding up to the total.
    let lines = std::fs::read_to_string(&intervals).expect("ndjson");
    let intervals: Vec<serde_json::Value> = lines
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert!(intervals.len() >= 4, "{lines}");
    let requests: u64 = intervals
        .iter()
        .map(|i| i["requests"].as_u64().expect("requests"))
        .sum();
    assert_eq!(
        Some(requests),
        document["metrics"]["http_reqs"]["values"]["count"]
            .as_f64()
            .map(|c| c as u64)
    );

    // Each interval breaks its requests down by name and by tag, adding up to its own count;
    // over the run, each tag's values add up to the total.
    let sum = |entries: &serde_json::Value, tag: Option<&str>| -> u64 {
        let entries = entries.as_array().expect("a breakdown");
        let of_tag = |e: &&serde_json::Value| tag.is_none_or(|t| e["tag"] == t);
        entries
            .iter()
            .filter(of_tag)
            .map(|e| e["requests"].as_u64().expect("requests"))
            .sum()
    };
    for interval in &intervals {
        let requests = interval["requests"].as_u64();
        assert_eq!(
            Some(sum(&interval["by_name"], None)),
            requests,
            "{interval}"
        );
        assert_eq!(Some(sum(&interval["by_tag"], Some("status"))), requests);
        assert_eq!(Some(sum(&interval["by_tag"], Some("scenario"))), requests);
    }
    let total = document["metrics"]["http_reqs"]["values"]["count"].as_f64();
    assert_eq!(Some(sum(&document["tags"], Some("status")) as f64), total);
    let rows = document["requests"].as_array().expect("rows");
    assert!(
        rows.iter()
            .all(|r| r["phases"]["waiting"].as_f64() > Some(0.0)),
        "{rows:?}"
    );

    // The HTML report inlines the same summary and intervals (scripts/web-test.sh opens
    // one in a browser).
    let page = std::fs::read_to_string(&page).expect("report.html");
    let marker = "id=\"report-data\">";
    let data = &page[page.find(marker).expect("the data element") + marker.len()..];
    let data: serde_json::Value =
        serde_json::from_str(&data[..data.find("</script>").expect("its end")]).expect("JSON");
    assert_eq!(data["series"], serde_json::Value::from(intervals));
    assert_eq!(data["summary"], document);
}

#[test]
fn a_plan_file_is_laid_over_the_defaults_and_printed_resolved() {
    let (_dir, plan) = plan_file(
        "plan.toml",
        r#"
[scenarios.browse]
executor = "ramping-vus"
stages = [{ duration = "10s", target = 5 }, { duration = "5s", target = 0 }]

[thresholds]
"http_req_duration{name:/items}" = ["p(95)<300"]
"#,
    );
    let out = host_run(&["run", guests::SHOP, "--plan", &plan, "--print-plan"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let printed: serde_json::Value =
        serde_json::from_str(&text(&out.stdout)).expect("the plan as JSON");
    assert_eq!(printed["scenarios"]["browse"]["executor"], "ramping-vus");
    assert_eq!(printed["scenarios"]["browse"]["startVUs"], 1);
    assert_eq!(
        printed["thresholds"]["http_req_duration{name:/items}"][0],
        "p(95)<300"
    );
    assert!(
        printed["scenarios"].get("default").is_none(),
        "the file's scenarios replace the scenario's own"
    );

    let out = host_run(&["run", guests::SHOP, "--scenario", "nope", "--print-plan"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("the plan has no named scenarios"));
}

#[test]
fn the_run_page_of_web_serves_the_run_and_controls_it() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    let mut child = Command::new(host())
        .args([
            "run",
            guests::SHOP,
            "--target-demo",
            "--vus",
            "2",
            "--max-vus",
            "4",
            "--duration",
            "2m",
            "--quiet",
            "--web",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start host run");
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let base = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|l| {
            l.strip_prefix("run page at ")
                .map(|u| u.trim_end_matches('/').to_owned())
        })
        .expect("the run page's address on stderr");
    std::thread::spawn(move || for _ in lines {});
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(std::time::Duration::from_secs(30)))
        .build()
        .into();
    let get = |path: &str| {
        let mut response = agent.get(&format!("{base}{path}")).call().expect("GET");
        let status = response.status().as_u16();
        (
            status,
            response.body_mut().read_to_string().unwrap_or_default(),
        )
    };
    let post = |path: &str, body: &str| {
        let mut response = agent
            .post(&format!("{base}{path}"))
            .header("Content-Type", "application/json")
            .send(body)
            .expect("POST");
        let status = response.status().as_u16();
        (
            status,
            response.body_mut().read_to_string().unwrap_or_default(),
        )
    };
    let json = |text: &str| serde_json::from_str::<serde_json::Value>(text).expect("JSON");

    // The page, and the run as the server shows one, with no token.
    let (status, page) = get("/");
    assert_eq!(status, 200);
    assert!(page.contains("/ui/app.js"));
    assert_eq!(json(&get("/v1/local").1)["run"], "local");
    // The address is announced as the run starts: its VUs may still be starting.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let run = loop {
        let run = json(&get("/v1/runs/local").1);
        if run["state"] != "starting" || std::time::Instant::now() > deadline {
            break run;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert_eq!(run["state"], "running", "{run}");
    assert_eq!(run["vus_max"], 4);
    // The stream: a snapshot first, then an interval followed by a snapshot.
    let mut response = agent
        .get(&format!("{base}/v1/runs/local/stream?snapshots=true"))
        .call()
        .expect("stream");
    let events: Vec<String> = BufReader::new(response.body_mut().as_reader())
        .lines()
        .map_while(Result::ok)
        .filter_map(|l| l.strip_prefix("event: ").map(str::to_owned))
        .take(3)
        .collect();
    assert_eq!(events, ["snapshot", "interval", "snapshot"]);
    assert!(
        json(&get("/v1/runs/local/series").1)
            .as_array()
            .is_some_and(|s| !s.is_empty())
    );
    assert!(json(&get("/v1/runs/local/stats").1)["total"]["count"].as_u64() > Some(0));

    // Control: VUs within maxVUs, refused beyond with a message; then stop.
    assert_eq!(post("/v1/runs/local/vus", r#"{"vus": 3}"#).0, 200);
    let (status, refused) = post("/v1/runs/local/vus", r#"{"vus": 40}"#);
    assert_eq!(status, 422, "{refused}");
    assert!(refused.contains("maxVUs"), "{refused}");
    assert_eq!(post("/v1/runs/local/stop", "{}").0, 202);
    let mut stdout = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().expect("stdout"), &mut stdout)
        .expect("summary");
    let status = child.wait().expect("host run ends");
    assert!(status.success(), "{status}");
    assert!(stdout.contains("run stopped"), "{stdout}");
}
