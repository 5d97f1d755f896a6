//! `GET /console/propositions`: the propositions by status, a page at a time, the filter and
//! the position kept in the URL (`?status=submitted&after=<proposition id>`); the draft form
//! (`GET /console/propositions/new`, `POST /console/propositions`) shared with a
//! proposition's next version.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use ecohub_http::InteractionId;
use ecohub_kernel::RequestContext;
use ecohub_security::{SessionStaff, StaffSession, StaffSessionError};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::views::{
    DraftForm, DraftValues, NewPropositionPage, NumberField, PropositionRow, PropositionsPage, Tab,
};
use super::{Fields, Refusal, bad_request, field, form_person, html, person};
use crate::application::OffersState;
use crate::domain::{Proposition, PropositionDoc, PropositionId, VersionStatus};
use crate::http::partner_names::PartnerNames;

/// Propositions on one page.
const PAGE_SIZE: usize = 20;

/// The filters, in the order the tabs show them.
const FILTERS: [(VersionStatus, &str); 5] = [
    (VersionStatus::Draft, "Drafts"),
    (VersionStatus::Submitted, "Waiting for approval"),
    (VersionStatus::Approved, "Approved, not published"),
    (VersionStatus::Published, "Published"),
    (VersionStatus::Retired, "Retired"),
];

/// A version status as named in URLs and badges.
pub(super) fn status_name(s: VersionStatus) -> &'static str {
    match s {
        VersionStatus::Draft => "draft",
        VersionStatus::Submitted => "submitted",
        VersionStatus::Approved => "approved",
        VersionStatus::Published => "published",
        VersionStatus::Retired => "retired",
    }
}

/// Whether `p` is listed under `status`: it has a version in that status (retired: every
/// version is retired).
fn listed(p: &Proposition, status: Option<VersionStatus>) -> bool {
    match status {
        None => true,
        Some(VersionStatus::Retired) => p
            .versions
            .iter()
            .all(|v| v.status == VersionStatus::Retired),
        Some(s) => p.versions.iter().any(|v| v.status == s),
    }
}

/// The list's query.
#[derive(Debug, Deserialize)]
pub(crate) struct ListQuery {
    /// Only propositions with a version in this status (`submitted`…); absent: every one.
    status: Option<String>,
    /// Propositions created after this one (the last of the previous page).
    after: Option<String>,
}

fn href(status: Option<VersionStatus>, after: Option<PropositionId>) -> String {
    match (status, after) {
        (None, None) => "/console/propositions".to_owned(),
        (Some(s), None) => format!("/console/propositions?status={}", status_name(s)),
        (None, Some(a)) => format!("/console/propositions?after={a}"),
        (Some(s), Some(a)) => format!("/console/propositions?status={}&after={a}", status_name(s)),
    }
}

fn row(p: &Proposition, partners: &PartnerNames) -> Option<PropositionRow> {
    let latest = p.versions.last()?;
    let doc = &latest.content.doc;
    let open = p.open();
    Some(PropositionRow {
        id: p.id?.to_string(),
        name: doc.name.clone(),
        product: format!("{} ({})", doc.product.name, doc.product.code),
        live: p
            .published()
            .map_or_else(|| "none".to_owned(), |v| format!("version {}", v.number)),
        open: open.map_or_else(String::new, |v| format!("version {}", v.number)),
        open_status: open.map_or("", |v| status_name(v.status)),
        partners: latest
            .content
            .partner_set()
            .iter()
            .map(|x| partners.label(*x))
            .collect(),
    })
}

