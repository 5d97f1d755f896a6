//! Evaluating a proposition version for one customer, with its explanation: which personas
//! matched (and which of their sub-conditions held), whether the audience admits the
//! customer, which pricing rule gave the price, which add-ons are included, and, when the
//! proposition is not available, the first reason why. Pure: the caller reads the customer's
//! attributes, the partners' standing and the time.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use ecohub_kernel::Timestamp;

use super::document::{BenefitDoc, BenefitKind, Channel};
use super::expression::{Explanation, Facts};
use super::persona::{PersonaCatalogue, PersonaVersion};
use super::proposition::PropositionContent;
use super::{Invalid, PartnerId};

/// The customer as conditions see them.
#[derive(Debug, Clone, Default)]
pub struct Subject {
    /// Attribute values by name: only those the customer has and that may be used.
    pub attributes: Map<String, Value>,
    /// The customer objected to personalised offers (GDPR Art. 21): no attribute is read,
    /// no persona matches, a proposition with an audience is not offered.
    pub objected: bool,
}

/// Why a proposition is not available: a stable code and a sentence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Exclusion {
    /// `not_published`, `outside_window`, `channel_not_offered`, `partner_not_active`,
    /// `partner_not_accepted`, `customer_objected`, `audience_all_of`, `audience_any_of`, `audience_none_of`.
    pub code: String,
    /// What failed.
    pub message: String,
}

fn exclusion(code: &str, message: impl Into<String>) -> Exclusion {
    Exclusion {
        code: code.into(),
        message: message.into(),
    }
}

/// How a persona evaluated.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct PersonaMatch {
    /// The persona.
    pub persona: String,
    /// The version evaluated.
    pub version: u32,
    /// Whether the customer belongs to it.
    pub matched: bool,
    /// Why.
    pub explanation: Explanation,
}

/// How a pricing rule or an add-on condition evaluated.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct RuleOutcome {
    /// The rule's name.
    pub name: String,
    /// Whether its condition held.
    pub held: bool,
    /// Why.
    pub explanation: Explanation,
}

/// The price the customer gets.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct PriceOutcome {
    /// The pricing rule that applied; absent when the default price applies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// Rate, percent.
    pub rate_percent: f64,
    /// Commission, percent.
    pub commission_percent: f64,
    /// Fees.
    pub fees: f64,
    /// The rules tried in order, up to and including the one that applied.
    pub tried: Vec<RuleOutcome>,
}

/// An add-on and whether it is included.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AddOnOutcome {
    /// Its name.
    pub name: String,
    /// Its kind.
    pub kind: BenefitKind,
    /// The partner providing it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partner_id: Option<String>,
    /// What the customer gets.
    pub description: String,
    /// Whether it is included.
    pub included: bool,
    /// Why.
    pub explanation: Explanation,
}

/// A proposition version evaluated for one customer.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Evaluation {
    /// Whether it may be offered.
    pub available: bool,
    /// When it may not, the first reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub excluded_by: Option<Exclusion>,
    /// Every persona the version uses, evaluated.
    pub personas: Vec<PersonaMatch>,
    /// The price.
    pub price: PriceOutcome,
    /// The add-ons, included or not.
    pub add_ons: Vec<AddOnOutcome>,
    /// The co-brand partners' benefits.
    pub benefits: Vec<BenefitDoc>,
}

/// What the evaluation is asked about besides the customer.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// Whether the version is the published one (a draft can be dry-run, never offered).
    pub published: bool,
    /// The channel asked for, if any.
    pub channel: Option<Channel>,
    /// Request parameters (`amount`, …), checked against the version's schema.
    pub params: Map<String, Value>,
    /// Co-brand partners that are not active now (read exactly by the caller).
    pub inactive_partners: BTreeSet<PartnerId>,
    /// Co-brand partners that have not accepted the version (or withdrew their acceptance).
    pub not_accepted: BTreeSet<PartnerId>,
}

