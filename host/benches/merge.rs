//! What merging costs the coordinator of a distributed run, per agent-interval: parsing one
//! agent's interval as it arrives (JSON, histograms in HdrHistogram's V2 encoding) and
//! merging it into the run's figures; and how many agents one core keeps up with at 1 s
//! intervals. The interval is a busy one: 100 request names, each with its own spread of
//! latencies, every phase, iteration durations, checks, a custom trend.
//!
//! `cargo bench -p loadwright-host --bench merge` (see bench/README.md).

use std::sync::Arc;
use std::time::{Duration, Instant};

use loadwright_host::http::Timings;
use loadwright_host::stats::{Collector, IntervalDelta, NameCaps, RequestSample, Scope};

const NAMES: usize = 100;
const REQUESTS_PER_NAME: usize = 400;

/// A latency between about 100 µs and 400 ms, most near a few milliseconds.
fn latency(rng: &mut fastrand::Rng) -> Duration {
    let exponent = rng.f64() * rng.f64() * 12.0;
    Duration::from_micros((100.0 * 2f64.powf(exponent)) as u64)
}

/// One agent's interval of a busy run.
fn busy_interval() -> IntervalDelta {
    let agent = Collector::with_thresholds(Vec::new(), false, NameCaps::default());
    agent.keep_deltas();
    let scope = Arc::new(Scope {
        scenario: "shop".into(),
        tags: Default::default(),
    });
    let recorder = agent.recorder(scope);
    let mut rng = fastrand::Rng::with_seed(16);
    let names: Vec<String> = (0..NAMES)
        .map(|n| format!("/api/resource-{n}/{{id}}"))
        .collect();
    for name in &names {
        for _ in 0..REQUESTS_PER_NAME {
            let timings = Timings {
                blocked: Duration::from_micros(rng.u64(0..20)),
                dns: Duration::from_micros(rng.u64(0..50)),
                connecting: Duration::from_micros(rng.u64(0..200)),
                tls_handshaking: Duration::from_micros(rng.u64(0..900)),
                sending: Duration::from_micros(rng.u64(5..80)),
                waiting: latency(&mut rng),
                receiving: Duration::from_micros(rng.u64(10..3000)),
            };
            let failed = rng.u8(..) == 0;
            recorder.request(&RequestSample {
                method: if rng.bool() { "GET" } else { "POST" },
                name,
                status: if failed { 503 } else { 200 },
                duration: timings.duration(),
                phases: Some(&timings),
                failure: failed.then_some("http-status"),
                bytes_sent: 300,
                bytes_received: 2_000,
                body_bytes: 1_700,
                tags: &[],
                expected_interval: None,
                connection: None,
            });
        }
        recorder.check("status is 200", rng.u8(..) != 0, &[]);
        recorder.custom(
            "cart_value",
            loadwright_host::stats::CustomKind::Trend,
            rng.f64() * 100.0,
            &[],
        );
        recorder.iteration(
            loadwright_host::stats::IterationOutcome::Completed,
            latency(&mut rng) * 4,
        );
    }
    let (_, delta) = agent.close_interval_with_delta();
    delta.expect("the collector keeps deltas")
}

fn main() {
    let delta = busy_interval();
    let body = serde_json::to_vec(&delta).expect("serializes");
    let coordinator = Collector::with_thresholds(Vec::new(), false, NameCaps::default());
    // Warm up: the run's rows exist after the first intervals.
    for _ in 0..50 {
        let parsed: IntervalDelta = serde_json::from_slice(&body).expect("parses");
        coordinator.absorb(&parsed.metrics);
    }
    let rounds = 2_000;
    let started = Instant::now();
    let (mut parse, mut merge) = (Duration::ZERO, Duration::ZERO);
    for _ in 0..rounds {
        let t0 = Instant::now();
        let parsed: IntervalDelta = serde_json::from_slice(&body).expect("parses");
        let t1 = Instant::now();
        coordinator.absorb(&parsed.metrics);
        parse += t1 - t0;
        merge += t1.elapsed();
    }
    let per_interval = started.elapsed() / rounds;
    // Once a second the coordinator closes its interval and takes a snapshot, whatever the
    // number of agents.
    let started = Instant::now();
    for _ in 0..20 {
        let _ = coordinator.close_interval();
        let _ = coordinator.snapshot();
    }
    let per_second = started.elapsed() / 20;
    let agents = (Duration::from_secs(1) - per_second).as_secs_f64() / per_interval.as_secs_f64();
    println!(
        "one agent-interval: {} requests under {NAMES} names, {} bytes of JSON",
        delta.metrics.requests(),
        body.len()
    );
    println!(
        "merge at the coordinator: {:.1} µs per agent-interval (parse {:.1} µs, merge {:.1} µs)",
        per_interval.as_secs_f64() * 1e6,
        parse.as_secs_f64() * 1e6 / f64::from(rounds),
        merge.as_secs_f64() * 1e6 / f64::from(rounds),
    );
    println!(
        "closing the run's interval and its snapshot: {:.1} ms per second",
        per_second.as_secs_f64() * 1e3
    );
    println!("agents one core merges at 1 s intervals: {agents:.0}");
}
