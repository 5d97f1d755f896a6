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

/// A single-process guard in memory, for tests and single-instance development.
#[derive(Debug, Default)]
pub struct InMemoryJtiReplayGuard {
    seen: Mutex<HashMap<String, Timestamp>>,
}

impl InMemoryJtiReplayGuard {
    /// An empty guard.
    pub fn new() -> Self {
        Self::default()
    }

    /// Forgets entries that expired before `now`.
    pub fn purge(&self, now: Timestamp) {
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|_, expires_at| *expires_at >= now);
    }

    /// How many entries are remembered.
    pub fn len(&self) -> usize {
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
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
        let first = match seen.entry(key) {
            std::collections::hash_map::Entry::Occupied(_) => false,
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(expires_at);
                true
            }
        };
        drop(seen);
        Box::pin(std::future::ready(Ok(first)))
    }
}
