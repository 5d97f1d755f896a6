//! The authorization server's HTTP layer: thin handlers over [`crate::application`].
//!
//! | route | what |
//! |---|---|
//! | `GET /.well-known/oauth-authorization-server`, `GET /.well-known/openid-configuration` | RFC 8414 metadata |
//! | `GET /jwks` | the hub's public keys |
//! | `POST /register`, `GET/PUT/DELETE /register/{client_id}` | RFC 7591 / 7592 |
//! | `POST /token` | `client_credentials` |
//! | `POST /introspect`, `POST /revoke` | RFC 7662, RFC 7009 |
//! | `POST /admin/clients` | staff clients (`admin` scope) |
//! | `GET/POST /console/login`, `GET /console`, `POST /console/logout` | the staff console's sign-in, landing page and sign-out (HTML) |
//!
//! OAuth endpoints answer errors as `{error, error_description}` (RFC 6749 §5.2, RFC 7591
//! §3.2.2) with `Cache-Control: no-store`; `/admin/clients` answers problem+json like every
//! other resource route.

mod admin;
mod console;
mod console_clients;
mod metadata;
mod oauth;
mod pages;
mod register;
mod views;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError, web};
use utoipa::OpenApi;
use utoipa::openapi::security::{
    ClientCredentials, Flow, HttpAuthScheme, HttpBuilder, OAuth2, Scopes, SecurityScheme,
};

use crate::application::EndpointError;

pub use console::{CONSOLE_LOGIN_CSRF_COOKIE, ConsoleLoginForm, ConsoleLogoutForm};
pub use metadata::ServerMetadata;
pub use oauth::{ParForm, RevocationForm, TokenForm};
pub use pages::{DecisionForm, LOGIN_CSRF_COOKIE, LoginForm, LogoutForm, local_path};

/// Mounts every route of the authorization server. Needs `web::Data<AuthState>` in app data,
/// and `web::Data<SharedVerifier>` for `/admin/clients`. Each path is one resource, so another
/// method gets 405 with `Allow` (the problem fallback renders it), as on every other service.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/.well-known/oauth-authorization-server")
            .route(web::get().to(metadata::authorization_server)),
    )
    .service(
        web::resource("/.well-known/openid-configuration")
            .route(web::get().to(metadata::openid_configuration)),
    )
    .service(web::resource("/jwks").route(web::get().to(metadata::jwks)))
    .service(web::resource("/par").route(web::post().to(oauth::par)))
    .service(web::resource("/authorize").route(web::get().to(pages::authorize)))
    .service(web::resource("/authorize/decision").route(web::post().to(pages::decision)))
    .service(
        web::resource("/login")
            .route(web::get().to(pages::login_page))
            .route(web::post().to(pages::login)),
    )
    .service(web::resource("/logout").route(web::post().to(pages::logout)))
    .service(web::resource("/console").route(web::get().to(console::home)))
    .service(
        web::resource("/console/login")
            .route(web::get().to(console::login_page))
            .route(web::post().to(console::login)),
    )
    .service(web::resource("/console/logout").route(web::post().to(console::logout)))
    .service(
        web::resource("/console/partners/{partner_id}/clients")
            .route(web::get().to(console_clients::clients)),
    )
    .service(web::resource("/token").route(web::post().to(oauth::token)))
    .service(web::resource("/introspect").route(web::post().to(oauth::introspect)))
    .service(web::resource("/revoke").route(web::post().to(oauth::revoke)))
    .service(web::resource("/register").route(web::post().to(register::register)))
    .service(
        web::resource("/register/{client_id}")
            .route(web::get().to(register::read))
            .route(web::put().to(register::update))
            .route(web::delete().to(register::delete)),
    )
    .service(web::resource("/admin/clients").route(web::post().to(admin::create_client)));
}

/// The OpenAPI document of the authorization server, merged into the hub's.
#[derive(OpenApi)]
#[openapi(
    paths(
        metadata::authorization_server,
        metadata::openid_configuration,
        metadata::jwks,
        oauth::par,
        pages::authorize,
        pages::decision,
        pages::login_page,
        pages::login,
        pages::logout,
        console::login_page,
        console::login,
        console::home,
        console::logout,
        oauth::token,
        oauth::introspect,
        oauth::revoke,
        register::register,
        register::read,
        register::update,
        register::delete,
        admin::create_client,
    ),
    components(schemas(
        ServerMetadata,
        OAuthErrorBody,
        TokenForm,
        RevocationForm,
        oauth::ParForm,
        pages::LoginForm,
        pages::LogoutForm,
        pages::DecisionForm,
        console::ConsoleLoginForm,
        console::ConsoleLogoutForm,
        crate::application::par::ParResponse,
        crate::application::issuance::TokenResponse,
        crate::application::introspection::IntrospectionResponse,
        crate::application::registration::RegistrationRequest,
        crate::application::registration::ClientInformation,
        crate::application::registration::StaffClientCredentials,
        admin::CreateStaffClient,
    )),
    modifiers(&SecuritySchemes),
    tags((name = "oauth", description = "OAuth 2.0 / FAPI 2.0 authorization server: metadata, \
keys, dynamic client registration, pushed authorisation requests, tokens, introspection, \
revocation"), (name = "customer", description = "Customer pages (HTML): sign-in, sign-out, \
the consent page and the customer's decision"), (name = "console", description = "The staff \
console (HTML): sign-in with password and TOTP code, the signed-in landing page, sign-out")),
)]
pub struct AuthApi;

