//! The partner directory: the staff list of partners, a read model fed from the global log.
//!
//! Kept in memory and rebuilt from zero at every start (the runner replays the `partner-`
//! streams). It serves lists only; every decision reads the partner's stream instead, since
//! a projection may lag.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use async_trait::async_trait;
use ecohub_eventstore::{EventFilter, Position, Projection, ProjectionError, RecordedEvent};
use ecohub_kernel::Timestamp;

use crate::domain::{PartnerEvent, PartnerId, PartnerStatus, Role};

/// One partner, as the staff list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryEntry {
    /// The partner.
    pub partner_id: PartnerId,
    /// Registered legal name.
    pub legal_name: String,
    /// Country of registration.
    pub country: String,
    /// Current status.
    pub status: PartnerStatus,
    /// Roles asked for.
    pub requested_roles: BTreeSet<Role>,
    /// Roles granted (empty before approval).
    pub granted_roles: BTreeSet<Role>,
    /// When it applied.
    pub applied_at: Timestamp,
    /// When its status last changed.
    pub status_changed_at: Timestamp,
}

impl DirectoryEntry {
    /// Whether the partner is active: approved, not suspended or offboarded.
    pub fn is_active(&self) -> bool {
        self.status == PartnerStatus::Approved
    }

    /// Whether it was granted the `data_provider` role.
    pub fn is_data_provider(&self) -> bool {
        self.granted_roles.contains(&Role::DataProvider)
    }
}

#[derive(Debug, Default)]
struct Data {
    entries: BTreeMap<PartnerId, DirectoryEntry>,
    by_status: HashMap<PartnerStatus, BTreeSet<PartnerId>>,
    checkpoint: Option<Position>,
}

impl Data {
    fn set_status(&mut self, id: PartnerId, status: PartnerStatus, at: Timestamp) {
        let Some(entry) = self.entries.get_mut(&id) else {
            return;
        };
        if let Some(ids) = self.by_status.get_mut(&entry.status) {
            ids.remove(&id);
        }
        entry.status = status;
        entry.status_changed_at = at;
        self.by_status.entry(status).or_default().insert(id);
    }

    fn apply(&mut self, id: PartnerId, event: &PartnerEvent) {
        let current = self.entries.get(&id).map(|e| e.status);
        match event {
            PartnerEvent::Applied {
                legal_name,
                country,
                requested_roles,
                at,
                ..
            } => {
                self.entries.insert(
                    id,
                    DirectoryEntry {
                        partner_id: id,
                        legal_name: legal_name.to_string(),
                        country: country.to_string(),
                        status: PartnerStatus::Applied,
                        requested_roles: requested_roles.clone(),
                        granted_roles: BTreeSet::new(),
                        applied_at: *at,
                        status_changed_at: *at,
                    },
                );
                self.by_status
                    .entry(PartnerStatus::Applied)
                    .or_default()
                    .insert(id);
            }
            PartnerEvent::VerificationRecorded { at, .. } => {
                if current == Some(PartnerStatus::Applied) {
                    self.set_status(id, PartnerStatus::UnderReview, *at);
                }
            }
            PartnerEvent::Approved { roles, at, .. } => {
                if let Some(entry) = self.entries.get_mut(&id) {
                    entry.granted_roles = roles.clone();
                }
                self.set_status(id, PartnerStatus::Approved, *at);
            }
            PartnerEvent::Rejected { at, .. } => self.set_status(id, PartnerStatus::Rejected, *at),
            PartnerEvent::Suspended { at, .. } => {
                self.set_status(id, PartnerStatus::Suspended, *at);
            }
            PartnerEvent::Reinstated { at, .. } => {
                self.set_status(id, PartnerStatus::Approved, *at);
            }
            PartnerEvent::Offboarded { at, .. } => {
                self.set_status(id, PartnerStatus::Offboarded, *at);
            }
            PartnerEvent::WebhookRegistered { .. } | PartnerEvent::WebhookRemoved { .. } => {}
        }
    }
}

