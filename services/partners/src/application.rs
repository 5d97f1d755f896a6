//! The application layer: each use case loads the partner's stream (exact, never a
//! projection), asks the pure domain to decide, and appends the events with the revision it
//! read. A concurrent writer makes the append fail with `WrongExpectedVersion` instead of
//! overwriting its decision.
//!
//! Work that must not be lost or duplicated around the append happens *before* it: the
//! applicant's token is minted and the software statement signed from the decided state,
//! then the events are appended. If a port fails nothing is written; if the append fails the
//! token or statement is simply discarded.

use std::sync::Arc;

use ecohub_eventstore::{
    CurrentRevision, ExecuteError, ExpectedRevision, NewEvent, RememberedStreams, SharedStore,
    StoreError, load,
};
use ecohub_kernel::{Aggregate, Clock, DecodeError, Timestamp};

use crate::directory::{DirectoryReader, PartnerDirectory};
use crate::domain::{
    ApplyForPartnership, ApprovePartner, Partner, PartnerCommand, PartnerError, PartnerEvent,
    PartnerId, PartnerStatus, RegisterWebhook, WebhookId,
};
use crate::ports::{
    ApplicantTokens, IssuedToken, PortError, SoftwareStatementClaims, SoftwareStatements,
    StaffNames,
};

/// Deployment settings of partner onboarding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PartnersConfig {
    /// Production mode: redirect URIs and webhook URLs must use `https` (otherwise `http` to a
    /// loopback host is accepted too). Always taken from here, never from a request.
    pub production: bool,
}

/// Everything partner onboarding needs, shared by its handlers. The caller (the hub) puts a
/// `web::Data<PartnersState>` in app data.
#[derive(Clone)]
pub struct PartnersState {
    /// The event store.
    pub store: SharedStore,
    /// Where `now` comes from.
    pub clock: Arc<dyn Clock>,
    /// What the service asks of the authorization server.
    pub ports: PartnersPorts,
    /// Deployment settings.
    pub config: PartnersConfig,
    /// The staff list's read model (see [`crate::PartnerDirectory`]).
    pub directory: DirectoryReader,
    /// Partners' states as last read, under the `partner-` category head (exact).
    standings: Arc<RememberedStreams<Partner>>,
}

/// At most this many partners' states are remembered.
const REMEMBERED_PARTNERS: usize = 10_000;

/// What partner onboarding asks of other services; the hub implements each port.
#[derive(Clone)]
pub struct PartnersPorts {
    /// Mints applicant tokens.
    pub applicant_tokens: Arc<dyn ApplicantTokens>,
    /// Signs software statements.
    pub statements: Arc<dyn SoftwareStatements>,
    /// Names staff people on the console's pages.
    pub staff_names: Arc<dyn StaffNames>,
}

impl std::fmt::Debug for PartnersState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartnersState")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Who asks, and in which request (the kernel's): becomes every appended event's metadata.
pub use ecohub_kernel::RequestContext;

