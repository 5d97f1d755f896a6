//! `/data/{dataset}`: providers publish records; recipients read them under a consent.

use actix_web::{HttpResponse, web};
use ecohub_http::{ApiError, InteractionId, Page, PageQuery, Problem};
use ecohub_security::{Authenticated, DataPublishScope, DataReadScope};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::timestamp_param;
use crate::application::{Publication, ReadQuery, RequestContext, SharingState};
use crate::domain::records::Record;

/// One record to publish.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordInput {
    /// The provider's id of the record; publishing the same id again with the same data
    /// writes nothing, with other data replaces it.
    pub id: String,
    /// The record, valid against the dataset's schema.
    #[schema(value_type = Object)]
    pub data: Value,
}

/// A publication.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishRequest {
    /// The customer: the pairwise id the provider knows them by (the bank: its internal id).
    pub customer_id: String,
    /// The records (1 to 500).
    pub records: Vec<RecordInput>,
}

/// What a publication stored.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PublishResponse {
    /// Records stored (new or changed).
    pub stored: usize,
    /// Records already stored with the same data.
    pub unchanged: usize,
}

/// Publish records about a customer (providers of the dataset: a partner's client, or one
/// of the bank's own clients, for its own customer ids). Idempotent by `x-idempotency-key` and by record id.
#[utoipa::path(
    post,
    path = "/data/{dataset}/records",
    tag = "sharing",
    operation_id = "publish_records",
    params(
        ("dataset" = String, Path, description = "The dataset"),
        ("x-idempotency-key" = Option<String>, Header, description = "Replays the first response for the same body (1 to 40 visible ASCII characters)", min_length = 1, max_length = 40, pattern = r"^[\x21-\x7E]{1,40}$"),
    ),
    request_body = PublishRequest,
    responses(
        (status = 200, description = "Stored", body = PublishResponse),
        (status = 400, description = "A record breaks the schema (`invalid_request`, the field names the failing JSON path), the body is malformed (`invalid_json`), or the `x-idempotency-key` is not 1 to 40 visible ASCII characters (`invalid_idempotency_key`)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks `data:publish`, or the caller is not a provider of the dataset", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such dataset, or no such customer for this provider", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The `x-idempotency-key` was used with a different body (`idempotency_key_reused`), or its first request is still running (`idempotency_in_progress`, `Retry-After`)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large (`payload_too_large`)", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body is not JSON (`unsupported_media_type`)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited (`Retry-After`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Store or a dependency unavailable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["data:publish"])),
)]
pub(crate) async fn publish(
    state: web::Data<SharingState>,
    auth: Authenticated<DataPublishScope>,
    interaction: InteractionId,
    path: web::Path<String>,
    body: web::Json<PublishRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let publication = Publication {
        customer_id: body.customer_id,
        records: body
            .records
            .into_iter()
            .map(|r| Record {
                id: r.id,
                data: r.data,
            })
            .collect(),
    };
    let ctx = RequestContext::acting_as(auth.principal().actor(), interaction);
    let published = state
        .publish(auth.principal(), &path, publication, &ctx)
        .await?;
    Ok(HttpResponse::Ok().json(PublishResponse {
        stored: published.stored,
        unchanged: published.unchanged,
    }))
}

/// Filters and page of a read.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DataQuery {
    /// Only records at or after this RFC 3339 time (datasets with a time field; always
    /// within the consent's transaction window).
    pub from: Option<String>,
    /// Only records at or before this RFC 3339 time.
    pub to: Option<String>,
    /// Items per page, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub page_size: Option<u32>,
    /// Opaque cursor from a previous page's `links.next`.
    pub cursor: Option<String>,
}

/// One record, reduced to the fields the consent unlocks.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RecordView {
    /// The provider's id of the record.
    pub id: String,
    /// Who published it (`bank` or a partner id).
    pub provider: String,
    /// The unlocked fields.
    #[schema(value_type = Object)]
    pub data: Value,
}

/// Read the consenting customer's records of a dataset (consent-bound token). Every read
/// is recorded before it is answered.
#[utoipa::path(
    get,
    path = "/data/{dataset}",
    tag = "sharing",
    operation_id = "read_data",
    params(("dataset" = String, Path, description = "The dataset"), DataQuery),
    responses(
        (status = 200, description = "A page of records", body = Page<RecordView>),
        (status = 400, description = "Malformed query or cursor", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks `data:read`, is not bound to a consent, the consent is not authorised, or it does not cover the dataset", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such dataset", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limited (`Retry-After`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The access could not be recorded, or a dependency is unavailable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["data:read"])),
)]
pub(crate) async fn read(
    state: web::Data<SharingState>,
    auth: Authenticated<DataReadScope>,
    interaction: InteractionId,
    path: web::Path<String>,
    query: web::Query<DataQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let page = PageQuery {
        page_size: query.page_size,
        cursor: query.cursor.clone(),
    };
    let page_size = page.page_size()?;
    let after: Option<(String, String)> = page.cursor()?;
    let read_query = ReadQuery {
        from: timestamp_param("from", query.from.as_deref())?,
        to: timestamp_param("to", query.to.as_deref())?,
        after,
        page_size: page_size as usize,
    };
    let dataset = path.into_inner();
    let result = state
        .read(
            auth.principal(),
            &dataset,
            read_query,
            &interaction.to_string(),
        )
        .await?;
    let mut base = format!("/data/{dataset}");
    let mut sep = '?';
    for (name, value) in [("from", &query.from), ("to", &query.to)] {
        if let Some(v) = value {
            base.push_str(&format!("{sep}{name}={}", ecohub_http::percent_encode(v)));
            sep = '&';
        }
    }
    let items = result
        .records
        .into_iter()
        .map(|r| RecordView {
            id: r.id,
            provider: r.provider,
            data: r.data,
        })
        .collect();
    let page = Page::from_overfetch(items, page_size, &base, query.cursor.as_deref(), |r| {
        (r.provider.clone(), r.id.clone())
    });
    Ok(HttpResponse::Ok().json(page))
}
