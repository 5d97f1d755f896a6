//! What happened to a partner, in the past tense, and its stored form.
//!
//! The stored schema lives in the private `stored` module: one versioned payload struct per
//! event type, with plain strings where the domain has validated types. Renaming a variant
//! or a field of [`PartnerEvent`] therefore never changes what is stored; changing a payload
//! means adding a `…V2` struct and upcasting `V1` in [`DomainEvent::decode`].

use std::collections::BTreeSet;

use ecohub_kernel::{DecodeError, DomainEvent, Timestamp};

use super::role::Role;
use super::values::{
    Contact, CountryCode, EventTypeFilter, EvidenceReference, LegalName, Note, Reason, RedirectUri,
    RegistrationNumber, StaffId, WebhookUrl, Website,
};
use super::verification::{CheckKind, CheckResult};
use super::{PartnerId, WebhookId};

/// An event of the [`Partner`](super::Partner) aggregate. Status changes carry who (`by`),
/// when (`at`) and why (`reason`) where there is one: they are compliance evidence.
#[derive(Debug, Clone, PartialEq)]
pub enum PartnerEvent {
    /// `PartnerApplied`: a company applied.
    Applied {
        /// The partner's id.
        partner_id: PartnerId,
        /// Registered legal name.
        legal_name: LegalName,
        /// Number in the national company registry.
        registration_number: RegistrationNumber,
        /// Country of registration.
        country: CountryCode,
        /// Public website.
        website: Website,
        /// People to contact (personal data).
        contacts: Vec<Contact>,
        /// Roles asked for.
        requested_roles: BTreeSet<Role>,
        /// When.
        at: Timestamp,
    },
    /// `PartnerVerificationRecorded`: staff recorded verification evidence.
    VerificationRecorded {
        /// What was checked.
        check: CheckKind,
        /// With what outcome.
        result: CheckResult,
        /// Where the evidence is kept.
        evidence: EvidenceReference,
        /// Who recorded it.
        by: StaffId,
        /// When.
        at: Timestamp,
    },
    /// `PartnerApproved`: staff approved the application.
    Approved {
        /// Roles granted.
        roles: BTreeSet<Role>,
        /// Redirect URIs allowed for the partner's OAuth clients.
        redirect_uris: Vec<RedirectUri>,
        /// Optional remark.
        note: Option<Note>,
        /// Who approved.
        by: StaffId,
        /// When.
        at: Timestamp,
    },
    /// `PartnerRejected`: staff rejected the application.
    Rejected {
        /// Why.
        reason: Reason,
        /// Who.
        by: StaffId,
        /// When.
        at: Timestamp,
    },
    /// `PartnerSuspended`: staff suspended an approved partner.
    Suspended {
        /// Why.
        reason: Reason,
        /// Who.
        by: StaffId,
        /// When.
        at: Timestamp,
    },
    /// `PartnerReinstated`: staff lifted a suspension.
    Reinstated {
        /// Why.
        reason: Reason,
        /// Who.
        by: StaffId,
        /// When.
        at: Timestamp,
    },
    /// `PartnerOffboarded`: staff ended the partnership; its webhooks are deactivated.
    Offboarded {
        /// Why.
        reason: Reason,
        /// Who.
        by: StaffId,
        /// When.
        at: Timestamp,
    },
    /// `PartnerWebhookRegistered`: the partner registered a webhook endpoint.
    WebhookRegistered {
        /// The webhook's id.
        webhook_id: WebhookId,
        /// Where notifications go.
        url: WebhookUrl,
        /// Which event types (none means all).
        event_types: BTreeSet<EventTypeFilter>,
        /// When.
        at: Timestamp,
    },
    /// `PartnerWebhookRemoved`: a webhook was removed.
    WebhookRemoved {
        /// The webhook's id.
        webhook_id: WebhookId,
        /// When.
        at: Timestamp,
    },
}

impl PartnerEvent {
    /// Every event type name this aggregate stores, in lifecycle order.
    pub const TYPES: [&'static str; 9] = [
        "PartnerApplied",
        "PartnerVerificationRecorded",
        "PartnerApproved",
        "PartnerRejected",
        "PartnerSuspended",
        "PartnerReinstated",
        "PartnerOffboarded",
        "PartnerWebhookRegistered",
        "PartnerWebhookRemoved",
    ];

    /// When the event happened.
    pub fn at(&self) -> Timestamp {
        match self {
            PartnerEvent::Applied { at, .. }
            | PartnerEvent::VerificationRecorded { at, .. }
            | PartnerEvent::Approved { at, .. }
            | PartnerEvent::Rejected { at, .. }
            | PartnerEvent::Suspended { at, .. }
            | PartnerEvent::Reinstated { at, .. }
            | PartnerEvent::Offboarded { at, .. }
            | PartnerEvent::WebhookRegistered { at, .. }
            | PartnerEvent::WebhookRemoved { at, .. } => *at,
        }
    }
}

