//! The consent events and their stored schema (type names and versions are a public
//! contract). The stored payload of every event also carries the tamper-evidence `chain`,
//! which the application layer adds and which decoding ignores.

use ecohub_kernel::{DecodeError, DomainEvent, Timestamp};
use serde::{Deserialize, Serialize};

use super::{
    ConsentId, CustomerId, DataProviders, Expiry, PairwiseId, PartnerId, Permissions, Purpose,
    ReasonCode, Recipient, RevokedBy, TransactionWindow,
};

/// What happened to a consent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsentEvent {
    /// `ConsentRequested` v3 (v2 had no recipient and decodes as the partner it names; v1 had
    /// no reason either and decodes with `consent_requested`): a partner asked for a consent,
    /// or a customer granted one to the bank.
    Requested {
        /// The consent.
        consent_id: ConsentId,
        /// Who receives the data: the partner asking, or the bank.
        recipient: Recipient,
        /// The permissions.
        permissions: Permissions,
        /// The purpose.
        purpose: Purpose,
        /// When it expires.
        expiry: Expiry,
        /// Transactions window.
        transaction_window: TransactionWindow,
        /// Data providers concerned.
        data_providers: DataProviders,
        /// When it times out unless authorised.
        authorisation_deadline: Timestamp,
        /// Why (`consent_requested`).
        reason: ReasonCode,
        /// When.
        at: Timestamp,
    },
    /// `ConsentAuthorised` v2 (v1 always named a pairwise id): the customer approved.
    Authorised {
        /// The customer.
        customer_id: CustomerId,
        /// Their pairwise id for the partner (none when the bank is the recipient: it knows
        /// its customer by the hub's id).
        pairwise_id: Option<PairwiseId>,
        /// Why (`customer_authorised`).
        reason: ReasonCode,
        /// When.
        at: Timestamp,
    },
    /// `ConsentRejected` v1: the customer refused.
    Rejected {
        /// The customer.
        customer_id: CustomerId,
        /// Why.
        reason: ReasonCode,
        /// When.
        at: Timestamp,
    },
    /// `ConsentRevoked` v1: the customer or partner revoked it, or the partner left.
    Revoked {
        /// How it was requested.
        by: RevokedBy,
        /// Why.
        reason: ReasonCode,
        /// When.
        at: Timestamp,
    },
    /// `ConsentExpired` v1: its expiry passed, or nobody authorised it in time.
    Expired {
        /// `expired` or `authorisation_timeout`.
        reason: ReasonCode,
        /// When.
        at: Timestamp,
    },
}

impl ConsentEvent {
    /// Every stored type name.
    pub const TYPES: [&'static str; 5] = [
        "ConsentRequested",
        "ConsentAuthorised",
        "ConsentRejected",
        "ConsentRevoked",
        "ConsentExpired",
    ];

    /// The stored version of `ConsentRequested`.
    pub const REQUESTED_VERSION: u16 = 3;

    /// The stored version of `ConsentAuthorised` (the other types are at version 1).
    pub const AUTHORISED_VERSION: u16 = 2;

    /// Why it happened: every consent event carries a reason code.
    pub fn reason(&self) -> &ReasonCode {
        match self {
            ConsentEvent::Requested { reason, .. }
            | ConsentEvent::Authorised { reason, .. }
            | ConsentEvent::Rejected { reason, .. }
            | ConsentEvent::Revoked { reason, .. }
            | ConsentEvent::Expired { reason, .. } => reason,
        }
    }

    /// When it happened.
    pub fn at(&self) -> Timestamp {
        match self {
            ConsentEvent::Requested { at, .. }
            | ConsentEvent::Authorised { at, .. }
            | ConsentEvent::Rejected { at, .. }
            | ConsentEvent::Revoked { at, .. }
            | ConsentEvent::Expired { at, .. } => *at,
        }
    }
}

#[derive(Serialize, Deserialize)]
struct RequestedV1 {
    consent_id: ConsentId,
    partner_id: PartnerId,
    permissions: Permissions,
    purpose: Purpose,
    expires_at: Expiry,
    #[serde(default)]
    transaction_from: Option<Timestamp>,
    #[serde(default)]
    transaction_to: Option<Timestamp>,
    data_providers: DataProviders,
    authorisation_deadline: Timestamp,
    at: Timestamp,
}

