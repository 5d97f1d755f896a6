//! `/admin/partners`: bank staff review, decide on and administer partners. Every route needs
//! the `admin` scope; the staff member is the token's client id.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use ecohub_http::{ApiError, InteractionId, Page, PageQuery, Problem};
use ecohub_security::{AdminScope, Authenticated};
use uuid::Uuid;

use super::dto::{
    ApprovalView, ApproveRequest, ListQuery, PartnerRecord, PartnerSummary, ReasonRequest,
    VerificationRequest,
};
use super::{partner_not_found, staff};
use crate::application::{PartnersState, RequestContext};
use crate::domain::{
    OffboardPartner, Partner, PartnerCommand, PartnerId, PartnerStatus, ReinstatePartner,
    RejectPartner, SuspendPartner,
};

fn record(partner: &Partner) -> Result<HttpResponse, ApiError> {
    let record = PartnerRecord::of(partner).ok_or_else(partner_not_found)?;
    Ok(HttpResponse::Ok().json(record))
}

fn context(auth: &Authenticated<AdminScope>, interaction: InteractionId) -> RequestContext {
    RequestContext::acting_as(auth.principal().actor(), interaction)
}

/// List partners (staff).
///
/// From the partner directory, a read model that may lag the streams by a moment; in
/// application order, optionally by status, with cursor pagination.
#[utoipa::path(
    get,
    path = "/admin/partners",
    tag = "partners-admin",
    operation_id = "list_partners",
    params(ListQuery),
    responses(
        (status = 200, description = "One page of partners", body = Page<PartnerSummary>),
        (status = 400, description = "Bad query or cursor (`invalid_query`, `invalid_cursor`)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks `admin`", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin"])),
)]
pub(crate) async fn list(
    state: web::Data<PartnersState>,
    _auth: Authenticated<AdminScope>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let page = PageQuery {
        page_size: query.page_size,
        cursor: query.cursor,
    };
    let page_size = page.page_size()?;
    let after: Option<PartnerId> = page.cursor()?;
    let status = query.status.map(PartnerStatus::from);
    let entries = state.directory.list(status, after, page_size as usize + 1);
    let base = match status {
        Some(s) => format!("/admin/partners?status={}", s.as_str()),
        None => "/admin/partners".to_owned(),
    };
    let page = Page::from_overfetch(
        entries.into_iter().map(PartnerSummary::from).collect(),
        page_size,
        &base,
        page.cursor.as_deref(),
        |p: &PartnerSummary| p.partner_id,
    );
    Ok(HttpResponse::Ok().json(page))
}

/// Everything about one partner (staff), read from its stream: contacts, verification
/// evidence, full status history, grant and webhooks.
#[utoipa::path(
    get,
    path = "/admin/partners/{partner_id}",
    tag = "partners-admin",
    operation_id = "get_partner",
    params(("partner_id" = Uuid, Path, description = "The partner's id")),
    responses(
        (status = 200, description = "The partner", body = PartnerRecord),
        (status = 400, description = "Malformed id (`invalid_path`)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks `admin`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such partner", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin"])),
)]
pub(crate) async fn show(
    state: web::Data<PartnersState>,
    _auth: Authenticated<AdminScope>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let partner = state
        .partner(PartnerId::from_uuid(path.into_inner()))
        .await?;
    record(&partner)
}

/// Record verification evidence (staff; the recorder becomes a maker who may not approve).
#[utoipa::path(
    post,
    path = "/admin/partners/{partner_id}/verifications",
    tag = "partners-admin",
    operation_id = "record_verification",
    params(("partner_id" = Uuid, Path, description = "The partner's id")),
    request_body = VerificationRequest,
    responses(
        (status = 200, description = "Recorded; the partner as it now stands", body = PartnerRecord),
        (status = 400, description = "Invalid JSON, id or field", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks `admin`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such partner", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not allowed in the partner's status (`conflict`) or changed concurrently (`concurrency_conflict`)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body is not JSON", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin"])),
)]
pub(crate) async fn record_verification(
    state: web::Data<PartnersState>,
    auth: Authenticated<AdminScope>,
    interaction: InteractionId,
    path: web::Path<Uuid>,
    body: web::Json<VerificationRequest>,
) -> Result<HttpResponse, ApiError> {
    let command = body.into_inner().into_command(staff(auth.principal())?)?;
    let partner = state
        .execute(
            PartnerId::from_uuid(path.into_inner()),
            command.into(),
            &context(&auth, interaction),
        )
        .await?;
    record(&partner)
}

