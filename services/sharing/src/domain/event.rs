//! The stored schema of every sharing event, decoupled from the domain types: each event type
//! and version has its own `…V1` struct, [`DomainEvent::encode`] writes it and
//! [`DomainEvent::decode`] reads it back into the domain (the place to upcast a later
//! version). The domain types themselves know nothing of JSON, so changing them never changes
//! what is stored. Type names and versions are a public contract: never renamed; a change
//! adds a version here and upcasts it.

use std::collections::BTreeMap;

use ecohub_kernel::{DecodeError, DomainEvent, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::access::DataAccessed;
use super::catalogue::{DatasetDefinition, DatasetEvent, DirectionRule};
use super::notifications::{
    Attempt, NotificationEvent, Queued, SubscriptionData, SubscriptionEvent,
};
use super::records::{Record, RecordsEvent};

fn to_value<T: Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

// ------------------------------------------------------------------ access

/// `DataAccessed` v1.
#[derive(Serialize, Deserialize)]
struct DataAccessedV1 {
    partner_id: String,
    client_id: String,
    consent_id: String,
    customer: String,
    dataset: String,
    fields: Vec<String>,
    record_count: u64,
    interaction_id: String,
    at: Timestamp,
}

impl DomainEvent for DataAccessed {
    fn event_type(&self) -> &'static str {
        Self::TYPE
    }
    fn event_version(&self) -> u16 {
        1
    }
    fn encode(&self) -> Value {
        to_value(&DataAccessedV1 {
            partner_id: self.partner_id.clone(),
            client_id: self.client_id.clone(),
            consent_id: self.consent_id.clone(),
            customer: self.customer.clone(),
            dataset: self.dataset.clone(),
            fields: self.fields.clone(),
            record_count: self.record_count,
            interaction_id: self.interaction_id.clone(),
            at: self.at,
        })
    }
    fn decode(event_type: &str, event_version: u16, data: &Value) -> Result<Self, DecodeError> {
        DecodeError::check_known(event_type, event_version, &[Self::TYPE], 1)?;
        let v: DataAccessedV1 = DecodeError::parse(event_type, data)?;
        Ok(DataAccessed {
            partner_id: v.partner_id,
            client_id: v.client_id,
            consent_id: v.consent_id,
            customer: v.customer,
            dataset: v.dataset,
            fields: v.fields,
            record_count: v.record_count,
            interaction_id: v.interaction_id,
            at: v.at,
        })
    }
}

// ------------------------------------------------------------------ records

/// One record inside `RecordsPublished` v1.
#[derive(Serialize, Deserialize)]
struct RecordV1 {
    id: String,
    data: Value,
}

/// `RecordsPublished` v1.
#[derive(Serialize, Deserialize)]
struct RecordsPublishedV1 {
    dataset: String,
    provider: String,
    customer_id: String,
    records: Vec<RecordV1>,
    at: Timestamp,
}

impl DomainEvent for RecordsEvent {
    fn event_type(&self) -> &'static str {
        Self::PUBLISHED
    }
    fn event_version(&self) -> u16 {
        1
    }
    fn encode(&self) -> Value {
        let RecordsEvent::RecordsPublished {
            dataset,
            provider,
            customer_id,
            records,
            at,
        } = self;
        to_value(&RecordsPublishedV1 {
            dataset: dataset.clone(),
            provider: provider.clone(),
            customer_id: customer_id.clone(),
            records: records
                .iter()
                .map(|r| RecordV1 {
                    id: r.id.clone(),
                    data: r.data.clone(),
                })
                .collect(),
            at: *at,
        })
    }
    fn decode(event_type: &str, event_version: u16, data: &Value) -> Result<Self, DecodeError> {
        DecodeError::check_known(event_type, event_version, &[Self::PUBLISHED], 1)?;
        let v: RecordsPublishedV1 = DecodeError::parse(event_type, data)?;
        Ok(RecordsEvent::RecordsPublished {
            dataset: v.dataset,
            provider: v.provider,
            customer_id: v.customer_id,
            records: v
                .records
                .into_iter()
                .map(|r| Record {
                    id: r.id,
                    data: r.data,
                })
                .collect(),
            at: v.at,
        })
    }
}

// ------------------------------------------------------------------ catalogue

/// A direction rule inside a stored definition.
#[derive(Serialize, Deserialize)]
struct DirectionRuleV1 {
    field: String,
    values: BTreeMap<String, Vec<String>>,
}

/// A dataset definition inside `DatasetDefined` v1.
#[derive(Serialize, Deserialize)]
struct DatasetDefinitionV1 {
    name: String,
    #[serde(default)]
    description: String,
    providers: Vec<String>,
    schema: Value,
    fields: BTreeMap<String, Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    direction: Option<DirectionRuleV1>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    time_field: Option<String>,
}

