//! Financial moments in (ADR 0026): a partner's client with `data:publish` and the active
//! `data_provider` role publishes moments about customers it knows by pairwise ids, under the
//! customer's consent to the bank; the bank (one of its own clients, of no partner, with `data:publish`)
//! publishes its own customers' moments. Accepted moments are answered 202 and triggered in
//! the background; `GET /moments/{id}` says what became of one.
//!
//! Triggered offers out to the bank's channels: `GET /offers/triggered` (`offers:decide`),
//! the triggered offers in the order they were recorded, with a cursor to poll from.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use ecohub_eventstore::{EventFilter, Position};
use ecohub_http::{ApiError, ErrorCode, InteractionId, Page, PageQuery, Problem};
use ecohub_kernel::{RequestContext, Timestamp};
use ecohub_security::{Authenticated, DataPublishScope, OffersDecideScope, Principal};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::application::OffersState;
use crate::domain::{
    ContactEvent, ContactLedger, Moment, MomentId, MomentRef, MomentStatus, PartnerId,
};
use crate::moments::{Publication, PublishOutcome, Publisher, Refusal};

/// A moment as published.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"moment_id": "booking-48213", "moment_type": "travel_booked",
    "customer_id": "3f6c1d2e9a0b4c5d8e7f6a5b4c3d2e1f", "occurred_at": "2026-12-03T09:15:00Z",
    "payload": {"destination": "Lisbon", "departure_date": "2027-03-14", "amount": 1240.0, "currency": "EUR"}}))]
pub struct MomentBody {
    /// Your id of this moment (1 to 100 characters): sending the same id again is the same
    /// moment (answered as before, triggered once).
    #[schema(min_length = 1, max_length = 100)]
    pub moment_id: String,
    /// Its type, from the moment catalogue (`GET /offers/moment-types`).
    #[schema(pattern = "^[a-z][a-z0-9_]{0,63}$", example = "travel_booked")]
    pub moment_type: String,
    /// The customer: the pairwise id you know them by (`sub` of their tokens); the bank uses
    /// its own customer id.
    #[schema(min_length = 1, max_length = 128, pattern = r"^[\x21-\x7E]{1,128}$")]
    pub customer_id: String,
    /// When it happened (RFC 3339), if you know.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub occurred_at: Option<Timestamp>,
    /// What happened: validated against the type's JSON Schema.
    #[schema(value_type = Object)]
    pub payload: Value,
}

/// Where a moment stands, as its provider sees it (no customer data, no explanation values).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MomentView {
    /// The hub's id of the moment.
    #[schema(value_type = String, format = Uuid)]
    pub id: String,
    /// Your id of it.
    pub moment_id: String,
    /// Its type.
    pub moment_type: String,
    /// `received` (to be triggered), `matched` (rules matched; deciding), `offered` (offers
    /// were made), `held_back` (the contact policies held every offer back), `not_matched`.
    pub status: MomentStatus,
    /// When it was accepted.
    #[schema(value_type = String, format = DateTime)]
    pub received_at: Timestamp,
    /// The trigger rules that matched, once processed.
    pub matched_rules: Vec<String>,
}

fn view(m: &Moment) -> Option<MomentView> {
    let r = m.received.as_ref()?;
    Some(MomentView {
        id: r.id.to_string(),
        moment_id: r.moment_id.clone(),
        moment_type: r.moment_type.clone(),
        status: m.status(),
        received_at: m.received_at?,
        matched_rules: m
            .triggered
            .as_ref()
            .map(|(matches, _)| matches.iter().map(|x| x.rule.clone()).collect())
            .unwrap_or_default(),
    })
}

/// Who publishes: a partner's client as its partner; a client of no partner is one of the
/// bank's own systems (only an administrator registers those), which publishes as the bank
/// with `data:publish` alone, as it publishes data.
fn publisher(principal: &Principal) -> Result<Publisher, ApiError> {
    match principal.partner_id.as_deref() {
        Some(p) => PartnerId::parse(p)
            .map(Publisher::Partner)
            .map_err(|_| ApiError::new(ErrorCode::Forbidden).detail("unknown partner")),
        None => Ok(Publisher::Bank),
    }
}

