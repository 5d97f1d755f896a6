//! `/console/partners/{id}`: a partner's page (application, evidence and checks, history, webhooks)
//! and its forms: record a check, approve or reject as the checker, suspend, reinstate.

use std::collections::{BTreeMap, BTreeSet};

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use ecohub_eventstore::StoreError;
use ecohub_http::InteractionId;
use ecohub_http::console::form_field as field;
use ecohub_security::{SessionStaff, StaffSession, StaffSessionError};
use serde::Deserialize;

use super::queue::{role_label, roles_in_words};
use super::views::{CheckView, ContactView, FormValues, HistoryView, PartnerPage, WebhookView};
use super::{Early, date, html, message, person};
use crate::application::{AppError, PartnersState, RequestContext};
use crate::domain::{
    ApprovePartner, CheckKind, CheckResult, ContactRole, EvidenceReference, Note, Partner,
    PartnerCommand, PartnerError, PartnerId, PartnerStatus, Reason, RecordVerification,
    RedirectUri, ReinstatePartner, RejectPartner, Role, Shortfall, StaffId, SuspendPartner,
    shortfall,
};

/// The checks the form offers (the domain takes any `lowercase_name`).
const CHECK_KINDS: [(&str, &str); 4] = [
    ("registry_check", "Registry check (required)"),
    ("sanctions_screening", "Sanctions screening (required)"),
    ("pep_screening", "Politically exposed persons screening"),
    ("financial_statements", "Financial statements"),
];

/// What happened, said on the page a form redirects to (`?done=`).
const DONE: [(&str, &str); 5] = [
    ("check", "The check is recorded."),
    (
        "approved",
        "The partner is approved. Its software statement is signed: it can register its OAuth clients now.",
    ),
    (
        "rejected",
        "The application is rejected. The applicant sees the reason.",
    ),
    (
        "suspended",
        "The partner is suspended. Its tokens and registrations stop working on its next request.",
    ),
    ("reinstated", "The partner is reinstated."),
];

/// The query of a partner's page.
#[derive(Debug, Deserialize)]
pub(crate) struct PageQuery {
    /// What the last form did (one of [`DONE`]'s keys; anything else is ignored).
    done: Option<String>,
}

/// The submitted fields of a form, as sent (`application/x-www-form-urlencoded`).
pub(crate) type FormFields = web::Form<Vec<(String, String)>>;

fn parse_id(staff: &SessionStaff, raw: &str) -> Early<PartnerId> {
    PartnerId::parse(raw).map_err(|_| {
        Box::new(message(
            StatusCode::BAD_REQUEST,
            Some(staff),
            "Not a partner id",
            "This address does not name a partner. Open the partner from the partners page.",
        ))
    })
}

/// Display names of staff people by actor (`staff:<id>`).
pub(super) type Names = BTreeMap<String, String>;

/// Who did something, in words: you, the person by name (or id, when the directory does not
/// know it), or the staff client the record names.
pub(super) fn who(by: Option<&StaffId>, staff: &SessionStaff, names: &Names) -> String {
    let Some(by) = by else {
        return "the applicant".to_owned();
    };
    let by = by.as_str();
    if by == staff.actor() {
        return format!("you ({})", staff.display_name);
    }
    if let Some(name) = names.get(by) {
        return name.clone();
    }
    match by.strip_prefix("staff:") {
        Some(id) => format!("staff member {id}"),
        None => format!("staff client {by}"),
    }
}

/// The names of the people who recorded evidence or changed the partner's status; none (the
/// page shows ids) when the staff directory cannot answer now.
async fn names(state: &PartnersState, partner: &Partner) -> Names {
    let actors = partner.verifications().iter().map(|v| v.by.as_str()).chain(
        partner
            .status_history()
            .iter()
            .filter_map(|c| c.by.as_ref().map(StaffId::as_str)),
    );
    match state.staff_names(actors).await {
        Ok(names) => names,
        Err(e) => {
            tracing::warn!(error = %e, "staff names unavailable: the console shows ids");
            Names::new()
        }
    }
}

pub(super) fn result_name(r: CheckResult) -> &'static str {
    match r {
        CheckResult::Passed => "passed",
        CheckResult::Failed => "failed",
        CheckResult::Inconclusive => "inconclusive",
    }
}

