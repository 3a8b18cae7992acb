//! Numbers for people: durations and sizes with sensible units.

/// A duration given in milliseconds: `850µs`, `12.3ms`, `1.25s`.
pub fn millis(ms: f64) -> String {
    if ms < 1.0 {
        format!("{:.0}µs", ms * 1000.0)
    } else if ms < 100.0 {
        format!("{ms:.2}ms")
    } else if ms < 1000.0 {
        format!("{ms:.1}ms")
    } else {
        format!("{:.2}s", ms / 1000.0)
    }
}

/// A byte count: `512 B`, `12 kB`, `3.4 MB` (SI units, as k6 prints them).
pub fn bytes(n: u64) -> String {
    let n = n as f64;
    if n < 1e3 {
        format!("{n:.0} B")
    } else if n < 1e6 {
        format!("{:.1} kB", n / 1e3)
    } else if n < 1e9 {
        format!("{:.1} MB", n / 1e6)
    } else {
        format!("{:.2} GB", n / 1e9)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_units_people_read_easily() {
        assert_eq!(millis(0.85), "850µs");
        assert_eq!(millis(12.345), "12.35ms");
        assert_eq!(millis(250.0), "250.0ms");
        assert_eq!(millis(1250.0), "1.25s");
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(12_300), "12.3 kB");
        assert_eq!(bytes(3_400_000), "3.4 MB");
    }
}
