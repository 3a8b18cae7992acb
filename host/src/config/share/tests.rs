//! k6's executor vectors (its `lib/executor/*_test.go` and `internal/execution`), and the
//! property that the shares of a full sequence add up to the whole plan.

use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::config::executor::Stage;
use crate::config::segment::{Segment, Sequence};

fn scenario(executor: Executor, segment: &str, sequence: Option<&str>) -> ScenarioPlan {
    let sequence: Option<Sequence> = sequence.map(|s| s.parse().expect("a sequence"));
    let segment: Segment = segment.parse().expect("a segment");
    let tuple = Tuple::new(Some(segment), sequence.as_ref()).expect("a tuple");
    ScenarioPlan {
        segment: Some(Arc::new(tuple)),
        ..ScenarioPlan::new("s", executor)
    }
}

/// Every segment of `sequence`, each as an instance's scenario.
fn instances(executor: &Executor, sequence: &str) -> Vec<ScenarioPlan> {
    let parsed: Sequence = sequence.parse().expect("a sequence");
    parsed
        .segments()
        .iter()
        .map(|s| scenario(executor.clone(), &s.to_string(), Some(sequence)))
        .collect()
}

fn shared(vus: u32, iterations: u64) -> Executor {
    Executor::SharedIterations {
        vus,
        iterations,
        max_duration: Duration::from_secs(600),
    }
}

fn stage(ms: u64, target: u32) -> Stage {
    Stage {
        duration: Duration::from_millis(ms),
        target,
    }
}

#[test]
fn shared_iterations_are_shared_as_k6_shares_them() {
    let quarters = instances(&shared(5, 50), "0,1/4,3/4,1");
    let split: Vec<_> = quarters
        .iter()
        .map(|s| (s.initial_vus(), s.shared_iterations()))
        .collect();
    assert_eq!(split, [(1, Some(10)), (3, Some(30)), (1, Some(10))]);
    let thirds = instances(&shared(12, 22), "0,1/3,2/3,1");
    let split: Vec<_> = thirds
        .iter()
        .map(|s| (s.max_vus(), s.shared_iterations()))
        .collect();
    assert_eq!(split, [(4, Some(8)), (4, Some(7)), (4, Some(7))]);
    let sequence = (0..=13)
        .map(|i| format!("{i}/13"))
        .collect::<Vec<_>>()
        .join(",");
    let last = scenario(shared(12, 22), "12/13:1", Some(&sequence));
    assert_eq!((last.max_vus(), last.has_work()), (0, false));
}

/// The start times of each of `executor`'s instances over `sequence`, in milliseconds.
fn starts_of(executor: &Executor, sequence: &str) -> Vec<Vec<u128>> {
    instances(executor, sequence)
        .iter()
        .map(|s| {
            let starts = s.arrivals().expect("an open model");
            starts.map(|d| d.as_millis()).collect()
        })
        .collect()
}

/// k6's RampingArrivalRateGlobalIters and RampingArrivalRateCal, split among instances.
fn ramps_start_the_iterations_k6_gives_each_segment() {
    // 0 to 20 then back to 0 per 950 ms, 1 s each: iterations 0 to 20 of the whole test.
    let ramp = Executor::RampingArrivalRate {
        start_rate: 0,
        time_unit: Duration::from_millis(950),
        stages: vec![stage(1000, 20), stage(1000, 0)],
        pre_allocated_vus: 5,
        max_vus: Some(5),
    };
    let all: Vec<u128> = ramp
        .arrivals()
        .expect("an open model")
        .map(|d| d.as_millis())
        .collect();
    assert_eq!(all.len(), 21);
    let expected: [&[usize]; 3] = [
        &[1, 6, 11, 16],
        &[0, 2, 4, 5, 7, 9, 10, 12, 14, 15, 17, 19, 20],
        &[3, 8, 13, 18],
    ];
    for (starts, numbers) in starts_of(&ramp, "0,1/4,3/4,1").iter().zip(expected) {
        let wanted: Vec<u128> = numbers.iter().map(|&n| all[n]).collect();
        assert_eq!(starts, &wanted);
    }
    // 0 to 1/s over 5 s, 1/s for 1 s, to 0 over 5 s, in thirds (3 VUs: a third each).
    let cal = Executor::RampingArrivalRate {
        start_rate: 0,
        time_unit: Duration::from_secs(1),
        stages: vec![stage(5000, 1), stage(1000, 1), stage(5000, 0)],
        pre_allocated_vus: 3,
        max_vus: Some(3),
    };
    assert_eq!(
        starts_of(&cal, "0,1/3,2/3,1"),
        [vec![3162, 6527], vec![4472, 7837], vec![5500, 11000]]
    );
}

