//! The HTTP plumbing against the small app of `support`: problem bodies, interaction ids,
//! idempotency, extractor errors, pagination.

use actix_web::body::MessageBody;
use actix_web::dev::ServiceResponse;
use actix_web::http::StatusCode;
use actix_web::test;
use ecohub_http::ERROR_DOCS_URL;
use serde_json::{Value, json};

use crate::support::app;

async fn problem(res: ServiceResponse<impl MessageBody>) -> (StatusCode, Value) {
    let status = res.status();
    assert_eq!(
        res.headers().get("content-type").unwrap(),
        "application/problem+json",
        "error responses are problem+json"
    );
    assert!(res.headers().contains_key("x-fapi-interaction-id"));
    let body: Value = test::read_body_json(res).await;
    (status, body)
}

#[actix_web::test]
async fn interaction_id_is_echoed_generated_or_refused() {
    let app = test::init_service(app()).await;
    let id = "0b4f4c26-0d4f-4a1f-9d6c-6f8f2b8f0a11";
    let res = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/things/7")
            .insert_header(("x-fapi-interaction-id", id))
            .to_request(),
    )
    .await;
    assert_eq!(res.headers().get("x-fapi-interaction-id").unwrap(), id);
    let body: Value = test::read_body_json(res).await;
    assert_eq!(body["interaction"], id, "handlers see the same id");

    let res =
        test::call_service(&app, test::TestRequest::get().uri("/things/7").to_request()).await;
    let generated = res
        .headers()
        .get("x-fapi-interaction-id")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(uuid::Uuid::try_parse(generated).is_ok());

    let res = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/things/7")
            .insert_header(("x-fapi-interaction-id", "nope"))
            .to_request(),
    )
    .await;
    let (status, body) = problem(res).await;
    assert_eq!(status, 400);
    assert_eq!(body["code"], "invalid_interaction_id");
}

#[actix_web::test]
async fn extractor_and_routing_errors_are_problems() {
    let app = test::init_service(app()).await;
    let cases = [
        (
            test::TestRequest::post()
                .uri("/things")
                .insert_header(("content-type", "application/json"))
                .set_payload("{nope")
                .to_request(),
            400,
            "invalid_json",
        ),
        (
            test::TestRequest::post()
                .uri("/things")
                .set_json(json!({"nom": "x"}))
                .to_request(),
            400,
            "invalid_json",
        ),
        (
            test::TestRequest::post()
                .uri("/things")
                .insert_header(("content-type", "text/plain"))
                .set_payload("x")
                .to_request(),
            415,
            "unsupported_media_type",
        ),
        (
            test::TestRequest::post()
                .uri("/things")
                .set_json(json!({"name": "x".repeat(300_000)}))
                .to_request(),
            413,
            "payload_too_large",
        ),
        (
            test::TestRequest::post()
                .uri("/things")
                .set_json(json!({"name": ""}))
                .to_request(),
            400,
            "invalid_request",
        ),
        (
            test::TestRequest::get().uri("/things/abc").to_request(),
            400,
            "invalid_path",
        ),
        (
            test::TestRequest::get()
                .uri("/things?page_size=x")
                .to_request(),
            400,
            "invalid_query",
        ),
        (
            test::TestRequest::get()
                .uri("/things?page_size=0")
                .to_request(),
            400,
            "invalid_query",
        ),
        (
            test::TestRequest::get()
                .uri("/things?cursor=zzz")
                .to_request(),
            400,
            "invalid_cursor",
        ),
        (
            test::TestRequest::get().uri("/nowhere").to_request(),
            404,
            "not_found",
        ),
        (
            test::TestRequest::delete().uri("/things").to_request(),
            405,
            "method_not_allowed",
        ),
        (
            test::TestRequest::get().uri("/boom").to_request(),
            500,
            "internal_error",
        ),
    ];
    for (req, status, code) in cases {
        let uri = req.uri().to_string();
        let res = test::call_service(&app, req).await;
        let (got, body) = problem(res).await;
        assert_eq!(got.as_u16(), status, "{uri}: {body}");
        assert_eq!(body["code"], code, "{uri}: {body}");
        assert_eq!(body["status"], status, "{uri}");
        assert_eq!(body["type"], format!("{ERROR_DOCS_URL}#{code}"), "{uri}");
        assert!(
            body["interaction_id"].is_string(),
            "{uri}: the body quotes the interaction id"
        );
        assert!(
            !body.to_string().contains("secret"),
            "{uri}: 5xx bodies leak nothing"
        );
    }
}