fn contact_role(r: ContactRole) -> &'static str {
    match r {
        ContactRole::Business => "business",
        ContactRole::Technical => "technical",
        ContactRole::Compliance => "compliance",
        ContactRole::Security => "security",
    }
}

fn readiness(partner: &Partner) -> String {
    match partner.status() {
        Some(PartnerStatus::Applied | PartnerStatus::UnderReview) => {
            match shortfall(partner.verifications()) {
                None => "Both required checks have passed: a checker who recorded no evidence may \
approve."
                    .to_owned(),
                Some(Shortfall::Missing(kind)) => {
                    format!("Not ready for approval: no passed {kind} is recorded yet.")
                }
                Some(Shortfall::Failed(kind)) => format!(
                    "Not ready for approval: the latest {kind} failed. Record a newer pass, or reject."
                ),
            }
        }
        Some(s) => format!(
            "The application is decided: the partner is {s}. Checks recorded now are ongoing due diligence."
        ),
        None => String::new(),
    }
}

/// The partner's page, with `error` (a refused form) and what was typed.
fn render(
    partner: &Partner,
    staff: &SessionStaff,
    names: &Names,
    done: Option<&'static str>,
    error: Option<String>,
    values: FormValues,
) -> Result<String, askama::Error> {
    let Some(application) = partner.application() else {
        return Err(askama::Error::Custom(
            "a partner without an application".into(),
        ));
    };
    let status = partner.status().unwrap_or(PartnerStatus::Applied);
    let me = staff.actor();
    let checks = partner
        .verifications()
        .iter()
        .map(|v| CheckView {
            check: v.check.to_string(),
            result: result_name(v.result),
            evidence: v.evidence.to_string(),
            by: who(Some(&v.by), staff, names),
            at: v.at.utc_minute(),
        })
        .collect();
    // Status changes and checks together, in the order they happened.
    let mut history: Vec<(ecohub_kernel::Timestamp, HistoryView)> = partner
        .status_history()
        .iter()
        .map(|c| {
            let what = match (c.status, c.by.is_none()) {
                (PartnerStatus::Applied, true) => "applied".to_owned(),
                (s, _) => format!("became {s}"),
            };
            let why = match (&c.reason, &c.note) {
                (Some(r), _) => r.to_string(),
                (None, Some(n)) => n.to_string(),
                (None, None) => String::new(),
            };
            (
                c.at,
                HistoryView {
                    at: c.at.utc_minute(),
                    what,
                    by: who(c.by.as_ref(), staff, names),
                    why,
                },
            )
        })
        .collect();
    history.extend(partner.verifications().iter().map(|v| {
        (
            v.at,
            HistoryView {
                at: v.at.utc_minute(),
                what: format!("recorded {}: {}", v.check, result_name(v.result)),
                by: who(Some(&v.by), staff, names),
                why: v.evidence.to_string(),
            },
        )
    }));
    history.sort_by_key(|(at, _)| *at);
    let undecided = matches!(status, PartnerStatus::Applied | PartnerStatus::UnderReview);
    PartnerPage {
        title: application.legal_name.to_string(),
        display_name: &staff.display_name,
        csrf_token: &staff.csrf_token,
        id: application.partner_id.to_string(),
        status: status.as_str(),
        status_words: status.to_string(),
        done,
        error,
        registration_number: application.registration_number.to_string(),
        country: application.country.to_string(),
        website: application.website.to_string(),
        applied_at: date(application.applied_at),
        requested_roles: roles_in_words(&application.requested_roles),
        granted_roles: roles_in_words(partner.granted_roles()),
        redirect_uris: partner
            .redirect_uris()
            .iter()
            .map(ToString::to_string)
            .collect(),
        contacts: application
            .contacts
            .iter()
            .map(|c| ContactView {
                name: c.name.to_string(),
                email: c.email.to_string(),
                role: contact_role(c.role),
            })
            .collect(),
        readiness: readiness(partner),
        checks,
        history: history.into_iter().map(|(_, h)| h).collect(),
        webhooks: partner
            .webhooks()
            .iter()
            .map(|w| WebhookView {
                url: w.url.to_string(),
                events: if w.event_types.is_empty() {
                    "every event".to_owned()
                } else {
                    w.event_types
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                },
                at: w.registered_at.utc_minute(),
            })
            .collect(),
        can_record: !matches!(status, PartnerStatus::Rejected | PartnerStatus::Offboarded),
        can_decide: undecided,
        can_suspend: status == PartnerStatus::Approved,
        can_reinstate: status == PartnerStatus::Suspended,
        is_maker: partner.verifications().iter().any(|v| v.by.as_str() == me),
        check_kinds: CHECK_KINDS,
        role_choices: application
            .requested_roles
            .iter()
            .map(|r| (r.as_str(), role_label(*r)))
            .collect(),
        values,
    }
    .render()
}

