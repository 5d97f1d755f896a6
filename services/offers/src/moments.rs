//! Use cases of financial moments (ADR 0026): the moment catalogue and the trigger rules staff
//! manage, and publishing a moment — a partner with the `data_provider` role names the
//! customer by its pairwise id and needs the customer's consent to the bank for personalised
//! offers naming it as provider; the bank names its own customer id. An objecting customer's
//! moments are refused. Every refusal is recorded, without the payload.

use std::sync::Arc;

use ecohub_eventstore::{ExecuteError, StoreError, execute, execute_on, load};
use ecohub_kernel::{RequestContext, Timestamp};
use serde_json::{Map, Value};

use crate::application::{AppError, OffersState};
use crate::domain::trigger::{memberships, rule_data};
use crate::domain::{
    BANK, Condition, Invalid, MOMENT_TYPES_STREAM, Moment, MomentCatalogue, MomentCommand,
    MomentId, MomentTypeCommand, MomentTypeDefinition, OffersError, PartnerId, PropositionId,
    ReceivedMoment, RuleMatch, RuleMiss, TRIGGER_RULES_STREAM, TriggerRuleCommand,
    TriggerRuleDefinition, TriggerRules, VarType, Vocabulary, moment_stream,
};

/// Who publishes a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Publisher {
    /// The bank (a client with `admin`): names its own customer id.
    Bank,
    /// A partner's client: names the customer by the pairwise id it knows them by.
    Partner(PartnerId),
}

impl Publisher {
    /// `bank` or the partner id.
    pub fn name(&self) -> String {
        match self {
            Publisher::Bank => BANK.to_owned(),
            Publisher::Partner(p) => p.to_string(),
        }
    }
}

/// A moment as published.
#[derive(Debug, Clone)]
pub struct Publication {
    /// The provider's id of the moment (1 to 100 characters): the same id again is the same
    /// moment.
    pub moment_id: String,
    /// Its type (in the catalogue).
    pub moment_type: String,
    /// The customer: a partner's pairwise id, or the bank's own customer id.
    pub customer: String,
    /// When it happened, if the provider says.
    pub occurred_at: Option<Timestamp>,
    /// What happened.
    pub payload: Value,
}

/// Why a moment was refused (recorded as `MomentRefused`, without the payload).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The pairwise id names no customer of this partner.
    UnknownCustomer,
    /// No authorised consent to the bank for personalised offers names this partner.
    NoConsent,
    /// The customer objected to personalised offers.
    CustomerObjected,
}

impl Refusal {
    /// Its stable code.
    pub fn code(self) -> &'static str {
        match self {
            Refusal::UnknownCustomer => "unknown_customer",
            Refusal::NoConsent => "no_consent",
            Refusal::CustomerObjected => "customer_objected",
        }
    }

    /// In words.
    pub fn message(self) -> &'static str {
        match self {
            Refusal::UnknownCustomer => "the customer id names no customer known to this partner",
            Refusal::NoConsent => {
                "the customer has no authorised consent that lets this partner share moments with the bank for personalised offers"
            }
            Refusal::CustomerObjected => "the customer objected to personalised offers",
        }
    }
}

/// What publishing answered.
#[derive(Debug, Clone)]
pub enum PublishOutcome {
    /// Accepted (or accepted before: the same moment again), to be triggered.
    Accepted {
        /// The moment as it stands.
        moment: Arc<Moment>,
    },
    /// Refused, and the refusal recorded.
    Refused {
        /// The hub's id.
        id: MomentId,
        /// Why.
        refusal: Refusal,
    },
}

/// A trigger rule's dry run on a moment payload and a customer.
#[derive(Debug, Clone)]
pub struct TriggerDryRun {
    /// The rules that matched, best first.
    pub matched: Vec<RuleMatch>,
    /// The rules that did not.
    pub missed: Vec<RuleMiss>,
}

fn check_text(field: &str, v: &str, max: usize) -> Result<(), Invalid> {
    let n = v.chars().count();
    if n == 0 || n > max || v.trim() != v || v.chars().any(char::is_control) {
        return Err(Invalid::new(
            field,
            format!(
                "must be 1 to {max} characters, without surrounding spaces or control characters"
            ),
        ));
    }
    Ok(())
}

impl OffersState {
    /// Defines a moment type or changes one (a default's too). Checked: a 400 names the
    /// failing path. A schema that would take away (or retype) a `moment.<field>` a trigger
    /// rule of the type reads is refused at `/schema`, naming the rule: the rule would never
    /// match again without anyone being told.
    pub async fn define_moment_type(
        &self,
        definition: MomentTypeDefinition,
        ctx: &RequestContext,
    ) -> Result<MomentCatalogue, AppError> {
        let (checked, _) = definition.clone().check()?;
        let rules = self.trigger_rules().await?;
        let mut affected = rules
            .rules
            .values()
            .filter(|r| r.definition.moment_type == checked.name)
            .peekable();
        if affected.peek().is_some() {
            let vocabulary = self.vocabulary_of(&checked).await?;
            for rule in affected {
                if let Err(e) = Condition::parse(rule.definition.condition.rule(), &vocabulary) {
                    return Err(Invalid::new(
                        "/schema",
                        format!(
                            "would break trigger rule {} (its condition at {}: {}); change the rule first",
                            rule.definition.name,
                            if e.path.is_empty() { "/" } else { &e.path },
                            e.message
                        ),
                    )
                    .into());
                }
            }
        }
        self.run::<MomentCatalogue>(
            MOMENT_TYPES_STREAM,
            MomentTypeCommand::Define {
                definition,
                by: ctx.actor.clone(),
            },
            ctx,
        )
        .await
    }

