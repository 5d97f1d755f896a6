//! Introspection (RFC 7662) and revocation (RFC 7009).

use ecohub_kernel::Timestamp;
use serde::Serialize;

use super::client_auth::{Credentials, authenticate_client};
use super::code_flow::{read_events, require_authorised};
use super::refresh::{family_of, family_stream};
use super::secrets::token_hash;
use super::state::AuthState;
use super::store::record_revocation;
use super::verifier::{Inactive, check_current};
use super::{EndpointError, Params};
use crate::domain::authorization::{FamilyEvent, RefreshFamily};
use crate::domain::{ClientKind, RegisteredClient};
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
    if let Some(answer) = introspect_refresh_token(state, &caller, token, now).await? {
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
    if super::refresh::revoke_refresh_token(state, &caller_id, token, now).await? {
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

/// RFC 7662 for refresh tokens: `None` when `token` is no refresh token of this hub's shape;
/// otherwise active only for the current token of a live, unexpired family whose consent is
/// authorised, to its own client (or a staff client).
async fn introspect_refresh_token(
    state: &AuthState,
    caller: &RegisteredClient,
    token: &str,
    now: Timestamp,
) -> Result<Option<IntrospectionResponse>, EndpointError> {
    let Some(family_id) = family_of(token) else {
        return Ok(None);
    };
    let inactive = IntrospectionResponse::default();
    let (events, _) =
        read_events::<FamilyEvent>(state.store.as_ref(), &family_stream(family_id)).await?;
    let family = RefreshFamily::fold(&events);
    let Some(start) = &family.start else {
        return Ok(Some(inactive));
    };
    let staff = matches!(caller.kind, ClientKind::Staff { .. });
    let current = family.current_hash.as_deref() == Some(token_hash(token).as_str());
    if !current
        || family.revoked.is_some()
        || now >= start.expires_at
        || (!staff && start.client_id != caller.client_id.to_string())
    {
        return Ok(Some(inactive));
    }
    let Some(consents) = state.consents.as_ref() else {
        return Err(EndpointError::TemporarilyUnavailable(
            "no consent service is configured".into(),
        ));
    };
    match require_authorised(consents.as_ref(), &start.consent_id, now).await {
        Ok(_) => {}
        Err(EndpointError::InvalidGrant(_)) => return Ok(Some(inactive)),
        Err(e) => return Err(e),
    }
    Ok(Some(IntrospectionResponse {
        active: true,
        scope: Some(start.scope.clone()),
        client_id: Some(start.client_id.clone()),
        exp: Some(start.expires_at.unix_seconds()),
        iat: Some(start.at.unix_seconds()),
        sub: Some(start.subject.clone()),
        iss: Some(state.settings.issuer.clone()),
        partner_id: start.partner_id.clone(),
        consent_id: Some(start.consent_id.clone()),
        ..IntrospectionResponse::default()
    }))
}