impl DomainEvent for PartnerEvent {
    fn event_type(&self) -> &'static str {
        match self {
            PartnerEvent::Applied { .. } => "PartnerApplied",
            PartnerEvent::VerificationRecorded { .. } => "PartnerVerificationRecorded",
            PartnerEvent::Approved { .. } => "PartnerApproved",
            PartnerEvent::Rejected { .. } => "PartnerRejected",
            PartnerEvent::Suspended { .. } => "PartnerSuspended",
            PartnerEvent::Reinstated { .. } => "PartnerReinstated",
            PartnerEvent::Offboarded { .. } => "PartnerOffboarded",
            PartnerEvent::WebhookRegistered { .. } => "PartnerWebhookRegistered",
            PartnerEvent::WebhookRemoved { .. } => "PartnerWebhookRemoved",
        }
    }

    fn event_version(&self) -> u16 {
        1
    }

    fn encode(&self) -> serde_json::Value {
        stored::encode(self)
    }

    fn decode(
        event_type: &str,
        event_version: u16,
        data: &serde_json::Value,
    ) -> Result<Self, DecodeError> {
        DecodeError::check_known(event_type, event_version, &PartnerEvent::TYPES, 1)?;
        // Only version 1 exists so far; a version 2 adds a branch that upcasts.
        stored::decode_v1(event_type, data)
    }
}

/// The stored schema, version 1 of every event type.
mod stored {
    use serde::{Deserialize, Serialize};

    use super::*;
    use crate::domain::values::{ContactEmail, ContactName, ContactRole};

    #[derive(Serialize, Deserialize)]
    struct ContactV1 {
        name: String,
        email: String,
        role: ContactRole,
    }

    #[derive(Serialize, Deserialize)]
    struct AppliedV1 {
        partner_id: PartnerId,
        legal_name: String,
        registration_number: String,
        country: String,
        website: String,
        contacts: Vec<ContactV1>,
        requested_roles: BTreeSet<Role>,
        at: Timestamp,
    }

    #[derive(Serialize, Deserialize)]
    struct VerificationRecordedV1 {
        check: CheckKind,
        result: CheckResult,
        evidence: String,
        by: String,
        at: Timestamp,
    }

    #[derive(Serialize, Deserialize)]
    struct ApprovedV1 {
        roles: BTreeSet<Role>,
        redirect_uris: Vec<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
        by: String,
        at: Timestamp,
    }

    /// Rejected, suspended, reinstated and offboarded share one shape.
    #[derive(Serialize, Deserialize)]
    struct StatusChangedV1 {
        reason: String,
        by: String,
        at: Timestamp,
    }

    #[derive(Serialize, Deserialize)]
    struct WebhookRegisteredV1 {
        webhook_id: WebhookId,
        url: String,
        event_types: BTreeSet<String>,
        at: Timestamp,
    }

    #[derive(Serialize, Deserialize)]
    struct WebhookRemovedV1 {
        webhook_id: WebhookId,
        at: Timestamp,
    }

    fn to_json(payload: impl Serialize) -> serde_json::Value {
        serde_json::to_value(payload).expect("payloads of plain fields always serialise")
    }

    fn status_changed(reason: &Reason, by: &StaffId, at: Timestamp) -> serde_json::Value {
        to_json(StatusChangedV1 {
            reason: reason.to_string(),
            by: by.to_string(),
            at,
        })
    }

    pub(super) fn encode(event: &PartnerEvent) -> serde_json::Value {
        match event {
            PartnerEvent::Applied {
                partner_id,
                legal_name,
                registration_number,
                country,
                website,
                contacts,
                requested_roles,
                at,
            } => to_json(AppliedV1 {
                partner_id: *partner_id,
                legal_name: legal_name.to_string(),
                registration_number: registration_number.to_string(),
                country: country.to_string(),
                website: website.to_string(),
                contacts: contacts
                    .iter()
                    .map(|c| ContactV1 {
                        name: c.name.to_string(),
                        email: c.email.to_string(),
                        role: c.role,
                    })
                    .collect(),
                requested_roles: requested_roles.clone(),
                at: *at,
            }),
            PartnerEvent::VerificationRecorded {
                check,
                result,
                evidence,
                by,
                at,
            } => to_json(VerificationRecordedV1 {
                check: check.clone(),
                result: *result,
                evidence: evidence.to_string(),
                by: by.to_string(),
                at: *at,
            }),
            PartnerEvent::Approved {
                roles,
                redirect_uris,
                note,
                by,
                at,
            } => to_json(ApprovedV1 {
                roles: roles.clone(),
                redirect_uris: redirect_uris.iter().map(ToString::to_string).collect(),
                note: note.as_ref().map(ToString::to_string),
                by: by.to_string(),
                at: *at,
            }),
            PartnerEvent::Rejected { reason, by, at }
            | PartnerEvent::Suspended { reason, by, at }
            | PartnerEvent::Reinstated { reason, by, at }
            | PartnerEvent::Offboarded { reason, by, at } => status_changed(reason, by, *at),
            PartnerEvent::WebhookRegistered {
                webhook_id,
                url,
                event_types,
                at,
            } => to_json(WebhookRegisteredV1 {
                webhook_id: *webhook_id,
                url: url.to_string(),
                event_types: event_types.iter().map(ToString::to_string).collect(),
                at: *at,
            }),
            PartnerEvent::WebhookRemoved { webhook_id, at } => to_json(WebhookRemovedV1 {
                webhook_id: *webhook_id,
                at: *at,
            }),
        }
    }

