//! The consent service, the customer directory, the partners service and the key ring behind
//! the sharing service's ports. Pure translation: every decision stays in the service crates.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use ecohub_auth::{BuiltInDirectory, PairwiseSalt, pairwise_id};
use ecohub_consents::ConsentsState;
use ecohub_consents::domain::{ConsentData, ConsentId, ConsentStatus};
use ecohub_eventstore::{Position, SharedStore};
use ecohub_jose::KeyRing;
use ecohub_kernel::{Clock, Timestamp};
use ecohub_partners::PartnersState;
use ecohub_partners::domain::PartnerId;
use ecohub_sharing::{
    ConsentGrant, ConsentGrants, Customers, PartnerWebhooks, PortError, SetSigner,
};

/// [`ConsentGrants`] on the consent streams, read at their latest revision. A consent read is
/// remembered with the head of the `consent-` category read before it, and used again only
/// while that head is unchanged (no consent stream has changed since: exact); the status is
/// evaluated at the time asked, so an expiry needs no event to take effect.
pub struct ConsentStreams {
    state: ConsentsState,
    seen: Mutex<HashMap<String, SeenConsent>>,
}

/// A consent as read, with the `consent-` category head read before it.
type SeenConsent = (Option<Position>, Option<ConsentData>);

impl ConsentStreams {
    /// Grants read from `state`'s store.
    pub fn new(state: ConsentsState) -> Self {
        Self {
            state,
            seen: Mutex::new(HashMap::new()),
        }
    }

    fn remembered(&self, consent_id: &str, head: Option<Position>) -> Option<Option<ConsentData>> {
        let seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        seen.get(consent_id)
            .filter(|(at, _)| *at == head)
            .map(|(_, data)| data.clone())
    }

    fn remember(&self, consent_id: &str, head: Option<Position>, data: Option<ConsentData>) {
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        if seen.len() >= 100_000 {
            seen.clear();
        }
        seen.insert(consent_id.to_owned(), (head, data));
    }
}

#[async_trait]
impl ConsentGrants for ConsentStreams {
    async fn grant(
        &self,
        consent_id: &str,
        now: Timestamp,
    ) -> Result<Option<ConsentGrant>, PortError> {
        let Ok(id) = ConsentId::parse(consent_id) else {
            return Ok(None);
        };
        let store = self.state.store.clone();
        let head = store
            .category_head("consent-")
            .await
            .map_err(|e| PortError(e.to_string()))?;
        let data = match self.remembered(consent_id, head) {
            Some(data) => data,
            None => {
                let loaded = self
                    .state
                    .load(id)
                    .await
                    .map_err(|e| PortError(e.to_string()))?;
                let data = loaded.consent.data().cloned();
                self.remember(consent_id, head, data.clone());
                data
            }
        };
        let Some(data) = data else {
            return Ok(None);
        };
        if data.status_at(now) != ConsentStatus::Authorised {
            return Ok(None);
        }
        let Some(customer) = &data.customer_id else {
            return Ok(None);
        };
        Ok(Some(ConsentGrant {
            consent_id: data.id.to_string(),
            partner_id: data.partner_id.to_string(),
            customer_id: customer.as_str().to_owned(),
            permissions: data
                .permissions
                .iter()
                .map(|p| p.code().to_owned())
                .collect(),
            transaction_from: data.transaction_window.from,
            transaction_to: data.transaction_window.to,
            data_providers: data.data_providers.iter().map(|p| p.to_string()).collect(),
            expires_at: data.expiry.at(),
        }))
    }
}

