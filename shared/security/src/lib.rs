//! Protected routes: the [`Authenticated`] extractor and the [`AccessTokenVerifier`] contract.
//!
//! A handler that takes `Authenticated<S>` cannot run unless the request carried an access
//! token that the verifier accepted *and* whose scopes include `S::SCOPE`; the scope is part
//! of the handler's signature, so it cannot be forgotten. Verification itself (signature
//! against the current key set, `exp`/`nbf` with 10 s skew, `iss`, `aud`, DPoP proof for bound
//! tokens, and that the client and partner are still active, checked exactly) belongs to the
//! authorization server, which the hub plugs in as an `Arc<dyn AccessTokenVerifier>` in app
//! data. Services depend on this crate only, never on the authorization server.
//!
//! Failures are answered per RFC 6750 §3.1 / RFC 9449 §7: 401 with `WWW-Authenticate`
//! (`Bearer` or `DPoP`, `error="invalid_token"`) for bad or missing tokens, 403
//! `insufficient_scope` naming the scope, with an `application/problem+json` body that
//! carries the same `code`.
//!
//! A person of the bank signed in to the console (a staff session cookie, see [`staff`]) is
//! authenticated by the same extractor when the request carries no `Authorization` header:
//! as the person (`staff:<id>`), with their roles' scopes, and with the session's CSRF token
//! required on unsafe methods. Its console pages are opened through a [`ConsoleArea`]
//! (`console`): the scope, and the pages in words when it is missing.

use std::collections::BTreeSet;
use std::marker::PhantomData;
use std::sync::Arc;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::Payload;
use actix_web::dev::{ResourceDef, ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError, web};
use async_trait::async_trait;
use ecohub_http::{ApiError, ErrorCode};
use futures_util::future::LocalBoxFuture;

/// Who is calling, as established from a verified access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The OAuth client the token was issued to.
    pub client_id: String,
    /// The token's subject (the client, or the customer for user tokens).
    pub subject: String,
    /// The partner the client belongs to, for partner clients.
    pub partner_id: Option<String>,
    /// Granted scopes.
    pub scopes: BTreeSet<String>,
    /// The token's `jti`.
    pub token_id: String,
    /// The consent the token was issued under (`authorization_code` / `refresh_token` grants
    /// only). The verifier has checked, exactly, that the consent is authorised and unexpired.
    pub consent_id: Option<String>,
    /// The staff person, when the caller is a person signed in to the console (a staff
    /// session, see [`staff`]) rather than an OAuth client.
    pub staff_id: Option<String>,
}

impl Principal {
    /// Whether the token grants `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.contains(scope)
    }

    /// Who acts, as recorded in event metadata and compared by maker-checker rules: the person
    /// (`staff:<id>`) for a staff session, the OAuth client (`client:<id>`) otherwise.
    pub fn actor(&self) -> String {
        match &self.staff_id {
            Some(staff) => format!("staff:{staff}"),
            None => format!("client:{}", self.client_id),
        }
    }
}

/// The presented credentials, as taken from the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresentedToken {
    /// The access token.
    pub token: String,
    /// `Authorization: DPoP …` rather than `Bearer …`.
    pub dpop_scheme: bool,
    /// The `DPoP` proof header, if any.
    pub dpop_proof: Option<String>,
    /// Request method (for the DPoP `htm` check).
    pub method: String,
    /// Request URI without query or fragment, as the client addressed it (for `htu`).
    pub uri: String,
}

/// Why a token was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No credentials were presented.
    #[error("missing access token")]
    Missing,
    /// The token is malformed, expired, revoked, for another audience, badly signed, or its
    /// client or partner is no longer active.
    #[error("invalid access token: {0}")]
    InvalidToken(String),
    /// The token is sender-constrained and the DPoP proof is missing or wrong.
    #[error("invalid DPoP proof: {0}")]
    InvalidDpopProof(String),
    /// The token is valid but lacks the scope.
    #[error("insufficient scope: {0} required")]
    InsufficientScope(&'static str),
    /// The verifier could not decide (the store is unreachable): 503, retry.
    #[error("authorization temporarily unavailable")]
    Unavailable,
    /// A staff session's unsafe request without the session's CSRF token (403).
    #[error("CSRF token missing or wrong")]
    Csrf,
}