/// Evaluates one persona version for `subject`.
pub fn evaluate_persona(name: &str, persona: &PersonaVersion, subject: &Subject) -> PersonaMatch {
    let data = data_of(subject, &Map::new(), &Map::new());
    explain_persona(name, persona, subject, &data, &Facts::of(&data))
}

/// [`evaluate_persona`] on the subject's data (`data_of` without parameters), prepared.
fn explain_persona(
    name: &str,
    persona: &PersonaVersion,
    subject: &Subject,
    data: &Value,
    facts: &Facts,
) -> PersonaMatch {
    let explanation = persona.condition.explain_with(data, facts);
    PersonaMatch {
        persona: name.to_owned(),
        version: persona.version,
        matched: explanation.held && !subject.objected,
        explanation,
    }
}

fn data_of(subject: &Subject, params: &Map<String, Value>, personas: &Map<String, Value>) -> Value {
    let mut data = if subject.objected {
        Map::new()
    } else {
        subject.attributes.clone()
    };
    data.insert("params".into(), Value::Object(params.clone()));
    data.insert("personas".into(), Value::Object(personas.clone()));
    Value::Object(data)
}

/// Evaluates `content` for `subject` at `now`. Refuses parameters that break the version's
/// schema (the error names the path under `/params`).
pub fn evaluate(
    content: &PropositionContent,
    personas: &PersonaCatalogue,
    subject: &Subject,
    context: &Context,
    now: Timestamp,
) -> Result<Evaluation, Invalid> {
    let params_value = Value::Object(context.params.clone());
    if let Some(e) = content.parameters.iter_errors(&params_value).next() {
        return Err(Invalid::new(
            format!("/params{}", e.instance_path().as_str()),
            e.to_string(),
        ));
    }
    let doc = &content.doc;
    // Personas, each at its pinned version.
    let mut matches = Vec::new();
    let mut membership = Map::new();
    let attributes = data_of(subject, &Map::new(), &Map::new());
    let prepared = Facts::of(&attributes);
    for (name, version) in &doc.personas {
        let Some(p) = personas.version(name, *version) else {
            continue;
        };
        let m = explain_persona(name, p, subject, &attributes, &prepared);
        membership.insert(name.clone(), Value::Bool(m.matched));
        matches.push(m);
    }
    let matched = |n: &String| membership.get(n) == Some(&Value::Bool(true));
    let data = data_of(subject, &context.params, &membership);
    let facts = Facts::of(&data);

    // Price: the first rule that holds, else the default.
    let mut tried = Vec::new();
    let mut chosen = None;
    for (rule, condition) in doc.pricing.rules.iter().zip(&content.pricing) {
        let explanation = condition.explain_with(&data, &facts);
        let held = explanation.held;
        tried.push(RuleOutcome {
            name: rule.name.clone(),
            held,
            explanation,
        });
        if held {
            chosen = Some(rule);
            break;
        }
    }
    let p = chosen.map_or(doc.pricing.default, |r| r.price);
    let price = PriceOutcome {
        rule: chosen.map(|r| r.name.clone()),
        rate_percent: p.rate_percent,
        commission_percent: p.commission_percent,
        fees: p.fees,
        tried,
    };
    let add_ons = doc
        .add_ons
        .iter()
        .zip(&content.add_ons)
        .map(|(a, condition)| {
            let explanation = condition.explain_with(&data, &facts);
            AddOnOutcome {
                name: a.name.clone(),
                kind: a.kind,
                partner_id: a.partner_id.clone(),
                description: a.description.clone(),
                included: explanation.held,
                explanation,
            }
        })
        .collect();

    let excluded_by =
        availability(content, &matched, subject.objected, context, now).map(|u| u.exclusion());
    Ok(Evaluation {
        available: excluded_by.is_none(),
        excluded_by,
        personas: matches,
        price,
        add_ons,
        benefits: doc.benefits.clone(),
    })
}

