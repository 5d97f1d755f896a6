//! The compliance officer's page of data-access records (`/console/compliance/data-access`,
//! ADR 0024): who read which dataset under whose consent, when, and which fields, a page at
//! a time, with the filters and the position in the URL
//! (`?consent=…&partner=…&dataset=…&from=2026-12-01&to=2026-12-31&after=<position>`), and the
//! export downloads of the same records (`/console/compliance/data-access/export.csv|.jsonl`,
//! the audit API's export for a staff session). Server-rendered HTML extending the shared
//! console layout, for a staff session whose roles grant `audit` (none: 303 to the sign-in
//! page; other roles: 403 in words). Read only.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use ecohub_eventstore::Position;
use ecohub_kernel::Timestamp;
use ecohub_security::{ConsoleArea, SessionStaff, StaffSession, StaffSessionError};
use serde::Deserialize;

use super::audit::export_response;
use crate::application::{AccessFilter, SharingState};
use crate::domain::access::DataAccessed;

/// Records on one page.
const PAGE_SIZE: usize = 25;

/// The page's own address.
const PAGE: &str = "/console/compliance/data-access";

/// The filters, as typed.
#[derive(Debug, Default, Clone, Deserialize)]
pub(crate) struct AccessQuery {
    /// Only accesses under this consent.
    #[serde(default)]
    consent: String,
    /// Only accesses by this recipient partner.
    #[serde(default)]
    partner: String,
    /// Only accesses to this dataset.
    #[serde(default)]
    dataset: String,
    /// On or after this day (`YYYY-MM-DD`, UTC).
    #[serde(default)]
    from: String,
    /// On or before this day.
    #[serde(default)]
    to: String,
    /// Records after this position (`<commit>.<prepare>`, the last of the previous page).
    #[serde(default)]
    after: String,
}

impl AccessQuery {
    /// The filters as query parameters (without the position), each percent-encoded.
    fn params(&self) -> Vec<String> {
        [
            ("consent", &self.consent),
            ("partner", &self.partner),
            ("dataset", &self.dataset),
            ("from", &self.from),
            ("to", &self.to),
        ]
        .into_iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| format!("{k}={}", ecohub_http::percent_encode(v.trim())))
        .collect()
    }

    /// `base` with the filters, then `after` if any.
    fn href(&self, base: &str, after: Option<Position>) -> String {
        let mut params = self.params();
        if let Some(p) = after {
            params.push(format!("after={}.{}", p.commit, p.prepare));
        }
        if params.is_empty() {
            base.to_owned()
        } else {
            format!("{base}?{}", params.join("&"))
        }
    }
}

/// A day typed as `YYYY-MM-DD` at its first instant (UTC); `next` the day after's.
fn day(typed: &str, next: bool) -> Result<Option<Timestamp>, ()> {
    let t = typed.trim();
    if t.is_empty() {
        return Ok(None);
    }
    let start = (t.len() == 10)
        .then(|| Timestamp::parse_rfc3339(&format!("{t}T00:00:00Z")).ok())
        .flatten()
        .ok_or(())?;
    Ok(Some(if next {
        start.plus(std::time::Duration::from_secs(86_400))
    } else {
        start
    }))
}

fn position(typed: &str) -> Result<Option<Position>, ()> {
    let t = typed.trim();
    if t.is_empty() {
        return Ok(None);
    }
    let (commit, prepare) = t.split_once('.').ok_or(())?;
    Ok(Some(Position {
        commit: commit.parse().map_err(|_| ())?,
        prepare: prepare.parse().map_err(|_| ())?,
    }))
}

/// The filter and position the query asks for, or what is wrong, in words.
fn filter_of(q: &AccessQuery) -> Result<(AccessFilter, Option<Position>), &'static str> {
    let text = |v: &str| Some(v.trim().to_owned()).filter(|v| !v.is_empty());
    let from =
        day(&q.from, false).map_err(|()| "The first day is not a date. Write it as YYYY-MM-DD.")?;
    let to =
        day(&q.to, true).map_err(|()| "The last day is not a date. Write it as YYYY-MM-DD.")?;
    if let (Some(f), Some(t)) = (from, to)
        && t <= f
    {
        return Err("The last day is before the first day. Swap them or widen the window.");
    }
    let after = position(&q.after).map_err(
        |()| "This page of the records does not exist. Start again from the first page.",
    )?;
    Ok((
        AccessFilter {
            consent_id: text(&q.consent),
            partner_id: text(&q.partner),
            dataset: text(&q.dataset),
            from,
            to,
        },
        after,
    ))
}

struct AccessRow {
    at: String,
    partner: String,
    client: String,
    consent: String,
    customer: String,
    dataset: String,
    fields: String,
    records: String,
    interaction: String,
}

fn row(a: DataAccessed) -> AccessRow {
    AccessRow {
        at: a.at.utc_second(),
        records: match a.record_count {
            1 => "1 record".to_owned(),
            n => format!("{n} records"),
        },
        fields: if a.fields.is_empty() {
            "no field".to_owned()
        } else {
            a.fields.join(", ")
        },
        partner: a.partner_id,
        client: a.client_id,
        consent: a.consent_id,
        customer: a.customer,
        dataset: a.dataset,
        interaction: a.interaction_id,
    }
}

