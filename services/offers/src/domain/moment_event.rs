//! The events of moments, the moment catalogue and the trigger rules, and their stored schema:
//! one `…V1` struct per type, apart from the domain enums, so that the stored contract changes
//! only by a new version.

use ecohub_kernel::{DecodeError, DomainEvent, Timestamp};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::PropositionId;
use super::contact_event::{DecisionId, OfferId};
use super::expression::Condition;
use super::moment::{MomentId, MomentTypeDefinition, ReceivedMoment, RuleMatch};
use super::trigger::TriggerRuleDefinition;

/// An event of the moment catalogue.
#[derive(Debug, Clone, PartialEq)]
pub enum MomentTypeEvent {
    /// `MomentTypeDefined`: staff defined a type or changed one (a default's too).
    Defined {
        /// The definition.
        definition: MomentTypeDefinition,
        /// 1 when first defined by staff.
        revision: u32,
        /// Who.
        by: String,
        /// When.
        at: Timestamp,
    },
}

/// An event of the trigger rules.
#[derive(Debug, Clone, PartialEq)]
pub enum TriggerRuleEvent {
    /// `TriggerRuleDefined`: staff defined or changed a rule.
    Defined {
        /// The definition.
        definition: TriggerRuleDefinition,
        /// 1 when first defined.
        revision: u32,
        /// Who.
        by: String,
        /// When.
        at: Timestamp,
    },
}

/// An event of a moment. Personal data (the customer, the payload) is in the payload only.
#[derive(Debug, Clone, PartialEq)]
pub enum MomentEvent {
    /// `MomentReceived`: accepted (HTTP 202), to be triggered.
    Received {
        /// The moment.
        moment: ReceivedMoment,
        /// When.
        at: Timestamp,
    },
    /// `MomentRefused`: refused (no consent, an objection), recorded without the payload.
    Refused {
        /// The hub's id.
        id: MomentId,
        /// The provider's id.
        moment_id: String,
        /// Who sent it.
        provider: String,
        /// Its type.
        moment_type: String,
        /// The customer, when resolved.
        customer_id: Option<String>,
        /// Why (`no_consent`, `customer_objected`).
        code: String,
        /// When.
        at: Timestamp,
    },
    /// `TriggerMatched`: rules matched; their propositions were decided in `decision_id`.
    TriggerMatched {
        /// The moment.
        id: MomentId,
        /// The rules, with their explanations.
        matches: Vec<RuleMatch>,
        /// The decision the offers were made in.
        decision_id: DecisionId,
        /// When.
        at: Timestamp,
    },
    /// `TriggerDecided`: the matched rules' decision is in the customer's ledger, with these
    /// offers (empty: the contact policies or availability held every one back).
    Decided {
        /// The moment.
        id: MomentId,
        /// The decision.
        decision_id: DecisionId,
        /// The offers made.
        offers: Vec<OfferId>,
        /// When.
        at: Timestamp,
    },
    /// `TriggerNotMatched`: no active rule matched.
    NotMatched {
        /// The moment.
        id: MomentId,
        /// When.
        at: Timestamp,
    },
}