/// Reads the partner; a refusal or failure as a page in words.
async fn load(state: &PartnersState, staff: &SessionStaff, id: PartnerId) -> Early<Partner> {
    state
        .partner(id)
        .await
        .map_err(|e| Box::new(failure(staff, e)))
}

/// A failure that is not about the form: a page in words.
fn failure(staff: &SessionStaff, e: AppError) -> HttpResponse {
    match e {
        AppError::Refused(PartnerError::NotFound) => message(
            StatusCode::NOT_FOUND,
            Some(staff),
            "No such partner",
            "No partner has this id. Open the partner from the partners page.",
        ),
        AppError::Store(StoreError::Unavailable(_) | StoreError::Closed) | AppError::Port(_) => {
            tracing::warn!(error = %e, "console partner page unavailable");
            message(
                StatusCode::SERVICE_UNAVAILABLE,
                Some(staff),
                "Temporarily unavailable",
                "The hub cannot read or record this now; nothing was changed. Please try again shortly.",
            )
        }
        e => {
            tracing::error!(error = %e, "console partner page failed");
            message(
                StatusCode::INTERNAL_SERVER_ERROR,
                Some(staff),
                "Something went wrong",
                "internal error",
            )
        }
    }
}

/// A partner's page.
pub(crate) async fn page(
    state: web::Data<PartnersState>,
    session: Result<StaffSession, StaffSessionError>,
    path: web::Path<String>,
    query: web::Query<PageQuery>,
) -> HttpResponse {
    let staff = match person(session) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let id = match parse_id(&staff, &path) {
        Ok(id) => id,
        Err(r) => return *r,
    };
    let partner = match load(&state, &staff, id).await {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let done = query
        .done
        .as_deref()
        .and_then(|d| DONE.iter().find(|(k, _)| *k == d))
        .map(|(_, text)| *text);
    let names = names(&state, &partner).await;
    html(
        StatusCode::OK,
        render(&partner, &staff, &names, done, None, FormValues::default()),
    )
}

/// A form refused before or by the domain: why, in words, with its status.
struct Refusal {
    status: StatusCode,
    words: String,
}

impl Refusal {
    fn bad(words: impl Into<String>) -> Self {
        Refusal {
            status: StatusCode::BAD_REQUEST,
            words: words.into(),
        }
    }
}

/// A domain refusal in words, for a person (the maker-checker one says what to do).
fn in_words(e: &PartnerError) -> String {
    match e {
        PartnerError::MakerChecker(_) => "You cannot approve this partner: you recorded \
verification evidence for it, and the four-eyes rule needs the approver to be a different \
person. Ask a colleague who recorded no evidence to approve it."
            .to_owned(),
        PartnerError::VerificationIncomplete(kind) => format!(
            "The partner cannot be approved yet: no passed {kind} is recorded. Record it first."
        ),
        PartnerError::VerificationFailed(kind) => format!(
            "The partner cannot be approved: the latest {kind} failed. Record a newer pass, or reject the application."
        ),
        PartnerError::Invalid(v) => {
            format!("Please check the form: {} {}.", label(v.field), v.message)
        }
        other => {
            let text = other.to_string();
            let mut chars = text.chars();
            match chars.next() {
                Some(first) => format!("{}{}.", first.to_uppercase(), chars.as_str()),
                None => text,
            }
        }
    }
}

/// A form field's name in words.
fn label(field: &str) -> &str {
    match field {
        "check" => "the check",
        "evidence" => "the evidence reference",
        "reason" => "the reason",
        "note" => "the note",
        "redirect_uri" | "redirect_uris" => "a redirect URI",
        "roles" => "the roles",
        other => other,
    }
}

/// Runs a form: session, CSRF, then `act` (which parses the form and calls a use case); done:
/// 303 to the partner's page saying `done`; refused: the page again, the refusal in words.
async fn submit<F, Fut>(
    state: web::Data<PartnersState>,
    session: Result<StaffSession, StaffSessionError>,
    path: web::Path<String>,
    form: FormFields,
    done: &'static str,
    keep: fn(&[(String, String)]) -> FormValues,
    act: F,
) -> HttpResponse
where
    F: FnOnce(StaffId, Vec<(String, String)>) -> Result<Fut, Refusal>,
    Fut: std::future::Future<Output = Result<Partner, AppError>>,
{
    let fields = form.into_inner();
    let csrf = field(&fields, "csrf_token").unwrap_or_default();
    let staff = match super::AREA.form_person(session, Some(csrf)) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let id = match parse_id(&staff, &path) {
        Ok(id) => id,
        Err(r) => return *r,
    };
    let by = match StaffId::parse(&staff.actor()) {
        Ok(by) => by,
        Err(_) => {
            return message(
                StatusCode::FORBIDDEN,
                Some(&staff),
                "Not allowed",
                "Your account cannot act as bank staff here.",
            );
        }
    };
    let kept = keep(&fields);
    let refusal = match act(by, fields) {
        Ok(run) => match run.await {
            Ok(_) => {
                return ecohub_http::see_other(&format!("/console/partners/{id}?done={done}"));
            }
            Err(AppError::Refused(PartnerError::NotFound)) => {
                return failure(&staff, AppError::Refused(PartnerError::NotFound));
            }
            Err(AppError::Refused(e)) => Refusal {
                status: match e {
                    PartnerError::Invalid(_) => StatusCode::BAD_REQUEST,
                    _ => StatusCode::CONFLICT,
                },
                words: in_words(&e),
            },
            Err(AppError::Store(StoreError::WrongExpectedVersion { .. })) => Refusal {
                status: StatusCode::CONFLICT,
                words: "Someone changed this partner at the same moment, so nothing was changed. \
Look at the page as it is now and try again."
                    .to_owned(),
            },
            Err(e) => return failure(&staff, e),
        },
        Err(refusal) => refusal,
    };
    let partner = match load(&state, &staff, id).await {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let names = names(&state, &partner).await;
    html(
        refusal.status,
        render(&partner, &staff, &names, None, Some(refusal.words), kept),
    )
}

fn context(by: &StaffId, interaction: &InteractionId) -> RequestContext {
    RequestContext::acting_as(by.as_str(), interaction)
}

fn keep_check(f: &[(String, String)]) -> FormValues {
    FormValues {
        evidence: field(f, "evidence").unwrap_or_default().to_owned(),
        ..FormValues::default()
    }
}

fn keep_approval(f: &[(String, String)]) -> FormValues {
    FormValues {
        redirect_uris: field(f, "redirect_uris").unwrap_or_default().to_owned(),
        note: field(f, "note").unwrap_or_default().to_owned(),
        ..FormValues::default()
    }
}

fn keep_reject(f: &[(String, String)]) -> FormValues {
    FormValues {
        reject_reason: field(f, "reason").unwrap_or_default().to_owned(),
        ..FormValues::default()
    }
}

fn keep_standing(f: &[(String, String)]) -> FormValues {
    FormValues {
        standing_reason: field(f, "reason").unwrap_or_default().to_owned(),
        ..FormValues::default()
    }
}

/// Record a check (the person becomes a maker of this partner).
pub(crate) async fn record_check(
    state: web::Data<PartnersState>,
    session: Result<StaffSession, StaffSessionError>,
    interaction: InteractionId,
    path: web::Path<String>,
    form: FormFields,
) -> HttpResponse {
    let partners = state.clone();
    let id = PartnerId::parse(&path).ok();
    submit(state, session, path, form, "check", keep_check, |by, f| {
        let check = CheckKind::parse(field(&f, "check").map_err(Refusal::bad)?)
            .map_err(|_| Refusal::bad("Please choose which check you did."))?;
        let result = match field(&f, "result").map_err(Refusal::bad)? {
            "passed" => CheckResult::Passed,
            "failed" => CheckResult::Failed,
            "inconclusive" => CheckResult::Inconclusive,
            _ => return Err(Refusal::bad("Please choose the check's result.")),
        };
        let evidence = EvidenceReference::parse(field(&f, "evidence").map_err(Refusal::bad)?)
            .map_err(|v| {
                Refusal::bad(format!(
                    "Please check the evidence reference: it {}.",
                    v.message
                ))
            })?;
        let ctx = context(&by, &interaction);
        let command = PartnerCommand::from(RecordVerification {
            check,
            result,
            evidence,
            by,
        });
        Ok(async move {
            match id {
                Some(id) => partners.execute(id, command, &ctx).await,
                None => Err(PartnerError::NotFound.into()),
            }
        })
    })
    .await
}

/// Approve as the checker.
pub(crate) async fn approve(
    state: web::Data<PartnersState>,
    session: Result<StaffSession, StaffSessionError>,
    interaction: InteractionId,
    path: web::Path<String>,
    form: FormFields,
) -> HttpResponse {
    let partners = state.clone();
    let id = PartnerId::parse(&path).ok();
    submit(
        state,
        session,
        path,
        form,
        "approved",
        keep_approval,
        |by, f| {
            let mut roles = BTreeSet::new();
            for (_, name) in f.iter().filter(|(k, _)| k == "roles") {
                let role = Role::parse(name)
                    .ok_or_else(|| Refusal::bad("Please choose roles from the list."))?;
                roles.insert(role);
            }
            if roles.is_empty() {
                return Err(Refusal::bad("Please choose at least one role to grant."));
            }
            let mut redirect_uris = Vec::new();
            for line in field(&f, "redirect_uris")
                .map_err(Refusal::bad)?
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
            {
                let uri = RedirectUri::parse(line).map_err(|v| {
                    Refusal::bad(format!(
                        "Please check the redirect URI {line}: it {}.",
                        v.message
                    ))
                })?;
                redirect_uris.push(uri);
            }
            let note = match field(&f, "note").map_err(Refusal::bad)?.trim() {
                "" => None,
                text => Some(Note::parse(text).map_err(|v| {
                    Refusal::bad(format!("Please check the note: it {}.", v.message))
                })?),
            };
            let ctx = context(&by, &interaction);
            let command = ApprovePartner {
                by,
                roles: Some(roles),
                redirect_uris,
                note,
                production: false,
            };
            Ok(async move {
                match id {
                    Some(id) => partners.approve(id, command, &ctx).await.map(|(p, _)| p),
                    None => Err(PartnerError::NotFound.into()),
                }
            })
        },
    )
    .await
}

/// The reason field of a form.
fn reason(f: &[(String, String)]) -> Result<Reason, Refusal> {
    let text = field(f, "reason").map_err(Refusal::bad)?;
    if text.trim().is_empty() {
        return Err(Refusal::bad("Please give a reason."));
    }
    Reason::parse(text)
        .map_err(|v| Refusal::bad(format!("Please check the reason: it {}.", v.message)))
}

macro_rules! reason_form {
    ($name:ident, $done:literal, $keep:ident, $command:ident, $doc:literal) => {
        #[doc = $doc]
        pub(crate) async fn $name(
            state: web::Data<PartnersState>,
            session: Result<StaffSession, StaffSessionError>,
            interaction: InteractionId,
            path: web::Path<String>,
            form: FormFields,
        ) -> HttpResponse {
            let partners = state.clone();
            let id = PartnerId::parse(&path).ok();
            submit(state, session, path, form, $done, $keep, |by, f| {
                let reason = reason(&f)?;
                let ctx = context(&by, &interaction);
                let command = PartnerCommand::from($command { by, reason });
                Ok(async move {
                    match id {
                        Some(id) => partners.execute(id, command, &ctx).await,
                        None => Err(PartnerError::NotFound.into()),
                    }
                })
            })
            .await
        }
    };
}

reason_form!(
    reject,
    "rejected",
    keep_reject,
    RejectPartner,
    "Reject the application."
);
reason_form!(
    suspend,
    "suspended",
    keep_standing,
    SuspendPartner,
    "Suspend the partner."
);
reason_form!(
    reinstate,
    "reinstated",
    keep_standing,
    ReinstatePartner,
    "Reinstate the partner."
);