    /// Decodes version 1 of a known `event_type`. Values are trusted, not re-validated:
    /// they passed the rules in force when the event was recorded.
    pub(super) fn decode_v1(
        event_type: &str,
        data: &serde_json::Value,
    ) -> Result<PartnerEvent, DecodeError> {
        let parse_status = || DecodeError::parse::<StatusChangedV1>(event_type, data);
        let event = match event_type {
            "PartnerApplied" => {
                let v: AppliedV1 = DecodeError::parse(event_type, data)?;
                PartnerEvent::Applied {
                    partner_id: v.partner_id,
                    legal_name: LegalName::from_recorded(v.legal_name),
                    registration_number: RegistrationNumber::from_recorded(v.registration_number),
                    country: CountryCode::from_recorded(v.country),
                    website: Website::from_recorded(v.website),
                    contacts: v
                        .contacts
                        .into_iter()
                        .map(|c| Contact {
                            name: ContactName::from_recorded(c.name),
                            email: ContactEmail::from_recorded(c.email),
                            role: c.role,
                        })
                        .collect(),
                    requested_roles: v.requested_roles,
                    at: v.at,
                }
            }
            "PartnerVerificationRecorded" => {
                let v: VerificationRecordedV1 = DecodeError::parse(event_type, data)?;
                PartnerEvent::VerificationRecorded {
                    check: v.check,
                    result: v.result,
                    evidence: EvidenceReference::from_recorded(v.evidence),
                    by: StaffId::from_recorded(v.by),
                    at: v.at,
                }
            }
            "PartnerApproved" => {
                let v: ApprovedV1 = DecodeError::parse(event_type, data)?;
                PartnerEvent::Approved {
                    roles: v.roles,
                    redirect_uris: v
                        .redirect_uris
                        .into_iter()
                        .map(RedirectUri::from_recorded)
                        .collect(),
                    note: v.note.map(Note::from_recorded),
                    by: StaffId::from_recorded(v.by),
                    at: v.at,
                }
            }
            "PartnerRejected" => {
                let v = parse_status()?;
                PartnerEvent::Rejected {
                    reason: Reason::from_recorded(v.reason),
                    by: StaffId::from_recorded(v.by),
                    at: v.at,
                }
            }
            "PartnerSuspended" => {
                let v = parse_status()?;
                PartnerEvent::Suspended {
                    reason: Reason::from_recorded(v.reason),
                    by: StaffId::from_recorded(v.by),
                    at: v.at,
                }
            }
            "PartnerReinstated" => {
                let v = parse_status()?;
                PartnerEvent::Reinstated {
                    reason: Reason::from_recorded(v.reason),
                    by: StaffId::from_recorded(v.by),
                    at: v.at,
                }
            }
            "PartnerOffboarded" => {
                let v = parse_status()?;
                PartnerEvent::Offboarded {
                    reason: Reason::from_recorded(v.reason),
                    by: StaffId::from_recorded(v.by),
                    at: v.at,
                }
            }
            "PartnerWebhookRegistered" => {
                let v: WebhookRegisteredV1 = DecodeError::parse(event_type, data)?;
                PartnerEvent::WebhookRegistered {
                    webhook_id: v.webhook_id,
                    url: WebhookUrl::from_recorded(v.url),
                    event_types: v
                        .event_types
                        .into_iter()
                        .map(EventTypeFilter::from_recorded)
                        .collect(),
                    at: v.at,
                }
            }
            "PartnerWebhookRemoved" => {
                let v: WebhookRemovedV1 = DecodeError::parse(event_type, data)?;
                PartnerEvent::WebhookRemoved {
                    webhook_id: v.webhook_id,
                    at: v.at,
                }
            }
            _ => {
                return Err(DecodeError::UnknownType {
                    event_type: event_type.into(),
                });
            }
        };
        Ok(event)
    }
}
