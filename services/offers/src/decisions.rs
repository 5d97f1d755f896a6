//! Use cases of decisioning and contact tracking: a decision evaluates every published
//! proposition for one customer, ranks the available ones (priority × business value ×
//! acceptance propensity), lets the contact policies choose within the caps on the customer's
//! ledger, and records every offer (`OfferPresented`) before answering; responses are
//! recorded on the same ledger (ADR 0022).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use ecohub_eventstore::{ExpectedRevision, NewEvent, StoreError, load};
use ecohub_kernel::{Aggregate, RequestContext, Timestamp};
use serde::Serialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::application::{AppError, OffersState};
use crate::domain::{
    AddOnOutcome, BenefitDoc, Candidate, CandidateView, Channel, ContactCommand, ContactLedger,
    ContactPolicy, Context, DecisionId, Exclusion, HeldBack, Invalid, MomentRef, OfferId,
    OfferPrice, OfferRecord, Offerable, OffersError, PersonaMatch, Presented, PriceOutcome,
    ProductDoc, Propensity, PropositionId, Ranked, Ranking, Reporter, Response, ScreeningOrder,
    Selection, contacts_stream, evaluate,
};
use crate::screening::{Screening, offerable_of};

/// How many times a decision is retried when another one for the same customer appended
/// first (optimistic concurrency on the customer's ledger).
const ATTEMPTS: usize = 8;

/// How long a decision waits for the proposition list to reach the proposition streams' head
/// (normally it already has).
const INDEX_WAIT: Duration = Duration::from_secs(2);

/// What a decision is asked.
#[derive(Debug, Clone)]
pub struct DecisionRequest {
    /// The bank's customer id.
    pub customer_id: String,
    /// The channel the offers are for.
    pub channel: Channel,
    /// The slot in the channel (`home_banner`).
    pub placement: String,
    /// Request parameters (`amount`, …).
    pub params: Map<String, Value>,
    /// At most this many offers.
    pub max_offers: u32,
    /// Include every proposition held back, with the first reason (staff only).
    pub explain: bool,
    /// A co-brand partner deciding in its own app: only the propositions it co-brands.
    pub co_brand: Option<crate::domain::PartnerId>,
    /// A moment's triggers deciding: only the propositions the matched rules name, in the
    /// decision the moment determines (recorded once), open for the rule's validity.
    pub trigger: Option<Trigger>,
}

/// What a moment's triggers ask of a decision (ADR 0026).
#[derive(Debug, Clone)]
pub struct Trigger {
    /// The decision (`DecisionId::of_moment`): the ledger records it once.
    pub decision_id: DecisionId,
    /// The moment.
    pub moment_id: crate::domain::MomentId,
    /// Its type.
    pub moment_type: String,
    /// Who sent it.
    pub provider: String,
    /// The rules that matched, best priority first: a proposition several rules name is
    /// explained by the first.
    pub matches: Vec<crate::domain::RuleMatch>,
    /// The partners the customer lets receive offers now (`OfferConsents::offer_partners`):
    /// the co-brand partners among them are told of the offer.
    pub notify: Vec<crate::domain::PartnerId>,
}

impl Trigger {
    /// The first matched rule naming `proposition`.
    fn rule_of(&self, proposition: PropositionId) -> Option<&crate::domain::RuleMatch> {
        self.matches
            .iter()
            .find(|m| m.propositions.contains(&proposition))
    }
}

/// One offer of a decision.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DecidedOffer {
    /// The offer (responses refer to it).
    #[schema(value_type = String, format = Uuid)]
    pub offer_id: OfferId,
    /// The proposition.
    #[schema(value_type = String, format = Uuid)]
    pub proposition_id: PropositionId,
    /// Its version.
    pub version: u32,
    /// Its name.
    pub name: String,
    /// What it is.
    pub description: String,
    /// The bank product.
    pub product: ProductDoc,
    /// The price this customer gets, and the rules tried.
    pub price: PriceOutcome,
    /// The add-ons included.
    pub add_ons: Vec<AddOnOutcome>,
    /// The co-brand partners' benefits.
    pub benefits: Vec<BenefitDoc>,
    /// Why: every persona of the version, matched or not, with the sub-conditions.
    pub personas: Vec<PersonaMatch>,
    /// The acceptance propensity used for ranking, and its evidence.
    pub propensity: Propensity,
    /// priority × business value × propensity.
    pub score: f64,
    /// The rank (1 is best).
    pub rank: u32,
    /// Until when the customer may respond.
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: Timestamp,
}

