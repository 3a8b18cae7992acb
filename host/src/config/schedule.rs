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

/// The start times of an open model's iterations, as offsets from the scenario's start.
///
/// Iteration `k` (from 0) starts when the integral of the rate reaches `k`: with a constant
/// rate `r` that is `k / r` (evenly spaced, the first at 0, as k6 does); along a linear ramp
/// the spacing shrinks or grows smoothly.
#[derive(Debug, Clone)]
pub struct Arrivals {
    segments: Vec<Segment>,
    segment: usize,
    next: u64,
}

impl Arrivals {
    /// The schedule of a ramp starting at `start_rate` per `time_unit` through `stages`.
    pub(crate) fn new(start_rate: u32, time_unit: Duration, stages: &[Stage]) -> Self {
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
        }
    }
}

impl Iterator for Arrivals {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        // Rounding must not add or lose the last start of a segment: `k` belongs to a segment
        // only if it is below the segment's end by more than a rounding error.
        const EPSILON: f64 = 1e-6;
        let k = self.next as f64;
        let segment = loop {
            let segment = self.segments.get(self.segment)?;
            if k < segment.before + segment.count - EPSILON {
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
        let arrivals = Arrivals::new(10, Duration::from_secs(1), &[stage(1000, 10)]);
        assert_eq!(
            millis(arrivals),
            vec![0, 100, 200, 300, 400, 500, 600, 700, 800, 900]
        );
        // 30 per minute for 2 minutes: every 2 s, 60 in all.
        let per_minute = Arrivals::new(30, Duration::from_secs(60), &[stage(120_000, 30)]);
        let starts = millis(per_minute);
        assert_eq!(starts.len(), 60);
        assert_eq!(starts[1], 2000);
        // A rate whose product with the duration is not exact in binary still counts right.
        assert_eq!(
            Arrivals::new(10, Duration::from_secs(1), &[stage(300, 10)]).count(),
            3
        );
    }

    #[test]
    fn a_linear_ramp_integrates_the_rate() {
        // 0 to 20/s over 1 s: 10 iterations, at t where 10·t² = k, so t = sqrt(k/10).
        let starts: Vec<Duration> =
            Arrivals::new(0, Duration::from_secs(1), &[stage(1000, 20)]).collect();
        assert_eq!(starts.len(), 10);
        for (k, t) in starts.iter().enumerate() {
            let expected = (k as f64 / 10.0).sqrt();
            assert!((t.as_secs_f64() - expected).abs() < 1e-9, "{k}: {t:?}");
        }
        // Then flat at 20/s for 1 s: 20 more, 50 ms apart, from 1 s.
        let starts = millis(Arrivals::new(
            0,
            Duration::from_secs(1),
            &[stage(1000, 20), stage(1000, 20)],
        ));
        assert_eq!(starts.len(), 30);
        assert_eq!(&starts[10..13], &[1000, 1050, 1100]);
        // A ramp down to 0 ends with ever wider gaps and never overshoots its stage.
        let down = millis(Arrivals::new(20, Duration::from_secs(1), &[stage(1000, 0)]));
        assert_eq!(down.len(), 10);
        assert!(down.windows(2).all(|w| w[0] < w[1]));
        assert!(*down.last().unwrap_or(&0) < 1000);
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