#[test]
fn arrival_rates_start_the_iterations_k6_gives_each_segment() {
    let executor = Executor::ConstantArrivalRate {
        rate: 20,
        time_unit: Duration::from_millis(950),
        duration: Duration::from_secs(1),
        pre_allocated_vus: 5,
        max_vus: Some(5),
    };
    let all: Vec<Duration> = executor.arrivals().expect("an open model").collect();
    let expected: [&[usize]; 3] = [
        &[1, 6, 11, 16, 21],
        &[0, 2, 4, 5, 7, 9, 10, 12, 14, 15, 17, 19, 20],
        &[3, 8, 13, 18],
    ];
    for (instance, numbers) in instances(&executor, "0,1/4,3/4,1").iter().zip(expected) {
        let starts: Vec<Duration> = instance.arrivals().expect("an open model").collect();
        let wanted: Vec<Duration> = numbers.iter().map(|&n| all[n]).collect();
        assert_eq!(starts, wanted);
    }
    // Requirements: 1 or 100 pre-allocated of 4000, a quarter of each.
    for (pre, planned, unplanned) in [(1, 1, 999), (100, 25, 975)] {
        let quarter = scenario(
            Executor::ConstantArrivalRate {
                rate: 1,
                time_unit: Duration::from_secs(1),
                duration: Duration::from_secs(1),
                pre_allocated_vus: pre,
                max_vus: Some(4000),
            },
            "0:1/4",
            Some("0,1/4,1/2,3/4,1"),
        );
        assert_eq!(
            (
                quarter.initial_vus(),
                quarter.max_vus() - quarter.initial_vus()
            ),
            (planned, unplanned)
        );
    }
    // 50 per second in thirds: every third start, 60 ms apart, from 0, 20 and 40 ms.
    let fifty = Executor::ConstantArrivalRate {
        rate: 50,
        time_unit: Duration::from_secs(1),
        duration: Duration::from_secs(1),
        pre_allocated_vus: 20,
        max_vus: Some(20),
    };
    let firsts: Vec<u128> = instances(&fifty, "0,1/3,2/3,1")
        .iter()
        .map(|s| {
            s.arrivals()
                .and_then(|mut a| a.next())
                .expect("a start")
                .as_millis()
        })
        .collect();
    assert_eq!(firsts, [0, 20, 40]);
    ramps_start_the_iterations_k6_gives_each_segment();
    let corner = scenario(
        Executor::RampingArrivalRate {
            start_rate: 1,
            time_unit: Duration::from_secs(1),
            stages: vec![stage(1000, 1)],
            pre_allocated_vus: 2,
            max_vus: Some(2),
        },
        "1/5:2/5",
        Some("0,1/5,2/5,1"),
    );
    assert!(!corner.has_work());
}

#[test]
fn ramping_vus_step_as_k6_steps_each_segment() {
    let executor = Executor::RampingVus {
        start_vus: 0,
        stages: vec![
            stage(2000, 2),
            stage(2000, 0),
            stage(2000, 2),
            stage(2000, 0),
        ],
        graceful_ramp_down: Duration::ZERO,
    };
    let steps = |segment: &str| -> Vec<(u64, u32)> {
        let s = scenario(executor.clone(), segment, None);
        s.vu_steps().map(|(at, vus)| (at.as_secs(), vus)).collect()
    };
    assert_eq!(steps("0:1/2"), [(1, 1), (4, 0), (5, 1), (8, 0)]);
    assert_eq!(steps("1/2:1"), [(2, 1), (3, 0), (6, 1), (7, 0)]);
    let start_four = Executor::RampingVus {
        start_vus: 4,
        stages: vec![stage(1000, 6)],
        graceful_ramp_down: Duration::ZERO,
    };
    let starts: Vec<u32> = instances(&start_four, "0,1/3,2/3,1")
        .iter()
        .map(ScenarioPlan::initial_vus)
        .collect();
    assert_eq!(starts, [2, 1, 1]);
}

