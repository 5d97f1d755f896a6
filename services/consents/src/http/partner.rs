//! `/consents`: a partner creates, reads and deletes its consents.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use ecohub_http::{ApiError, InteractionId, Problem};
use ecohub_security::{Authenticated, ConsentsReadScope, ConsentsWriteScope};
use uuid::Uuid;

use super::dto::{ConsentView, CreateConsentRequest};
use super::partner_of;
use crate::application::ConsentsState;
use crate::domain::ConsentId;
use ecohub_kernel::ActionContext;

/// Create a consent (status `AwaitingAuthorisation`).
///
/// The calling partner owns it. Nothing is written on any invalid input; a broken
/// permission rule is named in the 400's `errors[].message`.
#[utoipa::path(
    post,
    path = "/consents",
    tag = "consents",
    operation_id = "create_consent",
    request_body = CreateConsentRequest,
    responses(
        (status = 201, description = "Created", body = ConsentView,
            headers(("location" = String, description = "The consent's URL"))),
        (status = 400, description = "Invalid input; the broken rule is named (`invalid_request`, `invalid_json`)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks `consents:write` or is not a partner's", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body is not JSON (`unsupported_media_type`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Event store unavailable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["consents:write"])),
)]
pub(crate) async fn create(
    state: web::Data<ConsentsState>,
    auth: Authenticated<ConsentsWriteScope>,
    interaction: InteractionId,
    body: web::Json<CreateConsentRequest>,
) -> Result<HttpResponse, ApiError> {
    let partner = partner_of(auth.principal())?;
    let now = state.clock.now();
    let ctx = ActionContext::client(&auth.principal().client_id, interaction, now);
    let id = state.new_consent_id();
    let data = state
        .create(id, partner, body.into_inner().into(), &ctx)
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/consents/{id}")))
        .json(ConsentView::of(&data, now)))
}

/// One of the caller's consents, read exactly.
#[utoipa::path(
    get,
    path = "/consents/{consent_id}",
    tag = "consents",
    operation_id = "get_consent",
    params(("consent_id" = Uuid, Path, description = "The consent's id")),
    responses(
        (status = 200, description = "The consent", body = ConsentView),
        (status = 400, description = "Malformed id (`invalid_path`)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks `consents:read`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such consent, or not the caller's", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["consents:read"])),
)]
pub(crate) async fn show(
    state: web::Data<ConsentsState>,
    auth: Authenticated<ConsentsReadScope>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let partner = partner_of(auth.principal())?;
    let data = state
        .for_partner(ConsentId::from_uuid(path.into_inner()), partner)
        .await?;
    Ok(HttpResponse::Ok().json(ConsentView::of(&data, state.clock.now())))
}

/// Delete one of the caller's consents: withdraws a pending one, revokes an authorised one
/// (recorded as revoked by the partner).
#[utoipa::path(
    delete,
    path = "/consents/{consent_id}",
    tag = "consents",
    operation_id = "delete_consent",
    params(("consent_id" = Uuid, Path, description = "The consent's id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 400, description = "Malformed id (`invalid_path`)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks `consents:write`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such consent, or not the caller's", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already rejected, revoked or expired (`conflict`), or changed concurrently (`concurrency_conflict`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["consents:write"])),
)]
pub(crate) async fn delete(
    state: web::Data<ConsentsState>,
    auth: Authenticated<ConsentsWriteScope>,
    interaction: InteractionId,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let partner = partner_of(auth.principal())?;
    let ctx = ActionContext::client(&auth.principal().client_id, interaction, state.clock.now());
    state
        .delete_by_partner(ConsentId::from_uuid(path.into_inner()), partner, &ctx)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
