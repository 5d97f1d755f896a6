//! The HTTP API of the offers service: product managers (`offers:manage`) define attributes,
//! personas and propositions and take versions through approval to publication; co-brand
//! partners (`offers:read`, `offers:write`) see the propositions they co-brand and accept or
//! withdraw their co-branding.
//!
//! Handlers are thin: extract → authorise (`Authenticated<S>`, plus the co-brand check) →
//! call an [`OffersState`](crate::OffersState) use case → map the result.

mod console;
mod console_trail;
pub(crate) mod customer;
pub(crate) mod decisions;
pub(crate) mod dto;
mod moments;
mod openapi;
mod partner;
// Partners by name on the console's pages (the `PartnerNames` port).
mod partner_names;
mod reports;
mod schema;
mod staff;
// Financial moments: the staff routes of the moment catalogue and trigger rules.
mod staff_moments;

use actix_web::web;
use ecohub_eventstore::StoreError;
use ecohub_http::{ApiError, ErrorCode};

pub use customer::{OfferPreferencesRequest, OfferPreferencesView};
pub use dto::*;
pub use openapi::OffersApi;

use crate::application::AppError;
use crate::domain::OffersError;

/// Mounts every offers route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    console::configure(cfg);
    console_trail::configure(cfg);
    staff_moments::configure(cfg);
    cfg.service(web::resource("/offers/attributes").route(web::get().to(staff::list_attributes)))
        .service(
            web::resource("/offers/attributes/{name}")
                .route(web::put().to(staff::define_attribute)),
        )
        .service(web::resource("/offers/personas").route(web::get().to(staff::list_personas)))
        .service(
            web::resource("/offers/personas/{name}")
                .route(web::get().to(staff::show_persona))
                .route(web::put().to(staff::define_persona)),
        )
        .service(
            web::resource("/offers/personas/{name}/dry-run")
                .route(web::post().to(staff::dry_run_persona)),
        )
        .service(
            web::resource("/offers/propositions")
                .route(web::get().to(staff::list_propositions))
                .route(web::post().to(staff::create_proposition)),
        )
        .service(
            web::resource("/offers/propositions/{id}")
                .route(web::get().to(staff::show_proposition)),
        )
        .service(
            web::resource("/offers/propositions/{id}/history").route(web::get().to(staff::history)),
        )
        .service(
            web::resource("/offers/propositions/{id}/dry-run")
                .route(web::post().to(staff::dry_run)),
        )
        .service(
            web::resource("/offers/propositions/{id}/versions")
                .route(web::post().to(staff::draft_version)),
        )
        .service(
            web::resource("/offers/propositions/{id}/versions/{version}")
                .route(web::put().to(staff::revise_draft)),
        )
        .service(
            web::resource("/offers/propositions/{id}/versions/{version}/{action}")
                .route(web::post().to(staff::transition)),
        )
        .service(
            web::resource("/customer/offer-preferences")
                .route(web::get().to(customer::show))
                .route(web::put().to(customer::set)),
        )
        .service(web::resource("/dashboard/offers").route(web::get().to(customer::page)))
        .service(
            web::resource("/dashboard/offers/preferences").route(web::post().to(customer::submit)),
        )
        .service(web::resource("/dashboard/offers/decide").route(web::post().to(customer::decide)))
        .service(
            web::resource("/dashboard/offers/{offer_id}/respond")
                .route(web::post().to(customer::respond)),
        )
        .service(web::resource("/moments").route(web::post().to(moments::publish)))
        .service(web::resource("/moments/{id}").route(web::get().to(moments::show)))
        .service(web::resource("/offers/triggered").route(web::get().to(moments::triggered)))
        .service(web::resource("/offers/decisions").route(web::post().to(decisions::decide)))
        .service(web::resource("/offers/reports/funnel").route(web::get().to(reports::funnel)))
        .service(web::resource("/offers/responses").route(web::post().to(decisions::report)))
        .service(web::resource("/customer/offers").route(web::get().to(decisions::mine)))
        .service(
            web::resource("/customer/offers/{offer_id}/response")
                .route(web::post().to(decisions::respond_mine)),
        )
        .service(web::resource("/partner/propositions").route(web::get().to(partner::list)))
        .service(web::resource("/partner/decisions").route(web::post().to(partner::decide)))
        .service(
            web::resource("/partner/offers/{offer_id}/response")
                .route(web::post().to(partner::respond)),
        )
        .service(web::resource("/partner/propositions/{id}").route(web::get().to(partner::show)))
        .service(
            web::resource("/partner/propositions/{id}/versions/{version}/acceptance")
                .route(web::put().to(partner::accept))
                .route(web::delete().to(partner::withdraw)),
        );
}

/// The one 404 of this API: the same whether the thing does not exist or is not the
/// caller's to see.
pub(crate) fn not_found() -> ApiError {
    ApiError::not_found().detail("not found")
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        match e {
            AppError::Refused(OffersError::NotFound) => not_found(),
            AppError::Refused(OffersError::Invalid(v)) => {
                ApiError::bad_request(format!("{}: {}", v.field, v.message))
                    .field(v.field, v.message)
            }
            AppError::Refused(OffersError::Forbidden(why)) => {
                ApiError::new(ErrorCode::Forbidden).detail(why)
            }
            AppError::Refused(refusal) => {
                ApiError::new(ErrorCode::Conflict).detail(refusal.to_string())
            }
            AppError::Store(StoreError::WrongExpectedVersion { .. }) => {
                ApiError::new(ErrorCode::ConcurrencyConflict)
                    .detail("changed by another request; re-read and retry")
            }
            AppError::Store(StoreError::Unavailable(_) | StoreError::Closed)
            | AppError::Port(_) => ApiError::unavailable(e),
            AppError::Store(_) | AppError::Decode(_) => ApiError::internal(e),
        }
    }
}
