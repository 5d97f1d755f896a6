//! `GET /offers/reports/funnel`: the offer funnel for product managers (`offers:manage`),
//! per proposition, version, channel and persona over a time window, as cursor pages or a
//! CSV export. Served from the funnel read model, never from the log.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use ecohub_http::{ApiError, ErrorCode, Links, Page, PageMeta, PageQuery, Problem, percent_encode};
use ecohub_kernel::Timestamp;
use ecohub_security::{Authenticated, OffersManageScope};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::application::OffersState;
use crate::domain::{Channel, PartnerId, PropositionId};
use crate::funnel::{FunnelCounts, FunnelFilter, FunnelKey, FunnelRow};

/// The filters of a funnel report.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FunnelQuery {
    /// Only this proposition.
    pub proposition_id: Option<Uuid>,
    /// Only this version.
    #[param(value_type = Option<u64>, minimum = 1, maximum = 4294967295_u64)]
    pub version: Option<u32>,
    /// Only this channel.
    pub channel: Option<Channel>,
    /// `*`: a row per persona (an offer counts under every persona its customer matched);
    /// a persona's name: that persona's rows; absent: rows over every customer.
    #[param(
        min_length = 1,
        max_length = 64,
        pattern = r"^(\*|[a-z][a-z0-9_]{0,63})$"
    )]
    pub persona: Option<String>,
    /// Only propositions co-branded by this partner.
    pub partner_id: Option<Uuid>,
    /// Days (UTC) starting at or after this instant (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime)]
    pub from: Option<String>,
    /// Days (UTC) starting before this instant (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime)]
    pub to: Option<String>,
    /// `csv` for the whole report as CSV; absent: JSON pages.
    pub format: Option<ReportFormat>,
    /// Rows per page, 1 to 500 (default 50; JSON only).
    #[param(minimum = 1, maximum = 500)]
    pub page_size: Option<u32>,
    /// Opaque cursor from `links.next`.
    pub cursor: Option<String>,
}

/// Report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReportFormat {
    /// Comma-separated values with a header row.
    Csv,
}

/// One row of the funnel.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FunnelRowView {
    /// The proposition.
    #[schema(value_type = String, format = Uuid)]
    pub proposition_id: String,
    /// Its version.
    pub version: u32,
    /// The channel.
    pub channel: Channel,
    /// The persona; absent: every customer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persona: Option<String>,
    /// The version's co-brand partners.
    pub partners: Vec<String>,
    /// The counts over the window.
    #[serde(flatten)]
    pub counts: FunnelCounts,
    /// accepted / presented (0 when nothing was presented).
    pub conversion_rate: f64,
}

impl From<FunnelRow> for FunnelRowView {
    fn from(r: FunnelRow) -> Self {
        let c = r.counts;
        Self {
            proposition_id: r.key.proposition_id.to_string(),
            version: r.key.version,
            channel: r.key.channel,
            persona: r.key.persona,
            partners: r.partners.iter().map(ToString::to_string).collect(),
            conversion_rate: if c.presented == 0 {
                0.0
            } else {
                c.accepted as f64 / c.presented as f64
            },
            counts: c,
        }
    }
}

/// A page of the funnel.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FunnelPage {
    /// Rows in proposition, version, channel, persona order.
    pub data: Vec<FunnelRowView>,
    /// Links.
    pub links: Links,
    /// Page metadata.
    pub meta: PageMeta,
}

fn invalid(field: &str, message: &str) -> ApiError {
    ApiError::new(ErrorCode::InvalidQuery)
        .detail(format!("{field}: {message}"))
        .field(field, message)
}

fn instant(field: &str, v: &Option<String>) -> Result<Option<Timestamp>, ApiError> {
    v.as_deref()
        .map(|s| Timestamp::parse_rfc3339(s).map_err(|_| invalid(field, "not an RFC 3339 instant")))
        .transpose()
}

