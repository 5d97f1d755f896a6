//! The application layer: each use case checks who asks (through the ports, exactly), asks
//! the pure domain to decide, and appends with the revision it read. Reads are served from
//! the in-memory read models, and recorded durably before they are answered.

mod subscriptions;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use ecohub_eventstore::{
    ExecuteError, ExpectedRevision, NewEvent, Position, SharedStore, StoreError, execute,
};
use ecohub_kernel::{Clock, DecodeError, Timestamp};
use ecohub_security::Principal;

pub use crate::audit::{AccessFilter, access_filter};
use crate::audit::{AccessIndex, AccessIndexProjection, AccessPage, AuditError};
use crate::config::SharingConfig;
use crate::domain::access::{DataAccessed, access_stream};
use crate::domain::catalogue::{
    BANK, CatalogueError, DEFAULT_CATALOGUE, Dataset, DatasetCommand, DatasetDefinition,
    DatasetState, dataset_stream, parse_catalogue,
};
use crate::domain::notifications::NotificationError;
use crate::domain::records::{
    CustomerRecords, Record, RecordsCommand, RecordsError, records_stream,
};
use crate::notify::{Dispatcher, NotificationsProjection, NotificationsReader};
use crate::ports::{ConsentGrants, Customers, PartnerWebhooks, PortError, SetSigner};
use crate::ratelimit::RateLimiter;
use crate::readmodel::{CatalogueProjection, CatalogueReader, RecordsProjection, RecordsReader};

/// The ports the hub provides.
#[derive(Clone)]
pub struct SharingPorts {
    /// What consents grant.
    pub grants: Arc<dyn ConsentGrants>,
    /// Pairwise → internal customer ids.
    pub customers: Arc<dyn Customers>,
    /// Partners' registered webhooks.
    pub webhooks: Arc<dyn PartnerWebhooks>,
    /// Signs SETs.
    pub signer: Arc<dyn SetSigner>,
}

/// Everything sharing needs, shared by its handlers (`web::Data<SharingState>`).
#[derive(Clone)]
pub struct SharingState {
    /// The event store.
    pub store: SharedStore,
    /// Where `now` comes from.
    pub clock: Arc<dyn Clock>,
    /// Settings.
    pub config: SharingConfig,
    /// The hub's ports.
    pub ports: SharingPorts,
    /// The catalogue read model.
    pub catalogue: CatalogueReader,
    /// The records read model.
    pub records: RecordsReader,
    /// The notifications read model.
    pub notifications: NotificationsReader,
    /// Which access streams hold which partners' and datasets' records (for the audit).
    pub access_index: AccessIndex,
    read_limiter: Arc<RateLimiter>,
    publish_limiter: Arc<RateLimiter>,
}

impl std::fmt::Debug for SharingState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharingState")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// The projections that feed a [`SharingState`]'s read models; spawn each with
/// `ProjectionHandle::spawn(store, projection)`.
#[derive(Debug)]
pub struct SharingProjections {
    /// Feeds the catalogue.
    pub catalogue: CatalogueProjection,
    /// Feeds the records.
    pub records: RecordsProjection,
    /// Feeds the notifications read model.
    pub notifications: NotificationsProjection,
    /// Turns hub events into queued notifications (durable checkpoint).
    pub dispatcher: Dispatcher,
    /// Feeds the access index the compliance audit is served from.
    pub access_index: AccessIndexProjection,
}

/// Who asks, in which request (the kernel's): the metadata of the events it causes.
pub use ecohub_kernel::RequestContext;