impl MomentTypeEvent {
    /// Every stored type name.
    pub const TYPES: [&'static str; 1] = ["MomentTypeDefined"];
}

impl TriggerRuleEvent {
    /// Every stored type name.
    pub const TYPES: [&'static str; 1] = ["TriggerRuleDefined"];
}

impl MomentEvent {
    /// Every stored type name.
    pub const TYPES: [&'static str; 5] = [
        "MomentReceived",
        "MomentRefused",
        "TriggerMatched",
        "TriggerNotMatched",
        "TriggerDecided",
    ];
}

fn to_value<T: Serialize>(v: &T) -> Value {
    serde_json::to_value(v).expect("stored payloads serialise")
}

fn from_value<T: DeserializeOwned>(t: &str, data: &Value) -> Result<T, DecodeError> {
    DecodeError::parse(t, data)
}

fn malformed(t: &str, message: impl ToString) -> DecodeError {
    DecodeError::Malformed {
        event_type: t.to_owned(),
        reason: message.to_string(),
    }
}

#[derive(Serialize, Deserialize)]
struct MomentTypeDefinedV1 {
    name: String,
    description: String,
    providers: Vec<String>,
    schema: Value,
    revision: u32,
    by: String,
    at: Timestamp,
}

impl DomainEvent for MomentTypeEvent {
    fn event_type(&self) -> &'static str {
        Self::TYPES[0]
    }
    fn event_version(&self) -> u16 {
        1
    }
    fn encode(&self) -> Value {
        let MomentTypeEvent::Defined {
            definition,
            revision,
            by,
            at,
        } = self.clone();
        to_value(&MomentTypeDefinedV1 {
            name: definition.name,
            description: definition.description,
            providers: definition.providers,
            schema: definition.schema,
            revision,
            by,
            at,
        })
    }
    fn decode(t: &str, v: u16, data: &Value) -> Result<Self, DecodeError> {
        DecodeError::check_known(t, v, &Self::TYPES, 1)?;
        let d: MomentTypeDefinedV1 = from_value(t, data)?;
        Ok(MomentTypeEvent::Defined {
            definition: MomentTypeDefinition {
                name: d.name,
                description: d.description,
                providers: d.providers,
                schema: d.schema,
            },
            revision: d.revision,
            by: d.by,
            at: d.at,
        })
    }
}

#[derive(Serialize, Deserialize)]
struct TriggerRuleDefinedV1 {
    name: String,
    reason: String,
    moment_type: String,
    condition: Value,
    propositions: Vec<PropositionId>,
    validity_days: u32,
    priority: u32,
    active: bool,
    revision: u32,
    by: String,
    at: Timestamp,
}

impl DomainEvent for TriggerRuleEvent {
    fn event_type(&self) -> &'static str {
        Self::TYPES[0]
    }
    fn event_version(&self) -> u16 {
        1
    }
    fn encode(&self) -> Value {
        let TriggerRuleEvent::Defined {
            definition: d,
            revision,
            by,
            at,
        } = self.clone();
        to_value(&TriggerRuleDefinedV1 {
            name: d.name,
            reason: d.reason,
            moment_type: d.moment_type,
            condition: d.condition.rule().clone(),
            propositions: d.propositions,
            validity_days: d.validity_days,
            priority: d.priority,
            active: d.active,
            revision,
            by,
            at,
        })
    }
    fn decode(t: &str, v: u16, data: &Value) -> Result<Self, DecodeError> {
        DecodeError::check_known(t, v, &Self::TYPES, 1)?;
        let d: TriggerRuleDefinedV1 = from_value(t, data)?;
        Ok(TriggerRuleEvent::Defined {
            definition: TriggerRuleDefinition {
                name: d.name,
                reason: d.reason,
                moment_type: d.moment_type,
                condition: Condition::stored(&d.condition).map_err(|e| malformed(t, e))?,
                propositions: d.propositions,
                validity_days: d.validity_days,
                priority: d.priority,
                active: d.active,
            },
            revision: d.revision,
            by: d.by,
            at: d.at,
        })
    }
}

#[derive(Serialize, Deserialize)]
struct MomentReceivedV1 {
    id: MomentId,
    moment_id: String,
    provider: String,
    moment_type: String,
    type_revision: u32,
    customer_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    occurred_at: Option<Timestamp>,
    payload: Map<String, Value>,
    at: Timestamp,
}

#[derive(Serialize, Deserialize)]
struct MomentRefusedV1 {
    id: MomentId,
    moment_id: String,
    provider: String,
    moment_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    customer_id: Option<String>,
    code: String,
    at: Timestamp,
}

#[derive(Serialize, Deserialize)]
struct TriggerMatchedV1 {
    id: MomentId,
    matches: Vec<RuleMatch>,
    decision_id: DecisionId,
    at: Timestamp,
}

