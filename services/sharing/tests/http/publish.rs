use serde_json::json;

use crate::support::*;

#[actix_web::test]
async fn the_bank_publishes_and_records_are_stored_under_hashed_streams() {
    let app = TestApp::new().await;
    let res = app
        .bank_publishes(
            "accounts",
            CUSTOMER,
            &[("a1", account("a1")), ("a2", account("a2"))],
        )
        .await;
    assert_eq!(res.body, json!({"stored": 2, "unchanged": 0}));
    let events = app.events("records-").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event_type, "RecordsPublished");
    // Personal data never in stream names or metadata.
    for e in &events {
        assert!(!e.stream.contains(CUSTOMER), "{}", e.stream);
        let meta = serde_json::to_string(&e.metadata).unwrap();
        assert!(
            !meta.contains(CUSTOMER) && !meta.contains("Lovelace"),
            "{meta}"
        );
    }
}

#[actix_web::test]
async fn publishing_is_idempotent_by_record_id_and_by_idempotency_key() {
    let app = TestApp::new().await;
    app.bank_publishes("accounts", CUSTOMER, &[("a1", account("a1"))])
        .await;
    let head = app.head().await;
    let res = app
        .bank_publishes("accounts", CUSTOMER, &[("a1", account("a1"))])
        .await;
    assert_eq!(res.body, json!({"stored": 0, "unchanged": 1}));
    assert_eq!(app.head().await, head, "an unchanged record writes nothing");
    let mut changed = account("a1");
    changed["nickname"] = json!("Savings");
    let res = app
        .bank_publishes(
            "accounts",
            CUSTOMER,
            &[("a1", changed), ("a3", account("a3"))],
        )
        .await;
    assert_eq!(res.body, json!({"stored": 2, "unchanged": 0}));

    let body = json!({"customer_id": CUSTOMER, "records": [{"id": "a9", "data": account("a9")}]});
    let send = || {
        actix_web::test::TestRequest::post()
            .uri("/data/accounts/records")
            .insert_header(("x-idempotency-key", "key-1"))
            .set_json(body.clone())
    };
    let first = app.send(with_token(send(), Some(BANK_TOKEN))).await;
    assert_eq!(first.status, 200);
    app.settled().await;
    let head = app.head().await;
    let replay = app.send(with_token(send(), Some(BANK_TOKEN))).await;
    assert_eq!(replay.status, 200);
    assert_eq!(replay.header("x-idempotent-replayed"), Some("true"));
    assert_eq!(app.head().await, head);
}

#[actix_web::test]
async fn a_record_breaking_the_schema_is_refused_with_its_path_and_nothing_is_written() {
    let app = TestApp::new().await;
    let head = app.head().await;
    let mut bad = account("a2");
    bad["currency"] = json!("euro");
    let res = app
        .post(
            "/data/accounts/records",
            Some(BANK_TOKEN),
            json!({"customer_id": CUSTOMER, "records": [{"id": "a1", "data": account("a1")}, {"id": "a2", "data": bad}]}),
        )
        .await;
    res.problem(400, "invalid_request");
    assert_eq!(res.fields(), ["/records/1/data/currency"]);
    let mut extra = account("a1");
    extra["secret"] = json!("x");
    let res = app
        .post(
            "/data/accounts/records",
            Some(BANK_TOKEN),
            json!({"customer_id": CUSTOMER, "records": [{"id": "a1", "data": extra}]}),
        )
        .await;
    res.problem(400, "invalid_request");
    assert_eq!(res.fields(), ["/records/0/data"]);
    let res = app
        .post(
            "/data/accounts/records",
            Some(BANK_TOKEN),
            json!({"customer_id": CUSTOMER, "records": []}),
        )
        .await;
    res.problem(400, "invalid_request");
    assert_eq!(res.fields(), ["/records"]);
    let res = app
        .post(
            "/data/accounts/records",
            Some(BANK_TOKEN),
            json!({"customer_id": CUSTOMER, "records": [{"id": "a1", "data": account("a1")}, {"id": "a1", "data": account("a1")}]}),
        )
        .await;
    res.problem(400, "invalid_request");
    assert_eq!(res.fields(), ["/records/1/id"]);
    app.post(
        "/data/accounts/records",
        Some(BANK_TOKEN),
        json!({"records": []}),
    )
    .await
    .problem(400, "invalid_json");
    assert_eq!(app.head().await, head);
}