/// The offer funnel: presented, viewed, accepted, declined and expired offers and the
/// conversion rate, per proposition, version, channel and (optionally) persona, over the
/// days of a window; filtered by proposition, version, channel, persona and co-brand partner.
/// Events count on the day they happened (UTC).
#[utoipa::path(
    get, path = "/offers/reports/funnel", tag = "offers", operation_id = "offer_funnel",
    params(FunnelQuery),
    responses(
        (status = 200, description = "A page of rows (JSON), or the whole report as `text/csv` with `format=csv`", body = FunnelPage, content((FunnelPage = "application/json"), (String = "text/csv"))),
        (status = 400, description = "Invalid filter, page size or cursor (`invalid_query`, `invalid_cursor`)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks `offers:manage`", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["offers:manage"])),
)]
pub(crate) async fn funnel(
    state: web::Data<OffersState>,
    _auth: Authenticated<OffersManageScope>,
    query: web::Query<FunnelQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let from = instant("from", &q.from)?;
    let to = instant("to", &q.to)?;
    if q.version == Some(0) {
        return Err(invalid("version", "must be at least 1"));
    }
    if let Some(p) = &q.persona {
        let ok = p == "*"
            || (p.len() <= 64
                && p.starts_with(|c: char| c.is_ascii_lowercase())
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'));
        if !ok {
            return Err(invalid("persona", "must be * or a persona's name"));
        }
    }
    let filter = FunnelFilter {
        proposition_id: q.proposition_id.map(PropositionId::from_uuid),
        version: q.version,
        channel: q.channel,
        persona: q.persona.as_deref().map(|p| {
            if p == "*" {
                String::new()
            } else {
                p.to_owned()
            }
        }),
        partner_id: q.partner_id.map(PartnerId::from_uuid),
        from,
        to,
    };
    if q.format == Some(ReportFormat::Csv) {
        let rows = state.funnel.rows(&filter, None, usize::MAX);
        return csv_response(rows);
    }
    let paging = PageQuery {
        page_size: q.page_size,
        cursor: q.cursor.clone(),
    };
    let page_size = paging.page_size()?;
    let after: Option<FunnelKey> = paging.cursor()?;
    let rows = state
        .funnel
        .rows(&filter, after.as_ref(), page_size as usize + 1);
    let base = base_path(&q);
    let page = Page::from_overfetch(rows, page_size, &base, q.cursor.as_deref(), |r| {
        r.key.clone()
    });
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(FunnelPage {
            data: page.data.into_iter().map(FunnelRowView::from).collect(),
            links: page.links,
            meta: page.meta,
        }))
}

/// The report's path with its filters (the page links add `page_size` and `cursor`).
fn base_path(q: &FunnelQuery) -> String {
    let channel = q.channel.and_then(|c| {
        serde_json::to_value(c)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
    });
    let params: Vec<String> = [
        ("proposition_id", q.proposition_id.map(|u| u.to_string())),
        ("version", q.version.map(|v| v.to_string())),
        ("channel", channel),
        ("persona", q.persona.clone()),
        ("partner_id", q.partner_id.map(|u| u.to_string())),
        ("from", q.from.clone()),
        ("to", q.to.clone()),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.map(|v| format!("{k}={}", percent_encode(&v))))
    .collect();
    if params.is_empty() {
        "/offers/reports/funnel".to_owned()
    } else {
        format!("/offers/reports/funnel?{}", params.join("&"))
    }
}

fn csv_response(rows: Vec<FunnelRow>) -> Result<HttpResponse, ApiError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let header = [
        "proposition_id",
        "version",
        "channel",
        "persona",
        "partners",
        "presented",
        "viewed",
        "accepted",
        "declined",
        "expired",
        "conversion_rate",
    ];
    w.write_record(header).map_err(ApiError::internal)?;
    for r in rows {
        let v = FunnelRowView::from(r);
        let channel = serde_json::to_value(v.channel)
            .ok()
            .and_then(|c| c.as_str().map(str::to_owned))
            .unwrap_or_default();
        w.write_record([
            v.proposition_id,
            v.version.to_string(),
            channel,
            v.persona.unwrap_or_default(),
            v.partners.join(" "),
            v.counts.presented.to_string(),
            v.counts.viewed.to_string(),
            v.counts.accepted.to_string(),
            v.counts.declined.to_string(),
            v.counts.expired.to_string(),
            format!("{:.4}", v.conversion_rate),
        ])
        .map_err(ApiError::internal)?;
    }
    let body = w
        .into_inner()
        .map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"offer-funnel.csv\"",
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body))
}
