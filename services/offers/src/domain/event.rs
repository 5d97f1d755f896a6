//! What happened in the offers service, in the past tense, and its stored form.
//!
//! The stored schema lives in the private `stored` module: one versioned payload struct per
//! event type, with plain strings and documents where the domain has checked, compiled
//! types. Renaming a variant or a field here never changes what is stored.

use ecohub_kernel::{DecodeError, DomainEvent, Timestamp};

use super::attribute::AttributeDefinition;
use super::expression::Condition;
use super::proposition::PropositionContent;
use super::{PartnerId, PropositionId};

/// An event of the attribute catalogue.
#[derive(Debug, Clone, PartialEq)]
pub enum CatalogueEvent {
    /// `AttributeDefined`: staff defined or changed an attribute.
    AttributeDefined {
        /// The definition.
        definition: AttributeDefinition,
        /// 1 when first defined.
        revision: u32,
        /// Who.
        by: String,
        /// When.
        at: Timestamp,
    },
}

/// An event of the persona catalogue.
#[derive(Debug, Clone, PartialEq)]
pub enum PersonaEvent {
    /// `PersonaVersionDefined`: staff wrote a persona's first or next version.
    PersonaVersionDefined {
        /// The persona.
        name: String,
        /// Its new version.
        version: u32,
        /// Title.
        title: String,
        /// Description.
        description: String,
        /// The condition.
        condition: Condition,
        /// Who.
        by: String,
        /// When.
        at: Timestamp,
    },
}

/// An event of a proposition. Each carries who or which partner, and when: the history of a
/// proposition is compliance evidence.
#[derive(Debug, Clone, PartialEq)]
pub enum PropositionEvent {
    /// `PropositionDrafted`: a new version was drafted (version 1 creates the proposition).
    Drafted {
        /// The proposition.
        proposition_id: PropositionId,
        /// The new version.
        version: u32,
        /// Its content.
        content: PropositionContent,
        /// Who.
        by: String,
        /// When.
        at: Timestamp,
    },
    /// `PropositionDraftRevised`: a draft's content was replaced.
    DraftRevised {
        /// Which version.
        version: u32,
        /// The new content.
        content: PropositionContent,
        /// Who.
        by: String,
        /// When.
        at: Timestamp,
    },
    /// `PropositionVersionSubmitted`.
    Submitted {
        /// Which version.
        version: u32,
        /// Who.
        by: String,
        /// When.
        at: Timestamp,
    },
    /// `PropositionVersionApproved`: a second person approved.
    Approved {
        /// Which version.
        version: u32,
        /// Who.
        by: String,
        /// When.
        at: Timestamp,
    },
    /// `PropositionVersionRejected`: back to draft.
    Rejected {
        /// Which version.
        version: u32,
        /// Who.
        by: String,
        /// Why.
        reason: String,
        /// When.
        at: Timestamp,
    },
    /// `PropositionCoBrandingAccepted`: a co-brand partner accepted a version.
    CoBrandingAccepted {
        /// Which version.
        version: u32,
        /// The partner.
        partner_id: PartnerId,
        /// When.
        at: Timestamp,
    },
    /// `PropositionCoBrandingWithdrawn`: a co-brand partner withdrew its acceptance.
    CoBrandingWithdrawn {
        /// Which version.
        version: u32,
        /// The partner.
        partner_id: PartnerId,
        /// Why.
        reason: String,
        /// When.
        at: Timestamp,
    },
    /// `PropositionVersionPublished`.
    Published {
        /// Which version.
        version: u32,
        /// Who.
        by: String,
        /// When.
        at: Timestamp,
    },
    /// `PropositionVersionRetired`.
    Retired {
        /// Which version.
        version: u32,
        /// Who.
        by: String,
        /// Why.
        reason: String,
        /// When.
        at: Timestamp,
    },
}

/// An event of a customer's offer preferences (no personal data in the payload: the stream
/// is the customer's).
#[derive(Debug, Clone, PartialEq)]
pub enum PreferenceEvent {
    /// `PersonalisedOffersObjected`: the customer objected (GDPR Art. 21).
    PersonalisedOffersObjected {
        /// When.
        at: Timestamp,
    },
    /// `PersonalisedOffersAllowed`: the customer withdrew the objection.
    PersonalisedOffersAllowed {
        /// When.
        at: Timestamp,
    },
}

