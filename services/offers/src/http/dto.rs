//! The bodies of the offers API. The proposition document itself is
//! [`crate::domain::PropositionDoc`] (version 1 of a public contract shared with the store).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::schema;
use crate::application::HistoryEntry;
use crate::domain::{
    Attribute, AttributeSource, AttributeType, Channel, Evaluation, Persona, PersonaMatch,
    Proposition, PropositionDoc, PropositionEvent, Version, VersionStatus,
};

/// An attribute as staff define it (`PUT /offers/attributes/{name}`).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"type": "number", "description": "Net monthly income",
                          "source": {"dataset": "customer_profile", "pointer": "/monthly_income"}}))]
pub struct AttributeRequest {
    /// Its type (it never changes once defined).
    pub r#type: AttributeType,
    /// What it means (1 to 500 characters).
    #[schema(schema_with = schema::attribute_description)]
    pub description: String,
    /// Where its values come from.
    pub source: AttributeSource,
}

/// An attribute of the catalogue.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AttributeView {
    /// Its name in conditions.
    pub name: String,
    /// Its type.
    pub r#type: AttributeType,
    /// What it means.
    pub description: String,
    /// Where its values come from.
    pub source: AttributeSource,
    /// 1 when first defined, +1 per change.
    pub revision: u32,
    /// Who last defined it.
    pub defined_by: String,
    /// When (RFC 3339).
    pub defined_at: String,
}

impl From<&Attribute> for AttributeView {
    fn from(a: &Attribute) -> Self {
        Self {
            name: a.definition.name.clone(),
            r#type: a.definition.r#type,
            description: a.definition.description.clone(),
            source: a.definition.source.clone(),
            revision: a.revision,
            defined_by: a.by.clone(),
            defined_at: a.at.to_rfc3339(),
        }
    }
}

/// The attribute catalogue.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AttributeList {
    /// Every attribute, by name.
    pub attributes: Vec<AttributeView>,
}

/// A persona's next version (`PUT /offers/personas/{name}`).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonaRequest {
    /// Display title (1 to 200 characters).
    #[schema(schema_with = schema::persona_title)]
    pub title: String,
    /// What it is for (1 to 2000 characters).
    #[schema(schema_with = schema::persona_description)]
    pub description: String,
    /// Who belongs to it: a JSONLogic condition over attribute names (`==`, `!=`, `<`,
    /// `<=`, `>`, `>=`, `in`, `and`, `or`, `!`, `var`).
    #[schema(schema_with = crate::domain::document_schema::persona_condition)]
    pub condition: Value,
}

/// One version of a persona.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PersonaVersionView {
    /// 1, 2, …
    pub version: u32,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// The condition.
    #[schema(schema_with = crate::domain::document_schema::condition)]
    pub condition: Value,
    /// Who wrote it.
    pub defined_by: String,
    /// When (RFC 3339).
    pub defined_at: String,
}

/// A persona with all its versions, oldest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PersonaView {
    /// Its name.
    pub name: String,
    /// The newest version's number.
    pub latest_version: u32,
    /// Every version.
    pub versions: Vec<PersonaVersionView>,
}

impl From<&Persona> for PersonaView {
    fn from(p: &Persona) -> Self {
        Self {
            name: p.name.clone(),
            latest_version: p.latest().version,
            versions: p
                .versions
                .iter()
                .map(|v| PersonaVersionView {
                    version: v.version,
                    title: v.title.clone(),
                    description: v.description.clone(),
                    condition: v.condition.rule().clone(),
                    defined_by: v.by.clone(),
                    defined_at: v.at.to_rfc3339(),
                })
                .collect(),
        }
    }
}

/// Every persona.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PersonaList {
    /// By name.
    pub personas: Vec<PersonaView>,
}

/// A persona dry run's subject.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonaDryRunRequest {
    /// The bank's customer id.
    pub customer_id: String,
    /// The version (default: the latest).
    #[serde(default, deserialize_with = "ecohub_kernel::integer::option_u32")]
    pub version: Option<u32>,
}

/// How a persona evaluated for one customer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PersonaDryRunView {
    /// The result and its explanation.
    #[serde(flatten)]
    pub result: PersonaMatch,
}

/// One version of a proposition.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VersionView {
    /// 1, 2, …
    pub version: u32,
    /// Where it stands.
    pub status: VersionStatus,
    /// Its content (every persona pinned).
    pub content: PropositionDoc,
    /// Who drafted it.
    pub drafted_by: String,
    /// Who submitted it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub submitted_by: Option<String>,
    /// Who approved it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approved_by: Option<String>,
    /// Co-brand partners that accepted it.
    pub accepted_by: Vec<String>,
    /// Co-brand partners it waits for.
    pub awaiting_acceptance: Vec<String>,
    /// Why it was last rejected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rejection_reason: Option<String>,
}

