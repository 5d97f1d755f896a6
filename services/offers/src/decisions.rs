//! Use cases of decisioning and contact tracking: a decision evaluates every published
//! proposition for one customer, ranks the available ones (priority × business value ×
//! acceptance propensity), lets the contact policies choose within the caps on the customer's
//! ledger, and records every offer (`OfferPresented`) before answering; responses are
//! recorded on the same ledger (ADR 0022).

use std::collections::{BTreeSet, HashMap};
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
    Context, DecisionId, Exclusion, HeldBack, Invalid, OfferId, OfferPrice, OfferRecord, Offerable,
    OffersError, PersonaMatch, Presented, PriceOutcome, ProductDoc, Propensity, PropositionId,
    Reporter, Response, Selection, contacts_stream, evaluate, rank,
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
    /// A co-brand partner deciding in its own app: only the propositions it co-brands.
    pub co_brand: Option<crate::domain::PartnerId>,
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
        if !(1..=100).contains(&request.max_offers) {
            return Err(Invalid::new("/max_offers", "must be 1 to 100").into());
        }
        // More than the configured maximum is lowered to it.
        let request = DecisionRequest {
            max_offers: request.max_offers.min(self.config.max_offers_per_decision),
            ..request
        };
        let now = self.clock.now();
        let decision_id = DecisionId::new_v7(now);
        let propositions = self.published_now().await?;
        let offerable: Vec<Offerable<'_>> = propositions
            .iter()
            .filter_map(|(id, p)| p.published().map(|version| Offerable { id: *id, version }))
            .filter(|o| {
                request
                    .co_brand
                    .is_none_or(|partner| o.version.content.partner_set().contains(&partner))
            })
            .collect();
        if self.preferences(&request.customer_id).await?.objected {
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
                        .map(|o| HeldBack::of(o, reason.clone()))
                        .collect()
                }),
            });
        }
        let partners: BTreeSet<_> = offerable
            .iter()
            .flat_map(|o| o.version.content.partners())
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
        let base = Context {
            published: true,
            channel: Some(request.channel),
            params: request.params.clone(),
            inactive_partners: inactive,
            not_accepted: BTreeSet::new(),
        };
        let (ranked, mut held_back) = rank(
            &offerable,
            &personas,
            &subject,
            &base,
            self.config.prior,
            |id, persona| self.outcomes.counts(id, persona),
            now,
            request.explain,
        );
        // Candidates as the policies see them; the offer itself, its price and its
        // explanation are built only for those chosen.
        let views: Vec<CandidateView<'_>> = ranked
            .iter()
            .map(|r| CandidateView {
                proposition_id: r.proposition_id,
                product_code: &r.content.doc.product.code,
                channel: request.channel,
                policy: self
                    .config
                    .policy
                    .with(r.content.doc.contact_policy.as_ref()),
            })
            .collect();
        let explain = |i: usize| -> Result<(Candidate, DecidedOffer), AppError> {
            let r = &ranked[i];
            let policy = views[i].policy;
            let evaluation = evaluate(r.content, &personas, &subject, &base, now)?;
            let doc = &r.content.doc;
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
                    personas: r.matched.clone(),
                    explanation_digest: digest(&(&evaluation, &r.propensity)),
                    expires_at: now.plus(Duration::from_secs(86_400) * policy.offer_validity_days),
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
                propensity: r.propensity.clone(),
                score: r.score,
                rank: 0,
                expires_at: candidate.offer.expires_at,
            };
            Ok((candidate, offer))
        };
        let (selection, mut offers) = self
            .present(
                &request.customer_id,
                &views,
                &held_products,
                request.max_offers as usize,
                explain,
                ctx,
            )
            .await?;
        for (rank, o) in offers.iter_mut().enumerate() {
            o.rank = rank as u32 + 1;
        }
        for (i, reason) in selection.excluded {
            let r = &ranked[i];
            held_back.push(HeldBack {
                proposition_id: r.proposition_id,
                version: r.version,
                name: r.content.doc.name.clone(),
                reason,
            });
        }
        Ok(Decision {
            decision_id,
            offers,
            held_back: request.explain.then_some(held_back),
        })
    }

    /// Lets the contact policies choose among `views` on the customer's ledger, explains
    /// and prices the chosen ones (`explain`, once per candidate however many attempts), and
    /// appends their `OfferPresented` events expecting the revision read; when another
    /// decision appended first, chooses again on the new ledger.
    async fn present(
        &self,
        customer_id: &str,
        views: &[CandidateView<'_>],
        held_products: &BTreeSet<String>,
        max: usize,
        explain: impl Fn(usize) -> Result<(Candidate, DecidedOffer), AppError>,
        ctx: &RequestContext,
    ) -> Result<(Selection, Vec<DecidedOffer>), AppError> {
        let stream = contacts_stream(customer_id);
        let mut explained: HashMap<usize, (Candidate, DecidedOffer)> = HashMap::new();
        for _ in 0..ATTEMPTS {
            let now = self.clock.now();
            let (ledger, revision) = load::<ContactLedger>(&*self.store, &stream).await?;
            let selection = ledger.select(views, held_products, max, now);
            for &i in &selection.chosen {
                if let std::collections::hash_map::Entry::Vacant(e) = explained.entry(i) {
                    e.insert(explain(i)?);
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
            let offers: Vec<DecidedOffer> = selection
                .chosen
                .iter()
                .map(|i| explained[i].1.clone())
                .collect();
            if events.is_empty() {
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
                Ok(_) => return Ok((selection, offers)),
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
                    customer_id: customer_id.to_owned(),
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
    ) -> Result<Vec<(PropositionId, std::sync::Arc<crate::domain::Proposition>)>, AppError> {
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
