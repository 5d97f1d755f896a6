//! Use cases of the offers service: load → decide → append with the revision read, over the
//! catalogues (one stream each, read exactly) and proposition streams; evaluations (dry
//! runs) over a customer's published records.

use std::collections::BTreeSet;
use std::sync::Arc;

use ecohub_eventstore::{
    ExecuteError, RecordedEvent, Remembered, RememberedStreams, SharedStore, StoreError, execute,
    load, read_stream_to_end,
};
use ecohub_kernel::{Aggregate, Clock, DecodeError, RequestContext};
use serde_json::{Map, Value};

use crate::config::OffersConfig;
use crate::domain::evaluation::Context;
use crate::domain::{
    AttributeCatalogue, AttributeDefinition, CATALOGUE_STREAM, CatalogueCommand, Condition,
    Evaluation, Invalid, OfferPreferences, OffersError, PERSONAS_STREAM, PersonaCatalogue,
    PersonaCommand, PersonaMatch, PreferenceCommand, Proposition, PropositionCommand,
    PropositionContent, PropositionDoc, PropositionEvent, PropositionId, Subject, VarType,
    Vocabulary, evaluate, evaluate_persona, preferences_stream,
};
use crate::index::PropositionIndexReader;
use crate::ports::{
    CustomerRecords, OfferConsents, PartnerStandings, PortError, ProfileConsents, ProfileRecord,
    StaffNames,
};

/// What the offers service asks of other services; the hub implements each port.
#[derive(Clone)]
pub struct OffersPorts {
    /// Co-brand partners' standing, exact.
    pub partners: Arc<dyn PartnerStandings>,
    /// Customers' published records and the dataset catalogue.
    pub records: Arc<dyn CustomerRecords>,
    /// The customers' consents that let the bank use partners' data (ADR 0021).
    pub consents: Arc<dyn ProfileConsents>,
    /// The customers' consents that let a co-brand partner decide offers for them.
    pub offer_consents: Arc<dyn OfferConsents>,
    /// Staff people's display names, for the console's pages.
    pub staff_names: Arc<dyn StaffNames>,
    /// Partners' names, for the console's pages.
    pub partner_names: Arc<dyn crate::ports::PartnerNames>,
    /// Who may publish moments, and the customers partners name by pairwise ids.
    pub moment_providers: Arc<dyn crate::ports::MomentProviders>,
}

/// The read models of the offers service, to spawn (`ProjectionHandle::spawn`).
#[derive(Debug)]
pub struct OffersProjections {
    /// The proposition list.
    pub index: crate::index::PropositionIndex,
    /// The read models of the contact ledgers: propensity evidence, the funnel, open offers
    /// by expiry.
    pub contacts: crate::views::ContactViews,
    /// Who objected to personalised offers.
    pub objections: crate::objections::Objections,
}

/// Everything the offers handlers share; in app data as `web::Data<OffersState>`.
#[derive(Clone)]
pub struct OffersState {
    /// The event store.
    pub store: SharedStore,
    /// Where `now` comes from.
    pub clock: Arc<dyn Clock>,
    /// Settings.
    pub config: OffersConfig,
    /// What the service asks of others.
    pub ports: OffersPorts,
    /// The proposition list (read model).
    pub index: PropositionIndexReader,
    /// Offer outcomes per proposition and persona (read model).
    pub outcomes: crate::outcomes::OutcomesReader,
    /// The offer funnel for reports (read model).
    pub funnel: crate::funnel::FunnelReader,
    /// Open offers by expiry (read model of the expiry job).
    pub open_offers: crate::expiry::OpenOffersReader,
    /// Who objected to personalised offers (read model; decisions wait for its head).
    pub objections: crate::objections::ObjectionsReader,
    /// The published propositions in screening order, shared by decisions until the list
    /// or the outcomes change (see `OffersState::screening`).
    pub(crate) screening: Arc<std::sync::Mutex<Option<Arc<crate::screening::Screening>>>>,
    /// The attribute and persona catalogues, remembered at their streams' revisions.
    catalogues: Arc<Catalogues>,
    /// The customers' ledgers as last read or written here (see `ledgers`).
    pub(crate) ledgers: Arc<crate::ledgers::LedgerCache>,
}

