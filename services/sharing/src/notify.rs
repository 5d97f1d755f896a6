//! Event notifications: the dispatcher that turns hub events into queued SETs, the read
//! model of notifications, the push delivery worker and the use cases behind the
//! subscription, delivery-log and polling endpoints.
//!
//! * [`Dispatcher`] is a [`Projection`] over `consent-*`, `partner-*`, `records-*` and
//!   `eventsub-*` with a durable checkpoint (stream `sharingdispatch-checkpoint`). It keeps
//!   the subscriptions and the consents it has seen in memory (rebuilt from the log up to the
//!   checkpoint at start), maps events through [`MAPPINGS`], and queues one `Notification`
//!   per matching subscription. The jti is derived from the subscription and the source
//!   event and queuing is idempotent, so replaying after a crash queues nothing twice.
//! * [`NotificationsProjection`] feeds [`NotificationsReader`] (in memory, rebuilt at start).
//! * [`DeliveryWorker`] pushes due notifications: it claims the attempt by appending at the
//!   revision it read (two instances cannot both claim it), signs, POSTs
//!   `application/secevent+jwt`, and records the outcome. A 202 acknowledges; anything else
//!   is retried with exponential backoff up to `max_retries`. A crash between the POST and
//!   recording its outcome makes that attempt run again after the claim expires (at least
//!   once; receivers dedupe by `jti`, RFC 8935 §2).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use ecohub_eventstore::{
    EventFilter, ExpectedRevision, NewEvent, Position, Projection, ProjectionError,
    ReadStreamOptions, RecordedEvent, SharedStore, StoreError, execute, load,
};
use ecohub_kernel::{Aggregate, Clock, EventMetadata, Timestamp};
use serde_json::{Value, json};
use tokio::task::JoinHandle;

use crate::app::{AppError, SharingState};
use crate::domain::catalogue::Dataset;
use crate::domain::notifications::{
    Attempt, Audience, DATA_UPDATED, EventSubscription, MAPPINGS, Notification,
    NotificationCommand, NotificationError, NotificationEvent, NotificationStatus, Queued,
    SubscriptionCommand, SubscriptionData, SubscriptionEvent, event_uri, jti, mapping_of,
    notification_stream, subscription_stream,
};
use crate::ports::{ConsentGrants, PortError};
use crate::readmodel::CatalogueReader;

/// The stream of the dispatcher's checkpoints.
pub const DISPATCHER_CHECKPOINT_STREAM: &str = "sharingdispatch-checkpoint";
const CHECKPOINT_TYPE: &str = "DispatcherCheckpointed";

impl From<NotificationError> for AppError {
    fn from(e: NotificationError) -> Self {
        match e {
            NotificationError::Invalid { field, message } => AppError::Invalid { field, message },
            NotificationError::SubscriptionNotFound => AppError::NotFound("subscription"),
            NotificationError::Conflict(why) => AppError::Conflict(why.to_owned()),
        }
    }
}

// ------------------------------------------------------------------ read model

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

// ------------------------------------------------------------------ dispatcher

#[derive(Debug, Clone)]
struct KnownConsent {
    partner_id: String,
    customer_id: Option<String>,
    /// Authorised and not yet revoked or expired (as far as the log has said).
    active: bool,
}

/// Maps hub events to queued notifications (see the module docs).
pub struct Dispatcher {
    store: SharedStore,
    clock: Arc<dyn Clock>,
    grants: Arc<dyn ConsentGrants>,
    catalogue: CatalogueReader,
    issuer: String,
    subscriptions: BTreeMap<String, SubscriptionData>,
    consents: BTreeMap<String, KnownConsent>,
}

impl std::fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dispatcher")
            .field("subscriptions", &self.subscriptions.len())
            .finish_non_exhaustive()
    }
}