/// Why a use case did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Unknown (or not visible) resource.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The caller may not do this.
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    /// Invalid input, at a JSON pointer or parameter.
    #[error("{field}: {message}")]
    Invalid {
        /// Where.
        field: String,
        /// What.
        message: String,
    },
    /// The request conflicts with the resource's state.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The read could not be recorded, so it is refused (503).
    #[error("access could not be recorded: {0}")]
    AccessNotRecorded(StoreError),
    /// Over the rate limit; retry after this.
    #[error("rate limited")]
    RateLimited(Duration),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored event cannot be decoded.
    #[error("stored event cannot be decoded: {0}")]
    Decode(#[from] DecodeError),
    /// A port failed.
    #[error("port failed: {0}")]
    Port(#[from] PortError),
}

impl From<CatalogueError> for AppError {
    fn from(e: CatalogueError) -> Self {
        let CatalogueError::Invalid { field, message } = e;
        AppError::Invalid { field, message }
    }
}

impl From<NotificationError> for AppError {
    fn from(e: NotificationError) -> Self {
        match e {
            NotificationError::Invalid { field, message } => AppError::Invalid { field, message },
            NotificationError::SubscriptionNotFound => AppError::NotFound("subscription"),
            NotificationError::Conflict(why) => AppError::Conflict(why.to_owned()),
        }
    }
}

impl From<AuditError> for AppError {
    fn from(e: AuditError) -> Self {
        match e {
            AuditError::Store(e) => AppError::Store(e),
            AuditError::Decode(e) => AppError::Decode(e),
        }
    }
}

impl From<RecordsError> for AppError {
    fn from(e: RecordsError) -> Self {
        let RecordsError::Invalid { field, message } = e;
        AppError::Invalid { field, message }
    }
}

impl<E: Into<AppError> + std::error::Error + 'static> From<ExecuteError<E>> for AppError {
    fn from(e: ExecuteError<E>) -> Self {
        match e {
            ExecuteError::Refused(e) => e.into(),
            ExecuteError::Store(e) => AppError::Store(e),
            ExecuteError::Decode(e) => AppError::Decode(e),
        }
    }
}

/// A publication, as received.
#[derive(Debug, Clone)]
pub struct Publication {
    /// The customer as the provider knows them (pairwise id; internal id for the bank).
    pub customer_id: String,
    /// The records.
    pub records: Vec<Record>,
}

/// What a publication did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Published {
    /// Records stored (new or changed).
    pub stored: usize,
    /// Records already stored with the same content.
    pub unchanged: usize,
}

/// One record as served: reduced to the unlocked fields.
#[derive(Debug, Clone, PartialEq)]
pub struct ServedRecord {
    /// Who published it.
    pub provider: String,
    /// Its id.
    pub id: String,
    /// The unlocked fields.
    pub data: serde_json::Value,
}

/// A read's filters and page.
#[derive(Debug, Clone, Default)]
pub struct ReadQuery {
    /// Only records at or after this time (within the consent's window).
    pub from: Option<Timestamp>,
    /// Only records at or before this time.
    pub to: Option<Timestamp>,
    /// After this (provider, record id).
    pub after: Option<(String, String)>,
    /// Page size.
    pub page_size: usize,
}

/// The records of one read, minimised, with one more than the page size when more exist.
#[derive(Debug, Clone)]
pub struct ReadResult {
    /// The records (data already minimised).
    pub records: Vec<ServedRecord>,
    /// The fields the consent unlocks.
    pub fields: BTreeSet<String>,
}

impl SharingState {
    /// A state over `store` with the default catalogue, and the projections that feed its
    /// read models (spawn them; reads see published records once they have caught up).
    pub fn new(
        store: SharedStore,
        clock: Arc<dyn Clock>,
        config: SharingConfig,
        ports: SharingPorts,
    ) -> (Self, SharingProjections) {
        let (_, defaults) =
            parse_catalogue(DEFAULT_CATALOGUE).expect("the bundled catalogue is valid (tested)");
        let catalogue = CatalogueReader::new(defaults);
        let records = RecordsReader::default();
        let notifications = NotificationsReader::default();
        let access_index = AccessIndex::default();
        let state = Self {
            read_limiter: Arc::new(RateLimiter::new(config.read_limit)),
            publish_limiter: Arc::new(RateLimiter::new(config.publish_limit)),
            store,
            clock,
            config,
            ports,
            catalogue: catalogue.clone(),
            records: records.clone(),
            notifications: notifications.clone(),
            access_index: access_index.clone(),
        };
        let projections = SharingProjections {
            catalogue: CatalogueProjection::new(catalogue),
            records: RecordsProjection::new(records),
            notifications: NotificationsProjection::new(notifications),
            dispatcher: Dispatcher::new(
                state.store.clone(),
                state.clock.clone(),
                state.ports.grants.clone(),
                state.ports.customers.clone(),
                state.catalogue.clone(),
                state.config.issuer.clone(),
            ),
            access_index: AccessIndexProjection::new(access_index),
        };
        (state, projections)
    }

