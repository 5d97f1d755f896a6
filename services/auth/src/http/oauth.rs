//! `/token`, `/introspect`, `/revoke`: form-encoded, client-authenticated.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::{no_store, state};
use crate::app::client_auth::Credentials;
use crate::app::introspection::IntrospectionResponse;
use crate::app::issuance::TokenResponse;
use crate::app::par::{self, ParResponse};
use crate::app::{EndpointError, Params, introspection, token as grants};

/// The token request form (RFC 6749 §4.1.3, §4.4.2, §6, RFC 7636, RFC 7523 §2.2).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct TokenForm {
    /// `client_credentials`, `authorization_code` or `refresh_token`.
    pub grant_type: String,
    /// The authorisation code (`authorization_code`).
    pub code: Option<String>,
    /// The redirect URI of the authorisation request (`authorization_code`).
    pub redirect_uri: Option<String>,
    /// The PKCE code verifier (`authorization_code`).
    pub code_verifier: Option<String>,
    /// The refresh token (`refresh_token`; rotated: use the new one next time).
    pub refresh_token: Option<String>,
    /// Requested scopes, space-separated (default: every registered scope).
    pub scope: Option<String>,
    /// `urn:ietf:params:oauth:client-assertion-type:jwt-bearer` for private_key_jwt.
    pub client_assertion_type: Option<String>,
    /// The signed client assertion for private_key_jwt.
    pub client_assertion: Option<String>,
    /// The client id (optional).
    pub client_id: Option<String>,
}

/// The pushed authorisation request form (RFC 9126 §2.1, FAPI 2.0), plus the client
/// authentication parameters of [`TokenForm`].
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ParForm {
    /// `code`.
    pub response_type: String,
    /// The client id.
    pub client_id: String,
    /// One of the client's registered redirect URIs.
    pub redirect_uri: String,
    /// Requested scopes (a subset of the client's), space-separated.
    pub scope: String,
    /// Echoed in the authorisation response.
    pub state: Option<String>,
    /// PKCE challenge: base64url SHA-256 of the code verifier.
    pub code_challenge: String,
    /// `S256` (required; `plain` is refused).
    pub code_challenge_method: String,
    /// RFC 9396: `[{"type":"ecohub_consent","consent_id":"…"}]` (a consent of the client's
    /// partner awaiting authorisation).
    pub authorization_details: String,
    /// `urn:ietf:params:oauth:client-assertion-type:jwt-bearer`.
    pub client_assertion_type: Option<String>,
    /// The signed client assertion (`aud` the issuer or the token endpoint).
    pub client_assertion: Option<String>,
}

/// The introspection and revocation form (RFC 7662 §2.1, RFC 7009 §2.1), plus the client
/// authentication parameters of [`TokenForm`] for private_key_jwt.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct RevocationForm {
    /// The access token or refresh token.
    pub token: String,
    /// `access_token` (optional hint).
    pub token_type_hint: Option<String>,
    /// As at the token endpoint.
    pub client_assertion_type: Option<String>,
    /// As at the token endpoint.
    pub client_assertion: Option<String>,
}

/// Reads a form-encoded request: content type, parameters, credentials.
fn form(req: &HttpRequest, body: &[u8]) -> Result<(Params, Credentials), EndpointError> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    if !essence.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        return Err(EndpointError::InvalidRequest(
            "the body must be application/x-www-form-urlencoded".into(),
        ));
    }
    let body = std::str::from_utf8(body)
        .map_err(|_| EndpointError::InvalidRequest("the body is not UTF-8".into()))?;
    let params = Params::parse(body)?;
    let authorization = match req.headers().get(header::AUTHORIZATION) {
        None => None,
        Some(v) => Some(
            v.to_str()
                .map_err(|_| EndpointError::invalid_client("malformed authorization header"))?,
        ),
    };
    let credentials = Credentials::from_request(authorization, &params)?;
    Ok((params, credentials))
}

/// At most one `DPoP` header.
fn dpop_header(req: &HttpRequest) -> Result<Option<String>, EndpointError> {
    let mut values = req.headers().get_all("dpop");
    let first = values.next();
    if values.next().is_some() {
        return Err(EndpointError::InvalidDpopProof(
            "more than one DPoP header".into(),
        ));
    }
    first
        .map(|v| {
            v.to_str()
                .map(str::to_owned)
                .map_err(|_| EndpointError::InvalidDpopProof("malformed DPoP header".into()))
        })
        .transpose()
}