impl From<&DatasetDefinition> for DatasetDefinitionV1 {
    fn from(d: &DatasetDefinition) -> Self {
        Self {
            name: d.name.clone(),
            description: d.description.clone(),
            providers: d.providers.clone(),
            schema: d.schema.clone(),
            fields: d.fields.clone(),
            direction: d.direction.as_ref().map(|r| DirectionRuleV1 {
                field: r.field.clone(),
                values: r.values.clone(),
            }),
            time_field: d.time_field.clone(),
        }
    }
}

impl From<DatasetDefinitionV1> for DatasetDefinition {
    fn from(d: DatasetDefinitionV1) -> Self {
        Self {
            name: d.name,
            description: d.description,
            providers: d.providers,
            schema: d.schema,
            fields: d.fields,
            direction: d.direction.map(|r| DirectionRule {
                field: r.field,
                values: r.values,
            }),
            time_field: d.time_field,
        }
    }
}

/// `DatasetDefined` v1.
#[derive(Serialize, Deserialize)]
struct DatasetDefinedV1 {
    definition: DatasetDefinitionV1,
    by: String,
    at: Timestamp,
}

impl DomainEvent for DatasetEvent {
    fn event_type(&self) -> &'static str {
        Self::DEFINED
    }
    fn event_version(&self) -> u16 {
        1
    }
    fn encode(&self) -> Value {
        let DatasetEvent::DatasetDefined { definition, by, at } = self;
        to_value(&DatasetDefinedV1 {
            definition: definition.into(),
            by: by.clone(),
            at: *at,
        })
    }
    fn decode(event_type: &str, event_version: u16, data: &Value) -> Result<Self, DecodeError> {
        DecodeError::check_known(event_type, event_version, &[Self::DEFINED], 1)?;
        let v: DatasetDefinedV1 = DecodeError::parse(event_type, data)?;
        Ok(DatasetEvent::DatasetDefined {
            definition: v.definition.into(),
            by: v.by,
            at: v.at,
        })
    }
}

// ------------------------------------------------------------------ subscriptions

/// `EventSubscriptionCreated` v1.
#[derive(Serialize, Deserialize)]
struct SubscriptionCreatedV1 {
    subscription_id: String,
    partner_id: String,
    url: String,
    event_types: Vec<String>,
    created_at: Timestamp,
}

/// `EventSubscriptionDeleted` v1.
#[derive(Serialize, Deserialize)]
struct SubscriptionDeletedV1 {
    subscription_id: String,
    partner_id: String,
    at: Timestamp,
}

impl DomainEvent for SubscriptionEvent {
    fn event_type(&self) -> &'static str {
        match self {
            SubscriptionEvent::Created(_) => Self::CREATED,
            SubscriptionEvent::Deleted { .. } => Self::DELETED,
        }
    }
    fn event_version(&self) -> u16 {
        1
    }
    fn encode(&self) -> Value {
        match self {
            SubscriptionEvent::Created(d) => to_value(&SubscriptionCreatedV1 {
                subscription_id: d.subscription_id.clone(),
                partner_id: d.partner_id.clone(),
                url: d.url.clone(),
                event_types: d.event_types.clone(),
                created_at: d.created_at,
            }),
            SubscriptionEvent::Deleted {
                subscription_id,
                partner_id,
                at,
            } => to_value(&SubscriptionDeletedV1 {
                subscription_id: subscription_id.clone(),
                partner_id: partner_id.clone(),
                at: *at,
            }),
        }
    }
    fn decode(event_type: &str, event_version: u16, data: &Value) -> Result<Self, DecodeError> {
        DecodeError::check_known(
            event_type,
            event_version,
            &[Self::CREATED, Self::DELETED],
            1,
        )?;
        if event_type == Self::CREATED {
            let v: SubscriptionCreatedV1 = DecodeError::parse(event_type, data)?;
            Ok(SubscriptionEvent::Created(SubscriptionData {
                subscription_id: v.subscription_id,
                partner_id: v.partner_id,
                url: v.url,
                event_types: v.event_types,
                created_at: v.created_at,
            }))
        } else {
            let v: SubscriptionDeletedV1 = DecodeError::parse(event_type, data)?;
            Ok(SubscriptionEvent::Deleted {
                subscription_id: v.subscription_id,
                partner_id: v.partner_id,
                at: v.at,
            })
        }
    }
}

// ------------------------------------------------------------------ notifications

const QUEUED: &str = "NotificationQueued";
const CLAIMED: &str = "NotificationDeliveryClaimed";
const ATTEMPTED: &str = "NotificationDeliveryAttempted";
const ACKED: &str = "NotificationAcknowledged";
const REJECTED: &str = "NotificationRejected";

