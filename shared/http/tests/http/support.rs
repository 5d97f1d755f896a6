//! The small actix app every test of this binary drives: the whole plumbing (interaction
//! ids, problem fallback, idempotency, extractor configs) around a few handlers.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::from_fn;
use actix_web::{App, HttpResponse, web};
use ecohub_http::{
    ApiError, ErrorCode, IdempotencyConfig, InMemoryIdempotencyStore, InteractionId, Page,
    PageQuery, SharedIdempotencyStore,
};
use serde::Deserialize;
use serde_json::json;

#[derive(Debug, Deserialize)]
struct CreateThing {
    name: String,
}

#[derive(Default)]
struct Counter(AtomicUsize);

async fn create(
    body: web::Json<CreateThing>,
    counter: web::Data<Counter>,
) -> Result<HttpResponse, ApiError> {
    if body.name.is_empty() {
        return Err(ApiError::bad_request("name must not be empty").field("/name", "is empty"));
    }
    let n = counter.0.fetch_add(1, Ordering::SeqCst) + 1;
    Ok(HttpResponse::Created()
        .insert_header(("location", format!("/things/{n}")))
        .json(json!({ "id": n, "name": body.name })))
}

async fn boom() -> Result<HttpResponse, ApiError> {
    Err(ApiError::internal(std::io::Error::other(
        "secret database password leaked",
    )))
}

/// A bare status, as actix or a handler outside our conventions would answer it (the
/// fallback turns it into a problem).
async fn bare(path: web::Path<u16>) -> HttpResponse {
    HttpResponse::new(StatusCode::from_u16(path.into_inner()).unwrap_or(StatusCode::IM_A_TEAPOT))
}

/// The error a service raises for `code`, built as the services build it (the security
/// extractors' challenges, the services' refusals), for the codes this crate never raises
/// itself.
async fn raise(path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let challenge = |v: &'static str| (header::WWW_AUTHENTICATE, HeaderValue::from_static(v));
    let with = |e: ApiError, (name, value)| e.header(name, value);
    Err(match path.as_str() {
        "unauthorized" => with(
            ApiError::new(ErrorCode::Unauthorized).detail("an access token is required"),
            challenge("Bearer realm=\"ecohub\""),
        ),
        "invalid_token" => with(
            ApiError::new(ErrorCode::InvalidToken).detail("the access token is not valid"),
            challenge("Bearer realm=\"ecohub\", error=\"invalid_token\""),
        ),
        "invalid_dpop_proof" => with(
            ApiError::new(ErrorCode::InvalidDpopProof).detail("the DPoP proof is not valid"),
            challenge(
                "DPoP realm=\"ecohub\", error=\"invalid_dpop_proof\", algs=\"ES256 PS256 EdDSA\"",
            ),
        ),
        "consent_required" => ApiError::new(ErrorCode::ConsentRequired)
            .detail("the customer has no authorised consent that lets this partner share moments with the bank"),
        "customer_objected" => ApiError::new(ErrorCode::CustomerObjected)
            .detail("the customer objected to personalised offers"),
        "forbidden" => {
            ApiError::new(ErrorCode::Forbidden).detail("only partner clients manage consents")
        }
        "insufficient_scope" => with(
            ApiError::new(ErrorCode::InsufficientScope).detail("the audit scope is required"),
            challenge("Bearer realm=\"ecohub\", error=\"insufficient_scope\", scope=\"audit\""),
        ),
        "concurrency_conflict" => ApiError::new(ErrorCode::ConcurrencyConflict)
            .detail("the consent was changed by another request; re-read and retry"),
        "conflict" => {
            ApiError::new(ErrorCode::Conflict).detail("cannot revoke a consent that is Revoked")
        }
        "service_unavailable" => {
            ApiError::unavailable(std::io::Error::other("secret store host unreachable"))
        }
        _ => ApiError::not_found().detail("no such example"),
    })
}

async fn by_id(path: web::Path<u32>, id: InteractionId) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "id": path.into_inner(), "interaction": id.to_string() }))
}

async fn list(query: web::Query<PageQuery>) -> Result<HttpResponse, ApiError> {
    let size = query.page_size()?;
    let after: u32 = query.cursor::<u32>()?.unwrap_or(0);
    let items: Vec<u32> = (after + 1..=10).take(size as usize + 1).collect();
    Ok(HttpResponse::Ok().json(Page::from_overfetch(
        items,
        size,
        "/things",
        query.cursor.as_deref(),
        |n| *n,
    )))
}

/// The app over an in-memory idempotency store.
pub fn app() -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let store: SharedIdempotencyStore =
        Arc::new(InMemoryIdempotencyStore::new(IdempotencyConfig::default()));
    app_on(store)
}

/// The app over `store`.
pub fn app_on(
    store: SharedIdempotencyStore,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    App::new()
        .app_data(web::Data::new(Counter::default()))
        .app_data(web::Data::new(store))
        .app_data(web::Data::new(IdempotencyConfig::default()))
        .app_data(ecohub_http::json_config())
        .app_data(ecohub_http::query_config())
        .app_data(ecohub_http::path_config())
        .service(
            web::resource("/things")
                .route(web::post().to(create))
                .route(web::get().to(list)),
        )
        .route("/things/{id}", web::get().to(by_id))
        .route("/boom", web::get().to(boom))
        .route("/bare/{status}", web::get().to(bare))
        .route("/raise/{code}", web::get().to(raise))
        .wrap(from_fn(ecohub_http::idempotency))
        .wrap(from_fn(ecohub_http::problem_fallback))
        .wrap(from_fn(ecohub_http::interaction_id))
}
