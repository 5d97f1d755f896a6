//! One-time use of `jti` values: client assertions (RFC 7523 §3 item 7) and DPoP proofs
//! (RFC 9449 §11.1) are refused when their `jti` was seen before.

use std::collections::HashMap;
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
/// It must be exact across every instance: the production implementation appends a marker
/// event to a stream named after [`replay_key`] with `ExpectedRevision::NoStream`, so exactly
/// one concurrent append wins.
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
    let mut input = Vec::with_capacity(namespace.len() + 1 + jti.len());
    input.extend_from_slice(namespace.as_bytes());
    input.push(0);
    input.extend_from_slice(jti.as_bytes());
    b64url(sha256(&input))
}

/// A single-process guard in memory, for tests and single-instance development, and for the
/// DPoP proofs resource servers see (one per request).
///
/// Entries are also kept ordered by expiry, so [`InMemoryJtiReplayGuard::purge`] costs what it
/// forgets, not what is remembered: at a few thousand proofs per second the guard holds
/// hundreds of thousands of live entries, and scanning them all on every request made DPoP
/// reads quadratic.
#[derive(Debug, Default)]
pub struct InMemoryJtiReplayGuard {
    seen: Mutex<Seen>,
}

#[derive(Debug, Default)]
struct Seen {
    expires: HashMap<String, Timestamp>,
    by_expiry: std::collections::BTreeSet<(Timestamp, String)>,
}

impl InMemoryJtiReplayGuard {
    /// An empty guard.
    pub fn new() -> Self {
        Self::default()
    }

    /// Forgets entries that expired before `now`.
    pub fn purge(&self, now: Timestamp) {
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        while seen.by_expiry.first().is_some_and(|(at, _)| *at < now) {
            if let Some((_, key)) = seen.by_expiry.pop_first() {
                seen.expires.remove(&key);
            }
        }
    }

    /// How many entries are remembered.
    pub fn len(&self) -> usize {
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .expires
            .len()
    }

    /// Whether no entry is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl JtiReplayGuard for InMemoryJtiReplayGuard {
    fn first_use<'a>(
        &'a self,
        namespace: &'a str,
        jti: &'a str,
        expires_at: Timestamp,
    ) -> ReplayFuture<'a> {
        let key = replay_key(namespace, jti);
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        let first = !seen.expires.contains_key(&key);
        if first {
            seen.by_expiry.insert((expires_at, key.clone()));
            seen.expires.insert(key, expires_at);
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
