//! The notifications read model: every notification's state, in queue order, fed by
//! [`NotificationsProjection`] from the `notification-` streams (in memory, rebuilt at start).
//! Below the application layer: it knows the domain and the store, nothing else.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use ecohub_eventstore::{EventFilter, Position, Projection, ProjectionError, RecordedEvent};
use ecohub_kernel::{Aggregate, Timestamp};

use crate::domain::notifications::{
    Attempt, Notification, NotificationEvent, NotificationStatus, Queued,
};

#[derive(Debug, Default)]
struct Index {
    by_jti: HashMap<String, Notification>,
    order: Vec<String>,
}

/// Every notification's state, in queue order.
#[derive(Clone, Debug, Default)]
pub struct NotificationsReader {
    inner: Arc<RwLock<Index>>,
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
    /// Notifications due for a push at `now` and not claimed by anyone.
    pub fn due(&self, now: Timestamp) -> Vec<String> {
        let index = self.inner.read().unwrap_or_else(|p| p.into_inner());
        index
            .order
            .iter()
            .filter(|j| {
                index.by_jti.get(*j).is_some_and(|n| {
                    n.due_at().is_some_and(|d| d <= now)
                        && n.claim.as_ref().is_none_or(|(_, until)| *until <= now)
                })
            })
            .cloned()
            .collect()
    }

    /// The state of one notification.
    pub fn get(&self, jti: &str) -> Option<Notification> {
        let index = self.inner.read().unwrap_or_else(|p| p.into_inner());
        index.by_jti.get(jti).cloned()
    }

    /// Pending notifications of `partner`, oldest first, at most `max`; and whether more
    /// exist.
    pub fn pending_for(&self, partner: &str, max: usize, skip: &[String]) -> (Vec<Queued>, bool) {
        let index = self.inner.read().unwrap_or_else(|p| p.into_inner());
        let mut all = index
            .order
            .iter()
            .filter_map(|j| index.by_jti.get(j))
            .filter(|n| {
                n.status == Some(NotificationStatus::Pending)
                    && n.queued
                        .as_ref()
                        .is_some_and(|q| q.partner_id == partner && !skip.contains(&q.jti))
            });
        let out: Vec<Queued> = all
            .by_ref()
            .take(max)
            .filter_map(|n| n.queued.clone())
            .collect();
        let more = all.next().is_some();
        (out, more)
    }

    /// Every push attempt to `partner`, oldest notification first.
    pub fn attempts_for(&self, partner: &str) -> Vec<LoggedAttempt> {
        let index = self.inner.read().unwrap_or_else(|p| p.into_inner());
        let mut out = Vec::new();
        for j in &index.order {
            let Some(n) = index.by_jti.get(j) else {
                continue;
            };
            let Some(q) = &n.queued else { continue };
            if q.partner_id != partner {
                continue;
            }
            for a in &n.attempts {
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

    fn apply(&self, jti: &str, event: &NotificationEvent) {
        let mut index = self.inner.write().unwrap_or_else(|p| p.into_inner());
        if !index.by_jti.contains_key(jti) {
            index.order.push(jti.to_owned());
        }
        let state = index.by_jti.remove(jti).unwrap_or_default();
        index.by_jti.insert(jti.to_owned(), state.evolve(event));
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
            self.reader.apply(jti, &env.payload);
        }
        Ok(())
    }
    async fn reset(&mut self) -> Result<(), ProjectionError> {
        self.reader.clear();
        Ok(())
    }
}
