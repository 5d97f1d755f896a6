//! Event notifications (OBIE real-time event notifications over RFC 8417 SETs, pushed per
//! RFC 8935 or polled per RFC 8936).
//!
//! * `EventSubscription` (stream `eventsub-<uuid>`): a partner subscribes one of its
//!   registered webhook URLs to notification types.
//! * `Notification` (stream `notification-<jti>`): one SET for one subscription, queued
//!   once (the jti is derived from the subscription and the source event, so re-dispatching
//!   after a restart finds the stream already there), then claimed, attempted, and
//!   acknowledged (202 to a push, or an `ack` in a poll) or given up after the last retry.
//! * [`MAPPINGS`]: which hub events become which notification types (a row may require a
//!   payload field, e.g. `offer-available` only for offers a financial moment triggered).

use std::time::Duration;

use ecohub_kernel::{Aggregate, Timestamp};
use serde_json::Value;

use super::stream_key;

/// `consent-authorised`.
pub const CONSENT_AUTHORISED: &str = "consent-authorised";
/// `consent-revoked`.
pub const CONSENT_REVOKED: &str = "consent-revoked";
/// `consent-expired`.
pub const CONSENT_EXPIRED: &str = "consent-expired";
/// `data-updated`: records a consent of the partner covers were published.
pub const DATA_UPDATED: &str = "data-updated";
/// `partner-status-changed`.
pub const PARTNER_STATUS_CHANGED: &str = "partner-status-changed";
/// `offer-accepted`: a customer accepted an offer the partner co-brands (fulfil the benefit).
pub const OFFER_ACCEPTED: &str = "offer-accepted";
/// `offer-available`: a financial moment made the bank offer a customer something the
/// partner co-brands (the offer is open until its `expires_at`).
pub const OFFER_AVAILABLE: &str = "offer-available";

/// Every notification type a partner can subscribe to.
pub const NOTIFICATION_TYPES: &[&str] = &[
    CONSENT_AUTHORISED,
    CONSENT_REVOKED,
    CONSENT_EXPIRED,
    DATA_UPDATED,
    PARTNER_STATUS_CHANGED,
    OFFER_ACCEPTED,
    OFFER_AVAILABLE,
];

/// The URI of a notification type in a SET's `events` claim.
pub fn event_uri(notification_type: &str) -> String {
    format!("urn:ecohub:events:{notification_type}")
}

/// Who is told about a hub event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// The partner in the payload's `partner_id` (consent events).
    PayloadPartner,
    /// The partner whose stream it is (`partner-<id>`).
    StreamPartner,
    /// Partners with an authorised consent covering the published records.
    ConsentedRecipients,
    /// Every partner in the payload's array at the JSON pointer `partners` (the co-brand
    /// partners of an accepted offer; for a triggered offer, those among them the customer lets
    /// receive offers). The subject copies `fields` from the payload (see [`subject_fields`])
    /// and names the customer by the partner's pairwise id (RFC 9493 `sub_id`); the hub's
    /// customer id, read at the JSON pointer `customer`, never leaves the hub.
    PayloadPartners {
        /// Where the payload lists the partners told (a JSON pointer to an array of ids).
        partners: &'static str,
        /// Where the payload names the hub's customer id (a JSON pointer).
        customer: &'static str,
        /// The payload fields the subject carries (JSON pointers, copied to the same place).
        fields: &'static [&'static str],
    },
}

/// One row of the mapping table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mapping {
    /// Stream-name prefix of the hub event.
    pub stream_prefix: &'static str,
    /// Its event type.
    pub event_type: &'static str,
    /// The notification it becomes.
    pub notification: &'static str,
    /// Who is told.
    pub audience: Audience,
    /// A JSON pointer that must be present and non-null in the payload for the event to
    /// notify anyone (`None`: every event of the type does).
    pub requires: Option<&'static str>,
}

impl Mapping {
    /// Whether this row maps the event `event_type` of `stream` with payload `data`.
    pub fn applies(&self, stream: &str, event_type: &str, data: &Value) -> bool {
        self.event_type == event_type
            && stream.starts_with(self.stream_prefix)
            && self
                .requires
                .is_none_or(|p| data.pointer(p).is_some_and(|v| !v.is_null()))
    }
}

