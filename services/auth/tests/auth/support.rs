//! Helpers: fixed instants, free-standing keys, hand-made JWTs.

use ecohub_jose::{SigningAlgorithm, SigningKey};
use ecohub_kernel::Timestamp;

pub use ecohub_jose::testing::{parts, signed};

/// A fixed instant to count from.
pub fn t0() -> Timestamp {
    Timestamp::from_unix_seconds(1_800_000_000)
}

/// `t0` plus `secs` (may be negative).
pub fn at(secs: i64) -> Timestamp {
    Timestamp::from_unix_seconds(1_800_000_000 + secs)
}

/// A free-standing key (a client's, a DPoP key, an attacker's).
pub fn key(alg: SigningAlgorithm) -> SigningKey {
    SigningKey::generate(alg, t0(), t0()).unwrap()
}
