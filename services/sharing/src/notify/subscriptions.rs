//! The use cases behind the subscription, delivery-log and polling endpoints: methods of
//! [`SharingState`] (the application layer), kept beside the rest of notifications.

use std::collections::BTreeMap;
use std::time::Duration;

use ecohub_eventstore::{EventFilter, execute, load};

use super::reader::LoggedAttempt;
use crate::application::{AppError, RequestContext, SharingState};
use crate::domain::notifications::{
    EventSubscription, Notification, NotificationCommand, SubscriptionCommand, SubscriptionData,
    SubscriptionEvent, notification_stream, subscription_stream,
};

/// A poll (RFC 8936 §2.4).
#[derive(Debug, Clone, Default)]
pub struct Poll {
    /// jtis acknowledged.
    pub ack: Vec<String>,
    /// jtis with errors: `(jti, err, description)`.
    pub set_errs: Vec<(String, String, String)>,
    /// Most SETs to return.
    pub max_events: usize,
    /// Answer at once even when nothing is pending.
    pub return_immediately: bool,
}

/// The SETs a poll returns.
#[derive(Debug, Clone, Default)]
pub struct Polled {
    /// jti → signed SET.
    pub sets: BTreeMap<String, String>,
    /// Whether more are pending.
    pub more_available: bool,
}

impl SharingState {
    /// A partner subscribes one of its registered webhooks to notification types.
    pub async fn create_subscription(
        &self,
        partner_id: &str,
        url: String,
        event_types: Vec<String>,
        ctx: &RequestContext,
    ) -> Result<SubscriptionData, AppError> {
        let registered = self.ports.webhooks.webhooks(partner_id).await?;
        if !registered.contains(&url) {
            return Err(AppError::Invalid {
                field: "/url".into(),
                message: "is not one of the partner's registered webhooks".into(),
            });
        }
        let id = uuid::Uuid::new_v4().to_string();
        let executed = execute::<EventSubscription>(
            &*self.store,
            &subscription_stream(&id),
            SubscriptionCommand::CreateSubscription {
                subscription_id: id,
                partner_id: partner_id.to_owned(),
                url,
                event_types,
            },
            self.now(),
            ctx.metadata(),
        )
        .await?;
        executed
            .state
            .current
            .ok_or(AppError::NotFound("subscription"))
    }

    /// The partner's subscriptions (scans the subscription streams).
    pub async fn subscriptions(&self, partner_id: &str) -> Result<Vec<SubscriptionData>, AppError> {
        let filter = EventFilter::streams(["eventsub-"]);
        let mut from = None;
        let mut all: BTreeMap<String, SubscriptionData> = BTreeMap::new();
        loop {
            let batch = self.store.read_all(from, &filter, 1_000).await?;
            let n = batch.len();
            for e in &batch {
                from = Some(e.position);
                match e.decode::<SubscriptionEvent>()?.payload {
                    SubscriptionEvent::Created(d) if d.partner_id == partner_id => {
                        all.insert(d.subscription_id.clone(), d);
                    }
                    SubscriptionEvent::Deleted {
                        subscription_id, ..
                    } => {
                        all.remove(&subscription_id);
                    }
                    SubscriptionEvent::Created(_) => {}
                }
            }
            if n < 1_000 {
                let mut list: Vec<SubscriptionData> = all.into_values().collect();
                list.sort_by_key(|s| s.created_at);
                return Ok(list);
            }
        }
    }

    /// One of the partner's subscriptions (another partner's is not found).
    pub async fn subscription(
        &self,
        partner_id: &str,
        id: &str,
    ) -> Result<SubscriptionData, AppError> {
        let (state, _) = load::<EventSubscription>(&*self.store, &subscription_stream(id)).await?;
        state
            .current
            .filter(|d| d.partner_id == partner_id)
            .ok_or(AppError::NotFound("subscription"))
    }

    /// Deletes one of the partner's subscriptions.
    pub async fn delete_subscription(
        &self,
        partner_id: &str,
        id: &str,
        ctx: &RequestContext,
    ) -> Result<(), AppError> {
        self.subscription(partner_id, id).await?;
        execute::<EventSubscription>(
            &*self.store,
            &subscription_stream(id),
            SubscriptionCommand::DeleteSubscription,
            self.now(),
            ctx.metadata(),
        )
        .await?;
        Ok(())
    }

    /// RFC 8936 polling: records the acknowledgements and errors, then returns pending SETs.
    pub async fn poll(
        &self,
        partner_id: &str,
        poll: Poll,
        ctx: &RequestContext,
    ) -> Result<Polled, AppError> {
        let mut handled = Vec::new();
        for jti in &poll.ack {
            if self.owns(partner_id, jti).await? {
                execute::<Notification>(
                    &*self.store,
                    &notification_stream(jti),
                    NotificationCommand::AcknowledgeByPoll,
                    self.now(),
                    ctx.metadata(),
                )
                .await?;
                handled.push(jti.clone());
            }
        }
        for (jti, err, description) in &poll.set_errs {
            if self.owns(partner_id, jti).await? {
                execute::<Notification>(
                    &*self.store,
                    &notification_stream(jti),
                    NotificationCommand::RejectByPoll {
                        err: err.clone(),
                        description: description.clone(),
                    },
                    self.now(),
                    ctx.metadata(),
                )
                .await?;
                handled.push(jti.clone());
            }
        }
        let deadline = tokio::time::Instant::now() + self.config.delivery.long_poll;
        loop {
            let (pending, more) =
                self.notifications
                    .pending_for(partner_id, poll.max_events, &handled);
            if !pending.is_empty()
                || poll.return_immediately
                || poll.max_events == 0
                || tokio::time::Instant::now() >= deadline
            {
                let mut sets = BTreeMap::new();
                for q in pending {
                    sets.insert(q.jti.clone(), self.ports.signer.sign(&q.claims)?);
                }
                return Ok(Polled {
                    sets,
                    more_available: more,
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Whether `jti` is a notification of `partner_id`, read exactly. Anything that is not a
    /// jti this hub issued (32 hex digits) is not, and never reaches a stream name.
    async fn owns(&self, partner_id: &str, jti: &str) -> Result<bool, AppError> {
        if jti.len() != 32
            || !jti
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Ok(false);
        }
        let (n, _) = load::<Notification>(&*self.store, &notification_stream(jti)).await?;
        Ok(n.queued.is_some_and(|q| q.partner_id == partner_id))
    }

    /// The partner's delivery log.
    pub fn deliveries(&self, partner_id: &str) -> Vec<LoggedAttempt> {
        self.notifications.attempts_for(partner_id)
    }
}