impl From<&Version> for VersionView {
    fn from(v: &Version) -> Self {
        Self {
            version: v.number,
            status: v.status,
            content: (*v.content.doc).clone(),
            drafted_by: v.drafted_by.clone(),
            submitted_by: v.submitted_by.clone(),
            approved_by: v.approved_by.clone(),
            accepted_by: v.accepted.iter().map(ToString::to_string).collect(),
            awaiting_acceptance: v.awaiting().iter().map(ToString::to_string).collect(),
            rejection_reason: v.rejection.clone(),
        }
    }
}

/// A proposition with all its versions.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PropositionView {
    /// Its id.
    pub id: String,
    /// The newest version's name.
    pub name: String,
    /// The published version's number, if one is published.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub published_version: Option<u32>,
    /// Every version, oldest first.
    pub versions: Vec<VersionView>,
}

impl From<&Proposition> for PropositionView {
    fn from(p: &Proposition) -> Self {
        Self {
            id: p.id.map(|i| i.to_string()).unwrap_or_default(),
            name: p
                .versions
                .last()
                .map(|v| v.content.doc.name.clone())
                .unwrap_or_default(),
            published_version: p.published().map(|v| v.number),
            versions: p.versions.iter().map(VersionView::from).collect(),
        }
    }
}

/// Propositions.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PropositionList {
    /// In creation order.
    pub propositions: Vec<PropositionView>,
}

/// A reason (rejection, withdrawal, retirement). Named `PropositionReason` in the document,
/// apart from the partners' `ReasonRequest`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = PropositionReason)]
pub struct ReasonRequest {
    /// Why (1 to 500 characters).
    #[schema(schema_with = schema::reason)]
    pub reason: String,
}

/// One entry of a proposition's history.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HistoryItem {
    /// The event type (`PropositionVersionApproved`, …).
    pub r#type: String,
    /// The version it is about.
    pub version: u32,
    /// Who (`client:<id>`, the staff member or the partner's client).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// The co-brand partner, for acceptances and withdrawals.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partner_id: Option<String>,
    /// Why, when there is a reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When it was recorded (RFC 3339).
    pub at: String,
}

impl From<&HistoryEntry> for HistoryItem {
    fn from(h: &HistoryEntry) -> Self {
        use PropositionEvent as E;
        use ecohub_kernel::DomainEvent;
        let (partner_id, reason) = match &h.event {
            E::Rejected { reason, .. } | E::Retired { reason, .. } => (None, Some(reason.clone())),
            E::CoBrandingAccepted { partner_id, .. } => (Some(partner_id.to_string()), None),
            E::CoBrandingWithdrawn {
                partner_id, reason, ..
            } => (Some(partner_id.to_string()), Some(reason.clone())),
            _ => (None, None),
        };
        Self {
            r#type: h.event.event_type().to_owned(),
            version: h.event.version(),
            actor: h.actor.clone(),
            partner_id,
            reason,
            at: h.recorded_at.to_rfc3339(),
        }
    }
}

/// A proposition's history, oldest first. Named `PropositionHistory` in the document, apart
/// from the consents' `HistoryView`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = PropositionHistory)]
pub struct HistoryView {
    /// Every change, with who and when.
    pub events: Vec<HistoryItem>,
}

/// A proposition dry run's subject.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"customer_id": "01a23b0e-c0d4-7bc2-85ff-126596396c2d",
                          "channel": "bank_app", "params": {"amount": 15000}}))]
pub struct DryRunRequest {
    /// The bank's customer id (its `customer_profile` records are read).
    pub customer_id: String,
    /// The version (default: the published one, else the newest).
    #[serde(default, deserialize_with = "ecohub_kernel::integer::option_u32")]
    pub version: Option<u32>,
    /// The channel asked for.
    #[serde(default)]
    pub channel: Option<Channel>,
    /// Request parameters, checked against the version's `parameters` schema.
    #[serde(default)]
    #[schema(value_type = Object, example = json!({"amount": 15000}))]
    pub params: Map<String, Value>,
}

/// A proposition evaluated for one customer: available or not and why, at what price.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DryRunView {
    /// The version evaluated.
    pub version: u32,
    /// The evaluation and its explanation.
    #[serde(flatten)]
    pub evaluation: Evaluation,
}

/// Versions created or changed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Created {
    /// The proposition.
    pub id: String,
    /// The version.
    pub version: u32,
    /// Links.
    pub links: BTreeMap<String, String>,
}
