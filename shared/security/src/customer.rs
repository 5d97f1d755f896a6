//! Customer sessions: the [`CustomerSession`] extractor for customer-facing pages and APIs
//! (login, the consent page, the consent dashboard).
//!
//! A customer signs in through the authorization server's login page, which sets the
//! [`CUSTOMER_SESSION_COOKIE`] (`HttpOnly`, `SameSite=Lax`, `Secure` in production). The
//! authorization server plugs in the [`CustomerSessions`] implementation that turns the cookie
//! into a [`SessionCustomer`] (as an `Arc<dyn CustomerSessions>` in app data); services depend
//! on this crate only. Every state-changing customer request must also carry the session's
//! CSRF token: as the `csrf_token` form field on pages, or the [`CSRF_HEADER`] on the API
//! ([`CustomerSession::check_csrf`]).
//!
//! A refused API request is `401` problem+json with code `unauthorized`; pages take
//! `Option<CustomerSession>` and redirect to the login page instead.

use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError, web};
use async_trait::async_trait;
use ecohub_http::{ApiError, ErrorCode};
use futures_util::future::LocalBoxFuture;

/// The name of the customer session cookie.
pub const CUSTOMER_SESSION_COOKIE: &str = "ecohub_session";

/// The header carrying the session's CSRF token on state-changing customer API calls.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// A signed-in customer, as established from a valid session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionCustomer {
    /// The hub's internal customer id (never given to partners: they see pairwise ids).
    pub customer_id: String,
    /// The customer's display name, for pages.
    pub display_name: String,
    /// The session's id (for audit metadata: `customer:<customer_id>` is the actor).
    pub session_id: String,
    /// The session's CSRF token (synchronizer token: bound to this session).
    pub csrf_token: String,
}

impl SessionCustomer {
    /// The actor recorded in event metadata for this customer's actions.
    pub fn actor(&self) -> String {
        format!("customer:{}", self.customer_id)
    }
}

/// Why a session was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CustomerSessionError {
    /// No session cookie.
    #[error("no customer session")]
    Missing,
    /// The cookie is malformed, expired, signed out or tampered with, or the customer is gone.
    #[error("invalid customer session: {0}")]
    Invalid(String),
    /// The CSRF token is missing or does not match the session.
    #[error("CSRF token missing or wrong")]
    Csrf,
    /// The session could not be checked now (store unreachable).
    #[error("customer sessions temporarily unavailable")]
    Unavailable,
}

/// Resolves session cookies. Implemented by the authorization server.
#[async_trait(?Send)]
pub trait CustomerSessions: Send + Sync + 'static {
    /// The customer of the session whose cookie value is `cookie`.
    async fn resolve(&self, cookie: &str) -> Result<SessionCustomer, CustomerSessionError>;
}

/// A shared session resolver, as stored in app data.
pub type SharedCustomerSessions = Arc<dyn CustomerSessions>;

/// A request from a signed-in customer.
#[derive(Debug, Clone)]
pub struct CustomerSession {
    /// The customer.
    pub customer: SessionCustomer,
}

impl CustomerSession {
    /// Checks a CSRF token presented with a state-changing request, in constant time.
    pub fn check_csrf(&self, presented: Option<&str>) -> Result<(), CustomerSessionError> {
        let expected = self.customer.csrf_token.as_bytes();
        match presented {
            Some(p) if constant_time_eq(p.as_bytes(), expected) => Ok(()),
            _ => Err(CustomerSessionError::Csrf),
        }
    }

    /// Checks the [`CSRF_HEADER`] of `req`.
    pub fn check_csrf_header(&self, req: &HttpRequest) -> Result<(), CustomerSessionError> {
        self.check_csrf(req.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok()))
    }
}

pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() || a.is_empty() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl FromRequest for CustomerSession {
    type Error = CustomerSessionError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let sessions = req.app_data::<web::Data<SharedCustomerSessions>>().cloned();
        let cookie = req
            .cookie(CUSTOMER_SESSION_COOKIE)
            .map(|c| c.value().to_owned());
        Box::pin(async move {
            let cookie = cookie
                .filter(|c| !c.is_empty())
                .ok_or(CustomerSessionError::Missing)?;
            let Some(sessions) = sessions else {
                tracing::error!("no CustomerSessions configured: refusing customer route");
                return Err(CustomerSessionError::Unavailable);
            };
            let customer = sessions.resolve(&cookie).await?;
            Ok(CustomerSession { customer })
        })
    }
}

impl CustomerSessionError {
    fn api_error(&self) -> ApiError {
        match self {
            CustomerSessionError::Missing | CustomerSessionError::Invalid(_) => {
                ApiError::new(ErrorCode::Unauthorized).detail("sign in as a customer first")
            }
            CustomerSessionError::Csrf => ApiError::new(ErrorCode::Forbidden)
                .detail("the CSRF token is missing or does not match the session"),
            CustomerSessionError::Unavailable => ApiError::new(ErrorCode::ServiceUnavailable)
                .detail("try again shortly")
                .header(
                    actix_web::http::header::RETRY_AFTER,
                    actix_web::http::header::HeaderValue::from_static("1"),
                ),
        }
    }
}

impl ResponseError for CustomerSessionError {
    fn status_code(&self) -> StatusCode {
        self.api_error().code().status()
    }

    fn error_response(&self) -> HttpResponse {
        tracing::info!(error = %self, "customer request refused");
        self.api_error().error_response()
    }
}
