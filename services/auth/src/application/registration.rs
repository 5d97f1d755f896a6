//! Dynamic client registration (RFC 7591 with OBIE DCR software statements), its management
//! protocol (RFC 7592), staff clients and the bootstrap administrator.

use std::collections::BTreeSet;

use ecohub_eventstore::{EventStore, ExecuteError, execute};
use ecohub_kernel::{EventMetadata, Timestamp};
use serde::{Deserialize, Serialize};

use super::EndpointError;
use super::issuance::parse_scope;
use super::secrets::{hash_client_secret, new_secret, token_hash, token_matches};
use super::state::AuthState;
use super::store::{client_stream, load_client, partner_standing};
use crate::domain::{
    AuthMethod, ClientCommand, ClientError, ClientId, ClientKind, ClientMetadata, DeleteClient,
    GrantType, RegisterClient, RegisteredClient, UpdateClient,
};
use ecohub_jose::jwk::Jwks;
use ecohub_jose::jwt::{SoftwareStatementClaims, verify_software_statement};

/// A registration request (RFC 7591 §2, §3.1) or an RFC 7592 update. Unknown members are
/// ignored (RFC 7591 §2).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct RegistrationRequest {
    /// The software statement the hub issued on the partner's approval (required; its absence
    /// is answered `invalid_software_statement`, as RFC 7591 asks, hence the `Option`).
    #[schema(value_type = String, required = true)]
    pub software_statement: Option<String>,
    /// `private_key_jwt` (default) or `client_secret_basic` (development only).
    pub token_endpoint_auth_method: Option<String>,
    /// The client's public keys (required for `private_key_jwt`).
    #[schema(value_type = Option<Object>)]
    pub jwks: Option<serde_json::Value>,
    /// Not supported: keys are registered by value.
    pub jwks_uri: Option<String>,
    /// Redirect URIs, a subset of the statement's.
    pub redirect_uris: Option<Vec<String>>,
    /// Grant types (default `client_credentials`).
    pub grant_types: Option<Vec<String>>,
    /// Space-separated scopes, a subset of the statement's (default: the statement's).
    pub scope: Option<String>,
    /// Whether every access token must be DPoP-bound.
    pub dpop_bound_access_tokens: Option<bool>,
    /// On RFC 7592 updates: the client's id (must match).
    pub client_id: Option<String>,
}

/// The client information response (RFC 7591 §3.2.1, RFC 7592 §3).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ClientInformation {
    /// The client id.
    pub client_id: String,
    /// The secret, only once (at registration, or when an update switches to
    /// `client_secret_basic`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// `0`: the secret does not expire (present when a secret is returned).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret_expires_at: Option<i64>,
    /// When the client id was issued (seconds since the epoch).
    pub client_id_issued_at: i64,
    /// The RFC 7592 registration access token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registration_access_token: Option<String>,
    /// Where to manage the registration.
    pub registration_client_uri: String,
    /// The registered authentication method.
    pub token_endpoint_auth_method: String,
    /// The registered keys.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub jwks: Option<serde_json::Value>,
    /// Registered redirect URIs.
    pub redirect_uris: Vec<String>,
    /// Registered grant types.
    pub grant_types: Vec<String>,
    /// Registered scopes, space-separated.
    pub scope: String,
    /// Whether tokens must be DPoP-bound.
    pub dpop_bound_access_tokens: bool,
    /// The statement's software id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub software_id: Option<String>,
}

fn information(
    state: &AuthState,
    client: &RegisteredClient,
    secret: Option<String>,
    registration_access_token: Option<String>,
) -> ClientInformation {
    let m = &client.metadata;
    ClientInformation {
        client_id: client.client_id.to_string(),
        client_secret_expires_at: secret.as_ref().map(|_| 0),
        client_secret: secret,
        client_id_issued_at: client.registered_at.unix_seconds(),
        registration_access_token,
        registration_client_uri: state
            .settings
            .url(&format!("/register/{}", client.client_id)),
        token_endpoint_auth_method: m.token_endpoint_auth_method.as_str().to_owned(),
        jwks: m.jwks.clone(),
        redirect_uris: m.redirect_uris.clone(),
        grant_types: m
            .grant_types
            .iter()
            .map(|g| g.as_str().to_owned())
            .collect(),
        scope: m.scope.iter().cloned().collect::<Vec<_>>().join(" "),
        dpop_bound_access_tokens: m.dpop_bound_access_tokens,
        software_id: match &client.kind {
            ClientKind::Partner { software_id, .. } => Some(software_id.clone()),
            ClientKind::Staff { .. } => None,
        },
    }
}

