//! Small helpers of the core, public for the server built on it: base64url, SHA-256, random
//! identifiers, NumericDate, constant-time comparison.

use aws_lc_rs::digest;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ecohub_kernel::Timestamp;

/// base64url without padding (RFC 7515 §2).
pub fn b64url(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Strict base64url decoding: no padding, no whitespace, canonical trailing bits.
pub fn b64url_decode(s: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(s).ok()
}

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> Vec<u8> {
    digest::digest(&digest::SHA256, data).as_ref().to_vec()
}

/// `bytes` random bytes from the operating system's CSPRNG, base64url-encoded.
pub fn random_id(bytes: usize) -> String {
    b64url(random_bytes(bytes))
}

/// `bytes` random bytes from the operating system's CSPRNG.
pub fn random_bytes(bytes: usize) -> Vec<u8> {
    let mut buf = vec![0u8; bytes];
    // SystemRandom only fails when the OS cannot supply randomness; issuing predictable
    // identifiers would be worse than stopping.
    SystemRandom::new()
        .fill(&mut buf)
        .expect("the operating system's random number generator failed");
    buf
}

/// A JWT NumericDate (whole seconds since the epoch) for `t`.
pub fn numeric_date(t: Timestamp) -> i64 {
    t.unix_seconds()
}

/// Constant-time comparison of two byte strings.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(a, b).is_ok()
}