/// Verifies access tokens. Implemented by the authorization server; the hub puts an
/// `Arc<dyn AccessTokenVerifier>` in app data (`web::Data<Arc<dyn AccessTokenVerifier>>`).
#[async_trait(?Send)]
pub trait AccessTokenVerifier: Send + Sync + 'static {
    /// Verifies the presented token and returns the principal it establishes.
    async fn verify(&self, presented: &PresentedToken) -> Result<Principal, AuthError>;
}

/// A shared verifier, as stored in app data.
pub type SharedVerifier = Arc<dyn AccessTokenVerifier>;

/// A scope a route requires, as a type: `Authenticated<AdminScope>`.
pub trait RequiredScope: 'static {
    /// The scope string.
    const SCOPE: &'static str;
}

/// Declares scope marker types: `scopes! { AdminScope => "admin", … }`.
#[macro_export]
macro_rules! scopes {
    ($($(#[$meta:meta])* $name:ident => $scope:literal),* $(,)?) => {
        $(
            $(#[$meta])*
            #[derive(Debug, Clone, Copy, PartialEq, Eq)]
            pub struct $name;
            impl $crate::RequiredScope for $name {
                const SCOPE: &'static str = $scope;
            }
        )*
    };
}

scopes! {
    /// Bank staff administration (partner review, client management).
    AdminScope => "admin",
    /// Compliance audit (read-only access to evidence).
    AuditScope => "audit",
    /// A partner reading its own application and status.
    PartnerReadScope => "partner:read",
    /// A partner managing its webhooks.
    WebhooksManageScope => "webhooks:manage",
    /// A data recipient creating and withdrawing consents.
    ConsentsWriteScope => "consents:write",
    /// A partner reading consents that name it.
    ConsentsReadScope => "consents:read",
    /// A data recipient reading customer data within a consent.
    DataReadScope => "data:read",
    /// A data provider publishing customer data.
    DataPublishScope => "data:publish",
    /// Bank product managers: attributes, personas, propositions (never a partner scope).
    OffersManageScope => "offers:manage",
    /// The bank's channels: deciding offers for customers and reporting their responses
    /// (never a partner scope).
    OffersDecideScope => "offers:decide",
    /// A co-brand partner reading the propositions it co-brands.
    OffersReadScope => "offers:read",
    /// A co-brand partner accepting or withdrawing co-branding.
    OffersWriteScope => "offers:write",
}

/// A request whose access token was verified and grants `S::SCOPE`.
#[derive(Debug, Clone)]
pub struct Authenticated<S: RequiredScope> {
    /// The caller.
    pub principal: Principal,
    _scope: PhantomData<S>,
}

impl<S: RequiredScope> Authenticated<S> {
    /// The caller.
    pub fn principal(&self) -> &Principal {
        &self.principal
    }
}

impl<S: RequiredScope> FromRequest for Authenticated<S> {
    type Error = AuthRejection;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let authenticated = authenticate(req);
        Box::pin(async move {
            let (principal, dpop) = authenticated.await?;
            if !principal.has_scope(S::SCOPE) {
                return Err(AuthRejection::new(
                    AuthError::InsufficientScope(S::SCOPE),
                    dpop,
                ));
            }
            Ok(Authenticated {
                principal,
                _scope: PhantomData,
            })
        })
    }
}

/// The principal a staff session acts as on access-token routes: the person (`staff_id`,
/// subject `staff:<id>`), the console as the client, the roles' scopes.
pub fn staff_principal(staff: &SessionStaff) -> Principal {
    Principal {
        client_id: CONSOLE_CLIENT_ID.to_owned(),
        subject: staff.actor(),
        partner_id: None,
        scopes: staff.scopes.clone(),
        token_id: staff.session_id.clone(),
        consent_id: None,
        staff_id: Some(staff.staff_id.clone()),
    }
}

/// Whether `method` changes nothing (and so needs no CSRF token).
fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Who calls: the access token's principal or — with no `Authorization` header but a staff
/// session cookie — the staff person's (CSRF token required on unsafe methods); and whether
/// the DPoP scheme was used.
fn authenticate(
    req: &HttpRequest,
) -> LocalBoxFuture<'static, Result<(Principal, bool), AuthRejection>> {
    if !req.headers().contains_key(header::AUTHORIZATION)
        && let Some(cookie) = staff::staff_cookie(req)
    {
        let resolved = staff::resolve(req, Some(cookie));
        let csrf = (!is_safe(req.method())).then(|| {
            req.headers()
                .get(customer::CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        });
        return Box::pin(async move {
            let refuse = |e: AuthError| AuthRejection::new(e, false);
            let staff = resolved.await.map_err(|e| match e {
                StaffSessionError::Missing => refuse(AuthError::Missing),
                StaffSessionError::Invalid(why) => refuse(AuthError::InvalidToken(why)),
                StaffSessionError::Csrf => refuse(AuthError::Csrf),
                StaffSessionError::Unavailable => refuse(AuthError::Unavailable),
            })?;
            if let Some(presented) = csrf {
                staff
                    .check_csrf(presented.as_deref())
                    .map_err(|_| refuse(AuthError::Csrf))?;
            }
            Ok((staff_principal(&staff), false))
        });
    }
    let verifier = req.app_data::<web::Data<SharedVerifier>>().cloned();
    let presented = presented_token(req);
    Box::pin(async move {
        let presented = presented?;
        let dpop = presented.dpop_scheme;
        let Some(verifier) = verifier else {
            tracing::error!("no AccessTokenVerifier configured: refusing protected route");
            return Err(AuthRejection::new(AuthError::Unavailable, dpop));
        };
        let principal = verifier
            .verify(&presented)
            .await
            .map_err(|e| AuthRejection::new(e, dpop))?;
        Ok((principal, dpop))
    })
}

fn presented_token(req: &HttpRequest) -> Result<PresentedToken, AuthRejection> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Err(AuthRejection::new(AuthError::Missing, false));
    };
    let value = value.to_str().map_err(|_| {
        AuthRejection::new(AuthError::InvalidToken("malformed header".into()), false)
    })?;
    let (scheme, token) = value.split_once(' ').ok_or_else(|| {
        AuthRejection::new(AuthError::InvalidToken("malformed header".into()), false)
    })?;
    let dpop_scheme = if scheme.eq_ignore_ascii_case("bearer") {
        false
    } else if scheme.eq_ignore_ascii_case("dpop") {
        true
    } else {
        return Err(AuthRejection::new(
            AuthError::InvalidToken(format!("unsupported scheme {scheme}")),
            false,
        ));
    };
    let token = token.trim();
    if token.is_empty() {
        return Err(AuthRejection::new(AuthError::Missing, dpop_scheme));
    }
    let dpop_proof = match req.headers().get_all("dpop").count() {
        0 => None,
        1 => req
            .headers()
            .get("dpop")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        _ => {
            return Err(AuthRejection::new(
                AuthError::InvalidDpopProof("more than one DPoP header".into()),
                dpop_scheme,
            ));
        }
    };
    let info = req.connection_info();
    let uri = format!("{}://{}{}", info.scheme(), info.host(), req.path());
    Ok(PresentedToken {
        token: token.to_owned(),
        dpop_scheme,
        dpop_proof,
        method: req.method().to_string(),
        uri,
    })
}

