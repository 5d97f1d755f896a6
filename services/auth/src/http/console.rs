//! The staff console's entry (ADR 0023): sign-in (`/console/login`), the signed-in landing
//! page (`/console`) and sign-out (`/console/logout`), server-rendered HTML without JavaScript
//! (askama templates in [`super::views`], every value escaped; nothing loaded from elsewhere).
//!
//! Login CSRF: `GET /console/login` sets a short-lived pre-session cookie
//! (`ecohub_console_csrf`, `Path=/console/login`) whose value the form repeats; a form whose
//! token does not match it is refused and nothing is checked or recorded. The session cookie
//! `ecohub_staff_session` is `HttpOnly`, `SameSite=Strict`, `Secure` in production; sign-out
//! needs the session's CSRF token.

use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use ecohub_jose::util::{ct_eq, random_id};
use ecohub_security::{STAFF_SESSION_COOKIE, SessionStaff, StaffSessionError};
use serde::Deserialize;

use super::pages::{Early, error_page, form_params, page, redirect, state};
use super::views::{ConsoleArea, ConsoleLink, ConsoleLoginPage, ConsolePage};
use crate::application::session::SessionClaims;
use crate::application::staff_session::{
    STAFF_SESSION_LIFETIME, StaffSessionResolver, StaffSignInFailure, end_staff_session,
    staff_sign_in, start_staff_session,
};
use crate::application::state::AuthState;
use crate::domain::StaffRole;

/// The pre-session cookie carrying the console sign-in form's CSRF token.
pub const CONSOLE_LOGIN_CSRF_COOKIE: &str = "ecohub_console_csrf";

/// The console's sign-in form.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ConsoleLoginForm {
    /// The username.
    pub username: String,
    /// The password.
    pub password: String,
    /// The 6-digit TOTP code of the person's authenticator app (empty for a person without a
    /// second factor, where the hub allows that).
    pub code: Option<String>,
    /// The token of the sign-in form (equal to the `ecohub_console_csrf` cookie).
    pub csrf_token: String,
}

/// The console's sign-out form.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ConsoleLogoutForm {
    /// The session's CSRF token.
    pub csrf_token: String,
}

/// What each scope opens, in the order the landing page shows it (presentation only: what a
/// person may do is decided by the scopes of their roles, `crate::domain::ROLE_SCOPES`).
const AREAS: [(&str, ConsoleArea); 3] = [
    (
        "admin",
        ConsoleArea {
            title: "Partners",
            about: "Review partner applications and their evidence, record checks, approve or \
reject as the checker, suspend or reinstate a partner with a reason.",
            links: &[
                ConsoleLink {
                    label: "Applications under review",
                    href: "/console/partners?status=under_review",
                },
                ConsoleLink {
                    label: "New applications",
                    href: "/console/partners?status=applied",
                },
                ConsoleLink {
                    label: "Every partner",
                    href: "/console/partners",
                },
                ConsoleLink {
                    label: "Data catalogue",
                    href: "/datasets",
                },
            ],
        },
    ),
    (
        "offers:manage",
        ConsoleArea {
            title: "Propositions",
            about: "Design attributes, personas and propositions; draft, submit, approve \
another person's version, publish and retire; follow the offer funnel; write the trigger \
rules that turn customers' financial moments into offers.",
            links: &[
                ConsoleLink {
                    label: "Propositions",
                    href: "/console/propositions",
                },
                ConsoleLink {
                    label: "Waiting for approval",
                    href: "/console/propositions?status=submitted",
                },
                ConsoleLink {
                    label: "Personas",
                    href: "/console/personas",
                },
                ConsoleLink {
                    label: "Attributes",
                    href: "/console/attributes",
                },
                ConsoleLink {
                    label: "Contact policies",
                    href: "/console/contact-policies",
                },
                ConsoleLink {
                    label: "Offer funnel",
                    href: "/console/offer-funnel",
                },
                ConsoleLink {
                    label: "Financial moments",
                    href: "/console/moments",
                },
            ],
        },
    ),
    (
        "audit",
        ConsoleArea {
            title: "Compliance",
            about: "Search consents and read their verified histories, verify the integrity of \
every consent's chain, read the records of every access to customer data, the partner \
approvals and the offer trail; download exports.",
            links: &[
                ConsoleLink {
                    label: "Consents",
                    href: "/console/compliance/consents",
                },
                ConsoleLink {
                    label: "Data-access records",
                    href: "/console/compliance/data-access",
                },
                ConsoleLink {
                    label: "Partner approvals",
                    href: "/console/compliance/partner-approvals",
                },
                ConsoleLink {
                    label: "Offer trail",
                    href: "/console/compliance/offers",
                },
            ],
        },
    ),
];

fn areas(staff: &SessionStaff) -> Vec<ConsoleArea> {
    AREAS
        .iter()
        .filter(|(scope, _)| staff.scopes.contains(*scope))
        .map(|(_, area)| *area)
        .collect()
}

