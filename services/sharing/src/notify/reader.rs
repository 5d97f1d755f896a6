//! The notifications read model: every notification's state, in queue order, fed by
//! [`NotificationsProjection`] from the `notification-` streams (in memory, rebuilt at start).
//! It indexes pending notifications by when their next attempt is due (so finding the due
//! ones costs what they are, not what the log holds) and each partner's in queue order, and
//! signals each newly queued notification ([`NotificationsReader::queued`]) so that the
//! delivery worker pushes it at once. Below the application layer: it knows the domain and
//! the store, nothing else.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use ecohub_eventstore::{EventFilter, Position, Projection, ProjectionError, RecordedEvent};
use ecohub_kernel::{Aggregate, Timestamp};
use tokio::sync::Notify;

use crate::domain::notifications::{
    Attempt, Notification, NotificationEvent, NotificationStatus, Queued,
};

/// One notification in the index.
#[derive(Debug, Default)]
struct Entry {
    /// Queue order (ties between notifications due at the same time go oldest first).
    seq: u64,
    state: Notification,
    /// The stream revision of the last event applied.
    revision: u64,
    /// Its key in [`Index::due`], while it is pending with an attempt to make.
    due_key: Option<Timestamp>,
}

#[derive(Debug, Default)]
struct Index {
    by_jti: HashMap<String, Entry>,
    /// Each partner's notifications, in queue order.
    by_partner: HashMap<String, Vec<String>>,
    /// Pending notifications by when their next attempt may be claimed (the later of when it
    /// is due and when the current claim ends), then queue order: a delivery round reads the
    /// ones due, not every notification.
    due: BTreeMap<(Timestamp, u64), String>,
    next_seq: u64,
}

/// When the next attempt of `n` may be claimed: `None` when there is none to make.
fn claimable_at(n: &Notification) -> Option<Timestamp> {
    let due = n.due_at()?;
    Some(match &n.claim {
        Some((_, until)) => due.max(*until),
        None => due,
    })
}

/// Every notification's state, in queue order, and a signal for the delivery worker.
#[derive(Clone, Debug, Default)]
pub struct NotificationsReader {
    inner: Arc<RwLock<Index>>,
    queued: Arc<Notify>,
}

/// One attempt, for the delivery log.
#[derive(Debug, Clone, PartialEq)]
pub struct LoggedAttempt {
    /// The SET's jti.
    pub jti: String,
    /// The subscription.
    pub subscription_id: String,
    /// The notification type.
    pub event_type: String,
    /// The attempt.
    pub attempt: Attempt,
}

impl NotificationsReader {
    /// Notifications due for a push at `now` and not claimed by anyone, soonest due first.
    pub fn due(&self, now: Timestamp) -> Vec<String> {
        self.due_at_most(now, usize::MAX, |_| false)
    }

    /// At most `max` notifications due for a push at `now` and not claimed by anyone, soonest
    /// due first, leaving out those `skip` names (e.g. the ones being pushed). Costs about
    /// what it returns and skips, however many notifications there are.
    pub fn due_at_most(
        &self,
        now: Timestamp,
        max: usize,
        skip: impl Fn(&str) -> bool,
    ) -> Vec<String> {
        let index = self.inner.read().unwrap_or_else(|p| p.into_inner());
        index
            .due
            .range(..=(now, u64::MAX))
            .map(|(_, jti)| jti)
            .filter(|jti| !skip(jti))
            .take(max)
            .cloned()
            .collect()
    }

    /// Resolves once a notification was queued since the last call resolved (or at once if
    /// one was since): what wakes the delivery worker.
    pub async fn queued(&self) {
        self.queued.notified().await;
    }

    /// The state of one notification.
    pub fn get(&self, jti: &str) -> Option<Notification> {
        let index = self.inner.read().unwrap_or_else(|p| p.into_inner());
        index.by_jti.get(jti).map(|e| e.state.clone())
    }

    /// The state of one notification and the stream revision it is the state at: a decision
    /// on it appended at that revision is exact (the append fails if the stream has moved on).
    pub fn get_at_revision(&self, jti: &str) -> Option<(Notification, u64)> {
        let index = self.inner.read().unwrap_or_else(|p| p.into_inner());
        index.by_jti.get(jti).map(|e| (e.state.clone(), e.revision))
    }

