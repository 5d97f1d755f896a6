//! Issuing an access token to a client: the token response (RFC 6749 §5.1) every grant
//! answers with, scope strings, and the consent-bound access tokens of the code and refresh
//! grants.

use std::collections::BTreeSet;
use std::time::Duration;

use ecohub_kernel::Timestamp;
use serde::Serialize;

use super::EndpointError;
use super::state::AuthState;
use crate::domain::RegisteredClient;
use ecohub_jose::jwt::{IssueError, IssuedAccessToken, NewAccessToken, issue_access_token};

/// A successful token response (RFC 6749 §5.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct TokenResponse {
    /// The JWT access token (RFC 9068).
    pub access_token: String,
    /// `Bearer`, or `DPoP` for a sender-constrained token.
    pub token_type: String,
    /// Seconds until it expires.
    pub expires_in: u64,
    /// The granted scopes, space-separated.
    pub scope: String,
    /// The refresh token (authorization-code grants of clients registered for
    /// `refresh_token`; rotated on every use).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

/// Splits a space-separated scope string.
pub fn parse_scope(scope: &str) -> BTreeSet<String> {
    scope
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// What a consent-bound access token is issued for.
pub(crate) struct AccessGrant<'a> {
    pub(crate) client: &'a RegisteredClient,
    pub(crate) subject: &'a str,
    pub(crate) scope: &'a str,
    pub(crate) consent_id: &'a str,
    pub(crate) consent_expires_at: Timestamp,
    pub(crate) dpop_jkt: Option<String>,
}

/// Signs a consent-bound access token: lifetime capped by the consent's expiry, `sub` the
/// customer's pairwise id, `consent_id` and the client's partner in the claims.
pub(crate) fn issue_consent_token(
    state: &AuthState,
    grant: AccessGrant<'_>,
    now: Timestamp,
) -> Result<IssuedAccessToken, EndpointError> {
    let lifetime = state
        .settings
        .access_token_lifetime
        .min(grant.consent_expires_at.since(now))
        .max(Duration::from_secs(1));
    issue_access_token(
        &state.ring,
        NewAccessToken {
            issuer: state.settings.issuer.clone(),
            audience: state.settings.audience.clone(),
            subject: grant.subject.to_owned(),
            client_id: grant.client.client_id.to_string(),
            scopes: parse_scope(grant.scope).into_iter().collect(),
            lifetime,
            dpop_jkt: grant.dpop_jkt,
            partner_id: grant.client.kind.partner_id().map(str::to_owned),
            roles: Vec::new(),
            consent_id: Some(grant.consent_id.to_owned()),
        },
        now,
    )
    .map_err(|e| match e {
        IssueError::InvalidScope(s) => EndpointError::InvalidScope(format!("invalid scope {s}")),
        other => EndpointError::ServerError(other.to_string()),
    })
}

/// The token response for an issued access token (`DPoP` when bound) and a refresh token.
pub(crate) fn token_response(
    issued: &IssuedAccessToken,
    refresh_token: Option<String>,
) -> TokenResponse {
    TokenResponse {
        access_token: issued.token.clone(),
        token_type: if issued.claims.cnf.is_some() {
            "DPoP"
        } else {
            "Bearer"
        }
        .to_owned(),
        expires_in: u64::try_from(issued.claims.exp - issued.claims.iat).unwrap_or(0),
        scope: issued.claims.scope.clone(),
        refresh_token,
    }
}
