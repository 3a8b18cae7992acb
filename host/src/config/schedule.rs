//! The arithmetic of ramps: VUs along `ramping-vus` stages, and the start times of an open
//! model's iterations.

use std::time::Duration;

use super::ConfigError;
use super::duration::parse_duration;
use super::executor::Stage;

/// Total length of `stages` (saturating: never a panic, whatever a plan holds).
pub(crate) fn stages_length(stages: &[Stage]) -> Duration {
    stages
        .iter()
        .fold(Duration::ZERO, |total, s| total.saturating_add(s.duration))
}

/// The VUs of a `ramping-vus` ramp `at` after its start, stepped as k6 steps them: during a
/// stage from `a` to `b` VUs the count moves one VU each time the straight line from `a` to
/// `b` crosses a whole number.
pub(crate) fn ramp_vus(start: u32, stages: &[Stage], at: Duration) -> u32 {
    let mut from = start;
    let mut stage_start = Duration::ZERO;
    for stage in stages {
        let end = stage_start.saturating_add(stage.duration);
        if at < end {
            let into = (at - stage_start).as_secs_f64();
            let length = stage.duration.as_secs_f64();
            let diff = f64::from(stage.target.abs_diff(from));
            let steps = (diff * into / length + 1e-9).floor() as u32;
            return if stage.target >= from {
                from + steps
            } else {
                from - steps
            };
        }
        from = stage.target;
        stage_start = end;
    }
    from
}

/// Every change of a `ramping-vus` ramp: `(time after the start, VUs from then on)`, in
/// order, consistent with [`ramp_vus`]. Computed as it is consumed: a plan of thousands of
/// stages costs no memory up front.
pub(crate) fn ramp_steps(
    start: u32,
    stages: &[Stage],
) -> impl Iterator<Item = (Duration, u32)> + Send + '_ {
    stages
        .iter()
        .scan((start, Duration::ZERO), |(from, stage_start), stage| {
            let at = (*from, *stage_start, stage);
            *from = stage.target;
            *stage_start = stage_start.saturating_add(stage.duration);
            Some(at)
        })
        .flat_map(|(from, stage_start, stage)| {
            let diff = stage.target.abs_diff(from);
            (1..=diff).map(move |i| {
                // Rounded up to the nanosecond, so the step is never before the line crosses.
                let nanos = stage.duration.as_nanos() * u128::from(i);
                let into = nanos.div_ceil(u128::from(diff));
                let at = stage_start.saturating_add(Duration::from_nanos(into as u64));
                let vus = if stage.target >= from {
                    from + i
                } else {
                    from - i
                };
                (at, vus)
            })
        })
}

/// Reads stages written `30s:100,1m:100,10s:0` (duration:target, comma-separated).
pub fn parse_stages(text: &str) -> Result<Vec<Stage>, ConfigError> {
    text.split(',')
        .map(|part| {
            let bad = || {
                ConfigError::Invalid(format!(
                    "stage {part:?}: write stages as DURATION:TARGET, comma-separated, \
                     like 30s:100,1m:100,10s:0"
                ))
            };
            let (duration, target) = part.trim().split_once(':').ok_or_else(bad)?;
            Ok(Stage {
                duration: parse_duration(duration)?,
                target: target.trim().parse().map_err(|_| bad())?,
            })
        })
        .collect()
}

/// One stage of an arrival ramp, in seconds and iterations per second.
#[derive(Debug, Clone, Copy)]
struct Segment {
    start: f64,
    length: f64,
    from_rate: f64,
    to_rate: f64,
    /// Iterations started before this segment.
    before: f64,
    /// Iterations started in this segment.
    count: f64,
}