/// [`Customers`]: a provider's pairwise id back to the hub's customer id.
///
/// Pairwise ids are one-way (a hash of the customer's secret salt and the partner id), so the
/// resolver keeps two things in memory:
///
/// * the customer directory's read model: every customer's id and pairwise salt, in
///   registration order, shared by all partners, with the log position it has been read up
///   to. Customers are never deleted, so it only grows, and a miss reads only its new tail
///   ([`BuiltInDirectory::pairwise_salts_after`] from that position). The tail read does not
///   rely on a remembered head: customers added by `ecohub customers add` in another process
///   beside a running hub move no head this process sees, yet resolve on the next call;
/// * per partner, its pairwise id of each customer, computed up to how far through the
///   directory that partner has got: a call first hashes the customers registered since
///   (memory only, no store read).
///
/// So a known id costs a hash look-up; an unknown id costs one read of the directory's tail
/// (an index seek that finds nothing when no customer was added, and in the log only what
/// was appended since the previous miss: the position read up to is raised to the log head
/// read before the tail), never a rescan of the directory. Concurrent misses share a tail
/// read that started after they arrived. Exact: a customer whose registration was
/// acknowledged before a call resolves in that call.
///
/// Memory bound: the directory holds one id and salt per customer (about 150 bytes each,
/// the same salts login reads); the partners' maps together hold at most
/// [`PairwiseResolver::MAX_MAPPED`] ids, or one partner's map of the whole directory if that
/// is larger: beyond it, the least recently used partners' maps are dropped and recomputed
/// from memory when next needed.
pub struct PairwiseResolver {
    store: SharedStore,
    directory: BuiltInDirectory,
    state: Mutex<Resolved>,
    /// Serialises tail reads.
    tail_read: tokio::sync::Mutex<()>,
    /// How many tail reads have completed.
    tail_reads: AtomicU64,
}

/// What the resolver has computed so far.
#[derive(Default)]
struct Resolved {
    /// Every customer read so far, in registration order.
    customers: Vec<PairwiseSalt>,
    /// The log has been read up to here for customers.
    read_to: Option<Position>,
    /// Per partner id.
    partners: HashMap<String, PartnerIds>,
    /// Pairwise ids held by all partners' maps.
    mapped: usize,
    /// Moves on every call, for least-recently-used eviction.
    tick: u64,
}

/// One partner's pairwise ids of the first `computed` customers.
#[derive(Default)]
struct PartnerIds {
    /// Pairwise id → index in `Resolved::customers`.
    ids: HashMap<Box<str>, usize>,
    computed: usize,
    last_used: u64,
}

impl Resolved {
    /// The customer with this pairwise id at `partner`, after hashing the customers the
    /// partner's map lacks.
    fn find(&mut self, partner: &str, pairwise: &str) -> Option<String> {
        self.tick += 1;
        let Self {
            customers,
            partners,
            mapped,
            tick,
            ..
        } = self;
        let ids = partners.entry(partner.to_owned()).or_default();
        ids.last_used = *tick;
        let held = ids.ids.len();
        for (i, c) in customers.iter().enumerate().skip(ids.computed) {
            ids.ids.insert(pairwise_id(&c.salt, partner).into(), i);
        }
        *mapped += ids.ids.len() - held;
        ids.computed = customers.len();
        let found = ids
            .ids
            .get(pairwise)
            .map(|&i| customers[i].customer_id.clone());
        self.evict(partner, PairwiseResolver::MAX_MAPPED);
        found
    }

    /// Drops the least recently used maps (never `keep`'s) while more than `max` ids are held.
    fn evict(&mut self, keep: &str, max: usize) {
        while self.mapped > max {
            let Some(oldest) = self
                .partners
                .iter()
                .filter(|(p, _)| p.as_str() != keep)
                .min_by_key(|(_, ids)| ids.last_used)
                .map(|(p, _)| p.clone())
            else {
                return;
            };
            if let Some(dropped) = self.partners.remove(&oldest) {
                self.mapped -= dropped.ids.len();
            }
        }
    }
}

impl PairwiseResolver {
    /// At most this many pairwise ids are kept across the partners' maps (beyond one
    /// partner's map of the whole directory).
    pub const MAX_MAPPED: usize = 1_000_000;

    /// A resolver over the built-in customer directory on `store`.
    pub fn new(store: SharedStore) -> Self {
        Self {
            directory: BuiltInDirectory::new(store.clone()),
            store,
            state: Mutex::new(Resolved::default()),
            tail_read: tokio::sync::Mutex::new(()),
            tail_reads: AtomicU64::new(0),
        }
    }

    fn find(&self, partner_id: &str, pairwise_id: &str) -> Option<String> {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .find(partner_id, pairwise_id)
    }

