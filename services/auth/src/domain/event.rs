//! What happened to a client, and its stored form (versioned, decoupled from the enum).

use std::collections::BTreeSet;

use ecohub_kernel::{DecodeError, DomainEvent, Timestamp};

use super::ClientId;
use super::client::{AuthMethod, ClientKind, ClientMetadata, GrantType};

/// An event of the [`Client`](super::Client) aggregate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientEvent {
    /// `ClientRegistered`.
    Registered {
        /// The client's id.
        client_id: ClientId,
        /// Whose client it is.
        kind: ClientKind,
        /// What it registered.
        metadata: ClientMetadata,
        /// SHA-256 (base64url) of the registration access token.
        registration_access_token_hash: String,
        /// When.
        at: Timestamp,
        /// Who.
        by: String,
    },
    /// `ClientUpdated`: the metadata was replaced (RFC 7592 PUT).
    Updated {
        /// The new metadata.
        metadata: ClientMetadata,
        /// When.
        at: Timestamp,
        /// Who.
        by: String,
    },
    /// `ClientDeleted`: the registration was deleted; its tokens stop working.
    Deleted {
        /// When.
        at: Timestamp,
        /// Who.
        by: String,
    },
}

impl ClientEvent {
    /// Every event type name this aggregate stores.
    pub const TYPES: [&'static str; 3] = ["ClientRegistered", "ClientUpdated", "ClientDeleted"];
}

impl DomainEvent for ClientEvent {
    fn event_type(&self) -> &'static str {
        match self {
            ClientEvent::Registered { .. } => "ClientRegistered",
            ClientEvent::Updated { .. } => "ClientUpdated",
            ClientEvent::Deleted { .. } => "ClientDeleted",
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
        DecodeError::check_known(event_type, event_version, &ClientEvent::TYPES, 1)?;
        // Only version 1 exists so far; a version 2 adds a branch that upcasts.
        stored::decode_v1(event_type, data)
    }
}

/// The stored schema, version 1.
mod stored {
    use serde::{Deserialize, Serialize};

    use super::*;

    #[derive(Serialize, Deserialize)]
    #[serde(tag = "type", rename_all = "snake_case")]
    enum KindV1 {
        Partner {
            partner_id: String,
            software_id: String,
        },
        Staff {
            description: String,
        },
    }

    #[derive(Serialize, Deserialize)]
    struct MetadataV1 {
        token_endpoint_auth_method: AuthMethod,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        secret_hash: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        jwks: Option<serde_json::Value>,
        redirect_uris: Vec<String>,
        grant_types: BTreeSet<GrantType>,
        scope: BTreeSet<String>,
        dpop_bound_access_tokens: bool,
    }

    #[derive(Serialize, Deserialize)]
    struct RegisteredV1 {
        client_id: ClientId,
        kind: KindV1,
        #[serde(flatten)]
        metadata: MetadataV1,
        registration_access_token_hash: String,
        at: Timestamp,
        by: String,
    }

    #[derive(Serialize, Deserialize)]
    struct UpdatedV1 {
        #[serde(flatten)]
        metadata: MetadataV1,
        at: Timestamp,
        by: String,
    }

    #[derive(Serialize, Deserialize)]
    struct DeletedV1 {
        at: Timestamp,
        by: String,
    }

    fn to_json(payload: impl Serialize) -> serde_json::Value {
        serde_json::to_value(payload).expect("payloads of plain fields always serialise")
    }

    fn metadata_v1(m: &ClientMetadata) -> MetadataV1 {
        MetadataV1 {
            token_endpoint_auth_method: m.token_endpoint_auth_method,
            secret_hash: m.secret_hash.clone(),
            jwks: m.jwks.clone(),
            redirect_uris: m.redirect_uris.clone(),
            grant_types: m.grant_types.clone(),
            scope: m.scope.clone(),
            dpop_bound_access_tokens: m.dpop_bound_access_tokens,
        }
    }

    fn metadata(v: MetadataV1) -> ClientMetadata {
        ClientMetadata {
            token_endpoint_auth_method: v.token_endpoint_auth_method,
            secret_hash: v.secret_hash,
            jwks: v.jwks,
            redirect_uris: v.redirect_uris,
            grant_types: v.grant_types,
            scope: v.scope,
            dpop_bound_access_tokens: v.dpop_bound_access_tokens,
        }
    }

    pub(super) fn encode(event: &ClientEvent) -> serde_json::Value {
        match event {
            ClientEvent::Registered {
                client_id,
                kind,
                metadata,
                registration_access_token_hash,
                at,
                by,
            } => to_json(RegisteredV1 {
                client_id: *client_id,
                kind: match kind {
                    ClientKind::Partner {
                        partner_id,
                        software_id,
                    } => KindV1::Partner {
                        partner_id: partner_id.clone(),
                        software_id: software_id.clone(),
                    },
                    ClientKind::Staff { description } => KindV1::Staff {
                        description: description.clone(),
                    },
                },
                metadata: metadata_v1(metadata),
                registration_access_token_hash: registration_access_token_hash.clone(),
                at: *at,
                by: by.clone(),
            }),
            ClientEvent::Updated { metadata, at, by } => to_json(UpdatedV1 {
                metadata: metadata_v1(metadata),
                at: *at,
                by: by.clone(),
            }),
            ClientEvent::Deleted { at, by } => to_json(DeletedV1 {
                at: *at,
                by: by.clone(),
            }),
        }
    }

    /// Decodes version 1 of a known `event_type`. Values are trusted, not re-validated.
    pub(super) fn decode_v1(
        event_type: &str,
        data: &serde_json::Value,
    ) -> Result<ClientEvent, DecodeError> {
        Ok(match event_type {
            "ClientRegistered" => {
                let v: RegisteredV1 = DecodeError::parse(event_type, data)?;
                ClientEvent::Registered {
                    client_id: v.client_id,
                    kind: match v.kind {
                        KindV1::Partner {
                            partner_id,
                            software_id,
                        } => ClientKind::Partner {
                            partner_id,
                            software_id,
                        },
                        KindV1::Staff { description } => ClientKind::Staff { description },
                    },
                    metadata: metadata(v.metadata),
                    registration_access_token_hash: v.registration_access_token_hash,
                    at: v.at,
                    by: v.by,
                }
            }
            "ClientUpdated" => {
                let v: UpdatedV1 = DecodeError::parse(event_type, data)?;
                ClientEvent::Updated {
                    metadata: metadata(v.metadata),
                    at: v.at,
                    by: v.by,
                }
            }
            "ClientDeleted" => {
                let v: DeletedV1 = DecodeError::parse(event_type, data)?;
                ClientEvent::Deleted { at: v.at, by: v.by }
            }
            _ => {
                return Err(DecodeError::UnknownType {
                    event_type: event_type.into(),
                });
            }
        })
    }
}
