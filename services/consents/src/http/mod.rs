//! The HTTP API of the consent service: the partner API (`/consents`), the customer
//! dashboard API (`/customer/consents`) and pages (`/dashboard`), and the compliance audit
//! (`/audit/consents`).
//!
//! Handlers are thin: extract → authorise (`Authenticated<S>` or `CustomerSession`, plus the
//! owner check) → call a [`ConsentsState`](crate::ConsentsState) use case → map the result.
//!
//! The caller provides, in app data: `web::Data<ConsentsState>`, the access token verifier
//! (`web::Data<ecohub_security::SharedVerifier>`), the customer sessions
//! (`web::Data<ecohub_security::SharedCustomerSessions>`) and the problem-answering extractor
//! configs.

mod audit;
mod bank;
mod console;
mod customer;
mod dashboard;
pub(crate) mod dto;
mod openapi;
mod partner;

use actix_web::web;
use ecohub_eventstore::StoreError;
use ecohub_http::{ApiError, ErrorCode};
use ecohub_security::Principal;

pub use dto::*;
pub use openapi::ConsentsApi;

use crate::application::AppError;
use crate::domain::{ConsentError, PartnerId};

/// Mounts every consent route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/consents").route(web::post().to(partner::create)))
        .service(
            web::resource("/consents/{consent_id}")
                .route(web::get().to(partner::show))
                .route(web::delete().to(partner::delete)),
        )
        .service(web::resource("/customer/consents").route(web::get().to(customer::list)))
        .service(
            web::resource("/customer/consents/{consent_id}")
                .route(web::delete().to(customer::revoke)),
        )
        .service(
            web::resource("/customer/consents/{consent_id}/receipt")
                .route(web::get().to(customer::receipt)),
        )
        .service(web::resource("/customer/data-providers").route(web::get().to(bank::providers)))
        .service(web::resource("/customer/bank-consents").route(web::post().to(bank::grant)))
        .service(web::resource("/dashboard").route(web::get().to(dashboard::page)))
        .service(web::resource("/dashboard/bank-consents").route(web::post().to(bank::grant_form)))
        .service(
            web::resource("/dashboard/consents/{consent_id}/revoke")
                .route(web::post().to(dashboard::revoke)),
        )
        .service(web::resource("/audit/consents").route(web::get().to(audit::list)))
        .service(web::resource("/audit/consents/export").route(web::get().to(audit::export)))
        .service(
            web::resource("/audit/consents/{consent_id}/history")
                .route(web::get().to(audit::history)),
        )
        .configure(console::configure);
}

/// The one 404 of this API: the same whether the consent does not exist or is not the
/// caller's.
pub(crate) fn consent_not_found() -> ApiError {
    ApiError::not_found().detail("consent not found")
}

/// The partner a partner client's token stands for.
pub(crate) fn partner_of(principal: &Principal) -> Result<PartnerId, ApiError> {
    principal
        .partner_id
        .as_deref()
        .and_then(|p| PartnerId::parse(p).ok())
        .ok_or_else(|| {
            ApiError::new(ErrorCode::Forbidden).detail("only partner clients manage consents")
        })
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        match e {
            AppError::Refused(ConsentError::NotFound) => consent_not_found(),
            AppError::Refused(ConsentError::Invalid(v)) => {
                ApiError::bad_request(format!("rule {} broken: {}", v.rule, v.message))
                    .field(format!("/{}", v.field.replace('.', "/")), v.rule)
            }
            AppError::Refused(refusal) => {
                ApiError::new(ErrorCode::Conflict).detail(refusal.to_string())
            }
            AppError::Store(StoreError::WrongExpectedVersion { .. }) => {
                ApiError::new(ErrorCode::ConcurrencyConflict)
                    .detail("the consent was changed by another request; re-read and retry")
            }
            AppError::Store(StoreError::Unavailable(_) | StoreError::Closed)
            | AppError::Port(_) => ApiError::unavailable(e),
            AppError::Store(_) | AppError::Decode(_) => ApiError::internal(e),
        }
    }
}
