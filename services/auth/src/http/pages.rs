//! Customer pages, server-rendered HTML without JavaScript (askama templates in [`super::views`],
//! every value escaped): sign-in
//! (`/login`), sign-out (`/logout`), the consent page (`GET /authorize`) and the customer's
//! decision (`POST /authorize/decision`).
//!
//! Login CSRF: `GET /login` sets a short-lived pre-session cookie (`ecohub_login_csrf`,
//! `Path=/login`) whose value the form repeats; `POST /login` refuses a form whose token does
//! not match it. After sign-in, state-changing forms carry the session's CSRF token.

use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use askama::Template;
use ecohub_security::{CUSTOMER_SESSION_COOKIE, CustomerSessionError};
use serde::Deserialize;

use crate::application::Params;
use crate::application::customers::{
    CustomerSessionResolver, SESSION_LIFETIME, end_session, start_session,
};
use crate::application::decision::{
    AuthorizeError, Decision, authorization_page, authorize_params, decide,
};
use crate::application::login::{SignInFailure, sign_in};
use crate::application::session::SessionClaims;
use crate::application::state::AuthState;
use ecohub_jose::util::{ct_eq, random_id};

use super::views::{ConsentPage, ErrorPage, LoginPage};

/// The pre-session cookie carrying the login form's CSRF token.
pub const LOGIN_CSRF_COOKIE: &str = "ecohub_login_csrf";

/// The sign-in form.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct LoginForm {
    /// The username.
    pub username: String,
    /// The password.
    pub password: String,
    /// The token of the login form (equal to the `ecohub_login_csrf` cookie).
    pub csrf_token: String,
    /// Where to go after signing in (a local path).
    pub return_to: Option<String>,
}

/// The sign-out form.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct LogoutForm {
    /// The session's CSRF token.
    pub csrf_token: String,
}

/// The consent decision form.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct DecisionForm {
    /// The client of the pushed request.
    pub client_id: String,
    /// The pushed request.
    pub request_uri: String,
    /// `approve` or `reject`.
    pub decision: String,
    /// The session's CSRF token.
    pub csrf_token: String,
}

/// The `return_to` query of the login page.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct LoginQuery {
    /// Where to go after signing in: a local path (`/authorize?...`); anything else is
    /// replaced by `/`.
    pub return_to: Option<String>,
}

/// `return_to` when it is a local path (`/…`, not `//…`, no backslash or control
/// character); `/` otherwise. No open redirect.
pub fn local_path(return_to: Option<&str>) -> String {
    match return_to {
        Some(p)
            if p.starts_with('/')
                && !p.starts_with("//")
                && !p.contains('\\')
                && !p.chars().any(char::is_control) =>
        {
            p.to_owned()
        }
        _ => "/".to_owned(),
    }
}

/// A page of the authorization server: the rendered template with the headers every customer
/// page carries (no caching, no framing, a CSP allowing only the inline style sheet).
pub(super) fn page(status: StatusCode, template: &impl Template) -> HttpResponse {
    let html = match template.render() {
        Ok(html) => html,
        Err(e) => {
            tracing::error!(error = %e, "cannot render a page");
            return HttpResponse::InternalServerError()
                .content_type("text/plain; charset=utf-8")
                .body("internal error");
        }
    };
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'none'",
        ))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .body(html)
}

pub(super) fn error_page(status: StatusCode, message: &str) -> HttpResponse {
    page(
        status,
        &ErrorPage {
            title: "Something went wrong",
            message,
        },
    )
}

pub(super) fn redirect(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

/// A page's early answer (boxed: responses are large).
pub(super) type Early<T> = Result<T, Box<HttpResponse>>;

pub(super) fn state(req: &HttpRequest) -> Early<web::Data<AuthState>> {
    req.app_data::<web::Data<AuthState>>()
        .cloned()
        .ok_or_else(|| {
            Box::new(error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "not configured",
            ))
        })
}

pub(super) fn form_params(body: &[u8]) -> Early<Params> {
    std::str::from_utf8(body)
        .ok()
        .and_then(|b| Params::parse(b).ok())
        .ok_or_else(|| Box::new(error_page(StatusCode::BAD_REQUEST, "malformed form")))
}

