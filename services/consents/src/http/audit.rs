//! `/audit/consents`: the compliance officer's list, histories with their hash chain, and
//! the streamed export of every consent event.

use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::{HttpResponse, web};
use ecohub_eventstore::{EventFilter, Position, RecordedEvent, SharedStore};
use ecohub_http::{ApiError, ErrorCode, Page, PageQuery, Problem};
use ecohub_security::{AuditScope, Authenticated};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::consent_not_found;
use super::dto::{
    AuditConsent, AuditConsentPage, AuditQuery, ExportFormat, ExportQuery, HistoryEntry,
    HistoryView,
};
use crate::application::ConsentsState;
use crate::chain::{self, ChainBreak, verify_stream};
use crate::domain::{ConsentEvent, ConsentId, ConsentStatus, CustomerId, PartnerId};
use crate::index::ConsentFilter;

fn invalid_query(field: &str, message: &str) -> ApiError {
    ApiError::new(ErrorCode::InvalidQuery)
        .detail(format!("{field} {message}"))
        .field(field, message)
}

#[derive(Serialize, Deserialize)]
struct AuditCursor {
    after: ConsentId,
}

/// Consents, filtered, in creation order, with cursor pagination.
#[utoipa::path(
    get,
    path = "/audit/consents",
    tag = "audit",
    operation_id = "audit_list_consents",
    params(AuditQuery),
    responses(
        (status = 200, description = "A page of consents", body = AuditConsentPage),
        (status = 400, description = "Bad filter or cursor (`invalid_query`, `invalid_cursor`)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks `audit`", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["audit"])),
)]
pub(crate) async fn list(
    state: web::Data<ConsentsState>,
    _auth: Authenticated<AuditScope>,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let page = PageQuery {
        page_size: q.page_size,
        cursor: q.cursor.clone(),
    };
    let page_size = page.page_size()?;
    let cursor: Option<AuditCursor> = page.cursor()?;
    let filter = ConsentFilter {
        partner_id: q
            .partner_id
            .as_deref()
            .map(|p| {
                PartnerId::parse(p).map_err(|_| invalid_query("partner_id", "is not a partner id"))
            })
            .transpose()?,
        customer_id: q
            .customer_id
            .as_deref()
            .map(|c| CustomerId::parse(c).map_err(|_| invalid_query("customer_id", "is malformed")))
            .transpose()?,
        status: q
            .status
            .as_deref()
            .map(|s| {
                ConsentStatus::parse(s)
                    .ok_or_else(|| invalid_query("status", "is not a consent status"))
            })
            .transpose()?,
        created_from: q.created_from,
        created_to: q.created_to,
        changed_from: q.changed_from,
        changed_to: q.changed_to,
    };
    let items = state
        .index
        .list(&filter, cursor.map(|c| c.after), page_size as usize + 1);
    let mut base = String::from("/audit/consents");
    let mut params = Vec::new();
    let mut push = |k: &str, v: Option<String>| {
        if let Some(v) = v {
            params.push(format!("{k}={}", encode(&v)));
        }
    };
    push("partner_id", q.partner_id.clone());
    push("customer_id", q.customer_id.clone());
    push("status", q.status.clone());
    push("created_from", q.created_from.map(|t| t.to_rfc3339()));
    push("created_to", q.created_to.map(|t| t.to_rfc3339()));
    push("changed_from", q.changed_from.map(|t| t.to_rfc3339()));
    push("changed_to", q.changed_to.map(|t| t.to_rfc3339()));
    if !params.is_empty() {
        base.push('?');
        base.push_str(&params.join("&"));
    }
    let page = Page::from_overfetch(items, page_size, &base, q.cursor.as_deref(), |s| {
        AuditCursor {
            after: s.consent_id,
        }
    });
    Ok(HttpResponse::Ok().json(AuditConsentPage {
        data: page.data.into_iter().map(AuditConsent::from).collect(),
        links: page.links,
    }))
}

/// Percent-encodes a query value.
fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn str_field(v: &serde_json::Value, key: &str) -> Option<String> {
    v.get(key).and_then(|x| x.as_str()).map(str::to_owned)
}

