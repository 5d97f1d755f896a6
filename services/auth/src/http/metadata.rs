//! RFC 8414 metadata and the JWKS.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse};
use serde::Serialize;

use super::state;
use crate::application::EndpointError;
use crate::settings::AuthSettings;
use ecohub_jose::keys::SigningAlgorithm;

/// Every scope of the hub (the partners service's vocabulary, plus the staff scopes).
pub const SCOPES_SUPPORTED: [&str; 12] = [
    "partner:read",
    "webhooks:manage",
    "consents:write",
    "consents:read",
    "data:read",
    "data:publish",
    "offers:read",
    "offers:write",
    "admin",
    "audit",
    "offers:manage",
    "offers:decide",
];

/// Authorization server metadata (RFC 8414 §2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ServerMetadata {
    /// The issuer identifier.
    pub issuer: String,
    /// `<issuer>/authorize` (only with a `request_uri` from PAR).
    pub authorization_endpoint: String,
    /// `<issuer>/par` (RFC 9126).
    pub pushed_authorization_request_endpoint: String,
    /// `true`: every authorisation request is pushed (FAPI 2.0).
    pub require_pushed_authorization_requests: bool,
    /// `S256` only.
    pub code_challenge_methods_supported: Vec<String>,
    /// `true` (RFC 9207: `iss` in the authorisation response).
    pub authorization_response_iss_parameter_supported: bool,
    /// `ecohub_consent` (RFC 9396).
    pub authorization_details_types_supported: Vec<String>,
    /// `<issuer>/token`.
    pub token_endpoint: String,
    /// `<issuer>/jwks`.
    pub jwks_uri: String,
    /// `<issuer>/register`.
    pub registration_endpoint: String,
    /// `<issuer>/introspect`.
    pub introspection_endpoint: String,
    /// `<issuer>/revoke`.
    pub revocation_endpoint: String,
    /// The grants the token endpoint serves: `client_credentials`, `authorization_code`,
    /// `refresh_token`.
    pub grant_types_supported: Vec<String>,
    /// `code`.
    pub response_types_supported: Vec<String>,
    /// `private_key_jwt`, `client_secret_basic`.
    pub token_endpoint_auth_methods_supported: Vec<String>,
    /// `PS256`, `ES256`, `EdDSA`.
    pub token_endpoint_auth_signing_alg_values_supported: Vec<String>,
    /// As for the token endpoint.
    pub introspection_endpoint_auth_methods_supported: Vec<String>,
    /// As for the token endpoint.
    pub introspection_endpoint_auth_signing_alg_values_supported: Vec<String>,
    /// As for the token endpoint.
    pub revocation_endpoint_auth_methods_supported: Vec<String>,
    /// As for the token endpoint.
    pub revocation_endpoint_auth_signing_alg_values_supported: Vec<String>,
    /// `PS256`, `ES256`, `EdDSA` (RFC 9449 §5.1).
    pub dpop_signing_alg_values_supported: Vec<String>,
    /// Every scope of the hub.
    pub scopes_supported: Vec<String>,
}

impl ServerMetadata {
    /// The metadata for `settings`.
    pub fn for_settings(settings: &AuthSettings) -> Self {
        let strings = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let algs = strings(&SigningAlgorithm::ALL.map(|a| a.as_str()));
        let methods = strings(&["private_key_jwt", "client_secret_basic"]);
        Self {
            issuer: settings.issuer.clone(),
            authorization_endpoint: settings.url("/authorize"),
            pushed_authorization_request_endpoint: settings.url("/par"),
            require_pushed_authorization_requests: true,
            code_challenge_methods_supported: strings(&["S256"]),
            authorization_response_iss_parameter_supported: true,
            authorization_details_types_supported: strings(&["ecohub_consent"]),
            token_endpoint: settings.token_endpoint(),
            jwks_uri: settings.url("/jwks"),
            registration_endpoint: settings.url("/register"),
            introspection_endpoint: settings.url("/introspect"),
            revocation_endpoint: settings.url("/revoke"),
            grant_types_supported: strings(&[
                "client_credentials",
                "authorization_code",
                "refresh_token",
            ]),
            response_types_supported: strings(&["code"]),
            token_endpoint_auth_methods_supported: methods.clone(),
            token_endpoint_auth_signing_alg_values_supported: algs.clone(),
            introspection_endpoint_auth_methods_supported: methods.clone(),
            introspection_endpoint_auth_signing_alg_values_supported: algs.clone(),
            revocation_endpoint_auth_methods_supported: methods,
            revocation_endpoint_auth_signing_alg_values_supported: algs.clone(),
            dpop_signing_alg_values_supported: algs,
            scopes_supported: strings(&SCOPES_SUPPORTED),
        }
    }
}

fn metadata_response(req: &HttpRequest) -> Result<HttpResponse, EndpointError> {
    let state = state(req)?;
    Ok(HttpResponse::Ok()
        .insert_header((
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=300"),
        ))
        .json(ServerMetadata::for_settings(&state.settings)))
}

/// Authorization server metadata (RFC 8414).
#[utoipa::path(
    get,
    path = "/.well-known/oauth-authorization-server",
    tag = "oauth",
    responses((status = 200, description = "The metadata", body = ServerMetadata))
)]
pub async fn authorization_server(req: HttpRequest) -> Result<HttpResponse, EndpointError> {
    metadata_response(&req)
}

/// The same metadata, where OpenID Connect clients look for it.
#[utoipa::path(
    get,
    path = "/.well-known/openid-configuration",
    tag = "oauth",
    responses((status = 200, description = "The metadata", body = ServerMetadata))
)]
pub async fn openid_configuration(req: HttpRequest) -> Result<HttpResponse, EndpointError> {
    metadata_response(&req)
}

/// The hub's public signing keys (RFC 7517): every published, unretired key, newest first.
/// Cached for at most 60 s, well under the rotation's publish-ahead window.
#[utoipa::path(
    get,
    path = "/jwks",
    tag = "oauth",
    responses((status = 200, description = "The JWK set", body = Object, content_type = "application/jwk-set+json"))
)]
pub async fn jwks(req: HttpRequest) -> Result<HttpResponse, EndpointError> {
    let state = state(&req)?;
    let now = state.clock.now();
    Ok(HttpResponse::Ok()
        .insert_header((
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=60"),
        ))
        .content_type("application/jwk-set+json")
        .json(state.ring.jwks(now)))
}
