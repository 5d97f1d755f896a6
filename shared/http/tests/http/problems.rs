//! Snapshots of the error bodies: one per code of the error table, each produced the way a
//! client meets it (the plumbing's own refusals through real requests; the codes services
//! raise through `/raise/<code>`, built as they build them). One table of cases, one
//! runner; the interaction id, different on every request, is redacted. A changed body
//! fails here: review it (`cargo insta review`, or `INSTA_UPDATE=always` and read the diff)
//! — clients depend on these bodies.

use std::collections::BTreeMap;
use std::sync::Arc;

use actix_web::test::{self, TestRequest};
use ecohub_http::idempotency::{Claim, IdempotencyStore, StoredResponse};
use ecohub_http::{ErrorCode, IdempotencyConfig, InMemoryIdempotencyStore};
use serde_json::{Value, json};

use crate::support::app_on;

/// One row: the code, and the requests that make the app answer it (the last one's answer
/// is the snapshot).
struct Case {
    code: ErrorCode,
    requests: fn() -> Vec<TestRequest>,
}

fn get(uri: &str) -> TestRequest {
    TestRequest::get().uri(uri)
}

fn post_thing(name: &str) -> TestRequest {
    TestRequest::post()
        .uri("/things")
        .set_json(json!({ "name": name }))
}

fn keyed(key: &str, name: &str) -> TestRequest {
    post_thing(name).insert_header(("x-idempotency-key", key.to_owned()))
}

/// Every code, in the table's order.
const CASES: &[Case] = &[
    Case {
        code: ErrorCode::InvalidRequest,
        requests: || vec![post_thing("")],
    },
    Case {
        code: ErrorCode::InvalidJson,
        requests: || {
            vec![
                TestRequest::post()
                    .uri("/things")
                    .insert_header(("content-type", "application/json"))
                    .set_payload("{nope"),
            ]
        },
    },
    Case {
        code: ErrorCode::InvalidQuery,
        requests: || vec![get("/things?page_size=0")],
    },
    Case {
        code: ErrorCode::InvalidPath,
        requests: || vec![get("/things/abc")],
    },
    Case {
        code: ErrorCode::InvalidCursor,
        requests: || vec![get("/things?cursor=zzz")],
    },
    Case {
        code: ErrorCode::InvalidInteractionId,
        requests: || vec![get("/things/7").insert_header(("x-fapi-interaction-id", "nope"))],
    },
    Case {
        code: ErrorCode::InvalidIdempotencyKey,
        requests: || vec![keyed(&"k".repeat(41), "a")],
    },
    Case {
        code: ErrorCode::Unauthorized,
        requests: || vec![get("/raise/unauthorized")],
    },
    Case {
        code: ErrorCode::InvalidToken,
        requests: || vec![get("/raise/invalid_token")],
    },
    Case {
        code: ErrorCode::InvalidDpopProof,
        requests: || vec![get("/raise/invalid_dpop_proof")],
    },
    Case {
        code: ErrorCode::Forbidden,
        requests: || vec![get("/raise/forbidden")],
    },
    Case {
        code: ErrorCode::ConsentRequired,
        requests: || vec![get("/raise/consent_required")],
    },
    Case {
        code: ErrorCode::CustomerObjected,
        requests: || vec![get("/raise/customer_objected")],
    },
    Case {
        code: ErrorCode::InsufficientScope,
        requests: || vec![get("/raise/insufficient_scope")],
    },
    Case {
        code: ErrorCode::NotFound,
        requests: || vec![get("/nowhere")],
    },
    Case {
        code: ErrorCode::MethodNotAllowed,
        requests: || vec![TestRequest::delete().uri("/things")],
    },
    Case {
        code: ErrorCode::NotAcceptable,
        requests: || vec![get("/bare/406")],
    },
    Case {
        code: ErrorCode::RequestTimeout,
        requests: || vec![get("/bare/408")],
    },
    Case {
        code: ErrorCode::ConcurrencyConflict,
        requests: || vec![get("/raise/concurrency_conflict")],
    },
    Case {
        code: ErrorCode::Conflict,
        requests: || vec![get("/raise/conflict")],
    },
    Case {
        code: ErrorCode::IdempotencyKeyReused,
        requests: || vec![keyed("once", "a"), keyed("once", "b")],
    },
    Case {
        code: ErrorCode::IdempotencyInProgress,
        requests: || vec![keyed(BUSY, "a")],
    },
    Case {
        code: ErrorCode::PayloadTooLarge,
        requests: || vec![post_thing(&"x".repeat(300_000))],
    },
    Case {
        code: ErrorCode::UnsupportedMediaType,
        requests: || {
            vec![
                TestRequest::post()
                    .uri("/things")
                    .insert_header(("content-type", "text/plain"))
                    .set_payload("x"),
            ]
        },
    },
    Case {
        code: ErrorCode::RateLimited,
        requests: || vec![keyed(FULL, "a")],
    },
    Case {
        code: ErrorCode::Internal,
        requests: || vec![get("/boom")],
    },
    Case {
        code: ErrorCode::ServiceUnavailable,
        requests: || vec![get("/raise/service_unavailable")],
    },
];