/// The event's reason code as the current schema reads it (a `ConsentRequested` v1, stored
/// before requests carried one, reads `consent_requested`); the stored field when the event
/// no longer decodes (an altered payload still shows what it says).
pub(crate) fn reason_of(e: &RecordedEvent, stored: &serde_json::Value) -> Option<String> {
    e.decode::<ConsentEvent>()
        .ok()
        .map(|d| d.payload.reason().to_string())
        .or_else(|| str_field(stored, "reason"))
}

/// A consent's events in order and whether its chain verifies; `None` when there is no
/// such consent. The audit API's history and the console's timeline read it.
pub(crate) async fn read_history(
    state: &ConsentsState,
    id: ConsentId,
) -> Result<Option<(Vec<RecordedEvent>, Result<(), ChainBreak>)>, crate::AppError> {
    let events = ecohub_eventstore::read_stream_to_end(&*state.store, &id.stream_name()).await?;
    if events.is_empty() {
        return Ok(None);
    }
    let verdict = verify_stream(&events);
    Ok(Some((events, verdict)))
}

/// Every event of a consent in order, with actor, time, reason, request and interaction
/// ids, its chain link, and whether the chain verifies.
#[utoipa::path(
    get,
    path = "/audit/consents/{consent_id}/history",
    tag = "audit",
    operation_id = "audit_consent_history",
    params(("consent_id" = Uuid, Path, description = "The consent's id")),
    responses(
        (status = 200, description = "The history", body = HistoryView),
        (status = 400, description = "The consent id is not a UUID (`invalid_path`)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks `audit`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such consent", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["audit"])),
)]
pub(crate) async fn history(
    state: web::Data<ConsentsState>,
    _auth: Authenticated<AuditScope>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = ConsentId::from_uuid(path.into_inner());
    let Some((events, verdict)) = read_history(&state, id).await? else {
        return Err(consent_not_found());
    };
    let entries = events
        .iter()
        .map(|e| {
            let payload = e.data_json().unwrap_or_default();
            let (payload, link) = chain::unseal(payload);
            HistoryEntry {
                revision: e.revision,
                event_type: e.event_type.clone(),
                event_version: e.event_version,
                recorded_at: e.recorded_at,
                actor: e.metadata.actor.clone(),
                reason: reason_of(e, &payload),
                revoked_by: str_field(&payload, "by"),
                request_id: e.metadata.request_id.clone(),
                interaction_id: e.metadata.correlation_id.clone(),
                prev: link.as_ref().map(|l| l.prev.clone()),
                hash: link.map(|l| l.hash),
            }
        })
        .collect();
    Ok(HttpResponse::Ok().json(HistoryView {
        consent_id: id.to_string(),
        chain_verified: verdict.is_ok(),
        chain_break: verdict.err().map(|b| b.to_string()),
        events: entries,
    }))
}

/// Events read per page of the export.
const EXPORT_PAGE: usize = 500;

/// The CSV columns of the export. `data` is the stored payload without its chain link (what
/// the hash covers); `reason` is the event's reason code as the current schema reads it (so
/// also for events stored before their type carried one), last so that earlier columns keep
/// their places.
pub const CSV_COLUMNS: [&str; 13] = [
    "position",
    "stream",
    "revision",
    "event_type",
    "event_version",
    "recorded_at",
    "actor",
    "request_id",
    "interaction_id",
    "prev",
    "hash",
    "data",
    "reason",
];

/// One CSV record (RFC 4180, CRLF), written by the `csv` crate.
fn csv_record<I, T>(fields: I) -> String
where
    I: IntoIterator<Item = T>,
    T: AsRef<[u8]>,
{
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    let written = writer
        .write_record(fields)
        .and_then(|()| writer.flush().map_err(csv::Error::from));
    match (written, writer.into_inner()) {
        (Ok(()), Ok(bytes)) => String::from_utf8_lossy(&bytes).into_owned(),
        _ => String::new(),
    }
}