fn dispatcher_filter() -> EventFilter {
    let mut prefixes: Vec<String> = MAPPINGS
        .iter()
        .map(|m| m.stream_prefix.to_owned())
        .collect();
    prefixes.push("eventsub-".to_owned());
    prefixes.sort();
    prefixes.dedup();
    EventFilter::streams(prefixes)
}

impl Dispatcher {
    /// A dispatcher for `state`'s store, ports and catalogue.
    pub fn new(state: &SharingState) -> Self {
        Self {
            store: state.store.clone(),
            clock: state.clock.clone(),
            grants: state.ports.grants.clone(),
            catalogue: state.catalogue.clone(),
            issuer: state.config.issuer.clone(),
            subscriptions: BTreeMap::new(),
            consents: BTreeMap::new(),
        }
    }

    /// Learns subscriptions and consents from one event (no notification).
    fn learn(&mut self, e: &RecordedEvent, data: &Value) {
        if e.stream.starts_with("eventsub-") {
            match e.decode::<SubscriptionEvent>().map(|env| env.payload) {
                Ok(SubscriptionEvent::Created(d)) => {
                    self.subscriptions.insert(d.subscription_id.clone(), d);
                }
                Ok(SubscriptionEvent::Deleted {
                    subscription_id, ..
                }) => {
                    self.subscriptions.remove(&subscription_id);
                }
                Err(err) => tracing::warn!(error = %err, "undecodable subscription event skipped"),
            }
        } else if let Some(consent_id) = e.stream.strip_prefix("consent-") {
            // The partner is named when the consent is requested; the customer when it is
            // authorised. A revoked or expired consent is remembered (inactive) so that its
            // own revocation or expiry can still be addressed to its partner.
            match e.event_type.as_str() {
                "ConsentRequested" => {
                    if let Some(partner) = data.get("partner_id").and_then(Value::as_str) {
                        self.consents.insert(
                            consent_id.to_owned(),
                            KnownConsent {
                                partner_id: partner.to_owned(),
                                customer_id: None,
                                active: false,
                            },
                        );
                    }
                }
                "ConsentAuthorised" => {
                    let customer = data
                        .get("customer_id")
                        .and_then(Value::as_str)
                        .map(str::to_owned);
                    if let Some(known) = self.consents.get_mut(consent_id) {
                        known.customer_id = customer;
                        known.active = true;
                    } else if let Some(partner) = data.get("partner_id").and_then(Value::as_str) {
                        self.consents.insert(
                            consent_id.to_owned(),
                            KnownConsent {
                                partner_id: partner.to_owned(),
                                customer_id: customer,
                                active: true,
                            },
                        );
                    }
                }
                "ConsentRevoked" | "ConsentExpired" | "ConsentRejected" => {
                    if let Some(known) = self.consents.get_mut(consent_id) {
                        known.active = false;
                    }
                }
                _ => {}
            }
        }
    }

    fn subscribers(&self, partner: &str, notification: &str) -> Vec<SubscriptionData> {
        self.subscriptions
            .values()
            .filter(|s| s.partner_id == partner && s.event_types.iter().any(|t| t == notification))
            .cloned()
            .collect()
    }

