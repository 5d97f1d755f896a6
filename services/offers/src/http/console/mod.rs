//! The product manager's console pages (docs/adr/0024): propositions (a list by status, a
//! proposition's page with its versions, co-brand acceptance and history, the forms that
//! create, draft, submit, approve, reject, publish and retire, a side-by-side diff of two
//! versions), the attribute catalogue, personas (an editor and a dry run against a customer),
//! the contact policies and the offer funnel with a chart; financial moments (the moment
//! types, the trigger rules with their editor, and a dry run of a moment).
//!
//! Server-rendered HTML without JavaScript (askama, extending the shared console layout).
//! The person is the staff session's (`ecohub_security::StaffSession`; none: 303 to the
//! console's sign-in page); the pages need the `offers:manage` scope of their roles (the
//! product manager's; else a 403 page in words). Every form posts the session's CSRF token
//! (`csrf_token`; missing or wrong: 403, nothing changed) and, once done, redirects (303) to
//! the page saying what happened (`?done=`); a refusal shows the page again with the refusal
//! in words and what was typed. Every change goes through the same use cases as the staff
//! API (`OffersState`), acting as the person (`staff:<id>`): maker-checker compares people.

mod catalogue;
mod funnel;
mod moments;
mod proposition;
mod propositions;
mod views;

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use ecohub_eventstore::StoreError;
use ecohub_http::console::{form_field as field, html};
use ecohub_security::console::Early;
use ecohub_security::{ConsoleArea, SessionStaff, StaffSession, StaffSessionError};

use crate::application::{AppError, OffersState};
use crate::domain::{Channel, OffersError};

/// The product manager's pages: the scope their roles must grant, and where they lead back.
const AREA: ConsoleArea = ConsoleArea {
    scope: "offers:manage",
    not_for_you: "The proposition pages are for product managers. Ask an administrator to give \
you the product manager role if you need them.",
    home: ("/console/propositions", "Back to the propositions"),
};

/// Mounts the product manager's console pages.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/console/propositions")
            .route(web::get().to(propositions::page))
            .route(web::post().to(propositions::create)),
    )
    .service(web::resource("/console/propositions/new").route(web::get().to(propositions::new)))
    .service(web::resource("/console/propositions/{id}").route(web::get().to(proposition::page)))
    .service(
        web::resource("/console/propositions/{id}/diff").route(web::get().to(proposition::diff)),
    )
    .service(
        web::resource("/console/propositions/{id}/versions")
            .route(web::post().to(proposition::draft)),
    )
    .service(
        web::resource("/console/propositions/{id}/versions/{version}/{action}")
            .route(web::post().to(proposition::transition)),
    )
    .service(web::resource("/console/attributes").route(web::get().to(catalogue::attributes)))
    .service(
        web::resource("/console/personas")
            .route(web::get().to(catalogue::personas))
            .route(web::post().to(catalogue::define)),
    )
    .service(web::resource("/console/personas/new").route(web::get().to(catalogue::new_persona)))
    .service(web::resource("/console/personas/{name}").route(web::get().to(catalogue::persona)))
    .service(
        web::resource("/console/personas/{name}/dry-run").route(web::post().to(catalogue::dry_run)),
    )
    .service(web::resource("/console/contact-policies").route(web::get().to(catalogue::policies)))
    .service(web::resource("/console/offer-funnel").route(web::get().to(funnel::page)))
    // Financial moments (`moments`): `new` and `dry-run` before `{name}` (no rule's name).
    .service(web::resource("/console/moments").route(web::get().to(moments::moments)))
    .service(
        web::resource("/console/trigger-rules")
            .route(web::get().to(moments::rules))
            .route(web::post().to(moments::define_rule)),
    )
    .service(web::resource("/console/trigger-rules/new").route(web::get().to(moments::new_rule)))
    .service(
        web::resource("/console/trigger-rules/dry-run")
            .route(web::get().to(moments::dry_run_form))
            .route(web::post().to(moments::dry_run)),
    )
    .service(web::resource("/console/trigger-rules/{name}").route(web::get().to(moments::rule)));
}

/// The signed-in person allowed on these pages, or the answer instead (`ConsoleArea::person`).
fn person(session: Result<StaffSession, StaffSessionError>) -> Early<SessionStaff> {
    AREA.person(session)
}

/// The submitted fields of a form, as sent (`application/x-www-form-urlencoded`).
type Fields = Vec<(String, String)>;

