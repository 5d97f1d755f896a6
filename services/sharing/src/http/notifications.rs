//! Event notifications: `/event-subscriptions` (a partner subscribes its registered
//! webhooks), `/event-deliveries` (its delivery log) and `/events` (RFC 8936 polling). All
//! need `webhooks:manage`; a partner only ever sees its own.

use std::collections::BTreeMap;

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use ecohub_http::{ApiError, ErrorCode, InteractionId, Page, PageQuery, Problem};
use ecohub_kernel::Timestamp;
use ecohub_security::{Authenticated, Principal, WebhooksManageScope};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
use utoipa::openapi::{RefOr, Schema};

use crate::application::{RequestContext, SharingState};
use crate::domain::notifications::{NOTIFICATION_TYPES, SubscriptionData};
use crate::notify::Poll;

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/event-subscriptions")
            .route(web::post().to(create))
            .route(web::get().to(list)),
    )
    .service(
        web::resource("/event-subscriptions/{id}")
            .route(web::get().to(show))
            .route(web::delete().to(remove)),
    )
    .service(web::resource("/event-deliveries").route(web::get().to(deliveries)))
    .service(web::resource("/events").route(web::post().to(poll)));
}

fn partner(principal: &Principal) -> Result<&str, ApiError> {
    principal.partner_id.as_deref().ok_or_else(|| {
        ApiError::new(ErrorCode::Forbidden).detail("only partners receive event notifications")
    })
}

/// A subscription request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionRequest {
    /// One of the partner's registered webhook URLs.
    pub url: String,
    /// The notification types (at least one; see [`NOTIFICATION_TYPES`]).
    #[schema(schema_with = notification_types)]
    pub event_types: Vec<String>,
}

/// The schema of a list of notification types: every type of [`NOTIFICATION_TYPES`], named.
fn notification_types() -> RefOr<Schema> {
    ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(NOTIFICATION_TYPES.iter().copied())),
        )
        .description(Some(
            "Notification types: `consent-authorised`, `consent-revoked`, `consent-expired`, \
             `data-updated` (records a consent you hold covers were published), \
             `partner-status-changed`, `offer-accepted` (a customer accepted an offer you \
             co-brand), `offer-available` (a financial moment made the bank offer a customer \
             something you co-brand).",
        ))
        .build()
        .into()
}

/// A subscription.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SubscriptionView {
    /// Its id.
    pub subscription_id: String,
    /// Where SETs are pushed.
    pub url: String,
    /// The notification types.
    pub event_types: Vec<String>,
    /// When it was created.
    pub created_at: Timestamp,
}

impl From<SubscriptionData> for SubscriptionView {
    fn from(d: SubscriptionData) -> Self {
        Self {
            subscription_id: d.subscription_id,
            url: d.url,
            event_types: d.event_types,
            created_at: d.created_at,
        }
    }
}

/// The partner's subscriptions.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SubscriptionList {
    /// Oldest first.
    pub data: Vec<SubscriptionView>,
}

/// Subscribe a registered webhook to event notifications.
#[utoipa::path(
    post,
    path = "/event-subscriptions",
    tag = "notifications",
    operation_id = "create_event_subscription",
    request_body = SubscriptionRequest,
    responses(
        (status = 201, description = "Subscribed", body = SubscriptionView),
        (status = 400, description = "Unknown event type or URL not registered (`invalid_request`), or bad body (`invalid_json`)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks `webhooks:manage` or is not a partner's", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body of another media type (`unsupported_media_type`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["webhooks:manage"])),
)]
pub(crate) async fn create(
    state: web::Data<SharingState>,
    auth: Authenticated<WebhooksManageScope>,
    interaction: InteractionId,
    body: web::Json<SubscriptionRequest>,
) -> Result<HttpResponse, ApiError> {
    let partner = partner(auth.principal())?;
    let body = body.into_inner();
    let ctx = RequestContext::acting_as(auth.principal().actor(), interaction);
    let sub = state
        .create_subscription(partner, body.url, body.event_types, &ctx)
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/event-subscriptions/{}", sub.subscription_id),
        ))
        .json(SubscriptionView::from(sub)))
}