impl PreferenceEvent {
    const TYPES: [&'static str; 2] = ["PersonalisedOffersObjected", "PersonalisedOffersAllowed"];
}

impl DomainEvent for PreferenceEvent {
    fn event_type(&self) -> &'static str {
        match self {
            PreferenceEvent::PersonalisedOffersObjected { .. } => Self::TYPES[0],
            PreferenceEvent::PersonalisedOffersAllowed { .. } => Self::TYPES[1],
        }
    }
    fn event_version(&self) -> u16 {
        1
    }
    fn encode(&self) -> serde_json::Value {
        stored::encode_preference(self)
    }
    fn decode(t: &str, v: u16, data: &serde_json::Value) -> Result<Self, DecodeError> {
        DecodeError::check_known(t, v, &Self::TYPES, 1)?;
        stored::decode_preference(t, data)
    }
}

impl CatalogueEvent {
    const TYPES: [&'static str; 1] = ["AttributeDefined"];
}

impl PersonaEvent {
    const TYPES: [&'static str; 1] = ["PersonaVersionDefined"];
}

impl PropositionEvent {
    const TYPES: [&'static str; 9] = [
        "PropositionDrafted",
        "PropositionDraftRevised",
        "PropositionVersionSubmitted",
        "PropositionVersionApproved",
        "PropositionVersionRejected",
        "PropositionCoBrandingAccepted",
        "PropositionCoBrandingWithdrawn",
        "PropositionVersionPublished",
        "PropositionVersionRetired",
    ];

    /// The version the event is about.
    pub fn version(&self) -> u32 {
        use PropositionEvent as E;
        match self {
            E::Drafted { version, .. }
            | E::DraftRevised { version, .. }
            | E::Submitted { version, .. }
            | E::Approved { version, .. }
            | E::Rejected { version, .. }
            | E::CoBrandingAccepted { version, .. }
            | E::CoBrandingWithdrawn { version, .. }
            | E::Published { version, .. }
            | E::Retired { version, .. } => *version,
        }
    }
}

impl DomainEvent for CatalogueEvent {
    fn event_type(&self) -> &'static str {
        Self::TYPES[0]
    }
    fn event_version(&self) -> u16 {
        1
    }
    fn encode(&self) -> serde_json::Value {
        stored::encode_catalogue(self)
    }
    fn decode(t: &str, v: u16, data: &serde_json::Value) -> Result<Self, DecodeError> {
        DecodeError::check_known(t, v, &Self::TYPES, 1)?;
        stored::decode_catalogue(t, data)
    }
}

impl DomainEvent for PersonaEvent {
    fn event_type(&self) -> &'static str {
        Self::TYPES[0]
    }
    fn event_version(&self) -> u16 {
        1
    }
    fn encode(&self) -> serde_json::Value {
        stored::encode_persona(self)
    }
    fn decode(t: &str, v: u16, data: &serde_json::Value) -> Result<Self, DecodeError> {
        DecodeError::check_known(t, v, &Self::TYPES, 1)?;
        stored::decode_persona(t, data)
    }
}

impl DomainEvent for PropositionEvent {
    fn event_type(&self) -> &'static str {
        use PropositionEvent as E;
        let i = match self {
            E::Drafted { .. } => 0,
            E::DraftRevised { .. } => 1,
            E::Submitted { .. } => 2,
            E::Approved { .. } => 3,
            E::Rejected { .. } => 4,
            E::CoBrandingAccepted { .. } => 5,
            E::CoBrandingWithdrawn { .. } => 6,
            E::Published { .. } => 7,
            E::Retired { .. } => 8,
        };
        Self::TYPES[i]
    }
    fn event_version(&self) -> u16 {
        1
    }
    fn encode(&self) -> serde_json::Value {
        stored::encode_proposition(self)
    }
    fn decode(t: &str, v: u16, data: &serde_json::Value) -> Result<Self, DecodeError> {
        DecodeError::check_known(t, v, &Self::TYPES, 1)?;
        stored::decode_proposition(t, data)
    }
}

/// The stored schema, version 1 of every event type.
mod stored {
    use serde::de::DeserializeOwned;
    use serde::{Deserialize, Serialize};
    use serde_json::Value;

    use super::*;
    use crate::domain::attribute::{AttributeSource, AttributeType};
    use crate::domain::document::PropositionDoc;

    fn to_value<T: Serialize>(v: &T) -> Value {
        serde_json::to_value(v).expect("stored payloads serialise")
    }