/// The error response of a refused protected request.
#[derive(Debug)]
pub struct AuthRejection {
    error: AuthError,
    dpop: bool,
}

impl AuthRejection {
    fn new(error: AuthError, dpop: bool) -> Self {
        Self { error, dpop }
    }

    /// Why.
    pub fn error(&self) -> &AuthError {
        &self.error
    }
}

impl std::fmt::Display for AuthRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

impl ResponseError for AuthRejection {
    fn status_code(&self) -> StatusCode {
        self.api_error().code().status()
    }

    fn error_response(&self) -> HttpResponse {
        tracing::info!(error = %self.error, "protected request refused");
        self.api_error().error_response()
    }
}

impl AuthRejection {
    /// The problem response: RFC 6750 §3 / RFC 9449 §7.1 challenge in `WWW-Authenticate`
    /// (naming the scheme the client used; no error code when nothing was sent), and a
    /// problem+json body whose detail never says which check failed (no oracle for an
    /// attacker; the log says it).
    fn api_error(&self) -> ApiError {
        let scheme = if self.dpop { "DPoP" } else { "Bearer" };
        let algs = if self.dpop {
            ", algs=\"ES256 PS256 EdDSA\""
        } else {
            ""
        };
        let (code, challenge, detail) = match &self.error {
            AuthError::Missing => (
                ErrorCode::Unauthorized,
                Some(format!("{scheme} realm=\"ecohub\"{algs}")),
                "an access token is required".to_owned(),
            ),
            AuthError::InvalidToken(_) => (
                ErrorCode::InvalidToken,
                Some(format!("{scheme} realm=\"ecohub\", error=\"invalid_token\"{algs}")),
                "the access token is not valid".to_owned(),
            ),
            AuthError::InvalidDpopProof(_) => (
                ErrorCode::InvalidDpopProof,
                Some("DPoP realm=\"ecohub\", error=\"invalid_dpop_proof\", algs=\"ES256 PS256 EdDSA\"".to_owned()),
                "the DPoP proof is not valid".to_owned(),
            ),
            AuthError::InsufficientScope(scope) => (
                ErrorCode::InsufficientScope,
                Some(format!("{scheme} realm=\"ecohub\", error=\"insufficient_scope\", scope=\"{scope}\"{algs}")),
                format!("the {scope} scope is required"),
            ),
            AuthError::Unavailable => (
                ErrorCode::ServiceUnavailable,
                None,
                "try again shortly".to_owned(),
            ),
            AuthError::Csrf => (
                ErrorCode::Forbidden,
                None,
                "the CSRF token is missing or does not match the session".to_owned(),
            ),
        };
        let mut error = ApiError::new(code).detail(detail);
        if let Some(value) = challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
            error = error.header(header::WWW_AUTHENTICATE, value);
        }
        if code == ErrorCode::ServiceUnavailable {
            error = error.header(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        error
    }
}

// Authentication before header validation: a protected request that will be refused for a
// header (an invalid `x-idempotency-key`: 400; an `Accept` that admits nothing the route
// answers with: 406) is authenticated first, so an anonymous caller gets the same 401 it
// would get with good headers and learns nothing about the route (issue 11).
//
// The idempotency and negotiation middlewares check their headers before any handler runs,
// and a handler's `Authenticated<S>` or `CustomerSession` extractor runs only inside the
// handler, so without this middleware the 400 or 406 would come before the 401. The
// middleware runs only on the rare request that is going to be refused anyway (others pass
// untouched, and a handler never runs after it verified: no token or DPoP proof is checked
// twice) and only on the routes listed in [`ProtectedRoutes`] (the hub lists them from its
// OpenAPI document); it authenticates as the extractor would and answers the extractor's
// refusal, or passes the request on to be refused with 400 or 406. It authenticates, it does
// not authorize: a caller whose valid token lacks the route's scope learns of the 406 first.

/// How a protected route authenticates its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protection {
    /// An access token (`Authenticated<S>`).
    AccessToken,
    /// A customer session cookie (`CustomerSession`), refused with 401 when absent.
    CustomerSession,
}

