//! The application layer: every use case loads the consent's stream (exact, never a
//! projection), asks the pure domain to decide, seals the events into the stream's hash
//! chain and appends them with the revision it read. A concurrent writer makes the append
//! fail with `WrongExpectedVersion`: exactly one of racing decisions wins.
//!
//! The operations [`ConsentsState::pending`], [`ConsentsState::authorise`],
//! [`ConsentsState::reject`] and [`ConsentsState::standing`] map 1:1 onto the authorization
//! server's `ConsentAuthority` port, in the kernel's `consent_port` types (errors convert
//! with `ConsentPortError::from`), so the hub only forwards calls.

use std::sync::Arc;

use ecohub_eventstore::{
    CurrentRevision, ExpectedRevision, RecordedEvent, SharedStore, StoreError, read_stream_to_end,
};
use ecohub_kernel::consent_port::{
    ConsentForAuthorisation, ConsentPortError, ConsentStanding, CustomerRef, PermissionView,
};
use ecohub_kernel::{ActionContext, Aggregate, Clock, DecodeError, Timestamp};

use crate::chain::{self, GENESIS};
use crate::config::ConsentsConfig;
use crate::domain::{
    Consent, ConsentCommand, ConsentData, ConsentError, ConsentEvent, ConsentId, ConsentStatus,
    CustomerId, DataProvider, DataProviders, Expiry, GrantToBank, Invalid, PERSONALISED_OFFERS,
    PairwiseId, PartnerId, Permissions, Purpose, ReasonCode, Recipient, RequestConsent, RevokedBy,
    TransactionWindow,
};
use crate::grants::{ConsentGrant, GrantCache};
use crate::index::ConsentIndexReader;
use crate::ports::{DataUseLog, PartnerLookup, ReceiptSigner};

/// Everything the consent service needs, shared by its handlers, schedulers and the hub's
/// port adapter. The hub puts a `web::Data<ConsentsState>` in app data.
#[derive(Clone)]
pub struct ConsentsState {
    /// The event store.
    pub store: SharedStore,
    /// Where `now` comes from.
    pub clock: Arc<dyn Clock>,
    /// Settings.
    pub config: ConsentsConfig,
    /// What the service asks of other services.
    pub ports: ConsentsPorts,
    /// The consent index (read model).
    pub index: ConsentIndexReader,
    /// Consents read for data-access grants, remembered per `consent-` category head.
    pub(crate) grants: Arc<GrantCache>,
}

impl std::fmt::Debug for ConsentsState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsentsState")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// What the consent service asks of other services; the hub implements each port.
#[derive(Clone)]
pub struct ConsentsPorts {
    /// Partner names, status, roles.
    pub partners: Arc<dyn PartnerLookup>,
    /// Receipt signing.
    pub receipts: Arc<dyn ReceiptSigner>,
    /// Who used the data a consent let through (the customer's dashboard).
    pub data_use: Arc<dyn DataUseLog>,
}

/// What a partner submits to create a consent, unparsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentInput {
    /// Permission codes.
    pub permissions: Vec<String>,
    /// Purpose code.
    pub purpose_code: String,
    /// Purpose text.
    pub purpose_text: String,
    /// Expiry.
    pub expiration: Timestamp,
    /// Transactions from.
    pub transaction_from: Option<Timestamp>,
    /// Transactions to.
    pub transaction_to: Option<Timestamp>,
    /// `bank` or partner ids.
    pub data_providers: Vec<String>,
}

/// What a customer submits to let the bank use partners' data for personalised offers
/// (ADR 0021), unparsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankConsentInput {
    /// The partners whose data the bank may use (data providers).
    pub data_providers: Vec<String>,
    /// Permission codes (what of their data).
    pub permissions: Vec<String>,
    /// Expiry.
    pub expiration: Timestamp,
}