/// `NotificationQueued` v1.
#[derive(Serialize, Deserialize)]
struct QueuedV1 {
    jti: String,
    subscription_id: String,
    partner_id: String,
    url: String,
    event_type: String,
    claims: Value,
    at: Timestamp,
}

/// `NotificationDeliveryClaimed` v1.
#[derive(Serialize, Deserialize)]
struct ClaimedV1 {
    attempt: u32,
    instance: String,
    until: Timestamp,
}

/// `NotificationDeliveryAttempted` v1 (absent options are written as `null`).
#[derive(Serialize, Deserialize)]
struct AttemptedV1 {
    attempt: u32,
    status: Option<u16>,
    acknowledged: bool,
    error: Option<String>,
    next_attempt_at: Option<Timestamp>,
    at: Timestamp,
}

/// `NotificationAcknowledged` v1.
#[derive(Serialize, Deserialize)]
struct AcknowledgedV1 {
    at: Timestamp,
}

/// `NotificationRejected` v1.
#[derive(Serialize, Deserialize)]
struct RejectedV1 {
    err: String,
    description: String,
    at: Timestamp,
}

impl DomainEvent for NotificationEvent {
    fn event_type(&self) -> &'static str {
        match self {
            NotificationEvent::Queued(_) => QUEUED,
            NotificationEvent::Claimed { .. } => CLAIMED,
            NotificationEvent::Attempted(_) => ATTEMPTED,
            NotificationEvent::AcknowledgedByPoll { .. } => ACKED,
            NotificationEvent::Rejected { .. } => REJECTED,
        }
    }
    fn event_version(&self) -> u16 {
        1
    }
    fn encode(&self) -> Value {
        match self {
            NotificationEvent::Queued(q) => to_value(&QueuedV1 {
                jti: q.jti.clone(),
                subscription_id: q.subscription_id.clone(),
                partner_id: q.partner_id.clone(),
                url: q.url.clone(),
                event_type: q.event_type.clone(),
                claims: q.claims.clone(),
                at: q.at,
            }),
            NotificationEvent::Claimed {
                attempt,
                instance,
                until,
            } => to_value(&ClaimedV1 {
                attempt: *attempt,
                instance: instance.clone(),
                until: *until,
            }),
            NotificationEvent::Attempted(a) => to_value(&AttemptedV1 {
                attempt: a.attempt,
                status: a.status,
                acknowledged: a.acknowledged,
                error: a.error.clone(),
                next_attempt_at: a.next_attempt_at,
                at: a.at,
            }),
            NotificationEvent::AcknowledgedByPoll { at } => to_value(&AcknowledgedV1 { at: *at }),
            NotificationEvent::Rejected {
                err,
                description,
                at,
            } => to_value(&RejectedV1 {
                err: err.clone(),
                description: description.clone(),
                at: *at,
            }),
        }
    }
    fn decode(event_type: &str, event_version: u16, data: &Value) -> Result<Self, DecodeError> {
        DecodeError::check_known(
            event_type,
            event_version,
            &[QUEUED, CLAIMED, ATTEMPTED, ACKED, REJECTED],
            1,
        )?;
        Ok(match event_type {
            QUEUED => {
                let v: QueuedV1 = DecodeError::parse(event_type, data)?;
                NotificationEvent::Queued(Queued {
                    jti: v.jti,
                    subscription_id: v.subscription_id,
                    partner_id: v.partner_id,
                    url: v.url,
                    event_type: v.event_type,
                    claims: v.claims,
                    at: v.at,
                })
            }
            CLAIMED => {
                let v: ClaimedV1 = DecodeError::parse(event_type, data)?;
                NotificationEvent::Claimed {
                    attempt: v.attempt,
                    instance: v.instance,
                    until: v.until,
                }
            }
            ATTEMPTED => {
                let v: AttemptedV1 = DecodeError::parse(event_type, data)?;
                NotificationEvent::Attempted(Attempt {
                    attempt: v.attempt,
                    status: v.status,
                    acknowledged: v.acknowledged,
                    error: v.error,
                    next_attempt_at: v.next_attempt_at,
                    at: v.at,
                })
            }
            ACKED => {
                let v: AcknowledgedV1 = DecodeError::parse(event_type, data)?;
                NotificationEvent::AcknowledgedByPoll { at: v.at }
            }
            _ => {
                let v: RejectedV1 = DecodeError::parse(event_type, data)?;
                NotificationEvent::Rejected {
                    err: v.err,
                    description: v.description,
                    at: v.at,
                }
            }
        })
    }
}