/// Verifies the statement with the hub's ring only, and that its partner is active now.
async fn verified_statement(
    state: &AuthState,
    request: &RegistrationRequest,
    now: Timestamp,
) -> Result<SoftwareStatementClaims, EndpointError> {
    let statement = request.software_statement.as_deref().ok_or_else(|| {
        EndpointError::InvalidSoftwareStatement("software_statement is required".into())
    })?;
    let claims = verify_software_statement(statement, &state.ring, &state.settings.issuer, now)
        .map_err(|e| match e {
            ecohub_jose::jwt::SoftwareStatementError::Unapproved(e) => {
                EndpointError::UnapprovedSoftwareStatement(e.to_string())
            }
            ecohub_jose::jwt::SoftwareStatementError::Invalid(e) => {
                EndpointError::InvalidSoftwareStatement(e.to_string())
            }
        })?;
    let standing = partner_standing(state.store.as_ref(), &claims.software_id)
        .await
        .map_err(EndpointError::store)?;
    if !standing.is_active() {
        return Err(EndpointError::UnapprovedSoftwareStatement(
            "the partner is not approved and active".into(),
        ));
    }
    Ok(claims)
}

fn is_loopback_http(uri: &str) -> bool {
    let Some(rest) = uri.strip_prefix("http://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    };
    matches!(host, "127.0.0.1" | "::1" | "localhost")
}

/// The metadata a partner asks for, checked against its statement; `secret_hash` is left
/// for the caller.
fn partner_metadata(
    state: &AuthState,
    request: &RegistrationRequest,
    statement: &SoftwareStatementClaims,
) -> Result<ClientMetadata, EndpointError> {
    let bad = |m: &str| EndpointError::InvalidClientMetadata(m.to_owned());
    let method = match request.token_endpoint_auth_method.as_deref() {
        None => {
            if request.jwks.is_some() {
                AuthMethod::PrivateKeyJwt
            } else {
                AuthMethod::ClientSecretBasic
            }
        }
        Some(name) => AuthMethod::parse(name).ok_or_else(|| {
            bad("token_endpoint_auth_method must be private_key_jwt or client_secret_basic")
        })?,
    };
    if method == AuthMethod::ClientSecretBasic && state.settings.production {
        return Err(bad(
            "client_secret_basic is for development only; register private_key_jwt",
        ));
    }
    if request.jwks_uri.is_some() {
        return Err(bad("jwks_uri is not supported: register jwks by value"));
    }
    let jwks = match method {
        AuthMethod::PrivateKeyJwt => {
            let jwks = request
                .jwks
                .clone()
                .ok_or_else(|| bad("private_key_jwt needs jwks"))?;
            let parsed = Jwks::from_json(&jwks)
                .map_err(|e| EndpointError::InvalidClientMetadata(format!("invalid jwks: {e}")))?;
            if parsed.keys.is_empty() {
                return Err(bad("jwks has no usable signing key (ES256, PS256, EdDSA)"));
            }
            Some(jwks)
        }
        AuthMethod::ClientSecretBasic => {
            if request.jwks.is_some() {
                return Err(bad("jwks is only for private_key_jwt"));
            }
            None
        }
    };
    let redirect_uris = request.redirect_uris.clone().unwrap_or_default();
    for uri in &redirect_uris {
        let https = uri.starts_with("https://");
        if !(https || (!state.settings.production && is_loopback_http(uri))) {
            return Err(EndpointError::InvalidRedirectUri(format!(
                "{uri} is not an https URI"
            )));
        }
        if !statement.redirect_uris.contains(uri) {
            return Err(EndpointError::InvalidRedirectUri(format!(
                "{uri} is not in the software statement"
            )));
        }
    }
    let grant_types = match &request.grant_types {
        None => BTreeSet::from([GrantType::ClientCredentials]),
        Some(names) => names
            .iter()
            .map(|n| {
                GrantType::parse(n).ok_or_else(|| {
                    EndpointError::InvalidClientMetadata(format!("grant type {n} is not supported"))
                })
            })
            .collect::<Result<_, _>>()?,
    };
    let allowed = parse_scope(&statement.scope);
    let scope = match request.scope.as_deref() {
        None => allowed.clone(),
        Some(s) => parse_scope(s),
    };
    if let Some(extra) = scope.iter().find(|s| !allowed.contains(*s)) {
        return Err(EndpointError::InvalidClientMetadata(format!(
            "scope {extra} is not in the software statement"
        )));
    }
    Ok(ClientMetadata {
        token_endpoint_auth_method: method,
        secret_hash: None,
        jwks,
        redirect_uris,
        grant_types,
        scope,
        dpop_bound_access_tokens: request.dpop_bound_access_tokens.unwrap_or(false),
    })
}

fn execute_error(e: ExecuteError<ClientError>) -> EndpointError {
    match e {
        ExecuteError::Refused(ClientError::InvalidMetadata(m)) => {
            EndpointError::InvalidClientMetadata(m)
        }
        ExecuteError::Refused(other) => EndpointError::InvalidClientMetadata(other.to_string()),
        ExecuteError::Store(s) => EndpointError::store(s),
        ExecuteError::Decode(d) => EndpointError::ServerError(d.to_string()),
    }
}

fn metadata_for(actor: &str) -> EventMetadata {
    EventMetadata {
        actor: Some(actor.to_owned()),
        ..EventMetadata::default()
    }
}

/// `POST /register`: verifies the statement and the partner, registers the client and
/// returns its information with the secret (for `client_secret_basic`) and the registration
/// access token, once.
pub async fn register(
    state: &AuthState,
    request: RegistrationRequest,
    now: Timestamp,
) -> Result<ClientInformation, EndpointError> {
    let statement = verified_statement(state, &request, now).await?;
    let mut metadata = partner_metadata(state, &request, &statement)?;
    let secret = match metadata.token_endpoint_auth_method {
        AuthMethod::ClientSecretBasic => Some(new_secret()),
        AuthMethod::PrivateKeyJwt => None,
    };
    if let Some(secret) = &secret {
        metadata.secret_hash = Some(hash_client_secret(secret));
    }
    let registration_token = new_secret();
    let client_id = ClientId::new_v7(now);
    let actor = format!("partner:{}", statement.software_id);
    let executed = execute::<crate::domain::Client>(
        state.store.as_ref(),
        &client_stream(&client_id),
        ClientCommand::RegisterClient(RegisterClient {
            client_id,
            kind: ClientKind::Partner {
                partner_id: statement.software_id.clone(),
                software_id: statement.software_id.clone(),
            },
            metadata,
            registration_access_token_hash: token_hash(&registration_token),
            by: actor.clone(),
        }),
        now,
        metadata_for(&actor),
    )
    .await
    .map_err(execute_error)?;
    let client = executed
        .state
        .registered
        .ok_or_else(|| EndpointError::ServerError("registration produced no client".into()))?;
    Ok(information(
        state,
        &client,
        secret,
        Some(registration_token),
    ))
}

/// The client behind an RFC 7592 request: registered, not deleted, and presenting its
/// registration access token; anything else is `invalid_token`.
async fn managed_client(
    state: &AuthState,
    client_id: &str,
    registration_access_token: Option<&str>,
) -> Result<RegisteredClient, EndpointError> {
    let refused = || EndpointError::InvalidToken("invalid registration access token".into());
    let token = registration_access_token.ok_or_else(refused)?;
    let id = ClientId::parse(client_id).map_err(|_| refused())?;
    let (client, _) = load_client(state.store.as_ref(), &id)
        .await
        .map_err(EndpointError::store)?;
    let client = client.active().cloned().ok_or_else(refused)?;
    if !token_matches(&client.registration_access_token_hash, token) {
        return Err(refused());
    }
    Ok(client)
}

/// `GET /register/{client_id}`.
pub async fn read_registration(
    state: &AuthState,
    client_id: &str,
    registration_access_token: Option<&str>,
) -> Result<ClientInformation, EndpointError> {
    let client = managed_client(state, client_id, registration_access_token).await?;
    Ok(information(
        state,
        &client,
        None,
        registration_access_token.map(str::to_owned),
    ))
}

/// `PUT /register/{client_id}`: replaces the metadata. Partner clients present a current
/// software statement of the same partner, checked like a registration.
pub async fn update_registration(
    state: &AuthState,
    client_id: &str,
    registration_access_token: Option<&str>,
    request: RegistrationRequest,
    now: Timestamp,
) -> Result<ClientInformation, EndpointError> {
    let client = managed_client(state, client_id, registration_access_token).await?;
    if request
        .client_id
        .as_deref()
        .is_some_and(|id| id != client_id)
    {
        return Err(EndpointError::InvalidClientMetadata(
            "client_id does not match the registration".into(),
        ));
    }
    let ClientKind::Partner { partner_id, .. } = &client.kind else {
        return Err(EndpointError::InvalidClientMetadata(
            "staff clients are managed by administrators".into(),
        ));
    };
    let statement = verified_statement(state, &request, now).await?;
    if &statement.software_id != partner_id {
        return Err(EndpointError::UnapprovedSoftwareStatement(
            "the statement is for another partner".into(),
        ));
    }
    let mut metadata = partner_metadata(state, &request, &statement)?;
    let mut secret = None;
    if metadata.token_endpoint_auth_method == AuthMethod::ClientSecretBasic {
        match &client.metadata.secret_hash {
            Some(hash) => metadata.secret_hash = Some(hash.clone()),
            None => {
                let fresh = new_secret();
                metadata.secret_hash = Some(hash_client_secret(&fresh));
                secret = Some(fresh);
            }
        }
    }
    let actor = format!("partner:{partner_id}");
    let executed = execute::<crate::domain::Client>(
        state.store.as_ref(),
        &client_stream(&client.client_id),
        ClientCommand::UpdateClient(UpdateClient {
            metadata,
            by: actor.clone(),
        }),
        now,
        metadata_for(&actor),
    )
    .await
    .map_err(execute_error)?;
    let client = executed
        .state
        .registered
        .ok_or_else(|| EndpointError::ServerError("update lost the client".into()))?;
    Ok(information(
        state,
        &client,
        secret,
        registration_access_token.map(str::to_owned),
    ))
}

/// `DELETE /register/{client_id}`: the client and its tokens stop working at once.
pub async fn delete_registration(
    state: &AuthState,
    client_id: &str,
    registration_access_token: Option<&str>,
    now: Timestamp,
) -> Result<(), EndpointError> {
    let client = managed_client(state, client_id, registration_access_token).await?;
    let actor = match &client.kind {
        ClientKind::Partner { partner_id, .. } => format!("partner:{partner_id}"),
        ClientKind::Staff { .. } => format!("client:{client_id}"),
    };
    execute::<crate::domain::Client>(
        state.store.as_ref(),
        &client_stream(&client.client_id),
        ClientCommand::DeleteClient(DeleteClient { by: actor.clone() }),
        now,
        metadata_for(&actor),
    )
    .await
    .map_err(execute_error)?;
    Ok(())
}

/// A staff client as created: its id and its secret, shown once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct StaffClientCredentials {
    /// The client id.
    pub client_id: String,
    /// The secret (`client_secret_basic`), shown once.
    pub client_secret: String,
    /// Granted scopes, space-separated.
    pub scope: String,
}