/// The catalogues every decision reads, each folded once per revision of its stream, and the
/// customers' offer preferences, folded once per head of their category.
#[derive(Debug)]
struct Catalogues {
    attributes: Remembered<AttributeCatalogue>,
    personas: Remembered<PersonaCatalogue>,
    moment_types: Remembered<crate::domain::MomentCatalogue>,
    trigger_rules: Remembered<crate::domain::TriggerRules>,
    /// Customers' offer preferences (read on every publication and decision; written when a
    /// customer flips the switch).
    preferences: RememberedStreams<OfferPreferences>,
}

/// At most this many customers' preferences are remembered.
const REMEMBERED_PREFERENCES: usize = 100_000;

impl std::fmt::Debug for OffersState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OffersState")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Why a use case did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The domain refused.
    #[error(transparent)]
    Refused(#[from] OffersError),
    /// The store refused (`WrongExpectedVersion`: a concurrent writer won) or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored event could not be decoded.
    #[error("stored event cannot be decoded: {0}")]
    Decode(#[from] DecodeError),
    /// A port failed.
    #[error("port failed: {0}")]
    Port(#[from] PortError),
}

impl From<ExecuteError<OffersError>> for AppError {
    fn from(e: ExecuteError<OffersError>) -> Self {
        match e {
            ExecuteError::Refused(e) => AppError::Refused(e),
            ExecuteError::Store(e) => AppError::Store(e),
            ExecuteError::Decode(e) => AppError::Decode(e),
        }
    }
}

impl From<Invalid> for AppError {
    fn from(e: Invalid) -> Self {
        AppError::Refused(OffersError::Invalid(e))
    }
}

/// One entry of a proposition's history.
#[derive(Debug, Clone)]
pub struct HistoryEntry {
    /// The event.
    pub event: PropositionEvent,
    /// Who caused it (the event's actor).
    pub actor: Option<String>,
    /// When it was recorded.
    pub recorded_at: ecohub_kernel::Timestamp,
}

/// A dry run's subject: whose records, and with what.
#[derive(Debug, Clone, Default)]
pub struct DryRun {
    /// The bank's customer id.
    pub customer_id: String,
    /// The channel asked for.
    pub channel: Option<crate::domain::Channel>,
    /// Request parameters.
    pub params: Map<String, Value>,
    /// The version to evaluate (default: the published one, else the newest).
    pub version: Option<u32>,
}

/// A proposition's dry run: which version, and its evaluation.
#[derive(Debug, Clone)]
pub struct PropositionDryRun {
    /// The version evaluated.
    pub version: u32,
    /// The evaluation.
    pub evaluation: Evaluation,
}

impl OffersState {
    /// The state over `store`, and the index projection that feeds its proposition list:
    /// spawn it with `ProjectionHandle::spawn(store, projection)`. Every service is built
    /// this way (ADR 0018).
    pub fn new(
        store: SharedStore,
        clock: Arc<dyn Clock>,
        config: OffersConfig,
        ports: OffersPorts,
    ) -> (Self, OffersProjections) {
        let (projection, index) = crate::index::PropositionIndex::new();
        let (contacts, outcomes, funnel, open_offers) = crate::views::ContactViews::new();
        let (objection_projection, objections) = crate::objections::Objections::new();
        (
            Self {
                store,
                clock,
                config,
                ports,
                index,
                outcomes,
                funnel,
                open_offers,
                objections,
                screening: Arc::default(),
                ledgers: Arc::default(),
                catalogues: Arc::new(Catalogues {
                    attributes: Remembered::new(CATALOGUE_STREAM),
                    personas: Remembered::new(PERSONAS_STREAM),
                    moment_types: Remembered::new(crate::domain::MOMENT_TYPES_STREAM),
                    trigger_rules: Remembered::new(crate::domain::TRIGGER_RULES_STREAM),
                    preferences: RememberedStreams::new(
                        format!("{}-", OfferPreferences::CATEGORY),
                        REMEMBERED_PREFERENCES,
                    ),
                }),
            },
            OffersProjections {
                index: projection,
                contacts,
                objections: objection_projection,
            },
        )
    }

    /// The display names of the staff people among `actors` (`staff:<id>`; other actors are
    /// left out), by actor. Pages fall back to the ids when the directory cannot answer.
    pub async fn staff_names(
        &self,
        actors: impl IntoIterator<Item = &str>,
    ) -> Result<std::collections::BTreeMap<String, String>, PortError> {
        let ids: BTreeSet<String> = actors
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

    /// The names of the partners among `partners`, by id, in one call of the port; a partner
    /// the partners service does not know is left out. Pages fall back to the ids when it
    /// cannot answer.
    pub async fn partner_names(
        &self,
        partners: impl IntoIterator<Item = crate::domain::PartnerId>,
    ) -> Result<std::collections::BTreeMap<crate::domain::PartnerId, String>, PortError> {
        let ids: BTreeSet<crate::domain::PartnerId> = partners.into_iter().collect();
        if ids.is_empty() {
            return Ok(std::collections::BTreeMap::new());
        }
        let ids: Vec<_> = ids.into_iter().collect();
        Ok(self
            .ports
            .partner_names
            .names(&ids)
            .await?
            .into_iter()
            .collect())
    }

    /// A fresh proposition id.
    pub fn new_proposition_id(&self) -> PropositionId {
        PropositionId::new_v7(self.clock.now())
    }

    pub(crate) async fn run<A: Aggregate<Error = OffersError>>(
        &self,
        stream: &str,
        command: A::Command,
        ctx: &RequestContext,
    ) -> Result<A, AppError> {
        let done = execute::<A>(
            &*self.store,
            stream,
            command,
            self.clock.now(),
            ctx.metadata(),
        )
        .await?;
        Ok(done.state)
    }

    /// The attribute catalogue (exact: remembered at the stream's current revision).
    pub async fn attributes(&self) -> Result<Arc<AttributeCatalogue>, AppError> {
        Ok(self.catalogues.attributes.load(&*self.store).await?.0)
    }

    /// The persona catalogue, its conditions compiled (exact: remembered at the stream's
    /// current revision).
    pub async fn personas(&self) -> Result<Arc<PersonaCatalogue>, AppError> {
        Ok(self.catalogues.personas.load(&*self.store).await?.0)
    }

    /// The moment catalogue: the default file's types and staff's (exact: remembered at the
    /// stream's current revision).
    pub async fn moment_types(&self) -> Result<Arc<crate::domain::MomentCatalogue>, AppError> {
        Ok(self.catalogues.moment_types.load(&*self.store).await?.0)
    }

    /// The trigger rules, their conditions compiled (exact: remembered at the stream's
    /// current revision).
    pub async fn trigger_rules(&self) -> Result<Arc<crate::domain::TriggerRules>, AppError> {
        Ok(self.catalogues.trigger_rules.load(&*self.store).await?.0)
    }

    /// Defines an attribute (or changes its description or source). Its dataset must be in
    /// the sharing catalogue.
    pub async fn define_attribute(
        &self,
        definition: AttributeDefinition,
        ctx: &RequestContext,
    ) -> Result<AttributeCatalogue, AppError> {
        if !self
            .ports
            .records
            .dataset_exists(&definition.source.dataset)
        {
            return Err(Invalid::new(
                "/source/dataset",
                format!(
                    "dataset {} is not in the catalogue",
                    definition.source.dataset
                ),
            )
            .into());
        }
        self.run::<AttributeCatalogue>(
            CATALOGUE_STREAM,
            CatalogueCommand::DefineAttribute {
                definition,
                by: ctx.actor.clone(),
            },
            ctx,
        )
        .await
    }

    /// Defines a persona or its next version; the condition is checked against the attribute
    /// catalogue (a 400 names the failing path under `/condition`).
    pub async fn define_persona(
        &self,
        name: String,
        title: String,
        description: String,
        rule: &Value,
        ctx: &RequestContext,
    ) -> Result<PersonaCatalogue, AppError> {
        crate::domain::attribute::check_name("/name", &name)?;
        for (field, v, max) in [
            ("/title", &title, 200),
            ("/description", &description, 2000),
        ] {
            let n = v.trim().chars().count();
            if n == 0 || n > max {
                return Err(Invalid::new(field, format!("must be 1 to {max} characters")).into());
            }
        }
        let attributes = self.attributes().await?;
        let mut vocabulary = Vocabulary::new();
        for a in attributes.attributes.values() {
            vocabulary.insert(
                a.definition.name.clone(),
                VarType::from(a.definition.r#type),
            );
        }
        let condition = Condition::parse(rule, &vocabulary)
            .map_err(|e| Invalid::new(format!("/condition{}", &e.path), e.message))?;
        self.run::<PersonaCatalogue>(
            PERSONAS_STREAM,
            PersonaCommand::DefinePersona {
                name,
                title: title.trim().to_owned(),
                description: description.trim().to_owned(),
                condition,
                by: ctx.actor.clone(),
            },
            ctx,
        )
        .await
    }

    /// Checks a document against the catalogues.
    async fn content(&self, doc: PropositionDoc) -> Result<PropositionContent, AppError> {
        let attributes = self.attributes().await?;
        let personas = self.personas().await?;
        Ok(PropositionContent::check(doc, &attributes, &personas)?)
    }

    /// Reads a proposition (exact). `NotFound` if it was never drafted.
    pub async fn proposition(&self, id: PropositionId) -> Result<Proposition, AppError> {
        let (p, _) = load::<Proposition>(&*self.store, &id.stream_name()).await?;
        if p.id.is_none() {
            return Err(OffersError::NotFound.into());
        }
        Ok(p)
    }

    /// Drafts a proposition's first version (`id` fresh) or its next one.
    pub async fn draft(
        &self,
        id: PropositionId,
        doc: PropositionDoc,
        first: bool,
        ctx: &RequestContext,
    ) -> Result<Proposition, AppError> {
        if !first {
            self.proposition(id).await?;
        }
        let content = self.content(doc).await?;
        self.run::<Proposition>(
            &id.stream_name(),
            PropositionCommand::DraftVersion {
                id,
                content,
                by: ctx.actor.clone(),
            },
            ctx,
        )
        .await
    }

    /// Replaces a draft's content.
    pub async fn revise(
        &self,
        id: PropositionId,
        version: u32,
        doc: PropositionDoc,
        ctx: &RequestContext,
    ) -> Result<Proposition, AppError> {
        self.proposition(id).await?;
        let content = self.content(doc).await?;
        self.command(
            id,
            PropositionCommand::ReviseDraft {
                version,
                content,
                by: ctx.actor.clone(),
            },
            ctx,
        )
        .await
    }

    /// Runs a command on an existing proposition.
    pub async fn command(
        &self,
        id: PropositionId,
        command: PropositionCommand,
        ctx: &RequestContext,
    ) -> Result<Proposition, AppError> {
        // Every command but a draft names a version: on a stream that does not exist the
        // aggregate has none, so the decision itself answers `NotFound` (no read twice). A
        // draft would create the proposition: it must exist already.
        if matches!(command, PropositionCommand::DraftVersion { .. }) {
            self.proposition(id).await?;
        }
        self.run::<Proposition>(&id.stream_name(), command, ctx)
            .await
    }

    /// Publishes an approved version, reading the co-brand partners' standing exactly.
    pub async fn publish(
        &self,
        id: PropositionId,
        version: u32,
        ctx: &RequestContext,
    ) -> Result<Proposition, AppError> {
        let p = self.proposition(id).await?;
        let partners = p
            .version(version)
            .map(|v| v.content.partners())
            .unwrap_or_default();
        let inactive_partners = self.inactive(&partners).await?;
        self.run::<Proposition>(
            &id.stream_name(),
            PropositionCommand::PublishVersion {
                version,
                by: ctx.actor.clone(),
                inactive_partners,
            },
            ctx,
        )
        .await
    }

    /// The co-brand partners among `partners` that are not active now (exact).
    pub(crate) async fn inactive(
        &self,
        partners: &BTreeSet<crate::domain::PartnerId>,
    ) -> Result<BTreeSet<crate::domain::PartnerId>, AppError> {
        let partners: Vec<_> = partners.iter().copied().collect();
        Ok(self
            .ports
            .partners
            .inactive(&partners)
            .await?
            .into_iter()
            .collect())
    }

    /// A proposition's history: every event with its actor, oldest first.
    pub async fn history(&self, id: PropositionId) -> Result<Vec<HistoryEntry>, AppError> {
        let recorded: Vec<RecordedEvent> =
            read_stream_to_end(&*self.store, &id.stream_name()).await?;
        if recorded.is_empty() {
            return Err(OffersError::NotFound.into());
        }
        recorded
            .iter()
            .map(|r| {
                let env = r.decode::<PropositionEvent>()?;
                Ok(HistoryEntry {
                    event: env.payload,
                    actor: r.metadata.actor.clone(),
                    recorded_at: r.recorded_at,
                })
            })
            .collect()
    }

    /// The customer's offer preferences (exact: read from their stream).
    pub async fn preferences(&self, customer_id: &str) -> Result<OfferPreferences, AppError> {
        let (preferences, _) = self
            .catalogues
            .preferences
            .load(&*self.store, &preferences_stream(customer_id))
            .await?;
        Ok(OfferPreferences::clone(&preferences))
    }

    /// The customer objects to (`allowed: false`) or allows personalised offers.
    pub async fn set_personalised_offers(
        &self,
        customer_id: &str,
        allowed: bool,
        ctx: &RequestContext,
    ) -> Result<OfferPreferences, AppError> {
        self.run::<OfferPreferences>(
            &preferences_stream(customer_id),
            PreferenceCommand::SetPersonalisedOffers { allowed },
            ctx,
        )
        .await
    }

    /// The customer as conditions see them. An objecting customer is not profiled (nothing is
    /// read, not even their consents). Otherwise each attribute takes the first value its type
    /// admits: from the records the bank published, then from the records of each partner a
    /// consent to the bank names (ADR 0021), reduced to the fields that consent's permissions
    /// unlock. A partner without such a consent at `now` contributes nothing.
    pub async fn subject(
        &self,
        customer_id: &str,
        attributes: &AttributeCatalogue,
    ) -> Result<Subject, AppError> {
        if self.preferences(customer_id).await?.objected {
            return Ok(Subject {
                attributes: Map::new(),
                objected: true,
            });
        }
        self.profile(customer_id, attributes).await
    }

    /// [`Self::subject`] of a customer whose preferences were just read and who did not
    /// object.
    pub(crate) async fn profile(
        &self,
        customer_id: &str,
        attributes: &AttributeCatalogue,
    ) -> Result<Subject, AppError> {
        let grants = self
            .ports
            .consents
            .providers(customer_id, self.clock.now())
            .await?;
        let mut values = Map::new();
        let mut by_dataset: std::collections::HashMap<&str, Vec<ProfileRecord>> =
            std::collections::HashMap::new();
        for a in attributes.attributes.values() {
            let def = &a.definition;
            let dataset = def.source.dataset.as_str();
            let records = by_dataset.entry(dataset).or_insert_with(|| {
                let mut records: Vec<ProfileRecord> = self
                    .ports
                    .records
                    .records(customer_id, dataset)
                    .into_iter()
                    .filter(|r| r.provider == self.config.bank_provider)
                    .collect();
                for g in &grants {
                    records.extend(self.ports.records.partner_records(
                        customer_id,
                        dataset,
                        g.partner,
                        &g.permissions,
                    ));
                }
                records
            });
            let value = records
                .iter()
                .filter_map(|r| r.data.pointer(&def.source.pointer))
                .find(|v| def.r#type.admits(v));
            if let Some(v) = value {
                values.insert(def.name.clone(), v.clone());
            }
        }
        Ok(Subject {
            attributes: values,
            objected: false,
        })
    }

    /// Evaluates persona `name` (at `version`, default its latest) for a customer.
    pub async fn dry_run_persona(
        &self,
        name: &str,
        version: Option<u32>,
        customer_id: &str,
    ) -> Result<PersonaMatch, AppError> {
        let personas = self.personas().await?;
        let persona = personas.personas.get(name).ok_or(OffersError::NotFound)?;
        let v = match version {
            Some(v) => persona.version(v).ok_or(OffersError::NotFound)?,
            None => persona.latest(),
        };
        let attributes = self.attributes().await?;
        let subject = self.subject(customer_id, &attributes).await?;
        Ok(evaluate_persona(name, v, &subject))
    }

    /// Evaluates a proposition version for a customer: whether it is available, why, at
    /// what price, with which add-ons.
    pub async fn dry_run(
        &self,
        id: PropositionId,
        run: DryRun,
    ) -> Result<PropositionDryRun, AppError> {
        let p = self.proposition(id).await?;
        let version = match run.version {
            Some(n) => p.version(n).ok_or(OffersError::NotFound)?,
            None => p
                .published()
                .or_else(|| p.versions.last())
                .ok_or(OffersError::NotFound)?,
        };
        let partners: BTreeSet<_> = version.content.partners();
        let inactive_partners = self.inactive(&partners).await?;
        let attributes = self.attributes().await?;
        let personas = self.personas().await?;
        let subject = self.subject(&run.customer_id, &attributes).await?;
        let context = Context {
            published: version.status == crate::domain::VersionStatus::Published,
            channel: run.channel,
            params: run.params,
            inactive_partners,
            not_accepted: version.awaiting(),
        };
        let evaluation = evaluate(
            &version.content,
            &personas,
            &subject,
            &context,
            self.clock.now(),
        )?;
        Ok(PropositionDryRun {
            version: version.number,
            evaluation,
        })
    }
}