/// List the partner's subscriptions.
#[utoipa::path(
    get,
    path = "/event-subscriptions",
    tag = "notifications",
    operation_id = "list_event_subscriptions",
    responses(
        (status = 200, description = "The partner's subscriptions", body = SubscriptionList),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks `webhooks:manage`", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["webhooks:manage"])),
)]
pub(crate) async fn list(
    state: web::Data<SharingState>,
    auth: Authenticated<WebhooksManageScope>,
) -> Result<HttpResponse, ApiError> {
    let partner = partner(auth.principal())?;
    let subs = state.subscriptions(partner).await?;
    Ok(HttpResponse::Ok().json(SubscriptionList {
        data: subs.into_iter().map(SubscriptionView::from).collect(),
    }))
}

/// Show one of the partner's subscriptions.
#[utoipa::path(
    get,
    path = "/event-subscriptions/{id}",
    tag = "notifications",
    operation_id = "show_event_subscription",
    params(("id" = String, Path, description = "The subscription's id")),
    responses(
        (status = 200, description = "The subscription", body = SubscriptionView),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks `webhooks:manage`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such subscription, or not the caller's", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["webhooks:manage"])),
)]
pub(crate) async fn show(
    state: web::Data<SharingState>,
    auth: Authenticated<WebhooksManageScope>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let partner = partner(auth.principal())?;
    let id = subscription_id(&path)?;
    let sub = state.subscription(partner, &id).await?;
    Ok(HttpResponse::Ok().json(SubscriptionView::from(sub)))
}

/// Delete one of the partner's subscriptions.
#[utoipa::path(
    delete,
    path = "/event-subscriptions/{id}",
    tag = "notifications",
    operation_id = "delete_event_subscription",
    params(("id" = String, Path, description = "The subscription's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks `webhooks:manage`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such subscription, or not the caller's", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["webhooks:manage"])),
)]
pub(crate) async fn remove(
    state: web::Data<SharingState>,
    auth: Authenticated<WebhooksManageScope>,
    interaction: InteractionId,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let partner = partner(auth.principal())?;
    let id = subscription_id(&path)?;
    let ctx = RequestContext::acting_as(auth.principal().actor(), interaction);
    state.delete_subscription(partner, &id, &ctx).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Subscription ids are UUIDs; anything else is simply not found (and never reaches a
/// stream name).
fn subscription_id(raw: &str) -> Result<String, ApiError> {
    uuid::Uuid::try_parse(raw)
        .map(|u| u.to_string())
        .map_err(|_| ApiError::not_found().detail("subscription not found"))
}

/// One push attempt.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DeliveryView {
    /// The SET's `jti`.
    pub jti: String,
    /// The subscription.
    pub subscription_id: String,
    /// The notification type.
    pub event_type: String,
    /// 1, 2, …
    pub attempt: u32,
    /// The receiver's HTTP status, if it answered.
    pub status: Option<u16>,
    /// Whether the receiver acknowledged (202).
    pub acknowledged: bool,
    /// What went wrong.
    pub error: Option<String>,
    /// When the next attempt is due.
    pub next_attempt_at: Option<Timestamp>,
    /// When.
    pub at: Timestamp,
}

/// The partner's delivery log: every push attempt, oldest notification first.
#[utoipa::path(
    get,
    path = "/event-deliveries",
    tag = "notifications",
    operation_id = "list_event_deliveries",
    params(PageQuery),
    responses(
        (status = 200, description = "A page of attempts", body = Page<DeliveryView>),
        (status = 400, description = "Malformed page size or cursor", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks `webhooks:manage`", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["webhooks:manage"])),
)]
pub(crate) async fn deliveries(
    state: web::Data<SharingState>,
    auth: Authenticated<WebhooksManageScope>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let partner = partner(auth.principal())?;
    let page_size = query.page_size()?;
    let after: Option<usize> = query.cursor()?;
    let start = after.map_or(0, |a| a + 1);
    let items: Vec<(usize, DeliveryView)> = state
        .deliveries(partner)
        .into_iter()
        .enumerate()
        .skip(start)
        .take(page_size as usize + 1)
        .map(|(i, l)| {
            (
                i,
                DeliveryView {
                    jti: l.jti,
                    subscription_id: l.subscription_id,
                    event_type: l.event_type,
                    attempt: l.attempt.attempt,
                    status: l.attempt.status,
                    acknowledged: l.attempt.acknowledged,
                    error: l.attempt.error,
                    next_attempt_at: l.attempt.next_attempt_at,
                    at: l.attempt.at,
                },
            )
        })
        .collect();
    let page = Page::from_overfetch(
        items,
        page_size,
        "/event-deliveries",
        query.cursor.as_deref(),
        |(i, _)| *i,
    );
    Ok(HttpResponse::Ok().json(Page {
        data: page.data.into_iter().map(|(_, v)| v).collect::<Vec<_>>(),
        links: page.links,
        meta: page.meta,
    }))
}

/// An RFC 8936 error report for one SET.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SetError {
    /// Error code (RFC 8935 §2.3: `invalid_request`, `invalid_key`, …).
    pub err: String,
    /// Human-readable description.
    #[serde(default)]
    pub description: String,
}