/// Why a proposition may not be offered, as found (borrowed; worded by
/// [`Unavailable::exclusion`] only when someone reads it).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Unavailable<'c> {
    /// Not the published version.
    NotPublished,
    /// Outside its window.
    OutsideWindow(&'c super::PropositionDoc),
    /// Not offered through the channel.
    ChannelNotOffered(Channel),
    /// A co-brand partner is not active.
    PartnerNotActive(PartnerId),
    /// A co-brand partner has not accepted the version.
    PartnerNotAccepted(PartnerId),
    /// The customer objected to personalised offers.
    CustomerObjected,
    /// Not in a persona of `all_of`.
    AudienceAllOf(&'c str),
    /// In none of the personas of `any_of`.
    AudienceAnyOf(&'c [String]),
    /// In a persona of `none_of`.
    AudienceNoneOf(&'c str),
}

impl Unavailable<'_> {
    /// The reason in words, with its stable code.
    pub fn exclusion(&self) -> Exclusion {
        match *self {
            Unavailable::NotPublished => {
                exclusion("not_published", "this version is not the published one")
            }
            Unavailable::OutsideWindow(doc) => exclusion(
                "outside_window",
                format!(
                    "offered from {} until {}",
                    doc.availability.from.as_deref().unwrap_or("the start"),
                    doc.availability
                        .until
                        .as_deref()
                        .unwrap_or("further notice")
                ),
            ),
            Unavailable::ChannelNotOffered(c) => exclusion(
                "channel_not_offered",
                format!(
                    "not offered through {}",
                    serde_json::to_value(c)
                        .unwrap_or_default()
                        .as_str()
                        .unwrap_or("this channel")
                ),
            ),
            Unavailable::PartnerNotActive(p) => exclusion(
                "partner_not_active",
                format!("co-brand partner {p} is not active"),
            ),
            Unavailable::PartnerNotAccepted(p) => exclusion(
                "partner_not_accepted",
                format!("co-brand partner {p} has not accepted this version (or withdrew)"),
            ),
            Unavailable::CustomerObjected => exclusion(
                "customer_objected",
                "the customer objected to personalised offers",
            ),
            Unavailable::AudienceAllOf(n) => {
                exclusion("audience_all_of", format!("not in persona {n} (all of)"))
            }
            Unavailable::AudienceAnyOf(names) => exclusion(
                "audience_any_of",
                format!("in none of the personas {} (any of)", names.join(", ")),
            ),
            Unavailable::AudienceNoneOf(n) => {
                exclusion("audience_none_of", format!("in persona {n} (none of)"))
            }
        }
    }
}

/// Whether `content` may be offered, given which personas the customer matched: the first
/// reason it may not, checked in a fixed order (the table of docs/offers.md).
fn availability<'c>(
    content: &'c PropositionContent,
    matched: &dyn Fn(&String) -> bool,
    objected: bool,
    context: &Context,
    now: Timestamp,
) -> Option<Unavailable<'c>> {
    let doc = &content.doc;
    let audience = &doc.availability.audience;
    let personalised =
        !(audience.all_of.is_empty() && audience.any_of.is_empty() && audience.none_of.is_empty());
    if !context.published {
        Some(Unavailable::NotPublished)
    } else if content.from.is_some_and(|f| now < f) || content.until.is_some_and(|u| now >= u) {
        Some(Unavailable::OutsideWindow(doc))
    } else if let Some(c) = context
        .channel
        .filter(|c| !doc.availability.channels.contains(c))
    {
        Some(Unavailable::ChannelNotOffered(c))
    } else if let Some(p) = content
        .partner_set()
        .intersection(&context.inactive_partners)
        .next()
    {
        Some(Unavailable::PartnerNotActive(*p))
    } else if let Some(p) = context.not_accepted.iter().next() {
        Some(Unavailable::PartnerNotAccepted(*p))
    } else if objected && personalised {
        Some(Unavailable::CustomerObjected)
    } else if let Some(n) = audience.all_of.iter().find(|n| !matched(n)) {
        Some(Unavailable::AudienceAllOf(n))
    } else if !audience.any_of.is_empty() && !audience.any_of.iter().any(matched) {
        Some(Unavailable::AudienceAnyOf(&audience.any_of))
    } else {
        audience
            .none_of
            .iter()
            .find(|n| matched(n))
            .map(|n| Unavailable::AudienceNoneOf(n))
    }
}