impl std::fmt::Display for StaffClientCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "staff client {}", self.client_id)
    }
}

/// Why a staff client could not be created.
#[derive(Debug, thiserror::Error)]
pub enum StaffClientError {
    /// The request breaks a rule (scopes outside `admin audit`, empty description).
    #[error("{0}")]
    Invalid(String),
    /// The store failed, or hashing failed.
    #[error("{0}")]
    Failed(String),
}

/// Registers a staff client (`client_secret_basic`, `client_credentials`, scopes ⊆
/// `{admin, audit}`), returning its id and secret once.
pub async fn create_staff_client(
    store: &dyn EventStore,
    description: &str,
    scope: &str,
    by: &str,
    now: Timestamp,
) -> Result<StaffClientCredentials, StaffClientError> {
    let description = description.trim();
    if description.is_empty() || description.chars().count() > 200 {
        return Err(StaffClientError::Invalid(
            "description must have 1 to 200 characters".into(),
        ));
    }
    let scopes = parse_scope(scope);
    let secret = new_secret();
    let secret_hash = hash_client_secret(&secret);
    let client_id = ClientId::new_v7(now);
    let executed = execute::<crate::domain::Client>(
        store,
        &client_stream(&client_id),
        ClientCommand::RegisterClient(RegisterClient {
            client_id,
            kind: ClientKind::Staff {
                description: description.to_owned(),
            },
            metadata: ClientMetadata {
                token_endpoint_auth_method: AuthMethod::ClientSecretBasic,
                secret_hash: Some(secret_hash),
                jwks: None,
                redirect_uris: Vec::new(),
                grant_types: BTreeSet::from([GrantType::ClientCredentials]),
                scope: scopes,
                dpop_bound_access_tokens: false,
            },
            // Staff clients are managed by administrators, not through RFC 7592: their
            // registration access token is never shown.
            registration_access_token_hash: token_hash(&new_secret()),
            by: by.to_owned(),
        }),
        now,
        metadata_for(by),
    )
    .await
    .map_err(|e| match e {
        ExecuteError::Refused(r) => StaffClientError::Invalid(r.to_string()),
        other => StaffClientError::Failed(other.to_string()),
    })?;
    let scope = executed
        .state
        .registered
        .map(|c| c.metadata.scope.into_iter().collect::<Vec<_>>().join(" "))
        .unwrap_or_default();
    Ok(StaffClientCredentials {
        client_id: client_id.to_string(),
        client_secret: secret,
        scope,
    })
}

/// Creates the first administrator: a staff client with scopes `admin audit`. Used by
/// `ecohub admin bootstrap` (before the first `serve`, or while hubs run on the same store:
/// it only appends a new client stream). Returns the client id and the secret, once.
pub async fn bootstrap_admin(
    store: &dyn EventStore,
    now: Timestamp,
) -> Result<(ClientId, String), StaffClientError> {
    let created = create_staff_client(
        store,
        "bootstrap administrator",
        "admin audit",
        "system:bootstrap",
        now,
    )
    .await?;
    let id =
        ClientId::parse(&created.client_id).map_err(|e| StaffClientError::Failed(e.to_string()))?;
    Ok((id, created.client_secret))
}