/// Issues an access token: `client_credentials`; `authorization_code` (PKCE S256, single-use
/// code, the consent authorised; a consent-bound token whose `sub` is the customer's pairwise
/// id, plus a refresh token); `refresh_token` (rotated on every use; a reused token revokes
/// its family). Clients authenticate with
/// `client_secret_basic` or `private_key_jwt` (the method they registered); a `DPoP` proof
/// binds the token to its key (required for clients registered with
/// `dpop_bound_access_tokens`).
#[utoipa::path(
    post,
    path = "/token",
    tag = "oauth",
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    params(("DPoP" = Option<String>, Header, description = "DPoP proof (RFC 9449) for POST <issuer>/token")),
    security(("basic" = []), ("private_key_jwt" = [])),
    responses(
        (status = 200, description = "The token (Cache-Control: no-store)", body = TokenResponse),
        (status = 400, description = "invalid_request, invalid_scope, unsupported_grant_type, unauthorized_client, invalid_dpop_proof", body = super::OAuthErrorBody),
        (status = 401, description = "invalid_client (WWW-Authenticate: Basic)", body = super::OAuthErrorBody),
        (status = 503, description = "temporarily_unavailable", body = super::OAuthErrorBody),
    )
)]
pub async fn token(req: HttpRequest, body: web::Bytes) -> Result<HttpResponse, EndpointError> {
    let state = state(&req)?;
    let (params, credentials) = form(&req, &body)?;
    let proof = dpop_header(&req)?;
    let now = state.clock.now();
    let issued = grants::token(&state, credentials, &params, proof.as_deref(), now).await?;
    let mut response = HttpResponse::Ok();
    no_store(&mut response);
    Ok(response.json(issued))
}

/// Pushed authorisation request (RFC 9126), the only way to start an authorisation (FAPI
/// 2.0). `private_key_jwt` (`client_secret_basic` outside production only); PKCE S256;
/// one `ecohub_consent` in `authorization_details`. The `request_uri` works for 90 s, once.
#[utoipa::path(
    post,
    path = "/par",
    tag = "oauth",
    request_body(content = ParForm, content_type = "application/x-www-form-urlencoded"),
    security(("private_key_jwt" = []), ("basic" = [])),
    responses(
        (status = 201, description = "The request_uri (Cache-Control: no-store)", body = ParResponse),
        (status = 400, description = "invalid_request, invalid_scope, unsupported_response_type, unauthorized_client, invalid_authorization_details", body = super::OAuthErrorBody),
        (status = 401, description = "invalid_client", body = super::OAuthErrorBody),
        (status = 503, description = "temporarily_unavailable (no consent service)", body = super::OAuthErrorBody),
    )
)]
pub async fn par(req: HttpRequest, body: web::Bytes) -> Result<HttpResponse, EndpointError> {
    let state = state(&req)?;
    let (params, credentials) = form(&req, &body)?;
    let now = state.clock.now();
    let pushed = par::push(&state, credentials, &params, now).await?;
    let mut response = HttpResponse::Created();
    no_store(&mut response);
    Ok(response.json(pushed))
}

/// Token introspection (RFC 7662). The caller authenticates like at the token endpoint; a
/// partner client learns only about its own tokens, staff clients about any.
#[utoipa::path(
    post,
    path = "/introspect",
    tag = "oauth",
    request_body(content = RevocationForm, content_type = "application/x-www-form-urlencoded"),
    security(("basic" = []), ("private_key_jwt" = [])),
    responses(
        (status = 200, description = "`{\"active\": false}` or the token's claims", body = IntrospectionResponse),
        (status = 400, description = "invalid_request", body = super::OAuthErrorBody),
        (status = 401, description = "invalid_client", body = super::OAuthErrorBody),
    )
)]
pub async fn introspect(req: HttpRequest, body: web::Bytes) -> Result<HttpResponse, EndpointError> {
    let state = state(&req)?;
    let (params, credentials) = form(&req, &body)?;
    let now = state.clock.now();
    let answer = introspection::introspect(&state, credentials, &params, now).await?;
    let mut response = HttpResponse::Ok();
    no_store(&mut response);
    Ok(response.json(answer))
}

/// Token revocation (RFC 7009): a client revokes its own tokens; 200 whatever the token.
#[utoipa::path(
    post,
    path = "/revoke",
    tag = "oauth",
    request_body(content = RevocationForm, content_type = "application/x-www-form-urlencoded"),
    security(("basic" = []), ("private_key_jwt" = [])),
    responses(
        (status = 200, description = "Revoked (or nothing to revoke)"),
        (status = 400, description = "invalid_request", body = super::OAuthErrorBody),
        (status = 401, description = "invalid_client", body = super::OAuthErrorBody),
    )
)]
pub async fn revoke(req: HttpRequest, body: web::Bytes) -> Result<HttpResponse, EndpointError> {
    let state = state(&req)?;
    let (params, credentials) = form(&req, &body)?;
    let now = state.clock.now();
    introspection::revoke(&state, credentials, &params, now).await?;
    let mut response = HttpResponse::Ok();
    no_store(&mut response);
    Ok(response.finish())
}