/// A customer's persona memberships for one decision: each persona version is evaluated at
/// most once (without explanation), whatever the number of propositions using it; and the
/// decision's parameters, as conditions and schemas read them.
pub struct Memberships<'a> {
    personas: &'a PersonaCatalogue,
    data: Facts,
    params: Value,
    objected: bool,
    known: rustc_hash::FxHashMap<usize, bool>,
    /// By slot of a screening order: 0 not looked up yet, 1 no, 2 yes.
    slots: Vec<u8>,
}

impl<'a> Memberships<'a> {
    /// The memberships of `subject`, for a decision with `params`.
    pub fn new(
        personas: &'a PersonaCatalogue,
        subject: &Subject,
        params: &Map<String, Value>,
    ) -> Self {
        Self {
            personas,
            data: Facts::of(&data_of(subject, &Map::new(), &Map::new())),
            params: Value::Object(params.clone()),
            objected: subject.objected,
            known: rustc_hash::FxHashMap::default(),
            slots: Vec::new(),
        }
    }

    /// [`Self::matches`] for the persona version a screening order keeps in `slot`: looked
    /// up by name once per decision.
    pub fn matches_slot(&mut self, slot: usize, name: &str, version: u32) -> bool {
        if self.slots.len() <= slot {
            self.slots.resize(slot + 1, 0);
        }
        match self.slots[slot] {
            0 => {
                let m = self.matches(name, version);
                self.slots[slot] = 1 + u8::from(m);
                m
            }
            known => known == 2,
        }
    }

    /// Whether the customer belongs to persona `name` at `version` (an unknown persona: no).
    pub fn matches(&mut self, name: &str, version: u32) -> bool {
        if self.objected {
            return false;
        }
        let Some(persona) = self.personas.version(name, version) else {
            return false;
        };
        // Keyed by the catalogue's entry: nothing allocated, nothing hashed but an address.
        let key = std::ptr::from_ref(persona) as usize;
        if let Some(&m) = self.known.get(&key) {
            return m;
        }
        let m = persona.condition.holds_for(&self.data);
        self.known.insert(key, m);
        m
    }
}

/// What a decision needs before it explains anything: whether `content` is available (or
/// the first reason not) and the personas the customer matched, with each persona evaluated
/// once per decision and no explanation built. The parameters (those given to
/// [`Memberships::new`]) are checked against the version's schema only when it is otherwise
/// available (a decision reports the availability reason first); then it agrees with
/// [`evaluate`] (tested).
pub fn screen<'c>(
    content: &'c PropositionContent,
    memberships: &mut Memberships<'_>,
    context: &Context,
    now: Timestamp,
) -> Result<(Option<Unavailable<'c>>, Vec<&'c str>), Invalid> {
    let matched: Vec<&'c str> = content
        .doc
        .personas
        .iter()
        .filter(|(name, version)| memberships.matches(name, **version))
        .map(|(name, _)| name.as_str())
        .collect();
    let is_matched = |n: &String| matched.contains(&n.as_str());
    let objected = memberships.objected;
    let excluded = availability(content, &is_matched, objected, context, now);
    if excluded.is_none()
        && !content.parameters.is_valid(&memberships.params)
        && let Some(e) = content.parameters.iter_errors(&memberships.params).next()
    {
        return Err(Invalid::new(
            format!("/params{}", e.instance_path().as_str()),
            e.to_string(),
        ));
    }
    Ok((excluded, matched))
}
