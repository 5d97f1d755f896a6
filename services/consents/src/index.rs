//! The consent index: a read model of every consent (partner, customer, status, times), fed
//! from the global log, kept in memory and rebuilt from zero at every start. It serves the
//! dashboard's and the audit's lists and the expiry scheduler's candidates; every decision
//! reads the consent's stream instead, since a projection may lag.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use async_trait::async_trait;
use ecohub_eventstore::{EventFilter, Position, Projection, ProjectionError, RecordedEvent};
use ecohub_kernel::Timestamp;

use crate::domain::{ConsentEvent, ConsentId, ConsentStatus, CustomerId, PartnerId, Recipient};

/// One consent, as lists show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentSummary {
    /// The consent.
    pub consent_id: ConsentId,
    /// Who receives the data: a partner or the bank.
    pub recipient: Recipient,
    /// The customer who decided, once known.
    pub customer_id: Option<CustomerId>,
    /// Recorded status.
    pub status: ConsentStatus,
    /// Created.
    pub created_at: Timestamp,
    /// Last status change.
    pub status_changed_at: Timestamp,
    /// Expiry.
    pub expires_at: Timestamp,
    /// Authorisation deadline.
    pub authorisation_deadline: Timestamp,
}

/// Filters of [`ConsentIndexReader::list`]; ranges are inclusive.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConsentFilter {
    /// Only this partner's.
    pub partner_id: Option<PartnerId>,
    /// Only this customer's.
    pub customer_id: Option<CustomerId>,
    /// Only in this recorded status.
    pub status: Option<ConsentStatus>,
    /// Created at or after.
    pub created_from: Option<Timestamp>,
    /// Created at or before.
    pub created_to: Option<Timestamp>,
    /// Status changed at or after.
    pub changed_from: Option<Timestamp>,
    /// Status changed at or before.
    pub changed_to: Option<Timestamp>,
}

impl ConsentFilter {
    fn accepts(&self, s: &ConsentSummary) -> bool {
        self.partner_id
            .is_none_or(|p| s.recipient.partner() == Some(p))
            && self
                .customer_id
                .as_ref()
                .is_none_or(|c| s.customer_id.as_ref() == Some(c))
            && self.status.is_none_or(|st| st == s.status)
            && self.created_from.is_none_or(|t| s.created_at >= t)
            && self.created_to.is_none_or(|t| s.created_at <= t)
            && self.changed_from.is_none_or(|t| s.status_changed_at >= t)
            && self.changed_to.is_none_or(|t| s.status_changed_at <= t)
    }
}

#[derive(Debug, Default)]
struct Data {
    entries: BTreeMap<ConsentId, ConsentSummary>,
    by_partner: HashMap<PartnerId, BTreeSet<ConsentId>>,
    by_customer: HashMap<CustomerId, BTreeSet<ConsentId>>,
    by_status: HashMap<ConsentStatus, BTreeSet<ConsentId>>,
    checkpoint: Option<Position>,
}

impl Data {
    fn apply(&mut self, id: ConsentId, event: &ConsentEvent) {
        if let ConsentEvent::Requested {
            recipient,
            expiry,
            authorisation_deadline,
            at,
            ..
        } = event
        {
            self.entries.insert(
                id,
                ConsentSummary {
                    consent_id: id,
                    recipient: *recipient,
                    customer_id: None,
                    status: ConsentStatus::AwaitingAuthorisation,
                    created_at: *at,
                    status_changed_at: *at,
                    expires_at: expiry.at(),
                    authorisation_deadline: *authorisation_deadline,
                },
            );
            if let Some(partner) = recipient.partner() {
                self.by_partner.entry(partner).or_default().insert(id);
            }
            self.by_status
                .entry(ConsentStatus::AwaitingAuthorisation)
                .or_default()
                .insert(id);
            return;
        }
        let Some(entry) = self.entries.get_mut(&id) else {
            return;
        };
        let (status, customer) = match event {
            ConsentEvent::Requested { .. } => return,
            ConsentEvent::Authorised { customer_id, .. } => {
                (ConsentStatus::Authorised, Some(customer_id))
            }
            ConsentEvent::Rejected { customer_id, .. } => {
                (ConsentStatus::Rejected, Some(customer_id))
            }
            ConsentEvent::Revoked { .. } => (ConsentStatus::Revoked, None),
            ConsentEvent::Expired { .. } => (ConsentStatus::Expired, None),
        };
        if let Some(ids) = self.by_status.get_mut(&entry.status) {
            ids.remove(&id);
        }
        entry.status = status;
        entry.status_changed_at = event.at();
        if let Some(c) = customer {
            entry.customer_id = Some(c.clone());
            self.by_customer.entry(c.clone()).or_default().insert(id);
        }
        self.by_status.entry(status).or_default().insert(id);
    }
}

/// The projection half: give it to `ProjectionHandle::spawn`.
pub struct ConsentIndex {
    data: Arc<RwLock<Data>>,
}

impl std::fmt::Debug for ConsentIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsentIndex").finish_non_exhaustive()
    }
}

/// The read half: cheap to clone, shared with handlers and schedulers.
#[derive(Debug, Clone, Default)]
pub struct ConsentIndexReader {
    data: Arc<RwLock<Data>>,
}

impl ConsentIndex {
    /// The stable projection name.
    pub const NAME: &'static str = "consent_index";

