//! A distribution of non-negative values: an HdrHistogram plus exact sum, min and max.

use hdrhistogram::Histogram;

use super::snapshot::TrendStats;

/// Values are kept in thousandths (microseconds for durations in milliseconds) with three
/// significant digits; the histogram grows to fit the largest value seen.
#[derive(Debug, Clone)]
pub struct Trend {
    histogram: Histogram<u64>,
    sum: u128,
}

impl Default for Trend {
    fn default() -> Self {
        Self::new()
    }
}

impl Trend {
    /// An empty trend.
    pub fn new() -> Self {
        #[allow(
            clippy::unwrap_used,
            reason = "3 significant digits is a valid constant setting"
        )]
        let mut histogram = Histogram::new(3).unwrap();
        histogram.auto(true);
        Self { histogram, sum: 0 }
    }

    /// Records one value in thousandths of the output unit.
    pub fn record(&mut self, thousandths: u64) {
        // Auto-resizing histograms only fail on values beyond u64 range, which cannot happen.
        let _ = self.histogram.record(thousandths);
        self.sum += u128::from(thousandths);
    }

    /// Records a duration, in microseconds (output in milliseconds).
    pub fn record_duration(&mut self, duration: std::time::Duration) {
        self.record(duration.as_micros() as u64);
    }

    /// Number of values.
    pub fn count(&self) -> u64 {
        self.histogram.len()
    }

    /// Adds every value of `other`.
    pub fn merge(&mut self, other: &Trend) {
        if other.count() == 0 {
            return;
        }
        let _ = self.histogram.add(&other.histogram);
        self.sum += other.sum;
    }

    /// Forgets every value, keeping the allocation.
    pub fn reset(&mut self) {
        self.histogram.reset();
        self.sum = 0;
    }

    /// The value at `quantile` (0..=1), in the output unit.
    pub fn quantile(&self, quantile: f64) -> f64 {
        if self.count() == 0 {
            return 0.0;
        }
        self.histogram.value_at_quantile(quantile) as f64 / 1000.0
    }

    /// The summary statistics, in the output unit.
    pub fn stats(&self) -> TrendStats {
        let count = self.count();
        if count == 0 {
            return TrendStats::default();
        }
        TrendStats {
            count,
            min: self.histogram.min() as f64 / 1000.0,
            mean: self.sum as f64 / count as f64 / 1000.0,
            p50: self.quantile(0.50),
            p90: self.quantile(0.90),
            p95: self.quantile(0.95),
            p99: self.quantile(0.99),
            max: self.histogram.max() as f64 / 1000.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_within_three_significant_digits() {
        let mut trend = Trend::new();
        for us in 1..=10_000u64 {
            trend.record(us);
        }
        let stats = trend.stats();
        assert_eq!(stats.count, 10_000);
        assert!(
            (stats.mean - 5.0005).abs() < 1e-9,
            "exact mean, got {}",
            stats.mean
        );
        assert!((stats.p50 - 5.0).abs() <= 0.005, "p50 {}", stats.p50);
        assert!((stats.p99 - 9.9).abs() <= 0.01, "p99 {}", stats.p99);
        assert_eq!(stats.min, 0.001);
        assert!((stats.max - 10.0).abs() <= 0.01);
    }

    #[test]
    fn merge_equals_recording_everything_in_one() {
        let (mut a, mut b, mut all) = (Trend::new(), Trend::new(), Trend::new());
        for v in 0..1000u64 {
            let target = if v % 3 == 0 { &mut a } else { &mut b };
            target.record(v * 7);
            all.record(v * 7);
        }
        a.merge(&b);
        assert_eq!(a.stats(), all.stats());
    }
}
