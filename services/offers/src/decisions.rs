//! Use cases of decisioning and contact tracking: a decision evaluates every published
//! proposition for one customer, ranks the available ones (priority × business value ×
//! acceptance propensity), lets the contact policies choose within the caps on the customer's
//! ledger, and records every offer (`OfferPresented`) before answering; responses are
//! recorded on the same ledger (ADR 0022).

use std::collections::BTreeSet;
use std::time::Duration;

use ecohub_eventstore::{ExpectedRevision, NewEvent, StoreError, load};
use ecohub_kernel::{Aggregate, RequestContext, Timestamp};
use serde::Serialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::application::{AppError, OffersState};
use crate::domain::{
    AddOnOutcome, BenefitDoc, Candidate, Channel, ContactCommand, ContactLedger, Context,
    DecisionId, Evaluation, Exclusion, Invalid, OfferId, OfferPrice, OfferRecord, OffersError,
    PersonaMatch, Presented, PriceOutcome, ProductDoc, Propensity, PropositionId, Reporter,
    Response, contacts_stream, evaluate, rank_score,
};

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

/// A proposition a decision did not offer, with the first reason.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HeldBack {
    /// The proposition.
    #[schema(value_type = String, format = Uuid)]
    pub proposition_id: PropositionId,
    /// The version considered.
    pub version: u32,
    /// Its name.
    pub name: String,
    /// Why: an evaluation code (`audience_all_of`, `partner_not_active`, …), a parameter
    /// that does not fit (`params_invalid`), or a contact policy (`frequency_cap`,
    /// `daily_cap`, `suppressed_after_decline`, `already_accepted`, `already_held`,
    /// `max_offers`), or `customer_objected`.
    pub reason: Exclusion,
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

/// One available proposition, evaluated and scored.
struct Scored {
    proposition_id: PropositionId,
    version: u32,
    evaluation: Evaluation,
    propensity: Propensity,
    score: f64,
    priority: u32,
    business_value: f64,
    doc: std::sync::Arc<crate::domain::PropositionDoc>,
    policy: crate::domain::ContactPolicy,
}

