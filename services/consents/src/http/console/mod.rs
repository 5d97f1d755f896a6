//! The compliance officer's consent pages (docs/adr/0024): the consent search
//! (`/console/compliance/consents`), a consent's history as a timeline with its chain checked
//! (`/console/compliance/consents/{id}`), the export downloads
//! (`/console/compliance/consents/export.csv|.jsonl`) and the "Verify integrity" action
//! (`POST /console/compliance/consents/verify`, the check `ecohub audit verify` runs).
//!
//! Server-rendered HTML without JavaScript (askama, extending the shared console layout),
//! read through the same use cases as the audit API (`http::audit`, the consent index,
//! `verify_all`). The person is the staff session's (none: 303 to the console's sign-in
//! page); the pages need the `audit` scope of their roles (else a 403 page in words). The
//! verify form posts the session's CSRF token (missing or wrong: 403, nothing read).

mod consent;
mod integrity;
mod search;
mod views;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use ecohub_http::console::html;
use ecohub_security::console::Early;
use ecohub_security::{ConsoleArea, SessionStaff, StaffSession, StaffSessionError};

use crate::domain::ConsentStatus;

/// The search page, where the pages lead back to.
const SEARCH: &str = "/console/compliance/consents";

/// The compliance officer's consent pages: the scope their roles must grant, and where they
/// lead back.
const AREA: ConsoleArea = ConsoleArea {
    scope: "audit",
    not_for_you: "The compliance pages are for compliance officers. Ask an administrator to \
give you the compliance officer role if you need them.",
    home: (SEARCH, "Back to the consent search"),
};

/// Mounts the compliance officer's consent pages.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource(SEARCH).route(web::get().to(search::page)))
        .service(
            web::resource("/console/compliance/consents/verify")
                .route(web::post().to(integrity::verify)),
        )
        .service(
            web::resource("/console/compliance/consents/export.{format}")
                .route(web::get().to(integrity::export)),
        )
        .service(
            web::resource("/console/compliance/consents/{consent_id}")
                .route(web::get().to(consent::page)),
        );
}

/// The signed-in person allowed on these pages, or the answer instead (`ConsoleArea::person`).
fn person(session: Result<StaffSession, StaffSessionError>) -> Early<SessionStaff> {
    AREA.person(session)
}

/// A page with a message in words and a way on (`ConsoleArea::message`).
fn message(
    status: StatusCode,
    staff: Option<&SessionStaff>,
    title: &str,
    text: &str,
) -> HttpResponse {
    AREA.message(status, staff, title, text)
}

/// A status in words, and the badge class that colours it.
fn status_words(s: ConsentStatus) -> (&'static str, &'static str) {
    match s {
        ConsentStatus::AwaitingAuthorisation => ("awaiting authorisation", "pending"),
        ConsentStatus::Authorised => ("authorised", "approved"),
        ConsentStatus::Rejected => ("rejected", "rejected"),
        ConsentStatus::Revoked => ("revoked", "rejected"),
        ConsentStatus::Expired => ("expired", "suspended"),
    }
}

/// Who acted, in words, from an event's `actor` (`customer:<id>`, `client:<id>`,
/// `staff:<id>`, `system:<job>`).
fn actor_words(actor: Option<&str>) -> String {
    match actor.and_then(|a| a.split_once(':')) {
        Some(("customer", id)) => format!("the customer {id}"),
        Some(("client", id)) => format!("the OAuth client {id}"),
        Some(("staff", id)) => format!("staff member {id}"),
        Some(("system", job)) => format!("the hub ({job} job)"),
        Some(_) | None => actor.map_or_else(|| "not recorded".to_owned(), str::to_owned),
    }
}
