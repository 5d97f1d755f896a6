//! Product managers' routes (`offers:manage`).

use std::collections::BTreeMap;

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use ecohub_http::{ApiError, InteractionId, Problem};
use ecohub_kernel::RequestContext;
use ecohub_security::{Authenticated, OffersManageScope};
use uuid::Uuid;

use super::dto::*;
use crate::application::{DryRun, OffersState};
use crate::domain::{AttributeDefinition, PropositionCommand, PropositionDoc, PropositionId};

type Staff = Authenticated<OffersManageScope>;

fn ctx(auth: &Staff, interaction: InteractionId) -> RequestContext {
    RequestContext::acting_as(auth.principal().actor(), interaction)
}

fn links(id: PropositionId, version: u32) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("self".to_owned(), format!("/offers/propositions/{id}")),
        (
            "version".to_owned(),
            format!("/offers/propositions/{id}/versions/{version}"),
        ),
        (
            "history".to_owned(),
            format!("/offers/propositions/{id}/history"),
        ),
    ])
}

/// The attribute catalogue.
#[utoipa::path(
    get, path = "/offers/attributes", tag = "offers", operation_id = "list_attributes",
    responses(
        (status = 200, description = "Every attribute", body = AttributeList),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks `offers:manage`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Event store unavailable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["offers:manage"])),
)]
pub(crate) async fn list_attributes(
    state: web::Data<OffersState>,
    _auth: Staff,
) -> Result<HttpResponse, ApiError> {
    let c = state.attributes().await?;
    Ok(HttpResponse::Ok().json(AttributeList {
        attributes: c.attributes.values().map(AttributeView::from).collect(),
    }))
}

/// Defines an attribute, or changes its description or source (its type never changes).
/// Its dataset must be in the sharing catalogue.
#[utoipa::path(
    put, path = "/offers/attributes/{name}", tag = "offers", operation_id = "define_attribute",
    params(("name" = String, Path, description = "Its name in conditions: 1 to 64 characters of a-z, 0-9 and _, starting with a letter; not `moment`, `params` or `personas`", pattern = "^(?!(?:moment|params|personas)$)[a-z][a-z0-9_]{0,63}$")),
    request_body = AttributeRequest,
    responses(
        (status = 200, description = "Defined (or unchanged)", body = AttributeView),
        (status = 400, description = "Invalid input; the failing path is named", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks `offers:manage`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The type would change, or a concurrent change", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body of another media type", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Event store unavailable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["offers:manage"])),
)]
pub(crate) async fn define_attribute(
    state: web::Data<OffersState>,
    auth: Staff,
    interaction: InteractionId,
    path: web::Path<String>,
    body: web::Json<AttributeRequest>,
) -> Result<HttpResponse, ApiError> {
    let name = path.into_inner();
    let b = body.into_inner();
    let definition = AttributeDefinition::new(name.clone(), b.r#type, b.description, b.source)
        .map_err(crate::application::AppError::from)?;
    let c = state
        .define_attribute(definition, &ctx(&auth, interaction))
        .await?;
    let a = c.attributes.get(&name).ok_or_else(super::not_found)?;
    Ok(HttpResponse::Ok().json(AttributeView::from(a)))
}

/// Every persona with its versions.
#[utoipa::path(
    get, path = "/offers/personas", tag = "offers", operation_id = "list_personas",
    responses(
        (status = 200, description = "Every persona", body = PersonaList),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks `offers:manage`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Event store unavailable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["offers:manage"])),
)]
pub(crate) async fn list_personas(
    state: web::Data<OffersState>,
    _auth: Staff,
) -> Result<HttpResponse, ApiError> {
    let c = state.personas().await?;
    Ok(HttpResponse::Ok().json(PersonaList {
        personas: c.personas.values().map(PersonaView::from).collect(),
    }))
}

/// A persona with its versions.
#[utoipa::path(
    get, path = "/offers/personas/{name}", tag = "offers", operation_id = "get_persona",
    params(("name" = String, Path, description = "The persona")),
    responses(
        (status = 200, description = "The persona", body = PersonaView),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks `offers:manage`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such persona", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Event store unavailable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["offers:manage"])),
)]
pub(crate) async fn show_persona(
    state: web::Data<OffersState>,
    _auth: Staff,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let c = state.personas().await?;
    let p = c.personas.get(path.as_str()).ok_or_else(super::not_found)?;
    Ok(HttpResponse::Ok().json(PersonaView::from(p)))
}

