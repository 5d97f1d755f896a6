//! `/dashboard`: the customer's consent dashboard as server-rendered pages that work without
//! JavaScript (one form per Revoke button, carrying the session's CSRF token).

use actix_web::{HttpResponse, web};
use askama::Template;
use ecohub_http::{ApiError, InteractionId};
use ecohub_security::{CustomerSession, CustomerSessionError};
use uuid::Uuid;

use super::customer::customer_id;
use super::dto::{BankConsentForm, RevokeForm};
use crate::application::ConsentsState;
use crate::domain::{ConsentData, ConsentId, ConsentStatus, Permission, Recipient};
use crate::ports::DataUse;
use ecohub_kernel::ActionContext;

/// Where a request without a session is sent.
pub const LOGIN_REDIRECT: &str = "/login?return_to=/dashboard";

/// The answer to a page request without a valid session: a redirect to the login page, or
/// 503 when sessions cannot be checked.
pub(crate) fn unauthenticated(e: CustomerSessionError) -> Result<HttpResponse, actix_web::Error> {
    match e {
        CustomerSessionError::Missing | CustomerSessionError::Invalid(_) => {
            Ok(ecohub_http::see_other(LOGIN_REDIRECT))
        }
        e => Err(e.into()),
    }
}

/// The dashboard page (`templates/dashboard.html`, extending the shared layout; every value
/// HTML-escaped by the template engine).
#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage<'a> {
    name: &'a str,
    csrf_token: &'a str,
    consents: Vec<ConsentView>,
    /// The partners the customer may let the bank use data from.
    providers: Vec<(String, String)>,
    /// The kinds of partner data, as (code, description).
    partner_data: Vec<(&'static str, &'static str)>,
    /// The durations offered, in days.
    days: [u16; 3],
    bank_name: &'a str,
}

/// One consent as the dashboard shows it.
struct ConsentView {
    id: ConsentId,
    partner: String,
    to_bank: bool,
    providers: Vec<String>,
    status: &'static str,
    expiry: String,
    purpose: String,
    permissions: Vec<&'static str>,
    history: Vec<HistoryView>,
    revocable: bool,
    /// Who used the data, newest first, in words.
    uses: Vec<String>,
    /// Whether there are older uses than those shown.
    more_uses: bool,
    /// The uses could not be read (the page says so instead of "never used").
    uses_unavailable: bool,
}

/// How many uses of one consent the dashboard shows.
const USES_SHOWN: usize = 10;

/// One status change in a consent's history.
struct HistoryView {
    at: String,
    status: &'static str,
    reason: Option<String>,
}

/// One use in words: "3 December 2026, 16:02 UTC: Globetrotter Travel Ltd read your accounts
/// (account type, account id, currency): 1 record."
fn use_in_words(partner: &str, u: &DataUse) -> String {
    let fields = u
        .fields
        .iter()
        .map(|f| f.replace('_', " "))
        .collect::<Vec<_>>()
        .join(", ");
    let records = match u.record_count {
        1 => "1 record".to_owned(),
        n => format!("{n} records"),
    };
    format!(
        "{}: {partner} read your {} ({fields}): {records}.",
        u.at.in_words(),
        u.dataset.replace('_', " ")
    )
}

async fn render(
    state: &ConsentsState,
    name: &str,
    csrf: &str,
    consents: &[ConsentData],
) -> Result<String, askama::Error> {
    let now = state.clock.now();
    let mut views = Vec::with_capacity(consents.len());
    for c in consents {
        let status = c.status_at(now);
        let partner = state.recipient_name(c.recipient);
        let (uses, more_uses, uses_unavailable) = if c.recipient == Recipient::Bank {
            (Vec::new(), false, false)
        } else {
            match state
                .ports
                .data_use
                .uses(&c.id.to_string(), USES_SHOWN)
                .await
            {
                Ok((uses, more)) => (
                    uses.iter().map(|u| use_in_words(&partner, u)).collect(),
                    more,
                    false,
                ),
                Err(e) => {
                    tracing::warn!(consent = %c.id, error = %e, "the dashboard cannot read the consent's data uses");
                    (Vec::new(), false, true)
                }
            }
        };
        views.push(ConsentView {
            id: c.id,
            partner,
            to_bank: c.recipient == Recipient::Bank,
            providers: c
                .data_providers
                .iter()
                .map(|p| state.provider_name(p))
                .collect(),
            status: status.as_str(),
            expiry: c.expiry.at().in_words(),
            purpose: c.purpose.text().to_owned(),
            permissions: c.permissions.iter().map(|p| p.description()).collect(),
            history: c
                .history
                .iter()
                .map(|h| HistoryView {
                    at: h.at.in_words(),
                    status: h.status.as_str(),
                    reason: h.reason.as_ref().map(|r| r.as_str().to_owned()),
                })
                .collect(),
            revocable: status == ConsentStatus::Authorised,
            uses,
            more_uses,
            uses_unavailable,
        });
    }
    DashboardPage {
        name,
        csrf_token: csrf,
        consents: views,
        providers: state
            .ports
            .partners
            .data_providers()
            .into_iter()
            .map(|(id, info)| (id.to_string(), info.name))
            .collect(),
        partner_data: Permission::PARTNER_DATA
            .iter()
            .map(|p| (p.code(), p.description()))
            .collect(),
        days: BankConsentForm::DAYS,
        bank_name: &state.config.bank_name,
    }
    .render()
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
    )
    .await
    .map_err(|e| ApiError::internal(format!("cannot render the dashboard: {e}")))?;
    Ok(ecohub_http::html_page(html))
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
        (status = 400, description = "The consent id is not a UUID (`invalid_path`), or the form does not parse", body = ecohub_http::Problem, content_type = "application/problem+json"),
        (status = 403, description = "CSRF token missing or wrong", body = ecohub_http::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not this customer's consent", body = ecohub_http::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not authorised (already revoked, expired, …) (`conflict`), or changed concurrently (`concurrency_conflict`)", body = ecohub_http::Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body is not a form (`unsupported_media_type`)", body = ecohub_http::Problem, content_type = "application/problem+json"),
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
    Ok(ecohub_http::see_other("/dashboard"))
}