/// The list of propositions. Bad filters are a 400 page in words.
pub(crate) async fn page(
    state: web::Data<OffersState>,
    session: Result<StaffSession, StaffSessionError>,
    query: web::Query<ListQuery>,
) -> HttpResponse {
    let staff = match person(session) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let query = query.into_inner();
    let status = match query.status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(name) => match FILTERS.iter().find(|(s, _)| status_name(*s) == name) {
            Some((s, _)) => Some(*s),
            None => {
                return bad_request(
                    &staff,
                    "Unknown filter",
                    "There is no such status. Choose one of the filters on the propositions page.",
                );
            }
        },
    };
    let after = match query.after.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(id) => match PropositionId::parse(id) {
            Ok(id) => Some(id),
            Err(_) => {
                return bad_request(
                    &staff,
                    "Unknown page",
                    "This page of the list does not exist. Start again from the first page.",
                );
            }
        },
    };
    let every = state.index.list(None, None, usize::MAX);
    let mut tabs = vec![Tab {
        label: "Every proposition",
        href: href(None, None),
        count: every.len(),
        current: status.is_none(),
    }];
    tabs.extend(FILTERS.iter().map(|(s, label)| Tab {
        label,
        href: href(Some(*s), None),
        count: every.iter().filter(|p| listed(p, Some(*s))).count(),
        current: status == Some(*s),
    }));
    let mut page: Vec<&Proposition> = every
        .iter()
        .filter(|p| after.is_none_or(|a| p.id.is_some_and(|id| id > a)))
        .filter(|p| listed(p, status))
        .take(PAGE_SIZE + 1)
        .collect();
    let next_href = (page.len() > PAGE_SIZE).then(|| {
        page.truncate(PAGE_SIZE);
        href(status, page.last().and_then(|p| p.id))
    });
    let label = FILTERS
        .iter()
        .find(|(s, _)| Some(*s) == status)
        .map_or("Every proposition", |(_, l)| *l);
    let (empty_heading, empty_text) = match status {
        None => (
            "No proposition yet",
            "Create the first one with the button above: describe the bank product, the \
partners' benefits, who may be offered it and its pricing. A colleague approves it before you \
publish it.",
        ),
        Some(VersionStatus::Submitted) => (
            "Nothing waits for approval",
            "No version is submitted. A version appears here once its author submits it; \
approve it if you did not write it.",
        ),
        Some(VersionStatus::Approved) => (
            "Nothing waits to be published",
            "No approved version waits. Once its co-brand partners accept an approved version, \
publish it from its page.",
        ),
        Some(_) => (
            "No proposition here",
            "Nothing to do here now. Choose another filter above.",
        ),
    };
    // The page's co-brand partners by name: one call for the whole page.
    let partners = PartnerNames::of(
        &state,
        &staff,
        page.iter()
            .filter_map(|p| p.versions.last())
            .flat_map(|v| v.content.partner_set().iter().copied()),
    )
    .await;
    let view = PropositionsPage {
        title: "Propositions",
        display_name: &staff.display_name,
        csrf_token: &staff.csrf_token,
        tabs,
        caption: format!("{label}, in the order they were created"),
        rows: page.into_iter().filter_map(|p| row(p, &partners)).collect(),
        filtered: status.is_some(),
        empty_heading,
        empty_text,
        first_href: after.map(|_| href(status, None)),
        next_href,
    };
    html(StatusCode::OK, view.render())
}

/// The contact limits a proposition may set, with their names in words.
const LIMITS: [(&str, &str); 4] = [
    (
        "max_presentations",
        "At most this many presentations to one customer per period",
    ),
    ("period_days", "The period, in days"),
    (
        "decline_suppression_days",
        "Days without this proposition after a decline",
    ),
    (
        "offer_validity_days",
        "Days an offer may be answered before it expires",
    ),
];

/// The fields of the draft form holding `doc` (a new proposition: an example to edit).
pub(super) fn values_of(doc: &PropositionDoc) -> DraftValues {
    let mut rest = match serde_json::to_value(doc) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    };
    let policy = rest.remove("contact_policy").unwrap_or(Value::Null);
    for key in ["name", "description", "priority"] {
        rest.remove(key);
    }
    DraftValues {
        name: doc.name.clone(),
        description: doc.description.clone(),
        priority: doc.priority.to_string(),
        policy: LIMITS
            .iter()
            .map(|(name, label)| NumberField {
                name,
                label,
                value: policy
                    .get(*name)
                    .map_or_else(String::new, ToString::to_string),
            })
            .collect(),
        document: serde_json::to_string_pretty(&Value::Object(rest)).unwrap_or_default(),
    }
}

/// What the person typed in the draft form.
pub(super) fn values_typed(f: &[(String, String)]) -> DraftValues {
    let get = |name: &str| field(f, name).unwrap_or_default().to_owned();
    DraftValues {
        name: get("name"),
        description: get("description"),
        priority: get("priority"),
        policy: LIMITS
            .iter()
            .map(|(name, label)| NumberField {
                name,
                label,
                value: get(name),
            })
            .collect(),
        document: get("document"),
    }
}