/// Defines a persona, or writes its next version when something changed (a version never
/// changes). The condition is checked against the attribute catalogue: an unknown attribute
/// or a type mismatch is a 400 naming the path, and nothing is written.
#[utoipa::path(
    put, path = "/offers/personas/{name}", tag = "offers", operation_id = "define_persona",
    params(("name" = String, Path, description = "Its name: 1 to 64 characters of a-z, 0-9 and _, starting with a letter", pattern = "^[a-z][a-z0-9_]{0,63}$")),
    request_body = PersonaRequest,
    responses(
        (status = 200, description = "The persona with its versions", body = PersonaView),
        (status = 400, description = "Invalid condition or text; the failing path is named", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks `offers:manage`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A concurrent change", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body of another media type", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Event store unavailable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["offers:manage"])),
)]
pub(crate) async fn define_persona(
    state: web::Data<OffersState>,
    auth: Staff,
    interaction: InteractionId,
    path: web::Path<String>,
    body: web::Json<PersonaRequest>,
) -> Result<HttpResponse, ApiError> {
    let name = path.into_inner();
    let b = body.into_inner();
    let c = state
        .define_persona(
            name.clone(),
            b.title,
            b.description,
            &b.condition,
            &ctx(&auth, interaction),
        )
        .await?;
    let p = c.personas.get(&name).ok_or_else(super::not_found)?;
    Ok(HttpResponse::Ok().json(PersonaView::from(p)))
}

/// Evaluates a persona for one customer and explains it: which sub-conditions held, with
/// the values read.
#[utoipa::path(
    post, path = "/offers/personas/{name}/dry-run", tag = "offers", operation_id = "dry_run_persona",
    params(("name" = String, Path, description = "The persona")),
    request_body = PersonaDryRunRequest,
    responses(
        (status = 200, description = "Whether the customer belongs to it, and why", body = PersonaDryRunView),
        (status = 400, description = "Invalid input", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks `offers:manage`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such persona or version", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body of another media type", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Event store unavailable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["offers:manage"])),
)]
pub(crate) async fn dry_run_persona(
    state: web::Data<OffersState>,
    _auth: Staff,
    path: web::Path<String>,
    body: web::Json<PersonaDryRunRequest>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let result = state
        .dry_run_persona(&path, b.version, &b.customer_id)
        .await?;
    Ok(HttpResponse::Ok().json(PersonaDryRunView { result }))
}

/// Every proposition, in creation order (from the proposition list, which may lag the
/// streams by a moment).
#[utoipa::path(
    get, path = "/offers/propositions", tag = "offers", operation_id = "list_propositions",
    responses(
        (status = 200, description = "Every proposition with its versions", body = PropositionList),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks `offers:manage`", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["offers:manage"])),
)]
pub(crate) async fn list_propositions(
    state: web::Data<OffersState>,
    _auth: Staff,
) -> Result<HttpResponse, ApiError> {
    let list = state.index.list(None, None, usize::MAX);
    Ok(HttpResponse::Ok().json(PropositionList {
        propositions: list.iter().map(PropositionView::from).collect(),
    }))
}

/// Drafts a new proposition (its version 1). The document is checked against the attribute
/// and persona catalogues; personas not pinned are pinned to their latest version.
#[utoipa::path(
    post, path = "/offers/propositions", tag = "offers", operation_id = "create_proposition",
    request_body = PropositionDoc,
    responses(
        (status = 201, description = "Drafted", body = Created,
            headers(("location" = String, description = "The proposition's URL"))),
        (status = 400, description = "Invalid document; the failing path is named", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks `offers:manage`", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body of another media type", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Event store unavailable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["offers:manage"])),
)]
pub(crate) async fn create_proposition(
    state: web::Data<OffersState>,
    auth: Staff,
    interaction: InteractionId,
    body: web::Json<PropositionDoc>,
) -> Result<HttpResponse, ApiError> {
    let id = state.new_proposition_id();
    state
        .draft(id, body.into_inner(), true, &ctx(&auth, interaction))
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/offers/propositions/{id}")))
        .json(Created {
            id: id.to_string(),
            version: 1,
            links: links(id, 1),
        }))
}