/// What the customer's authorised consents to the bank let it use for personalised offers,
/// one per consent: the offers service's `ProfileConsents` port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankGrant {
    /// The consent.
    pub consent_id: String,
    /// The partners whose data may be used.
    pub providers: Vec<PartnerId>,
    /// The permission codes granted.
    pub permissions: Vec<String>,
    /// When it expires.
    pub expires_at: Timestamp,
}

/// How an error maps onto the port's and the API's answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Bad input (400).
    Invalid,
    /// No such consent, or not the caller's (404).
    NotFound,
    /// Not allowed in the consent's status, or a concurrent decision won (409).
    Conflict,
    /// Could not answer (503/500).
    Unavailable,
}

/// Why a use case did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The domain refused.
    #[error(transparent)]
    Refused(#[from] ConsentError),
    /// The store refused (`WrongExpectedVersion`: a concurrent writer won) or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored event cannot be decoded.
    #[error("stored event cannot be decoded: {0}")]
    Decode(#[from] DecodeError),
    /// A port failed.
    #[error("port failed: {0}")]
    Port(String),
}

impl From<Invalid> for AppError {
    fn from(e: Invalid) -> Self {
        AppError::Refused(ConsentError::Invalid(e))
    }
}

/// The consent port's answer to a failed use case.
impl From<AppError> for ConsentPortError {
    fn from(e: AppError) -> Self {
        match e.kind() {
            ErrorKind::NotFound => ConsentPortError::NotFound,
            // Only malformed customer or pairwise ids: the consent cannot take this decision.
            ErrorKind::Conflict | ErrorKind::Invalid => ConsentPortError::Conflict(e.to_string()),
            ErrorKind::Unavailable => ConsentPortError::Unavailable(e.to_string()),
        }
    }
}

impl AppError {
    /// The kind of answer.
    pub fn kind(&self) -> ErrorKind {
        match self {
            AppError::Refused(ConsentError::Invalid(_)) => ErrorKind::Invalid,
            AppError::Refused(ConsentError::NotFound) => ErrorKind::NotFound,
            AppError::Refused(_) | AppError::Store(StoreError::WrongExpectedVersion { .. }) => {
                ErrorKind::Conflict
            }
            AppError::Store(_) | AppError::Decode(_) | AppError::Port(_) => ErrorKind::Unavailable,
        }
    }

    fn not_found() -> Self {
        AppError::Refused(ConsentError::NotFound)
    }
}

/// A consent's stream, read and folded.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The consent.
    pub consent: Consent,
    /// The revision read.
    pub revision: CurrentRevision,
    /// The hash of the last event (the next event's `prev`).
    pub last_hash: String,
    /// The stored events.
    pub events: Vec<RecordedEvent>,
}

impl Loaded {
    /// The consent's data, or `NotFound`.
    pub fn data(&self) -> Result<&ConsentData, AppError> {
        self.consent.data().ok_or_else(AppError::not_found)
    }
}

impl ConsentsState {
    /// The state and the index projection that feeds its reader: spawn the projection with
    /// `ProjectionHandle::spawn(store, projection)`. Every service is built this way
    /// (ADR 0018): store, clock, its config, its ports; read models come back to be spawned.
    pub fn new(
        store: SharedStore,
        clock: Arc<dyn Clock>,
        config: ConsentsConfig,
        ports: ConsentsPorts,
    ) -> (ConsentsState, crate::index::ConsentIndex) {
        let (projection, index) = crate::index::ConsentIndex::new();
        (
            ConsentsState {
                store,
                clock,
                config,
                ports,
                index,
                grants: Arc::default(),
            },
            projection,
        )
    }

    /// A fresh consent id.
    pub fn new_consent_id(&self) -> ConsentId {
        ConsentId::new_v7(self.clock.now())
    }

