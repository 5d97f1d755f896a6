//! The events of a customer's contact ledger (`offercontacts-<customer>`) and their stored
//! schema: one `…V1` struct per type, apart from the domain enum, so that the stored contract
//! changes only by a new version.

use ecohub_kernel::{DecodeError, DomainEvent, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::document::Channel;
use super::{PartnerId, PropositionId};

ecohub_kernel::define_id!(
    /// One offer made to a customer (the unit responses refer to).
    OfferId,
    "offer"
);

ecohub_kernel::define_id!(
    /// One decision (a request that returned ranked offers).
    DecisionId,
    "decision"
);

/// The price an offer was made at.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct OfferPrice {
    /// Rate, percent.
    pub rate_percent: f64,
    /// Commission, percent.
    pub commission_percent: f64,
    /// Fees.
    pub fees: f64,
}

/// One offer as presented: what the customer was offered, where, at what price, and why (the
/// personas matched and the digest of the full explanation returned).
#[derive(Debug, Clone, PartialEq)]
pub struct Presented {
    /// The offer.
    pub offer_id: OfferId,
    /// The decision that made it.
    pub decision_id: DecisionId,
    /// The proposition.
    pub proposition_id: PropositionId,
    /// Its version.
    pub version: u32,
    /// The bank product's code (never offered again once accepted or held).
    pub product_code: String,
    /// Where.
    pub channel: Channel,
    /// The slot in the channel (`home_banner`).
    pub placement: String,
    /// The price.
    pub price: OfferPrice,
    /// The pricing rule that gave it; `None`: the default price.
    pub price_rule: Option<String>,
    /// Co-brand partners.
    pub partners: Vec<PartnerId>,
    /// Personas matched.
    pub personas: Vec<String>,
    /// SHA-256 of the explanation returned with the offer (hex).
    pub explanation_digest: String,
    /// Until when the customer may respond.
    pub expires_at: Timestamp,
    /// The moment that triggered it, when a moment did.
    pub moment: Option<MomentRef>,
}

/// The moment behind a triggered offer, as the offer carries it: what the co-brand partner's
/// `offer-available` notification, the customer's inbox ("why you see this") and the bank's
/// channels show.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MomentRef {
    /// The hub's moment id.
    #[schema(value_type = String, format = Uuid)]
    pub moment_id: super::moment::MomentId,
    /// Its type.
    pub moment_type: String,
    /// Who sent it (`bank` or a partner id).
    pub provider: String,
    /// The rule that put this proposition forward.
    pub rule: String,
    /// The rule's reason, in the customer's words.
    pub reason: String,
    /// The bank's customer id (personal data: payload only; the partner's notification names
    /// the customer by its pairwise id).
    pub customer_id: String,
    /// The co-brand partners told (`offer-available`): those the customer lets receive offers
    /// (an authorised consent granting `ReadOffers`) when the offer was made.
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub notify: Vec<PartnerId>,
}

/// Who reported a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reporter {
    /// The bank's channel (a client with `offers:decide`).
    Channel,
    /// The customer, on their offers page or API.
    Customer,
    /// A co-brand partner's app.
    Partner,
}

/// A response to an offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Response {
    /// Seen.
    Viewed,
    /// Taken: the bank product's application starts.
    Accepted,
    /// Refused: suppressed for the configured days.
    Declined,
}

/// What happened in a customer's contact ledger.
// `Presented` is the common event and is built once, then encoded or applied: boxing it would
// cost an allocation per offer to save stack space on the rarer variants.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum ContactEvent {
    /// `OfferPresented`: an offer was returned by a decision (recorded before the answer).
    Presented {
        /// The offer.
        offer: Presented,
        /// When.
        at: Timestamp,
    },
    /// `OfferViewed`, `OfferAccepted`, `OfferDeclined`: a response. The proposition, product,
    /// partners and personas are copied from the presentation, so that projections and
    /// notifications need no other event; the customer is named so that the bank's
    /// application process and the co-brand partners' notifications know whom it concerns
    /// (personal data in the payload only, never in the stream name or metadata).
    Responded {
        /// The offer.
        offer_id: OfferId,
        /// The bank's customer id.
        customer_id: String,
        /// Which response.
        response: Response,
        /// Who reported it.
        by: Reporter,
        /// The proposition.
        proposition_id: PropositionId,
        /// Its version.
        version: u32,
        /// The product.
        product_code: String,
        /// Co-brand partners.
        partners: Vec<PartnerId>,
        /// Personas matched when presented.
        personas: Vec<String>,
        /// Where it was presented.
        channel: Channel,
        /// When.
        at: Timestamp,
    },
    /// `OfferExpired`: no response before the offer's expiry.
    Expired {
        /// The offer.
        offer_id: OfferId,
        /// The proposition.
        proposition_id: PropositionId,
        /// Its version.
        version: u32,
        /// Personas matched when presented.
        personas: Vec<String>,
        /// Where it was presented.
        channel: Channel,
        /// When.
        at: Timestamp,
    },
}

impl ContactEvent {
    /// Every stored type name.
    pub const TYPES: [&'static str; 5] = [
        "OfferPresented",
        "OfferViewed",
        "OfferAccepted",
        "OfferDeclined",
        "OfferExpired",
    ];

    /// When it happened.
    pub fn at(&self) -> Timestamp {
        match self {
            ContactEvent::Presented { at, .. }
            | ContactEvent::Responded { at, .. }
            | ContactEvent::Expired { at, .. } => *at,
        }
    }
}