/// A proposition with every version (exact).
#[utoipa::path(
    get, path = "/offers/propositions/{id}", tag = "offers", operation_id = "get_proposition",
    params(("id" = Uuid, Path, description = "The proposition")),
    responses(
        (status = 200, description = "The proposition", body = PropositionView),
        (status = 400, description = "A path id that is not a UUID (`invalid_path`)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks `offers:manage`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such proposition", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Event store unavailable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["offers:manage"])),
)]
pub(crate) async fn show_proposition(
    state: web::Data<OffersState>,
    _auth: Staff,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let p = state
        .proposition(PropositionId::from_uuid(path.into_inner()))
        .await?;
    Ok(HttpResponse::Ok().json(PropositionView::from(&p)))
}

/// Who drafted, submitted, approved, rejected, accepted, published and retired, and when.
#[utoipa::path(
    get, path = "/offers/propositions/{id}/history", tag = "offers", operation_id = "get_proposition_history",
    params(("id" = Uuid, Path, description = "The proposition")),
    responses(
        (status = 200, description = "Every change, oldest first", body = HistoryView),
        (status = 400, description = "A path id that is not a UUID (`invalid_path`)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks `offers:manage`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such proposition", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Event store unavailable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["offers:manage"])),
)]
pub(crate) async fn history(
    state: web::Data<OffersState>,
    _auth: Staff,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let h = state
        .history(PropositionId::from_uuid(path.into_inner()))
        .await?;
    Ok(HttpResponse::Ok().json(HistoryView {
        events: h.iter().map(HistoryItem::from).collect(),
    }))
}

/// Evaluates a proposition for one customer and explains it: whether it is available (or
/// the first reason it is not), which personas matched, which pricing rule gave the price,
/// which add-ons are included.
#[utoipa::path(
    post, path = "/offers/propositions/{id}/dry-run", tag = "offers", operation_id = "dry_run_proposition",
    params(("id" = Uuid, Path, description = "The proposition")),
    request_body = DryRunRequest,
    responses(
        (status = 200, description = "The evaluation and its explanation", body = DryRunView),
        (status = 400, description = "A path id that is not a UUID (`invalid_path`), or: Parameters break the version's schema (the path is named)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks `offers:manage`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such proposition or version", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body of another media type", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Event store unavailable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["offers:manage"])),
)]
pub(crate) async fn dry_run(
    state: web::Data<OffersState>,
    _auth: Staff,
    path: web::Path<Uuid>,
    body: web::Json<DryRunRequest>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let run = state
        .dry_run(
            PropositionId::from_uuid(path.into_inner()),
            DryRun {
                customer_id: b.customer_id,
                channel: b.channel,
                params: b.params,
                version: b.version,
            },
        )
        .await?;
    Ok(HttpResponse::Ok().json(DryRunView {
        version: run.version,
        evaluation: run.evaluation,
    }))
}

/// Drafts the next version (refused while another version is open).
#[utoipa::path(
    post, path = "/offers/propositions/{id}/versions", tag = "offers", operation_id = "draft_proposition_version",
    params(("id" = Uuid, Path, description = "The proposition")),
    request_body = PropositionDoc,
    responses(
        (status = 201, description = "Drafted", body = Created),
        (status = 400, description = "A path id that is not a UUID (`invalid_path`), or: Invalid document; the failing path is named", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks `offers:manage`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such proposition", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Another version is open, or a concurrent change", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body of another media type", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Event store unavailable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["offers:manage"])),
)]
pub(crate) async fn draft_version(
    state: web::Data<OffersState>,
    auth: Staff,
    interaction: InteractionId,
    path: web::Path<Uuid>,
    body: web::Json<PropositionDoc>,
) -> Result<HttpResponse, ApiError> {
    let id = PropositionId::from_uuid(path.into_inner());
    let p = state
        .draft(id, body.into_inner(), false, &ctx(&auth, interaction))
        .await?;
    let version = p.versions.last().map_or(1, |v| v.number);
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/offers/propositions/{id}/versions/{version}"),
        ))
        .json(Created {
            id: id.to_string(),
            version,
            links: links(id, version),
        }))
}