/// The start times of an open model's iterations, as offsets from the scenario's start,
/// as k6 gives them.
///
/// A constant rate `r` (`constant-arrival-rate`) starts iteration `k` (from 0) at `k / r`:
/// evenly spaced, the first at 0, none at the end. A ramp (`ramping-arrival-rate`) starts
/// iteration `k` when the integral of its rate reaches `k + 1`: the first once the rate has
/// added up to one start, the last possibly at the ramp's very end, as many in all as the
/// integral's whole part; along a linear stage the spacing shrinks or grows smoothly.
#[derive(Debug, Clone)]
pub struct Arrivals {
    segments: Vec<Segment>,
    segment: usize,
    next: u64,
    /// What the integral must reach for iteration `k`: `k` (a constant rate) or `k + 1`
    /// (a ramp).
    offset: f64,
}

impl Arrivals {
    /// The schedule of a constant `rate` per `time_unit` for `duration`.
    pub(crate) fn constant(rate: u32, time_unit: Duration, duration: Duration) -> Self {
        let stage = Stage {
            duration,
            target: rate,
        };
        Self::with_offset(rate, time_unit, &[stage], 0.0)
    }

    /// The schedule of a ramp starting at `start_rate` per `time_unit` through `stages`.
    pub(crate) fn ramp(start_rate: u32, time_unit: Duration, stages: &[Stage]) -> Self {
        Self::with_offset(start_rate, time_unit, stages, 1.0)
    }

    fn with_offset(start_rate: u32, time_unit: Duration, stages: &[Stage], offset: f64) -> Self {
        let unit = time_unit.as_secs_f64().max(1e-9);
        let mut segments = Vec::with_capacity(stages.len());
        let (mut start, mut before, mut from) = (0.0, 0.0, f64::from(start_rate) / unit);
        for stage in stages {
            let length = stage.duration.as_secs_f64();
            let to = f64::from(stage.target) / unit;
            let count = (from + to) / 2.0 * length;
            segments.push(Segment {
                start,
                length,
                from_rate: from,
                to_rate: to,
                before,
                count,
            });
            start += length;
            before += count;
            from = to;
        }
        Self {
            segments,
            segment: 0,
            next: 0,
            offset,
        }
    }
}