/// What an offer's notifications say about it.
const OFFER_FIELDS: &[&str] = &["/offer_id", "/proposition_id", "/version", "/product_code"];

/// What an `offer-available` notification says: the offer, until when it is open, and the
/// moment behind it (never the moment's customer id or provider).
const AVAILABLE_OFFER_FIELDS: &[&str] = &[
    "/offer_id",
    "/proposition_id",
    "/version",
    "/product_code",
    "/expires_at",
    "/moment/moment_id",
    "/moment/moment_type",
    "/moment/rule",
    "/moment/reason",
];

/// The subject of a notification that copies `fields` (JSON pointers) from `data`: each at the
/// same place, `null` when the payload lacks it, nothing else.
pub fn subject_fields(fields: &[&str], data: &Value) -> Value {
    let mut subject = Value::Object(Default::default());
    for field in fields {
        let value = data.pointer(field).cloned().unwrap_or(Value::Null);
        let mut at = &mut subject;
        let mut parts = field.split('/').skip(1).peekable();
        while let Some(part) = parts.next() {
            let Value::Object(map) = at else { break };
            if parts.peek().is_none() {
                map.insert(part.to_owned(), value);
                break;
            }
            at = map
                .entry(part.to_owned())
                .or_insert_with(|| Value::Object(Default::default()));
        }
    }
    subject
}

/// Hub events → notifications. Adjust here when an event type is added or renamed upstream.
pub const MAPPINGS: &[Mapping] = &[
    Mapping {
        stream_prefix: "consent-",
        event_type: "ConsentAuthorised",
        notification: CONSENT_AUTHORISED,
        audience: Audience::PayloadPartner,
        requires: None,
    },
    Mapping {
        stream_prefix: "consent-",
        event_type: "ConsentRevoked",
        notification: CONSENT_REVOKED,
        audience: Audience::PayloadPartner,
        requires: None,
    },
    Mapping {
        stream_prefix: "consent-",
        event_type: "ConsentExpired",
        notification: CONSENT_EXPIRED,
        audience: Audience::PayloadPartner,
        requires: None,
    },
    Mapping {
        stream_prefix: "partner-",
        event_type: "PartnerApproved",
        notification: PARTNER_STATUS_CHANGED,
        audience: Audience::StreamPartner,
        requires: None,
    },
    Mapping {
        stream_prefix: "partner-",
        event_type: "PartnerSuspended",
        notification: PARTNER_STATUS_CHANGED,
        audience: Audience::StreamPartner,
        requires: None,
    },
    Mapping {
        stream_prefix: "partner-",
        event_type: "PartnerReinstated",
        notification: PARTNER_STATUS_CHANGED,
        audience: Audience::StreamPartner,
        requires: None,
    },
    Mapping {
        stream_prefix: "partner-",
        event_type: "PartnerOffboarded",
        notification: PARTNER_STATUS_CHANGED,
        audience: Audience::StreamPartner,
        requires: None,
    },
    Mapping {
        stream_prefix: "records-",
        event_type: "RecordsPublished",
        notification: DATA_UPDATED,
        audience: Audience::ConsentedRecipients,
        requires: None,
    },
    Mapping {
        stream_prefix: "offercontacts-",
        event_type: "OfferAccepted",
        notification: OFFER_ACCEPTED,
        audience: Audience::PayloadPartners {
            partners: "/partners",
            customer: "/customer_id",
            fields: OFFER_FIELDS,
        },
        requires: None,
    },
    // Only offers a financial moment triggered: an ordinary decision's offer notifies nobody.
    Mapping {
        stream_prefix: "offercontacts-",
        event_type: "OfferPresented",
        notification: OFFER_AVAILABLE,
        audience: Audience::PayloadPartners {
            // Only the co-brand partners the customer lets receive offers (an authorised
            // consent granting `ReadOffers` when the offer was made; ADR 0026).
            partners: "/moment/notify",
            customer: "/moment/customer_id",
            fields: AVAILABLE_OFFER_FIELDS,
        },
        requires: Some("/moment"),
    },
];

/// The mapping of a hub event with payload `data`, if any: the first row that
/// [applies](Mapping::applies). One event becomes at most one notification type, so the jti
/// (subscription, source event) stays unique.
pub fn mapping_of(stream: &str, event_type: &str, data: &Value) -> Option<&'static Mapping> {
    MAPPINGS
        .iter()
        .find(|m| m.applies(stream, event_type, data))
}

