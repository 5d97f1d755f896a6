//! `/partners/{partner_id}/webhooks`: an approved partner manages its webhook endpoints.
//! Needs `webhooks:manage`, and the token's partner must be the one the path names (404
//! otherwise).

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use ecohub_http::{ApiError, InteractionId, Problem};
use ecohub_security::{Authenticated, WebhooksManageScope};
use uuid::Uuid;

use super::dto::{WebhookList, WebhookRequest, WebhookView};
use super::require_own;
use crate::application::{PartnersState, RequestContext};
use crate::domain::{PartnerId, RemoveWebhook, WebhookId};

fn context(
    auth: &Authenticated<WebhooksManageScope>,
    interaction: InteractionId,
) -> RequestContext {
    RequestContext::acting_as(auth.principal().actor(), interaction)
}

/// Register a webhook endpoint (approved partners only).
#[utoipa::path(
    post,
    path = "/partners/{partner_id}/webhooks",
    tag = "partners",
    operation_id = "register_webhook",
    params(("partner_id" = Uuid, Path, description = "The partner's id")),
    request_body = WebhookRequest,
    responses(
        (status = 201, description = "Registered", body = WebhookView,
            headers(("location" = String, description = "The webhook's URL"))),
        (status = 400, description = "Invalid JSON, id or field (an `http` URL in production)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks `webhooks:manage`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such partner, or not the caller's", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Partner not approved, URL already registered, too many webhooks (`conflict`), or changed concurrently (`concurrency_conflict`)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body is not JSON", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["webhooks:manage"])),
)]
pub(crate) async fn register(
    state: web::Data<PartnersState>,
    auth: Authenticated<WebhooksManageScope>,
    interaction: InteractionId,
    path: web::Path<Uuid>,
    body: web::Json<WebhookRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = PartnerId::from_uuid(path.into_inner());
    require_own(auth.principal(), id)?;
    let webhook_id = state.new_webhook_id();
    let command = body.into_inner().into_command(webhook_id)?;
    let partner = state
        .register_webhook(id, command, &context(&auth, interaction))
        .await?;
    let webhook = partner
        .webhooks()
        .iter()
        .find(|w| w.id == webhook_id)
        .map(WebhookView::from)
        .ok_or_else(|| ApiError::internal("registered webhook missing from the state"))?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/partners/{id}/webhooks/{webhook_id}"),
        ))
        .json(webhook))
}

/// List the partner's active webhooks.
#[utoipa::path(
    get,
    path = "/partners/{partner_id}/webhooks",
    tag = "partners",
    operation_id = "list_webhooks",
    params(("partner_id" = Uuid, Path, description = "The partner's id")),
    responses(
        (status = 200, description = "Active webhooks (at most 10)", body = WebhookList),
        (status = 400, description = "Malformed id (`invalid_path`)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks `webhooks:manage`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such partner, or not the caller's", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["webhooks:manage"])),
)]
pub(crate) async fn list(
    state: web::Data<PartnersState>,
    auth: Authenticated<WebhooksManageScope>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = PartnerId::from_uuid(path.into_inner());
    require_own(auth.principal(), id)?;
    let partner = state.partner(id).await?;
    Ok(HttpResponse::Ok().json(WebhookList {
        data: partner.webhooks().iter().map(WebhookView::from).collect(),
    }))
}

/// Remove a webhook (while approved or suspended).
#[utoipa::path(
    delete,
    path = "/partners/{partner_id}/webhooks/{webhook_id}",
    tag = "partners",
    operation_id = "remove_webhook",
    params(
        ("partner_id" = Uuid, Path, description = "The partner's id"),
        ("webhook_id" = Uuid, Path, description = "The webhook's id"),
    ),
    responses(
        (status = 204, description = "Removed"),
        (status = 400, description = "Malformed id (`invalid_path`)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks `webhooks:manage`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such partner or webhook, or not the caller's", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not allowed in the partner's status (`conflict`) or changed concurrently (`concurrency_conflict`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["webhooks:manage"])),
)]
pub(crate) async fn remove(
    state: web::Data<PartnersState>,
    auth: Authenticated<WebhooksManageScope>,
    interaction: InteractionId,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (partner, webhook) = path.into_inner();
    let id = PartnerId::from_uuid(partner);
    require_own(auth.principal(), id)?;
    let command = RemoveWebhook {
        webhook_id: WebhookId::from_uuid(webhook),
    };
    state
        .execute(id, command.into(), &context(&auth, interaction))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
