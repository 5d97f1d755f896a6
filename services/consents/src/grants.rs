//! Whether a consent grants data access at a time, answered by the consent service itself for
//! the data-sharing service's `ConsentGrants` port (the hub only translates the view).
//!
//! A consent read for this question is remembered with the head of the `consent-` category
//! read *before* it, and used again only while that head is unchanged (no consent stream has
//! changed since): exactly what re-reading the stream's latest revision would answer. The
//! status is evaluated at the time asked, so an expiry needs no event to take effect. The use
//! case itself, [`ConsentsState::grant`](crate::ConsentsState::grant), is in the application
//! layer, above this module.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use ecohub_eventstore::Position;
use ecohub_kernel::Timestamp;

use crate::domain::{ConsentData, ConsentId, ConsentStatus};

/// What an authorised consent lets its partner read: the answer to "does consent X grant
/// access at time T".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentGrant {
    /// The consent id.
    pub consent_id: String,
    /// The partner (data recipient) it was granted to.
    pub partner_id: String,
    /// The hub's internal id of the customer who authorised it.
    pub customer_id: String,
    /// The permission codes granted.
    pub permissions: Vec<String>,
    /// Optional transaction window start.
    pub transaction_from: Option<Timestamp>,
    /// Optional transaction window end.
    pub transaction_to: Option<Timestamp>,
    /// The data providers concerned: `bank` or partner ids.
    pub data_providers: Vec<String>,
    /// When the consent expires.
    pub expires_at: Timestamp,
}

impl ConsentGrant {
    /// The grant `data` gives at `now`: only an authorised consent (not expired by time) of a
    /// known customer grants anything, and only to a partner recipient.
    pub fn of(data: &ConsentData, now: Timestamp) -> Option<Self> {
        if data.status_at(now) != ConsentStatus::Authorised {
            return None;
        }
        let customer = data.customer_id.as_ref()?;
        // The bank's consents (ADR 0021) grant no partner anything.
        let partner = data.recipient.partner()?;
        Some(Self {
            consent_id: data.id.to_string(),
            partner_id: partner.to_string(),
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
        })
    }
}

/// A consent as read (`None`: no such consent), with the `consent-` category head read
/// before it.
#[derive(Debug, Clone)]
struct Seen {
    head: Option<Position>,
    data: Option<Arc<ConsentData>>,
}

/// The consents read for grants, bounded: two generations of at most `half` entries each.
/// A hit in the older generation moves the entry to the newer one; when the newer one is
/// full, the older one (every consent not asked for during a whole generation) is dropped
/// and the newer one becomes the older. So at most `2 × half` consents are held, the least
/// recently used go first, and a look-up or insert costs O(1).
#[derive(Debug)]
pub struct GrantCache {
    generations: Mutex<Generations>,
    half: usize,
}

#[derive(Debug, Default)]
struct Generations {
    young: HashMap<ConsentId, Seen>,
    old: HashMap<ConsentId, Seen>,
}

impl Default for GrantCache {
    fn default() -> Self {
        Self::with_capacity(GrantCache::CAPACITY)
    }
}

impl GrantCache {
    /// Consents held by default.
    pub const CAPACITY: usize = 100_000;

    /// A cache holding at most `capacity` consents (at least two).
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            generations: Mutex::new(Generations::default()),
            half: (capacity / 2).max(1),
        }
    }

    /// How many consents are held.
    pub fn len(&self) -> usize {
        let g = self.lock();
        g.young.len() + g.old.len()
    }

    /// Whether none is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Generations> {
        self.generations
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The consent remembered for `id`, if it was read with the category at `head`.
    pub(crate) fn remembered(
        &self,
        id: ConsentId,
        head: Option<Position>,
    ) -> Option<Option<Arc<ConsentData>>> {
        let mut g = self.lock();
        if let Some(seen) = g.young.get(&id) {
            return (seen.head == head).then(|| seen.data.clone());
        }
        let seen = g.old.remove(&id)?;
        let found = (seen.head == head).then(|| seen.data.clone());
        self.insert(&mut g, id, seen);
        found
    }

    pub(crate) fn remember(
        &self,
        id: ConsentId,
        head: Option<Position>,
        data: Option<Arc<ConsentData>>,
    ) {
        let mut g = self.lock();
        g.old.remove(&id);
        self.insert(&mut g, id, Seen { head, data });
    }

    fn insert(&self, g: &mut Generations, id: ConsentId, seen: Seen) {
        if g.young.len() >= self.half && !g.young.contains_key(&id) {
            g.old = std::mem::take(&mut g.young);
        }
        g.young.insert(id, seen);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(i: u128) -> ConsentId {
        ConsentId::from_uuid(uuid::Uuid::from_u128(i))
    }

    fn at(p: u64) -> Option<Position> {
        Some(Position::new(p))
    }

    #[test]
    fn a_read_is_used_only_at_the_head_it_was_read_at() {
        let cache = GrantCache::with_capacity(10);
        cache.remember(id(1), at(5), None);
        assert!(matches!(cache.remembered(id(1), at(5)), Some(None)));
        assert!(cache.remembered(id(1), at(6)).is_none());
        assert!(cache.remembered(id(2), at(5)).is_none());
    }

    #[test]
    fn the_bound_drops_the_least_recently_used_not_everything() {
        let cache = GrantCache::with_capacity(4);
        for i in 0..2 {
            cache.remember(id(i), at(1), None);
        }
        // 0 is used again: it moves to the newer generation when 2 fills it.
        cache.remember(id(2), at(1), None);
        assert!(cache.remembered(id(0), at(1)).is_some());
        cache.remember(id(3), at(1), None);
        cache.remember(id(4), at(1), None);
        assert!(cache.len() <= 4, "{}", cache.len());
        assert!(
            cache.remembered(id(1), at(1)).is_none(),
            "least recently used"
        );
        assert!(cache.remembered(id(4), at(1)).is_some(), "most recent");
        for i in 10..1_000 {
            cache.remember(id(i), at(1), None);
            assert!(cache.len() <= 4);
        }
        assert!(cache.remembered(id(999), at(1)).is_some());
    }
}