    /// Up to `limit` records of `dataset` that `provider` published for the customer
    /// `customer_id`, reduced to the fields `permissions` unlock: the same minimisation a data
    /// recipient's read gets. Empty when the dataset is unknown, does not take this provider,
    /// or the permissions unlock none of it. The bank's personalised offers read partners'
    /// records this way, under the customer's consent (ADR 0021).
    pub fn minimised_records(
        &self,
        customer_id: &str,
        dataset_name: &str,
        provider: &str,
        permissions: &[String],
        limit: usize,
    ) -> Vec<crate::readmodel::StoredRecord> {
        let permissions: BTreeSet<String> = permissions.iter().cloned().collect();
        let Some(dataset) = self.catalogue.get(dataset_name) else {
            return Vec::new();
        };
        if !dataset.has_provider(provider) {
            return Vec::new();
        }
        let Some(unlocked) = dataset.unlocked(&permissions) else {
            return Vec::new();
        };
        self.records
            .page(customer_id, dataset.name(), None, limit, |p, data| {
                p == provider && dataset.admits(data, &unlocked, None, None)
            })
            .into_iter()
            .map(|mut r| {
                r.data = Arc::new(dataset.minimise(&r.data, &unlocked));
                r
            })
            .collect()
    }

    /// Up to `limit` access records after `after` that `filter` accepts, oldest first, and
    /// whether the limit was reached: the compliance list and export. Exact (what a scan of
    /// the log would return) and costing about what it returns (see [`crate::audit`]).
    pub async fn access_records(
        &self,
        after: Option<Position>,
        filter: &AccessFilter,
        limit: usize,
    ) -> Result<AccessPage, AppError> {
        Ok(
            crate::audit::access_records(&*self.store, &self.access_index, after, filter, limit)
                .await?,
        )
    }

    /// Now.
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    fn limit(&self, limiter: &RateLimiter, principal: &Principal) -> Result<(), AppError> {
        let key = principal
            .partner_id
            .clone()
            .unwrap_or_else(|| principal.actor());
        limiter
            .check(&key, self.now())
            .map_err(AppError::RateLimited)
    }

    /// Admins define or replace a dataset.
    pub async fn define_dataset(
        &self,
        definition: DatasetDefinition,
        ctx: &RequestContext,
    ) -> Result<Dataset, AppError> {
        let name = definition.name.clone();
        let executed = execute::<DatasetState>(
            &*self.store,
            &dataset_stream(&name),
            DatasetCommand::DefineDataset {
                definition,
                by: ctx.actor.clone(),
            },
            self.now(),
            ctx.metadata(),
        )
        .await?;
        let definition = executed
            .state
            .definition
            .ok_or_else(|| AppError::Conflict("dataset has no definition".into()))?;
        let dataset = Dataset::new(definition)?;
        self.catalogue.put(dataset.clone());
        Ok(dataset)
    }

    /// A provider publishes records about one of its customers.
    pub async fn publish(
        &self,
        principal: &Principal,
        dataset: &str,
        publication: Publication,
        ctx: &RequestContext,
    ) -> Result<Published, AppError> {
        let dataset = self
            .catalogue
            .get(dataset)
            .ok_or(AppError::NotFound("dataset"))?;
        // A partner's client publishes as its partner; a client of no partner is one of the
        // bank's own systems (only an administrator registers those), which publishes as the
        // bank with `data:publish` alone: a data feed needs no `admin`.
        let provider = principal
            .partner_id
            .as_deref()
            .map_or_else(|| BANK.to_owned(), str::to_owned);
        if !dataset.has_provider(&provider) {
            return Err(AppError::Forbidden("not a provider of this dataset"));
        }
        self.limit(&self.publish_limiter, principal)?;
        if publication.customer_id.trim().is_empty() {
            return Err(AppError::Invalid {
                field: "/customer_id".into(),
                message: "must not be empty".into(),
            });
        }
        for (i, r) in publication.records.iter().enumerate() {
            dataset.validate(&r.data).map_err(|v| AppError::Invalid {
                field: format!("/records/{i}/data{}", v.path),
                message: v.message,
            })?;
        }
        let customer_id = if provider == BANK {
            publication.customer_id
        } else {
            self.ports
                .customers
                .resolve(&provider, &publication.customer_id)
                .await?
                .ok_or(AppError::NotFound("customer"))?
        };
        let total = publication.records.len();
        let executed = execute::<CustomerRecords>(
            &*self.store,
            &records_stream(dataset.name(), &provider, &customer_id),
            RecordsCommand::PublishRecords {
                dataset: dataset.name().to_owned(),
                provider,
                customer_id,
                records: publication.records,
            },
            self.now(),
            ctx.metadata(),
        )
        .await?;
        let stored = executed
            .events
            .iter()
            .map(|e| {
                let crate::domain::records::RecordsEvent::RecordsPublished { records, .. } = e;
                records.len()
            })
            .sum();
        Ok(Published {
            stored,
            unchanged: total - stored,
        })
    }