/// The SET `jti` of the notification of `source_event` (and `discriminator`, e.g. the
/// consent of a data update) for `subscription`: deterministic, so it dedupes.
pub fn jti(subscription_id: &str, source_event: &str, discriminator: &str) -> String {
    stream_key(&[subscription_id, source_event, discriminator])
}

/// The stream of a notification.
pub fn notification_stream(jti: &str) -> String {
    format!("notification-{jti}")
}

/// The stream of a subscription.
pub fn subscription_stream(id: &str) -> String {
    format!("eventsub-{id}")
}

/// Delay before retry number `attempt` (1 = after the first failure): `initial · 2^(n-1)`,
/// at most `max`.
pub fn backoff(attempt: u32, initial: Duration, max: Duration) -> Duration {
    let factor = 2u32.saturating_pow(attempt.saturating_sub(1).min(30));
    initial.saturating_mul(factor).min(max)
}

/// A refusal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotificationError {
    /// Invalid input at a JSON pointer.
    #[error("{field}: {message}")]
    Invalid {
        /// Where.
        field: String,
        /// What.
        message: String,
    },
    /// The subscription does not exist (or is deleted).
    #[error("subscription not found")]
    SubscriptionNotFound,
    /// The notification is in a state that does not allow this.
    #[error("{0}")]
    Conflict(&'static str),
}

// ---------------------------------------------------------------- subscriptions

/// The `EventSubscription` aggregate.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventSubscription {
    /// The created subscription, `None` before creation or after deletion.
    pub current: Option<SubscriptionData>,
    /// Whether it was deleted.
    pub deleted: bool,
}

/// What a subscription is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionData {
    /// Its id.
    pub subscription_id: String,
    /// The subscribing partner.
    pub partner_id: String,
    /// One of the partner's registered webhook URLs.
    pub url: String,
    /// The notification types, sorted, distinct.
    pub event_types: Vec<String>,
    /// When.
    pub created_at: Timestamp,
}

/// Commands of [`EventSubscription`].
#[derive(Debug, Clone, PartialEq)]
pub enum SubscriptionCommand {
    /// Subscribe (the URL was checked against the partner's registered webhooks).
    CreateSubscription {
        /// New id.
        subscription_id: String,
        /// The partner.
        partner_id: String,
        /// The URL.
        url: String,
        /// Requested types.
        event_types: Vec<String>,
    },
    /// Unsubscribe.
    DeleteSubscription,
}

/// Events of [`EventSubscription`].
#[derive(Debug, Clone, PartialEq)]
pub enum SubscriptionEvent {
    /// `EventSubscriptionCreated`.
    Created(SubscriptionData),
    /// `EventSubscriptionDeleted`.
    Deleted {
        /// Which.
        subscription_id: String,
        /// Whose.
        partner_id: String,
        /// When.
        at: Timestamp,
    },
}

impl SubscriptionEvent {
    /// `EventSubscriptionCreated`.
    pub const CREATED: &'static str = "EventSubscriptionCreated";
    /// `EventSubscriptionDeleted`.
    pub const DELETED: &'static str = "EventSubscriptionDeleted";
}

impl Aggregate for EventSubscription {
    type Command = SubscriptionCommand;
    type Event = SubscriptionEvent;
    type Error = NotificationError;
    const CATEGORY: &'static str = "eventsub";

