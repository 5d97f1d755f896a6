//! `GET /console/compliance/partner-approvals`: for the compliance officer (`audit`), who
//! recorded each partner's evidence and who approved, rejected, suspended, reinstated or
//! offboarded it, and when — read from the partners' events (each partner's stream, as its
//! page reads it), people named through the `StaffNames` port. By current status, a page of
//! partners at a time, the filter and the position in the URL
//! (`?status=approved&after=<partner id>`).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use ecohub_security::{ConsoleArea, SessionStaff, StaffSession, StaffSessionError};
use serde::Deserialize;

use super::html;
use super::partner::{Names, result_name, who};
use super::queue::PAGE_SIZE;
use super::views::{ApprovalRow, ApprovalsPage, Tab};
use crate::application::PartnersState;
use crate::domain::{Partner, PartnerId, PartnerStatus, StaffId};

/// The page's own address.
const PAGE: &str = "/console/compliance/partner-approvals";

/// The page is the compliance officer's: the scope, and where its pages in words lead back.
const APPROVALS: ConsoleArea = ConsoleArea {
    scope: "audit",
    not_for_you: "The partner approvals are for compliance officers. Ask an administrator to \
give you the compliance officer role if you need them.",
    home: (PAGE, "Back to the partner approvals"),
};

/// The filters, in the order the tabs show them.
const FILTERS: [(PartnerStatus, &str); 6] = [
    (PartnerStatus::Approved, "Approved"),
    (PartnerStatus::Rejected, "Rejected"),
    (PartnerStatus::Suspended, "Suspended"),
    (PartnerStatus::Offboarded, "Offboarded"),
    (PartnerStatus::UnderReview, "Under review"),
    (PartnerStatus::Applied, "New applications"),
];

/// The page's query.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ApprovalsQuery {
    #[serde(default)]
    status: String,
    #[serde(default)]
    after: String,
}

fn href(status: Option<PartnerStatus>, after: Option<PartnerId>) -> String {
    match (status, after) {
        (None, None) => PAGE.to_owned(),
        (Some(s), None) => format!("{PAGE}?status={}", s.as_str()),
        (None, Some(a)) => format!("{PAGE}?after={a}"),
        (Some(s), Some(a)) => format!("{PAGE}?status={}&after={a}", s.as_str()),
    }
}

/// Every staff actor a partner's record names.
fn actors(partner: &Partner) -> impl Iterator<Item = &str> {
    partner.verifications().iter().map(|v| v.by.as_str()).chain(
        partner
            .status_history()
            .iter()
            .filter_map(|c| c.by.as_ref().map(StaffId::as_str)),
    )
}

fn row(partner: &Partner, staff: &SessionStaff, names: &Names) -> Option<ApprovalRow> {
    let application = partner.application()?;
    let makers: Vec<&str> = partner
        .verifications()
        .iter()
        .map(|v| v.by.as_str())
        .collect();
    let evidence = partner
        .verifications()
        .iter()
        .map(|v| {
            format!(
                "{} {} — recorded by {}, {}",
                v.check,
                result_name(v.result),
                who(Some(&v.by), staff, names),
                v.at.utc_minute()
            )
        })
        .collect();
    let mut four_eyes = None;
    let decisions = partner
        .status_history()
        .iter()
        .filter(|c| c.by.is_some())
        .map(|c| {
            let by = who(c.by.as_ref(), staff, names);
            if c.status == PartnerStatus::Approved && four_eyes.is_none() {
                four_eyes = Some(c.by.as_ref().is_some_and(|b| !makers.contains(&b.as_str())));
            }
            let why = match (&c.reason, &c.note) {
                (Some(r), _) => format!(": {r}"),
                (None, Some(n)) => format!(" (note: {n})"),
                (None, None) => String::new(),
            };
            format!(
                "{} by {by}, {}{why}",
                capitalised(&c.status.to_string()),
                c.at.utc_minute()
            )
        })
        .collect();
    let status = partner.status().unwrap_or(PartnerStatus::Applied);
    Some(ApprovalRow {
        id: application.partner_id.to_string(),
        name: application.legal_name.to_string(),
        status: status.as_str(),
        status_words: status.to_string(),
        evidence,
        decisions,
        four_eyes,
    })
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| {
        format!("{}{}", first.to_uppercase(), chars.as_str())
    })
}

/// The approvals page; a bad filter is the page again (400) in words.
pub(crate) async fn page(
    state: web::Data<PartnersState>,
    session: Result<StaffSession, StaffSessionError>,
    req: HttpRequest,
) -> HttpResponse {
    let staff = match APPROVALS.person(session) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let query = web::Query::<ApprovalsQuery>::from_query(req.query_string()).ok();
    let status = query.as_ref().map(|q| q.status.as_str()).map(|s| {
        if s.is_empty() {
            Ok(None)
        } else {
            FILTERS
                .iter()
                .find(|(f, _)| f.as_str() == s)
                .map(|(f, _)| Some(*f))
                .ok_or("There is no such partner status. Choose one of the filters above.")
        }
    });
    let after = query.as_ref().map(|q| q.after.as_str()).map(|a| {
        if a.is_empty() {
            Ok(None)
        } else {
            PartnerId::parse(a).map(Some).map_err(
                |_| "This page of the list does not exist. Start again from the first page.",
            )
        }
    });
    let parsed = match (status, after) {
        (Some(Ok(s)), Some(Ok(a))) => Ok((s, a)),
        (Some(Err(e)), _) | (_, Some(Err(e))) => Err(e),
        _ => Err(
            "The filters could not be read (one given twice?). Choose one of the filters above.",
        ),
    };
    let (status, after, error) = match parsed {
        Ok((s, a)) => (s, a, None),
        Err(e) => (None, None, Some(e)),
    };
    let tabs = std::iter::once(Tab {
        label: "Every partner",
        href: href(None, None),
        count: state.directory.count(None),
        current: status.is_none() && error.is_none(),
    })
    .chain(FILTERS.iter().map(|(s, label)| Tab {
        label,
        href: href(Some(*s), None),
        count: state.directory.count(Some(*s)),
        current: status == Some(*s),
    }))
    .collect();
    let mut view = ApprovalsPage {
        title: "Partner approvals",
        display_name: &staff.display_name,
        csrf_token: &staff.csrf_token,
        tabs,
        error,
        rows: Vec::new(),
        names_missing: false,
        filtered: status.is_some(),
        first_href: after.map(|_| href(status, None)),
        next_href: None,
    };
    if view.error.is_some() {
        return html(StatusCode::BAD_REQUEST, view.render());
    }
    let mut entries = state.directory.list(status, after, PAGE_SIZE + 1);
    if entries.len() > PAGE_SIZE {
        entries.truncate(PAGE_SIZE);
        view.next_href = Some(href(status, entries.last().map(|e| e.partner_id)));
    }
    let mut partners = Vec::with_capacity(entries.len());
    for e in entries {
        match state.partner(e.partner_id).await {
            Ok(p) => partners.push(p),
            Err(err) => {
                tracing::warn!(error = %err, partner = %e.partner_id, "approvals page: partner unreadable");
            }
        }
    }
    let names = match state.staff_names(partners.iter().flat_map(actors)).await {
        Ok(names) => names,
        Err(e) => {
            tracing::warn!(error = %e, "staff names unavailable: the approvals page shows ids");
            view.names_missing = true;
            Names::new()
        }
    };
    view.rows = partners
        .iter()
        .filter_map(|p| row(p, &staff, &names))
        .collect();
    html(StatusCode::OK, view.render())
}
