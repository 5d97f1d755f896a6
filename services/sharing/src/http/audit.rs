//! `/audit/data-access`: compliance reads the evidence of every data access (`audit`).

use actix_web::web::Bytes;
use actix_web::{HttpResponse, web};
use ecohub_eventstore::Position;
use ecohub_http::{ApiError, ErrorCode, Page, PageQuery, Problem};
use ecohub_kernel::Timestamp;
use ecohub_security::{AuditScope, Authenticated};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::timestamp_param;
use crate::application::{AccessFilter, SharingState};
use crate::domain::access::DataAccessed;

/// Filters and page of the access log.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Only accesses under this consent.
    pub consent_id: Option<String>,
    /// Only accesses by this recipient partner.
    pub partner_id: Option<String>,
    /// Only accesses to this dataset.
    pub dataset: Option<String>,
    /// Only accesses at or after this RFC 3339 time.
    pub from: Option<String>,
    /// Only accesses before this RFC 3339 time.
    pub to: Option<String>,
    /// Items per page, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub page_size: Option<u32>,
    /// Opaque cursor from a previous page's `links.next`.
    pub cursor: Option<String>,
    /// Export format: `csv` or `jsonl` (export only).
    pub format: Option<String>,
}

/// One recorded access.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AccessRecordView {
    /// The recipient partner.
    pub partner_id: String,
    /// Its OAuth client.
    pub client_id: String,
    /// The consent.
    pub consent_id: String,
    /// The customer's pairwise id for the recipient.
    pub customer: String,
    /// The dataset.
    pub dataset: String,
    /// The fields the response could contain.
    pub fields: Vec<String>,
    /// Records returned.
    pub record_count: u64,
    /// The request's interaction id.
    pub interaction_id: String,
    /// When.
    pub at: Timestamp,
}

impl From<DataAccessed> for AccessRecordView {
    fn from(a: DataAccessed) -> Self {
        Self {
            partner_id: a.partner_id,
            client_id: a.client_id,
            consent_id: a.consent_id,
            customer: a.customer,
            dataset: a.dataset,
            fields: a.fields,
            record_count: a.record_count,
            interaction_id: a.interaction_id,
            at: a.at,
        }
    }
}

fn filter_of(q: &AuditQuery) -> Result<AccessFilter, ApiError> {
    Ok(AccessFilter {
        consent_id: q.consent_id.clone(),
        partner_id: q.partner_id.clone(),
        dataset: q.dataset.clone(),
        from: timestamp_param("from", q.from.as_deref())?,
        to: timestamp_param("to", q.to.as_deref())?,
    })
}

/// List recorded data accesses, oldest first.
#[utoipa::path(
    get,
    path = "/audit/data-access",
    tag = "sharing-audit",
    operation_id = "list_data_access",
    params(AuditQuery),
    responses(
        (status = 200, description = "A page of access records", body = Page<AccessRecordView>),
        (status = 400, description = "Malformed query or cursor", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks `audit`", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["audit"])),
)]
pub(crate) async fn list(
    state: web::Data<SharingState>,
    _auth: Authenticated<AuditScope>,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let filter = filter_of(&q)?;
    let page = PageQuery {
        page_size: q.page_size,
        cursor: q.cursor.clone(),
    };
    let page_size = page.page_size()?;
    let after: Option<Position> = page.cursor()?;
    let (items, _) = state
        .access_records(after, &filter, page_size as usize + 1)
        .await?;
    let mut base = "/audit/data-access".to_owned();
    let mut sep = '?';
    for (name, value) in [
        ("consent_id", &q.consent_id),
        ("partner_id", &q.partner_id),
        ("dataset", &q.dataset),
        ("from", &q.from),
        ("to", &q.to),
    ] {
        if let Some(v) = value {
            base.push_str(&format!("{sep}{name}={}", ecohub_http::percent_encode(v)));
            sep = '&';
        }
    }
    let positions: Vec<Position> = items.iter().map(|(p, _)| *p).collect();
    let views: Vec<(usize, AccessRecordView)> = items
        .into_iter()
        .enumerate()
        .map(|(i, (_, a))| (i, a.into()))
        .collect();
    let page = Page::from_overfetch(views, page_size, &base, q.cursor.as_deref(), |(i, _)| {
        positions[*i]
    });
    Ok(HttpResponse::Ok().json(Page {
        data: page.data.into_iter().map(|(_, v)| v).collect::<Vec<_>>(),
        links: page.links,
        meta: page.meta,
    }))
}