/// The signed-in session, if any (an invalid or signed-out cookie counts as none).
async fn session(
    state: &AuthState,
    req: &HttpRequest,
) -> Early<Option<(ecohub_security::SessionCustomer, SessionClaims)>> {
    let Some(cookie) = req.cookie(CUSTOMER_SESSION_COOKIE) else {
        return Ok(None);
    };
    let resolver = CustomerSessionResolver::from_state(state);
    match resolver.resolve_at(cookie.value(), state.clock.now()).await {
        Ok(found) => Ok(Some(found)),
        Err(CustomerSessionError::Unavailable) => Err(Box::new(error_page(
            StatusCode::SERVICE_UNAVAILABLE,
            "Sign-in is temporarily unavailable. Please try again shortly.",
        ))),
        Err(_) => Ok(None),
    }
}

fn login_form<'a>(
    return_to: &'a str,
    csrf_token: &'a str,
    error: Option<&'a str>,
) -> LoginPage<'a> {
    LoginPage {
        title: "Sign in",
        error,
        csrf_token,
        return_to,
    }
}

fn cookie<'c>(state: &AuthState, name: &'c str, value: String, path: &'c str) -> Cookie<'c> {
    Cookie::build(name, value)
        .path(path)
        .http_only(true)
        .secure(state.settings.production)
        .same_site(SameSite::Lax)
        .finish()
}

/// The sign-in page. Sets the short-lived pre-session CSRF cookie.
#[utoipa::path(
    get,
    path = "/login",
    tag = "customer",
    params(LoginQuery),
    responses((status = 200, description = "The sign-in form (text/html)", content_type = "text/html")),
)]
pub async fn login_page(req: HttpRequest, query: web::Query<LoginQuery>) -> HttpResponse {
    let state = match state(&req) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let return_to = local_path(query.return_to.as_deref());
    let csrf = random_id(32);
    let mut response = page(StatusCode::OK, &login_form(&return_to, &csrf, None));
    let mut c = cookie(&state, LOGIN_CSRF_COOKIE, csrf, "/login");
    c.set_max_age(CookieDuration::minutes(10));
    let _ = response.add_cookie(&c);
    response
}

/// Signs a customer in: checks the login CSRF token, then — unless the username is locked
/// after too many failed attempts (429 with `Retry-After`, the password not checked) — the
/// credentials (one generic error whatever was wrong; every failure is recorded), sets the
/// `ecohub_session` cookie and redirects (303) to the local `return_to`.
#[utoipa::path(
    post,
    path = "/login",
    tag = "customer",
    request_body(content = LoginForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Signed in: to return_to, with the session cookie"),
        (status = 400, description = "Malformed form (not UTF-8 URL-encoded, or a parameter repeated)", content_type = "text/html"),
        (status = 401, description = "Wrong username or password (the form again)", content_type = "text/html"),
        (status = 403, description = "Login CSRF token missing or wrong", content_type = "text/html"),
        (status = 429, description = "Too many failed attempts for this username: locked for `Retry-After` seconds, the password not checked (the form again, with a hint)", content_type = "text/html"),
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
    let expected = req.cookie(LOGIN_CSRF_COOKIE).map(|c| c.value().to_owned());
    let presented = params.get("csrf_token").unwrap_or_default();
    let csrf_ok = expected
        .as_deref()
        .is_some_and(|e| !e.is_empty() && ct_eq(e.as_bytes(), presented.as_bytes()));
    if !csrf_ok {
        return error_page(
            StatusCode::FORBIDDEN,
            "This sign-in form has expired or was not sent by this site. Please open the sign-in page again.",
        );
    }
    let return_to = local_path(params.get("return_to"));
    let username = params.get("username").unwrap_or_default();
    let password = params.get("password").unwrap_or_default();
    let interaction_id = req
        .extensions()
        .get::<ecohub_http::InteractionId>()
        .map(ToString::to_string);
    let csrf = expected.as_deref().unwrap_or_default();
    let customer = match sign_in(&state, username, password, interaction_id.as_deref()).await {
        Ok(c) => c,
        Err(SignInFailure::BadCredentials) => {
            return page(
                StatusCode::UNAUTHORIZED,
                &login_form(&return_to, csrf, Some("Wrong username or password.")),
            );
        }
        Err(SignInFailure::Locked { until }) => {
            let wait = until.since(state.clock.now()).as_secs().max(1);
            tracing::info!(retry_after = wait, "customer sign-in throttled");
            let minutes = wait.div_ceil(60);
            let hint = format!(
                "Too many sign-in attempts. Please try again later (in about {minutes} minute{}).",
                if minutes == 1 { "" } else { "s" }
            );
            let mut response = page(
                StatusCode::TOO_MANY_REQUESTS,
                &login_form(&return_to, csrf, Some(&hint)),
            );
            if let Ok(value) = header::HeaderValue::from_str(&wait.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            return response;
        }
        Err(e) => {
            tracing::warn!(error = %e, "customer sign-in unavailable");
            return error_page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Sign-in is temporarily unavailable. Please try again shortly.",
            );
        }
    };
    let now = state.clock.now();
    let (token, _) = match start_session(
        &state.ring,
        &state.settings.issuer,
        &customer.customer_id,
        now,
    ) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "cannot sign a session");
            return error_page(StatusCode::INTERNAL_SERVER_ERROR, "internal error");
        }
    };
    let mut response = redirect(&return_to);
    let mut session = cookie(&state, CUSTOMER_SESSION_COOKIE, token, "/");
    session.set_max_age(CookieDuration::seconds(
        i64::try_from(SESSION_LIFETIME.as_secs()).unwrap_or(1800),
    ));
    let _ = response.add_cookie(&session);
    let mut spent = cookie(&state, LOGIN_CSRF_COOKIE, String::new(), "/login");
    spent.make_removal();
    let _ = response.add_cookie(&spent);
    response
}