struct SecuritySchemes;

impl utoipa::Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "RFC 9068 access token (`Authorization: Bearer`, or `Authorization: DPoP` \
with a `DPoP` proof for sender-constrained tokens); for `/register/{client_id}`, the \
registration access token",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "basic",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Basic)
                    .description(Some(
                        "client_secret_basic: client id and secret (development and staff clients)",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "private_key_jwt",
            SecurityScheme::OAuth2(OAuth2::with_description(
                [Flow::ClientCredentials(ClientCredentials::new(
                    "/token",
                    Scopes::new(),
                ))],
                "private_key_jwt (RFC 7523): `client_assertion_type=urn:ietf:params:oauth:\
client-assertion-type:jwt-bearer` and a `client_assertion` signed (PS256, ES256 or EdDSA) with \
a key of the registered JWKS, `aud` the token endpoint or the issuer, single-use `jti`",
            )),
        );
    }
}

/// An OAuth error body (RFC 6749 §5.2, RFC 7591 §3.2.2).
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct OAuthErrorBody {
    /// The error code (`invalid_client`, `invalid_scope`, `invalid_redirect_uri`…).
    pub error: String,
    /// A human-readable explanation.
    pub error_description: String,
}

impl ResponseError for EndpointError {
    fn status_code(&self) -> StatusCode {
        match self {
            EndpointError::InvalidClient { .. } | EndpointError::InvalidToken(_) => {
                StatusCode::UNAUTHORIZED
            }
            EndpointError::ServerError(_) => StatusCode::INTERNAL_SERVER_ERROR,
            EndpointError::TemporarilyUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let description = match self {
            EndpointError::InvalidClient { reason, .. } => {
                tracing::info!(%reason, "client authentication failed");
                "client authentication failed".to_owned()
            }
            EndpointError::InvalidToken(reason) => {
                tracing::info!(%reason, "registration access token refused");
                "the access token is not valid".to_owned()
            }
            EndpointError::ServerError(cause) => {
                tracing::error!(%cause, "oauth endpoint failed");
                "internal error".to_owned()
            }
            EndpointError::TemporarilyUnavailable(cause) => {
                tracing::warn!(%cause, "oauth endpoint unavailable");
                "try again shortly".to_owned()
            }
            EndpointError::InvalidRequest(m)
            | EndpointError::InvalidGrant(m)
            | EndpointError::UnauthorizedClient(m)
            | EndpointError::UnsupportedGrantType(m)
            | EndpointError::InvalidScope(m)
            | EndpointError::InvalidDpopProof(m)
            | EndpointError::InvalidRedirectUri(m)
            | EndpointError::InvalidClientMetadata(m)
            | EndpointError::InvalidSoftwareStatement(m)
            | EndpointError::UnapprovedSoftwareStatement(m)
            | EndpointError::UnsupportedResponseType(m)
            | EndpointError::InvalidAuthorizationDetails(m) => m.clone(),
        };
        let mut response = HttpResponse::build(self.status_code());
        no_store(&mut response);
        match self {
            EndpointError::InvalidClient {
                challenge: true, ..
            } => {
                response.insert_header((
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"ecohub\""),
                ));
            }
            EndpointError::InvalidToken(_) => {
                response.insert_header((
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"ecohub\", error=\"invalid_token\""),
                ));
            }
            EndpointError::TemporarilyUnavailable(_) => {
                response.insert_header((header::RETRY_AFTER, HeaderValue::from_static("1")));
            }
            _ => {}
        }
        response.json(OAuthErrorBody {
            error: self.code().to_owned(),
            error_description: description,
        })
    }
}

/// `Cache-Control: no-store` and `Pragma: no-cache` (RFC 6749 §5.1).
fn no_store(response: &mut actix_web::HttpResponseBuilder) {
    response
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .insert_header((header::PRAGMA, HeaderValue::from_static("no-cache")));
}

/// The authorization server's state from app data, or a 500 when the hub forgot it.
fn state(
    req: &actix_web::HttpRequest,
) -> Result<web::Data<crate::application::state::AuthState>, EndpointError> {
    req.app_data::<web::Data<crate::application::state::AuthState>>()
        .cloned()
        .ok_or_else(|| EndpointError::ServerError("AuthState is not configured".into()))
}