/// Why a use case did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The domain refused the command.
    #[error(transparent)]
    Refused(#[from] PartnerError),
    /// The store refused (`WrongExpectedVersion`: a concurrent writer won) or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored event could not be decoded.
    #[error("stored event cannot be decoded: {0}")]
    Decode(#[from] DecodeError),
    /// A port (token minting, statement signing) failed.
    #[error("port failed: {0}")]
    Port(#[from] PortError),
}

impl From<ExecuteError<PartnerError>> for AppError {
    fn from(e: ExecuteError<PartnerError>) -> Self {
        match e {
            ExecuteError::Refused(e) => AppError::Refused(e),
            ExecuteError::Store(e) => AppError::Store(e),
            ExecuteError::Decode(e) => AppError::Decode(e),
        }
    }
}

/// A new application, stored.
#[derive(Debug, Clone)]
pub struct Applied {
    /// The partner as it now stands.
    pub partner: Partner,
    /// The token the applicant follows its application with.
    pub applicant_token: IssuedToken,
}

/// A decision taken but not yet stored.
struct Decision {
    stream: String,
    revision: CurrentRevision,
    events: Vec<PartnerEvent>,
    after: Partner,
    now: Timestamp,
}

impl PartnersState {
    /// The state over `store`, and the directory projection that feeds its staff list: spawn
    /// it with `ProjectionHandle::spawn(store, projection)`. Every service is built this way
    /// (ADR 0018): store, clock, its config, its ports; read models come back to be spawned.
    pub fn new(
        store: SharedStore,
        clock: Arc<dyn Clock>,
        config: PartnersConfig,
        ports: PartnersPorts,
    ) -> (Self, PartnerDirectory) {
        let (projection, directory) = PartnerDirectory::new();
        (
            Self {
                store,
                clock,
                ports,
                config,
                directory,
                standings: Arc::new(RememberedStreams::new("partner-", REMEMBERED_PARTNERS)),
            },
            projection,
        )
    }

    /// The display names of the staff people among `actors` (`staff:<id>`; other actors are
    /// left out), by actor. Pages fall back to the ids when the directory cannot answer.
    pub async fn staff_names(
        &self,
        actors: impl IntoIterator<Item = &str>,
    ) -> Result<std::collections::BTreeMap<String, String>, PortError> {
        let ids: std::collections::BTreeSet<String> = actors
            .into_iter()
            .filter_map(|a| a.strip_prefix("staff:"))
            .map(str::to_owned)
            .collect();
        if ids.is_empty() {
            return Ok(std::collections::BTreeMap::new());
        }
        let ids: Vec<String> = ids.into_iter().collect();
        Ok(self
            .ports
            .staff_names
            .display_names(&ids)
            .await?
            .into_iter()
            .map(|(id, name)| (format!("staff:{id}"), name))
            .collect())
    }

    /// A fresh partner id (UUIDv7 at the clock's `now`), for [`Self::apply`].
    pub fn new_partner_id(&self) -> PartnerId {
        PartnerId::new_v7(self.clock.now())
    }

    /// A fresh webhook id, for [`Self::register_webhook`].
    pub fn new_webhook_id(&self) -> WebhookId {
        WebhookId::new_v7(self.clock.now())
    }

    /// The partner as its stream says now (exact). `NotFound` if it never applied.
    pub async fn partner(&self, id: PartnerId) -> Result<Partner, AppError> {
        Ok(Partner::clone(&*self.partner_now(id).await?))
    }

    /// [`Self::partner`], shared: folded again only when a partner's stream was appended to
    /// since (the category-head rule), so hot paths (standing on every publication and
    /// decision, webhooks on every delivery) read no stream while nothing changed.
    async fn partner_now(&self, id: PartnerId) -> Result<Arc<Partner>, AppError> {
        let (partner, _) = self.standings.load(&*self.store, &id.stream_name()).await?;
        if partner.status().is_none() {
            return Err(PartnerError::NotFound.into());
        }
        Ok(partner)
    }

    /// The partners among `ids` that are not, now, active partners holding `role` (read from
    /// their streams: exact). An unknown partner is not active.
    pub async fn not_active_in_role(
        &self,
        ids: impl IntoIterator<Item = PartnerId>,
        role: crate::domain::Role,
    ) -> Result<std::collections::BTreeSet<PartnerId>, AppError> {
        let mut out = std::collections::BTreeSet::new();
        for id in ids {
            let (partner, _) = self.standings.load(&*self.store, &id.stream_name()).await?;
            if !(partner.is_active() && partner.granted_roles().contains(&role)) {
                out.insert(id);
            }
        }
        Ok(out)
    }

    /// The registered legal names of the partners among `ids`, as `(id, name)` pairs in the
    /// order asked (read from their streams, each folded again only when a partner's stream
    /// was appended to since); a partner that never applied is left out. For other services'
    /// pages, which know partners only by id.
    pub async fn legal_names(
        &self,
        ids: impl IntoIterator<Item = PartnerId>,
    ) -> Result<Vec<(PartnerId, String)>, AppError> {
        let mut out = Vec::new();
        for id in ids {
            let (partner, _) = self.standings.load(&*self.store, &id.stream_name()).await?;
            if let Some(name) = partner.legal_name() {
                out.push((id, name.to_string()));
            }
        }
        Ok(out)
    }

    /// The URLs of a partner's webhooks, read from its stream (exact); none for an unknown
    /// or malformed partner id.
    pub async fn webhook_urls(&self, partner_id: &str) -> Result<Vec<String>, AppError> {
        let Ok(id) = PartnerId::parse(partner_id) else {
            return Ok(Vec::new());
        };
        match self.partner_now(id).await {
            Ok(partner) => Ok(partner
                .webhooks()
                .iter()
                .map(|w| w.url.to_string())
                .collect()),
            Err(AppError::Refused(PartnerError::NotFound)) => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }

    /// A company applies: decide, mint the applicant's token, then append (to a stream that
    /// must not exist yet).
    pub async fn apply(
        &self,
        command: ApplyForPartnership,
        ctx: &RequestContext,
    ) -> Result<Applied, AppError> {
        let id = command.partner_id;
        let decision = self.decide(id, command.into()).await?;
        let applicant_token = self.ports.applicant_tokens.issue(id, decision.now)?;
        let partner = self.commit(decision, ctx).await?;
        Ok(Applied {
            partner,
            applicant_token,
        })
    }

    /// Staff approve: decide (with the configured deployment mode, whatever the command
    /// said), sign the software statement of the approved state, then append. Returns the
    /// partner and the statement.
    pub async fn approve(
        &self,
        id: PartnerId,
        command: ApprovePartner,
        ctx: &RequestContext,
    ) -> Result<(Partner, String), AppError> {
        let command = ApprovePartner {
            production: self.config.production,
            ..command
        };
        let decision = self.decide(id, command.into()).await?;
        let statement = self.sign(id, &decision.after, decision.now)?;
        let partner = self.commit(decision, ctx).await?;
        Ok((partner, statement))
    }

    /// The partner registers a webhook (with the configured deployment mode, whatever the
    /// command said).
    pub async fn register_webhook(
        &self,
        id: PartnerId,
        command: RegisterWebhook,
        ctx: &RequestContext,
    ) -> Result<Partner, AppError> {
        let command = RegisterWebhook {
            production: self.config.production,
            ..command
        };
        self.run(id, command.into(), ctx).await
    }

    /// Any other command (verification, reject, suspend, reinstate, offboard, remove a
    /// webhook): load → decide → append.
    pub async fn execute(
        &self,
        id: PartnerId,
        command: PartnerCommand,
        ctx: &RequestContext,
    ) -> Result<Partner, AppError> {
        let command = match command {
            PartnerCommand::ApprovePartner(c) => {
                return self.approve(id, c, ctx).await.map(|(p, _)| p);
            }
            PartnerCommand::RegisterWebhook(c) => {
                return self.register_webhook(id, c, ctx).await;
            }
            other => other,
        };
        self.run(id, command, ctx).await
    }

    /// A freshly signed software statement for an approved, active partner (read from its
    /// stream, so a suspension is honoured at once).
    pub async fn software_statement(&self, id: PartnerId) -> Result<String, AppError> {
        let partner = self.partner(id).await?;
        if let Some(from) = partner.status().filter(|s| *s != PartnerStatus::Approved) {
            return Err(PartnerError::InvalidTransition {
                from,
                command: "issue a software statement for",
            }
            .into());
        }
        self.sign(id, &partner, self.clock.now())
    }

    fn sign(&self, id: PartnerId, partner: &Partner, now: Timestamp) -> Result<String, AppError> {
        let claims = SoftwareStatementClaims {
            partner_id: id,
            org_name: partner
                .legal_name()
                .map(ToString::to_string)
                .unwrap_or_default(),
            roles: partner.granted_roles().iter().copied().collect(),
            scopes: partner
                .allowed_scopes()
                .iter()
                .map(|s| s.as_str().to_owned())
                .collect(),
            redirect_uris: partner
                .redirect_uris()
                .iter()
                .map(ToString::to_string)
                .collect(),
        };
        Ok(self.ports.statements.issue(&claims, now)?)
    }

    async fn run(
        &self,
        id: PartnerId,
        command: PartnerCommand,
        ctx: &RequestContext,
    ) -> Result<Partner, AppError> {
        let decision = self.decide(id, command).await?;
        self.commit(decision, ctx).await
    }

    async fn decide(&self, id: PartnerId, command: PartnerCommand) -> Result<Decision, AppError> {
        let stream = id.stream_name();
        let (state, revision) = load::<Partner>(&*self.store, &stream).await?;
        let now = self.clock.now();
        let events = state.decide(command, now)?;
        let after = events.iter().fold(state, |s, e| s.evolve(e));
        Ok(Decision {
            stream,
            revision,
            events,
            after,
            now,
        })
    }

    async fn commit(&self, d: Decision, ctx: &RequestContext) -> Result<Partner, AppError> {
        if !d.events.is_empty() {
            let metadata = ctx.metadata();
            let events = d
                .events
                .iter()
                .map(|e| NewEvent::from_domain(e, metadata.clone(), d.now))
                .collect();
            self.store
                .append(&d.stream, ExpectedRevision::from(d.revision), events)
                .await?;
        }
        Ok(d.after)
    }
}