    /// Pending notifications of `partner`, oldest first, at most `max`; and whether more
    /// exist.
    pub fn pending_for(&self, partner: &str, max: usize, skip: &[String]) -> (Vec<Queued>, bool) {
        let index = self.inner.read().unwrap_or_else(|p| p.into_inner());
        let mut all = index
            .by_partner
            .get(partner)
            .into_iter()
            .flatten()
            .filter_map(|j| index.by_jti.get(j))
            .filter(|e| {
                e.state.status == Some(NotificationStatus::Pending)
                    && e.state
                        .queued
                        .as_ref()
                        .is_some_and(|q| !skip.contains(&q.jti))
            });
        let out: Vec<Queued> = all
            .by_ref()
            .take(max)
            .filter_map(|e| e.state.queued.clone())
            .collect();
        let more = all.next().is_some();
        (out, more)
    }

    /// Every push attempt to `partner`, oldest notification first.
    pub fn attempts_for(&self, partner: &str) -> Vec<LoggedAttempt> {
        let index = self.inner.read().unwrap_or_else(|p| p.into_inner());
        let mut out = Vec::new();
        for j in index.by_partner.get(partner).into_iter().flatten() {
            let Some(e) = index.by_jti.get(j) else {
                continue;
            };
            let Some(q) = &e.state.queued else { continue };
            for a in &e.state.attempts {
                out.push(LoggedAttempt {
                    jti: q.jti.clone(),
                    subscription_id: q.subscription_id.clone(),
                    event_type: q.event_type.clone(),
                    attempt: a.clone(),
                });
            }
        }
        out
    }

    fn apply(&self, jti: &str, revision: u64, event: &NotificationEvent) {
        {
            let mut guard = self.inner.write().unwrap_or_else(|p| p.into_inner());
            let index = &mut *guard;
            let mut entry = match index.by_jti.remove(jti) {
                Some(e) => e,
                None => {
                    index.next_seq += 1;
                    Entry {
                        seq: index.next_seq,
                        ..Entry::default()
                    }
                }
            };
            if let Some(key) = entry.due_key.take() {
                index.due.remove(&(key, entry.seq));
            }
            if let NotificationEvent::Queued(q) = event
                && entry.state.queued.is_none()
            {
                index
                    .by_partner
                    .entry(q.partner_id.clone())
                    .or_default()
                    .push(jti.to_owned());
            }
            entry.state = std::mem::take(&mut entry.state).evolve(event);
            entry.revision = revision;
            entry.due_key = claimable_at(&entry.state);
            if let Some(key) = entry.due_key {
                index.due.insert((key, entry.seq), jti.to_owned());
            }
            index.by_jti.insert(jti.to_owned(), entry);
        }
        if matches!(event, NotificationEvent::Queued(_)) {
            self.queued.notify_one();
        }
    }

    fn clear(&self) {
        let mut index = self.inner.write().unwrap_or_else(|p| p.into_inner());
        *index = Index::default();
    }
}

/// Feeds a [`NotificationsReader`].
#[derive(Debug)]
pub struct NotificationsProjection {
    reader: NotificationsReader,
}

impl NotificationsProjection {
    /// The projection that keeps `reader` current.
    pub fn new(reader: NotificationsReader) -> Self {
        Self { reader }
    }
}

#[async_trait]
impl Projection for NotificationsProjection {
    fn name(&self) -> &str {
        "sharing-notifications"
    }
    fn filter(&self) -> EventFilter {
        EventFilter::streams(["notification-"])
    }
    async fn checkpoint(&mut self) -> Result<Option<Position>, ProjectionError> {
        Ok(None)
    }
    async fn apply(
        &mut self,
        events: &[RecordedEvent],
        _: Position,
    ) -> Result<(), ProjectionError> {
        for e in events {
            let env = e
                .decode::<NotificationEvent>()
                .map_err(|err| ProjectionError(err.to_string()))?;
            let jti = e.stream.strip_prefix("notification-").unwrap_or(&e.stream);
            self.reader.apply(jti, e.revision, &env.payload);
        }
        Ok(())
    }
    async fn reset(&mut self) -> Result<(), ProjectionError> {
        self.reader.clear();
        Ok(())
    }
}