    /// Reads the customers registered since the last read into the directory's read model.
    async fn read_tail(&self) -> Result<(), PortError> {
        let failed = |e: &dyn std::fmt::Display| PortError(e.to_string());
        let from = self
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .read_to;
        // Read before the tail: everything up to it is in the tail read below.
        let head = self.store.head().await.map_err(|e| failed(&e))?;
        let (added, last) = self
            .directory
            .pairwise_salts_after(from)
            .await
            .map_err(|e| failed(&e))?;
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.customers.extend(added);
        state.read_to = last.max(head);
        Ok(())
    }
}

#[async_trait]
impl Customers for PairwiseResolver {
    async fn resolve(
        &self,
        partner_id: &str,
        pairwise_id: &str,
    ) -> Result<Option<String>, PortError> {
        let completed = self.tail_reads.load(Ordering::SeqCst);
        if let Some(found) = self.find(partner_id, pairwise_id) {
            return Ok(Some(found));
        }
        {
            let _one_at_a_time = self.tail_read.lock().await;
            // Two tail reads completed since this call began: the second one started after
            // it (reads take turns), so it saw every customer registered before the call.
            if self.tail_reads.load(Ordering::SeqCst) < completed + 2 {
                self.read_tail().await?;
                self.tail_reads.fetch_add(1, Ordering::SeqCst);
            }
        }
        Ok(self.find(partner_id, pairwise_id))
    }
}

/// [`PartnerWebhooks`] from the partner's stream (exact).
pub struct PartnerStreams(pub PartnersState);

#[async_trait]
impl PartnerWebhooks for PartnerStreams {
    async fn webhooks(&self, partner_id: &str) -> Result<Vec<String>, PortError> {
        let Ok(id) = PartnerId::parse(partner_id) else {
            return Ok(Vec::new());
        };
        match self.0.partner(id).await {
            Ok(partner) => Ok(partner
                .webhooks()
                .iter()
                .map(|w| w.url.to_string())
                .collect()),
            Err(ecohub_partners::AppError::Refused(
                ecohub_partners::domain::PartnerError::NotFound,
            )) => Ok(Vec::new()),
            Err(e) => Err(PortError(e.to_string())),
        }
    }
}

/// [`SetSigner`] with the hub's key ring: SETs verify with `/jwks`.
pub struct RingSets {
    /// The hub's keys.
    pub ring: Arc<KeyRing>,
    /// Where `now` comes from (the key in use changes with rotation).
    pub clock: Arc<dyn Clock>,
}

impl SetSigner for RingSets {
    fn sign(&self, claims: &serde_json::Value) -> Result<String, PortError> {
        let key = self
            .ring
            .signing_key(self.clock.now())
            .map_err(|e| PortError(e.to_string()))?;
        key.sign_jwt("secevent+jwt", claims)
            .map_err(|e| PortError(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn directory(n: usize) -> Resolved {
        Resolved {
            customers: (0..n)
                .map(|i| PairwiseSalt {
                    customer_id: format!("customer-{i}"),
                    salt: format!("salt-{i}"),
                })
                .collect(),
            ..Resolved::default()
        }
    }

    #[test]
    fn the_least_recently_used_partner_maps_go_first_and_come_back_from_memory() {
        let mut resolved = directory(3);
        for partner in ["a", "b", "c"] {
            let id = pairwise_id("salt-1", partner);
            assert_eq!(resolved.find(partner, &id).as_deref(), Some("customer-1"));
        }
        assert_eq!(resolved.mapped, 9);
        // "a" is used again: "b" is now the least recently used.
        assert!(resolved.find("a", "unknown").is_none());
        resolved.evict("c", 6);
        assert_eq!(resolved.mapped, 6);
        let mut kept: Vec<_> = resolved.partners.keys().cloned().collect();
        kept.sort();
        assert_eq!(kept, ["a", "c"]);
        // The one asked for is never dropped, even alone over the bound.
        resolved.evict("c", 0);
        assert_eq!(resolved.partners.keys().collect::<Vec<_>>(), ["c"]);
        assert_eq!(resolved.mapped, 3);
        // A dropped map is recomputed from the directory in memory.
        let id = pairwise_id("salt-2", "b");
        assert_eq!(resolved.find("b", &id).as_deref(), Some("customer-2"));
        assert_eq!(resolved.mapped, 6);
    }
}
