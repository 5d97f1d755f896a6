//! `GET /console/compliance/consents`: consents by customer, partner, status and creation
//! window, in creation order, a page at a time; the filters and the position are kept in the
//! URL (`?customer=…&partner=…&status=Authorised&from=2026-12-01&to=2026-12-31&after=<id>`).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use ecohub_kernel::Timestamp;
use ecohub_security::{StaffSession, StaffSessionError};
use serde::Deserialize;

use super::views::{ConsentRow, SearchPage, StatusChoice};
use super::{SEARCH, html, person, status_words};
use crate::application::ConsentsState;
use crate::domain::{ConsentId, ConsentStatus, CustomerId, PartnerId};
use crate::index::{ConsentFilter, ConsentSummary};

/// Consents on one page.
pub(super) const PAGE_SIZE: usize = 20;

/// The search's query, as typed.
#[derive(Debug, Default, Clone, Deserialize)]
pub(crate) struct SearchQuery {
    /// The customer's id.
    #[serde(default)]
    pub(super) customer: String,
    /// The recipient partner's id.
    #[serde(default)]
    pub(super) partner: String,
    /// A status's stable name (`Authorised`…).
    #[serde(default)]
    pub(super) status: String,
    /// Created on or after this day (`YYYY-MM-DD`, UTC).
    #[serde(default)]
    pub(super) from: String,
    /// Created on or before this day.
    #[serde(default)]
    pub(super) to: String,
    /// Consents after this one (the last of the previous page).
    #[serde(default)]
    after: String,
}

impl SearchQuery {
    /// The URL of these filters (without the position), then `after` if any.
    fn href(&self, after: Option<ConsentId>) -> String {
        let mut params: Vec<String> = [
            ("customer", &self.customer),
            ("partner", &self.partner),
            ("status", &self.status),
            ("from", &self.from),
            ("to", &self.to),
        ]
        .into_iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| format!("{k}={}", ecohub_http::percent_encode(v.trim())))
        .collect();
        if let Some(a) = after {
            params.push(format!("after={a}"));
        }
        if params.is_empty() {
            SEARCH.to_owned()
        } else {
            format!("{SEARCH}?{}", params.join("&"))
        }
    }

    fn filtered(&self) -> bool {
        [
            &self.customer,
            &self.partner,
            &self.status,
            &self.from,
            &self.to,
        ]
        .iter()
        .any(|v| !v.trim().is_empty())
    }
}

/// A day typed as `YYYY-MM-DD`, at its first (`end` false) or last instant, in UTC.
fn day(typed: &str, end: bool) -> Option<Timestamp> {
    let time = if end {
        "23:59:59.999999999"
    } else {
        "00:00:00"
    };
    let t = typed.trim();
    (t.len() == 10)
        .then(|| Timestamp::parse_rfc3339(&format!("{t}T{time}Z")).ok())
        .flatten()
}

fn optional<T>(typed: &str, parse: impl FnOnce(&str) -> Option<T>) -> Result<Option<T>, ()> {
    let t = typed.trim();
    if t.is_empty() {
        Ok(None)
    } else {
        parse(t).map(Some).ok_or(())
    }
}

/// The filter the query asks for, or what is wrong with it, in words.
fn filter_of(q: &SearchQuery) -> Result<(ConsentFilter, Option<ConsentId>), &'static str> {
    let customer_id = optional(&q.customer, |c| CustomerId::parse(c).ok()).map_err(
        |()| "The customer id is not one the hub issues: copy it from the customer's record.",
    )?;
    let partner_id = optional(&q.partner, |p| PartnerId::parse(p).ok()).map_err(
        |()| "The partner id is not a partner id: copy it from the partner's page (a UUID).",
    )?;
    let status = optional(&q.status, ConsentStatus::parse)
        .map_err(|()| "There is no such consent status. Choose one from the list.")?;
    let created_from = optional(&q.from, |d| day(d, false))
        .map_err(|()| "The first day is not a date. Write it as YYYY-MM-DD, e.g. 2026-12-01.")?;
    let created_to = optional(&q.to, |d| day(d, true))
        .map_err(|()| "The last day is not a date. Write it as YYYY-MM-DD, e.g. 2026-12-31.")?;
    if let (Some(f), Some(t)) = (created_from, created_to)
        && t < f
    {
        return Err("The last day is before the first day. Swap them or widen the window.");
    }
    let after = optional(&q.after, |a| ConsentId::parse(a).ok())
        .map_err(|()| "This page of the list does not exist. Start again from the first page.")?;
    Ok((
        ConsentFilter {
            partner_id,
            customer_id,
            status,
            created_from,
            created_to,
            ..ConsentFilter::default()
        },
        after,
    ))
}

fn row(state: &ConsentsState, s: ConsentSummary) -> ConsentRow {
    let (status_words, status_class) = status_words(s.status);
    ConsentRow {
        id: s.consent_id.to_string(),
        customer: s.customer_id.map(|c| c.as_str().to_owned()),
        recipient: state.recipient_name(s.recipient),
        status_words,
        status_class,
        created: s.created_at.utc_second(),
        changed: s.status_changed_at.utc_second(),
    }
}

/// The consent search. A bad filter is the page again (400) with the problem in words and
/// what was typed, and no results.
pub(crate) async fn page(
    state: web::Data<ConsentsState>,
    session: Result<StaffSession, StaffSessionError>,
    req: HttpRequest,
) -> HttpResponse {
    let staff = match person(session) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let (query, parsed) = match web::Query::<SearchQuery>::from_query(req.query_string()) {
        Ok(q) => {
            let q = q.into_inner();
            let parsed = filter_of(&q);
            (q, parsed)
        }
        Err(_) => (
            SearchQuery::default(),
            Err("The search could not be read (a filter given twice?). Start a new search below."),
        ),
    };
    let mut view = SearchPage {
        title: "Consents",
        display_name: &staff.display_name,
        csrf_token: &staff.csrf_token,
        statuses: ConsentStatus::ALL
            .iter()
            .map(|s| StatusChoice {
                value: s.as_str(),
                label: status_words(*s).0,
                selected: query.status.trim() == s.as_str(),
            })
            .collect(),
        error: None,
        rows: Vec::new(),
        filtered: query.filtered(),
        first_href: None,
        next_href: None,
        query: query.clone(),
    };
    let (filter, after) = match parsed {
        Ok(p) => p,
        Err(words) => {
            view.error = Some(words);
            return html(StatusCode::BAD_REQUEST, view.render());
        }
    };
    let mut found = state.index.list(&filter, after, PAGE_SIZE + 1);
    if found.len() > PAGE_SIZE {
        found.truncate(PAGE_SIZE);
        view.next_href = Some(query.href(found.last().map(|s| s.consent_id)));
    }
    view.first_href = after.map(|_| query.href(None));
    view.rows = found.into_iter().map(|s| row(&state, s)).collect();
    html(StatusCode::OK, view.render())
}
