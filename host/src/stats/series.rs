//! The run's time series in bounded memory: one point per stats interval until there are
//! [`MAX_POINTS`], then neighbours merge (their histograms, at two significant digits) and
//! each point covers twice as many intervals. A day-long run keeps as many points as an
//! 8-minute one, and a point's histogram is bounded by its buckets, not its requests: at
//! most about 11 kB for latencies spread from 1 ms to 2 s, a few hundred bytes usually.

use super::breakdown::{self, Entry};
use super::snapshot::IntervalStats;
use super::trend::SparseTrend;

/// Most points kept.
pub(crate) const MAX_POINTS: usize = 512;

#[derive(Debug, Clone)]
struct Point {
    stats: IntervalStats,
    duration: SparseTrend,
    /// The tallies behind `stats.by_name` and `stats.by_tag`, merged with a neighbour's.
    names: Vec<Entry>,
    tags: Vec<Entry>,
}

impl Point {
    /// Appends the later point `next` to this one.
    fn absorb(&mut self, next: Point) {
        self.duration.merge(&next.duration);
        breakdown::merge_entries(&mut self.names, next.names);
        breakdown::merge_entries(&mut self.tags, next.tags);
        self.names = breakdown::point_names(std::mem::take(&mut self.names));
        self.tags = breakdown::point_tags(std::mem::take(&mut self.tags));
        self.stats.by_name = breakdown::name_points(&self.names);
        self.stats.by_tag = breakdown::tag_points(&self.tags);
        let (s, n) = (&mut self.stats, next.stats);
        s.length += n.length;
        s.requests += n.requests;
        s.failures += n.failures;
        s.iterations += n.iterations;
        s.dropped_iterations += n.dropped_iterations;
        let secs = s.length.as_secs_f64().max(1e-9);
        s.rps = s.requests as f64 / secs;
        s.failures_per_second = s.failures as f64 / secs;
        s.duration = self.duration.stats();
        s.percentiles = self.duration.locust_percentiles();
        // The figures "at the end" and "since the start" are the later point's.
        s.timestamp = n.timestamp;
        s.elapsed = n.elapsed;
        s.vus = n.vus;
        s.total_requests = n.total_requests;
        s.total_failures = n.total_failures;
        s.total_duration = n.total_duration;
        s.total_body_bytes = n.total_body_bytes;
    }
}

/// Closed intervals, oldest first, at a resolution that halves as the run grows.
#[derive(Debug, Clone, Default)]
pub(crate) struct Series {
    points: Vec<Point>,
    /// Intervals gathered for the next point, when points cover several.
    pending: Option<(Point, usize)>,
    /// Intervals per point (a power of two).
    per_point: usize,
}

impl Series {
    /// Adds a closed interval with its request-duration histogram and its breakdowns
    /// (`names` and `tags`, cut to a point's entries); returns its figures with the
    /// breakdowns filled in.
    pub(crate) fn push(
        &mut self,
        mut stats: IntervalStats,
        duration: SparseTrend,
        names: Vec<Entry>,
        tags: Vec<Entry>,
    ) -> IntervalStats {
        stats.by_name = breakdown::name_points(&names);
        stats.by_tag = breakdown::tag_points(&tags);
        let filled = stats.clone();
        let point = Point {
            stats,
            duration,
            names,
            tags,
        };
        let per_point = self.per_point.max(1);
        let (point, gathered) = match self.pending.take() {
            Some((mut pending, gathered)) => {
                pending.absorb(point);
                (pending, gathered + 1)
            }
            None => (point, 1),
        };
        if gathered < per_point {
            self.pending = Some((point, gathered));
            return filled;
        }
        self.points.push(point);
        if self.points.len() >= MAX_POINTS {
            let old = std::mem::take(&mut self.points);
            let mut pairs = old.into_iter();
            while let Some(mut first) = pairs.next() {
                if let Some(second) = pairs.next() {
                    first.absorb(second);
                }
                self.points.push(first);
            }
            self.per_point = per_point * 2;
        }
        filled
    }

    /// Every point, oldest first, the one still gathering intervals last.
    pub(crate) fn points(&self) -> Vec<IntervalStats> {
        self.points
            .iter()
            .chain(self.pending.as_ref().map(|(p, _)| p))
            .map(|p| p.stats.clone())
            .collect()
    }

    /// Points kept and histogram buckets held by them: what the series' memory grows with.
    pub(crate) fn footprint(&self) -> (usize, usize) {
        let points = self
            .points
            .iter()
            .chain(self.pending.as_ref().map(|(p, _)| p));
        points.fold((0, 0), |(n, b), p| (n + 1, b + p.duration.len()))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::stats::Trend;

    fn interval(i: u64) -> (IntervalStats, SparseTrend) {
        let mut trend = Trend::new();
        for v in 0..100 {
            trend.record(1000 + (i * 7 + v * 13) % 5000);
        }
        let stats = IntervalStats {
            elapsed: Duration::from_secs(i + 1),
            length: Duration::from_secs(1),
            requests: 100,
            total_requests: 100 * (i + 1),
            duration: trend.stats(),
            ..Default::default()
        };
        (stats, trend.sparse())
    }

    #[test]
    fn the_series_stays_bounded_and_adds_up() {
        let mut series = Series::default();
        for i in 0..5000 {
            let (stats, trend) = interval(i);
            series.push(stats, trend, Vec::new(), Vec::new());
        }
        let points = series.points();
        assert!(points.len() <= MAX_POINTS, "{}", points.len());
        assert!(points.len() >= MAX_POINTS / 4);
        let requests: u64 = points.iter().map(|p| p.requests).sum();
        assert_eq!(requests, 500_000, "merging loses no request");
        let length: Duration = points.iter().map(|p| p.length).sum();
        assert_eq!(length, Duration::from_secs(5000));
        assert_eq!(points.last().map(|p| p.total_requests), Some(500_000));
        assert!((points[0].rps - 100.0).abs() < 1e-9);
    }
}
