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
use actix_web::{HttpResponse, ResponseError, web};
use askama::Template;
use ecohub_http::ApiError;
use ecohub_kernel::Timestamp;
use ecohub_security::{SessionStaff, StaffSession, StaffSessionError};

use views::MessagePage;

/// Where a request without a session is sent.
pub(crate) const SIGN_IN: &str = "/console/login";

/// The scope a person's roles must grant to open these pages (the partnership manager's and
/// the administrator's).
const SCOPE: &str = "admin";

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

/// A page's early answer (boxed: responses are large).
type Early<T> = Result<T, Box<HttpResponse>>;

/// The signed-in person allowed on these pages, or the answer instead: 303 to sign in, a 403
/// page for roles without the scope, 503 when sessions cannot be checked.
fn person(session: Result<StaffSession, StaffSessionError>) -> Early<SessionStaff> {
    person_with(
        session,
        SCOPE,
        "The partner pages are for partnership managers and administrators. Ask an \
administrator to give you the partnership manager role if you need them.",
    )
}

/// [`person`] for pages that need `scope`, refusing others with `refusal`.
fn person_with(
    session: Result<StaffSession, StaffSessionError>,
    scope: &str,
    refusal: &str,
) -> Early<SessionStaff> {
    match session {
        Ok(s) if s.staff.scopes.contains(scope) => Ok(s.staff),
        Ok(s) => Err(Box::new(message(
            StatusCode::FORBIDDEN,
            Some(&s.staff),
            "Not for your roles",
            refusal,
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
    let (next_href, next_label) = match status {
        StatusCode::NOT_FOUND | StatusCode::BAD_REQUEST => {
            ("/console/partners", "Back to the partners")
        }
        StatusCode::FORBIDDEN if staff.is_some() => ("/console", "Back to the console"),
        _ => ("/console", "Open the console again"),
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

/// The calendar date of `t` (`2026-12-03`).
fn date(t: Timestamp) -> String {
    let s = t.to_rfc3339();
    s.get(..10).map_or_else(|| s.clone(), str::to_owned)
}