fn placement_ok(p: &str) -> bool {
    (1..=40).contains(&p.len())
        && p.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

fn digest(value: &impl Serialize) -> String {
    let bytes = serde_json::to_vec(value).unwrap_or_default();
    Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
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
        if request.max_offers == 0 || request.max_offers > self.config.max_offers_per_decision {
            return Err(Invalid::new(
                "/max_offers",
                format!("must be 1 to {}", self.config.max_offers_per_decision),
            )
            .into());
        }
        let now = self.clock.now();
        let decision_id = DecisionId::new_v7(now);
        let mut held_back = Vec::new();
        let propositions = self.published_now().await?;
        if self.preferences(&request.customer_id).await?.objected {
            // GDPR Art. 21: an objecting customer is offered nothing (not profiled either).
            for (id, p) in &propositions {
                if let Some(v) = p.published() {
                    held_back.push(HeldBack {
                        proposition_id: *id,
                        version: v.number,
                        name: v.content.doc.name.clone(),
                        reason: Exclusion {
                            code: "customer_objected".into(),
                            message: "the customer objected to personalised offers".into(),
                        },
                    });
                }
            }
            return Ok(Decision {
                decision_id,
                offers: vec![],
                held_back: request.explain.then_some(held_back),
            });
        }
        let partners: BTreeSet<_> = propositions
            .iter()
            .filter_map(|(_, p)| p.published())
            .flat_map(|v| v.content.partners())
            .collect();
        let inactive = self.inactive(&partners).await?;
        let attributes = self.attributes().await?;
        let personas = self.personas().await?;
        let subject = self.subject(&request.customer_id, &attributes).await?;
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
        let mut scored = Vec::new();
        for (id, p) in &propositions {
            let id = *id;
            let Some(v) = p.published() else { continue };
            let context = Context {
                published: true,
                channel: Some(request.channel),
                params: request.params.clone(),
                inactive_partners: inactive.clone(),
                not_accepted: v.awaiting(),
            };
            let evaluation = match evaluate(&v.content, &personas, &subject, &context, now) {
                Ok(e) => e,
                Err(invalid) => {
                    held_back.push(HeldBack {
                        proposition_id: id,
                        version: v.number,
                        name: v.content.doc.name.clone(),
                        reason: Exclusion {
                            code: "params_invalid".into(),
                            message: invalid.to_string(),
                        },
                    });
                    continue;
                }
            };
            if let Some(reason) = evaluation.excluded_by.clone() {
                held_back.push(HeldBack {
                    proposition_id: id,
                    version: v.number,
                    name: v.content.doc.name.clone(),
                    reason,
                });
                continue;
            }
            let matched: Vec<String> = evaluation
                .personas
                .iter()
                .filter(|m| m.matched)
                .map(|m| m.persona.clone())
                .collect();
            let propensity = Propensity::for_customer(self.config.prior, &matched, |persona| {
                self.outcomes.counts(id, persona)
            });
            let doc = v.content.doc.clone();
            scored.push(Scored {
                proposition_id: id,
                version: v.number,
                score: rank_score(doc.priority, doc.business_value, propensity.estimate),
                priority: doc.priority,
                business_value: doc.business_value,
                propensity,
                evaluation,
                policy: self.config.policy.with(doc.contact_policy.as_ref()),
                doc,
            });
        }
        scored.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then(b.priority.cmp(&a.priority))
                .then(b.business_value.total_cmp(&a.business_value))
                .then(a.proposition_id.cmp(&b.proposition_id))
        });
        let candidates: Vec<Candidate> = scored
            .iter()
            .map(|s| {
                let offer_id = OfferId::new_v7(now);
                Candidate {
                    offer: Presented {
                        offer_id,
                        decision_id,
                        proposition_id: s.proposition_id,
                        version: s.version,
                        product_code: s.doc.product.code.clone(),
                        channel: request.channel,
                        placement: request.placement.clone(),
                        price: OfferPrice {
                            rate_percent: s.evaluation.price.rate_percent,
                            commission_percent: s.evaluation.price.commission_percent,
                            fees: s.evaluation.price.fees,
                        },
                        partners: s.doc_partners(),
                        personas: s
                            .evaluation
                            .personas
                            .iter()
                            .filter(|m| m.matched)
                            .map(|m| m.persona.clone())
                            .collect(),
                        explanation_digest: digest(&(&s.evaluation, &s.propensity)),
                        expires_at: now
                            .plus(Duration::from_secs(86_400) * s.policy.offer_validity_days),
                    },
                    policy: s.policy,
                }
            })
            .collect();
        let selection = self
            .present(
                &request.customer_id,
                &candidates,
                &held_products,
                &request,
                ctx,
            )
            .await?;
        let mut offers = Vec::new();
        for (rank, &i) in selection.chosen.iter().enumerate() {
            let s = &scored[i];
            let c = &candidates[i];
            offers.push(DecidedOffer {
                offer_id: c.offer.offer_id,
                proposition_id: s.proposition_id,
                version: s.version,
                name: s.doc.name.clone(),
                description: s.doc.description.clone(),
                product: s.doc.product.clone(),
                price: s.evaluation.price.clone(),
                add_ons: s
                    .evaluation
                    .add_ons
                    .iter()
                    .filter(|a| a.included)
                    .cloned()
                    .collect(),
                benefits: s.evaluation.benefits.clone(),
                personas: s.evaluation.personas.clone(),
                propensity: s.propensity.clone(),
                score: s.score,
                rank: rank as u32 + 1,
                expires_at: c.offer.expires_at,
            });
        }
        for (i, reason) in selection.excluded {
            let s = &scored[i];
            held_back.push(HeldBack {
                proposition_id: s.proposition_id,
                version: s.version,
                name: s.doc.name.clone(),
                reason,
            });
        }
        Ok(Decision {
            decision_id,
            offers,
            held_back: request.explain.then_some(held_back),
        })
    }

    /// Lets the contact policies choose among `candidates` on the customer's ledger and
    /// appends the `OfferPresented` events expecting the revision read; when another decision
    /// appended first, decides again on the new ledger.
    async fn present(
        &self,
        customer_id: &str,
        candidates: &[Candidate],
        held_products: &BTreeSet<String>,
        request: &DecisionRequest,
        ctx: &RequestContext,
    ) -> Result<crate::domain::Selection, AppError> {
        let stream = contacts_stream(customer_id);
        for _ in 0..ATTEMPTS {
            let now = self.clock.now();
            let (ledger, revision) = load::<ContactLedger>(&*self.store, &stream).await?;
            let selection =
                ledger.select(candidates, held_products, request.max_offers as usize, now);
            let events = ledger.decide(
                ContactCommand::Present {
                    candidates: candidates.to_vec(),
                    held_products: held_products.clone(),
                    max: request.max_offers as usize,
                },
                now,
            )?;
            if events.is_empty() {
                return Ok(selection);
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
                Ok(_) => return Ok(selection),
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
        let ledger: ContactLedger = self
            .run(
                &contacts_stream(customer_id),
                ContactCommand::Respond {
                    offer_id,
                    response,
                    by,
                },
                ctx,
            )
            .await?;
        ledger
            .offers
            .get(&offer_id)
            .cloned()
            .ok_or(AppError::Refused(OffersError::NotFound))
    }

    /// The published propositions, as the proposition streams stand now: the list is used
    /// once it has applied every proposition event up to the category head read first, so a
    /// withdrawal or retirement acknowledged before the decision started is seen.
    async fn published_now(
        &self,
    ) -> Result<Vec<(PropositionId, crate::domain::Proposition)>, AppError> {
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
        Ok(self
            .index
            .published()
            .into_iter()
            .filter_map(|p| Some((p.id?, p)))
            .collect())
    }
}

impl Scored {
    fn doc_partners(&self) -> Vec<crate::domain::PartnerId> {
        self.doc
            .benefits
            .iter()
            .filter_map(|b| crate::domain::PartnerId::parse(&b.partner_id).ok())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect()
    }
}
