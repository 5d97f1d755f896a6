//! `/partners/applications`: applying (public), and the applicant or partner following its
//! own application.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use ecohub_http::{ApiError, InteractionId, Problem};
use ecohub_security::{Authenticated, PartnerReadScope};
use uuid::Uuid;

use super::dto::{
    ApplicantToken, ApplicationCreated, ApplicationLinks, ApplicationView, ApplyRequest,
    SoftwareStatementView,
};
use super::{partner_not_found, require_own};
use crate::application::{PartnersState, RequestContext};
use crate::domain::PartnerId;

/// Apply to join the ecosystem.
///
/// Public: no token needed. The answer carries an applicant token (scope `partner:read`,
/// this application only) to follow the application with.
#[utoipa::path(
    post,
    path = "/partners/applications",
    tag = "partners",
    operation_id = "apply_for_partnership",
    request_body = ApplyRequest,
    responses(
        (status = 201, description = "Application received", body = ApplicationCreated,
            headers(("location" = String, description = "The application's URL"))),
        (status = 400, description = "Invalid JSON or an invalid field (`invalid_json`, `invalid_request` with `errors`)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large (`payload_too_large`)", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body is not JSON (`unsupported_media_type`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Event store or token service unavailable", body = Problem, content_type = "application/problem+json"),
    ),
    security(()),
)]
pub(crate) async fn apply(
    state: web::Data<PartnersState>,
    interaction: InteractionId,
    body: web::Json<ApplyRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = state.new_partner_id();
    let command = body.into_inner().into_command(id)?;
    let applied = state
        .apply(command, &RequestContext::applicant(interaction))
        .await?;
    let links = ApplicationLinks::of(id);
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, links.self_.clone()))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(ApplicationCreated {
            partner_id: id,
            status: applied
                .partner
                .status()
                .ok_or_else(partner_not_found)?
                .into(),
            applicant_token: ApplicantToken {
                access_token: applied.applicant_token.access_token,
                token_type: "Bearer".to_owned(),
                expires_in: applied.applicant_token.expires_in,
            },
            links,
        }))
}

/// The caller's own application: status, history with reasons, and what approval granted.
///
/// Only the partner itself (its applicant token or an approved client's token) may read it;
/// any other caller gets 404.
#[utoipa::path(
    get,
    path = "/partners/applications/{partner_id}",
    tag = "partners",
    operation_id = "get_own_application",
    params(("partner_id" = Uuid, Path, description = "The partner's id")),
    responses(
        (status = 200, description = "The application", body = ApplicationView),
        (status = 400, description = "Malformed id (`invalid_path`)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks `partner:read`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such partner, or not the caller's", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["partner:read"])),
)]
pub(crate) async fn show(
    state: web::Data<PartnersState>,
    auth: Authenticated<PartnerReadScope>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = PartnerId::from_uuid(path.into_inner());
    require_own(auth.principal(), id)?;
    let partner = state.partner(id).await?;
    let view = ApplicationView::of(&partner).ok_or_else(partner_not_found)?;
    Ok(HttpResponse::Ok().json(view))
}

/// A freshly signed software statement, for dynamic client registration.
///
/// Only for the partner itself, and only while it is approved and active (409 otherwise).
#[utoipa::path(
    get,
    path = "/partners/applications/{partner_id}/software-statement",
    tag = "partners",
    operation_id = "get_software_statement",
    params(("partner_id" = Uuid, Path, description = "The partner's id")),
    responses(
        (status = 200, description = "A signed software statement", body = SoftwareStatementView),
        (status = 400, description = "Malformed id (`invalid_path`)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks `partner:read`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such partner, or not the caller's", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The partner is not approved and active (`conflict`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Event store or signing key unavailable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["partner:read"])),
)]
pub(crate) async fn software_statement(
    state: web::Data<PartnersState>,
    auth: Authenticated<PartnerReadScope>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = PartnerId::from_uuid(path.into_inner());
    require_own(auth.principal(), id)?;
    let software_statement = state.software_statement(id).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(SoftwareStatementView { software_statement }))
}