    /// The (partner, subject claims, discriminator) pairs an event notifies.
    async fn audiences(
        &mut self,
        e: &RecordedEvent,
        data: &Value,
        audience: Audience,
    ) -> Result<Vec<(String, Value, String)>, PortError> {
        let now = self.clock.now();
        Ok(match audience {
            Audience::PayloadPartner => {
                let consent_id = e
                    .stream
                    .strip_prefix("consent-")
                    .unwrap_or_default()
                    .to_owned();
                let partner = data
                    .get("partner_id")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .or_else(|| self.consents.get(&consent_id).map(|c| c.partner_id.clone()));
                match partner {
                    None => Vec::new(),
                    Some(p) => vec![(p, json!({"consent_id": consent_id}), String::new())],
                }
            }
            Audience::StreamPartner => {
                let partner = e
                    .stream
                    .strip_prefix("partner-")
                    .unwrap_or_default()
                    .to_owned();
                vec![(
                    partner.clone(),
                    json!({"partner_id": partner, "change": e.event_type}),
                    String::new(),
                )]
            }
            Audience::ConsentedRecipients => {
                let (Some(dataset), Some(provider), Some(customer)) = (
                    data.get("dataset").and_then(Value::as_str),
                    data.get("provider").and_then(Value::as_str),
                    data.get("customer_id").and_then(Value::as_str),
                ) else {
                    return Ok(Vec::new());
                };
                let Some(ds) = self.catalogue.get(dataset) else {
                    return Ok(Vec::new());
                };
                let mut out = Vec::new();
                let ids: Vec<String> = self
                    .consents
                    .iter()
                    .filter(|(_, k)| k.active)
                    .map(|(id, _)| id.clone())
                    .collect();
                for consent_id in ids {
                    let known = self.consents.get(&consent_id).cloned();
                    if known
                        .as_ref()
                        .and_then(|k| k.customer_id.as_deref())
                        .is_some_and(|c| c != customer)
                    {
                        continue;
                    }
                    if let Some(k) = &known
                        && self.subscribers(&k.partner_id, DATA_UPDATED).is_empty()
                    {
                        continue;
                    }
                    let Some(grant) = self.grants.grant(&consent_id, now).await? else {
                        continue;
                    };
                    if let Some(k) = self.consents.get_mut(&consent_id) {
                        k.customer_id = Some(grant.customer_id.clone());
                    }
                    if covers(&ds, &grant, customer, provider) {
                        out.push((
                            grant.partner_id.clone(),
                            json!({"consent_id": consent_id, "dataset": dataset, "provider": provider}),
                            consent_id.clone(),
                        ));
                    }
                }
                out
            }
        })
    }

    async fn dispatch(&mut self, e: &RecordedEvent) -> Result<(), ProjectionError> {
        let data = e.data_json().unwrap_or(Value::Null);
        self.learn(e, &data);
        let Some(mapping) = mapping_of(&e.stream, &e.event_type) else {
            return Ok(());
        };
        let audiences = self
            .audiences(e, &data, mapping.audience)
            .await
            .map_err(|err| ProjectionError(err.to_string()))?;
        let now = self.clock.now();
        for (partner, subject, discriminator) in audiences {
            for sub in self.subscribers(&partner, mapping.notification) {
                let jti = jti(
                    &sub.subscription_id,
                    &e.event_id.to_string(),
                    &discriminator,
                );
                let claims = json!({
                    "iss": self.issuer,
                    "iat": now.unix_seconds(),
                    "jti": jti,
                    "aud": partner,
                    "toe": e.recorded_at.unix_seconds(),
                    "txn": e.metadata.correlation_id.clone().unwrap_or_else(|| e.event_id.to_string()),
                    "events": { event_uri(mapping.notification): subject.clone() },
                });
                let queued = Queued {
                    jti: jti.clone(),
                    subscription_id: sub.subscription_id.clone(),
                    partner_id: partner.clone(),
                    url: sub.url.clone(),
                    event_type: mapping.notification.to_owned(),
                    claims,
                    at: now,
                };
                execute::<Notification>(
                    &*self.store,
                    &notification_stream(&jti),
                    NotificationCommand::Queue(queued),
                    now,
                    EventMetadata {
                        causation_id: Some(e.event_id.to_string()),
                        correlation_id: e.metadata.correlation_id.clone(),
                        ..EventMetadata::system("sharing-dispatcher")
                    },
                )
                .await
                .map_err(|err| ProjectionError(err.to_string()))?;
            }
        }
        Ok(())
    }
}

fn covers(
    ds: &Dataset,
    grant: &crate::ports::ConsentGrant,
    customer: &str,
    provider: &str,
) -> bool {
    grant.customer_id == customer
        && grant.data_providers.iter().any(|p| p == provider)
        && ds.has_provider(provider)
        && ds.unlocked(&grant.permissions).is_some()
}