/// Version 2 of `ConsentRequested`: version 1 and the reason code, so that the legal record
/// says why for every status change (version 1 upcasts with `consent_requested`).
#[derive(Serialize, Deserialize)]
struct RequestedV2 {
    #[serde(flatten)]
    v1: RequestedV1,
    reason: ReasonCode,
}

/// Version 3 of `ConsentRequested`: who receives the data (`recipient`), with `partner_id`
/// only when a partner does. Version 2 upcasts to the partner it names.
#[derive(Serialize, Deserialize)]
struct RequestedV3 {
    consent_id: ConsentId,
    recipient: RecipientKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    partner_id: Option<PartnerId>,
    permissions: Permissions,
    purpose: Purpose,
    expires_at: Expiry,
    #[serde(default)]
    transaction_from: Option<Timestamp>,
    #[serde(default)]
    transaction_to: Option<Timestamp>,
    data_providers: DataProviders,
    authorisation_deadline: Timestamp,
    at: Timestamp,
    reason: ReasonCode,
}

#[derive(Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum RecipientKind {
    Partner,
    Bank,
}

#[derive(Serialize, Deserialize)]
struct AuthorisedV1 {
    customer_id: CustomerId,
    pairwise_id: PairwiseId,
    reason: ReasonCode,
    at: Timestamp,
}

/// Version 2 of `ConsentAuthorised`: the pairwise id is absent when the bank is the
/// recipient.
#[derive(Serialize, Deserialize)]
struct AuthorisedV2 {
    customer_id: CustomerId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pairwise_id: Option<PairwiseId>,
    reason: ReasonCode,
    at: Timestamp,
}

#[derive(Serialize, Deserialize)]
struct RejectedV1 {
    customer_id: CustomerId,
    reason: ReasonCode,
    at: Timestamp,
}

#[derive(Serialize, Deserialize)]
struct RevokedV1 {
    by: RevokedBy,
    reason: ReasonCode,
    at: Timestamp,
}

#[derive(Serialize, Deserialize)]
struct ExpiredV1 {
    reason: ReasonCode,
    at: Timestamp,
}

fn to_value<T: Serialize>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or(serde_json::Value::Null)
}