    /// Reads a consent's stream (exact).
    pub async fn load(&self, id: ConsentId) -> Result<Loaded, AppError> {
        let events = read_stream_to_end(&*self.store, &id.stream_name()).await?;
        let mut consent = Consent::default();
        let mut revision = CurrentRevision::NoStream;
        let mut last_hash = GENESIS.to_owned();
        for r in &events {
            let envelope = r.decode::<ConsentEvent>()?;
            consent = consent.evolve(&envelope.payload);
            revision = CurrentRevision::Current(r.revision);
            last_hash = chain::link_of(r).map(|l| l.hash).unwrap_or_default();
        }
        Ok(Loaded {
            consent,
            revision,
            last_hash,
            events,
        })
    }

    /// The consent (exact), `NotFound` if it does not exist.
    pub async fn consent(&self, id: ConsentId) -> Result<ConsentData, AppError> {
        self.load(id).await?.data().cloned()
    }

    /// Decides `command` on the loaded consent and appends the sealed events.
    async fn run(
        &self,
        id: ConsentId,
        loaded: Loaded,
        command: ConsentCommand,
        ctx: &ActionContext,
    ) -> Result<ConsentData, AppError> {
        let events = loaded.consent.decide(command, ctx.now)?;
        let stream = id.stream_name();
        let new_events = chain::seal_events(
            &stream,
            loaded.revision,
            &loaded.last_hash,
            &events,
            &ctx.metadata(),
            ctx.now,
        );
        if !new_events.is_empty() {
            self.store
                .append(&stream, ExpectedRevision::from(loaded.revision), new_events)
                .await?;
        }
        let after = events.iter().fold(loaded.consent, |s, e| s.evolve(e));
        after.data().cloned().ok_or_else(AppError::not_found)
    }

    /// A partner creates a consent. Every input is parsed at `ctx.now` and the data providers
    /// checked before anything is written.
    pub async fn create(
        &self,
        id: ConsentId,
        partner_id: PartnerId,
        input: ConsentInput,
        ctx: &ActionContext,
    ) -> Result<ConsentData, AppError> {
        let now = ctx.now;
        let permissions = Permissions::parse(&input.permissions)?;
        let purpose = Purpose::parse(&input.purpose_code, &input.purpose_text)?;
        let expiry = Expiry::parse(input.expiration, now)?;
        let transaction_window =
            TransactionWindow::parse(input.transaction_from, input.transaction_to)?;
        let data_providers = DataProviders::parse(&input.data_providers)?;
        self.check_providers(&data_providers)?;
        let command = ConsentCommand::RequestConsent(RequestConsent {
            consent_id: id,
            partner_id,
            permissions,
            purpose,
            expiry,
            transaction_window,
            data_providers,
            authorisation_deadline: now.plus(self.config.authorisation_timeout),
        });
        let loaded = self.load(id).await?;
        self.run(id, loaded, command, ctx).await
    }

    /// Checks that every partner among `providers` is an active data provider.
    fn check_providers(&self, providers: &DataProviders) -> Result<(), AppError> {
        for p in providers.partners() {
            let ok = self
                .ports
                .partners
                .partner(p)
                .is_some_and(|info| info.active && info.data_provider);
            if !ok {
                return Err(Invalid::new(
                    "data_providers",
                    "data_provider_active",
                    format!("{p} is not an active data provider"),
                )
                .into());
            }
        }
        Ok(())
    }

    /// The purpose of every consent to the bank, in the bank's words.
    pub fn personalised_offers_purpose(&self) -> Result<Purpose, Invalid> {
        Purpose::parse(
            PERSONALISED_OFFERS,
            &format!(
                "{} may use this data to personalise the offers it makes me",
                self.config.bank_name
            ),
        )
    }

