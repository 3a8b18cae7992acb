//! Durations as people write them: `30s`, `1m30s`, `500ms`, `2h`.

use std::time::Duration;

use super::ConfigError;

/// The longest duration a plan may hold: a year. Bounding every duration keeps the plan's
/// arithmetic (stages added up, start times plus lengths) far from overflowing.
pub const MAX_DURATION: Duration = Duration::from_secs(366 * 24 * 3600);

/// Reads a duration written with units (`30s`, `1m30s`, `500ms`), at most [`MAX_DURATION`].
pub fn parse_duration(text: &str) -> Result<Duration, ConfigError> {
    let text = text.trim();
    let duration =
        humantime::parse_duration(text).map_err(|_| ConfigError::Duration(text.to_owned()))?;
    bounded(duration, text)
}

fn bounded(duration: Duration, text: &str) -> Result<Duration, ConfigError> {
    if duration > MAX_DURATION {
        return Err(ConfigError::Invalid(format!(
            "duration {text:?} is longer than a plan's durations may be (366 days)"
        )));
    }
    Ok(duration)
}

/// Writes a duration the way [`parse_duration`] reads it, without needless digits.
pub fn format_duration(duration: Duration) -> String {
    if duration.is_zero() {
        return "0s".into();
    }
    let rounded = if duration >= Duration::from_secs(1) {
        Duration::from_millis(duration.as_millis() as u64)
    } else {
        Duration::from_micros(duration.as_micros() as u64)
    };
    humantime::format_duration(rounded)
        .to_string()
        .replace(' ', "")
}

/// Serde of durations as text (`"30s"`); numbers are read as milliseconds, as k6 does.
pub(crate) mod serde_text {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format_duration(*d))
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Text(String),
        Millis(u64),
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        match Raw::deserialize(d)? {
            Raw::Text(text) => super::parse_duration(&text).map_err(serde::de::Error::custom),
            Raw::Millis(ms) => super::bounded(Duration::from_millis(ms), &format!("{ms}ms"))
                .map_err(serde::de::Error::custom),
        }
    }

    /// The same for optional durations.
    pub(crate) mod option {
        use std::time::Duration;

        use serde::{Deserialize, Deserializer, Serializer};

        pub(crate) fn serialize<S: Serializer>(
            d: &Option<Duration>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            match d {
                Some(d) => super::serialize(d, s),
                None => s.serialize_none(),
            }
        }

        pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Option<Duration>, D::Error> {
            #[derive(Deserialize)]
            struct Wrap(#[serde(with = "super")] Duration);
            Ok(Option::<Wrap>::deserialize(d)?.map(|Wrap(d)| d))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_writes_durations_with_units() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert!(parse_duration("30").is_err());
        assert!(parse_duration("soon").is_err());
        assert_eq!(format_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1s500ms");
    }
}