    /// What a trigger rule of `moment_type` may read: the attributes, the moment's payload
    /// (`moment.<property>`) and persona memberships (`personas.<name>`).
    pub async fn trigger_vocabulary(&self, moment_type: &str) -> Result<Vocabulary, AppError> {
        let types = self.moment_types().await?;
        let t = types.get(moment_type).ok_or_else(|| {
            Invalid::new(
                "/moment_type",
                format!("moment type {moment_type} is not in the catalogue"),
            )
        })?;
        self.vocabulary_of(&t.definition).await
    }

    /// The vocabulary of a rule of the moment type `definition` (see
    /// [`Self::trigger_vocabulary`]).
    async fn vocabulary_of(
        &self,
        definition: &MomentTypeDefinition,
    ) -> Result<Vocabulary, AppError> {
        let attributes = self.attributes().await?;
        let personas = self.personas().await?;
        let mut vocabulary = Vocabulary::new();
        for a in attributes.attributes.values() {
            vocabulary.insert(
                a.definition.name.clone(),
                VarType::from(a.definition.r#type),
            );
        }
        for (name, t) in definition.variables() {
            vocabulary.insert(name, t);
        }
        for name in personas.personas.keys() {
            vocabulary.insert(format!("personas.{name}"), VarType::Boolean);
        }
        Ok(vocabulary)
    }

    /// Defines a trigger rule or its next revision. The condition is checked against the
    /// vocabulary of its moment type (a 400 names the path under `/condition`); every
    /// proposition must exist.
    #[allow(clippy::too_many_arguments)]
    pub async fn define_trigger_rule(
        &self,
        name: String,
        reason: String,
        moment_type: String,
        rule: &Value,
        propositions: Vec<PropositionId>,
        validity_days: u32,
        priority: u32,
        active: bool,
        ctx: &RequestContext,
    ) -> Result<TriggerRules, AppError> {
        crate::domain::attribute::check_name("/name", &name)?;
        let vocabulary = self.trigger_vocabulary(&moment_type).await?;
        let condition = Condition::parse(rule, &vocabulary)
            .map_err(|e| Invalid::new(format!("/condition{}", &e.path), e.message))?;
        for (i, id) in propositions.iter().enumerate() {
            match self.proposition(*id).await {
                Ok(_) => {}
                Err(AppError::Refused(OffersError::NotFound)) => {
                    return Err(
                        Invalid::new(format!("/propositions/{i}"), "no such proposition").into(),
                    );
                }
                Err(e) => return Err(e),
            }
        }
        self.run::<TriggerRules>(
            TRIGGER_RULES_STREAM,
            TriggerRuleCommand::Define {
                definition: TriggerRuleDefinition {
                    name,
                    reason,
                    moment_type,
                    condition,
                    propositions,
                    validity_days,
                    priority,
                    active,
                },
                by: ctx.actor.clone(),
            },
            ctx,
        )
        .await
    }

    /// Which rules a moment of `moment_type` with `payload` would match for a customer now,
    /// with the explanations (nothing is recorded). The payload is validated as publishing
    /// validates it; the customer id as publishing checks it (`/customer_id`).
    pub async fn dry_run_triggers(
        &self,
        moment_type: &str,
        payload: &Value,
        customer_id: &str,
    ) -> Result<TriggerDryRun, AppError> {
        let types = self.moment_types().await?;
        let t = types.get(moment_type).ok_or_else(|| {
            Invalid::new(
                "/moment_type",
                format!("moment type {moment_type} is not in the catalogue"),
            )
        })?;
        t.validate(payload)?;
        check_text("/customer_id", customer_id, 200)?;
        let payload = payload.as_object().cloned().unwrap_or_default();
        let (rules, data) = self.trigger_data(&payload, customer_id).await?;
        let (matched, missed) = rules.evaluate(moment_type, &data);
        Ok(TriggerDryRun { matched, missed })
    }

    /// The rules of `moment_type` that match the payload and the customer's attributes and
    /// personas (an objecting customer's are not read), with their explanations.
    pub(crate) async fn match_triggers(
        &self,
        moment_type: &str,
        payload: &Map<String, Value>,
        customer_id: &str,
    ) -> Result<Vec<RuleMatch>, AppError> {
        let (rules, data) = self.trigger_data(payload, customer_id).await?;
        Ok(rules.matches(moment_type, &data))
    }

    /// The trigger rules and what their conditions read for this moment and customer.
    async fn trigger_data(
        &self,
        payload: &Map<String, Value>,
        customer_id: &str,
    ) -> Result<(std::sync::Arc<crate::domain::TriggerRules>, Value), AppError> {
        let rules = self.trigger_rules().await?;
        let attributes = self.attributes().await?;
        let personas = self.personas().await?;
        let subject = self.subject(customer_id, &attributes).await?;
        let members = memberships(&personas, &subject.attributes);
        Ok((rules, rule_data(&subject.attributes, payload, &members)))
    }

    /// Publishes a moment. Invalid input (an unknown type, a provider the type does not
    /// admit, a payload its schema refuses) is refused before anything is written; a customer
    /// without the consent, or who objected, is refused and the refusal recorded without the
    /// payload; otherwise `MomentReceived` is appended (once per moment id) and the triggers
    /// take it from there.
    pub async fn publish_moment(
        &self,
        publisher: Publisher,
        publication: Publication,
        ctx: &RequestContext,
    ) -> Result<PublishOutcome, AppError> {
        check_text("/moment_id", &publication.moment_id, 100)?;
        check_text("/customer_id", &publication.customer, 200)?;
        let types = self.moment_types().await?;
        let t = types.get(&publication.moment_type).ok_or_else(|| {
            Invalid::new(
                "/moment_type",
                format!(
                    "moment type {} is not in the catalogue",
                    publication.moment_type
                ),
            )
        })?;
        let provider = publisher.name();
        if !t.admits(&provider) {
            return Err(OffersError::Forbidden(format!(
                "{} may not publish {} moments",
                match publisher {
                    Publisher::Bank => "the bank",
                    Publisher::Partner(_) => "this partner",
                },
                publication.moment_type
            ))
            .into());
        }
        if let Publisher::Partner(p) = publisher
            && !self.ports.moment_providers.is_data_provider(p).await?
        {
            return Err(OffersError::Forbidden(
                "only partners with the active data_provider role publish moments".into(),
            )
            .into());
        }
        t.validate(&publication.payload)?;
        let Value::Object(payload) = publication.payload else {
            return Err(Invalid::new("/payload", "must be an object").into());
        };
        let id = MomentId::of(&provider, &publication.moment_id);
        let now = self.clock.now();
        let customer_id = match publisher {
            Publisher::Bank => Some(publication.customer.clone()),
            Publisher::Partner(p) => {
                self.ports
                    .moment_providers
                    .customer(p, &publication.customer)
                    .await?
            }
        };
        let refusal = match (&customer_id, publisher) {
            (None, _) => Some(Refusal::UnknownCustomer),
            (Some(c), _) if self.preferences(c).await?.objected => Some(Refusal::CustomerObjected),
            (Some(c), Publisher::Partner(p)) => {
                let grants = self.ports.consents.providers(c, now).await?;
                (!grants.iter().any(|g| g.partner == p)).then_some(Refusal::NoConsent)
            }
            (Some(_), Publisher::Bank) => None,
        };
        let stream = moment_stream(id);
        // A moment received before (the same id) is answered as before, whatever changed
        // since: the same moment again is accepted without a new event, another one under
        // the same id is refused.
        let (existing, revision) = load::<Moment>(&*self.store, &stream).await?;
        let refusal = if existing.received.is_some() {
            None
        } else {
            refusal
        };
        let command = match refusal {
            Some(refusal) => MomentCommand::Refuse {
                id,
                moment_id: publication.moment_id,
                provider,
                moment_type: publication.moment_type,
                customer_id,
                code: refusal.code().to_owned(),
            },
            None => MomentCommand::Receive(ReceivedMoment {
                id,
                moment_id: publication.moment_id,
                provider,
                moment_type: publication.moment_type,
                type_revision: t.revision,
                customer_id: customer_id.unwrap_or_default(),
                occurred_at: publication.occurred_at,
                payload,
            }),
        };
        // Decided on the state just read (the stream is read once); when the same moment
        // was published concurrently and appended first, decided again on the stream as it
        // now stands (the same moment is then accepted without a new event).
        let done = match execute_on::<Moment>(
            &*self.store,
            &stream,
            existing,
            revision,
            command.clone(),
            now,
            ctx.metadata(),
        )
        .await
        {
            Err(ExecuteError::Store(StoreError::WrongExpectedVersion { .. })) => {
                execute::<Moment>(&*self.store, &stream, command, now, ctx.metadata()).await?
            }
            done => done?,
        };
        if let Some(refusal) = refusal {
            return Ok(PublishOutcome::Refused { id, refusal });
        }
        Ok(PublishOutcome::Accepted {
            moment: Arc::new(done.state),
        })
    }

    /// A moment as it stands (exact).
    pub async fn moment(&self, id: MomentId) -> Result<Moment, AppError> {
        let (m, revision) = load::<Moment>(&*self.store, &moment_stream(id)).await?;
        if revision == ecohub_eventstore::CurrentRevision::NoStream {
            return Err(OffersError::NotFound.into());
        }
        Ok(m)
    }
}
