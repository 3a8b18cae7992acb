//! Plan resolution under random, extreme documents: whatever a client sends, resolving and
//! scheduling it returns a plan or an error, never a panic (an API handler that panics
//! drops the connection with no answer).

use std::time::Duration;

use super::{Overrides, PlanDocument};

/// Durations a plan takes.
const DURATIONS: [&str; 5] = ["\"1s\"", "\"10s\"", "\"250ms\"", "\"365d\"", "1500"];

/// Durations at and past the edges: nothing, a nanosecond, past the bound, past u64.
const EXTREME_DURATIONS: [&str; 7] = [
    "\"0s\"",
    "\"1ns\"",
    "\"366d\"",
    "\"367d\"",
    "\"18446744073709551615s\"",
    "0",
    "18446744073709551615",
];

/// Counts a plan takes.
const COUNTS: [&str; 4] = ["1", "2", "3", "1000"];

/// Counts at and past the edges.
const EXTREME_COUNTS: [&str; 5] = ["0", "4294967295", "50000", "18446744073709551615", "-1"];

/// Mostly an ordinary value, one time in four an extreme one.
fn pick<'a>(rng: &mut fastrand::Rng, usual: &[&'a str], extreme: &[&'a str]) -> &'a str {
    let from = if rng.u8(..4) == 0 { extreme } else { usual };
    from[rng.usize(..from.len())]
}

fn duration(rng: &mut fastrand::Rng) -> &'static str {
    pick(rng, &DURATIONS, &EXTREME_DURATIONS)
}

fn count(rng: &mut fastrand::Rng) -> &'static str {
    pick(rng, &COUNTS, &EXTREME_COUNTS)
}

fn stages(rng: &mut fastrand::Rng) -> String {
    let stages: Vec<String> = (0..rng.usize(..8))
        .map(|_| {
            format!(
                r#"{{"duration": {}, "target": {}}}"#,
                duration(rng),
                count(rng)
            )
        })
        .collect();
    format!("[{}]", stages.join(", "))
}

/// A random scenario of a random executor, every field random.
fn scenario(rng: &mut fastrand::Rng) -> String {
    let d = duration;
    let n = count;
    let executor = match rng.usize(..6) {
        0 => format!(
            r#""executor": "constant-vus", "vus": {}, "duration": {}"#,
            n(rng),
            d(rng)
        ),
        1 => format!(
            r#""executor": "ramping-vus", "startVUs": {}, "stages": {}, "gracefulRampDown": {}"#,
            n(rng),
            stages(rng),
            d(rng)
        ),
        2 => format!(
            r#""executor": "per-vu-iterations", "vus": {}, "iterations": {}, "maxDuration": {}"#,
            n(rng),
            n(rng),
            d(rng)
        ),
        3 => format!(
            r#""executor": "shared-iterations", "vus": {}, "iterations": {}, "maxDuration": {}"#,
            n(rng),
            n(rng),
            d(rng)
        ),
        4 => format!(
            r#""executor": "constant-arrival-rate", "rate": {}, "timeUnit": {}, "duration": {},
                "preAllocatedVUs": {}, "maxVUs": {}"#,
            n(rng),
            d(rng),
            d(rng),
            n(rng),
            n(rng)
        ),
        _ => format!(
            r#""executor": "ramping-arrival-rate", "startRate": {}, "timeUnit": {},
                "stages": {}, "preAllocatedVUs": {}, "maxVUs": {}"#,
            n(rng),
            d(rng),
            stages(rng),
            n(rng),
            n(rng)
        ),
    };
    format!(
        r#"{{{executor}, "startTime": {}, "gracefulStop": {}}}"#,
        d(rng),
        d(rng)
    )
}

/// Resolves `json` and exercises what a run does with the plan; whether it resolved.
fn exercise(json: &str) -> bool {
    let Ok(document) = PlanDocument::from_json(json) else {
        return false;
    };
    let Ok(plan) = document.resolve(Overrides::default()) else {
        return false;
    };
    let _ = (plan.max_vus(), plan.duration(), plan.max_duration());
    for at in [
        Duration::ZERO,
        Duration::from_secs(1),
        Duration::from_secs(1 << 40),
    ] {
        let _ = plan.planned_vus(at);
    }
    for scenario in &plan.scenarios {
        let executor = &scenario.executor;
        let _ = (
            executor.describe(),
            executor.graceful_ramp_down(),
            scenario.end(),
        );
        let _ = executor.vu_steps().take(1000).count();
        if let Some(arrivals) = executor.arrivals() {
            let _ = arrivals.take(1000).count();
        }
    }
    let _ = serde_json::to_string(&plan);
    true
}

#[test]
fn random_extreme_plans_resolve_or_are_refused_never_panic() {
    let mut rng = fastrand::Rng::with_seed(SEED);
    let mut resolved = 0;
    for _ in 0..20_000 {
        let scenarios: Vec<String> = (0..rng.usize(1..3))
            .map(|i| format!(r#""s{i}": {}"#, scenario(&mut rng)))
            .collect();
        let json = format!(
            r#"{{"scenarios": {{{}}}, "statsInterval": {}}}"#,
            scenarios.join(", "),
            duration(&mut rng)
        );
        let outcome = std::panic::catch_unwind(|| exercise(&json));
        assert!(outcome.is_ok(), "resolving this plan panicked: {json}");
        resolved += usize::from(outcome.unwrap_or(false));
    }
    // Enough of them are valid plans for the scheduling code to be exercised too.
    assert!(resolved > 2000, "only {resolved} plans resolved");
}

/// A fixed seed: the same 20 000 plans every run.
const SEED: u64 = 0x10ad_5eed;