/// An RFC 8936 poll request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PollRequest {
    /// jtis of SETs received and accepted.
    #[serde(default)]
    pub ack: Vec<String>,
    /// jtis of SETs received but refused, with the error.
    #[serde(default, rename = "setErrs")]
    pub set_errs: BTreeMap<String, SetError>,
    /// Most SETs to return (default 10, at most 100; 0 only acknowledges).
    #[serde(
        default,
        rename = "maxEvents",
        deserialize_with = "ecohub_kernel::integer::option_u32"
    )]
    #[schema(maximum = 100)]
    pub max_events: Option<u32>,
    /// Answer at once even when nothing is pending (default false: wait a little).
    #[serde(default, rename = "returnImmediately")]
    pub return_immediately: bool,
}

/// An RFC 8936 poll response.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PollResponse {
    /// jti → signed SET.
    pub sets: BTreeMap<String, String>,
    /// Whether more SETs are pending.
    #[serde(rename = "moreAvailable")]
    pub more_available: bool,
}

/// Poll for pending SETs and acknowledge received ones (RFC 8936).
#[utoipa::path(
    post,
    path = "/events",
    tag = "notifications",
    operation_id = "poll_events",
    request_body = PollRequest,
    responses(
        (status = 200, description = "Pending SETs", body = PollResponse),
        (status = 400, description = "Malformed body or `maxEvents` over 100", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks `webhooks:manage`", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body of another media type (`unsupported_media_type`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["webhooks:manage"])),
)]
pub(crate) async fn poll(
    state: web::Data<SharingState>,
    auth: Authenticated<WebhooksManageScope>,
    interaction: InteractionId,
    body: web::Json<PollRequest>,
) -> Result<HttpResponse, ApiError> {
    let partner = partner(auth.principal())?;
    let body = body.into_inner();
    let max_events = body.max_events.unwrap_or(10);
    if max_events > 100 {
        return Err(
            ApiError::bad_request("maxEvents must be at most 100").field("/maxEvents", "over 100")
        );
    }
    let ctx = RequestContext::acting_as(auth.principal().actor(), interaction);
    let polled = state
        .poll(
            partner,
            Poll {
                ack: body.ack,
                set_errs: body
                    .set_errs
                    .into_iter()
                    .map(|(jti, e)| (jti, e.err, e.description))
                    .collect(),
                max_events: max_events as usize,
                return_immediately: body.return_immediately,
            },
            &ctx,
        )
        .await?;
    Ok(HttpResponse::Ok().json(PollResponse {
        sets: polled.sets,
        more_available: polled.more_available,
    }))
}
