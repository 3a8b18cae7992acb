//! Randomness for think times and test data, seeded by the host's WASI random source.

use std::hash::{BuildHasher, Hasher, RandomState};
use std::ops::Range;

/// A random `u64`.
pub fn u64() -> u64 {
    // Each `RandomState` gets fresh keys from the host; hashing nothing yields a random word.
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u8(0);
    hasher.finish()
}

/// A random number in `range` (`range.start` when it is empty).
pub fn range(range: Range<u64>) -> u64 {
    let span = range.end.saturating_sub(range.start);
    if span == 0 {
        range.start
    } else {
        range.start + u64() % span
    }
}

/// A random float in `[0, 1)`.
pub fn unit() -> f64 {
    (u64() >> 11) as f64 / (1u64 << 53) as f64
}