    fn from_value<T: DeserializeOwned>(t: &str, data: &Value) -> Result<T, DecodeError> {
        serde_json::from_value(data.clone()).map_err(|e| DecodeError::Malformed {
            event_type: t.to_owned(),
            reason: e.to_string(),
        })
    }

    fn malformed(t: &str, message: impl ToString) -> DecodeError {
        DecodeError::Malformed {
            event_type: t.to_owned(),
            reason: message.to_string(),
        }
    }

    #[derive(Serialize, Deserialize)]
    struct PreferenceV1 {
        at: Timestamp,
    }

    pub(super) fn encode_preference(e: &PreferenceEvent) -> Value {
        let (PreferenceEvent::PersonalisedOffersObjected { at }
        | PreferenceEvent::PersonalisedOffersAllowed { at }) = e;
        to_value(&PreferenceV1 { at: *at })
    }

    pub(super) fn decode_preference(t: &str, data: &Value) -> Result<PreferenceEvent, DecodeError> {
        let PreferenceV1 { at } = from_value(t, data)?;
        Ok(if t == "PersonalisedOffersObjected" {
            PreferenceEvent::PersonalisedOffersObjected { at }
        } else {
            PreferenceEvent::PersonalisedOffersAllowed { at }
        })
    }

    #[derive(Serialize, Deserialize)]
    struct AttributeDefinedV1 {
        name: String,
        r#type: AttributeType,
        description: String,
        dataset: String,
        pointer: String,
        revision: u32,
        by: String,
        at: Timestamp,
    }

    pub(super) fn encode_catalogue(e: &CatalogueEvent) -> Value {
        let CatalogueEvent::AttributeDefined {
            definition: d,
            revision,
            by,
            at,
        } = e;
        to_value(&AttributeDefinedV1 {
            name: d.name.clone(),
            r#type: d.r#type,
            description: d.description.clone(),
            dataset: d.source.dataset.clone(),
            pointer: d.source.pointer.clone(),
            revision: *revision,
            by: by.clone(),
            at: *at,
        })
    }

    pub(super) fn decode_catalogue(t: &str, data: &Value) -> Result<CatalogueEvent, DecodeError> {
        let p: AttributeDefinedV1 = from_value(t, data)?;
        Ok(CatalogueEvent::AttributeDefined {
            definition: AttributeDefinition {
                name: p.name,
                r#type: p.r#type,
                description: p.description,
                source: AttributeSource {
                    dataset: p.dataset,
                    pointer: p.pointer,
                },
            },
            revision: p.revision,
            by: p.by,
            at: p.at,
        })
    }

    #[derive(Serialize, Deserialize)]
    struct PersonaVersionDefinedV1 {
        name: String,
        version: u32,
        title: String,
        description: String,
        condition: Value,
        by: String,
        at: Timestamp,
    }

    pub(super) fn encode_persona(e: &PersonaEvent) -> Value {
        let PersonaEvent::PersonaVersionDefined {
            name,
            version,
            title,
            description,
            condition,
            by,
            at,
        } = e;
        to_value(&PersonaVersionDefinedV1 {
            name: name.clone(),
            version: *version,
            title: title.clone(),
            description: description.clone(),
            condition: condition.rule().clone(),
            by: by.clone(),
            at: *at,
        })
    }

    pub(super) fn decode_persona(t: &str, data: &Value) -> Result<PersonaEvent, DecodeError> {
        let p: PersonaVersionDefinedV1 = from_value(t, data)?;
        Ok(PersonaEvent::PersonaVersionDefined {
            condition: Condition::stored(&p.condition).map_err(|e| malformed(t, e))?,
            name: p.name,
            version: p.version,
            title: p.title,
            description: p.description,
            by: p.by,
            at: p.at,
        })
    }

    #[derive(Serialize, Deserialize)]
    struct DraftedV1 {
        proposition_id: PropositionId,
        version: u32,
        content: Value,
        by: String,
        at: Timestamp,
    }

    #[derive(Serialize, Deserialize)]
    struct RevisedV1 {
        version: u32,
        content: Value,
        by: String,
        at: Timestamp,
    }

    #[derive(Serialize, Deserialize)]
    struct ByV1 {
        version: u32,
        by: String,
        at: Timestamp,
    }

    #[derive(Serialize, Deserialize)]
    struct ByReasonV1 {
        version: u32,
        by: String,
        reason: String,
        at: Timestamp,
    }

