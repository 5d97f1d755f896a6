//! Introspection (RFC 7662) and revocation (RFC 7009).

use ecohub_kernel::Timestamp;
use serde::Serialize;

use super::client_auth::{Credentials, authenticate_client};
use super::store::record_revocation;
use super::verifier::{Inactive, check_current};
use super::{EndpointError, Params};
use crate::domain::ClientKind;
use crate::state::AuthState;
use ecohub_jose::jwt::verify_access_token;

/// An introspection response: `{"active": false}`, or the token's claims.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct IntrospectionResponse {
    /// Whether the token is usable now.
    pub active: bool,
    /// Granted scopes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The client it was issued to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// `Bearer` or `DPoP`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_type: Option<String>,
    /// Expiry (seconds since the epoch).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    /// Issued at.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    /// Not before.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    /// Subject.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// Audience.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    /// Issuer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// Token id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// The partner, for partner clients.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partner_id: Option<String>,
    /// The consent a consent-bound token was granted under.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consent_id: Option<String>,
    /// DPoP binding (`{"jkt": …}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub cnf: Option<serde_json::Value>,
}

/// `POST /introspect`: the caller authenticates as at the token endpoint. A partner client
/// only learns about its own tokens (others read as inactive); staff clients about any.
pub async fn introspect(
    state: &AuthState,
    credentials: Credentials,
    params: &Params,
    now: Timestamp,
) -> Result<IntrospectionResponse, EndpointError> {
    let caller = authenticate_client(state, credentials, now).await?;
    let token = params.required("token")?;
    if let Some(answer) =
        super::authorize::introspect_refresh_token(state, &caller, token, now).await?
    {
        return Ok(answer);
    }
    let inactive = IntrospectionResponse::default();
    let Ok(claims) = verify_access_token(
        token,
        state.ring.as_ref(),
        &state.settings.issuer,
        &state.settings.audience,
        now,
    ) else {
        return Ok(inactive);
    };
    let staff = matches!(caller.kind, ClientKind::Staff { .. });
    if !staff && claims.client_id != caller.client_id.to_string() {
        return Ok(inactive);
    }
    match check_current(
        state.store.as_ref(),
        state.consents.as_deref(),
        &claims,
        now,
    )
    .await
    {
        Ok(_) => {}
        Err(Inactive::Refused(_)) => return Ok(inactive),
        Err(Inactive::Unavailable(e)) => return Err(EndpointError::TemporarilyUnavailable(e)),
    }
    Ok(IntrospectionResponse {
        active: true,
        token_type: Some(
            if claims.cnf.is_some() {
                "DPoP"
            } else {
                "Bearer"
            }
            .to_owned(),
        ),
        cnf: claims
            .cnf
            .as_ref()
            .map(|c| serde_json::json!({ "jkt": c.jkt })),
        aud: claims.aud.values().first().cloned(),
        scope: Some(claims.scope),
        client_id: Some(claims.client_id),
        exp: Some(claims.exp),
        iat: Some(claims.iat),
        nbf: Some(claims.nbf),
        sub: Some(claims.sub),
        iss: Some(claims.iss),
        jti: Some(claims.jti),
        partner_id: claims.partner_id,
        consent_id: claims.consent_id,
    })
}

/// `POST /revoke`: the caller authenticates as at the token endpoint and may revoke only its
/// own tokens. Unknown, invalid, expired or foreign tokens are answered the same way (200,
/// nothing done), so revocation is no oracle.
pub async fn revoke(
    state: &AuthState,
    credentials: Credentials,
    params: &Params,
    now: Timestamp,
) -> Result<(), EndpointError> {
    let caller = authenticate_client(state, credentials, now).await?;
    let token = params.required("token")?;
    let caller_id = caller.client_id.to_string();
    if super::authorize::revoke_refresh_token(state, &caller_id, token, now).await? {
        return Ok(());
    }
    let Ok(claims) = verify_access_token(
        token,
        state.ring.as_ref(),
        &state.settings.issuer,
        &state.settings.audience,
        now,
    ) else {
        return Ok(());
    };
    if claims.client_id != caller.client_id.to_string() {
        return Ok(());
    }
    record_revocation(
        state.store.as_ref(),
        &claims.jti,
        &claims.client_id,
        claims.expires_at(),
        now,
    )
    .await
    .map_err(EndpointError::store)
}
