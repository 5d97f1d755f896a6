//! Client secrets and registration access tokens: generated here (the edge), stored only as
//! hashes — argon2id for secrets (a guessable human-chosen secret is impossible, but a
//! leaked event stream must still not hand out credentials), SHA-256 for the 256-bit random
//! registration access token (a slow hash adds nothing to 256 bits of entropy).

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock, PoisonError};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

use ecohub_jose::util::{b64url, ct_eq, random_id, sha256};

/// Bytes of randomness in client secrets and registration access tokens (256 bits).
pub const SECRET_BYTES: usize = 32;

/// A fresh 256-bit secret, base64url (43 characters).
pub fn new_secret() -> String {
    random_id(SECRET_BYTES)
}

/// The argon2id PHC string of `secret`, with a random 128-bit salt.
pub fn hash_secret(secret: &str) -> Result<String, String> {
    let salt = random_salt()?;
    Argon2::default()
        .hash_password(secret.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| format!("argon2 hashing failed: {e}"))
}

fn random_salt() -> Result<SaltString, String> {
    let raw = ecohub_jose::util::random_bytes(16);
    SaltString::encode_b64(&raw).map_err(|e| format!("salt encoding failed: {e}"))
}

/// Whether `secret` matches the PHC string `hash` (constant time inside argon2). A malformed
/// hash never matches.
pub fn verify_secret(hash: &str, secret: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(secret.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Most verified secrets remembered by [`verify_secret_cached`].
const VERIFIED_CACHE_CAPACITY: usize = 10_000;

/// [`verify_secret`], remembering successes: once `secret` verified against the PHC string
/// `hash`, the same pair verifies again by comparing SHA-256 digests (constant time) instead
/// of re-running argon2, so client_secret_basic costs one argon2 per client and process,
/// not one per token request. Only the digest of a verified secret is kept, keyed by the PHC
/// string (unique per client and secret thanks to its random salt); wrong secrets always pay
/// the full argon2 price, so guessing stays slow. Secrets are 256-bit random values, so the
/// digest held in memory is not guessable either.
pub fn verify_secret_cached(hash: &str, secret: &str) -> bool {
    if verified_before(hash, secret) {
        return true;
    }
    if !verify_secret(hash, secret) {
        return false;
    }
    let digest = sha256(secret.as_bytes());
    let mut cache = verified_cache()
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if cache.len() >= VERIFIED_CACHE_CAPACITY {
        cache.clear();
    }
    cache.insert(hash.to_owned(), digest);
    true
}

fn verified_cache() -> &'static Mutex<HashMap<String, Vec<u8>>> {
    static VERIFIED: OnceLock<Mutex<HashMap<String, Vec<u8>>>> = OnceLock::new();
    VERIFIED.get_or_init(Default::default)
}

/// Whether `secret` already verified against `hash` in this process (cheap: no argon2).
pub fn verified_before(hash: &str, secret: &str) -> bool {
    let digest = sha256(secret.as_bytes());
    verified_cache()
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(hash)
        .is_some_and(|d| ct_eq(d, &digest))
}

/// Spends the same work as a real verification, for unknown clients (no timing oracle on
/// which client ids exist).
pub fn verify_against_dummy(secret: &str) {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let hash = DUMMY.get_or_init(|| hash_secret("dummy secret").unwrap_or_default());
    let _ = verify_secret(hash, secret);
}

/// SHA-256 of a registration access token, base64url.
pub fn token_hash(token: &str) -> String {
    b64url(sha256(token.as_bytes()))
}

/// Whether `token` hashes to `expected_hash`, compared in constant time.
pub fn token_matches(expected_hash: &str, token: &str) -> bool {
    ct_eq(token_hash(token).as_bytes(), expected_hash.as_bytes())
}