/// The document the draft form describes, or why not (next to the field concerned).
pub(super) fn doc_typed(f: &[(String, String)]) -> Result<PropositionDoc, Refusal> {
    let text = |name: &str| field(f, name).map_err(|e| Refusal::bad(e).at(name));
    let mut doc = match serde_json::from_str::<Value>(text("document")?) {
        Ok(Value::Object(m)) => m,
        Ok(_) => {
            return Err(Refusal::bad(
                "Please check the rest of the version: it must be a JSON object ({ … }).",
            )
            .at("document"));
        }
        Err(e) => {
            return Err(Refusal::bad(format!(
                "Please check the rest of the version: it is not valid JSON ({e})."
            ))
            .at("document"));
        }
    };
    doc.insert("name".into(), Value::from(text("name")?.trim()));
    doc.insert(
        "description".into(),
        Value::from(text("description")?.trim()),
    );
    let number = |name: &str, words: &str| -> Result<Option<u32>, Refusal> {
        match text(name)?.trim() {
            "" => Ok(None),
            n => n.parse::<u32>().map(Some).map_err(|_| {
                Refusal::bad(format!("Please check {words}: it must be a whole number.")).at(name)
            }),
        }
    };
    if let Some(p) = number("priority", "the priority")? {
        doc.insert("priority".into(), Value::from(p));
    }
    let mut policy = Map::new();
    for (name, _) in LIMITS {
        if let Some(v) = number(name, "this contact limit")? {
            policy.insert(name.to_owned(), Value::from(v));
        }
    }
    if !policy.is_empty() {
        doc.insert("contact_policy".into(), Value::Object(policy));
    }
    serde_json::from_value(Value::Object(doc)).map_err(|e| {
        Refusal::bad(format!(
            "Please check the rest of the version: {e}. See the proposition guide for its fields."
        ))
        .at("document")
    })
}

/// The form field a document path is about (`/contact_policy/period_days` → `period_days`).
pub(super) fn field_of(path: &str) -> String {
    match path {
        "/name" | "/description" | "/priority" => path[1..].to_owned(),
        p if !p.starts_with('/') => p.to_owned(),
        p => match p.strip_prefix("/contact_policy/") {
            Some(limit) if LIMITS.iter().any(|(n, _)| *n == limit) => limit.to_owned(),
            _ => "document".to_owned(),
        },
    }
}

/// An example to start a new proposition from.
fn example() -> DraftValues {
    let doc = serde_json::json!({
        "product": {"kind": "loan", "code": "PL-NEW", "name": "Personal loan",
                    "terms": {"term_months": "12-60"}},
        "benefits": [],
        "availability": {"audience": {"all_of": [], "any_of": [], "none_of": []},
                         "channels": ["bank_app", "web"]},
        "parameters": {"type": "object", "properties": {}},
        "pricing": {"rules": [], "default": {"rate_percent": 7.9, "commission_percent": 0, "fees": 0}},
        "add_ons": [],
        "business_value": 0,
        "personas": {}
    });
    DraftValues {
        priority: "0".to_owned(),
        policy: LIMITS
            .iter()
            .map(|(name, label)| NumberField {
                name,
                label,
                value: String::new(),
            })
            .collect(),
        document: serde_json::to_string_pretty(&doc).unwrap_or_default(),
        ..DraftValues::default()
    }
}

fn new_page(staff: &SessionStaff, values: DraftValues, refusal: Option<Refusal>) -> HttpResponse {
    let status = refusal.as_ref().map_or(StatusCode::OK, |r| r.status);
    let (error_at, error) = match refusal {
        Some(r) => (r.field.unwrap_or_default(), Some(r.words)),
        None => (String::new(), None),
    };
    let view = NewPropositionPage {
        title: "New proposition",
        display_name: &staff.display_name,
        csrf_token: &staff.csrf_token,
        form: DraftForm {
            action: "/console/propositions".to_owned(),
            heading: "Version 1".to_owned(),
            button: "Create the draft",
            revise: None,
            values,
            error_at,
            error,
        },
    };
    html(status, view.render())
}

/// The form of a new proposition.
pub(crate) async fn new(session: Result<StaffSession, StaffSessionError>) -> HttpResponse {
    match person(session) {
        Ok(staff) => new_page(&staff, example(), None),
        Err(r) => *r,
    }
}

/// Creates a proposition: its first version, a draft.
pub(crate) async fn create(
    state: web::Data<OffersState>,
    session: Result<StaffSession, StaffSessionError>,
    interaction: InteractionId,
    form: web::Form<Fields>,
) -> HttpResponse {
    let (staff, fields) = match form_person(session, form) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let refusal = match doc_typed(&fields) {
        Ok(doc) => {
            let id = state.new_proposition_id();
            let ctx = RequestContext::acting_as(staff.actor(), interaction);
            match state.draft(id, doc, true, &ctx).await {
                Ok(_) => {
                    return ecohub_http::see_other(&format!(
                        "/console/propositions/{id}?done=created"
                    ));
                }
                Err(e) => match Refusal::of(e, &staff) {
                    Ok(mut r) => {
                        r.field = r.field.map(|p| field_of(&p));
                        r
                    }
                    Err(page) => return *page,
                },
            }
        }
        Err(r) => r,
    };
    new_page(&staff, values_typed(&fields), Some(refusal))
}