impl DomainEvent for ConsentEvent {
    fn event_type(&self) -> &'static str {
        match self {
            ConsentEvent::Requested { .. } => "ConsentRequested",
            ConsentEvent::Authorised { .. } => "ConsentAuthorised",
            ConsentEvent::Rejected { .. } => "ConsentRejected",
            ConsentEvent::Revoked { .. } => "ConsentRevoked",
            ConsentEvent::Expired { .. } => "ConsentExpired",
        }
    }

    fn event_version(&self) -> u16 {
        match self {
            ConsentEvent::Requested { .. } => Self::REQUESTED_VERSION,
            ConsentEvent::Authorised { .. } => Self::AUTHORISED_VERSION,
            _ => 1,
        }
    }

    fn encode(&self) -> serde_json::Value {
        match self.clone() {
            ConsentEvent::Requested {
                consent_id,
                recipient,
                permissions,
                purpose,
                expiry,
                transaction_window,
                data_providers,
                authorisation_deadline,
                reason,
                at,
            } => to_value(&RequestedV3 {
                consent_id,
                recipient: match recipient {
                    Recipient::Partner(_) => RecipientKind::Partner,
                    Recipient::Bank => RecipientKind::Bank,
                },
                partner_id: recipient.partner(),
                permissions,
                purpose,
                expires_at: expiry,
                transaction_from: transaction_window.from,
                transaction_to: transaction_window.to,
                data_providers,
                authorisation_deadline,
                at,
                reason,
            }),
            ConsentEvent::Authorised {
                customer_id,
                pairwise_id,
                reason,
                at,
            } => to_value(&AuthorisedV2 {
                customer_id,
                pairwise_id,
                reason,
                at,
            }),
            ConsentEvent::Rejected {
                customer_id,
                reason,
                at,
            } => to_value(&RejectedV1 {
                customer_id,
                reason,
                at,
            }),
            ConsentEvent::Revoked { by, reason, at } => to_value(&RevokedV1 { by, reason, at }),
            ConsentEvent::Expired { reason, at } => to_value(&ExpiredV1 { reason, at }),
        }
    }

    fn decode(
        event_type: &str,
        event_version: u16,
        data: &serde_json::Value,
    ) -> Result<Self, DecodeError> {
        let latest = match event_type {
            "ConsentRequested" => Self::REQUESTED_VERSION,
            "ConsentAuthorised" => Self::AUTHORISED_VERSION,
            _ => 1,
        };
        DecodeError::check_known(event_type, event_version, &Self::TYPES, latest)?;
        Ok(match event_type {
            "ConsentRequested" => {
                let v: RequestedV3 = match event_version {
                    // Upcast: versions 1 and 2 were written when every recipient was a
                    // partner; version 1 before requests carried a reason.
                    1 | 2 => {
                        let RequestedV2 { v1, reason } = if event_version == 1 {
                            RequestedV2 {
                                v1: DecodeError::parse(event_type, data)?,
                                reason: ReasonCode::known(ReasonCode::CONSENT_REQUESTED),
                            }
                        } else {
                            DecodeError::parse(event_type, data)?
                        };
                        RequestedV3 {
                            consent_id: v1.consent_id,
                            recipient: RecipientKind::Partner,
                            partner_id: Some(v1.partner_id),
                            permissions: v1.permissions,
                            purpose: v1.purpose,
                            expires_at: v1.expires_at,
                            transaction_from: v1.transaction_from,
                            transaction_to: v1.transaction_to,
                            data_providers: v1.data_providers,
                            authorisation_deadline: v1.authorisation_deadline,
                            at: v1.at,
                            reason,
                        }
                    }
                    _ => DecodeError::parse(event_type, data)?,
                };
                let recipient = match (v.recipient, v.partner_id) {
                    (RecipientKind::Partner, Some(p)) => Recipient::Partner(p),
                    (RecipientKind::Bank, None) => Recipient::Bank,
                    _ => {
                        return Err(DecodeError::Malformed {
                            event_type: event_type.to_owned(),
                            reason: "partner_id must be present exactly when the recipient \
                                     is a partner"
                                .to_owned(),
                        });
                    }
                };
                ConsentEvent::Requested {
                    consent_id: v.consent_id,
                    recipient,
                    permissions: v.permissions,
                    purpose: v.purpose,
                    expiry: v.expires_at,
                    transaction_window: TransactionWindow {
                        from: v.transaction_from,
                        to: v.transaction_to,
                    },
                    data_providers: v.data_providers,
                    authorisation_deadline: v.authorisation_deadline,
                    reason: v.reason,
                    at: v.at,
                }
            }
            "ConsentAuthorised" => {
                let v: AuthorisedV2 = match event_version {
                    1 => {
                        let v1: AuthorisedV1 = DecodeError::parse(event_type, data)?;
                        AuthorisedV2 {
                            customer_id: v1.customer_id,
                            pairwise_id: Some(v1.pairwise_id),
                            reason: v1.reason,
                            at: v1.at,
                        }
                    }
                    _ => DecodeError::parse(event_type, data)?,
                };
                ConsentEvent::Authorised {
                    customer_id: v.customer_id,
                    pairwise_id: v.pairwise_id,
                    reason: v.reason,
                    at: v.at,
                }
            }
            "ConsentRejected" => {
                let v: RejectedV1 = DecodeError::parse(event_type, data)?;
                ConsentEvent::Rejected {
                    customer_id: v.customer_id,
                    reason: v.reason,
                    at: v.at,
                }
            }
            "ConsentRevoked" => {
                let v: RevokedV1 = DecodeError::parse(event_type, data)?;
                ConsentEvent::Revoked {
                    by: v.by,
                    reason: v.reason,
                    at: v.at,
                }
            }
            _ => {
                let v: ExpiredV1 = DecodeError::parse(event_type, data)?;
                ConsentEvent::Expired {
                    reason: v.reason,
                    at: v.at,
                }
            }
        })
    }
}