/// Replaces a draft's content (only a draft changes; acceptances of it are cleared).
#[utoipa::path(
    put, path = "/offers/propositions/{id}/versions/{version}", tag = "offers", operation_id = "revise_proposition_draft",
    params(("id" = Uuid, Path, description = "The proposition"), ("version" = u32, Path, description = "The draft version")),
    request_body = PropositionDoc,
    responses(
        (status = 200, description = "The proposition", body = PropositionView),
        (status = 400, description = "A path id that is not a UUID (`invalid_path`), or: Invalid document; the failing path is named", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks `offers:manage`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such proposition or version", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The version is not a draft, or a concurrent change", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body of another media type", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Event store unavailable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["offers:manage"])),
)]
pub(crate) async fn revise_draft(
    state: web::Data<OffersState>,
    auth: Staff,
    interaction: InteractionId,
    path: web::Path<(Uuid, u32)>,
    body: web::Json<PropositionDoc>,
) -> Result<HttpResponse, ApiError> {
    let (id, version) = path.into_inner();
    let p = state
        .revise(
            PropositionId::from_uuid(id),
            version,
            body.into_inner(),
            &ctx(&auth, interaction),
        )
        .await?;
    Ok(HttpResponse::Ok().json(PropositionView::from(&p)))
}

/// Moves a version on: `submit`, `approve` (not by its submitter), `reject` (with a
/// reason, back to draft), `publish` (every co-brand partner accepted and active; retires
/// the published version), `retire` (with a reason).
#[utoipa::path(
    post, path = "/offers/propositions/{id}/versions/{version}/{action}", tag = "offers", operation_id = "move_proposition_version",
    params(
        ("id" = Uuid, Path, description = "The proposition"),
        ("version" = u32, Path, description = "The version"),
        ("action" = String, Path, description = "`submit`, `approve`, `reject`, `publish` or `retire`"),
    ),
    request_body(content = ReasonRequest, description = "For `reject` and `retire` only"),
    responses(
        (status = 200, description = "The proposition", body = PropositionView),
        (status = 400, description = "A path id that is not a UUID (`invalid_path`), or: Missing or invalid reason", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks `offers:manage`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such proposition, version or action", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The version's state refuses it (maker-checker, acceptance missing, inactive partner), or a concurrent change", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Event store unavailable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["offers:manage"])),
)]
pub(crate) async fn transition(
    state: web::Data<OffersState>,
    auth: Staff,
    interaction: InteractionId,
    path: web::Path<(Uuid, u32, String)>,
    body: Option<web::Json<ReasonRequest>>,
) -> Result<HttpResponse, ApiError> {
    let (id, version, action) = path.into_inner();
    let id = PropositionId::from_uuid(id);
    let ctx = ctx(&auth, interaction);
    let by = ctx.actor.clone();
    let reason = || {
        body.as_ref().map(|b| b.reason.clone()).ok_or_else(|| {
            ApiError::bad_request("a reason is required").field("/reason", "is required")
        })
    };
    let p = match action.as_str() {
        "submit" => {
            state
                .command(id, PropositionCommand::SubmitVersion { version, by }, &ctx)
                .await?
        }
        "approve" => {
            state
                .command(id, PropositionCommand::ApproveVersion { version, by }, &ctx)
                .await?
        }
        "reject" => {
            let reason = reason()?;
            state
                .command(
                    id,
                    PropositionCommand::RejectVersion {
                        version,
                        by,
                        reason,
                    },
                    &ctx,
                )
                .await?
        }
        "publish" => state.publish(id, version, &ctx).await?,
        "retire" => {
            let reason = reason()?;
            state
                .command(
                    id,
                    PropositionCommand::RetireVersion {
                        version,
                        by,
                        reason,
                    },
                    &ctx,
                )
                .await?
        }
        _ => return Err(super::not_found()),
    };
    Ok(HttpResponse::Ok().json(PropositionView::from(&p)))
}