impl Iterator for Arrivals {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        // Rounding must not add or lose the last start of a segment: from 0 (a constant
        // rate), `k` belongs to a segment only if it is below the segment's end by more than
        // a rounding error; from 1 (a ramp), also when it is at the end within one.
        const EPSILON: f64 = 1e-6;
        let k = self.next as f64 + self.offset;
        let segment = loop {
            let segment = self.segments.get(self.segment)?;
            let end = segment.before + segment.count;
            let inside = if self.offset > 0.0 {
                k <= end + EPSILON
            } else {
                k < end - EPSILON
            };
            if inside {
                break *segment;
            }
            self.segment += 1;
        };
        self.next += 1;
        // Solve r0·t + (r1 - r0)·t²/(2L) = k - before for t in [0, L], in the form that stays
        // exact when the ramp is flat (a = 0) or starts from 0 (b = 0).
        let a = (segment.to_rate - segment.from_rate) / (2.0 * segment.length);
        let b = segment.from_rate;
        let c = (k - segment.before).max(0.0);
        let t = if c == 0.0 {
            0.0
        } else {
            2.0 * c / (b + (b * b + 4.0 * a * c).max(0.0).sqrt())
        };
        // Whatever rates a plan holds, a start is a duration, never a panic.
        let at = segment.start + t.clamp(0.0, segment.length);
        Some(Duration::try_from_secs_f64(at).unwrap_or(Duration::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stage(ms: u64, target: u32) -> Stage {
        Stage {
            duration: Duration::from_millis(ms),
            target,
        }
    }

    fn millis(arrivals: Arrivals) -> Vec<u64> {
        arrivals.map(|d| d.as_millis() as u64).collect()
    }

    #[test]
    fn a_constant_rate_starts_evenly_spaced_from_zero() {
        let second = Duration::from_secs(1);
        let arrivals = Arrivals::constant(10, second, second);
        assert_eq!(
            millis(arrivals),
            vec![0, 100, 200, 300, 400, 500, 600, 700, 800, 900]
        );
        // 30 per minute for 2 minutes: every 2 s, 60 in all.
        let minute = Duration::from_secs(60);
        let per_minute = Arrivals::constant(30, minute, 2 * minute);
        let starts = millis(per_minute);
        assert_eq!(starts.len(), 60);
        assert_eq!(starts[1], 2000);
        // A rate whose product with the duration is not exact in binary still counts right.
        assert_eq!(
            Arrivals::constant(10, second, Duration::from_millis(300)).count(),
            3
        );
    }

    #[test]
    fn a_linear_ramp_integrates_the_rate() {
        // 0 to 20/s over 1 s: 10 iterations, iteration k when 10·t² = k + 1, the last at the
        // ramp's end.
        let second = Duration::from_secs(1);
        let starts: Vec<Duration> = Arrivals::ramp(0, second, &[stage(1000, 20)]).collect();
        assert_eq!(starts.len(), 10);
        for (k, t) in starts.iter().enumerate() {
            let expected = ((k + 1) as f64 / 10.0).sqrt();
            assert!((t.as_secs_f64() - expected).abs() < 1e-9, "{k}: {t:?}");
        }
        // Then flat at 20/s for 1 s: 20 more, 50 ms apart, to 2 s.
        let starts = millis(Arrivals::ramp(
            0,
            second,
            &[stage(1000, 20), stage(1000, 20)],
        ));
        assert_eq!(starts.len(), 30);
        assert_eq!(&starts[9..13], &[1000, 1050, 1100, 1150]);
        assert_eq!(starts[29], 2000);
        // A ramp down to 0 ends with ever wider gaps and never overshoots its stage.
        let down = millis(Arrivals::ramp(20, second, &[stage(1000, 0)]));
        assert_eq!(down.len(), 10);
        assert!(down.windows(2).all(|w| w[0] < w[1]));
        assert!(*down.last().unwrap_or(&0) <= 1000);
        // A part of a start left at the end is no start: 2.5 starts' worth gives 2.
        let half = Arrivals::ramp(5, second, &[stage(500, 5)]);
        assert_eq!(millis(half), vec![200, 400]);
    }

    #[test]
    fn a_ramp_starts_when_k6_does() {
        // k6's TestRampingArrivalRateCal: 0 to 1/s over 5 s, 1/s for 1 s, to 0 over 5 s.
        let second = Duration::from_secs(1);
        let stages = [stage(5000, 1), stage(1000, 1), stage(5000, 0)];
        assert_eq!(
            millis(Arrivals::ramp(0, second, &stages)),
            vec![3162, 4472, 5500, 6527, 7837, 11000]
        );
    }

    #[test]
    fn ramp_steps_agree_with_the_planned_vus() {
        let stages = [stage(1000, 4), stage(500, 4), stage(2000, 1)];
        let steps: Vec<_> = ramp_steps(0, &stages).collect();
        assert_eq!(steps.len(), 7);
        for (at, vus) in &steps {
            assert_eq!(ramp_vus(0, &stages, *at), *vus, "at {at:?}");
            if *at > Duration::from_millis(1) {
                let before = *at - Duration::from_millis(1);
                assert_ne!(ramp_vus(0, &stages, before), *vus, "a step changes the VUs");
            }
        }
        assert_eq!(steps[0], (Duration::from_millis(250), 1));
        assert_eq!(steps[6], (Duration::from_millis(3500), 1));
    }

    #[test]
    fn stages_are_read_from_text() {
        let stages = parse_stages("30s:100, 1m:100,10s:0").unwrap_or_default();
        assert_eq!(
            stages,
            vec![stage(30_000, 100), stage(60_000, 100), stage(10_000, 0)]
        );
        let err = parse_stages("30s-100").unwrap_err().to_string();
        assert!(err.contains("DURATION:TARGET"), "{err}");
        assert!(parse_stages("soon:3").is_err());
    }
}
