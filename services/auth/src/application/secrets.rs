//! Client secrets and registration access tokens: generated here (the edge), stored only as
//! digests. Both are 256-bit random values, so a slow password hash adds nothing: a secret is
//! stored as `sha256:<base64url SHA-256>` and checked by comparing digests in constant time
//! (ADR 0019). People's passwords keep argon2id ([`hash_secret`], [`verify_secret`]).
//! Secrets stored as argon2id PHC strings by earlier builds still verify, through
//! [`SecretCheck`]: remembered once verified, computed once for concurrent requests
//! (single-flight), and, per client id, throttled after repeated failures.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::domain::login::{LOCK_MEMORY, LoginPolicy};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

use ecohub_jose::util::{b64url, ct_eq, random_id, sha256};

/// Bytes of randomness in client secrets and registration access tokens (256 bits).
pub const SECRET_BYTES: usize = 32;

/// A fresh 256-bit secret, base64url (43 characters).
pub fn new_secret() -> String {
    random_id(SECRET_BYTES)
}

/// The prefix of a client secret stored as its SHA-256 digest.
pub const SHA256_PREFIX: &str = "sha256:";

/// How a hub-generated client secret is stored: `sha256:<base64url SHA-256>` (ADR 0019).
pub fn hash_client_secret(secret: &str) -> String {
    format!("{SHA256_PREFIX}{}", b64url(sha256(secret.as_bytes())))
}

/// Whether `stored` is a SHA-256 digest (cheap to check) rather than a legacy argon2 hash.
pub fn is_fast_digest(stored: &str) -> bool {
    stored.starts_with(SHA256_PREFIX)
}

/// Whether `secret` matches the `sha256:` digest `stored`, compared in constant time.
fn digest_matches(stored: &str, secret: &str) -> bool {
    ct_eq(hash_client_secret(secret).as_bytes(), stored.as_bytes())
}

/// The argon2id PHC string of `secret` (a person's password), with a random 128-bit salt.
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

/// What checking a presented client secret concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretVerdict {
    /// The secret is the client's.
    Matched,
    /// It is not (or the client has no secret).
    Refused,
    /// Not checked: the client id is locked after repeated failures, and the secret could
    /// only be checked with argon2. Retry after this long.
    Throttled(Duration),
}

/// Bound on every map below (a full map is simply cleared).
const CAPACITY: usize = 10_000;

/// Failed secrets of one client id (see [`SecretCheck`]).
#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    first: Instant,
    locks: u32,
    last_lock: Option<Instant>,
    locked_until: Option<Instant>,
}

type Flight = Arc<tokio::sync::OnceCell<bool>>;

/// Checks client secrets (one per authorization server and process):
///
/// * `sha256:` digests (every secret issued since ADR 0019) are compared at once, in
///   constant time: a wrong secret costs a hash, not an argon2 run;
/// * argon2id PHC strings stored by earlier builds still verify; a verified pair is
///   remembered (the SHA-256 of the secret, keyed by the PHC string) so it costs one argon2
///   per client and process, and concurrent first verifications of the same pair share one
///   argon2 run (single-flight);
/// * failures are counted per client id under the sign-in policy ([`LoginPolicy`]: 5 within
///   15 minutes lock for 1 minute, doubling up to 1 hour); while a client id is locked, a
///   secret that could only be checked with argon2 is refused without running it. A client id
///   is not secret, so the lock never refuses a secret that is checked cheaply (a digest, or
///   one verified before): an attacker who knows only the id can burn neither the CPU nor
///   the client's access.
#[derive(Debug, Default)]
pub struct SecretCheck {
    policy: LoginPolicy,
    verified: Mutex<HashMap<String, [u8; 32]>>,
    in_flight: Mutex<HashMap<(String, [u8; 32]), Flight>>,
    failures: Mutex<HashMap<String, Failures>>,
    argon2_runs: AtomicU64,
}

impl SecretCheck {
    /// A check throttling failures under `policy`.
    pub fn with_policy(policy: LoginPolicy) -> Self {
        Self {
            policy,
            ..Self::default()
        }
    }

    /// How many argon2 verifications this check has run (for tests and metrics).
    pub fn argon2_runs(&self) -> u64 {
        self.argon2_runs.load(Ordering::Relaxed)
    }

    /// Checks `secret` for `client_id`, whose stored secret is `stored` (None: unknown
    /// client, or one without a secret; the same cheap work is spent, so the answer time
    /// does not say which).
    pub async fn check(
        &self,
        client_id: &str,
        stored: Option<&str>,
        secret: &str,
    ) -> SecretVerdict {
        let digest = sha256_array(secret);
        let Some(stored) = stored else {
            let _ = digest_matches("sha256:unknown-client", secret);
            return SecretVerdict::Refused;
        };
        let matched = if is_fast_digest(stored) {
            digest_matches(stored, secret)
        } else if self.verified_before(stored, &digest) {
            true
        } else {
            if let Some(wait) = self.locked_for(client_id, Instant::now()) {
                return SecretVerdict::Throttled(wait);
            }
            self.verify_once(stored, secret, digest).await
        };
        if matched {
            lock(&self.failures).remove(client_id);
            SecretVerdict::Matched
        } else {
            self.record_failure(client_id, Instant::now());
            SecretVerdict::Refused
        }
    }

    fn verified_before(&self, stored: &str, digest: &[u8; 32]) -> bool {
        lock(&self.verified)
            .get(stored)
            .is_some_and(|d| ct_eq(d, digest))
    }