/// The operations that need credentials: method, path template (`/consents/{consent_id}`)
/// and how the caller authenticates.
#[derive(Debug, Default)]
pub struct ProtectedRoutes {
    routes: Vec<(Method, ResourceDef, Protection)>,
}

impl ProtectedRoutes {
    /// From `(method, path template, protection)`; unknown methods are skipped.
    pub fn new<'a>(routes: impl IntoIterator<Item = (&'a str, &'a str, Protection)>) -> Self {
        let routes = routes
            .into_iter()
            .filter_map(|(method, path, protection)| {
                let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes()).ok()?;
                Some((method, ResourceDef::new(path), protection))
            })
            .collect();
        Self { routes }
    }

    /// How `method` on `path` authenticates its caller (None: it is not listed).
    pub fn protection(&self, method: &Method, path: &str) -> Option<Protection> {
        self.routes
            .iter()
            .find(|(m, def, _)| m == method && def.is_match(path))
            .map(|(_, _, protection)| *protection)
    }

    /// Whether `method` on `path` needs credentials.
    pub fn protects(&self, method: &Method, path: &str) -> bool {
        self.protection(method, path).is_some()
    }
}

/// The refusal an access token's extractor (or a staff session in its place) would answer
/// `req` with, if any.
async fn token_refusal(req: &ServiceRequest) -> Option<HttpResponse> {
    authenticate(req.request())
        .await
        .err()
        .map(|rejection| rejection.error_response())
}