    /// A customer lets the bank use the named partners' data for personalised offers
    /// (ADR 0021): the consent is requested and authorised in one append, its recipient the
    /// bank. Every input is parsed and the providers checked before anything is written.
    pub async fn grant_to_bank(
        &self,
        id: ConsentId,
        customer: &CustomerId,
        input: BankConsentInput,
        ctx: &ActionContext,
    ) -> Result<ConsentData, AppError> {
        let data_providers = DataProviders::parse(&input.data_providers)?;
        let permissions = Permissions::parse(&input.permissions)?;
        let expiry = Expiry::parse(input.expiration, ctx.now)?;
        self.check_providers(&data_providers)?;
        let command = ConsentCommand::GrantToBank(GrantToBank {
            consent_id: id,
            customer_id: customer.clone(),
            permissions,
            purpose: self.personalised_offers_purpose()?,
            expiry,
            data_providers,
        });
        let loaded = self.load(id).await?;
        self.run(id, loaded, command, ctx).await
    }

    /// Use case (the offers service's `ProfileConsents` port): the customer's consents that
    /// let the bank use partners' data for personalised offers at `now`, read exactly: each
    /// consent at its stream's latest revision, or as remembered while the `consent-` category
    /// head is unchanged (as [`ConsentsState::grant`]). A revocation or expiry acknowledged on
    /// any instance is seen by the next call on every instance. The index only says which
    /// consents are the customer's.
    pub async fn bank_grants(
        &self,
        customer_id: &str,
        now: Timestamp,
    ) -> Result<Vec<BankGrant>, AppError> {
        Ok(self
            .consents_read_for_grants(customer_id)
            .await?
            .into_iter()
            .filter(|d| {
                d.recipient == Recipient::Bank
                    && d.purpose.code() == PERSONALISED_OFFERS
                    && d.status_at(now) == ConsentStatus::Authorised
            })
            .map(|d| BankGrant {
                consent_id: d.id.to_string(),
                providers: d.data_providers.partners().collect(),
                permissions: d.permissions.iter().map(|p| p.code().to_owned()).collect(),
                expires_at: d.expiry.at(),
            })
            .collect())
    }

