//! `GET /console/partners`: the application queue, by lifecycle state, a page at a time, the
//! filter and the position kept in the URL (`?status=under_review&after=<partner id>`).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use ecohub_security::{StaffSession, StaffSessionError};
use serde::Deserialize;

use super::views::{QueuePage, Row, Tab};
use super::{date, html, message, person};
use crate::application::PartnersState;
use crate::directory::DirectoryEntry;
use crate::domain::{PartnerId, PartnerStatus};

/// Partners on one page.
pub(super) const PAGE_SIZE: usize = 20;

/// The filters, in the order the tabs show them.
const FILTERS: [(PartnerStatus, &str); 6] = [
    (PartnerStatus::Applied, "New applications"),
    (PartnerStatus::UnderReview, "Under review"),
    (PartnerStatus::Approved, "Approved"),
    (PartnerStatus::Suspended, "Suspended"),
    (PartnerStatus::Rejected, "Rejected"),
    (PartnerStatus::Offboarded, "Offboarded"),
];

/// The queue's query.
#[derive(Debug, Deserialize)]
pub(crate) struct QueueQuery {
    /// Only partners in this status (`under_review`…); empty or absent: every partner.
    status: Option<String>,
    /// Partners that applied after this one (the last of the previous page).
    after: Option<String>,
}

fn href(status: Option<PartnerStatus>, after: Option<PartnerId>) -> String {
    match (status, after) {
        (None, None) => "/console/partners".to_owned(),
        (Some(s), None) => format!("/console/partners?status={}", s.as_str()),
        (None, Some(a)) => format!("/console/partners?after={a}"),
        (Some(s), Some(a)) => format!("/console/partners?status={}&after={a}", s.as_str()),
    }
}

pub(super) fn roles_in_words<'a>(
    roles: impl IntoIterator<Item = &'a crate::domain::Role>,
) -> String {
    let words: Vec<&str> = roles.into_iter().map(|r| role_label(*r)).collect();
    words.join(", ")
}

pub(super) fn role_label(role: crate::domain::Role) -> &'static str {
    match role {
        crate::domain::Role::DataRecipient => "data recipient",
        crate::domain::Role::DataProvider => "data provider",
        crate::domain::Role::OfferPartner => "offer partner",
    }
}

fn row(e: DirectoryEntry) -> Row {
    Row {
        id: e.partner_id.to_string(),
        name: e.legal_name,
        country: e.country,
        status: e.status.as_str(),
        status_words: e.status.to_string(),
        roles: roles_in_words(&e.requested_roles),
        applied: date(e.applied_at),
        changed: date(e.status_changed_at),
    }
}

/// The application queue. Bad filters are a 400 page in words.
pub(crate) async fn page(
    state: web::Data<PartnersState>,
    session: Result<StaffSession, StaffSessionError>,
    query: web::Query<QueueQuery>,
) -> HttpResponse {
    let staff = match person(session) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let query = query.into_inner();
    let status = match query.status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(name) => match FILTERS.iter().find(|(s, _)| s.as_str() == name) {
            Some((s, _)) => Some(*s),
            None => {
                return message(
                    StatusCode::BAD_REQUEST,
                    Some(&staff),
                    "Unknown filter",
                    "There is no such partner status. Choose one of the filters on the partners page.",
                );
            }
        },
    };
    let after = match query.after.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(id) => match PartnerId::parse(id) {
            Ok(id) => Some(id),
            Err(_) => {
                return message(
                    StatusCode::BAD_REQUEST,
                    Some(&staff),
                    "Unknown page",
                    "This page of the list does not exist. Start again from the first page.",
                );
            }
        },
    };
    let mut entries = state.directory.list(status, after, PAGE_SIZE + 1);
    let next_href = (entries.len() > PAGE_SIZE).then(|| {
        entries.truncate(PAGE_SIZE);
        href(status, entries.last().map(|e| e.partner_id))
    });
    let mut tabs = vec![Tab {
        label: "Every partner",
        href: href(None, None),
        count: state.directory.count(None),
        current: status.is_none(),
    }];
    tabs.extend(FILTERS.iter().map(|(s, label)| Tab {
        label,
        href: href(Some(*s), None),
        count: state.directory.count(Some(*s)),
        current: status == Some(*s),
    }));
    let label = FILTERS
        .iter()
        .find(|(s, _)| Some(*s) == status)
        .map_or("Every partner", |(_, l)| *l);
    let (empty_heading, empty_text) = match status {
        None => (
            "No partner has applied yet".to_owned(),
            "Companies apply through the API (POST /partners/applications, see the partners \
guide); each application appears here as a new application, ready for its checks."
                .to_owned(),
        ),
        Some(PartnerStatus::Applied) => (
            "No new application".to_owned(),
            "Every application has evidence recorded. Look at the applications under review for \
those waiting for a checker."
                .to_owned(),
        ),
        Some(PartnerStatus::UnderReview) => (
            "Nothing waits for a decision".to_owned(),
            "No application is under review. New applications become under review once you \
record their first check."
                .to_owned(),
        ),
        Some(s) => (
            format!("No partner is {s}"),
            "Nothing to do here now. Choose another filter above.".to_owned(),
        ),
    };
    let view = QueuePage {
        title: "Partners",
        display_name: &staff.display_name,
        csrf_token: &staff.csrf_token,
        tabs,
        caption: format!("{label}, in the order they applied"),
        rows: entries.into_iter().map(row).collect(),
        filtered: status.is_some(),
        empty_heading,
        empty_text,
        first_href: after.map(|_| href(status, None)),
        next_href,
    };
    html(StatusCode::OK, view.render())
}
