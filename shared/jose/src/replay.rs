//! One-time use of `jti` values: client assertions (RFC 7523 §3 item 7) and DPoP proofs
//! (RFC 9449 §11.1) are refused when their `jti` was seen before.

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Mutex, PoisonError};

use ecohub_kernel::Timestamp;

use crate::util::{b64url, sha256};

/// The future [`JtiReplayGuard::first_use`] returns.
pub type ReplayFuture<'a> =
    Pin<Box<dyn Future<Output = Result<bool, ReplayGuardError>> + Send + 'a>>;

/// The replay store could not answer; the request must fail with `server_error` (never be
/// accepted: an unchecked `jti` could be a replay).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("replay check unavailable: {0}")]
pub struct ReplayGuardError(pub String);

/// Remembers `jti` values until they expire, so each is accepted once.
///
/// `namespace` separates the uses: `client_assertion:<client_id>` for client assertions,
/// `dpop:<jkt>` for DPoP proofs (see [`replay_key`] for a bounded, opaque key to store).
/// `expires_at` is the instant after which the JWT would be refused anyway, so the entry can
/// be forgotten then.
///
/// It must be exact across every instance: a production implementation records [`replay_key`]
/// in shared storage with an atomic create-if-absent, so exactly one concurrent use wins
/// ([`InMemoryJtiReplayGuard`] is exact within one process only).
pub trait JtiReplayGuard: Send + Sync {
    /// Records `(namespace, jti)`; `Ok(true)` on its first use, `Ok(false)` when it was seen
    /// before (a replay).
    fn first_use<'a>(
        &'a self,
        namespace: &'a str,
        jti: &'a str,
        expires_at: Timestamp,
    ) -> ReplayFuture<'a>;
}

/// A fixed-length, opaque key for `(namespace, jti)`: base64url(SHA-256(namespace ‖ 0x00 ‖
/// jti)), 43 characters of `[A-Za-z0-9_-]`, safe in a stream name and free of client data.
pub fn replay_key(namespace: &str, jti: &str) -> String {
    b64url(replay_digest(namespace, jti))
}

/// SHA-256(namespace ‖ 0x00 ‖ jti): what [`replay_key`] encodes.
fn replay_digest(namespace: &str, jti: &str) -> [u8; 32] {
    let mut input = Vec::with_capacity(namespace.len() + 1 + jti.len());
    input.extend_from_slice(namespace.as_bytes());
    input.push(0);
    input.extend_from_slice(jti.as_bytes());
    let mut digest = [0u8; 32];
    digest.copy_from_slice(&sha256(&input));
    digest
}

/// A single-process guard in memory, for tests and single-instance development, and for the
/// DPoP proofs resource servers see (one per request).
///
/// Entries are kept in one set per expiry second, so [`InMemoryJtiReplayGuard::purge`] drops
/// whole seconds (it costs what it forgets, not what is remembered) and no single set grows to
/// the whole population (no long rehash under the lock). At a few thousand proofs per second
/// the guard holds hundreds of thousands of live entries; the first version scanned them all
/// on every request, which made DPoP reads quadratic. A lookup checks each live second's set
/// (about 70 for DPoP proofs), keyed by the SHA-256 of namespace and `jti` (no allocation).
/// An entry is forgotten once the whole second of its expiry has passed (at most 1 s late).
#[derive(Debug, Default)]
pub struct InMemoryJtiReplayGuard {
    seen: Mutex<Seen>,
}

#[derive(Debug, Default)]
struct Seen {
    /// Expiry second (Unix seconds) → digests of the keys expiring within it.
    by_second: std::collections::BTreeMap<i64, HashSet<[u8; 32], DigestState>>,
    len: usize,
}

/// The keys are SHA-256 digests already: their first 8 bytes are a uniform hash.
#[derive(Debug, Default, Clone, Copy)]
struct DigestState;

impl std::hash::BuildHasher for DigestState {
    type Hasher = DigestHasher;
    fn build_hasher(&self) -> DigestHasher {
        DigestHasher(0)
    }
}

#[derive(Debug, Default)]
struct DigestHasher(u64);

impl std::hash::Hasher for DigestHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for (i, b) in bytes.iter().take(8).enumerate() {
            self.0 ^= u64::from(*b) << (8 * i);
        }
    }
}

impl InMemoryJtiReplayGuard {
    /// An empty guard.
    pub fn new() -> Self {
        Self::default()
    }

    /// Forgets entries that expired before `now` (entries whose expiry second has passed).
    pub fn purge(&self, now: Timestamp) {
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        let current = second_of(now);
        // Every entry of second `s` expires before `s + 1`, so before `now` once `s` < the
        // current second.
        while let Some(entry) = seen.by_second.first_entry() {
            if *entry.key() >= current {
                break;
            }
            let forgotten = entry.remove().len();
            seen.len -= forgotten;
        }
    }

    /// How many entries are remembered.
    pub fn len(&self) -> usize {
        self.seen.lock().unwrap_or_else(PoisonError::into_inner).len
    }

    /// Whether no entry is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The whole seconds of `t` (rounded down).
fn second_of(t: Timestamp) -> i64 {
    t.unix_seconds()
}

impl JtiReplayGuard for InMemoryJtiReplayGuard {
    fn first_use<'a>(
        &'a self,
        namespace: &'a str,
        jti: &'a str,
        expires_at: Timestamp,
    ) -> ReplayFuture<'a> {
        let digest = replay_digest(namespace, jti);
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        let first = !seen.by_second.values().any(|set| set.contains(&digest));
        if first {
            seen.by_second
                .entry(second_of(expires_at))
                .or_default()
                .insert(digest);
            seen.len += 1;
        }
        drop(seen);
        Box::pin(std::future::ready(Ok(first)))
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future;

    use super::*;

    fn at(s: i64) -> Timestamp {
        Timestamp::from_unix_seconds(s)
    }

    fn first_use(guard: &InMemoryJtiReplayGuard, jti: &str, expires: i64) -> bool {
        let future = guard.first_use("dpop:k", jti, at(expires));
        let waker = std::task::Waker::noop();
        match std::pin::pin!(future).poll(&mut std::task::Context::from_waker(waker)) {
            std::task::Poll::Ready(r) => r.unwrap(),
            std::task::Poll::Pending => unreachable!("the in-memory guard answers at once"),
        }
    }

    #[test]
    fn purging_forgets_exactly_the_expired_entries_whatever_their_order() {
        let guard = InMemoryJtiReplayGuard::new();
        assert!(first_use(&guard, "late", 100));
        assert!(first_use(&guard, "early", 50));
        assert!(first_use(&guard, "middle", 70));
        assert!(!first_use(&guard, "late", 100));
        guard.purge(at(60));
        assert_eq!(guard.len(), 2);
        // Still remembered: a replay is refused.
        assert!(!first_use(&guard, "late", 100));
        assert!(!first_use(&guard, "middle", 70));
        guard.purge(at(70));
        assert_eq!(guard.len(), 2, "kept until its expiry instant has passed");
        guard.purge(at(71));
        assert_eq!(guard.len(), 1);
        guard.purge(at(101));
        assert!(guard.is_empty());
    }
}