fn refused(refusal: Refusal) -> ApiError {
    let code = match refusal {
        Refusal::UnknownCustomer => ErrorCode::NotFound,
        Refusal::NoConsent => ErrorCode::ConsentRequired,
        Refusal::CustomerObjected => ErrorCode::CustomerObjected,
    };
    ApiError::new(code).detail(refusal.message())
}

/// Publishes a financial moment. Accepted moments are recorded (`MomentReceived`) before the
/// 202 and triggered in the background: the matched rules' propositions are decided for the
/// customer under the contact policies, and a triggered offer goes to the co-brand partners'
/// webhooks (`offer-available`), the customer's offers page and the bank's channels. A
/// refused moment is recorded without its payload.
#[utoipa::path(
    post, path = "/moments", tag = "financial-moments", operation_id = "publish_moment",
    request_body = MomentBody,
    responses(
        (status = 202, description = "Accepted (or accepted before: the same moment again); `Location` is the moment", body = MomentView),
        (status = 400, description = "An unknown moment type, or a payload its schema refuses; the failing path is named (`/payload/amount`)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks `data:publish`; the caller is not an active data provider the type admits (`forbidden`); the customer has no consent to the bank naming this partner (`consent_required`) or objected to personalised offers (`customer_objected`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "The customer id names no customer known to this partner", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "This moment id was already used for another moment", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body of another media type", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Event store unavailable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["data:publish"])),
)]
pub(crate) async fn publish(
    state: web::Data<OffersState>,
    auth: Authenticated<DataPublishScope>,
    interaction: InteractionId,
    body: web::Json<MomentBody>,
) -> Result<HttpResponse, ApiError> {
    let publisher = publisher(auth.principal())?;
    let body = body.into_inner();
    let ctx = RequestContext::acting_as(auth.principal().actor(), interaction);
    let outcome = state
        .publish_moment(
            publisher,
            Publication {
                moment_id: body.moment_id,
                moment_type: body.moment_type,
                customer: body.customer_id,
                occurred_at: body.occurred_at,
                payload: body.payload,
            },
            &ctx,
        )
        .await?;
    match outcome {
        PublishOutcome::Refused { refusal, .. } => Err(refused(refusal)),
        PublishOutcome::Accepted { moment } => {
            let v = view(&moment).ok_or_else(|| ApiError::internal("moment without reception"))?;
            Ok(HttpResponse::Accepted()
                .insert_header((header::LOCATION, format!("/moments/{}", v.id)))
                .json(v))
        }
    }
}

/// A moment you published: whether it was triggered, and which rules matched. Another
/// provider's moment is a 404.
#[utoipa::path(
    get, path = "/moments/{id}", tag = "financial-moments", operation_id = "get_moment",
    params(("id" = Uuid, Path, description = "The hub's moment id (from the 202)")),
    responses(
        (status = 200, description = "The moment", body = MomentView),
        (status = 400, description = "A path id that is not a UUID (`invalid_path`)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks `data:publish`, or is neither a partner's nor the bank's", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such moment of yours", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Event store unavailable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["data:publish"])),
)]
pub(crate) async fn show(
    state: web::Data<OffersState>,
    auth: Authenticated<DataPublishScope>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let publisher = publisher(auth.principal())?;
    let m = match state.moment(MomentId::from_uuid(path.into_inner())).await {
        Err(crate::application::AppError::Refused(crate::domain::OffersError::NotFound)) => {
            return Err(super::not_found());
        }
        other => other?,
    };
    match (&m.received, view(&m)) {
        (Some(r), Some(v)) if r.provider == publisher.name() => Ok(HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(v)),
        _ => Err(super::not_found()),
    }
}