#[async_trait]
impl Projection for Dispatcher {
    fn name(&self) -> &str {
        "sharing-dispatcher"
    }
    fn filter(&self) -> EventFilter {
        dispatcher_filter()
    }
    async fn checkpoint(&mut self) -> Result<Option<Position>, ProjectionError> {
        let last = self
            .store
            .read_stream(
                DISPATCHER_CHECKPOINT_STREAM,
                ReadStreamOptions::backwards().limit(1),
            )
            .await?;
        let checkpoint: Option<Position> = match last.first() {
            None => None,
            // `null` after a reset: start from zero.
            Some(e) => serde_json::from_slice::<Value>(&e.data)
                .ok()
                .and_then(|v| {
                    serde_json::from_value::<Option<Position>>(v["position"].clone()).ok()
                })
                .ok_or_else(|| ProjectionError("malformed dispatcher checkpoint".into()))?,
        };
        // Rebuild what was learnt before the checkpoint (subscriptions, consents).
        self.subscriptions.clear();
        self.consents.clear();
        if let Some(until) = checkpoint {
            let filter = dispatcher_filter();
            let mut from = None;
            'scan: loop {
                let batch = self.store.read_all(from, &filter, 1_000).await?;
                let n = batch.len();
                for e in &batch {
                    if e.position > until {
                        break 'scan;
                    }
                    from = Some(e.position);
                    let data = e.data_json().unwrap_or(Value::Null);
                    self.learn(e, &data);
                }
                if n < 1_000 {
                    break;
                }
            }
        }
        Ok(checkpoint)
    }
    async fn apply(
        &mut self,
        events: &[RecordedEvent],
        checkpoint: Position,
    ) -> Result<(), ProjectionError> {
        for e in events {
            self.dispatch(e).await?;
        }
        // Only batches with events are checkpointed: persisting checkpoint-only positions
        // would write on every idle tick (and wake every subscriber). After a restart the
        // dispatcher re-scans, at most, the events it skipped since its last batch.
        if events.is_empty() {
            return Ok(());
        }
        let mut event = NewEvent::raw(
            CHECKPOINT_TYPE,
            json!({ "position": checkpoint }),
            self.clock.now(),
        );
        event.metadata = EventMetadata::system("sharing-dispatcher");
        self.store
            .append(
                DISPATCHER_CHECKPOINT_STREAM,
                ExpectedRevision::Any,
                vec![event],
            )
            .await?;
        Ok(())
    }
    async fn reset(&mut self) -> Result<(), ProjectionError> {
        self.subscriptions.clear();
        self.consents.clear();
        let mut event = NewEvent::raw(
            CHECKPOINT_TYPE,
            json!({ "position": Value::Null }),
            self.clock.now(),
        );
        event.metadata = EventMetadata::system("sharing-dispatcher");
        self.store
            .append(
                DISPATCHER_CHECKPOINT_STREAM,
                ExpectedRevision::Any,
                vec![event],
            )
            .await?;
        Ok(())
    }
}

// ------------------------------------------------------------------ delivery

/// The push worker running in the background.
#[derive(Debug)]
pub struct DeliveryWorker {
    task: JoinHandle<()>,
}

impl DeliveryWorker {
    /// Pushes due notifications every `config.delivery.tick` until stopped.
    pub fn spawn(state: SharingState) -> Self {
        let task = tokio::spawn(async move {
            let client = http_client(&state);
            loop {
                if let Err(e) = deliver_due(&state, &client).await {
                    tracing::warn!(error = %e, "notification delivery round failed");
                }
                tokio::time::sleep(state.config.delivery.tick).await;
            }
        });
        Self { task }
    }

    /// Stops the worker.
    pub fn stop(&self) {
        self.task.abort();
    }
}

