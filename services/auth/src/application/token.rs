//! The token endpoint: client authentication, then the grant. Grants are parsed into
//! [`Grant`] and dispatched in [`token`]; `client_credentials` is handled here,
//! `authorization_code` in [`super::code_grant`] and `refresh_token` in [`super::refresh`].

use std::collections::BTreeSet;

use ecohub_kernel::Timestamp;

use super::client_auth::{Credentials, authenticate_client};
use super::issuance::{TokenResponse, parse_scope};
use super::state::AuthState;
use super::{EndpointError, Params};
use crate::domain::{GrantType, RegisteredClient};
use ecohub_jose::dpop::{DpopError, DpopRequest, verify_dpop_proof};
use ecohub_jose::jwt::{IssueError, NewAccessToken, issue_access_token};

/// A grant request, parsed from the form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grant {
    /// `client_credentials` (RFC 6749 §4.4) with the requested scopes (`None`: all the
    /// client's scopes).
    ClientCredentials {
        /// Requested scopes.
        scope: Option<BTreeSet<String>>,
    },
    /// `authorization_code` (RFC 6749 §4.1.3, PKCE).
    AuthorizationCode,
    /// `refresh_token` (RFC 6749 §6).
    RefreshToken,
}

impl Grant {
    /// Parses the grant; an unknown `grant_type` is `unsupported_grant_type`.
    pub fn parse(params: &Params) -> Result<Self, EndpointError> {
        match params.required("grant_type")? {
            "client_credentials" => Ok(Grant::ClientCredentials {
                scope: params.get("scope").map(parse_scope),
            }),
            "authorization_code" => Ok(Grant::AuthorizationCode),
            "refresh_token" => Ok(Grant::RefreshToken),
            other => Err(EndpointError::UnsupportedGrantType(format!(
                "grant_type {other} is not supported"
            ))),
        }
    }

    fn grant_type(&self) -> GrantType {
        match self {
            Grant::ClientCredentials { .. } => GrantType::ClientCredentials,
            Grant::AuthorizationCode => GrantType::AuthorizationCode,
            Grant::RefreshToken => GrantType::RefreshToken,
        }
    }
}

/// Handles `POST /token`: authenticates the client, checks the grant is one it registered,
/// verifies a DPoP proof when present (required when the client registered
/// `dpop_bound_access_tokens`), and issues the token.
pub async fn token(
    state: &AuthState,
    credentials: Credentials,
    params: &Params,
    dpop_proof: Option<&str>,
    now: Timestamp,
) -> Result<TokenResponse, EndpointError> {
    // The assertion's and the proof's `jti`s are recorded side by side (one group commit
    // between them instead of two in a row); the answers keep their order of precedence.
    let (client, proof) = tokio::join!(
        authenticate_client(state, credentials, now),
        verify_proof(state, dpop_proof, now)
    );
    let client = client?;
    let grant = Grant::parse(params)?;
    if !client.metadata.grant_types.contains(&grant.grant_type()) {
        return Err(EndpointError::UnauthorizedClient(format!(
            "client may not use {}",
            grant.grant_type().as_str()
        )));
    }
    let jkt = dpop_binding(&client, proof)?;
    match grant {
        Grant::ClientCredentials { scope } => client_credentials(state, &client, scope, jkt, now),
        Grant::AuthorizationCode => {
            super::code_grant::redeem_code(state, &client, params, jkt, now).await
        }
        Grant::RefreshToken => super::refresh::refresh(state, &client, params, jkt, now).await,
    }
}

/// The thumbprint of the key of a valid DPoP proof for `POST <issuer>/token` (its `jti`
/// recorded), when one was sent.
async fn verify_proof(
    state: &AuthState,
    proof: Option<&str>,
    now: Timestamp,
) -> Result<Option<String>, EndpointError> {
    let Some(proof) = proof else {
        return Ok(None);
    };
    let htu = state.settings.token_endpoint();
    let request = DpopRequest {
        method: "POST",
        uri: &htu,
        access_token: None,
        expected_jkt: None,
    };
    match verify_dpop_proof(proof, &request, now, state.replay.as_ref()).await {
        Ok(verified) => Ok(Some(verified.jkt)),
        Err(DpopError::ReplayGuard(e)) => Err(EndpointError::TemporarilyUnavailable(e.0)),
        Err(e) => Err(EndpointError::InvalidDpopProof(e.to_string())),
    }
}

/// The DPoP key to bind the token to: the verified proof's (required when the client
/// registered `dpop_bound_access_tokens`).
fn dpop_binding(
    client: &RegisteredClient,
    proof: Result<Option<String>, EndpointError>,
) -> Result<Option<String>, EndpointError> {
    match proof? {
        None if client.metadata.dpop_bound_access_tokens => Err(EndpointError::InvalidDpopProof(
            "this client's tokens must be DPoP-bound: a DPoP proof is required".into(),
        )),
        jkt => Ok(jkt),
    }
}

fn client_credentials(
    state: &AuthState,
    client: &RegisteredClient,
    requested: Option<BTreeSet<String>>,
    dpop_jkt: Option<String>,
    now: Timestamp,
) -> Result<TokenResponse, EndpointError> {
    let allowed = &client.metadata.scope;
    let scopes = match requested {
        None => allowed.clone(),
        Some(requested) => {
            if let Some(extra) = requested.iter().find(|s| !allowed.contains(*s)) {
                return Err(EndpointError::InvalidScope(format!(
                    "scope {extra} is not allowed for this client"
                )));
            }
            requested
        }
    };
    let client_id = client.client_id.to_string();
    let bound = dpop_jkt.is_some();
    let lifetime = state.settings.access_token_lifetime;
    let issued = issue_access_token(
        &state.ring,
        NewAccessToken {
            issuer: state.settings.issuer.clone(),
            audience: state.settings.audience.clone(),
            subject: client_id.clone(),
            client_id,
            scopes: scopes.into_iter().collect(),
            lifetime,
            dpop_jkt,
            partner_id: client.kind.partner_id().map(str::to_owned),
            roles: Vec::new(),
            consent_id: None,
        },
        now,
    )
    .map_err(|e| match e {
        IssueError::InvalidScope(s) => EndpointError::InvalidScope(format!("invalid scope {s}")),
        other => EndpointError::ServerError(other.to_string()),
    })?;
    Ok(TokenResponse {
        access_token: issued.token,
        token_type: if bound { "DPoP" } else { "Bearer" }.to_owned(),
        expires_in: u64::try_from(issued.claims.exp - issued.claims.iat).unwrap_or(0),
        scope: issued.claims.scope,
        refresh_token: None,
    })
}