fn cookie<'c>(state: &AuthState, name: &'c str, value: String, path: &'c str) -> Cookie<'c> {
    Cookie::build(name, value)
        .path(path)
        .http_only(true)
        .secure(state.settings.production)
        .same_site(SameSite::Strict)
        .finish()
}

/// The signed-in staff session, if any (an invalid, expired or signed-out cookie, or a
/// disabled person, counts as none).
pub(super) async fn session(
    state: &AuthState,
    req: &HttpRequest,
) -> Early<Option<(SessionStaff, SessionClaims)>> {
    let Some(cookie) = req.cookie(STAFF_SESSION_COOKIE) else {
        return Ok(None);
    };
    let resolver = StaffSessionResolver::from_state(state);
    match resolver.resolve_at(cookie.value(), state.clock.now()).await {
        Ok(found) => Ok(Some(found)),
        Err(StaffSessionError::Unavailable) => Err(Box::new(error_page(
            StatusCode::SERVICE_UNAVAILABLE,
            "The console is temporarily unavailable. Please try again shortly.",
        ))),
        Err(_) => Ok(None),
    }
}

fn login_form<'a>(
    csrf_token: &'a str,
    username: &'a str,
    error: Option<&'a str>,
) -> ConsoleLoginPage<'a> {
    ConsoleLoginPage {
        title: "Sign in to the console",
        error,
        csrf_token,
        username,
    }
}

/// The console's sign-in page. Sets the short-lived pre-session CSRF cookie; a person already
/// signed in goes to the console.
#[utoipa::path(
    get,
    path = "/console/login",
    tag = "console",
    operation_id = "console_login_page",
    responses(
        (status = 200, description = "The sign-in form (text/html)", content_type = "text/html"),
        (status = 303, description = "Already signed in: to /console"),
    ),
)]
pub async fn login_page(req: HttpRequest) -> HttpResponse {
    let state = match state(&req) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    match session(&state, &req).await {
        Ok(Some(_)) => return redirect("/console"),
        Ok(None) => {}
        Err(r) => return *r,
    }
    let csrf = random_id(32);
    let mut response = page(StatusCode::OK, &login_form(&csrf, "", None));
    let mut c = cookie(&state, CONSOLE_LOGIN_CSRF_COOKIE, csrf, "/console/login");
    c.set_max_age(CookieDuration::minutes(10));
    let _ = response.add_cookie(&c);
    response
}

/// Signs a staff person in: checks the form's CSRF token, then — unless the username is
/// locked after too many failed attempts (429 with `Retry-After`, nothing checked) — the
/// password and the TOTP code (one message whatever was wrong; every failure is recorded),
/// sets the `ecohub_staff_session` cookie and redirects (303) to `/console`.
#[utoipa::path(
    post,
    path = "/console/login",
    tag = "console",
    operation_id = "console_login",
    request_body(content = ConsoleLoginForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Signed in: to /console, with the session cookie"),
        (status = 400, description = "Malformed form (not UTF-8 URL-encoded, or a parameter repeated)", content_type = "text/html"),
        (status = 401, description = "Wrong username, password or code, or a code already used (the form again)", content_type = "text/html"),
        (status = 403, description = "Sign-in CSRF token missing or wrong; nothing checked", content_type = "text/html"),
        (status = 429, description = "Too many failed attempts for this username: locked for `Retry-After` seconds (the form again, with a hint)", content_type = "text/html"),
        (status = 503, description = "Sign-in temporarily unavailable (nothing recorded)", content_type = "text/html"),
    ),
)]
pub async fn login(req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let state = match state(&req) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let params = match form_params(&body) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let expected = req
        .cookie(CONSOLE_LOGIN_CSRF_COOKIE)
        .map(|c| c.value().to_owned());
    let presented = params.get("csrf_token").unwrap_or_default();
    let csrf_ok = expected
        .as_deref()
        .is_some_and(|e| !e.is_empty() && ct_eq(e.as_bytes(), presented.as_bytes()));
    if !csrf_ok {
        return error_page(
            StatusCode::FORBIDDEN,
            "This sign-in form has expired or was not sent by this site. Please open the console's sign-in page again.",
        );
    }
    let username = params.get("username").unwrap_or_default();
    let password = params.get("password").unwrap_or_default();
    let code = params.get("code").unwrap_or_default();
    let interaction_id = req
        .extensions()
        .get::<ecohub_http::InteractionId>()
        .map(ToString::to_string);
    let csrf = expected.as_deref().unwrap_or_default();
    let again = |status: StatusCode, message: &str| {
        page(status, &login_form(csrf, username, Some(message)))
    };
    let member = match staff_sign_in(&state, username, password, code, interaction_id.as_deref())
        .await
    {
        Ok(member) => member,
        Err(StaffSignInFailure::BadCredentials) => {
            return again(
                StatusCode::UNAUTHORIZED,
                "Wrong username, password or authentication code.",
            );
        }
        Err(StaffSignInFailure::CodeReused) => {
            return again(
                StatusCode::UNAUTHORIZED,
                "This authentication code was already used. Wait for the next code in your authenticator app and try again.",
            );
        }
        Err(StaffSignInFailure::SecondFactorMissing) => {
            return again(
                StatusCode::UNAUTHORIZED,
                "Your account has no second factor, which this hub requires. Ask an administrator to give you one.",
            );
        }
        Err(StaffSignInFailure::SecondFactorUnreadable(_)) => {
            // Logged with its cause (the key id and directory) where it was detected.
            return error_page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Sign-in cannot check your authentication code right now. Please tell an administrator.",
            );
        }
        Err(StaffSignInFailure::Locked { until }) => {
            let wait = until.since(state.clock.now()).as_secs().max(1);
            tracing::info!(retry_after = wait, "staff sign-in throttled");
            let minutes = wait.div_ceil(60);
            let hint = format!(
                "Too many sign-in attempts. Please try again later (in about {minutes} minute{}).",
                if minutes == 1 { "" } else { "s" }
            );
            let mut response = again(StatusCode::TOO_MANY_REQUESTS, &hint);
            if let Ok(value) = header::HeaderValue::from_str(&wait.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            return response;
        }
        Err(e) => {
            tracing::warn!(error = %e, "staff sign-in unavailable");
            return error_page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Sign-in is temporarily unavailable. Please try again shortly.",
            );
        }
    };
    let now = state.clock.now();
    let (token, _) =
        match start_staff_session(&state.ring, &state.settings.issuer, &member.staff_id, now) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "cannot sign a staff session");
                return error_page(StatusCode::INTERNAL_SERVER_ERROR, "internal error");
            }
        };
    let mut response = redirect("/console");
    let mut session = cookie(&state, STAFF_SESSION_COOKIE, token, "/");
    session.set_max_age(CookieDuration::seconds(
        i64::try_from(STAFF_SESSION_LIFETIME.as_secs()).unwrap_or(1800),
    ));
    let _ = response.add_cookie(&session);
    let mut spent = cookie(
        &state,
        CONSOLE_LOGIN_CSRF_COOKIE,
        String::new(),
        "/console/login",
    );
    spent.make_removal();
    let _ = response.add_cookie(&spent);
    response
}

