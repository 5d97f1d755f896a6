//! The reverse look-up of pairwise ids: which customer a partner's pairwise id (the token
//! `sub` it was given, [`pairwise_id`]) stands for. The data-sharing service asks it through
//! its `Customers` port, which the hub wires to [`PairwiseLookup`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;
use ecohub_eventstore::{Position, SharedStore};

use super::customers::{BuiltInDirectory, CustomerFailure, PairwiseSalt, pairwise_id};

/// A partner's pairwise id back to the hub's customer id (the seam a bank's own directory
/// would implement too).
#[async_trait]
pub trait PairwiseLookup: Send + Sync + 'static {
    /// The customer whose pairwise id at `partner_id` is `pairwise_id`, if any. Exact: a
    /// customer whose registration was acknowledged before the call resolves in it.
    async fn resolve(
        &self,
        partner_id: &str,
        pairwise_id: &str,
    ) -> Result<Option<String>, CustomerFailure>;

    /// The pairwise id `partner_id` knows customer `customer_id` by, if the customer is in
    /// the directory. Exact as [`PairwiseLookup::resolve`].
    async fn pairwise_of(
        &self,
        partner_id: &str,
        customer_id: &str,
    ) -> Result<Option<String>, CustomerFailure>;
}

/// [`PairwiseLookup`] on the built-in directory: a partner's pairwise id back to the hub's
/// customer id.
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
    /// Customer id → index in `customers`.
    by_customer: HashMap<String, usize>,
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

    fn forward(&self, partner_id: &str, customer_id: &str) -> Option<String> {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state
            .by_customer
            .get(customer_id)
            .map(|&i| pairwise_id(&state.customers[i].salt, partner_id))
    }

    /// Reads the directory's tail unless two tail reads completed since `completed` (then one
    /// of them started after the caller began and saw every customer registered before).
    async fn catch_up(&self, completed: u64) -> Result<(), CustomerFailure> {
        let _one_at_a_time = self.tail_read.lock().await;
        if self.tail_reads.load(Ordering::SeqCst) < completed + 2 {
            self.read_tail().await?;
            self.tail_reads.fetch_add(1, Ordering::SeqCst);
        }
        Ok(())
    }

    fn find(&self, partner_id: &str, pairwise_id: &str) -> Option<String> {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .find(partner_id, pairwise_id)
    }

    /// Reads the customers registered since the last read into the directory's read model.
    async fn read_tail(&self) -> Result<(), CustomerFailure> {
        let from = self
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .read_to;
        // Read before the tail: everything up to it is in the tail read below.
        let head = self.store.head().await?;
        let (added, last) = self.directory.pairwise_salts_after(from).await?;
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        for c in added {
            let i = state.customers.len();
            state.by_customer.insert(c.customer_id.clone(), i);
            state.customers.push(c);
        }
        state.read_to = last.max(head);
        Ok(())
    }
}

#[async_trait]
impl PairwiseLookup for PairwiseResolver {
    async fn resolve(
        &self,
        partner_id: &str,
        pairwise_id: &str,
    ) -> Result<Option<String>, CustomerFailure> {
        let completed = self.tail_reads.load(Ordering::SeqCst);
        if let Some(found) = self.find(partner_id, pairwise_id) {
            return Ok(Some(found));
        }
        // Two tail reads completed since this call began: the second one started after it
        // (reads take turns), so it saw every customer registered before the call.
        self.catch_up(completed).await?;
        Ok(self.find(partner_id, pairwise_id))
    }

    async fn pairwise_of(
        &self,
        partner_id: &str,
        customer_id: &str,
    ) -> Result<Option<String>, CustomerFailure> {
        let completed = self.tail_reads.load(Ordering::SeqCst);
        if let Some(found) = self.forward(partner_id, customer_id) {
            return Ok(Some(found));
        }
        self.catch_up(completed).await?;
        Ok(self.forward(partner_id, customer_id))
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