/// A decision's answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Decision {
    /// The decision.
    #[schema(value_type = String, format = Uuid)]
    pub decision_id: DecisionId,
    /// The offers, best first (each recorded as `OfferPresented` before this answer).
    pub offers: Vec<DecidedOffer>,
    /// With `explain`: every published proposition not offered, with the first reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held_back: Option<Vec<HeldBack>>,
}

fn placement_ok(p: &str) -> bool {
    (1..=40).contains(&p.len())
        && p.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// The SHA-256 of `value`'s JSON, in lowercase hex: the JSON is hashed as it is written.
fn digest(value: &impl Serialize) -> String {
    let mut hash = Sha256::new();
    // Serializing to JSON fails only for maps with non-string keys, which these values do
    // not have; the hash (`io::Write`) never fails to take bytes.
    let _ = serde_json::to_writer(&mut hash, value);
    data_encoding::HEXLOWER.encode(&hash.finalize())
}

impl OffersState {
    /// The customer's contact ledger (exact).
    pub async fn ledger(&self, customer_id: &str) -> Result<ContactLedger, AppError> {
        Ok(
            load::<ContactLedger>(&*self.store, &contacts_stream(customer_id))
                .await?
                .0,
        )
    }

    /// Decides the offers for one customer in one channel and records them.
    pub async fn decide(
        &self,
        request: DecisionRequest,
        ctx: &RequestContext,
    ) -> Result<Decision, AppError> {
        if !placement_ok(&request.placement) {
            return Err(Invalid::new(
                "/placement",
                "must be 1 to 40 lowercase letters, digits or underscores",
            )
            .into());
        }
        if !(1..=100).contains(&request.max_offers) {
            return Err(Invalid::new("/max_offers", "must be 1 to 100").into());
        }
        // More than the configured maximum is lowered to it.
        let request = DecisionRequest {
            max_offers: request.max_offers.min(self.config.max_offers_per_decision),
            ..request
        };
        let now = self.clock.now();
        let decision_id = request
            .trigger
            .as_ref()
            .map_or_else(|| DecisionId::new_v7(now), |t| t.decision_id);
        let screening = self.screening().await?;
        let offerable = screening.offerable();
        let in_scope = |o: &Offerable<'_>| {
            request
                .co_brand
                .is_none_or(|partner| o.version.content.partner_set().contains(&partner))
                && request
                    .trigger
                    .as_ref()
                    .is_none_or(|t| t.rule_of(o.id).is_some())
        };
        if self.objects_now(&request.customer_id).await? {
            // GDPR Art. 21: an objecting customer is offered nothing (not profiled either).
            let reason = Exclusion {
                code: "customer_objected".into(),
                message: "the customer objected to personalised offers".into(),
            };
            return Ok(Decision {
                decision_id,
                offers: vec![],
                held_back: request.explain.then(|| {
                    offerable
                        .iter()
                        .filter(|o| in_scope(o))
                        .map(|o| HeldBack::of(o, reason.clone()))
                        .collect()
                }),
            });
        }
        let restricted = request.co_brand.is_some() || request.trigger.is_some();
        let order = match restricted {
            false => std::borrow::Cow::Borrowed(&screening.order),
            true => std::borrow::Cow::Owned(screening.order.only(|i| in_scope(&offerable[i]))),
        };
        let partners: BTreeSet<_> = match restricted {
            false => screening.partners.iter().copied().collect(),
            true => offerable
                .iter()
                .filter(|o| in_scope(o))
                .flat_map(|o| o.version.content.partners())
                .collect(),
        };
        let inactive = self.inactive(&partners).await?;
        let attributes = self.attributes().await?;
        let personas = self.personas().await?;
        let subject = self.profile(&request.customer_id, &attributes).await?;
        let held_products: BTreeSet<String> = subject
            .attributes
            .get(&self.config.held_products_attribute)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        let base = Context {
            published: true,
            channel: Some(request.channel),
            params: request.params.clone(),
            inactive_partners: inactive,
            not_accepted: BTreeSet::new(),
        };
        let mut ranking = Ranking::new(
            &offerable,
            &order,
            &personas,
            &subject,
            &base,
            self.config.prior,
            |id, persona| screening.outcomes.counts(id, persona),
            now,
            request.explain,
        );
        // With `explain`, every proposition is screened and every one held back listed;
        // otherwise the ranking screens only as far as the policies ask.
        let mut held_back = if request.explain {
            ranking.finish()
        } else {
            Vec::new()
        };
        let global = self.config.policy;
        let policy_of = move |r: &Ranked<'_>| global.with(r.content.doc.contact_policy.as_ref());
        // The offer itself, its price and its explanation are built only for those chosen.
        let explain = |r: &Ranked<'_>| -> Result<(Candidate, DecidedOffer), AppError> {
            let policy = policy_of(r);
            let propensity = r.propensity();
            let evaluation = evaluate(r.content, &personas, &subject, &base, now)?;
            let doc = &r.content.doc;
            let rule = request
                .trigger
                .as_ref()
                .and_then(|t| Some((t, t.rule_of(r.proposition_id)?)));
            let validity = rule.map_or(policy.offer_validity_days, |(_, m)| m.validity_days);
            let candidate = Candidate {
                offer: Presented {
                    offer_id: OfferId::new_v7(now),
                    decision_id,
                    proposition_id: r.proposition_id,
                    version: r.version,
                    product_code: doc.product.code.clone(),
                    channel: request.channel,
                    placement: request.placement.clone(),
                    price: OfferPrice {
                        rate_percent: evaluation.price.rate_percent,
                        commission_percent: evaluation.price.commission_percent,
                        fees: evaluation.price.fees,
                    },
                    price_rule: evaluation.price.rule.clone(),
                    partners: r.content.partner_set().iter().copied().collect(),
                    personas: r.matched.iter().map(|p| (*p).to_owned()).collect(),
                    explanation_digest: digest(&(&evaluation, &propensity)),
                    expires_at: now.plus(Duration::from_secs(86_400) * validity),
                    moment: rule.map(|(t, m)| MomentRef {
                        moment_id: t.moment_id,
                        moment_type: t.moment_type.clone(),
                        provider: t.provider.clone(),
                        rule: m.rule.clone(),
                        reason: m.reason.clone(),
                        customer_id: request.customer_id.clone(),
                        notify: r
                            .content
                            .partner_set()
                            .iter()
                            .filter(|p| t.notify.contains(p))
                            .copied()
                            .collect(),
                    }),
                },
                policy,
            };
            let offer = DecidedOffer {
                offer_id: candidate.offer.offer_id,
                proposition_id: r.proposition_id,
                version: r.version,
                name: doc.name.clone(),
                description: doc.description.clone(),
                product: doc.product.clone(),
                price: evaluation.price,
                add_ons: evaluation
                    .add_ons
                    .into_iter()
                    .filter(|a| a.included)
                    .collect(),
                benefits: evaluation.benefits,
                personas: evaluation.personas,
                propensity,
                score: r.score,
                rank: 0,
                expires_at: candidate.offer.expires_at,
            };
            Ok((candidate, offer))
        };
        let (selection, mut offers) = self
            .present(
                &request,
                &mut ranking,
                policy_of,
                &held_products,
                explain,
                ctx,
            )
            .await?;
        for (rank, o) in offers.iter_mut().enumerate() {
            o.rank = rank as u32 + 1;
        }
        if request.explain {
            for (i, reason) in selection.excluded {
                let r = &ranking.ranked()[i];
                held_back.push(HeldBack {
                    proposition_id: r.proposition_id,
                    version: r.version,
                    name: r.content.doc.name.clone(),
                    reason,
                });
            }
        }
        Ok(Decision {
            decision_id,
            offers,
            held_back: request.explain.then_some(held_back),
        })
    }

    /// Lets the contact policies choose among the ranked propositions on the customer's
    /// ledger (asking the ranking for as many as they look at), explains and prices the
    /// chosen ones (`explain`, once per proposition however many attempts), and appends their
    /// `OfferPresented` events expecting the revision read; when another decision appended
    /// first, chooses again on the new ledger.
    async fn present<'a, F>(
        &self,
        request: &DecisionRequest,
        ranking: &mut Ranking<'a, '_, F>,
        policy_of: impl Fn(&Ranked<'_>) -> ContactPolicy,
        held_products: &BTreeSet<String>,
        explain: impl Fn(&Ranked<'a>) -> Result<(Candidate, DecidedOffer), AppError>,
        ctx: &RequestContext,
    ) -> Result<(Selection, Vec<DecidedOffer>), AppError>
    where
        F: Fn(PropositionId, Option<&str>) -> crate::domain::OutcomeCounts,
    {
        let stream = contacts_stream(&request.customer_id);
        let max = request.max_offers as usize;
        let mut explained: HashMap<usize, (Candidate, DecidedOffer)> = HashMap::new();
        for attempt in 0..ATTEMPTS {
            let now = self.clock.now();
            // The first attempt decides on the ledger as remembered (see `ledgers`: safe even
            // when it is behind); after a refused append, and to explain, on the stream.
            let remembered = (attempt == 0 && !request.explain)
                .then(|| self.ledgers.get(&stream))
                .flatten();
            let (ledger, revision) = match remembered {
                Some(known) => known,
                None => {
                    let (ledger, revision) = load::<ContactLedger>(&*self.store, &stream).await?;
                    let ledger = Arc::new(ledger);
                    self.ledgers.put(&stream, Arc::clone(&ledger), revision);
                    (ledger, revision)
                }
            };
            let selection = ledger.select_from(
                |i| {
                    ranking.get(i).map(|r| CandidateView {
                        proposition_id: r.proposition_id,
                        product_code: &r.content.doc.product.code,
                        channel: request.channel,
                        policy: policy_of(r),
                    })
                },
                held_products,
                max,
                now,
                request.explain,
            );
            for &i in &selection.chosen {
                if let std::collections::hash_map::Entry::Vacant(e) = explained.entry(i) {
                    e.insert(explain(&ranking.ranked()[i])?);
                }
            }
            let chosen: Vec<Candidate> = selection
                .chosen
                .iter()
                .map(|i| explained[i].0.clone())
                .collect();
            let events = ledger.decide(
                ContactCommand::Present {
                    candidates: chosen,
                    held_products: held_products.clone(),
                    max,
                },
                now,
            )?;
            // The chosen offers, moved out of `explained` once this attempt answers.
            let offers = |explained: &mut HashMap<usize, (Candidate, DecidedOffer)>| {
                selection
                    .chosen
                    .iter()
                    .filter_map(|i| explained.remove(i).map(|(_, offer)| offer))
                    .collect::<Vec<DecidedOffer>>()
            };
            if events.is_empty() {
                let offers = offers(&mut explained);
                return Ok((selection, offers));
            }
            let new_events = events
                .iter()
                .map(|e| NewEvent::from_domain(e, ctx.metadata(), now))
                .collect();
            match self
                .store
                .append(&stream, ExpectedRevision::from(revision), new_events)
                .await
            {
                Ok(appended) => {
                    let after = events.iter().fold((*ledger).clone(), |l, e| l.evolve(e));
                    self.ledgers
                        .put(&stream, Arc::new(after), appended.next_expected);
                    let offers = offers(&mut explained);
                    return Ok((selection, offers));
                }
                Err(StoreError::WrongExpectedVersion { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(AppError::Store(StoreError::Unavailable(format!(
            "{stream} kept changing under concurrent decisions; retry"
        ))))
    }

    /// Records a response to an offer made to `customer_id`. The same response again changes
    /// nothing; a conflicting one is refused; an unknown offer is `NotFound`.
    pub async fn respond(
        &self,
        customer_id: &str,
        offer_id: OfferId,
        response: Response,
        by: Reporter,
        ctx: &RequestContext,
    ) -> Result<OfferRecord, AppError> {
        // Another response or a decision for the same customer may append first (the customer
        // accepting two offers at once): decide again on the new ledger, as decisions do. The
        // first attempt starts from the ledger as remembered (`ledgers`): what it records is
        // appended expecting that revision, so what it answers then is the stream's; a refusal
        // (the remembered ledger may not hold the offer yet) or a repeated response is
        // answered only after reading the stream.
        let stream = contacts_stream(customer_id);
        for attempt in 0..ATTEMPTS {
            let remembered = (attempt == 0).then(|| self.ledgers.get(&stream)).flatten();
            let from_memory = remembered.is_some();
            let (ledger, revision) = match remembered {
                Some((ledger, revision)) => ((*ledger).clone(), revision),
                None => load::<ContactLedger>(&*self.store, &stream).await?,
            };
            let done = match ecohub_eventstore::execute_on::<ContactLedger>(
                &*self.store,
                &stream,
                ledger,
                revision,
                ContactCommand::Respond {
                    customer_id: customer_id.to_owned(),
                    offer_id,
                    response,
                    by,
                },
                self.clock.now(),
                ctx.metadata(),
            )
            .await
            {
                Err(ecohub_eventstore::ExecuteError::Store(StoreError::WrongExpectedVersion {
                    ..
                })) => continue,
                Err(ecohub_eventstore::ExecuteError::Refused(_)) if from_memory => continue,
                // The same response again: answered with the record as the stream holds it.
                Ok(done) if from_memory && done.events.is_empty() => continue,
                other => other?,
            };
            let ledger = Arc::new(done.state);
            self.ledgers
                .put(&stream, Arc::clone(&ledger), done.revision);
            return ledger
                .offers
                .get(&offer_id)
                .cloned()
                .ok_or(AppError::Refused(OffersError::NotFound));
        }
        Err(AppError::Store(StoreError::Unavailable(format!(
            "{stream} kept changing under concurrent responses; retry"
        ))))
    }

    /// Whether the customer objects to personalised offers now: the objections read model,
    /// once it has applied every preference event up to the category head read first (as
    /// exact as reading their stream; normally at once, at most 2 s, then 503).
    async fn objects_now(&self, customer_id: &str) -> Result<bool, AppError> {
        let head = self
            .store
            .category_head(&format!("{}-", crate::domain::OfferPreferences::CATEGORY))
            .await?;
        let deadline = std::time::Instant::now() + INDEX_WAIT;
        while !self.objections.has_applied(head) {
            if std::time::Instant::now() >= deadline {
                return Err(AppError::Store(StoreError::Unavailable(
                    "the objections are behind the preference streams".into(),
                )));
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        Ok(self
            .objections
            .objected(&crate::domain::preferences_stream(customer_id)))
    }

    /// The published propositions as the proposition streams stand now, the outcome counts
    /// to rank with, and the order decisions screen the propositions in. The list is used
    /// once it has applied every proposition event up to the category head read first, so a
    /// withdrawal or retirement acknowledged before the decision started is seen. All of it
    /// is shared by every decision until the list changes, or an outcome has been counted
    /// and the snapshot is `propensity_refresh_ms` old: the order's bounds are computed from
    /// the same counts the decisions rank with, so they always bound the scores.
    async fn screening(&self) -> Result<Arc<Screening>, AppError> {
        let head = self
            .store
            .category_head(&format!("{}-", crate::domain::Proposition::CATEGORY))
            .await?;
        let deadline = std::time::Instant::now() + INDEX_WAIT;
        while !self.index.has_applied(head) {
            if std::time::Instant::now() >= deadline {
                return Err(AppError::Store(StoreError::Unavailable(
                    "the proposition list is behind the proposition streams".into(),
                )));
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let generation = self.index.generation();
        let version = self.outcomes.version();
        let refresh = Duration::from_millis(self.config.propensity_refresh_ms);
        if let Some(s) = self
            .screening
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .filter(|s| {
                s.generation == generation
                    && (s.outcomes.version() == version || s.built.elapsed() < refresh)
            })
        {
            return Ok(Arc::clone(s));
        }
        let (generation, published) = self.index.published_with_generation();
        let outcomes = self.outcomes.snapshot();
        let propositions: Vec<(PropositionId, Arc<crate::domain::Proposition>)> = published
            .into_iter()
            .filter_map(|p| Some((p.id?, p)))
            .filter(|(_, p)| p.published().is_some())
            .collect();
        let offerable = offerable_of(&propositions);
        let order = ScreeningOrder::by_bucket(&offerable, self.config.prior, |id, p| {
            outcomes.counts(id, p)
        });
        let partners = offerable
            .iter()
            .flat_map(|o| o.version.content.partners())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        drop(offerable);
        let screening = Arc::new(Screening {
            generation,
            built: std::time::Instant::now(),
            outcomes,
            propositions,
            order,
            partners,
        });
        *self.screening.lock().unwrap_or_else(|e| e.into_inner()) = Some(Arc::clone(&screening));
        Ok(screening)
    }
}

impl OffersState {
    /// The customer a co-brand partner may decide offers for under `consent_id` at now (its
    /// consent, authorised, granting `ReadOffers`), read exactly; `Forbidden` otherwise.
    pub async fn customer_for_partner(
        &self,
        consent_id: &str,
        partner: crate::domain::PartnerId,
    ) -> Result<Option<String>, AppError> {
        Ok(self
            .ports
            .offer_consents
            .customer(consent_id, partner, self.clock.now())
            .await?)
    }

    /// A co-brand partner reports a response to an offer it co-brands, made to the customer
    /// of its consent; any other offer is `NotFound`.
    pub async fn respond_as_partner(
        &self,
        customer_id: &str,
        partner: crate::domain::PartnerId,
        offer_id: OfferId,
        response: Response,
        ctx: &RequestContext,
    ) -> Result<OfferRecord, AppError> {
        let ledger = self.ledger(customer_id).await?;
        let cobranded = ledger
            .offers
            .get(&offer_id)
            .is_some_and(|r| r.offer.partners.contains(&partner));
        if !cobranded {
            return Err(AppError::Refused(OffersError::NotFound));
        }
        self.respond(customer_id, offer_id, response, Reporter::Partner, ctx)
            .await
    }
}
