//! The customer's consents to the bank (ADR 0021): the partners whose data the bank may use
//! to personalise offers. The customer asks and authorises in one step, through the API
//! (`/customer/bank-consents`) or the dashboard's form (`/dashboard/bank-consents`); such a
//! consent is then listed, receipted and revoked as every other.

use std::time::Duration;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use ecohub_http::{ApiError, InteractionId, Problem};
use ecohub_kernel::ActionContext;
use ecohub_security::{CustomerSession, CustomerSessionError};

use super::customer::customer_id;
use super::dashboard::unauthenticated;
use super::dto::{
    BankConsentForm, BankConsentRequest, CustomerConsentView, DataProviderList, DataProviderView,
};
use crate::application::{BankConsentInput, ConsentsState};
use crate::domain::Invalid;

/// The partners whose data a customer may let the bank use: the active data providers.
#[utoipa::path(
    get,
    path = "/customer/data-providers",
    tag = "customer",
    operation_id = "list_data_providers",
    responses(
        (status = 200, description = "Active data providers, in id order", body = DataProviderList),
        (status = 401, description = "No customer session (`unauthorized`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("customer_session" = [])),
)]
pub(crate) async fn providers(
    state: web::Data<ConsentsState>,
    session: CustomerSession,
) -> Result<HttpResponse, ApiError> {
    customer_id(&session)?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(DataProviderList {
            data: state
                .ports
                .partners
                .data_providers()
                .into_iter()
                .map(|(id, info)| DataProviderView {
                    partner_id: id.to_string(),
                    name: info.name,
                })
                .collect(),
        }))
}

/// Let the bank use partners' data to personalise the offers it makes the signed-in
/// customer: a consent whose recipient is the bank, purpose `personalised_offers`, requested
/// and authorised at once. Requires the session's CSRF token in `x-csrf-token`.
#[utoipa::path(
    post,
    path = "/customer/bank-consents",
    tag = "customer",
    operation_id = "grant_bank_consent",
    params(("x-csrf-token" = String, Header, description = "The session's CSRF token")),
    request_body = BankConsentRequest,
    responses(
        (status = 201, description = "Granted: the consent, authorised", body = CustomerConsentView,
         headers(("Location" = String, description = "`/customer/consents/{consent_id}/receipt`"))),
        (status = 400, description = "Invalid body: the failing field is named (`invalid_request`), or not the expected JSON (`invalid_json`)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No customer session (`unauthorized`)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "CSRF token missing or wrong (`forbidden`)", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body is not JSON (`unsupported_media_type`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("customer_session" = [])),
)]
pub(crate) async fn grant(
    state: web::Data<ConsentsState>,
    session: CustomerSession,
    req: HttpRequest,
    interaction: InteractionId,
    body: web::Json<BankConsentRequest>,
) -> Result<HttpResponse, actix_web::Error> {
    session.check_csrf_header(&req)?;
    let customer = customer_id(&session)?;
    let now = state.clock.now();
    let ctx = ActionContext::customer(customer.as_str(), interaction, now);
    let body = body.into_inner();
    let data = state
        .grant_to_bank(
            state.new_consent_id(),
            &customer,
            BankConsentInput {
                data_providers: body.data_providers,
                permissions: body.permissions,
                expiration: body.expiration,
            },
            &ctx,
        )
        .await
        .map_err(ApiError::from)?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/customer/consents/{}/receipt", data.id),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(CustomerConsentView::of(&state, &data, now)))
}

/// The dashboard's form: one data provider, one kind of data, a duration in days. Grants the
/// consent and goes back to the dashboard.
#[utoipa::path(
    post,
    path = "/dashboard/bank-consents",
    tag = "customer",
    operation_id = "dashboard_grant_bank_consent",
    request_body(content = BankConsentForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Granted: back to `/dashboard` (or, without a session, to the sign-in page)"),
        (status = 400, description = "Invalid form: the failing field is named (`invalid_request`)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "CSRF token missing or wrong", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body is not a form (`unsupported_media_type`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("customer_session" = [])),
)]
pub(crate) async fn grant_form(
    state: web::Data<ConsentsState>,
    session: Result<CustomerSession, CustomerSessionError>,
    interaction: InteractionId,
    form: web::Form<BankConsentForm>,
) -> Result<HttpResponse, actix_web::Error> {
    let session = match session {
        Ok(s) => s,
        Err(e) => return unauthenticated(e),
    };
    session.check_csrf(form.csrf_token.as_deref())?;
    let customer = customer_id(&session)?;
    let form = form.into_inner();
    if !BankConsentForm::DAYS.contains(&form.days) {
        return Err(
            ApiError::from(crate::application::AppError::from(Invalid::new(
                "days",
                "days_offered",
                "must be one of the durations offered (90, 180 or 365 days)",
            )))
            .into(),
        );
    }
    let now = state.clock.now();
    let ctx = ActionContext::customer(customer.as_str(), interaction, now);
    let data = state
        .grant_to_bank(
            state.new_consent_id(),
            &customer,
            BankConsentInput {
                data_providers: vec![form.data_provider],
                permissions: vec![form.permission],
                expiration: now.plus(Duration::from_secs(u64::from(form.days) * 86_400)),
            },
            &ctx,
        )
        .await
        .map_err(ApiError::from)?;
    Ok(ecohub_http::see_other(&format!(
        "/dashboard#consent-{}",
        data.id
    )))
}
