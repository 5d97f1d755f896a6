//! Decisions and responses: the bank's channels (`offers:decide`) ask which offers to show a
//! customer and report what the customer did; the signed-in customer sees their open offers
//! and accepts or declines them (session, `x-csrf-token`).

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use ecohub_http::{ApiError, ErrorCode, InteractionId, Problem};
use ecohub_kernel::{RequestContext, Timestamp};
use ecohub_security::{Authenticated, CustomerSession, OffersDecideScope};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::application::OffersState;
use crate::decisions::{Decision, DecisionRequest};
use crate::domain::{Channel, OfferId, OfferRecord, Reporter, Response};

type Channels = Authenticated<OffersDecideScope>;

/// What a channel asks.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"customer_id": "0190f5c2-8b1e-7c3a-9d4f-2a6b8c0e1f35", "channel": "bank_app",
    "placement": "home_banner", "params": {"amount": 15000}, "max_offers": 3}))]
pub struct DecisionBody {
    /// The bank's customer id.
    #[schema(min_length = 1, max_length = 128, pattern = r"^[\x21-\x7E]{1,128}$")]
    pub customer_id: String,
    /// The channel the offers are for.
    pub channel: Channel,
    /// The slot in the channel.
    #[schema(min_length = 1, max_length = 40, pattern = "^[a-z0-9_]{1,40}$")]
    pub placement: String,
    /// Request parameters (`amount`, `term_months`), checked against each proposition's
    /// schema (a proposition they do not fit is held back with `params_invalid`).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub params: Map<String, Value>,
    /// At most this many offers (default 3; more than `offers.max_offers_per_decision`, 10 by
    /// default, is lowered to it).
    #[serde(default = "three")]
    #[schema(minimum = 1, maximum = 100)]
    pub max_offers: u32,
    /// Also list every published proposition held back, with the first reason (needs
    /// `offers:manage` besides `offers:decide`).
    #[serde(default)]
    pub explain: bool,
}

fn three() -> u32 {
    3
}

fn customer_ok(id: &str) -> Result<(), ApiError> {
    if (1..=128).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(())
    } else {
        Err(
            ApiError::bad_request("/customer_id: must be 1 to 128 visible ASCII characters")
                .field("/customer_id", "must be 1 to 128 visible ASCII characters"),
        )
    }
}

/// Decides which offers to show a customer in a channel: every published proposition is
/// evaluated, the available ones ranked by priority × business value × acceptance
/// propensity, and the contact policies applied on the customer's ledger (exact across
/// instances). Each offer is recorded (`OfferPresented`) before the answer.
#[utoipa::path(
    post, path = "/offers/decisions", tag = "offer-decisions", operation_id = "decide_offers",
    request_body = DecisionBody,
    responses(
        (status = 200, description = "The offers, best first, each with its price, benefits and explanation", body = Decision),
        (status = 400, description = "Invalid input; the failing path is named (`invalid_request`), or a body that is not the expected JSON (`invalid_json`)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks `offers:decide` (or `offers:manage` for `explain`)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body of another media type", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Event store unavailable, or too many concurrent decisions for this customer", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["offers:decide"])),
)]
pub(crate) async fn decide(
    state: web::Data<OffersState>,
    auth: Channels,
    interaction: InteractionId,
    body: web::Json<DecisionBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    customer_ok(&body.customer_id)?;
    if body.explain && !auth.principal().has_scope("offers:manage") {
        return Err(ApiError::new(ErrorCode::InsufficientScope)
            .detail("explain needs offers:manage besides offers:decide"));
    }
    let ctx = RequestContext::acting_as(auth.principal().actor(), interaction);
    let decision = state
        .decide(
            DecisionRequest {
                customer_id: body.customer_id,
                channel: body.channel,
                placement: body.placement,
                params: body.params,
                max_offers: body.max_offers,
                explain: body.explain,
                co_brand: None,
                trigger: None,
            },
            &ctx,
        )
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(decision))
}

/// A response to an offer, as a channel reports it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResponseBody {
    /// The customer the offer was made to.
    #[schema(min_length = 1, max_length = 128, pattern = r"^[\x21-\x7E]{1,128}$")]
    pub customer_id: String,
    /// The offer (from the decision).
    #[schema(value_type = String, format = Uuid)]
    pub offer_id: Uuid,
    /// `viewed`, `accepted` or `declined`.
    pub response: Response,
}

/// Where an offer stands.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OfferStatusView {
    /// The offer.
    #[schema(value_type = String, format = Uuid)]
    pub offer_id: String,
    /// The proposition.
    #[schema(value_type = String, format = Uuid)]
    pub proposition_id: String,
    /// Its version.
    pub version: u32,
    /// The bank product's code.
    pub product_code: String,
    /// Where it was presented.
    pub channel: Channel,
    /// The price offered: rate, percent.
    pub rate_percent: f64,
    /// Commission, percent.
    pub commission_percent: f64,
    /// Fees.
    pub fees: f64,
    /// `presented`, `viewed`, `accepted`, `declined` or `expired`.
    pub status: String,
    /// When it was presented.
    #[schema(value_type = String, format = DateTime)]
    pub presented_at: Timestamp,
    /// When it last changed.
    #[schema(value_type = String, format = DateTime)]
    pub changed_at: Timestamp,
    /// Until when the customer may respond.
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: Timestamp,
}