fn export_line(e: &RecordedEvent, format: ExportFormat) -> String {
    let payload = e.data_json().unwrap_or_default();
    let (payload, link) = chain::unseal(payload);
    let prev = link.as_ref().map(|l| l.prev.clone()).unwrap_or_default();
    let hash = link.map(|l| l.hash).unwrap_or_default();
    let reason = reason_of(e, &payload);
    match format {
        ExportFormat::Jsonl => {
            let mut line = serde_json::json!({
                "position": e.position.commit,
                "stream": e.stream,
                "revision": e.revision,
                "event_type": e.event_type,
                "event_version": e.event_version,
                "recorded_at": e.recorded_at,
                "actor": e.metadata.actor,
                "request_id": e.metadata.request_id,
                "interaction_id": e.metadata.correlation_id,
                "prev": prev,
                "hash": hash,
                "data": payload,
                "reason": reason,
            })
            .to_string();
            line.push('\n');
            line
        }
        ExportFormat::Csv => {
            let fields = [
                e.position.commit.to_string(),
                e.stream.clone(),
                e.revision.to_string(),
                e.event_type.clone(),
                e.event_version.to_string(),
                e.recorded_at.to_rfc3339(),
                e.metadata.actor.clone().unwrap_or_default(),
                e.metadata.request_id.clone().unwrap_or_default(),
                e.metadata.correlation_id.clone().unwrap_or_default(),
                prev,
                hash,
                chain::canonical_json(&payload),
                reason.unwrap_or_default(),
            ];
            csv_record(fields)
        }
    }
}

struct ExportCursor {
    store: SharedStore,
    from: Option<Position>,
    format: ExportFormat,
    header: bool,
    done: bool,
}

/// Every consent event, streamed page by page from the global log (memory stays constant
/// whatever the size), as CSV or JSON lines.
#[utoipa::path(
    get,
    path = "/audit/consents/export",
    tag = "audit",
    operation_id = "audit_export_consents",
    params(ExportQuery),
    responses(
        (status = 200, description = "The export (`text/csv` or `application/x-ndjson`)", content((String = "text/csv"), (String = "application/x-ndjson"))),
        (status = 400, description = "Unknown format (`invalid_query`)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks `audit`", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["audit"])),
)]
pub(crate) async fn export(
    state: web::Data<ConsentsState>,
    _auth: Authenticated<AuditScope>,
    query: web::Query<ExportQuery>,
) -> Result<HttpResponse, ApiError> {
    Ok(export_response(state.store.clone(), query.format))
}

/// Every consent event as a download (`Content-Disposition: attachment`), streamed page by
/// page: the audit API's export and the console's download answer with it.
pub(crate) fn export_response(store: SharedStore, format: ExportFormat) -> HttpResponse {
    let cursor = ExportCursor {
        store,
        from: None,
        format,
        header: format == ExportFormat::Csv,
        done: false,
    };
    let body = futures_util::stream::unfold(cursor, |mut c| async move {
        if c.done {
            return None;
        }
        let mut chunk = String::new();
        if std::mem::take(&mut c.header) {
            chunk.push_str(&csv_record(CSV_COLUMNS));
        }
        let filter = EventFilter::streams(["consent-"]);
        match c.store.read_all(c.from, &filter, EXPORT_PAGE).await {
            Ok(page) => {
                if page.len() < EXPORT_PAGE {
                    c.done = true;
                }
                c.from = page.last().map(|e| e.position).or(c.from);
                for e in &page {
                    chunk.push_str(&export_line(e, c.format));
                }
                Some((Ok::<Bytes, std::io::Error>(Bytes::from(chunk)), c))
            }
            Err(e) => {
                c.done = true;
                tracing::error!(error = %e, "consent export failed");
                Some((Err(std::io::Error::other(e.to_string())), c))
            }
        }
    });
    let (content_type, name) = match format {
        ExportFormat::Csv => ("text/csv; charset=utf-8", "consents.csv"),
        ExportFormat::Jsonl => ("application/x-ndjson", "consents.jsonl"),
    };
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .streaming(body)
}