#[derive(Serialize, Deserialize)]
struct TriggerDecidedV1 {
    id: MomentId,
    decision_id: DecisionId,
    offers: Vec<OfferId>,
    at: Timestamp,
}

#[derive(Serialize, Deserialize)]
struct TriggerNotMatchedV1 {
    id: MomentId,
    at: Timestamp,
}

impl DomainEvent for MomentEvent {
    fn event_type(&self) -> &'static str {
        match self {
            MomentEvent::Received { .. } => Self::TYPES[0],
            MomentEvent::Refused { .. } => Self::TYPES[1],
            MomentEvent::TriggerMatched { .. } => Self::TYPES[2],
            MomentEvent::NotMatched { .. } => Self::TYPES[3],
            MomentEvent::Decided { .. } => Self::TYPES[4],
        }
    }
    fn event_version(&self) -> u16 {
        1
    }
    fn encode(&self) -> Value {
        match self.clone() {
            MomentEvent::Received { moment: m, at } => to_value(&MomentReceivedV1 {
                id: m.id,
                moment_id: m.moment_id,
                provider: m.provider,
                moment_type: m.moment_type,
                type_revision: m.type_revision,
                customer_id: m.customer_id,
                occurred_at: m.occurred_at,
                payload: m.payload,
                at,
            }),
            MomentEvent::Refused {
                id,
                moment_id,
                provider,
                moment_type,
                customer_id,
                code,
                at,
            } => to_value(&MomentRefusedV1 {
                id,
                moment_id,
                provider,
                moment_type,
                customer_id,
                code,
                at,
            }),
            MomentEvent::TriggerMatched {
                id,
                matches,
                decision_id,
                at,
            } => to_value(&TriggerMatchedV1 {
                id,
                matches,
                decision_id,
                at,
            }),
            MomentEvent::NotMatched { id, at } => to_value(&TriggerNotMatchedV1 { id, at }),
            MomentEvent::Decided {
                id,
                decision_id,
                offers,
                at,
            } => to_value(&TriggerDecidedV1 {
                id,
                decision_id,
                offers,
                at,
            }),
        }
    }
    fn decode(t: &str, v: u16, data: &Value) -> Result<Self, DecodeError> {
        DecodeError::check_known(t, v, &Self::TYPES, 1)?;
        Ok(match t {
            "MomentReceived" => {
                let m: MomentReceivedV1 = from_value(t, data)?;
                MomentEvent::Received {
                    moment: ReceivedMoment {
                        id: m.id,
                        moment_id: m.moment_id,
                        provider: m.provider,
                        moment_type: m.moment_type,
                        type_revision: m.type_revision,
                        customer_id: m.customer_id,
                        occurred_at: m.occurred_at,
                        payload: m.payload,
                    },
                    at: m.at,
                }
            }
            "MomentRefused" => {
                let m: MomentRefusedV1 = from_value(t, data)?;
                MomentEvent::Refused {
                    id: m.id,
                    moment_id: m.moment_id,
                    provider: m.provider,
                    moment_type: m.moment_type,
                    customer_id: m.customer_id,
                    code: m.code,
                    at: m.at,
                }
            }
            "TriggerMatched" => {
                let m: TriggerMatchedV1 = from_value(t, data)?;
                MomentEvent::TriggerMatched {
                    id: m.id,
                    matches: m.matches,
                    decision_id: m.decision_id,
                    at: m.at,
                }
            }
            "TriggerDecided" => {
                let m: TriggerDecidedV1 = from_value(t, data)?;
                MomentEvent::Decided {
                    id: m.id,
                    decision_id: m.decision_id,
                    offers: m.offers,
                    at: m.at,
                }
            }
            _ => {
                let m: TriggerNotMatchedV1 = from_value(t, data)?;
                MomentEvent::NotMatched { id: m.id, at: m.at }
            }
        })
    }
}