/// The person behind a form and its fields, once its CSRF token is the session's (else a 403
/// page: nothing is read or changed).
fn form_person(
    session: Result<StaffSession, StaffSessionError>,
    form: web::Form<Fields>,
) -> Early<(SessionStaff, Fields)> {
    let fields = form.into_inner();
    let csrf = field(&fields, "csrf_token").unwrap_or_default();
    let staff = AREA.form_person(session, Some(csrf))?;
    Ok((staff, fields))
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

/// A 400 page in words.
fn bad_request(staff: &SessionStaff, title: &str, text: &str) -> HttpResponse {
    message(StatusCode::BAD_REQUEST, Some(staff), title, text)
}

/// A failure that is not about a form: a page in words.
fn failure(staff: &SessionStaff, e: AppError) -> HttpResponse {
    match e {
        AppError::Refused(OffersError::NotFound) => message(
            StatusCode::NOT_FOUND,
            Some(staff),
            "Not found",
            "There is nothing at this address. Open it from the propositions or personas page.",
        ),
        AppError::Store(StoreError::Unavailable(_) | StoreError::Closed) | AppError::Port(_) => {
            tracing::warn!(error = %e, "console offers page unavailable");
            message(
                StatusCode::SERVICE_UNAVAILABLE,
                Some(staff),
                "Temporarily unavailable",
                "The hub cannot read or record this now; nothing was changed. Please try again shortly.",
            )
        }
        e => {
            tracing::error!(error = %e, "console offers page failed");
            message(
                StatusCode::INTERNAL_SERVER_ERROR,
                Some(staff),
                "Something went wrong",
                "internal error",
            )
        }
    }
}

/// A refused form: its status and why, in words; `field` names the form field it is about
/// (the error is shown next to it), if any.
struct Refusal {
    status: StatusCode,
    words: String,
    field: Option<String>,
}

impl Refusal {
    fn bad(words: impl Into<String>) -> Self {
        Refusal {
            status: StatusCode::BAD_REQUEST,
            words: words.into(),
            field: None,
        }
    }

    fn at(mut self, field: &str) -> Self {
        self.field = Some(field.to_owned());
        self
    }

    /// A use case's refusal, or `Err` with the page to answer instead (not found, store
    /// down: not about the form).
    fn of(e: AppError, staff: &SessionStaff) -> Early<Refusal> {
        match e {
            AppError::Refused(OffersError::NotFound) => Err(Box::new(failure(staff, e))),
            AppError::Refused(OffersError::Invalid(v)) => Ok(Refusal {
                status: StatusCode::BAD_REQUEST,
                words: check_words(&v.field, &v.message),
                field: Some(v.field),
            }),
            AppError::Refused(e) => Ok(Refusal {
                status: StatusCode::CONFLICT,
                words: in_words(&e),
                field: None,
            }),
            AppError::Store(StoreError::WrongExpectedVersion { .. }) => Ok(Refusal {
                status: StatusCode::CONFLICT,
                words: "Someone changed this at the same moment, so nothing was changed. Look at \
the page as it is now and try again."
                    .to_owned(),
                field: None,
            }),
            e => Err(Box::new(failure(staff, e))),
        }
    }
}

/// An invalid field in words: "Please check the name: it must be …" (a message that is not a
/// predicate, such as "unknown name x", follows the colon as it is).
fn check_words(field: &str, message: &str) -> String {
    let message = message.trim_end_matches('.');
    let predicate = ["must ", "is ", "are ", "has ", "was ", "would ", "names "]
        .iter()
        .any(|p| message.starts_with(p));
    if predicate {
        format!("Please check {}: it {message}.", label(field))
    } else {
        format!("Please check {}: {message}.", label(field))
    }
}

/// A domain refusal in words, for a person (the maker-checker one says what to do).
fn in_words(e: &OffersError) -> String {
    match e {
        OffersError::FourEyes(_) => "You cannot approve this version: you drafted, revised or \
submitted it, and the four-eyes rule needs the approver to be a different person. Ask another \
product manager who did not write or submit it to approve it."
            .to_owned(),
        other => sentence(&other.to_string()),
    }
}

/// `text` as a sentence: capitalised, ending with a full stop.
fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => {
            let s = format!("{}{}", first.to_uppercase(), chars.as_str());
            if s.ends_with('.') { s } else { format!("{s}.") }
        }
        None => String::new(),
    }
}

/// A field path of a document or form in words (`/pricing/rules/0/condition`).
fn label(path: &str) -> String {
    match path {
        "/name" => "the name".to_owned(),
        "/title" => "the title".to_owned(),
        "/description" => "the description".to_owned(),
        "/reason" => "the reason".to_owned(),
        "" => "the document".to_owned(),
        "/condition" => "the condition".to_owned(),
        "/moment_type" => "the moment type".to_owned(),
        "/propositions" => "the propositions".to_owned(),
        "/validity_days" => "the validity".to_owned(),
        "/priority" => "the priority".to_owned(),
        "/payload" => "the payload".to_owned(),
        "/customer_id" => "the customer id".to_owned(),
        p => match p
            .strip_prefix("/propositions/")
            .and_then(|i| i.parse::<usize>().ok())
        {
            Some(i) => format!("the proposition number {}", i + 1),
            None => format!("the field {p}"),
        },
    }
}

/// Display names of staff people by actor (`staff:<id>`).
type Names = BTreeMap<String, String>;

/// The names of the staff people among `actors`; none (the page shows ids) when the staff
/// directory cannot answer now.
async fn names<'a>(state: &OffersState, actors: impl IntoIterator<Item = &'a str>) -> Names {
    match state.staff_names(actors).await {
        Ok(names) => names,
        Err(e) => {
            tracing::warn!(error = %e, "staff names unavailable: the console shows ids");
            Names::new()
        }
    }
}

/// Who did something, in words: you, the person by name (or id, when the directory does not
/// know it), or the staff client the record names.
fn who(by: &str, staff: &SessionStaff, names: &Names) -> String {
    if by == staff.actor() {
        return format!("you ({})", staff.display_name);
    }
    if let Some(name) = names.get(by) {
        return name.clone();
    }
    match by.strip_prefix("staff:") {
        Some(id) => format!("staff member {id}"),
        None => format!("staff client {}", by.strip_prefix("client:").unwrap_or(by)),
    }
}

/// Every channel, with its name in URLs and in words.
const CHANNELS: [(Channel, &str, &str); 4] = [
    (Channel::BankApp, "bank_app", "bank app"),
    (Channel::Web, "web", "website"),
    (Channel::Branch, "branch", "branch"),
    (
        Channel::PartnerChannel,
        "partner_channel",
        "partner's channel",
    ),
];

/// A channel in words.
fn channel_words(c: Channel) -> &'static str {
    CHANNELS
        .iter()
        .find(|(x, _, _)| *x == c)
        .map_or("", |(_, _, words)| *words)
}
