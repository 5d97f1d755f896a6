//! Helpers: fixed instants, rings in temporary directories, hand-made JWTs.

use std::future::Future;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use ecohub_jose::testing::compact_jws;
use ecohub_jose::{KeyRing, SigningAlgorithm, SigningKey};
use ecohub_kernel::Timestamp;
use serde_json::Value;

pub use ecohub_jose::testing::{parts, signed};

pub const ISSUER: &str = "https://hub.example.com";
pub const AUDIENCE: &str = "https://api.hub.example.com";
pub const TOKEN_ENDPOINT: &str = "https://hub.example.com/oauth2/token";
pub const LIFETIME: Duration = Duration::from_secs(300);

/// A fixed instant to count from.
pub fn t0() -> Timestamp {
    Timestamp::from_unix_seconds(1_800_000_000)
}

/// `t0` plus `secs` (may be negative).
pub fn at(secs: i64) -> Timestamp {
    Timestamp::from_unix_seconds(1_800_000_000 + secs)
}

pub fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// A key ring in a fresh temporary directory whose signing key at `t0` uses `alg`.
pub fn ring(alg: SigningAlgorithm) -> (tempfile::TempDir, KeyRing) {
    let dir = tempfile::tempdir().unwrap();
    let ring = KeyRing::open(dir.path(), t0()).unwrap();
    if alg != SigningAlgorithm::Es256 {
        ring.rotate(alg, t0(), Duration::ZERO, LIFETIME).unwrap();
    }
    assert_eq!(ring.signing_key(t0()).unwrap().algorithm(), alg);
    (dir, ring)
}

/// A free-standing key (a client's, a DPoP key, an attacker's).
pub fn key(alg: SigningAlgorithm) -> SigningKey {
    SigningKey::generate(alg, t0(), t0()).unwrap()
}

/// HMAC-SHA256 with `secret` as the key: the algorithm-confusion attack.
pub fn hs256(secret: &[u8], header: &Value, claims: &Value) -> String {
    use aws_lc_rs::hmac;
    compact_jws(header, claims, |m| {
        hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, secret), m)
            .as_ref()
            .to_vec()
    })
}

/// Unsigned (`alg: none` style: empty signature).
pub fn unsigned(header: &Value, claims: &Value) -> String {
    compact_jws(header, claims, |_| Vec::new())
}

/// Runs a future that never waits (every guard in these tests answers at once).
pub fn ready<F: Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("future was not ready"),
    }
}
