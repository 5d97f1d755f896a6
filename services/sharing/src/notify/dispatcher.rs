//! The [`Dispatcher`] projection: turns hub events into queued notifications (see the
//! module documentation of [`crate::notify`]). Below the application layer: it is built from
//! the store, the clock, the consent-grants port and the catalogue read model, and queues
//! through the `Notification` aggregate directly.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use ecohub_eventstore::{
    CheckpointStream, EventFilter, ExpectedRevision, NewEvent, Position, Projection,
    ProjectionError, RecordedEvent, SharedStore, StoreError, execute,
};
use ecohub_kernel::{Aggregate, Clock, EventMetadata, Timestamp};
use futures_util::{StreamExt, TryStreamExt};
use serde_json::{Value, json};

use crate::domain::catalogue::Dataset;
use crate::domain::notifications::{
    Audience, DATA_UPDATED, MAPPINGS, Mapping, Notification, NotificationCommand, Queued,
    SubscriptionData, SubscriptionEvent, event_uri, jti, mapping_of, notification_stream,
    subject_fields,
};
use crate::ports::{ConsentGrant, ConsentGrants, Customers, PortError};
use crate::readmodel::CatalogueReader;

/// The stream of the dispatcher's checkpoints.
pub const DISPATCHER_CHECKPOINT_STREAM: &str = "sharingdispatch-checkpoint";
/// Where the dispatcher keeps its checkpoints.
const CHECKPOINTS: CheckpointStream = CheckpointStream {
    stream: DISPATCHER_CHECKPOINT_STREAM,
    event_type: "DispatcherCheckpointed",
    actor: "sharing-dispatcher",
};

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
    customers: Arc<dyn Customers>,
    catalogue: CatalogueReader,
    issuer: String,
    subscriptions: BTreeMap<String, SubscriptionData>,
    consents: BTreeMap<String, KnownConsent>,
    /// When the checkpoint was last recorded.
    checkpointed_at: tokio::time::Instant,
    /// Events were applied since.
    behind: bool,
}

/// The checkpoint is recorded at most this often: under load one append per batch would be
/// about one per notification. A restart re-scans at most this much of the log, queuing
/// nothing twice.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(200);

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
    /// A dispatcher over `store` that reads what consents grant through `grants`, customers'
    /// pairwise ids through `customers`, datasets from `catalogue`, and signs as `issuer`.
    pub fn new(
        store: SharedStore,
        clock: Arc<dyn Clock>,
        grants: Arc<dyn ConsentGrants>,
        customers: Arc<dyn Customers>,
        catalogue: CatalogueReader,
        issuer: String,
    ) -> Self {
        Self {
            store,
            clock,
            grants,
            customers,
            catalogue,
            issuer,
            subscriptions: BTreeMap::new(),
            consents: BTreeMap::new(),
            checkpointed_at: tokio::time::Instant::now(),
            behind: false,
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
        mapping: &Mapping,
    ) -> Result<Vec<(String, Value, String)>, PortError> {
        let now = self.clock.now();
        Ok(match mapping.audience {
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
            Audience::PayloadPartners {
                partners,
                customer,
                fields,
            } => {
                let partners: Vec<String> = data
                    .pointer(partners)
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_owned)
                            .collect()
                    })
                    .unwrap_or_default();
                let customer = data.pointer(customer).and_then(Value::as_str);
                let mut out = Vec::new();
                for partner in partners {
                    if self.subscribers(&partner, mapping.notification).is_empty() {
                        continue;
                    }
                    let mut subject = subject_fields(fields, data);
                    // The customer as this partner knows them (RFC 9493 opaque subject
                    // identifier), when the customer is in the hub's directory.
                    if let Some(customer) = customer
                        && let Some(pairwise) =
                            self.customers.pairwise_of(&partner, customer).await?
                    {
                        subject["sub_id"] = json!({"format": "opaque", "id": pairwise});
                    }
                    out.push((partner, subject, String::new()));
                }
                out
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

    /// Learns from `e` and returns the notifications it queues (nothing written yet).
    async fn plan(&mut self, e: &RecordedEvent) -> Result<Vec<ToQueue>, ProjectionError> {
        let data = e.data_json().unwrap_or(Value::Null);
        self.learn(e, &data);
        let Some(mapping) = mapping_of(&e.stream, &e.event_type, &data) else {
            return Ok(Vec::new());
        };
        let audiences = self
            .audiences(e, &data, mapping)
            .await
            .map_err(|err| ProjectionError(err.to_string()))?;
        let now = self.clock.now();
        let mut out = Vec::new();
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
                out.push(ToQueue {
                    queued: Queued {
                        jti,
                        subscription_id: sub.subscription_id.clone(),
                        partner_id: partner.clone(),
                        url: sub.url.clone(),
                        event_type: mapping.notification.to_owned(),
                        claims,
                        at: now,
                    },
                    metadata: EventMetadata {
                        causation_id: Some(e.event_id.to_string()),
                        correlation_id: e.metadata.correlation_id.clone(),
                        ..EventMetadata::system("sharing-dispatcher")
                    },
                });
            }
        }
        Ok(out)
    }
}

