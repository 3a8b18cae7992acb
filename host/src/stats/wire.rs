//! HdrHistogram's V2 encoding read into the counts it holds, without the histogram: what a
//! coordinator needs to merge an agent's histogram costs the buckets it used, not the whole
//! range the histogram spans (tens of thousands of buckets scanned and allocated for each
//! of a busy interval's histograms).
//!
//! The layout (HdrHistogram's, as the `hdrhistogram` crate's `V2Serializer` writes it): a
//! 40-byte big-endian header (cookie, payload length, normalizing offset, significant
//! digits, lowest and highest trackable values, integer-to-double ratio), then the counts
//! in index order as ZigZag LEB128 numbers of at most 9 bytes, a negative one standing for
//! that many empty buckets.

/// The cookie of an uncompressed V2 histogram.
const V2_COOKIE: u32 = 0x1c84_9313;
const HEADER_BYTES: usize = 40;

/// Why an encoding cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// Not an uncompressed V2 histogram, or cut short.
    #[error("not an HdrHistogram V2 encoding: {0}")]
    Malformed(&'static str),
    /// A V2 histogram of another layout than the trends' (3 significant digits from 1).
    #[error("a histogram of {digits} significant digits from {lowest}: results carry 3 from 1")]
    Layout {
        /// Its significant digits.
        digits: u32,
        /// Its lowest discernible value.
        lowest: u64,
    },
}

/// The non-zero buckets of a V2 encoding of a histogram of 3 significant digits from 1, as
/// (the lowest value of the bucket, its count), in increasing order.
pub(crate) fn decode(bytes: &[u8]) -> Result<Vec<(u64, u64)>, WireError> {
    let header = bytes
        .get(..HEADER_BYTES)
        .ok_or(WireError::Malformed("shorter than its header"))?;
    let u32_at = |at: usize| {
        u32::from_be_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]])
    };
    let u64_at = |at: usize| {
        let mut word = [0u8; 8];
        word.copy_from_slice(&header[at..at + 8]);
        u64::from_be_bytes(word)
    };
    if u32_at(0) != V2_COOKIE {
        return Err(WireError::Malformed("its cookie is another format's"));
    }
    let length = u32_at(4) as usize;
    if u32_at(8) != 0 {
        return Err(WireError::Malformed("a normalizing offset"));
    }
    let (digits, lowest) = (u32_at(12), u64_at(16));
    if digits != 3 || lowest != 1 {
        return Err(WireError::Layout { digits, lowest });
    }
    if f64::from_bits(u64_at(32)) != 1.0 {
        return Err(WireError::Malformed("a conversion ratio"));
    }
    let payload = bytes
        .get(HEADER_BYTES..HEADER_BYTES + length)
        .ok_or(WireError::Malformed("shorter than its payload"))?;
    // A bucket takes one byte of the payload at least.
    let mut buckets = Vec::with_capacity(payload.len() / 2);
    let (mut at, mut index) = (0usize, 0u64);
    while at < payload.len() {
        let (encoded, read) = varint(&payload[at..])?;
        at += read;
        let number = ((encoded >> 1) as i64) ^ -((encoded & 1) as i64);
        if number < 0 {
            index = index
                .checked_add(number.unsigned_abs())
                .ok_or(WireError::Malformed(
                    "a run of empty buckets past any range",
                ))?;
            continue;
        }
        if number > 0 {
            buckets.push((value_of(index)?, number as u64));
        }
        index += 1;
    }
    Ok(buckets)
}

/// A LEB128 number of at most 9 bytes (the ninth keeps all 8 bits), and its length.
fn varint(bytes: &[u8]) -> Result<(u64, usize), WireError> {
    let mut value = 0u64;
    for (i, &byte) in bytes.iter().take(9).enumerate() {
        if i == 8 {
            return Ok((value | (u64::from(byte) << 56), 9));
        }
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok((value, i + 1));
        }
    }
    Err(WireError::Malformed("a number cut short"))
}

/// The lowest value of bucket `index` of a histogram of 3 significant digits from 1: 2048
/// sub-buckets, the upper half of each after the first.
fn value_of(index: u64) -> Result<u64, WireError> {
    const HALF_MAGNITUDE: u32 = 10;
    const HALF: u64 = 1 << HALF_MAGNITUDE;
    let bucket = (index >> HALF_MAGNITUDE).saturating_sub(1);
    let sub_bucket = if index < HALF {
        index
    } else {
        (index & (HALF - 1)) + HALF
    };
    sub_bucket
        .checked_shl(u32::try_from(bucket).unwrap_or(u32::MAX))
        .filter(|value| value >> bucket == sub_bucket)
        .ok_or(WireError::Malformed("a bucket past any value"))
}

#[cfg(test)]
mod tests {
    use hdrhistogram::Histogram;
    use hdrhistogram::serialization::{Serializer as _, V2Serializer};

    use super::*;

    fn encoded(histogram: &Histogram<u64>) -> Vec<u8> {
        let mut bytes = Vec::new();
        V2Serializer::new()
            .serialize(histogram, &mut bytes)
            .expect("serializes");
        bytes
    }

    #[test]
    fn the_decoded_buckets_are_the_histograms_own() {
        let mut rng = fastrand::Rng::with_seed(7);
        for values in [10, 1_000, 100_000] {
            let mut histogram = Histogram::<u64>::new(3).expect("a histogram");
            histogram.auto(true);
            for _ in 0..values {
                // From 1 to about an hour in microseconds, most small.
                let value = (rng.f64().powi(6) * 3.6e9) as u64 + 1;
                histogram.record_n(value, rng.u64(1..5)).expect("records");
            }
            let buckets = decode(&encoded(&histogram)).expect("decodes");
            let expected: Vec<(u64, u64)> = histogram
                .iter_recorded()
                .map(|v| {
                    (
                        histogram.lowest_equivalent(v.value_iterated_to()),
                        v.count_at_value(),
                    )
                })
                .collect();
            assert_eq!(buckets, expected, "{values} values");
            // Recorded again, they make the same histogram.
            let mut again = Histogram::<u64>::new(3).expect("a histogram");
            again.auto(true);
            for (value, count) in &buckets {
                again.record_n(*value, *count).expect("records");
            }
            assert_eq!(again, histogram);
            assert_eq!(
                (again.min(), again.max()),
                (histogram.min(), histogram.max())
            );
        }
    }

    #[test]
    fn other_encodings_are_refused_with_the_reason() {
        let mut histogram = Histogram::<u64>::new(2).expect("a histogram");
        histogram.record(5).expect("records");
        assert_eq!(
            decode(&encoded(&histogram)),
            Err(WireError::Layout {
                digits: 2,
                lowest: 1
            })
        );
        assert!(matches!(decode(b"short"), Err(WireError::Malformed(_))));
        let mut bytes = encoded(&Histogram::<u64>::new(3).expect("a histogram"));
        bytes[0] ^= 1;
        assert!(matches!(decode(&bytes), Err(WireError::Malformed(_))));
        // A payload cut in a number.
        let mut full = Histogram::<u64>::new(3).expect("a histogram");
        full.record_n(3, 1_000_000).expect("records");
        let mut bytes = encoded(&full);
        bytes.pop();
        assert!(decode(&bytes).is_err());
    }
}