    fn decide(
        &self,
        command: SubscriptionCommand,
        now: Timestamp,
    ) -> Result<Vec<SubscriptionEvent>, NotificationError> {
        match command {
            SubscriptionCommand::CreateSubscription {
                subscription_id,
                partner_id,
                url,
                event_types,
            } => {
                if self.current.is_some() || self.deleted {
                    return Err(NotificationError::Conflict("subscription already exists"));
                }
                if event_types.is_empty() {
                    return Err(NotificationError::Invalid {
                        field: "/event_types".into(),
                        message: "must name at least one event type".into(),
                    });
                }
                for (i, t) in event_types.iter().enumerate() {
                    if !NOTIFICATION_TYPES.contains(&t.as_str()) {
                        return Err(NotificationError::Invalid {
                            field: format!("/event_types/{i}"),
                            message: format!("unknown event type {t}"),
                        });
                    }
                }
                let mut event_types = event_types;
                event_types.sort();
                event_types.dedup();
                Ok(vec![SubscriptionEvent::Created(SubscriptionData {
                    subscription_id,
                    partner_id,
                    url,
                    event_types,
                    created_at: now,
                })])
            }
            SubscriptionCommand::DeleteSubscription => match &self.current {
                None => Err(NotificationError::SubscriptionNotFound),
                Some(d) => Ok(vec![SubscriptionEvent::Deleted {
                    subscription_id: d.subscription_id.clone(),
                    partner_id: d.partner_id.clone(),
                    at: now,
                }]),
            },
        }
    }

    fn evolve(self, event: &SubscriptionEvent) -> Self {
        match event {
            SubscriptionEvent::Created(d) => Self {
                current: Some(d.clone()),
                deleted: false,
            },
            SubscriptionEvent::Deleted { .. } => Self {
                current: None,
                deleted: true,
            },
        }
    }
}

// ---------------------------------------------------------------- notifications

/// Where a notification stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotificationStatus {
    /// Waiting for delivery or polling.
    Pending,
    /// Acknowledged (202 to a push, or `ack` in a poll). Never sent again.
    Acknowledged,
    /// The receiver reported an error for it in a poll (`setErrs`). Never sent again.
    Rejected,
}

/// What is queued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queued {
    /// The SET's `jti`.
    pub jti: String,
    /// The subscription.
    pub subscription_id: String,
    /// The partner told.
    pub partner_id: String,
    /// Where to push.
    pub url: String,
    /// The notification type.
    pub event_type: String,
    /// The SET's claims (signed at each delivery, so key rotation applies).
    pub claims: Value,
    /// When.
    pub at: Timestamp,
}

/// How one push attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// 1, 2, …
    pub attempt: u32,
    /// The HTTP status, when the receiver answered.
    pub status: Option<u16>,
    /// Whether it was a 202.
    pub acknowledged: bool,
    /// What went wrong (timeout, connection refused, status), lowercase.
    pub error: Option<String>,
    /// When the next attempt is due; `None` when acknowledged or given up.
    pub next_attempt_at: Option<Timestamp>,
    /// When.
    pub at: Timestamp,
}

/// The `Notification` aggregate.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Notification {
    /// What was queued, `None` before.
    pub queued: Option<Queued>,
    /// Where it stands.
    pub status: Option<NotificationStatus>,
    /// Attempts so far.
    pub attempts: Vec<Attempt>,
    /// The instance holding the current claim, and until when.
    pub claim: Option<(String, Timestamp)>,
}

impl Notification {
    /// When the next push is due (`None`: not pending, or retries exhausted).
    pub fn due_at(&self) -> Option<Timestamp> {
        if self.status != Some(NotificationStatus::Pending) {
            return None;
        }
        match self.attempts.last() {
            None => self.queued.as_ref().map(|q| q.at),
            Some(a) => a.next_attempt_at,
        }
    }
}

/// Commands of [`Notification`].
#[derive(Debug, Clone, PartialEq)]
pub enum NotificationCommand {
    /// Queue it (only once).
    Queue(Queued),
    /// An instance reserves the next attempt until `until`.
    Claim {
        /// The instance.
        instance: String,
        /// Reservation end.
        until: Timestamp,
    },
    /// Record the outcome of the claimed attempt.
    RecordAttempt {
        /// The instance that holds the claim.
        instance: String,
        /// The status, when the receiver answered.
        status: Option<u16>,
        /// The failure, if not a 202.
        error: Option<String>,
        /// Retry policy.
        max_retries: u32,
        /// First retry delay.
        initial_backoff: Duration,
        /// Longest delay.
        max_backoff: Duration,
    },
    /// The receiver acknowledged it in a poll.
    AcknowledgeByPoll,
    /// The receiver reported an error for it in a poll.
    RejectByPoll {
        /// RFC 8936 `err`.
        err: String,
        /// RFC 8936 `description`.
        description: String,
    },
}