/// The console's landing page: who is signed in, their roles, and what their roles may do.
/// Not signed in: to the sign-in page.
#[utoipa::path(
    get,
    path = "/console",
    tag = "console",
    operation_id = "console_home",
    responses(
        (status = 200, description = "The landing page (text/html)", content_type = "text/html"),
        (status = 303, description = "Not signed in: to /console/login"),
    ),
)]
pub async fn home(req: HttpRequest) -> HttpResponse {
    let state = match state(&req) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let staff = match session(&state, &req).await {
        Ok(Some((staff, _))) => staff,
        Ok(None) => return redirect("/console/login"),
        Err(r) => return *r,
    };
    let roles = staff
        .roles
        .iter()
        .map(|r| match StaffRole::parse(r) {
            Ok(role) => role.label(),
            Err(_) => r.as_str(),
        })
        .collect();
    let view = ConsolePage {
        title: "Console",
        display_name: &staff.display_name,
        staff_id: &staff.staff_id,
        roles,
        scopes: staff.scopes.iter().map(String::as_str).collect(),
        csrf_token: &staff.csrf_token,
        areas: areas(&staff),
    };
    page(StatusCode::OK, &view)
}

/// Signs the staff person out on every instance (needs the session's CSRF token).
#[utoipa::path(
    post,
    path = "/console/logout",
    tag = "console",
    operation_id = "console_logout",
    request_body(content = ConsoleLogoutForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Signed out (or not signed in): to /console/login, session cookie removed"),
        (status = 400, description = "Malformed form (not UTF-8 URL-encoded, or a parameter repeated)", content_type = "text/html"),
        (status = 403, description = "CSRF token missing or wrong; still signed in", content_type = "text/html"),
    ),
)]
pub async fn logout(req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let state = match state(&req) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let params = match form_params(&body) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let (staff, claims) = match session(&state, &req).await {
        Ok(Some(found)) => found,
        Ok(None) => return redirect("/console/login"),
        Err(r) => return *r,
    };
    let presented = params.get("csrf_token").unwrap_or_default();
    if !ct_eq(staff.csrf_token.as_bytes(), presented.as_bytes()) {
        return error_page(
            StatusCode::FORBIDDEN,
            "The form's security token is missing or wrong. You are still signed in.",
        );
    }
    if let Err(e) = end_staff_session(state.store.as_ref(), &claims, state.clock.now()).await {
        tracing::warn!(error = %e, "staff sign-out unavailable");
        return error_page(StatusCode::SERVICE_UNAVAILABLE, "Please try again shortly.");
    }
    let mut response = redirect("/console/login");
    let mut removal = cookie(&state, STAFF_SESSION_COOKIE, String::new(), "/");
    removal.make_removal();
    let _ = response.add_cookie(&removal);
    response
}