    #[derive(Serialize, Deserialize)]
    struct PartnerV1 {
        version: u32,
        partner_id: PartnerId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
        at: Timestamp,
    }

    fn content(t: &str, v: &Value) -> Result<PropositionContent, DecodeError> {
        let doc: PropositionDoc = from_value(t, v)?;
        PropositionContent::stored(doc).map_err(|e| malformed(t, e))
    }

    pub(super) fn encode_proposition(e: &PropositionEvent) -> Value {
        use PropositionEvent as E;
        let by = |version: &u32, by: &String, at: &Timestamp| {
            to_value(&ByV1 {
                version: *version,
                by: by.clone(),
                at: *at,
            })
        };
        let by_reason = |version: &u32, by: &String, reason: &String, at: &Timestamp| {
            to_value(&ByReasonV1 {
                version: *version,
                by: by.clone(),
                reason: reason.clone(),
                at: *at,
            })
        };
        match e {
            E::Drafted {
                proposition_id,
                version,
                content,
                by,
                at,
            } => to_value(&DraftedV1 {
                proposition_id: *proposition_id,
                version: *version,
                content: to_value(&*content.doc),
                by: by.clone(),
                at: *at,
            }),
            E::DraftRevised {
                version,
                content,
                by,
                at,
            } => to_value(&RevisedV1 {
                version: *version,
                content: to_value(&*content.doc),
                by: by.clone(),
                at: *at,
            }),
            E::Submitted { version, by: b, at }
            | E::Approved { version, by: b, at }
            | E::Published { version, by: b, at } => by(version, b, at),
            E::Rejected {
                version,
                by,
                reason,
                at,
            }
            | E::Retired {
                version,
                by,
                reason,
                at,
            } => by_reason(version, by, reason, at),
            E::CoBrandingAccepted {
                version,
                partner_id,
                at,
            } => to_value(&PartnerV1 {
                version: *version,
                partner_id: *partner_id,
                reason: None,
                at: *at,
            }),
            E::CoBrandingWithdrawn {
                version,
                partner_id,
                reason,
                at,
            } => to_value(&PartnerV1 {
                version: *version,
                partner_id: *partner_id,
                reason: Some(reason.clone()),
                at: *at,
            }),
        }
    }

    pub(super) fn decode_proposition(
        t: &str,
        data: &Value,
    ) -> Result<PropositionEvent, DecodeError> {
        use PropositionEvent as E;
        Ok(match t {
            "PropositionDrafted" => {
                let p: DraftedV1 = from_value(t, data)?;
                E::Drafted {
                    proposition_id: p.proposition_id,
                    version: p.version,
                    content: content(t, &p.content)?,
                    by: p.by,
                    at: p.at,
                }
            }
            "PropositionDraftRevised" => {
                let p: RevisedV1 = from_value(t, data)?;
                E::DraftRevised {
                    version: p.version,
                    content: content(t, &p.content)?,
                    by: p.by,
                    at: p.at,
                }
            }
            "PropositionVersionSubmitted"
            | "PropositionVersionApproved"
            | "PropositionVersionPublished" => {
                let ByV1 { version, by, at } = from_value(t, data)?;
                match t {
                    "PropositionVersionSubmitted" => E::Submitted { version, by, at },
                    "PropositionVersionApproved" => E::Approved { version, by, at },
                    _ => E::Published { version, by, at },
                }
            }
            "PropositionVersionRejected" | "PropositionVersionRetired" => {
                let ByReasonV1 {
                    version,
                    by,
                    reason,
                    at,
                } = from_value(t, data)?;
                if t == "PropositionVersionRejected" {
                    E::Rejected {
                        version,
                        by,
                        reason,
                        at,
                    }
                } else {
                    E::Retired {
                        version,
                        by,
                        reason,
                        at,
                    }
                }
            }
            "PropositionCoBrandingAccepted" => {
                let p: PartnerV1 = from_value(t, data)?;
                E::CoBrandingAccepted {
                    version: p.version,
                    partner_id: p.partner_id,
                    at: p.at,
                }
            }
            _ => {
                let p: PartnerV1 = from_value(t, data)?;
                E::CoBrandingWithdrawn {
                    version: p.version,
                    partner_id: p.partner_id,
                    reason: p.reason.unwrap_or_default(),
                    at: p.at,
                }
            }
        })
    }
}
