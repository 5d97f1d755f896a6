//! What client authentication reads from the store (the client's registration, its parsed
//! keys and its partner's standing), remembered under the same rule as the verifier's verdicts: an entry
//! is used only while the [`super::stamp::Stamp`] (heads of the client, partner, revocation
//! and consent categories) is the one read *before* the entry was loaded. Any append to those
//! categories (a registration update or deletion, a suspension) changes it, and the next
//! request reads the streams again — so a cached answer is always the
//! answer the latest revisions would give. On the embedded store reading the head costs no IO;
//! on EventStoreDB it is one call instead of two stream reads.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use crate::domain::{PartnerStanding, RegisteredClient};
use ecohub_jose::jwk::Jwks;

/// A client as authentication needs it: the active registration (None: unknown or deleted)
/// and, for partner clients, the partner's standing.
#[derive(Debug, Clone)]
pub(crate) struct ClientSnapshot {
    pub(crate) client: Option<RegisteredClient>,
    pub(crate) standing: Option<PartnerStanding>,
    /// The client's registered `jwks`, parsed once (None: none, or not usable).
    pub(crate) jwks: Option<Arc<Jwks>>,
}

/// Bound on remembered clients (a full cache is simply cleared).
const LIMIT: usize = 10_000;

/// Head-guarded snapshots by client id.
#[derive(Debug, Default)]
pub(crate) struct ClientCache {
    entries: Mutex<HashMap<String, (super::stamp::Stamp, ClientSnapshot)>>,
}

impl ClientCache {
    /// The snapshot of `client_id` if it was loaded at exactly `head`.
    pub(crate) fn get(
        &self,
        client_id: &str,
        head: &super::stamp::Stamp,
    ) -> Option<ClientSnapshot> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries
            .get(client_id)
            .filter(|(seen, _)| seen == head)
            .map(|(_, snapshot)| snapshot.clone())
    }

    /// Remembers a snapshot loaded after reading `head`.
    pub(crate) fn put(&self, client_id: &str, head: super::stamp::Stamp, snapshot: ClientSnapshot) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= LIMIT {
            entries.clear();
        }
        entries.insert(client_id.to_owned(), (head, snapshot));
    }
}
