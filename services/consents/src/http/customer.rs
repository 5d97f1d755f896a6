//! `/customer/consents`: the signed-in customer's consents, revocation and receipts.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use ecohub_http::{ApiError, ErrorCode, InteractionId, Problem};
use ecohub_security::CustomerSession;
use uuid::Uuid;

use super::consent_not_found;
use super::dto::{CustomerConsentList, CustomerConsentView, ReceiptView};
use crate::application::ConsentsState;
use crate::domain::{ConsentId, CustomerId};
use crate::receipt::receipt_claims;
use ecohub_kernel::ActionContext;

pub(crate) fn customer_id(session: &CustomerSession) -> Result<CustomerId, ApiError> {
    CustomerId::parse(&session.customer.customer_id)
        .map_err(|_| ApiError::new(ErrorCode::Unauthorized).detail("sign in as a customer first"))
}

/// Every consent the signed-in customer decided on: partner, permissions in plain language,
/// status, expiry and history.
#[utoipa::path(
    get,
    path = "/customer/consents",
    tag = "customer",
    operation_id = "list_my_consents",
    responses(
        (status = 200, description = "The customer's consents, newest first", body = CustomerConsentList),
        (status = 401, description = "No customer session (`unauthorized`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("customer_session" = [])),
)]
pub(crate) async fn list(
    state: web::Data<ConsentsState>,
    session: CustomerSession,
) -> Result<HttpResponse, ApiError> {
    let customer = customer_id(&session)?;
    let now = state.clock.now();
    let consents = state.customer_consents(&customer).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(CustomerConsentList {
            data: consents
                .iter()
                .map(|c| CustomerConsentView::of(&state, c, now))
                .collect(),
        }))
}

/// Revoke one of the customer's authorised consents (reason `customer_request`). Requires
/// the session's CSRF token in `x-csrf-token`.
#[utoipa::path(
    delete,
    path = "/customer/consents/{consent_id}",
    tag = "customer",
    operation_id = "revoke_my_consent",
    params(
        ("consent_id" = Uuid, Path, description = "The consent's id"),
        ("x-csrf-token" = String, Header, description = "The session's CSRF token"),
    ),
    responses(
        (status = 204, description = "Revoked"),
        (status = 400, description = "The consent id is not a UUID (`invalid_path`)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No customer session (`unauthorized`)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "CSRF token missing or wrong (`forbidden`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such consent, or another customer's", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not authorised (any more) (`conflict`), or changed concurrently (`concurrency_conflict`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("customer_session" = [])),
)]
pub(crate) async fn revoke(
    state: web::Data<ConsentsState>,
    session: CustomerSession,
    req: HttpRequest,
    interaction: InteractionId,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, actix_web::Error> {
    session.check_csrf_header(&req)?;
    let customer = customer_id(&session)?;
    let ctx = ActionContext::customer(customer.as_str(), interaction, state.clock.now());
    state
        .revoke_by_customer(ConsentId::from_uuid(path.into_inner()), &customer, &ctx)
        .await
        .map_err(ApiError::from)?;
    Ok(HttpResponse::NoContent().finish())
}

/// A signed consent receipt (Kantara Consent Receipt v1.1) for an authorised consent.
#[utoipa::path(
    get,
    path = "/customer/consents/{consent_id}/receipt",
    tag = "customer",
    operation_id = "get_my_consent_receipt",
    params(("consent_id" = Uuid, Path, description = "The consent's id")),
    responses(
        (status = 200, description = "The receipt, a JWT signed by the hub", body = ReceiptView),
        (status = 400, description = "The consent id is not a UUID (`invalid_path`)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No customer session (`unauthorized`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such consent, another customer's, or not authorised", body = Problem, content_type = "application/problem+json"),
    ),
    security(("customer_session" = [])),
)]
pub(crate) async fn receipt(
    state: web::Data<ConsentsState>,
    session: CustomerSession,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let customer = customer_id(&session)?;
    let loaded = state
        .for_customer(ConsentId::from_uuid(path.into_inner()), &customer)
        .await?;
    let data = loaded.data()?;
    let now = state.clock.now();
    if data.status_at(now) != crate::domain::ConsentStatus::Authorised {
        return Err(consent_not_found());
    }
    let providers: Vec<String> = data
        .data_providers
        .iter()
        .map(|p| state.provider_name(p))
        .collect();
    let claims = receipt_claims(
        &state.config,
        data,
        &state.recipient_name(data.recipient),
        &providers,
        now,
    )
    .ok_or_else(consent_not_found)?;
    let jwt = state
        .ports
        .receipts
        .sign(&claims)
        .map_err(|e| ApiError::unavailable(std::io::Error::other(e)))?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(ReceiptView { receipt: jwt }))
}
