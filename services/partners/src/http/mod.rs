//! The HTTP API of partner onboarding: routes, the mapping of outcomes to responses, and the
//! OpenAPI document.
//!
//! Handlers are thin: extract (path, body) → authorise (`Authenticated<S>`, plus the
//! partner-owns-the-path check) → call a [`PartnersState`](crate::PartnersState) use case → map the result.
//!
//! The caller provides, in app data: `web::Data<PartnersState>`, the access token verifier
//! (`web::Data<ecohub_security::SharedVerifier>`) and the problem-answering extractor configs
//! (`ecohub_http::json_config`, `query_config`, `path_config`); the hub sets all of them.

mod admin;
mod applications;
mod console;
pub(crate) mod dto;
mod openapi;
mod schema;
mod webhooks;

use actix_web::web;
use ecohub_eventstore::StoreError;
use ecohub_http::{ApiError, ErrorCode};
use ecohub_security::Principal;

pub use dto::*;
pub use openapi::PartnersApi;

use crate::application::AppError;
use crate::domain::{PartnerError, PartnerId, StaffId};

/// Mounts every partner route. Each path is a resource, so other methods get 405.
pub fn configure(cfg: &mut web::ServiceConfig) {
    console::configure(cfg);
    cfg.service(web::resource("/partners/applications").route(web::post().to(applications::apply)))
        .service(
            web::resource("/partners/applications/{partner_id}")
                .route(web::get().to(applications::show)),
        )
        .service(
            web::resource("/partners/applications/{partner_id}/software-statement")
                .route(web::get().to(applications::software_statement)),
        )
        .service(
            web::resource("/partners/{partner_id}/webhooks")
                .route(web::post().to(webhooks::register))
                .route(web::get().to(webhooks::list)),
        )
        .service(
            web::resource("/partners/{partner_id}/webhooks/{webhook_id}")
                .route(web::delete().to(webhooks::remove)),
        )
        .service(web::resource("/admin/partners").route(web::get().to(admin::list)))
        .service(web::resource("/admin/partners/{partner_id}").route(web::get().to(admin::show)))
        .service(
            web::resource("/admin/partners/{partner_id}/verifications")
                .route(web::post().to(admin::record_verification)),
        )
        .service(
            web::resource("/admin/partners/{partner_id}/approve")
                .route(web::post().to(admin::approve)),
        )
        .service(
            web::resource("/admin/partners/{partner_id}/reject")
                .route(web::post().to(admin::reject)),
        )
        .service(
            web::resource("/admin/partners/{partner_id}/suspend")
                .route(web::post().to(admin::suspend)),
        )
        .service(
            web::resource("/admin/partners/{partner_id}/reinstate")
                .route(web::post().to(admin::reinstate)),
        )
        .service(
            web::resource("/admin/partners/{partner_id}/offboard")
                .route(web::post().to(admin::offboard)),
        );
}

/// The one 404 of this API: the same answer whether the partner does not exist or is not
/// the caller's (no existence oracle).
fn partner_not_found() -> ApiError {
    ApiError::not_found().detail("partner not found")
}

/// The caller must be the partner the path names; anything else is answered exactly like a
/// partner that does not exist (BOLA: never 403, which would confirm existence).
fn require_own(principal: &Principal, path: PartnerId) -> Result<(), ApiError> {
    match principal
        .partner_id
        .as_deref()
        .and_then(|p| PartnerId::parse(p).ok())
    {
        Some(own) if own == path => Ok(()),
        _ => Err(partner_not_found()),
    }
}

/// The staff member the caller stands for, as recorded in evidence and compared by the
/// maker-checker rule: the person (`staff:<id>`) for a console session, the client id for an
/// admin token (as recorded before staff people existed).
fn staff(principal: &Principal) -> Result<StaffId, ApiError> {
    let id = match principal.staff_id {
        Some(_) => principal.actor(),
        None => principal.client_id.clone(),
    };
    StaffId::parse(&id).map_err(|_| {
        ApiError::new(ErrorCode::Forbidden).detail("this client cannot act as bank staff")
    })
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        match e {
            AppError::Refused(PartnerError::NotFound) => partner_not_found(),
            AppError::Refused(PartnerError::WebhookNotFound(_)) => {
                ApiError::not_found().detail("webhook not found")
            }
            AppError::Refused(PartnerError::Invalid(v)) => {
                ApiError::bad_request(v.to_string()).field(dto::pointer_of(v.field), v.message)
            }
            AppError::Refused(refusal) => {
                ApiError::new(ErrorCode::Conflict).detail(refusal.to_string())
            }
            AppError::Store(StoreError::WrongExpectedVersion { .. }) => {
                ApiError::new(ErrorCode::ConcurrencyConflict)
                    .detail("the partner was changed by another request; re-read and retry")
            }
            AppError::Store(StoreError::Unavailable(_) | StoreError::Closed)
            | AppError::Port(_) => ApiError::unavailable(e),
            AppError::Store(_) | AppError::Decode(_) => ApiError::internal(e),
        }
    }
}