/// Signs the customer out on every instance (needs the session's CSRF token).
#[utoipa::path(
    post,
    path = "/logout",
    tag = "customer",
    request_body(content = LogoutForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Signed out: to /login, session cookie removed"),
        (status = 400, description = "Malformed form (not UTF-8 URL-encoded, or a parameter repeated)", content_type = "text/html"),
        (status = 403, description = "CSRF token missing or wrong", content_type = "text/html"),
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
    let (customer, claims) = match session(&state, &req).await {
        Ok(Some(found)) => found,
        Ok(None) => return redirect("/login"),
        Err(r) => return *r,
    };
    let presented = params.get("csrf_token").unwrap_or_default();
    if !ct_eq(customer.csrf_token.as_bytes(), presented.as_bytes()) {
        return error_page(
            StatusCode::FORBIDDEN,
            "The form's security token is missing or wrong.",
        );
    }
    if let Err(e) = end_session(state.store.as_ref(), &claims, state.clock.now()).await {
        tracing::warn!(error = %e, "sign-out unavailable");
        return error_page(StatusCode::SERVICE_UNAVAILABLE, "Please try again shortly.");
    }
    let mut response = redirect("/login");
    let mut removal = cookie(&state, CUSTOMER_SESSION_COOKIE, String::new(), "/");
    removal.make_removal();
    let _ = response.add_cookie(&removal);
    response
}

fn authorize_error(e: &AuthorizeError) -> HttpResponse {
    let status = match e {
        AuthorizeError::BadRequest(_) | AuthorizeError::Request(_) => StatusCode::BAD_REQUEST,
        AuthorizeError::Consent(_) => StatusCode::CONFLICT,
        AuthorizeError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
    };
    tracing::info!(error = %e, "authorisation request refused");
    let message = match e {
        AuthorizeError::Unavailable(_) => "The service is temporarily unavailable.".to_owned(),
        other => format!("This authorisation request cannot be used: {other}."),
    };
    error_page(status, &message)
}

