//! The partnership manager's console pages (docs/adr/0024): the application queue
//! (`/console/partners`), a partner's page with its evidence, checks, history and webhooks
//! (`/console/partners/{id}`), and the forms that record a check, approve or reject as the
//! checker, suspend and reinstate.
//!
//! Server-rendered HTML without JavaScript (askama, extending the shared console layout).
//! The person is the staff session's (`ecohub_security::StaffSession`; none: 303 to the
//! console's sign-in page); the pages need the `admin` scope of their roles (else a 403 page
//! in words). Every form posts the session's CSRF token (`csrf_token`; missing or wrong: 403,
//! nothing changed) and, once done, redirects (303) to the partner's page saying what
//! happened; a refusal shows the page again with the refusal in words and what was typed.
//! Every change goes through the same use cases as the staff API (`PartnersState`), acting as
//! the person (`staff:<id>`): maker-checker compares people.

mod approvals;
mod partner;
mod queue;
mod views;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use ecohub_http::console::html;
use ecohub_kernel::Timestamp;
use ecohub_security::console::Early;
use ecohub_security::{ConsoleArea, SessionStaff, StaffSession, StaffSessionError};

/// The partnership manager's pages (and the administrator's): the scope, and where they
/// lead back.
const AREA: ConsoleArea = ConsoleArea {
    scope: "admin",
    not_for_you: "The partner pages are for partnership managers and administrators. Ask an \
administrator to give you the partnership manager role if you need them.",
    home: ("/console/partners", "Back to the partners"),
};

/// Mounts the console's partner pages, and the compliance officer's page of approvals.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/console/partners").route(web::get().to(queue::page)))
        .service(
            web::resource("/console/compliance/partner-approvals")
                .route(web::get().to(approvals::page)),
        )
        .service(
            web::resource("/console/partners/{partner_id}").route(web::get().to(partner::page)),
        )
        .service(
            web::resource("/console/partners/{partner_id}/verifications")
                .route(web::post().to(partner::record_check)),
        )
        .service(
            web::resource("/console/partners/{partner_id}/approve")
                .route(web::post().to(partner::approve)),
        )
        .service(
            web::resource("/console/partners/{partner_id}/reject")
                .route(web::post().to(partner::reject)),
        )
        .service(
            web::resource("/console/partners/{partner_id}/suspend")
                .route(web::post().to(partner::suspend)),
        )
        .service(
            web::resource("/console/partners/{partner_id}/reinstate")
                .route(web::post().to(partner::reinstate)),
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

/// The calendar date of `t` (`2026-12-03`).
fn date(t: Timestamp) -> String {
    let s = t.to_rfc3339();
    s.get(..10).map_or_else(|| s.clone(), str::to_owned)
}