#[derive(Serialize, Deserialize)]
/// `OfferPresented` v1 and v2 (v2 adds the optional `moment`).
struct PresentedV1 {
    offer_id: OfferId,
    decision_id: DecisionId,
    proposition_id: PropositionId,
    version: u32,
    product_code: String,
    channel: Channel,
    placement: String,
    rate_percent: f64,
    commission_percent: f64,
    fees: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    price_rule: Option<String>,
    partners: Vec<PartnerId>,
    personas: Vec<String>,
    explanation_digest: String,
    expires_at: Timestamp,
    /// Version 2: the moment that triggered the offer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    moment: Option<MomentRef>,
    at: Timestamp,
}

#[derive(Serialize, Deserialize)]
struct RespondedV1 {
    offer_id: OfferId,
    customer_id: String,
    by: Reporter,
    proposition_id: PropositionId,
    version: u32,
    product_code: String,
    partners: Vec<PartnerId>,
    personas: Vec<String>,
    channel: Channel,
    at: Timestamp,
}

#[derive(Serialize, Deserialize)]
struct ExpiredV1 {
    offer_id: OfferId,
    proposition_id: PropositionId,
    version: u32,
    personas: Vec<String>,
    channel: Channel,
    at: Timestamp,
}

fn to_value<T: Serialize>(v: &T) -> Value {
    serde_json::to_value(v).expect("stored payloads serialise")
}

impl DomainEvent for ContactEvent {
    fn event_type(&self) -> &'static str {
        match self {
            ContactEvent::Presented { .. } => Self::TYPES[0],
            ContactEvent::Responded { response, .. } => match response {
                Response::Viewed => Self::TYPES[1],
                Response::Accepted => Self::TYPES[2],
                Response::Declined => Self::TYPES[3],
            },
            ContactEvent::Expired { .. } => Self::TYPES[4],
        }
    }

    fn event_version(&self) -> u16 {
        match self {
            // v2: `moment` (absent from v1 payloads, which decode as offers no moment made).
            ContactEvent::Presented { .. } => 2,
            _ => 1,
        }
    }

    fn encode(&self) -> Value {
        match self.clone() {
            ContactEvent::Presented { offer: o, at } => to_value(&PresentedV1 {
                offer_id: o.offer_id,
                decision_id: o.decision_id,
                proposition_id: o.proposition_id,
                version: o.version,
                product_code: o.product_code,
                channel: o.channel,
                placement: o.placement,
                rate_percent: o.price.rate_percent,
                commission_percent: o.price.commission_percent,
                fees: o.price.fees,
                price_rule: o.price_rule,
                partners: o.partners,
                personas: o.personas,
                explanation_digest: o.explanation_digest,
                expires_at: o.expires_at,
                moment: o.moment,
                at,
            }),
            ContactEvent::Responded {
                offer_id,
                customer_id,
                by,
                proposition_id,
                version,
                product_code,
                partners,
                personas,
                channel,
                at,
                ..
            } => to_value(&RespondedV1 {
                offer_id,
                customer_id,
                by,
                proposition_id,
                version,
                product_code,
                partners,
                personas,
                channel,
                at,
            }),
            ContactEvent::Expired {
                offer_id,
                proposition_id,
                version,
                personas,
                channel,
                at,
            } => to_value(&ExpiredV1 {
                offer_id,
                proposition_id,
                version,
                personas,
                channel,
                at,
            }),
        }
    }

    fn decode(t: &str, v: u16, data: &Value) -> Result<Self, DecodeError> {
        let latest = if t == Self::TYPES[0] { 2 } else { 1 };
        DecodeError::check_known(t, v, &Self::TYPES, latest)?;
        Ok(match t {
            "OfferPresented" => {
                let p: PresentedV1 = DecodeError::parse(t, data)?;
                ContactEvent::Presented {
                    offer: Presented {
                        offer_id: p.offer_id,
                        decision_id: p.decision_id,
                        proposition_id: p.proposition_id,
                        version: p.version,
                        product_code: p.product_code,
                        channel: p.channel,
                        placement: p.placement,
                        price: OfferPrice {
                            rate_percent: p.rate_percent,
                            commission_percent: p.commission_percent,
                            fees: p.fees,
                        },
                        price_rule: p.price_rule,
                        partners: p.partners,
                        personas: p.personas,
                        explanation_digest: p.explanation_digest,
                        expires_at: p.expires_at,
                        moment: p.moment,
                    },
                    at: p.at,
                }
            }
            "OfferExpired" => {
                let e: ExpiredV1 = DecodeError::parse(t, data)?;
                ContactEvent::Expired {
                    offer_id: e.offer_id,
                    proposition_id: e.proposition_id,
                    version: e.version,
                    personas: e.personas,
                    channel: e.channel,
                    at: e.at,
                }
            }
            _ => {
                let r: RespondedV1 = DecodeError::parse(t, data)?;
                ContactEvent::Responded {
                    offer_id: r.offer_id,
                    customer_id: r.customer_id,
                    response: match t {
                        "OfferViewed" => Response::Viewed,
                        "OfferAccepted" => Response::Accepted,
                        _ => Response::Declined,
                    },
                    by: r.by,
                    proposition_id: r.proposition_id,
                    version: r.version,
                    product_code: r.product_code,
                    partners: r.partners,
                    personas: r.personas,
                    channel: r.channel,
                    at: r.at,
                }
            }
        })
    }
}