/// The authorisation endpoint (FAPI 2.0: only `client_id` and a `request_uri` from PAR).
/// A bad request is an HTML error page, never a redirect; a customer who is not signed in is
/// sent to `/login`; otherwise the consent page.
#[utoipa::path(
    get,
    path = "/authorize",
    tag = "customer",
    params(
        ("client_id" = String, Query, description = "The client that pushed the request"),
        ("request_uri" = String, Query, description = "The request_uri from /par"),
    ),
    responses(
        (status = 200, description = "The consent page", content_type = "text/html"),
        (status = 303, description = "Not signed in: to /login?return_to=…"),
        (status = 400, description = "Unknown, expired or used request_uri, client mismatch, extra parameters", content_type = "text/html"),
        (status = 409, description = "The consent no longer awaits authorisation", content_type = "text/html"),
    ),
)]
pub async fn authorize(req: HttpRequest) -> HttpResponse {
    let state = match state(&req) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let Ok(params) = Params::parse(req.query_string()) else {
        return error_page(StatusCode::BAD_REQUEST, "malformed authorisation request");
    };
    if let Err(e) = authorize_params(&params) {
        return authorize_error(&e);
    }
    let now = state.clock.now();
    let (customer, _) = match session(&state, &req).await {
        Ok(Some(found)) => found,
        Ok(None) => {
            // Validate before sending to the login page, so a bad request never gets further.
            if let Err(e) = authorization_page(&state, &params, now).await {
                return authorize_error(&e);
            }
            let here = format!("/authorize?{}", req.query_string());
            return redirect(&format!(
                "/login?return_to={}",
                ecohub_http::percent_encode(&here)
            ));
        }
        Err(r) => return *r,
    };
    match authorization_page(&state, &params, now).await {
        Ok((loaded, consent)) => page(
            StatusCode::OK,
            &ConsentPage::new(
                &consent,
                &customer.display_name,
                &loaded.request.client_id,
                params.get("request_uri").unwrap_or_default(),
                &loaded.request.scope,
                &customer.csrf_token,
            ),
        ),
        Err(e) => authorize_error(&e),
    }
}

/// The customer's decision on the consent page (session CSRF token required). Approve:
/// authorises the consent and redirects (303) to the client with `code`, `state` and `iss`;
/// reject: `error=access_denied`. The request_uri is spent either way.
#[utoipa::path(
    post,
    path = "/authorize/decision",
    tag = "customer",
    request_body(content = DecisionForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "To the client's redirect URI (code or error, state, iss)"),
        (status = 400, description = "Unknown, expired or used request_uri", content_type = "text/html"),
        (status = 401, description = "Not signed in", content_type = "text/html"),
        (status = 403, description = "CSRF token missing or wrong; nothing recorded", content_type = "text/html"),
    ),
)]
pub async fn decision(req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let state = match state(&req) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let params = match form_params(&body) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let (session_customer, _) = match session(&state, &req).await {
        Ok(Some(found)) => found,
        Ok(None) => {
            return error_page(StatusCode::UNAUTHORIZED, "Please sign in first.");
        }
        Err(r) => return *r,
    };
    let presented = params.get("csrf_token").unwrap_or_default();
    if !ct_eq(session_customer.csrf_token.as_bytes(), presented.as_bytes()) {
        return error_page(
            StatusCode::FORBIDDEN,
            "The form's security token is missing or wrong. Nothing was recorded.",
        );
    }
    let decision = match params.get("decision") {
        Some("approve") => Decision::Approve,
        Some("reject") => Decision::Reject,
        _ => {
            return error_page(
                StatusCode::BAD_REQUEST,
                "decision must be approve or reject",
            );
        }
    };
    let (Some(client_id), Some(request_uri)) = (params.get("client_id"), params.get("request_uri"))
    else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "client_id and request_uri are required",
        );
    };
    let customer = match state
        .customers
        .customer(&session_customer.customer_id)
        .await
    {
        Ok(Some(c)) => c,
        Ok(None) => return error_page(StatusCode::UNAUTHORIZED, "Please sign in first."),
        Err(_) => {
            return error_page(StatusCode::SERVICE_UNAVAILABLE, "Please try again shortly.");
        }
    };
    let interaction_id = req
        .extensions()
        .get::<ecohub_http::InteractionId>()
        .map(ToString::to_string);
    match decide(
        &state,
        &customer,
        client_id,
        request_uri,
        decision,
        interaction_id,
        state.clock.now(),
    )
    .await
    {
        Ok(location) => redirect(&location),
        Err(e) => authorize_error(&e),
    }
}
