//! JSON integers as JSON Schema reads them: `3`, `3.0` and `3e0` are the same integer
//! (JSON Schema 2020-12 §6.1.1, "integer": any number with a zero fractional part). serde
//! reads `3.0` only into a float, so a request field documented as `type: integer` uses
//! these through `#[serde(deserialize_with = …)]`, and a client (or a generator such as
//! Schemathesis) that writes `3.0` is not refused.
//!
//! ```
//! #[derive(serde::Deserialize)]
//! struct Body {
//!     #[serde(deserialize_with = "ecohub_kernel::integer::u32")]
//!     priority: u32,
//! }
//! let body: Body = serde_json::from_str(r#"{"priority": 10.0}"#).unwrap();
//! assert_eq!(body.priority, 10);
//! assert!(serde_json::from_str::<Body>(r#"{"priority": 10.5}"#).is_err());
//! ```

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

/// A `u32` written as any JSON number whose value is an integer in range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct U32(u32);

impl<'de> Deserialize<'de> for U32 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = U32;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an integer from 0 to 4294967295")
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<U32, E> {
                u32::try_from(v)
                    .map(U32)
                    .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<U32, E> {
                u32::try_from(v)
                    .map(U32)
                    .map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
            }

            fn visit_f64<E: de::Error>(self, v: f64) -> Result<U32, E> {
                if v.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&v) {
                    // In range and integral: the conversion is exact.
                    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                    Ok(U32(v as u32))
                } else {
                    Err(E::invalid_value(de::Unexpected::Float(v), &self))
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// A `u32` field.
pub fn u32<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    U32::deserialize(d).map(|n| n.0)
}

/// An optional `u32` field (`null` or absent is `None`; pair with `#[serde(default)]`).
pub fn option_u32<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    Option::<U32>::deserialize(d).map(|n| n.map(|n| n.0))
}

/// A map of `u32` values.
pub fn map_u32<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, u32>, D::Error> {
    BTreeMap::<String, U32>::deserialize(d).map(|m| m.into_iter().map(|(k, v)| (k, v.0)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Body {
        #[serde(deserialize_with = "u32")]
        n: u32,
        #[serde(default, deserialize_with = "option_u32")]
        o: Option<u32>,
        #[serde(default, deserialize_with = "map_u32")]
        m: BTreeMap<String, u32>,
    }

    fn read(s: &str) -> Result<Body, serde_json::Error> {
        serde_json::from_str(s)
    }

    #[test]
    fn integers_in_any_notation_are_read() {
        let b = read(r#"{"n": 392.0, "o": 4e1, "m": {"a": 7.0, "b": 8}}"#).unwrap();
        assert_eq!(b.n, 392);
        assert_eq!(b.o, Some(40));
        assert_eq!(b.m, BTreeMap::from([("a".into(), 7), ("b".into(), 8)]));
        assert_eq!(read(r#"{"n": 4294967295, "o": null}"#).unwrap().o, None);
        assert_eq!(read(r#"{"n": 0}"#).unwrap().o, None);
        assert_eq!(read(r#"{"n": -0.0}"#).unwrap().n, 0);
    }

    #[test]
    fn fractions_negatives_and_overflows_are_refused() {
        for s in [
            r#"{"n": 1.5}"#,
            r#"{"n": -1}"#,
            r#"{"n": -1.0}"#,
            r#"{"n": 4294967296}"#,
            r#"{"n": 4294967296.0}"#,
            r#"{"n": 1e300}"#,
            r#"{"n": "1"}"#,
            r#"{"n": true}"#,
            r#"{"n": 1, "o": 0.5}"#,
            r#"{"n": 1, "m": {"a": 2.5}}"#,
        ] {
            assert!(read(s).is_err(), "{s}");
        }
    }
}