/// Events of [`Notification`].
#[derive(Debug, Clone, PartialEq)]
pub enum NotificationEvent {
    /// `NotificationQueued`.
    Queued(Queued),
    /// `NotificationDeliveryClaimed`.
    Claimed {
        /// The attempt number claimed.
        attempt: u32,
        /// By which instance.
        instance: String,
        /// Until when.
        until: Timestamp,
    },
    /// `NotificationDeliveryAttempted`.
    Attempted(Attempt),
    /// `NotificationAcknowledged` (by a poll).
    AcknowledgedByPoll {
        /// When.
        at: Timestamp,
    },
    /// `NotificationRejected` (by a poll's `setErrs`).
    Rejected {
        /// RFC 8936 `err`.
        err: String,
        /// Its description.
        description: String,
        /// When.
        at: Timestamp,
    },
}

impl Aggregate for Notification {
    type Command = NotificationCommand;
    type Event = NotificationEvent;
    type Error = NotificationError;
    const CATEGORY: &'static str = "notification";

    fn decide(
        &self,
        command: NotificationCommand,
        now: Timestamp,
    ) -> Result<Vec<NotificationEvent>, NotificationError> {
        let pending = self.status == Some(NotificationStatus::Pending);
        match command {
            NotificationCommand::Queue(q) => {
                if self.queued.is_some() {
                    return Ok(Vec::new());
                }
                Ok(vec![NotificationEvent::Queued(q)])
            }
            NotificationCommand::Claim { instance, until } => {
                match self.due_at() {
                    Some(due) if due <= now => {}
                    _ => return Err(NotificationError::Conflict("notification is not due")),
                }
                if self.claim.as_ref().is_some_and(|(_, u)| *u > now) {
                    return Err(NotificationError::Conflict("attempt already claimed"));
                }
                Ok(vec![NotificationEvent::Claimed {
                    attempt: self.attempts.len() as u32 + 1,
                    instance,
                    until,
                }])
            }
            NotificationCommand::RecordAttempt {
                instance,
                status,
                error,
                max_retries,
                initial_backoff,
                max_backoff,
            } => {
                match &self.claim {
                    Some((holder, _)) if *holder == instance => {}
                    _ => {
                        return Err(NotificationError::Conflict(
                            "attempt not claimed by this instance",
                        ));
                    }
                }
                let attempt = self.attempts.len() as u32 + 1;
                let acknowledged = status == Some(202) && error.is_none();
                let next_attempt_at = if acknowledged || !pending || attempt > max_retries {
                    None
                } else {
                    Some(now.plus(backoff(attempt, initial_backoff, max_backoff)))
                };
                Ok(vec![NotificationEvent::Attempted(Attempt {
                    attempt,
                    status,
                    acknowledged,
                    error,
                    next_attempt_at,
                    at: now,
                })])
            }
            NotificationCommand::AcknowledgeByPoll => {
                if self.queued.is_none() {
                    return Err(NotificationError::Conflict("no such notification"));
                }
                if !pending {
                    return Ok(Vec::new());
                }
                Ok(vec![NotificationEvent::AcknowledgedByPoll { at: now }])
            }
            NotificationCommand::RejectByPoll { err, description } => {
                if self.queued.is_none() {
                    return Err(NotificationError::Conflict("no such notification"));
                }
                if !pending {
                    return Ok(Vec::new());
                }
                Ok(vec![NotificationEvent::Rejected {
                    err,
                    description,
                    at: now,
                }])
            }
        }
    }

    fn evolve(mut self, event: &NotificationEvent) -> Self {
        match event {
            NotificationEvent::Queued(q) => {
                self.queued = Some(q.clone());
                self.status = Some(NotificationStatus::Pending);
            }
            NotificationEvent::Claimed {
                instance, until, ..
            } => {
                self.claim = Some((instance.clone(), *until));
            }
            NotificationEvent::Attempted(a) => {
                self.claim = None;
                if a.acknowledged {
                    self.status = Some(NotificationStatus::Acknowledged);
                }
                self.attempts.push(a.clone());
            }
            NotificationEvent::AcknowledgedByPoll { .. } => {
                self.status = Some(NotificationStatus::Acknowledged);
            }
            NotificationEvent::Rejected { .. } => {
                self.status = Some(NotificationStatus::Rejected);
            }
        }
        self
    }
}
