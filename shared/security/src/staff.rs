//! Staff sessions: a person of the bank signed in to the console.
//!
//! A staff person signs in on the console's sign-in page (the authorization server's
//! `/console/login`), which sets the [`STAFF_SESSION_COOKIE`] (`HttpOnly`, `SameSite=Strict`,
//! `Secure` in production). The authorization server plugs in the [`StaffSessions`]
//! implementation that turns the cookie into a [`SessionStaff`] — checked exactly on every
//! request: not signed out, the person not disabled, their roles as they are now.
//!
//! Two ways in:
//! - [`StaffSession`], the extractor of console pages (which take `Option<StaffSession>` and
//!   redirect to the sign-in page instead of answering 401);
//! - [`crate::Authenticated`]: a request without an `Authorization` header but with the staff
//!   cookie is authenticated as the person, with the scopes of their roles (the one table is
//!   the authorization server's `ROLE_SCOPES`) and the actor `staff:<id>`; an unsafe method
//!   (anything but GET, HEAD, OPTIONS) must carry the session's CSRF token in
//!   [`crate::CSRF_HEADER`], or it is refused with 403 before the handler runs.

use std::collections::BTreeSet;
use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError, web};
use async_trait::async_trait;
use ecohub_http::{ApiError, ErrorCode};
use futures_util::future::LocalBoxFuture;

/// The name of the staff session cookie.
pub const STAFF_SESSION_COOKIE: &str = "ecohub_staff_session";

/// The `client_id` of a principal established from a staff session (no OAuth client is
/// involved; the person is `Principal::staff_id`).
pub const CONSOLE_CLIENT_ID: &str = "console";

/// A signed-in staff person, as established from a valid session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionStaff {
    /// The person's opaque id (the actor is `staff:<staff_id>`).
    pub staff_id: String,
    /// The name shown on pages.
    pub display_name: String,
    /// The person's roles (`partnership_manager`…), as they are now.
    pub roles: BTreeSet<String>,
    /// The scopes the roles grant.
    pub scopes: BTreeSet<String>,
    /// The session's id.
    pub session_id: String,
    /// The session's CSRF token (synchronizer token: bound to this session).
    pub csrf_token: String,
}

impl SessionStaff {
    /// The actor recorded in event metadata for this person's actions.
    pub fn actor(&self) -> String {
        format!("staff:{}", self.staff_id)
    }

    /// Checks a presented CSRF token in constant time.
    pub fn check_csrf(&self, presented: Option<&str>) -> Result<(), StaffSessionError> {
        match presented {
            Some(p)
                if crate::customer::constant_time_eq(p.as_bytes(), self.csrf_token.as_bytes()) =>
            {
                Ok(())
            }
            _ => Err(StaffSessionError::Csrf),
        }
    }
}

/// Why a staff session was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StaffSessionError {
    /// No session cookie.
    #[error("no staff session")]
    Missing,
    /// The cookie is malformed, expired, signed out or tampered with, or the person is
    /// disabled or gone.
    #[error("invalid staff session: {0}")]
    Invalid(String),
    /// The CSRF token is missing or does not match the session.
    #[error("CSRF token missing or wrong")]
    Csrf,
    /// The session could not be checked now (store unreachable).
    #[error("staff sessions temporarily unavailable")]
    Unavailable,
}

/// Resolves staff session cookies. Implemented by the authorization server.
#[async_trait(?Send)]
pub trait StaffSessions: Send + Sync + 'static {
    /// The person of the session whose cookie value is `cookie`.
    async fn resolve(&self, cookie: &str) -> Result<SessionStaff, StaffSessionError>;
}

/// A shared staff session resolver, as stored in app data.
pub type SharedStaffSessions = Arc<dyn StaffSessions>;

/// A request from a signed-in staff person (console pages).
#[derive(Debug, Clone)]
pub struct StaffSession {
    /// The person.
    pub staff: SessionStaff,
}

/// The staff cookie of `req`, if any (empty counts as none).
pub(crate) fn staff_cookie(req: &HttpRequest) -> Option<String> {
    req.cookie(STAFF_SESSION_COOKIE)
        .map(|c| c.value().to_owned())
        .filter(|c| !c.is_empty())
}

/// Resolves the staff session of `cookie` through the resolver in `req`'s app data.
pub(crate) fn resolve(
    req: &HttpRequest,
    cookie: Option<String>,
) -> LocalBoxFuture<'static, Result<SessionStaff, StaffSessionError>> {
    let sessions = req.app_data::<web::Data<SharedStaffSessions>>().cloned();
    Box::pin(async move {
        let cookie = cookie.ok_or(StaffSessionError::Missing)?;
        let Some(sessions) = sessions else {
            tracing::error!("no StaffSessions configured: refusing staff route");
            return Err(StaffSessionError::Unavailable);
        };
        sessions.resolve(&cookie).await
    })
}

impl FromRequest for StaffSession {
    type Error = StaffSessionError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let resolved = resolve(req, staff_cookie(req));
        Box::pin(async move {
            Ok(StaffSession {
                staff: resolved.await?,
            })
        })
    }
}

impl StaffSessionError {
    fn api_error(&self) -> ApiError {
        match self {
            StaffSessionError::Missing | StaffSessionError::Invalid(_) => {
                ApiError::new(ErrorCode::Unauthorized).detail("sign in to the console first")
            }
            StaffSessionError::Csrf => ApiError::new(ErrorCode::Forbidden)
                .detail("the CSRF token is missing or does not match the session"),
            StaffSessionError::Unavailable => ApiError::new(ErrorCode::ServiceUnavailable)
                .detail("try again shortly")
                .header(
                    actix_web::http::header::RETRY_AFTER,
                    actix_web::http::header::HeaderValue::from_static("1"),
                ),
        }
    }
}

impl ResponseError for StaffSessionError {
    fn status_code(&self) -> StatusCode {
        self.api_error().code().status()
    }

    fn error_response(&self) -> HttpResponse {
        tracing::info!(error = %self, "staff request refused");
        self.api_error().error_response()
    }
}
