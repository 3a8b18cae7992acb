//! Whole numbers in request bodies as JSON Schema's `integer` admits them: `8` and `8.0`
//! alike (a generated client may write either), never `8.5`, a negative number or one past
//! the field's range.

use serde::{Deserialize, Deserializer};

/// A JSON number that may be a whole number written with a fraction.
#[derive(Deserialize)]
#[serde(untagged)]
enum Number {
    Whole(u64),
    Float(f64),
}

/// Reads a whole number into `T`.
pub fn exact<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<u64>,
{
    let whole = match Number::deserialize(deserializer)? {
        Number::Whole(n) => n,
        Number::Float(f) if f.fract() == 0.0 && (0.0..=u64::MAX as f64).contains(&f) => f as u64,
        Number::Float(f) => {
            return Err(serde::de::Error::custom(format!(
                "{f} is not a whole number from 0"
            )));
        }
    };
    T::try_from(whole).map_err(|_| serde::de::Error::custom(format!("{whole} is out of range")))
}

/// Reads an optional whole number into `T` (`null` or absent: `None`).
pub fn option<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<u64>,
{
    #[derive(Deserialize)]
    struct Wrapped<T: TryFrom<u64>>(#[serde(deserialize_with = "exact")] T);
    let value: Option<Wrapped<T>> = Option::deserialize(deserializer)?;
    Ok(value.map(|Wrapped(n)| n))
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Deserialize, Debug, PartialEq)]
    struct Body {
        #[serde(deserialize_with = "super::exact")]
        vus: u32,
        #[serde(default, deserialize_with = "super::option")]
        iterations: Option<u64>,
    }

    fn read(text: &str) -> Result<Body, String> {
        serde_json::from_str(text).map_err(|e| e.to_string())
    }

    #[test]
    fn whole_numbers_with_a_fraction_are_whole_numbers() {
        let body = read(r#"{"vus": 8497.0, "iterations": 3.0}"#).expect("whole");
        assert_eq!(
            body,
            Body {
                vus: 8497,
                iterations: Some(3)
            }
        );
        assert_eq!(read(r#"{"vus": 2}"#).expect("plain").iterations, None);
        assert_eq!(
            read(r#"{"vus": 2, "iterations": null}"#)
                .expect("null")
                .iterations,
            None
        );
        assert!(
            read(r#"{"vus": 8.5}"#)
                .unwrap_err()
                .contains("not a whole number")
        );
        assert!(
            read(r#"{"vus": -1}"#)
                .unwrap_err()
                .contains("not a whole number")
        );
        assert!(
            read(r#"{"vus": 5000000000}"#)
                .unwrap_err()
                .contains("out of range")
        );
        assert!(read(r#"{"vus": "8"}"#).is_err());
    }
}