impl Drop for DeliveryWorker {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The HTTP client pushes use (no redirects, the configured timeout).
pub fn http_client(state: &SharingState) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(state.config.delivery.request_timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_default()
}

/// One delivery round: every due notification this instance manages to claim is pushed
/// once. Returns how many were attempted.
pub async fn deliver_due(
    state: &SharingState,
    client: &reqwest::Client,
) -> Result<usize, AppError> {
    let mut attempted = 0;
    for jti in state.notifications.due(state.now()) {
        if deliver_one(state, client, &jti).await? {
            attempted += 1;
        }
    }
    Ok(attempted)
}

async fn deliver_one(
    state: &SharingState,
    client: &reqwest::Client,
    jti: &str,
) -> Result<bool, AppError> {
    let stream = notification_stream(jti);
    let instance = state.config.instance_id.clone();
    let now = state.now();
    let (current, revision) = load::<Notification>(&*state.store, &stream).await?;
    let claim = NotificationCommand::Claim {
        instance: instance.clone(),
        until: now.plus(state.config.delivery.claim_ttl),
    };
    let Ok(events) = current.decide(claim, now) else {
        return Ok(false);
    };
    let new_events = events
        .iter()
        .map(|e| NewEvent::from_domain(e, EventMetadata::system("sharing-delivery"), now))
        .collect();
    match state
        .store
        .append(&stream, ExpectedRevision::from(revision), new_events)
        .await
    {
        Ok(_) => {}
        Err(StoreError::WrongExpectedVersion { .. }) => return Ok(false),
        Err(e) => return Err(e.into()),
    }
    let Some(queued) = current.queued else {
        return Ok(false);
    };
    // The partner may have removed the webhook since subscribing: never push to it then.
    let registered = state.ports.webhooks.webhooks(&queued.partner_id).await;
    let (status, error) = match registered {
        Err(e) => (None, Some(format!("webhooks unavailable: {e}"))),
        Ok(urls) if !urls.contains(&queued.url) => {
            (None, Some("webhook no longer registered".to_owned()))
        }
        Ok(_) => push(state, client, &queued).await,
    };
    let d = &state.config.delivery;
    execute::<Notification>(
        &*state.store,
        &stream,
        NotificationCommand::RecordAttempt {
            instance,
            status,
            error,
            max_retries: d.max_retries,
            initial_backoff: d.initial_backoff,
            max_backoff: d.max_backoff,
        },
        state.now(),
        EventMetadata::system("sharing-delivery"),
    )
    .await?;
    Ok(true)
}

/// Signs and POSTs one SET; the receiver's status and what went wrong, if anything.
async fn push(
    state: &SharingState,
    client: &reqwest::Client,
    queued: &Queued,
) -> (Option<u16>, Option<String>) {
    match state.ports.signer.sign(&queued.claims) {
        Err(e) => (None, Some(format!("signing failed: {e}"))),
        Ok(set) => match client
            .post(&queued.url)
            .header("content-type", "application/secevent+jwt")
            .header("accept", "application/json")
            .body(set)
            .send()
            .await
        {
            Ok(res) if res.status().as_u16() == 202 => (Some(202), None),
            Ok(res) => (
                Some(res.status().as_u16()),
                Some(format!("receiver answered {}", res.status().as_u16())),
            ),
            Err(e) if e.is_timeout() => (None, Some("timed out".to_owned())),
            Err(e) => (
                None,
                Some(format!("request failed: {}", lowercase_error(&e))),
            ),
        },
    }
}

fn lowercase_error(e: &reqwest::Error) -> String {
    if e.is_connect() {
        "connection failed".to_owned()
    } else {
        "transport error".to_owned()
    }
}

// ------------------------------------------------------------------ use cases

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
        ctx: &crate::app::RequestContext,
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
        ctx: &crate::app::RequestContext,
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
        ctx: &crate::app::RequestContext,
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