/// The refusal `CustomerSession` would answer `req` with, if any.
async fn session_refusal(req: &ServiceRequest) -> Option<HttpResponse> {
    let (http_req, mut payload) = (req.request(), Payload::None);
    CustomerSession::from_request(http_req, &mut payload)
        .await
        .err()
        .map(|e| e.error_response())
}

/// Middleware (use with `actix_web::middleware::from_fn`, outside the negotiation and
/// idempotency middlewares); see the module documentation. Needs `web::Data<ProtectedRoutes>`
/// and `web::Data<SharedVerifier>` (access tokens) or `web::Data<SharedCustomerSessions>`
/// (sessions) in app data; without the routes it passes requests through, without the
/// verifier or the sessions it refuses with 503 as the extractors do.
pub async fn authenticate_first(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let protection = req
        .app_data::<web::Data<ProtectedRoutes>>()
        .and_then(|routes| routes.protection(req.method(), req.path()));
    if let Some(protection) = protection {
        // Any idempotency key: the idempotency middleware may answer before the route (400
        // for a malformed key, a replay, 409 for a key reused with another body), and an
        // anonymous caller must learn nothing of that.
        let has_key = req
            .headers()
            .contains_key(&ecohub_http::idempotency::IDEMPOTENCY_KEY_HEADER);
        if has_key || ecohub_http::accept::refusal(&req).is_some() {
            let refusal = match protection {
                Protection::AccessToken => token_refusal(&req).await,
                Protection::CustomerSession => session_refusal(&req).await,
            };
            if let Some(response) = refusal {
                return Ok(req.into_response(response));
            }
        }
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_boxed_body)
}

pub mod console;
pub mod customer;
pub mod staff;
pub use console::ConsoleArea;
pub use customer::{
    CSRF_HEADER, CUSTOMER_SESSION_COOKIE, CustomerSession, CustomerSessionError, CustomerSessions,
    SessionCustomer, SharedCustomerSessions,
};
pub use staff::{
    CONSOLE_CLIENT_ID, STAFF_SESSION_COOKIE, SessionStaff, SharedStaffSessions, StaffSession,
    StaffSessionError, StaffSessions,
};

#[cfg(test)]
mod tests;