/// Approve an application (staff; the checker of maker-checker). Answers with the partner
/// and its first signed software statement.
#[utoipa::path(
    post,
    path = "/admin/partners/{partner_id}/approve",
    tag = "partners-admin",
    operation_id = "approve_partner",
    params(("partner_id" = Uuid, Path, description = "The partner's id")),
    request_body = ApproveRequest,
    responses(
        (status = 200, description = "Approved", body = ApprovalView),
        (status = 400, description = "Invalid JSON, id or field", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks `admin`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such partner", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Refused: status, incomplete or failed verification, maker-checker (`conflict`), or changed concurrently (`concurrency_conflict`)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Event store or signing key unavailable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin"])),
)]
pub(crate) async fn approve(
    state: web::Data<PartnersState>,
    auth: Authenticated<AdminScope>,
    interaction: InteractionId,
    path: web::Path<Uuid>,
    body: web::Json<ApproveRequest>,
) -> Result<HttpResponse, ApiError> {
    let command = body.into_inner().into_command(staff(auth.principal())?)?;
    let (partner, software_statement) = state
        .approve(
            PartnerId::from_uuid(path.into_inner()),
            command,
            &context(&auth, interaction),
        )
        .await?;
    let partner = PartnerRecord::of(&partner).ok_or_else(partner_not_found)?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(ApprovalView {
            partner,
            software_statement,
        }))
}

/// Runs a status change that takes a staff member and a reason.
async fn status_change(
    state: web::Data<PartnersState>,
    auth: Authenticated<AdminScope>,
    interaction: InteractionId,
    path: web::Path<Uuid>,
    body: web::Json<ReasonRequest>,
    command: fn(crate::domain::StaffId, crate::domain::Reason) -> PartnerCommand,
) -> Result<HttpResponse, ApiError> {
    let by = staff(auth.principal())?;
    let reason = body.into_inner().parse()?;
    let partner = state
        .execute(
            PartnerId::from_uuid(path.into_inner()),
            command(by, reason),
            &context(&auth, interaction),
        )
        .await?;
    record(&partner)
}

macro_rules! status_route {
    ($fn_name:ident, $verb:literal, $summary:literal, $command:ident) => {
        #[doc = $summary]
        #[utoipa::path(
            post,
            path = concat!("/admin/partners/{partner_id}/", $verb),
            tag = "partners-admin",
            operation_id = concat!($verb, "_partner"),
            params(("partner_id" = Uuid, Path, description = "The partner's id")),
            request_body = ReasonRequest,
            responses(
                (status = 200, description = "Done; the partner as it now stands", body = PartnerRecord),
                (status = 400, description = "Invalid JSON, id or reason", body = Problem, content_type = "application/problem+json"),
                (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
                (status = 403, description = "Token lacks `admin`", body = Problem, content_type = "application/problem+json"),
                (status = 404, description = "No such partner", body = Problem, content_type = "application/problem+json"),
                (status = 409, description = "Not allowed in the partner's status (`conflict`) or changed concurrently (`concurrency_conflict`)", body = Problem, content_type = "application/problem+json"),
                (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
                (status = 415, description = "Body is not JSON", body = Problem, content_type = "application/problem+json"),
            ),
            security(("bearer" = ["admin"])),
        )]
        pub(crate) async fn $fn_name(
            state: web::Data<PartnersState>,
            auth: Authenticated<AdminScope>,
            interaction: InteractionId,
            path: web::Path<Uuid>,
            body: web::Json<ReasonRequest>,
        ) -> Result<HttpResponse, ApiError> {
            status_change(state, auth, interaction, path, body, |by, reason| {
                $command { by, reason }.into()
            })
            .await
        }
    };
}

status_route!(
    reject,
    "reject",
    "Reject an application that is not yet decided (staff). The reason is shown to the applicant.",
    RejectPartner
);
status_route!(
    suspend,
    "suspend",
    "Suspend an approved partner (staff): its tokens and registrations stop working on its next request.",
    SuspendPartner
);
status_route!(
    reinstate,
    "reinstate",
    "Lift a suspension (staff).",
    ReinstatePartner
);
status_route!(
    offboard,
    "offboard",
    "End a partnership for good (staff); its webhooks are deactivated.",
    OffboardPartner
);