#[actix_web::test]
async fn only_providers_of_a_dataset_publish_it() {
    let app = TestApp::new().await;
    let head = app.head().await;
    let body = json!({"customer_id": CUSTOMER_AT_TRAVELCO, "records": [{"id": "a1", "data": account("a1")}]});
    app.post(
        "/data/accounts/records",
        Some(&provider_token(TRAVELCO)),
        body.clone(),
    )
    .await
    .problem(403, "forbidden");
    app.post("/data/accounts/records", Some(ADMIN_TOKEN), body.clone())
        .await
        .problem(403, "insufficient_scope");
    app.post(
        "/data/accounts/records",
        Some(&recipient_token(RECIPIENT, "c1")),
        body.clone(),
    )
    .await
    .problem(403, "insufficient_scope");
    app.post("/data/nope/records", Some(BANK_TOKEN), body.clone())
        .await
        .problem(404, "not_found");
    // The bank cannot publish a partner dataset, a partner cannot for an unknown customer.
    let profile = json!({"customer_id": CUSTOMER, "records": [{"id": "p1", "data": {"home_airport": "MUC"}}]});
    app.post("/data/travel_profile/records", Some(BANK_TOKEN), profile)
        .await
        .problem(403, "forbidden");
    let unknown = json!({"customer_id": "pw-nobody", "records": [{"id": "p1", "data": {"home_airport": "MUC"}}]});
    app.post(
        "/data/travel_profile/records",
        Some(&provider_token(TRAVELCO)),
        unknown,
    )
    .await
    .problem(404, "not_found");
    assert_eq!(app.head().await, head);
    // Once the customer is known to the partner, the same publication goes through.
    app.customers
        .0
        .lock()
        .unwrap()
        .insert((TRAVELCO.into(), "pw-nobody".into()), OTHER_CUSTOMER.into());
    let known = json!({"customer_id": "pw-nobody", "records": [{"id": "p1", "data": {"home_airport": "MUC"}}]});
    let res = app
        .post(
            "/data/travel_profile/records",
            Some(&provider_token(TRAVELCO)),
            known,
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
}

#[actix_web::test]
async fn a_partner_publishes_with_pairwise_ids_resolved_to_the_customer() {
    let app = TestApp::new().await;
    let res = app
        .post(
            "/data/travel_profile/records",
            Some(&provider_token(TRAVELCO)),
            json!({"customer_id": CUSTOMER_AT_TRAVELCO, "records": [{"id": "p1", "data": {"home_airport": "MUC", "seat_preference": "aisle"}}]}),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    app.caught_up().await;
    app.consent("c-travel", RECIPIENT, &["ReadTravelProfile"], &[TRAVELCO]);
    let read = app
        .get(
            "/data/travel_profile",
            Some(&recipient_token(RECIPIENT, "c-travel")),
        )
        .await;
    assert_eq!(read.status, 200, "{}", read.text);
    assert_eq!(read.body["data"][0]["provider"], TRAVELCO);
    assert_eq!(read.body["data"][0]["data"]["home_airport"], "MUC");
}

#[actix_web::test]
async fn publishing_is_rate_limited_per_partner_with_retry_after() {
    let config = ecohub_sharing::SharingConfig {
        publish_limit: ecohub_sharing::Limit {
            per_second: 0.5,
            burst: 2.0,
        },
        ..Default::default()
    };
    let app = TestApp::with(config).await;
    let body =
        |id: &str| json!({"customer_id": CUSTOMER, "records": [{"id": id, "data": account(id)}]});
    // The clock moves one second per request: 0.5 token refilled each time.
    assert_eq!(
        app.post("/data/accounts/records", Some(BANK_TOKEN), body("a1"))
            .await
            .status,
        200
    );
    assert_eq!(
        app.post("/data/accounts/records", Some(BANK_TOKEN), body("a2"))
            .await
            .status,
        200
    );
    assert_eq!(
        app.post("/data/accounts/records", Some(BANK_TOKEN), body("a3"))
            .await
            .status,
        200
    );
    app.settled().await;
    let head = app.head().await;
    let res = app
        .post("/data/accounts/records", Some(BANK_TOKEN), body("a4"))
        .await;
    res.problem(429, "rate_limited");
    assert_eq!(res.header("retry-after"), Some("1"));
    assert_eq!(app.head().await, head);
}
