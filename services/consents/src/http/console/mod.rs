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
use actix_web::{HttpResponse, ResponseError, web};
use askama::Template;
use ecohub_http::ApiError;
use ecohub_security::{SessionStaff, StaffSession, StaffSessionError};

use crate::domain::ConsentStatus;
use views::MessagePage;

/// Where a request without a session is sent.
const SIGN_IN: &str = "/console/login";

/// The scope a person's roles must grant to open these pages (the compliance officer's).
const SCOPE: &str = "audit";

/// The search page, where the pages lead back to.
const SEARCH: &str = "/console/compliance/consents";

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

/// A page's early answer (boxed: responses are large).
type Early<T> = Result<T, Box<HttpResponse>>;

/// The signed-in person allowed on these pages, or the answer instead: 303 to sign in, a 403
/// page for roles without the scope, 503 when sessions cannot be checked.
fn person(session: Result<StaffSession, StaffSessionError>) -> Early<SessionStaff> {
    match session {
        Ok(s) if s.staff.scopes.contains(SCOPE) => Ok(s.staff),
        Ok(s) => Err(Box::new(message(
            StatusCode::FORBIDDEN,
            Some(&s.staff),
            "Not for your roles",
            "The compliance pages are for compliance officers. Ask an administrator to give \
you the compliance officer role if you need them.",
        ))),
        Err(StaffSessionError::Unavailable) => Err(Box::new(message(
            StatusCode::SERVICE_UNAVAILABLE,
            None,
            "Temporarily unavailable",
            "The console cannot check your session right now. Please try again shortly.",
        ))),
        Err(_) => Err(Box::new(ecohub_http::see_other(SIGN_IN))),
    }
}

/// A rendered page with `status`, under the pages' headers (`ecohub_http::html_page`).
fn html(status: StatusCode, rendered: Result<String, askama::Error>) -> HttpResponse {
    match rendered {
        Ok(body) => {
            let mut response = ecohub_http::html_page(body);
            *response.status_mut() = status;
            response
        }
        Err(e) => ApiError::internal(format!("cannot render a console page: {e}")).error_response(),
    }
}

/// A page with a message in words and a way on.
fn message(
    status: StatusCode,
    staff: Option<&SessionStaff>,
    title: &str,
    text: &str,
) -> HttpResponse {
    let (next_href, next_label) = match (status, staff) {
        (StatusCode::FORBIDDEN, Some(_)) | (StatusCode::SERVICE_UNAVAILABLE, _) => {
            ("/console", "Back to the console")
        }
        (_, Some(_)) => (SEARCH, "Back to the consent search"),
        (_, None) => ("/console", "Open the console again"),
    };
    let page = MessagePage {
        title,
        display_name: staff.map_or("", |s| s.display_name.as_str()),
        csrf_token: staff.map_or("", |s| s.csrf_token.as_str()),
        message: text,
        next_href,
        next_label,
    };
    html(status, page.render())
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