#[test]
fn a_scenario_without_vus_here_has_no_work() {
    let quarter = |executor| scenario(executor, "3/4:1", Some("0,1/4,1/2,3/4,1"));
    assert!(
        !quarter(shared(3, 3)).has_work(),
        "3 VUs: none in the last quarter"
    );
    assert!(quarter(shared(4, 4)).has_work());
    let open = Executor::ConstantArrivalRate {
        rate: 1,
        time_unit: Duration::from_secs(1),
        duration: Duration::from_secs(1),
        pre_allocated_vus: 1,
        max_vus: Some(4),
    };
    assert!(quarter(open).has_work());
}

/// The executors of the property test: one of each, with awkward numbers.
fn executors() -> Vec<Executor> {
    vec![
        Executor::ConstantVus {
            vus: 7,
            duration: Duration::from_secs(10),
            max_vus: Some(11),
        },
        Executor::RampingVus {
            start_vus: 3,
            stages: vec![stage(3000, 17), stage(1000, 17), stage(2500, 0)],
            graceful_ramp_down: Duration::ZERO,
        },
        Executor::PerVuIterations {
            vus: 9,
            iterations: 4,
            max_duration: Duration::from_secs(60),
        },
        shared(10, 97),
        Executor::ConstantArrivalRate {
            rate: 37,
            time_unit: Duration::from_secs(1),
            duration: Duration::from_secs(3),
            pre_allocated_vus: 3,
            max_vus: Some(13),
        },
        Executor::RampingArrivalRate {
            start_rate: 5,
            time_unit: Duration::from_secs(1),
            stages: vec![stage(2000, 40), stage(2000, 0)],
            pre_allocated_vus: 2,
            max_vus: Some(6),
        },
    ]
}

#[test]
fn the_shares_of_a_sequence_add_up_to_the_whole_plan_for_every_executor() {
    for sequence in [
        "0,1/4,1/2,3/4,1",
        "0,1/3,2/3,1",
        "0,0.1,0.35,0.6,1",
        "0,1/7,3/7,1",
    ] {
        for executor in executors() {
            let parts = instances(&executor, sequence);
            let whole = ScenarioPlan {
                segment: None,
                ..parts[0].clone()
            };
            let sum = |f: &dyn Fn(&ScenarioPlan) -> u64| parts.iter().map(f).sum::<u64>();
            let what = format!("{} in {sequence}", executor.name());
            assert_eq!(
                sum(&|s| s.initial_vus().into()),
                u64::from(whole.initial_vus()),
                "{what}"
            );
            assert_eq!(
                sum(&|s| s.max_vus().into()),
                u64::from(whole.max_vus()),
                "{what}"
            );
            for ms in (0..7000).step_by(250) {
                let at = Duration::from_millis(ms);
                assert_eq!(
                    sum(&|s| s.planned_vus(at).into()),
                    u64::from(whole.planned_vus(at)),
                    "{what} at {ms} ms"
                );
            }
            assert_eq!(
                sum(&|s| s.planned_iterations().unwrap_or(0)),
                whole.planned_iterations().unwrap_or(0),
                "{what}"
            );
            if let Some(all) = whole.arrivals() {
                let mut starts: Vec<Duration> = parts
                    .iter()
                    .flat_map(|s| s.arrivals().into_iter().flatten())
                    .collect();
                starts.sort();
                assert_eq!(starts, all.collect::<Vec<_>>(), "{what}: every start once");
            }
            // The VU steps of each part, replayed, add up to the whole's at every step.
            for ms in (0..7000).step_by(100) {
                let at = Duration::from_millis(ms);
                let replay = |s: &ScenarioPlan| -> u64 {
                    let last = s.vu_steps().take_while(|(t, _)| *t <= at).last();
                    u64::from(last.map_or(s.initial_vus(), |(_, vus)| vus))
                };
                let whole_now = u64::from(
                    whole
                        .executor
                        .vu_steps()
                        .take_while(|(t, _)| *t <= at)
                        .last()
                        .map_or(whole.initial_vus(), |(_, v)| v),
                );
                assert_eq!(sum(&replay), whole_now, "{what} at {ms} ms");
            }
        }
    }
}