/// One triggered offer, as the bank's channels poll them.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TriggeredOffer {
    /// The offer (responses refer to it: `POST /offers/responses`).
    #[schema(value_type = String, format = Uuid)]
    pub offer_id: String,
    /// The bank's customer id.
    pub customer_id: String,
    /// The proposition.
    #[schema(value_type = String, format = Uuid)]
    pub proposition_id: String,
    /// Its version.
    pub version: u32,
    /// The bank product.
    pub product_code: String,
    /// The moment, the rule and its reason.
    pub moment: MomentRef,
    /// When the offer was recorded.
    #[schema(value_type = String, format = DateTime)]
    pub presented_at: Timestamp,
    /// Until when the customer may respond.
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: Timestamp,
}

/// The query of the triggered offers.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TriggeredQuery {
    /// Items per page, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub page_size: Option<u32>,
    /// Opaque cursor from a previous page's `links.next`; keep the last one to poll for
    /// offers triggered since.
    pub cursor: Option<String>,
}

/// How many log events one page reads at most while looking for triggered offers.
const SCAN_LIMIT: usize = 5_000;

/// The offers financial moments triggered, oldest first, for the bank's channels to deliver
/// (app notification, email). Poll with the last page's `links.next` (present whenever more
/// may follow, including on a page cut short by the scan limit); an empty page means nothing
/// new yet.
#[utoipa::path(
    get, path = "/offers/triggered", tag = "financial-moments", operation_id = "list_triggered_offers",
    params(TriggeredQuery),
    responses(
        (status = 200, description = "A page of triggered offers", body = inline(Page<TriggeredOffer>)),
        (status = 400, description = "Invalid page size or cursor", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks `offers:decide`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Event store unavailable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["offers:decide"])),
)]
pub(crate) async fn triggered(
    state: web::Data<OffersState>,
    _auth: Authenticated<OffersDecideScope>,
    query: web::Query<TriggeredQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let page = PageQuery {
        page_size: q.page_size,
        cursor: q.cursor.clone(),
    };
    let size = page.page_size()? as usize;
    let mut from: Option<Position> = page.cursor()?;
    let filter = EventFilter {
        stream_prefixes: vec![format!(
            "{}-",
            <ContactLedger as ecohub_kernel::Aggregate>::CATEGORY
        )],
        event_type_prefixes: vec![ContactEvent::TYPES[0].to_owned()],
    };
    let mut items = Vec::new();
    let mut scanned = 0usize;
    let mut last = from;
    'scan: while scanned < SCAN_LIMIT {
        let batch = state
            .store
            .read_all(from, &filter, 500)
            .await
            .map_err(crate::application::AppError::from)?;
        let n = batch.len();
        for e in &batch {
            scanned += 1;
            from = Some(e.position);
            let Ok(env) = e.decode::<ContactEvent>() else {
                last = from;
                continue;
            };
            if let ContactEvent::Presented { offer, at } = env.payload
                && let Some(moment) = offer.moment
            {
                if items.len() == size {
                    break 'scan;
                }
                items.push(TriggeredOffer {
                    offer_id: offer.offer_id.to_string(),
                    customer_id: moment.customer_id.clone(),
                    proposition_id: offer.proposition_id.to_string(),
                    version: offer.version,
                    product_code: offer.product_code,
                    moment,
                    presented_at: at,
                    expires_at: offer.expires_at,
                });
            }
            last = from;
        }
        if n < 500 {
            break;
        }
    }
    // The cursor is the log position of the last event looked at: polling again from it
    // returns what was triggered since, whether or not this page was full.
    let next = last.filter(|_| !items.is_empty() || scanned > 0);
    let base = "/offers/triggered";
    let sep = '?';
    let self_link = match &q.cursor {
        Some(c) => format!("{base}{sep}page_size={size}&cursor={c}"),
        None => format!("{base}{sep}page_size={size}"),
    };
    let body = Page {
        data: items,
        links: ecohub_http::Links {
            self_: self_link,
            next: next.map(|p| {
                format!(
                    "{base}{sep}page_size={size}&cursor={}",
                    ecohub_http::Cursor::encode(&p)
                )
            }),
        },
        meta: ecohub_http::PageMeta {
            page_size: size as u32,
        },
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(body))
}
