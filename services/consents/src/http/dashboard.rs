//! `/dashboard`: the customer's consent dashboard as server-rendered pages that work without
//! JavaScript (one form per Revoke button, carrying the session's CSRF token).

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use ecohub_http::{ApiError, InteractionId};
use ecohub_security::{CustomerSession, CustomerSessionError};
use uuid::Uuid;

use super::customer::customer_id;
use super::dto::RevokeForm;
use crate::application::ConsentsState;
use crate::domain::{ConsentData, ConsentId, ConsentStatus};
use ecohub_kernel::ActionContext;

/// Where a request without a session is sent.
pub const LOGIN_REDIRECT: &str = "/login?return_to=/dashboard";

/// Escapes text for HTML element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
    out
}

fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location.to_owned()))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

/// The answer to a page request without a valid session: a redirect to the login page, or
/// 503 when sessions cannot be checked.
fn unauthenticated(e: CustomerSessionError) -> Result<HttpResponse, actix_web::Error> {
    match e {
        CustomerSessionError::Missing | CustomerSessionError::Invalid(_) => {
            Ok(see_other(LOGIN_REDIRECT))
        }
        e => Err(e.into()),
    }
}

fn render(state: &ConsentsState, name: &str, csrf: &str, consents: &[ConsentData]) -> String {
    let now = state.clock.now();
    let mut html = String::new();
    html.push_str(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>Your consents</title></head><body>\n",
    );
    html.push_str(&format!("<h1>Your consents, {}</h1>\n", escape(name)));
    if consents.is_empty() {
        html.push_str("<p>You have not given any consent.</p>\n");
    }
    for c in consents {
        let status = c.status_at(now);
        html.push_str(&format!(
            "<section class=\"consent\" id=\"consent-{id}\">\n<h2>{partner}</h2>\n\
             <p>Status: <strong>{status}</strong>. Expires {expiry}.</p>\n<p>Purpose: {purpose}</p>\n<ul>\n",
            id = c.id,
            partner = escape(&state.partner_name(c.partner_id)),
            status = escape(status.as_str()),
            expiry = escape(&c.expiry.at().to_rfc3339()),
            purpose = escape(c.purpose.text()),
        ));
        for p in c.permissions.iter() {
            html.push_str(&format!("<li>{}</li>\n", escape(p.description())));
        }
        html.push_str("</ul>\n<details><summary>History</summary><ol>\n");
        for h in &c.history {
            let reason = h
                .reason
                .as_ref()
                .map(|r| format!(" ({})", escape(r.as_str())))
                .unwrap_or_default();
            html.push_str(&format!(
                "<li>{} {}{}</li>\n",
                escape(&h.at.to_rfc3339()),
                escape(h.status.as_str()),
                reason
            ));
        }
        html.push_str("</ol></details>\n");
        if status == ConsentStatus::Authorised {
            html.push_str(&format!(
                "<form method=\"post\" action=\"/dashboard/consents/{id}/revoke\">\
                 <input type=\"hidden\" name=\"csrf_token\" value=\"{csrf}\">\
                 <button type=\"submit\">Revoke</button></form>\n",
                id = c.id,
                csrf = escape(csrf),
            ));
        }
        html.push_str("</section>\n");
    }
    html.push_str("</body></html>\n");
    html
}

/// The customer's consent dashboard (HTML, no JavaScript): every consent with its partner,
/// permissions in plain language, status, expiry and history, and a Revoke button per
/// authorised one. Without a session: 303 to the sign-in page.
#[utoipa::path(
    get,
    path = "/dashboard",
    tag = "customer",
    operation_id = "dashboard_page",
    responses(
        (status = 200, description = "The dashboard (text/html)", content_type = "text/html"),
        (status = 303, description = "Not signed in: to `/login?return_to=/dashboard`"),
    ),
    security(("customer_session" = [])),
)]
pub(crate) async fn page(
    state: web::Data<ConsentsState>,
    session: Result<CustomerSession, CustomerSessionError>,
) -> Result<HttpResponse, actix_web::Error> {
    let session = match session {
        Ok(s) => s,
        Err(e) => return unauthenticated(e),
    };
    let customer = customer_id(&session)?;
    let consents = state
        .customer_consents(&customer)
        .await
        .map_err(ApiError::from)?;
    let html = render(
        &state,
        &session.customer.display_name,
        &session.customer.csrf_token,
        &consents,
    );
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((
            "content-security-policy",
            "default-src 'none'; form-action 'self'",
        ))
        .insert_header(("x-frame-options", "DENY"))
        .body(html))
}

/// The Revoke button (form post with the session's `csrf_token`): revokes the consent
/// (`customer_request`) and goes back to the dashboard.
#[utoipa::path(
    post,
    path = "/dashboard/consents/{consent_id}/revoke",
    tag = "customer",
    operation_id = "dashboard_revoke",
    params(("consent_id" = Uuid, Path, description = "The consent")),
    request_body(content = RevokeForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Revoked: back to `/dashboard` (or, without a session, to the sign-in page)"),
        (status = 403, description = "CSRF token missing or wrong", body = ecohub_http::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not this customer's consent", body = ecohub_http::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not authorised (already revoked, expired, …) (`conflict`), or changed concurrently (`concurrency_conflict`)", body = ecohub_http::Problem, content_type = "application/problem+json"),
    ),
    security(("customer_session" = [])),
)]
pub(crate) async fn revoke(
    state: web::Data<ConsentsState>,
    session: Result<CustomerSession, CustomerSessionError>,
    interaction: InteractionId,
    path: web::Path<Uuid>,
    form: web::Form<RevokeForm>,
) -> Result<HttpResponse, actix_web::Error> {
    let session = match session {
        Ok(s) => s,
        Err(e) => return unauthenticated(e),
    };
    session.check_csrf(form.csrf_token.as_deref())?;
    let customer = customer_id(&session)?;
    let ctx = ActionContext::customer(customer.as_str(), interaction, state.clock.now());
    state
        .revoke_by_customer(ConsentId::from_uuid(path.into_inner()), &customer, &ctx)
        .await
        .map_err(ApiError::from)?;
    Ok(see_other("/dashboard"))
}