    /// An empty index: the projection to spawn and a reader of what it builds.
    pub fn new() -> (ConsentIndex, ConsentIndexReader) {
        let data = Arc::new(RwLock::new(Data::default()));
        (
            ConsentIndex { data: data.clone() },
            ConsentIndexReader { data },
        )
    }

    fn write(&self) -> RwLockWriteGuard<'_, Data> {
        self.data.write().unwrap_or_else(|e| e.into_inner())
    }
}

impl ConsentIndexReader {
    fn read(&self) -> RwLockReadGuard<'_, Data> {
        self.data.read().unwrap_or_else(|e| e.into_inner())
    }

    /// One consent.
    pub fn get(&self, id: ConsentId) -> Option<ConsentSummary> {
        self.read().entries.get(&id).cloned()
    }

    /// The consents a customer decided on, oldest first.
    pub fn by_customer(&self, customer: &CustomerId) -> Vec<ConsentId> {
        self.read()
            .by_customer
            .get(customer)
            .map(|ids| ids.iter().copied().collect())
            .unwrap_or_default()
    }

    /// The pending or authorised consents of a partner.
    pub fn active_of_partner(&self, partner: PartnerId) -> Vec<ConsentId> {
        let data = self.read();
        data.by_partner
            .get(&partner)
            .into_iter()
            .flatten()
            .filter(|id| data.entries.get(id).is_some_and(|e| !e.status.is_final()))
            .copied()
            .collect()
    }

    /// Consents whose expiry (authorised) or authorisation deadline (pending) has passed
    /// at `now` but whose expiry is not recorded yet.
    pub fn due(&self, now: Timestamp) -> Vec<ConsentId> {
        let data = self.read();
        let mut out = Vec::new();
        for status in [
            ConsentStatus::AwaitingAuthorisation,
            ConsentStatus::Authorised,
        ] {
            for id in data.by_status.get(&status).into_iter().flatten() {
                if let Some(e) = data.entries.get(id) {
                    let due = now >= e.expires_at
                        || (status == ConsentStatus::AwaitingAuthorisation
                            && now >= e.authorisation_deadline);
                    if due {
                        out.push(*id);
                    }
                }
            }
        }
        out.sort();
        out
    }

    /// Up to `limit` consents in creation order (ids are UUIDv7) after `after`, matching
    /// `filter`.
    pub fn list(
        &self,
        filter: &ConsentFilter,
        after: Option<ConsentId>,
        limit: usize,
    ) -> Vec<ConsentSummary> {
        use std::ops::Bound::{Excluded, Unbounded};
        let data = self.read();
        let lower = after.map_or(Unbounded, Excluded);
        // Walk the smallest candidate set the filter allows.
        let candidates: Box<dyn Iterator<Item = &ConsentId>> = if let Some(p) = filter.partner_id {
            Box::new(
                data.by_partner
                    .get(&p)
                    .into_iter()
                    .flat_map(move |s| s.range((lower, Unbounded))),
            )
        } else if let Some(c) = &filter.customer_id {
            Box::new(
                data.by_customer
                    .get(c)
                    .into_iter()
                    .flat_map(move |s| s.range((lower, Unbounded))),
            )
        } else if let Some(st) = filter.status {
            Box::new(
                data.by_status
                    .get(&st)
                    .into_iter()
                    .flat_map(move |s| s.range((lower, Unbounded))),
            )
        } else {
            Box::new(data.entries.range((lower, Unbounded)).map(|(k, _)| k))
        };
        candidates
            .filter_map(|id| data.entries.get(id))
            .filter(|e| filter.accepts(e))
            .take(limit)
            .cloned()
            .collect()
    }

    /// How many consents the index knows.
    pub fn len(&self) -> usize {
        self.read().entries.len()
    }

    /// Whether the index knows none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The last position applied.
    pub fn checkpoint(&self) -> Option<Position> {
        self.read().checkpoint
    }
}

/// The consent id of a `consent-<uuid>` stream.
pub fn consent_id_of(stream: &str) -> Option<ConsentId> {
    stream
        .strip_prefix(ConsentId::CATEGORY)
        .and_then(|s| s.strip_prefix('-'))
        .and_then(|s| ConsentId::parse(s).ok())
}

#[async_trait]
impl Projection for ConsentIndex {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn filter(&self) -> EventFilter {
        EventFilter::streams([format!("{}-", ConsentId::CATEGORY)])
    }

    async fn checkpoint(&mut self) -> Result<Option<Position>, ProjectionError> {
        Ok(self.write().checkpoint)
    }

    async fn apply(
        &mut self,
        events: &[RecordedEvent],
        checkpoint: Position,
    ) -> Result<(), ProjectionError> {
        let mut decoded = Vec::with_capacity(events.len());
        for recorded in events {
            let id = consent_id_of(&recorded.stream).ok_or_else(|| {
                ProjectionError(format!("{} is not a consent stream", recorded.stream))
            })?;
            let envelope = recorded
                .decode::<ConsentEvent>()
                .map_err(|e| ProjectionError(e.to_string()))?;
            decoded.push((id, envelope.payload));
        }
        let mut data = self.write();
        for (id, event) in &decoded {
            data.apply(*id, event);
        }
        data.checkpoint = Some(checkpoint);
        Ok(())
    }

    async fn reset(&mut self) -> Result<(), ProjectionError> {
        *self.write() = Data::default();
        Ok(())
    }
}