/// A notification to queue, and the metadata of its `NotificationQueued`.
struct ToQueue {
    queued: Queued,
    metadata: EventMetadata,
}

/// Queues one notification. A notification stream always begins with its
/// `NotificationQueued` (nothing else can be decided on an empty one), so the decision is
/// made on the empty stream and appended only if the stream does not exist yet; if it does
/// (a replay), it is decided again on the stream as it is, which queues nothing twice.
async fn queue(store: &SharedStore, to: ToQueue, now: Timestamp) -> Result<(), ProjectionError> {
    let stream = notification_stream(&to.queued.jti);
    let command = NotificationCommand::Queue(to.queued);
    let events = Notification::default()
        .decide(command.clone(), now)
        .map_err(|err| ProjectionError(err.to_string()))?;
    let new_events = events
        .iter()
        .map(|e| NewEvent::from_domain(e, to.metadata.clone(), now))
        .collect();
    match store
        .append(&stream, ExpectedRevision::NoStream, new_events)
        .await
    {
        Ok(_) => Ok(()),
        Err(StoreError::WrongExpectedVersion { .. }) => {
            execute::<Notification>(&**store, &stream, command, now, to.metadata)
                .await
                .map(|_| ())
                .map_err(|err| ProjectionError(err.to_string()))
        }
        Err(err) => Err(err.into()),
    }
}

/// Most `NotificationQueued` appends of one batch in flight at once (the store commits those
/// that arrive together in one transaction).
const QUEUE_CONCURRENCY: usize = 128;

fn covers(ds: &Dataset, grant: &ConsentGrant, customer: &str, provider: &str) -> bool {
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
        let checkpoint = CHECKPOINTS.read(&*self.store).await?;
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
        // Plan in log order (what is learnt from one event applies to the next), then queue
        // the batch's notifications concurrently: they are independent streams, and the
        // store's group commit makes one fsync of many appends. The checkpoint follows them.
        let mut planned = Vec::new();
        for e in events {
            planned.extend(self.plan(e).await?);
        }
        let now = self.clock.now();
        let store = &self.store;
        futures_util::stream::iter(planned)
            .map(|to| queue(store, to, now))
            .buffer_unordered(QUEUE_CONCURRENCY)
            .try_collect::<Vec<()>>()
            .await?;
        // Only positions after applied events are checkpointed (persisting checkpoint-only
        // positions would write on every idle tick and wake every subscriber), and at most
        // every CHECKPOINT_EVERY; a later batch, even an empty one, records what was held
        // back. After a restart the dispatcher re-scans, at most, the events since.
        self.behind |= !events.is_empty();
        if !self.behind || self.checkpointed_at.elapsed() < CHECKPOINT_EVERY {
            return Ok(());
        }
        CHECKPOINTS
            .write(&*self.store, Some(checkpoint), self.clock.now())
            .await?;
        self.behind = false;
        self.checkpointed_at = tokio::time::Instant::now();
        Ok(())
    }
    async fn reset(&mut self) -> Result<(), ProjectionError> {
        self.subscriptions.clear();
        self.consents.clear();
        self.behind = false;
        CHECKPOINTS
            .write(&*self.store, None, self.clock.now())
            .await
    }
}