/// The idempotency key whose request is always still in flight.
const BUSY: &str = "busy";
/// The idempotency key the store has no room for.
const FULL: &str = "full";

/// The in-memory store, except that [`BUSY`] is always in flight and [`FULL`] finds the store
/// full.
struct Scripted(InMemoryIdempotencyStore);

impl IdempotencyStore for Scripted {
    fn claim(&self, key: &str, fingerprint: [u8; 32]) -> Claim {
        match key.rsplit(':').next() {
            Some(BUSY) => Claim::InProgress,
            Some(FULL) => Claim::Full,
            _ => self.0.claim(key, fingerprint),
        }
    }

    fn complete(&self, key: &str, fingerprint: [u8; 32], response: StoredResponse) {
        self.0.complete(key, fingerprint, response);
    }

    fn release(&self, key: &str) {
        self.0.release(key);
    }
}

/// The headers a client acts on (the interaction id is checked against the body instead).
const HEADERS: [&str; 3] = ["content-type", "retry-after", "www-authenticate"];

#[actix_web::test]
async fn every_code_has_a_snapshot_of_its_body() {
    let codes: Vec<ErrorCode> = CASES.iter().map(|c| c.code).collect();
    assert_eq!(
        codes,
        ErrorCode::ALL,
        "one case per code, in the table's order"
    );

    let store = Scripted(InMemoryIdempotencyStore::new(IdempotencyConfig::default()));
    let app = test::init_service(app_on(Arc::new(store))).await;
    for case in CASES {
        let code = case.code.code();
        let mut answer = None;
        for req in (case.requests)() {
            answer = Some(test::call_service(&app, req.to_request()).await);
        }
        let res = answer.expect("every case sends a request");
        let status = res.status().as_u16();
        let headers: BTreeMap<&str, &str> = HEADERS
            .iter()
            .filter_map(|&h| Some((h, res.headers().get(h)?.to_str().ok()?)))
            .collect();
        let headers = serde_json::to_value(headers).unwrap();
        let interaction = res
            .headers()
            .get("x-fapi-interaction-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let mut body: Value = test::read_body_json(res).await;
        assert_eq!(body["code"], code, "{body}");
        assert_eq!(status, case.code.status().as_u16(), "{body}");
        assert_eq!(
            body["interaction_id"].as_str(),
            interaction.as_deref(),
            "{code}: the body quotes the response's interaction id"
        );
        // Redacted: it differs on every request (checked against the header above).
        body["interaction_id"] = json!("[interaction_id]");
        insta::assert_json_snapshot!(
            code,
            json!({ "status": status, "headers": headers, "body": body })
        );
    }
}
