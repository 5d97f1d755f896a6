//! The customers' contact ledgers as this instance last read or wrote them, so that a decision
//! need not read the ledger first (ADR 0022). A remembered ledger may be behind the stream
//! (another instance, a response, the expiry job wrote since): that is safe, because every
//! contact policy only gets stricter as events are added, so a ledger that lets nothing
//! through means the current one lets nothing through either, and a decision that presents
//! anything appends expecting the remembered revision, which fails if the stream has moved on
//! (then the decision reads the ledger and decides again).

use std::sync::{Arc, Mutex};

use ecohub_eventstore::CurrentRevision;
use rustc_hash::FxHashMap;

use crate::domain::ContactLedger;

/// At most this many ledgers are remembered; beyond, all are forgotten at once (cheap, rare,
/// and only costs reads).
const LIMIT: usize = 200_000;

/// Remembered ledgers by stream.
#[derive(Debug, Default)]
pub(crate) struct LedgerCache {
    ledgers: Mutex<FxHashMap<String, (CurrentRevision, Arc<ContactLedger>)>>,
}

impl LedgerCache {
    /// The ledger of `stream` as last read or written here, and its revision.
    pub(crate) fn get(&self, stream: &str) -> Option<(Arc<ContactLedger>, CurrentRevision)> {
        self.ledgers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(stream)
            .map(|(r, l)| (Arc::clone(l), *r))
    }

    /// Remembers `ledger` at `revision` unless a newer one is remembered.
    pub(crate) fn put(&self, stream: &str, ledger: Arc<ContactLedger>, revision: CurrentRevision) {
        let mut ledgers = self.ledgers.lock().unwrap_or_else(|e| e.into_inner());
        if ledgers.len() >= LIMIT && !ledgers.contains_key(stream) {
            ledgers.clear();
        }
        match ledgers.get_mut(stream) {
            Some(entry) if entry.0.next() > revision.next() => {}
            Some(entry) => *entry = (revision, ledger),
            None => {
                ledgers.insert(stream.to_owned(), (revision, ledger));
            }
        }
    }
}