const CSV_HEADER: &str =
    "at,partner_id,client_id,consent_id,customer,dataset,fields,record_count,interaction_id\n";

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) || s.starts_with(['=', '+', '-', '@']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

fn csv_line(a: &DataAccessed) -> String {
    format!(
        "{},{},{},{},{},{},{},{},{}\n",
        a.at,
        csv_field(&a.partner_id),
        csv_field(&a.client_id),
        csv_field(&a.consent_id),
        csv_field(&a.customer),
        csv_field(&a.dataset),
        csv_field(&a.fields.join(" ")),
        a.record_count,
        csv_field(&a.interaction_id),
    )
}

/// Export recorded data accesses as CSV or JSON lines, streamed (constant memory).
#[utoipa::path(
    get,
    path = "/audit/data-access/export",
    tag = "sharing-audit",
    operation_id = "export_data_access",
    params(AuditQuery),
    responses(
        (status = 200, description = "Every matching access record, as `text/csv` (default) or `application/jsonl`", content((String = "text/csv"), (String = "application/jsonl"))),
        (status = 400, description = "Malformed query or unknown format", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks `audit`", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["audit"])),
)]
pub(crate) async fn export(
    state: web::Data<SharingState>,
    _auth: Authenticated<AuditScope>,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let filter = filter_of(&q)?;
    // The export streams everything and ignores the page, but holds `page_size` to the range
    // the list (and the document, shared by both) states.
    PageQuery {
        page_size: q.page_size,
        cursor: None,
    }
    .page_size()?;
    let csv = match q.format.as_deref() {
        None | Some("csv") => true,
        Some("jsonl") => false,
        Some(_) => {
            return Err(ApiError::new(ErrorCode::InvalidQuery)
                .detail("format must be csv or jsonl")
                .field("format", "unknown format"));
        }
    };
    Ok(export_response(state, filter, csv))
}

/// Every access record `filter` accepts, streamed chunk by chunk (constant memory), as CSV
/// (`csv`) or JSON lines: the audit API's export and the console's download answer with it.
pub(crate) fn export_response(
    state: web::Data<SharingState>,
    filter: AccessFilter,
    csv: bool,
) -> HttpResponse {
    const CHUNK: usize = 500;
    struct Cursor {
        from: Option<Position>,
        header: bool,
        done: bool,
    }
    let start = Cursor {
        from: None,
        header: csv,
        done: false,
    };
    let body = futures_util::stream::unfold(start, move |mut c| {
        let state = state.clone();
        let filter = filter.clone();
        async move {
            if c.header {
                c.header = false;
                return Some((
                    Ok::<Bytes, ApiError>(Bytes::from_static(CSV_HEADER.as_bytes())),
                    c,
                ));
            }
            if c.done {
                return None;
            }
            match state.access_records(c.from, &filter, CHUNK).await {
                Err(e) => {
                    c.done = true;
                    Some((Err(ApiError::from(e)), c))
                }
                Ok((items, more)) => {
                    c.done = !more;
                    c.from = items.last().map(|(p, _)| *p).or(c.from);
                    let mut chunk = String::new();
                    for (_, a) in &items {
                        if csv {
                            chunk.push_str(&csv_line(a));
                        } else {
                            chunk.push_str(
                                &serde_json::to_string(&AccessRecordView::from(a.clone()))
                                    .unwrap_or_default(),
                            );
                            chunk.push('\n');
                        }
                    }
                    Some((Ok(Bytes::from(chunk)), c))
                }
            }
        }
    });
    let content_type = if csv {
        "text/csv; charset=utf-8"
    } else {
        "application/jsonl"
    };
    HttpResponse::Ok()
        .content_type(content_type)
        .streaming(body)
}