/// The projection half: give it to `ProjectionHandle::spawn`.
pub struct PartnerDirectory {
    data: Arc<RwLock<Data>>,
}

/// The read half: cheap to clone, shared with the handlers.
#[derive(Debug, Clone, Default)]
pub struct DirectoryReader {
    data: Arc<RwLock<Data>>,
}

impl std::fmt::Debug for PartnerDirectory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartnerDirectory").finish_non_exhaustive()
    }
}

impl PartnerDirectory {
    /// The stable projection name.
    pub const NAME: &'static str = "partner_directory";

    /// An empty directory: the projection to spawn and a reader of what it builds.
    pub fn new() -> (PartnerDirectory, DirectoryReader) {
        let data = Arc::new(RwLock::new(Data::default()));
        (
            PartnerDirectory { data: data.clone() },
            DirectoryReader { data },
        )
    }

    fn write(&self) -> RwLockWriteGuard<'_, Data> {
        self.data.write().unwrap_or_else(|e| e.into_inner())
    }
}

impl DirectoryReader {
    fn read(&self) -> RwLockReadGuard<'_, Data> {
        self.data.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Up to `limit` partners in application order (ids are UUIDv7), after `after` when
    /// given, only those in `status` when given.
    pub fn list(
        &self,
        status: Option<PartnerStatus>,
        after: Option<PartnerId>,
        limit: usize,
    ) -> Vec<DirectoryEntry> {
        use std::ops::Bound::{Excluded, Unbounded};
        let data = self.read();
        let lower = after.map_or(Unbounded, Excluded);
        match status {
            None => data
                .entries
                .range((lower, Unbounded))
                .take(limit)
                .map(|(_, e)| e.clone())
                .collect(),
            Some(status) => data
                .by_status
                .get(&status)
                .into_iter()
                .flat_map(|ids| ids.range((lower, Unbounded)))
                .filter_map(|id| data.entries.get(id).cloned())
                .take(limit)
                .collect(),
        }
    }

    /// The active partners holding the `data_provider` role, in id order: those a customer
    /// may let the bank use data from (the consent service's `PartnerLookup`).
    pub fn active_data_providers(&self) -> Vec<DirectoryEntry> {
        let data = self.read();
        data.by_status
            .get(&PartnerStatus::Approved)
            .into_iter()
            .flatten()
            .filter_map(|id| data.entries.get(id))
            .filter(|e| e.is_active() && e.is_data_provider())
            .cloned()
            .collect()
    }

    /// One partner, if the directory has seen it.
    pub fn get(&self, id: PartnerId) -> Option<DirectoryEntry> {
        self.read().entries.get(&id).cloned()
    }

    /// How many partners are in `status` (all of them for `None`).
    pub fn count(&self, status: Option<PartnerStatus>) -> usize {
        let data = self.read();
        match status {
            None => data.entries.len(),
            Some(s) => data.by_status.get(&s).map_or(0, BTreeSet::len),
        }
    }

    /// How many partners the directory knows.
    pub fn len(&self) -> usize {
        self.read().entries.len()
    }

    /// Whether the directory knows no partner.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[async_trait]
impl Projection for PartnerDirectory {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn filter(&self) -> EventFilter {
        EventFilter::streams([format!("{}-", PartnerId::CATEGORY)])
    }

    async fn checkpoint(&mut self) -> Result<Option<Position>, ProjectionError> {
        Ok(self.write().checkpoint)
    }

    async fn apply(
        &mut self,
        events: &[RecordedEvent],
        checkpoint: Position,
    ) -> Result<(), ProjectionError> {
        // Decode the whole batch first, so that a bad event leaves the directory untouched.
        let mut decoded = Vec::with_capacity(events.len());
        for recorded in events {
            let id = recorded
                .stream
                .strip_prefix(PartnerId::CATEGORY)
                .and_then(|s| s.strip_prefix('-'))
                .and_then(|s| PartnerId::parse(s).ok())
                .ok_or_else(|| {
                    ProjectionError(format!("{} is not a partner stream", recorded.stream))
                })?;
            let envelope = recorded
                .decode::<PartnerEvent>()
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
