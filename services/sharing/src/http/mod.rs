//! The HTTP API of data sharing: routes, the mapping of outcomes to responses, and the
//! OpenAPI document.
//!
//! Handlers are thin: extract → authorise (`Authenticated<S>`) → call a
//! [`SharingState`](crate::SharingState) use case → map the result.
//!
//! The caller provides, in app data: `web::Data<SharingState>`, the access token verifier
//! (`web::Data<ecohub_security::SharedVerifier>`), the problem-answering extractor configs,
//! and the idempotency middleware (`x-idempotency-key` on publications); the hub sets all of
//! them.

mod admin;
mod audit;
mod compliance;
mod console;
mod data;
mod notifications;
mod openapi;

use actix_web::http::header::{self, HeaderValue};
use actix_web::web;
use ecohub_eventstore::StoreError;
use ecohub_http::{ApiError, ErrorCode};

pub use admin::{DatasetDefinitionBody, DatasetList, DirectionRuleBody};
pub use audit::{AccessRecordView, AuditQuery};
pub use data::{DataQuery, PublishRequest, PublishResponse, RecordInput, RecordView};
pub use notifications::{
    DeliveryView, PollRequest, PollResponse, SetError, SubscriptionList, SubscriptionRequest,
    SubscriptionView,
};
pub use openapi::SharingApi;

use crate::application::AppError;

/// Mounts every sharing route. Each path is a resource, so other methods get 405.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/datasets").route(web::get().to(admin::list)))
        .service(web::resource("/datasets/{name}").route(web::get().to(admin::show)))
        .service(web::resource("/admin/datasets/{name}").route(web::put().to(admin::define)))
        .service(web::resource("/data/{dataset}/records").route(web::post().to(data::publish)))
        .service(web::resource("/data/{dataset}").route(web::get().to(data::read)))
        .service(web::resource("/audit/data-access").route(web::get().to(audit::list)))
        .service(web::resource("/audit/data-access/export").route(web::get().to(audit::export)));
    notifications::configure(cfg);
    cfg.service(
        web::resource("/console/partners/{partner_id}/deliveries")
            .route(web::get().to(console::deliveries)),
    )
    .service(
        web::resource("/console/compliance/data-access").route(web::get().to(compliance::page)),
    )
    .service(
        web::resource("/console/compliance/data-access/export.{format}")
            .route(web::get().to(compliance::export)),
    );
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        match e {
            AppError::NotFound(what) => ApiError::not_found().detail(format!("{what} not found")),
            AppError::Forbidden(why) => ApiError::new(ErrorCode::Forbidden).detail(why),
            AppError::Invalid { field, message } => {
                ApiError::bad_request(format!("{field}: {message}")).field(field, message)
            }
            AppError::Conflict(why) => ApiError::new(ErrorCode::Conflict).detail(why),
            AppError::RateLimited(wait) => {
                let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
                ApiError::new(ErrorCode::RateLimited)
                    .detail("too many requests from this partner")
                    .header(
                        header::RETRY_AFTER,
                        HeaderValue::from_str(&secs.to_string())
                            .unwrap_or(HeaderValue::from_static("1")),
                    )
            }
            AppError::Store(StoreError::WrongExpectedVersion { .. }) => {
                ApiError::new(ErrorCode::ConcurrencyConflict)
                    .detail("changed by another request; retry")
            }
            AppError::AccessNotRecorded(_)
            | AppError::Store(StoreError::Unavailable(_) | StoreError::Closed)
            | AppError::Port(_) => ApiError::unavailable(e),
            AppError::Store(_) | AppError::Decode(_) => ApiError::internal(e),
        }
    }
}

/// Parses an optional RFC 3339 query parameter.
fn timestamp_param(
    name: &str,
    value: Option<&str>,
) -> Result<Option<ecohub_kernel::Timestamp>, ApiError> {
    value
        .map(|v| {
            ecohub_kernel::Timestamp::parse_rfc3339(v).map_err(|_| {
                ApiError::new(ErrorCode::InvalidQuery)
                    .detail(format!("{name} must be an RFC 3339 date-time"))
                    .field(name, "not an RFC 3339 date-time")
            })
        })
        .transpose()
}