    /// A recipient reads one dataset under the consent its token is bound to. The access is
    /// recorded (appended and acknowledged) before the records are returned; if it cannot
    /// be, the read fails.
    pub async fn read(
        &self,
        principal: &Principal,
        dataset_name: &str,
        query: ReadQuery,
        interaction_id: &str,
    ) -> Result<ReadResult, AppError> {
        let Some(consent_id) = principal.consent_id.as_deref() else {
            return Err(AppError::Forbidden(
                "a consent-bound access token is required",
            ));
        };
        let Some(partner_id) = principal.partner_id.as_deref() else {
            return Err(AppError::Forbidden(
                "a consent-bound access token is required",
            ));
        };
        self.limit(&self.read_limiter, principal)?;
        let now = self.now();
        let grant = self
            .ports
            .grants
            .grant(consent_id, now)
            .await?
            .ok_or(AppError::Forbidden("the consent is not authorised"))?;
        if grant.partner_id != partner_id || grant.consent_id != consent_id {
            return Err(AppError::Forbidden("the consent is not authorised"));
        }
        let dataset = self
            .catalogue
            .get(dataset_name)
            .ok_or(AppError::NotFound("dataset"))?;
        let unlocked = dataset
            .unlocked(&grant.permissions)
            .ok_or(AppError::Forbidden(
                "the consent does not cover this dataset",
            ))?;
        let providers: Vec<&String> = grant
            .data_providers
            .iter()
            .filter(|p| dataset.has_provider(p))
            .collect();
        if providers.is_empty() {
            return Err(AppError::Forbidden(
                "the consent does not cover this dataset",
            ));
        }
        let from = max_opt(grant.transaction_from, query.from);
        let to = min_opt(grant.transaction_to, query.to);
        let records = self
            .records
            .page(
                &grant.customer_id,
                dataset.name(),
                query.after.as_ref(),
                query.page_size + 1,
                |provider, data| {
                    providers.iter().any(|p| *p == provider)
                        && dataset.admits(data, &unlocked, from, to)
                },
            )
            .into_iter()
            .map(|r| ServedRecord {
                data: dataset.minimise(&r.data, &unlocked),
                provider: r.provider,
                id: r.id,
            })
            .collect::<Vec<_>>();
        let returned = records.len().min(query.page_size);
        let access = DataAccessed {
            partner_id: partner_id.to_owned(),
            client_id: principal.client_id.clone(),
            consent_id: consent_id.to_owned(),
            customer: principal.subject.clone(),
            dataset: dataset.name().to_owned(),
            fields: unlocked.fields.iter().cloned().collect(),
            record_count: returned as u64,
            interaction_id: interaction_id.to_owned(),
            at: now,
        };
        let ctx = RequestContext::acting_as(principal.actor(), interaction_id);
        self.store
            .append(
                &access_stream(consent_id),
                ExpectedRevision::Any,
                vec![NewEvent::from_domain(&access, ctx.metadata(), now)],
            )
            .await
            .map_err(AppError::AccessNotRecorded)?;
        Ok(ReadResult {
            records,
            fields: unlocked.fields,
        })
    }
}

fn max_opt(a: Option<Timestamp>, b: Option<Timestamp>) -> Option<Timestamp> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

fn min_opt(a: Option<Timestamp>, b: Option<Timestamp>) -> Option<Timestamp> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}