    /// The partners the customer lets receive offers at `now`: those with one of the
    /// customer's consents, authorised at `now`, granting `ReadOffers` (ADR 0026: a triggered
    /// offer goes to a co-brand partner's webhook only then). Exact, as [`Self::bank_grants`].
    pub async fn offer_partners(
        &self,
        customer_id: &str,
        now: Timestamp,
    ) -> Result<Vec<PartnerId>, AppError> {
        let mut out: Vec<PartnerId> = self
            .consents_read_for_grants(customer_id)
            .await?
            .into_iter()
            .filter(|d| {
                d.status_at(now) == ConsentStatus::Authorised
                    && d.permissions
                        .iter()
                        .any(|p| p == crate::domain::Permission::ReadOffers)
            })
            .filter_map(|d| d.recipient.partner())
            .collect();
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// The customer's consents (the index says which), each read at its stream's latest
    /// revision or as remembered while the `consent-` category head is unchanged.
    async fn consents_read_for_grants(
        &self,
        customer_id: &str,
    ) -> Result<Vec<Arc<ConsentData>>, AppError> {
        let Ok(customer) = CustomerId::parse(customer_id) else {
            return Ok(Vec::new());
        };
        let ids = self.index.by_customer(&customer);
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let head = self.store.category_head("consent-").await?;
        let mut out = Vec::new();
        for id in ids {
            let data = match self.grants.remembered(id, head) {
                Some(data) => data,
                None => {
                    let data = self.load(id).await?.consent.data().cloned().map(Arc::new);
                    self.grants.remember(id, head, data.clone());
                    data
                }
            };
            if let Some(d) = data.filter(|d| d.customer_id.as_ref() == Some(&customer)) {
                out.push(d);
            }
        }
        Ok(out)
    }

    /// The consent, if `partner` owns it; otherwise `NotFound` (no existence oracle).
    pub async fn for_partner(
        &self,
        id: ConsentId,
        partner: PartnerId,
    ) -> Result<ConsentData, AppError> {
        let data = self.consent(id).await?;
        if data.recipient.partner() != Some(partner) {
            return Err(AppError::not_found());
        }
        Ok(data)
    }

    /// The owning partner deletes its consent: a pending one is withdrawn
    /// (`partner_withdrawn`), an authorised one revoked (`partner_request`); both are
    /// recorded as `ConsentRevoked` by `partner`.
    pub async fn delete_by_partner(
        &self,
        id: ConsentId,
        partner: PartnerId,
        ctx: &ActionContext,
    ) -> Result<ConsentData, AppError> {
        let loaded = self.load(id).await?;
        let data = loaded.data()?;
        if data.recipient.partner() != Some(partner) {
            return Err(AppError::not_found());
        }
        let reason = match data.status_at(ctx.now) {
            ConsentStatus::AwaitingAuthorisation => ReasonCode::PARTNER_WITHDRAWN,
            _ => ReasonCode::PARTNER_REQUEST,
        };
        let command = ConsentCommand::RevokeConsent {
            by: RevokedBy::Partner,
            reason: ReasonCode::known(reason),
        };
        self.run(id, loaded, command, ctx).await
    }

    /// The customer revokes one of their authorised consents (`customer_request`). Another
    /// customer's consent is `NotFound`.
    pub async fn revoke_by_customer(
        &self,
        id: ConsentId,
        customer: &CustomerId,
        ctx: &ActionContext,
    ) -> Result<ConsentData, AppError> {
        let loaded = self.load(id).await?;
        if loaded.data()?.customer_id.as_ref() != Some(customer) {
            return Err(AppError::not_found());
        }
        let command = ConsentCommand::RevokeConsent {
            by: RevokedBy::Customer,
            reason: ReasonCode::known(ReasonCode::CUSTOMER_REQUEST),
        };
        self.run(id, loaded, command, ctx).await
    }

    /// The consent, if it belongs to `customer`; otherwise `NotFound`.
    pub async fn for_customer(
        &self,
        id: ConsentId,
        customer: &CustomerId,
    ) -> Result<Loaded, AppError> {
        let loaded = self.load(id).await?;
        if loaded.data()?.customer_id.as_ref() != Some(customer) {
            return Err(AppError::not_found());
        }
        Ok(loaded)
    }

    /// Every consent the customer decided on, newest first, read from their streams (the
    /// index only says which).
    pub async fn customer_consents(
        &self,
        customer: &CustomerId,
    ) -> Result<Vec<ConsentData>, AppError> {
        let mut out = Vec::new();
        for id in self.index.by_customer(customer).into_iter().rev() {
            let data = self.consent(id).await?;
            if data.customer_id.as_ref() == Some(customer) {
                out.push(data);
            }
        }
        Ok(out)
    }

    fn parse_id(consent_id: &str) -> Result<ConsentId, AppError> {
        ConsentId::parse(consent_id).map_err(|_| AppError::not_found())
    }

    /// The view the consent page shows.
    pub fn view_for_authorisation(
        &self,
        data: &ConsentData,
        now: Timestamp,
    ) -> ConsentForAuthorisation {
        let partner = data.recipient.partner();
        let info = partner.and_then(|p| self.ports.partners.partner(p));
        ConsentForAuthorisation {
            consent_id: data.id.to_string(),
            partner_id: partner.map(|p| p.to_string()).unwrap_or_default(),
            partner_name: self.recipient_name(data.recipient),
            partner_status: info.map_or_else(|| "unknown".to_owned(), |p| p.status),
            status: data.status_at(now).as_str().to_owned(),
            permissions: data
                .permissions
                .iter()
                .map(|p| PermissionView {
                    code: p.code().to_owned(),
                    description: p.description().to_owned(),
                })
                .collect(),
            purpose_code: data.purpose.code().to_owned(),
            purpose_text: data.purpose.text().to_owned(),
            expires_at: data.expiry.at(),
            transaction_from: data.transaction_window.from,
            transaction_to: data.transaction_window.to,
            data_providers: data
                .data_providers
                .iter()
                .map(|p| self.provider_name(p))
                .collect(),
        }
    }

    /// A data provider's display name.
    pub fn provider_name(&self, p: DataProvider) -> String {
        match p {
            DataProvider::Bank => self.config.bank_name.clone(),
            DataProvider::Partner(id) => self
                .ports
                .partners
                .partner(id)
                .map_or_else(|| id.to_string(), |i| i.name),
        }
    }

    /// The recipient's display name: the partner's, or the bank's.
    pub fn recipient_name(&self, r: Recipient) -> String {
        match r {
            Recipient::Bank => self.config.bank_name.clone(),
            Recipient::Partner(id) => self.partner_name(id),
        }
    }

    /// A partner's display name.
    pub fn partner_name(&self, id: PartnerId) -> String {
        self.ports
            .partners
            .partner(id)
            .map_or_else(|| id.to_string(), |i| i.name)
    }

    /// Port: the consent a pushed authorisation request names, if `partner_id` owns it and it
    /// awaits authorisation at `now` (otherwise `NotFound` or a conflict).
    pub async fn pending(
        &self,
        consent_id: &str,
        partner_id: &str,
        now: Timestamp,
    ) -> Result<ConsentForAuthorisation, AppError> {
        let id = Self::parse_id(consent_id)?;
        let partner = PartnerId::parse(partner_id).map_err(|_| AppError::not_found())?;
        let data = self.for_partner(id, partner).await?;
        let status = data.status_at(now);
        if status != ConsentStatus::AwaitingAuthorisation {
            return Err(ConsentError::InvalidTransition {
                from: status,
                action: "authorise",
            }
            .into());
        }
        Ok(self.view_for_authorisation(&data, now))
    }

    /// Port: records the customer's approval. Exactly one of racing decisions wins.
    pub async fn authorise(
        &self,
        consent_id: &str,
        customer: &CustomerRef,
        ctx: &ActionContext,
    ) -> Result<ConsentForAuthorisation, AppError> {
        let id = Self::parse_id(consent_id)?;
        let command = ConsentCommand::AuthoriseConsent {
            customer_id: CustomerId::parse(&customer.customer_id)?,
            pairwise_id: PairwiseId::parse(&customer.pairwise_id)?,
        };
        let loaded = self.load(id).await?;
        let data = self.run(id, loaded, command, ctx).await?;
        Ok(self.view_for_authorisation(&data, ctx.now))
    }

    /// Port: records the customer's refusal (`customer_rejected`).
    pub async fn reject(
        &self,
        consent_id: &str,
        customer: &CustomerRef,
        ctx: &ActionContext,
    ) -> Result<(), AppError> {
        let id = Self::parse_id(consent_id)?;
        let command = ConsentCommand::RejectConsent {
            customer_id: CustomerId::parse(&customer.customer_id)?,
            reason: ReasonCode::known(ReasonCode::CUSTOMER_REJECTED),
        };
        let loaded = self.load(id).await?;
        self.run(id, loaded, command, ctx).await.map(|_| ())
    }

    /// Port: the consent's standing at `now`, read at its stream's latest revision. An
    /// authorised consent past its expiry is `Expired` even before the event is written.
    pub async fn standing(
        &self,
        consent_id: &str,
        now: Timestamp,
    ) -> Result<ConsentStanding, AppError> {
        let Ok(id) = ConsentId::parse(consent_id) else {
            return Ok(ConsentStanding::NotFound);
        };
        let loaded = self.load(id).await?;
        let Some(data) = loaded.consent.data() else {
            return Ok(ConsentStanding::NotFound);
        };
        // The bank's consents are never used through OAuth: no token stands on them.
        let Some(partner) = data.recipient.partner() else {
            return Ok(ConsentStanding::NotFound);
        };
        Ok(match (data.status_at(now), &data.pairwise_id) {
            (ConsentStatus::Authorised, Some(pairwise)) => ConsentStanding::Authorised {
                partner_id: partner.to_string(),
                pairwise_id: pairwise.as_str().to_owned(),
                expires_at: data.expiry.at(),
            },
            (status, _) => ConsentStanding::Inactive {
                status: status.as_str().to_owned(),
            },
        })
    }

    /// Records the expiry of one consent if it is due. `Ok(true)` if this call wrote it;
    /// `Ok(false)` if it was not due or someone else changed it first.
    pub async fn expire_if_due(
        &self,
        id: ConsentId,
        ctx: &ActionContext,
    ) -> Result<bool, AppError> {
        let loaded = self.load(id).await?;
        match self
            .run(id, loaded, ConsentCommand::ExpireConsent, ctx)
            .await
        {
            Ok(_) => Ok(true),
            Err(AppError::Refused(_))
            | Err(AppError::Store(StoreError::WrongExpectedVersion { .. })) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Revokes a consent because its partner left (`partner_offboarded`), if it is still
    /// pending or authorised. Retries on a concurrent change; idempotent.
    pub async fn revoke_for_offboarding(
        &self,
        id: ConsentId,
        ctx: &ActionContext,
    ) -> Result<bool, AppError> {
        for _ in 0..5 {
            let loaded = self.load(id).await?;
            let Some(data) = loaded.consent.data() else {
                return Ok(false);
            };
            if data.status.is_final() {
                return Ok(false);
            }
            let command = ConsentCommand::RevokeConsent {
                by: RevokedBy::PartnerOffboarded,
                reason: ReasonCode::known(ReasonCode::PARTNER_OFFBOARDED),
            };
            match self.run(id, loaded, command, ctx).await {
                Ok(_) => return Ok(true),
                Err(AppError::Store(StoreError::WrongExpectedVersion { .. })) => continue,
                // Expired by time: nothing left to revoke.
                Err(AppError::Refused(ConsentError::InvalidTransition { .. })) => {
                    return Ok(false);
                }
                Err(e) => return Err(e),
            }
        }
        Err(AppError::Store(StoreError::Unavailable(
            "consent kept changing concurrently".to_owned(),
        )))
    }
}

impl ConsentsState {
    /// Use case: what consent `consent_id` grants at `now`, read exactly (the latest revision
    /// of its stream, or the read remembered while the `consent-` category head is
    /// unchanged). `None` for an unknown or malformed id, a consent not authorised at `now`
    /// (expired by time included), or one without a customer.
    pub async fn grant(
        &self,
        consent_id: &str,
        now: Timestamp,
    ) -> Result<Option<ConsentGrant>, AppError> {
        let Ok(id) = ConsentId::parse(consent_id) else {
            return Ok(None);
        };
        // Read before the consent: any change after it moves the head.
        let head = self.store.category_head("consent-").await?;
        let data = match self.grants.remembered(id, head) {
            Some(data) => data,
            None => {
                let data = self.load(id).await?.consent.data().cloned().map(Arc::new);
                self.grants.remember(id, head, data.clone());
                data
            }
        };
        Ok(data.and_then(|d| ConsentGrant::of(&d, now)))
    }

    /// Use case (the offers service's `OfferConsents` port): the customer for whom `partner`
    /// may decide offers under consent `consent_id` at `now` — an authorised consent of that
    /// partner granting `ReadOffers` — read exactly as [`ConsentsState::grant`]; `None`
    /// otherwise.
    pub async fn offers_customer(
        &self,
        consent_id: &str,
        partner: &str,
        now: Timestamp,
    ) -> Result<Option<String>, AppError> {
        Ok(self.grant(consent_id, now).await?.and_then(|g| {
            (g.partner_id == partner
                && g.permissions
                    .iter()
                    .any(|p| p == crate::domain::Permission::ReadOffers.code()))
            .then_some(g.customer_id)
        }))
    }
}