#[actix_web::test]
async fn field_errors_are_listed() {
    let app = test::init_service(app()).await;
    let res = test::call_service(
        &app,
        test::TestRequest::post()
            .uri("/things")
            .set_json(json!({"name": ""}))
            .to_request(),
    )
    .await;
    let (_, body) = problem(res).await;
    assert_eq!(
        body["errors"],
        json!([{"field": "/name", "message": "is empty"}])
    );
    assert_eq!(body["detail"], "name must not be empty");
}

#[actix_web::test]
async fn idempotency_replays_same_request_and_refuses_a_different_one() {
    let app = test::init_service(app()).await;
    let post = |key: &str, name: &str| {
        test::TestRequest::post()
            .uri("/things")
            .insert_header(("x-idempotency-key", key.to_owned()))
            .set_json(json!({ "name": name }))
            .to_request()
    };
    let first = test::call_service(&app, post("key-1", "a")).await;
    assert_eq!(first.status(), 201);
    assert_eq!(first.headers().get("location").unwrap(), "/things/1");
    let first_body: Value = test::read_body_json(first).await;

    let again = test::call_service(&app, post("key-1", "a")).await;
    assert_eq!(again.status(), 201);
    assert_eq!(
        again.headers().get("x-idempotent-replayed").unwrap(),
        "true"
    );
    assert_eq!(again.headers().get("location").unwrap(), "/things/1");
    let again_body: Value = test::read_body_json(again).await;
    assert_eq!(again_body, first_body, "the replay is the same response");

    let different = test::call_service(&app, post("key-1", "b")).await;
    let (status, body) = problem(different).await;
    assert_eq!(status, 409);
    assert_eq!(body["code"], "idempotency_key_reused");

    let other_key = test::call_service(&app, post("key-2", "a")).await;
    let body: Value = test::read_body_json(other_key).await;
    assert_eq!(body["id"], 2, "a new key runs the handler");

    let too_long = test::call_service(&app, post(&"k".repeat(41), "a")).await;
    let (status, body) = problem(too_long).await;
    assert_eq!(status, 400);
    assert_eq!(body["code"], "invalid_idempotency_key");

    // without a key, every POST runs
    let plain = test::call_service(
        &app,
        test::TestRequest::post()
            .uri("/things")
            .set_json(json!({"name": "a"}))
            .to_request(),
    )
    .await;
    let body: Value = test::read_body_json(plain).await;
    assert_eq!(body["id"], 3);
}

/// A replay repeats the headers the first answer's status requires: a replayed 405 still
/// says `Allow` (Schemathesis found `PUT /data/{dataset}/records` replayed without it).
#[actix_web::test]
async fn idempotency_replays_keep_the_headers_the_status_requires() {
    let app = test::init_service(app()).await;
    let put = || {
        test::TestRequest::put()
            .uri("/things")
            .insert_header(("x-idempotency-key", "put-1"))
            .set_json(json!({ "name": "a" }))
            .to_request()
    };
    let first = test::call_service(&app, put()).await;
    assert_eq!(first.status(), 405);
    let allow = first
        .headers()
        .get("allow")
        .cloned()
        .expect("405 says Allow");
    let again = test::call_service(&app, put()).await;
    assert_eq!(again.status(), 405);
    assert_eq!(
        again.headers().get("x-idempotent-replayed").unwrap(),
        "true"
    );
    assert_eq!(again.headers().get("allow"), Some(&allow));
}

#[actix_web::test]
async fn idempotency_keys_are_scoped_to_the_caller() {
    let app = test::init_service(app()).await;
    let post = |auth: &str| {
        test::TestRequest::post()
            .uri("/things")
            .insert_header(("x-idempotency-key", "shared"))
            .insert_header(("authorization", auth.to_owned()))
            .set_json(json!({ "name": "x" }))
            .to_request()
    };
    let a: Value = test::read_body_json(test::call_service(&app, post("Bearer a")).await).await;
    let b: Value = test::read_body_json(test::call_service(&app, post("Bearer b")).await).await;
    assert_ne!(a["id"], b["id"], "two callers' keys never collide");
}

#[actix_web::test]
async fn cursor_pagination_walks_every_item_once() {
    let app = test::init_service(app()).await;
    let mut uri = "/things?page_size=4".to_owned();
    let mut seen = Vec::new();
    for _ in 0..10 {
        let res = test::call_service(&app, test::TestRequest::get().uri(&uri).to_request()).await;
        assert_eq!(res.status(), 200);
        let page: Value = test::read_body_json(res).await;
        seen.extend(
            page["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap()),
        );
        match page["links"]["next"].as_str() {
            Some(next) => uri = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(seen, (1..=10).collect::<Vec<u64>>());
}