    /// argon2 for `(stored, secret)`, run once however many requests ask at the same time.
    async fn verify_once(&self, stored: &str, secret: &str, digest: [u8; 32]) -> bool {
        let key = (stored.to_owned(), digest);
        let flight: Flight = {
            let mut in_flight = lock(&self.in_flight);
            if in_flight.len() >= CAPACITY {
                in_flight.clear();
            }
            Arc::clone(in_flight.entry(key.clone()).or_default())
        };
        let matched = *flight
            .get_or_init(|| async {
                self.argon2_runs.fetch_add(1, Ordering::Relaxed);
                let (stored, secret) = (stored.to_owned(), secret.to_owned());
                tokio::task::spawn_blocking(move || verify_secret(&stored, &secret))
                    .await
                    .unwrap_or(false)
            })
            .await;
        {
            let mut in_flight = lock(&self.in_flight);
            if in_flight.get(&key).is_some_and(|f| Arc::ptr_eq(f, &flight)) {
                in_flight.remove(&key);
            }
        }
        if matched {
            let mut verified = lock(&self.verified);
            if verified.len() >= CAPACITY {
                verified.clear();
            }
            verified.insert(key.0, digest);
        }
        matched
    }

    fn locked_for(&self, client_id: &str, now: Instant) -> Option<Duration> {
        lock(&self.failures)
            .get(client_id)
            .and_then(|f| f.locked_until)
            .and_then(|until| until.checked_duration_since(now))
            .filter(|wait| !wait.is_zero())
    }

    fn record_failure(&self, client_id: &str, now: Instant) {
        let mut failures = lock(&self.failures);
        if failures.len() >= CAPACITY && !failures.contains_key(client_id) {
            failures.clear();
        }
        let entry = failures.entry(client_id.to_owned()).or_insert(Failures {
            count: 0,
            first: now,
            locks: 0,
            last_lock: None,
            locked_until: None,
        });
        if now.duration_since(entry.first) > self.policy.failure_window {
            entry.count = 0;
            entry.first = now;
        }
        if entry
            .last_lock
            .is_some_and(|at| now.duration_since(at) > LOCK_MEMORY)
        {
            entry.locks = 0;
        }
        entry.count += 1;
        if entry.count >= self.policy.max_failures.max(1) {
            entry.locked_until = Some(now + self.policy.lockout_after(entry.locks));
            entry.locks = entry.locks.saturating_add(1);
            entry.last_lock = Some(now);
            entry.count = 0;
            entry.first = now;
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn sha256_array(secret: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(&sha256(secret.as_bytes()));
    out
}

/// SHA-256 of a registration access token, base64url.
pub fn token_hash(token: &str) -> String {
    b64url(sha256(token.as_bytes()))
}

/// Whether `token` hashes to `expected_hash`, compared in constant time.
pub fn token_matches(expected_hash: &str, token: &str) -> bool {
    ct_eq(token_hash(token).as_bytes(), expected_hash.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hub_generated_secrets_are_checked_by_digest_without_argon2() {
        let check = SecretCheck::default();
        let secret = new_secret();
        let stored = hash_client_secret(&secret);
        assert!(stored.starts_with("sha256:"));
        assert_eq!(
            check.check("c", Some(&stored), &secret).await,
            SecretVerdict::Matched
        );
        for _ in 0..20 {
            assert_eq!(
                check.check("c", Some(&stored), "wrong").await,
                SecretVerdict::Refused
            );
        }
        // Locked by now, yet the right secret, checked cheaply, still passes.
        assert_eq!(
            check.check("c", Some(&stored), &secret).await,
            SecretVerdict::Matched
        );
        assert_eq!(
            check.check("c", None, &secret).await,
            SecretVerdict::Refused
        );
        assert_eq!(check.argon2_runs(), 0);
    }

    #[tokio::test]
    async fn argon2_secrets_stored_by_earlier_builds_still_verify_once_for_concurrent_requests() {
        let check = Arc::new(SecretCheck::default());
        let secret = new_secret();
        let stored = hash_secret(&secret).unwrap();
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..16 {
            let (check, stored, secret) = (Arc::clone(&check), stored.clone(), secret.clone());
            tasks.spawn(async move { check.check("c", Some(&stored), &secret).await });
        }
        while let Some(verdict) = tasks.join_next().await {
            assert_eq!(verdict.unwrap(), SecretVerdict::Matched);
        }
        assert_eq!(
            check.argon2_runs(),
            1,
            "one argon2 run for 16 concurrent requests"
        );
        assert_eq!(
            check.check("c", Some(&stored), &secret).await,
            SecretVerdict::Matched
        );
        assert_eq!(check.argon2_runs(), 1, "remembered once verified");
    }

    #[tokio::test]
    async fn repeated_failures_lock_the_client_id_before_argon2_runs() {
        let check = SecretCheck::default();
        let secret = new_secret();
        let stored = hash_secret(&secret).unwrap();
        for _ in 0..5 {
            assert_eq!(
                check.check("c", Some(&stored), "wrong").await,
                SecretVerdict::Refused
            );
        }
        let runs = check.argon2_runs();
        assert_eq!(runs, 5);
        for _ in 0..50 {
            assert!(matches!(
                check.check("c", Some(&stored), "wrong").await,
                SecretVerdict::Throttled(wait) if wait <= Duration::from_secs(60)
            ));
        }
        // Not even the right secret is put through argon2 while locked...
        assert!(matches!(
            check.check("c", Some(&stored), &secret).await,
            SecretVerdict::Throttled(_)
        ));
        assert_eq!(check.argon2_runs(), runs, "no argon2 while locked");
        // ...and another client id is not affected.
        assert_eq!(
            check.check("d", Some(&stored), &secret).await,
            SecretVerdict::Matched
        );
    }
}