impl OfferStatusView {
    pub(crate) fn of(r: &OfferRecord, now: Timestamp) -> Self {
        let o = &r.offer;
        Self {
            offer_id: o.offer_id.to_string(),
            proposition_id: o.proposition_id.to_string(),
            version: o.version,
            product_code: o.product_code.clone(),
            channel: o.channel,
            rate_percent: o.price.rate_percent,
            commission_percent: o.price.commission_percent,
            fees: o.price.fees,
            status: r.status_at(now).as_str().to_owned(),
            presented_at: r.presented_at,
            changed_at: r.changed_at,
            expires_at: o.expires_at,
        }
    }
}

/// Records a customer's response to an offer, reported by the channel. The same response
/// again changes nothing (idempotent by offer; `x-idempotency-key` replays the first answer).
#[utoipa::path(
    post, path = "/offers/responses", tag = "offer-decisions", operation_id = "report_offer_response",
    params(("x-idempotency-key" = Option<String>, Header, description = "Replays the first response for the same body (1 to 40 visible ASCII characters)", min_length = 1, max_length = 40, pattern = r"^[\x21-\x7E]{1,40}$")),
    request_body = ResponseBody,
    responses(
        (status = 200, description = "Recorded (or already so)", body = OfferStatusView),
        (status = 400, description = "Invalid input (`invalid_request`, `invalid_json`, `invalid_idempotency_key`)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks `offers:decide`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such offer for this customer", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The offer was already answered otherwise, or expired (`conflict`), a concurrent change (`concurrency_conflict`), or the idempotency key was reused (`idempotency_key_reused`, `idempotency_in_progress`)", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body of another media type", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Event store unavailable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["offers:decide"])),
)]
pub(crate) async fn report(
    state: web::Data<OffersState>,
    auth: Channels,
    interaction: InteractionId,
    body: web::Json<ResponseBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    customer_ok(&body.customer_id)?;
    let ctx = RequestContext::acting_as(auth.principal().actor(), interaction);
    let record = state
        .respond(
            &body.customer_id,
            OfferId::from_uuid(body.offer_id),
            body.response,
            Reporter::Channel,
            &ctx,
        )
        .await?;
    Ok(HttpResponse::Ok().json(OfferStatusView::of(&record, state.clock.now())))
}

/// The customer's offers, newest first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MyOffers {
    /// Open offers (presented or viewed, not expired).
    pub offers: Vec<OfferStatusView>,
}

/// The signed-in customer's open offers (presented or viewed, not expired), newest first.
#[utoipa::path(
    get, path = "/customer/offers", tag = "customer-offers", operation_id = "list_my_offers",
    responses(
        (status = 200, description = "The open offers", body = MyOffers),
        (status = 401, description = "No customer session (`unauthorized`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Event store unavailable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("customer_session" = [])),
)]
pub(crate) async fn mine(
    state: web::Data<OffersState>,
    session: CustomerSession,
) -> Result<HttpResponse, ApiError> {
    let customer = super::customer::customer_of(&session)?;
    let ledger = state.ledger(customer).await?;
    let now = state.clock.now();
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(MyOffers {
            offers: ledger
                .open_offers(now)
                .map(|r| OfferStatusView::of(r, now))
                .collect(),
        }))
}

/// The customer's answer to one of their offers.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MyResponseBody {
    /// `viewed`, `accepted` or `declined`.
    pub response: Response,
}

/// The signed-in customer accepts, declines or has seen one of their offers. Requires the
/// session's CSRF token in `x-csrf-token`.
#[utoipa::path(
    post, path = "/customer/offers/{offer_id}/response", tag = "customer-offers", operation_id = "respond_to_my_offer",
    params(
        ("offer_id" = Uuid, Path, description = "The offer"),
        ("x-csrf-token" = String, Header, description = "The session's CSRF token"),
    ),
    request_body = MyResponseBody,
    responses(
        (status = 200, description = "Recorded (or already so)", body = OfferStatusView),
        (status = 400, description = "Invalid input (`invalid_request`, `invalid_json`), or the offer id is not a UUID (`invalid_path`)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No customer session (`unauthorized`)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "CSRF token missing or wrong (`forbidden`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such offer of this customer", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already answered otherwise, or expired (`conflict`)", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body of another media type", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Event store unavailable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("customer_session" = [])),
)]
pub(crate) async fn respond_mine(
    state: web::Data<OffersState>,
    session: CustomerSession,
    req: HttpRequest,
    interaction: InteractionId,
    path: web::Path<Uuid>,
    body: web::Json<MyResponseBody>,
) -> Result<HttpResponse, actix_web::Error> {
    session.check_csrf_header(&req)?;
    let customer = super::customer::customer_of(&session)?;
    let ctx = RequestContext::customer(customer, interaction);
    let record = state
        .respond(
            customer,
            OfferId::from_uuid(path.into_inner()),
            body.into_inner().response,
            Reporter::Customer,
            &ctx,
        )
        .await
        .map_err(ApiError::from)?;
    Ok(HttpResponse::Ok().json(OfferStatusView::of(&record, state.clock.now())))
}
