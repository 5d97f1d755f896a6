//! Customer pages, server-rendered HTML without JavaScript, every value escaped: sign-in
//! (`/login`), sign-out (`/logout`), the consent page (`GET /authorize`) and the customer's
//! decision (`POST /authorize/decision`).
//!
//! Login CSRF: `GET /login` sets a short-lived pre-session cookie (`ecohub_login_csrf`,
//! `Path=/login`) whose value the form repeats; `POST /login` refuses a form whose token does
//! not match it. After sign-in, state-changing forms carry the session's CSRF token.

use std::fmt::Write as _;

use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use ecohub_security::{CUSTOMER_SESSION_COOKIE, CustomerSessionError};
use serde::Deserialize;

use crate::app::Params;
use crate::app::authorize::{
    AuthorizeError, Decision, authorization_page, authorize_params, decide, percent_encode,
};
use crate::app::consent_port::ConsentForAuthorisation;
use crate::app::customers::{
    CustomerSessionResolver, SESSION_LIFETIME, end_session, start_session,
};
use crate::app::login::{SignInFailure, sign_in};
use crate::app::session::SessionClaims;
use crate::state::AuthState;
use ecohub_jose::util::{ct_eq, random_id};

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

/// Escapes text for HTML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
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

fn page(status: StatusCode, title: &str, body: &str) -> HttpResponse {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{title} · Ecohub</title>\
<style>body{{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;line-height:1.5}}\
label{{display:block;margin-top:1rem}}input{{font-size:1rem;padding:.4rem;width:100%}}\
button{{font-size:1rem;padding:.5rem 1.2rem;margin:1rem .5rem 0 0}}.error{{color:#a00}}\
dt{{font-weight:bold;margin-top:.8rem}}</style></head><body><h1>{title}</h1>\n{body}</body></html>\n",
        title = esc(title),
    );
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
        ))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .body(html)
}

fn error_page(status: StatusCode, message: &str) -> HttpResponse {
    page(
        status,
        "Something went wrong",
        &format!(
            "<p class=\"error\">{}</p><p>Please go back to the application you came from and start again.</p>",
            esc(message)
        ),
    )
}

fn redirect(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

/// A page's early answer (boxed: responses are large).
type Early<T> = Result<T, Box<HttpResponse>>;

fn state(req: &HttpRequest) -> Early<web::Data<AuthState>> {
    req.app_data::<web::Data<AuthState>>()
        .cloned()
        .ok_or_else(|| {
            Box::new(error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "not configured",
            ))
        })
}

fn form_params(body: &[u8]) -> Early<Params> {
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

fn login_form(return_to: &str, csrf: &str, error: Option<&str>) -> String {
    let mut body = String::new();
    if let Some(e) = error {
        let _ = write!(body, "<p class=\"error\" role=\"alert\">{}</p>", esc(e));
    }
    let _ = write!(
        body,
        "<form method=\"post\" action=\"/login\">\
<input type=\"hidden\" name=\"csrf_token\" value=\"{csrf}\">\
<input type=\"hidden\" name=\"return_to\" value=\"{return_to}\">\
<label for=\"username\">Username</label><input id=\"username\" name=\"username\" autocomplete=\"username\" required>\
<label for=\"password\">Password</label><input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>\
<button type=\"submit\">Sign in</button></form>",
        csrf = esc(csrf),
        return_to = esc(return_to),
    );
    body
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
    let mut response = page(
        StatusCode::OK,
        "Sign in",
        &login_form(&return_to, &csrf, None),
    );
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
                "Sign in",
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
                "Sign in",
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

fn date(t: ecohub_kernel::Timestamp) -> String {
    let s = t.to_rfc3339();
    s.get(..10).map_or(s.clone(), str::to_owned)
}

fn consent_page(
    consent: &ConsentForAuthorisation,
    display_name: &str,
    client_id: &str,
    request_uri: &str,
    scope: &str,
    csrf: &str,
) -> String {
    let mut b = String::new();
    let _ = write!(
        b,
        "<p>Signed in as <strong>{name}</strong>.</p>\
<p><strong>{partner}</strong> asks for your permission to access your data.</p><dl>\
<dt>Who is asking</dt><dd>{partner} (partner status: {pstatus})</dd>\
<dt>Why</dt><dd>{purpose} <small>({purpose_code})</small></dd>\
<dt>What they will be able to see</dt><dd><ul>",
        name = esc(display_name),
        partner = esc(&consent.partner_name),
        pstatus = esc(&consent.partner_status),
        purpose = esc(&consent.purpose_text),
        purpose_code = esc(&consent.purpose_code),
    );
    for p in &consent.permissions {
        let _ = write!(
            b,
            "<li>{} <small>({})</small></li>",
            esc(&p.description),
            esc(&p.code)
        );
    }
    let _ = write!(b, "</ul></dd><dt>From</dt><dd><ul>");
    for provider in &consent.data_providers {
        let _ = write!(b, "<li>{}</li>", esc(provider));
    }
    let _ = write!(
        b,
        "</ul></dd><dt>Until</dt><dd>{until} — you can withdraw your permission at any time before.</dd>",
        until = esc(&date(consent.expires_at)),
    );
    if consent.transaction_from.is_some() || consent.transaction_to.is_some() {
        let _ = write!(
            b,
            "<dt>Transactions from</dt><dd>{} to {}</dd>",
            esc(&consent
                .transaction_from
                .map(date)
                .unwrap_or_else(|| "—".into())),
            esc(&consent
                .transaction_to
                .map(date)
                .unwrap_or_else(|| "—".into())),
        );
    }
    let _ = write!(
        b,
        "<dt>Request status</dt><dd>{status}</dd><dt>Access requested</dt><dd>{scope}</dd></dl>\
<form method=\"post\" action=\"/authorize/decision\">\
<input type=\"hidden\" name=\"client_id\" value=\"{client_id}\">\
<input type=\"hidden\" name=\"request_uri\" value=\"{request_uri}\">\
<input type=\"hidden\" name=\"csrf_token\" value=\"{csrf}\">\
<button type=\"submit\" name=\"decision\" value=\"approve\">Approve</button>\
<button type=\"submit\" name=\"decision\" value=\"reject\">Reject</button></form>\
<form method=\"post\" action=\"/logout\"><input type=\"hidden\" name=\"csrf_token\" value=\"{csrf}\">\
<button type=\"submit\">Sign out</button></form>",
        status = esc(&consent.status),
        scope = esc(scope),
        client_id = esc(client_id),
        request_uri = esc(request_uri),
        csrf = esc(csrf),
    );
    b
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
            return redirect(&format!("/login?return_to={}", percent_encode(&here)));
        }
        Err(r) => return *r,
    };
    match authorization_page(&state, &params, now).await {
        Ok((loaded, consent)) => page(
            StatusCode::OK,
            "Share your data?",
            &consent_page(
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