#[derive(Template)]
#[template(path = "console_data_access.html")]
struct AccessPage<'a> {
    title: &'a str,
    display_name: &'a str,
    csrf_token: &'a str,
    /// None on a refusal before anything was read (only the message is shown then).
    query: Option<AccessQuery>,
    error: Option<&'a str>,
    rows: Vec<AccessRow>,
    filtered: bool,
    csv_href: String,
    jsonl_href: String,
    first_href: Option<String>,
    next_href: Option<String>,
}

fn render(status: StatusCode, view: &AccessPage<'_>) -> HttpResponse {
    ecohub_http::console::html(status, view.render())
}

fn view<'a>(staff: Option<&'a SessionStaff>, query: Option<AccessQuery>) -> AccessPage<'a> {
    let q = query.clone().unwrap_or_default();
    AccessPage {
        title: "Data-access records",
        display_name: staff.map_or("", |s| s.display_name.as_str()),
        csrf_token: staff.map_or("", |s| s.csrf_token.as_str()),
        filtered: !q.params().is_empty(),
        csv_href: q.href(&format!("{PAGE}/export.csv"), None),
        jsonl_href: q.href(&format!("{PAGE}/export.jsonl"), None),
        query,
        error: None,
        rows: Vec::new(),
        first_href: None,
        next_href: None,
    }
}

/// The data-access pages are the compliance officer's: the scope, and where their pages in
/// words lead back.
const AREA: ConsoleArea = ConsoleArea {
    scope: "audit",
    not_for_you: "The compliance pages are for compliance officers. Ask an administrator to \
give you the compliance officer role if you need them.",
    home: (PAGE, "Back to the data-access records"),
};

/// The query as typed, or a 400 page in words.
fn read_query(
    staff: &SessionStaff,
    req: &HttpRequest,
) -> Result<(AccessQuery, AccessFilter, Option<Position>), Box<HttpResponse>> {
    let query = web::Query::<AccessQuery>::from_query(req.query_string())
        .map(web::Query::into_inner)
        .map_err(|_| "The filters could not be read (one given twice?). Start a new search.");
    let parsed = query.as_ref().map_err(|e| *e).and_then(filter_of);
    match (query, parsed) {
        (Ok(q), Ok((filter, after))) => Ok((q, filter, after)),
        (q, Err(words)) => {
            let mut v = view(Some(staff), Some(q.unwrap_or_default()));
            v.error = Some(words);
            Err(Box::new(render(StatusCode::BAD_REQUEST, &v)))
        }
        (Err(words), _) => {
            let mut v = view(Some(staff), Some(AccessQuery::default()));
            v.error = Some(words);
            Err(Box::new(render(StatusCode::BAD_REQUEST, &v)))
        }
    }
}

fn unavailable(staff: &SessionStaff, query: AccessQuery) -> HttpResponse {
    let mut v = view(Some(staff), Some(query));
    v.error = Some("The hub cannot read the access records now. Please try again shortly.");
    render(StatusCode::SERVICE_UNAVAILABLE, &v)
}

/// The data-access records.
pub(crate) async fn page(
    state: web::Data<SharingState>,
    session: Result<StaffSession, StaffSessionError>,
    req: HttpRequest,
) -> HttpResponse {
    let staff = match AREA.person(session) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let (query, filter, after) = match read_query(&staff, &req) {
        Ok(parsed) => parsed,
        Err(r) => return *r,
    };
    let (mut items, _) = match state.access_records(after, &filter, PAGE_SIZE + 1).await {
        Ok(found) => found,
        Err(e) => {
            tracing::warn!(error = %e, "console data-access records unavailable");
            return unavailable(&staff, query);
        }
    };
    let mut v = view(Some(&staff), Some(query.clone()));
    if items.len() > PAGE_SIZE {
        items.truncate(PAGE_SIZE);
        v.next_href = Some(query.href(PAGE, items.last().map(|(p, _)| *p)));
    }
    v.first_href = after.map(|_| query.href(PAGE, None));
    v.rows = items.into_iter().map(|(_, a)| row(a)).collect();
    render(StatusCode::OK, &v)
}

/// The records the filters select, as a download (CSV or JSON lines).
pub(crate) async fn export(
    state: web::Data<SharingState>,
    session: Result<StaffSession, StaffSessionError>,
    req: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    let staff = match AREA.person(session) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let (_, filter, _) = match read_query(&staff, &req) {
        Ok(parsed) => parsed,
        Err(r) => return *r,
    };
    let (csv, name) = match path.as_str() {
        "csv" => (true, "data-access.csv"),
        "jsonl" => (false, "data-access.jsonl"),
        _ => {
            let mut v = view(Some(&staff), None);
            v.error = Some("Records export as CSV or as JSON lines: use the links on the page.");
            return render(StatusCode::NOT_FOUND, &v);
        }
    };
    tracing::info!(staff = %staff.staff_id, format = %path, "data-access export downloaded");
    let mut response = export_response(state, filter, csv);
    for (name, value) in [
        (
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        ),
        (header::CACHE_CONTROL, "no-store".to_owned()),
    ] {
        if let Ok(value) = header::HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}
