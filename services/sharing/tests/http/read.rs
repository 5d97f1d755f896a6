use std::time::Duration;

use ecohub_kernel::Timestamp;
use serde_json::json;

use crate::support::*;

async fn with_transactions(app: &TestApp) {
    app.bank_publishes(
        "transactions",
        CUSTOMER,
        &[
            (
                "t1",
                transaction("a1", "10.00", "Credit", "2027-01-01T10:00:00Z"),
            ),
            (
                "t2",
                transaction("a1", "20.00", "Debit", "2027-01-05T10:00:00Z"),
            ),
            (
                "t3",
                transaction("a1", "30.00", "Debit", "2027-01-10T10:00:00Z"),
            ),
            (
                "t4",
                transaction("a1", "40.00", "Credit", "2027-01-12T10:00:00Z"),
            ),
        ],
    )
    .await;
    app.bank_publishes(
        "transactions",
        OTHER_CUSTOMER,
        &[(
            "x1",
            transaction("b1", "99.00", "Debit", "2027-01-02T10:00:00Z"),
        )],
    )
    .await;
}

fn ids(res: &Res) -> Vec<String> {
    res.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

#[actix_web::test]
async fn basic_permissions_see_fewer_fields_than_detail() {
    let app = TestApp::new().await;
    app.bank_publishes("accounts", CUSTOMER, &[("a1", account("a1"))])
        .await;
    app.consent("c-basic", RECIPIENT, &["ReadAccountsBasic"], &["bank"]);
    app.consent("c-detail", RECIPIENT, &["ReadAccountsDetail"], &["bank"]);
    let basic = app
        .get(
            "/data/accounts",
            Some(&recipient_token(RECIPIENT, "c-basic")),
        )
        .await;
    assert_eq!(basic.status, 200, "{}", basic.text);
    assert_eq!(
        basic.body["data"][0]["data"],
        json!({"account_id": "a1", "currency": "EUR", "account_type": "personal", "nickname": "Main"})
    );
    assert!(!basic.text.contains("DE89"), "no iban for basic");
    let detail = app
        .get(
            "/data/accounts",
            Some(&recipient_token(RECIPIENT, "c-detail")),
        )
        .await;
    assert_eq!(detail.body["data"][0]["data"], account("a1"));
    assert_eq!(detail.body["data"][0]["provider"], "bank");
}

#[actix_web::test]
async fn only_the_consents_customer_directions_and_window_are_served() {
    let app = TestApp::new().await;
    with_transactions(&app).await;
    app.consent(
        "c-debits",
        RECIPIENT,
        &["ReadTransactionsBasic", "ReadTransactionsDebits"],
        &["bank"],
    );
    let res = app
        .get(
            "/data/transactions",
            Some(&recipient_token(RECIPIENT, "c-debits")),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(
        ids(&res),
        ["t2", "t3"],
        "debits only, never the other customer's"
    );
    assert!(
        res.body["data"][0]["data"].get("merchant_name").is_none(),
        "basic has no merchant"
    );
    assert!(!res.text.contains("99.00"));

    let mut windowed = app.consent(
        "c-window",
        RECIPIENT,
        &[
            "ReadTransactionsDetail",
            "ReadTransactionsCredits",
            "ReadTransactionsDebits",
        ],
        &["bank"],
    );
    windowed.transaction_from = Some(Timestamp::parse_rfc3339("2027-01-03T00:00:00Z").unwrap());
    windowed.transaction_to = Some(Timestamp::parse_rfc3339("2027-01-11T00:00:00Z").unwrap());
    app.grants.put(windowed);
    let token = recipient_token(RECIPIENT, "c-window");
    let res = app.get("/data/transactions", Some(&token)).await;
    assert_eq!(ids(&res), ["t2", "t3"]);
    assert_eq!(res.body["data"][0]["data"]["merchant_name"], "Cafe Central");
    // Query filters narrow within the window, never widen it.
    let res = app
        .get(
            "/data/transactions?from=2027-01-06T00:00:00Z&to=2028-01-01T00:00:00Z",
            Some(&token),
        )
        .await;
    assert_eq!(ids(&res), ["t3"]);
    let res = app
        .get("/data/transactions?from=2026-01-01T00:00:00Z", Some(&token))
        .await;
    assert_eq!(ids(&res), ["t2", "t3"]);
    app.get("/data/transactions?from=yesterday", Some(&token))
        .await
        .problem(400, "invalid_query");
}

#[actix_web::test]
async fn pages_follow_the_cursor() {
    let app = TestApp::new().await;
    with_transactions(&app).await;
    app.consent(
        "c-all",
        RECIPIENT,
        &[
            "ReadTransactionsBasic",
            "ReadTransactionsCredits",
            "ReadTransactionsDebits",
        ],
        &["bank"],
    );
    let token = recipient_token(RECIPIENT, "c-all");
    let first = app
        .get("/data/transactions?page_size=3", Some(&token))
        .await;
    assert_eq!(ids(&first), ["t1", "t2", "t3"]);
    let next = first.body["links"]["next"].as_str().unwrap().to_owned();
    let second = app.get(&next, Some(&token)).await;
    assert_eq!(ids(&second), ["t4"]);
    assert!(second.body["links"].get("next").is_none());
    app.get("/data/transactions?cursor=garbage", Some(&token))
        .await
        .problem(400, "invalid_cursor");
}

#[actix_web::test]
async fn refusals_leak_nothing_and_record_nothing() {
    let app = TestApp::new().await;
    with_transactions(&app).await;
    app.bank_publishes("accounts", CUSTOMER, &[("a1", account("a1"))])
        .await;
    app.consent("c1", RECIPIENT, &["ReadAccountsBasic"], &["bank"]);
    let head = app.head().await;
    // No consent on the token.
    app.get("/data/accounts", Some(&unbound_token(RECIPIENT)))
        .await
        .problem(403, "forbidden");
    // Another partner presenting someone else's consent.
    app.get(
        "/data/accounts",
        Some(&recipient_token(OTHER_RECIPIENT, "c1")),
    )
    .await
    .problem(403, "forbidden");
    // A dataset the permissions do not unlock.
    app.get(
        "/data/transactions",
        Some(&recipient_token(RECIPIENT, "c1")),
    )
    .await
    .problem(403, "forbidden");
    // A provider the consent does not name.
    app.consent(
        "c-travel-only",
        RECIPIENT,
        &["ReadAccountsBasic"],
        &[TRAVELCO],
    );
    app.get(
        "/data/accounts",
        Some(&recipient_token(RECIPIENT, "c-travel-only")),
    )
    .await
    .problem(403, "forbidden");
    app.get("/data/nope", Some(&recipient_token(RECIPIENT, "c1")))
        .await
        .problem(404, "not_found");
    app.get("/data/accounts", Some(BANK_TOKEN))
        .await
        .problem(403, "insufficient_scope");
    app.get("/data/accounts", None)
        .await
        .problem(401, "unauthorized");
    // Revoked (the exact read answers None) and expired.
    app.grants.revoke("c1");
    app.get("/data/accounts", Some(&recipient_token(RECIPIENT, "c1")))
        .await
        .problem(403, "forbidden");
    let mut expiring = app.consent("c-exp", RECIPIENT, &["ReadAccountsBasic"], &["bank"]);
    expiring.expires_at = app.state.now().plus(Duration::from_secs(1));
    app.grants.put(expiring);
    app.clock.advance(Duration::from_secs(5));
    app.get("/data/accounts", Some(&recipient_token(RECIPIENT, "c-exp")))
        .await
        .problem(403, "forbidden");
    assert_eq!(
        app.head().await,
        head,
        "no access recorded for refused reads"
    );
    // The consents' store being down is a 503, not a leak.
    app.consent("c2", RECIPIENT, &["ReadAccountsBasic"], &["bank"]);
    app.grants
        .down
        .store(true, std::sync::atomic::Ordering::SeqCst);
    app.get("/data/accounts", Some(&recipient_token(RECIPIENT, "c2")))
        .await
        .problem(503, "service_unavailable");
}

#[actix_web::test]
async fn every_read_is_recorded_before_the_response() {
    let app = TestApp::new().await;
    app.bank_publishes(
        "accounts",
        CUSTOMER,
        &[("a1", account("a1")), ("a2", account("a2"))],
    )
    .await;
    app.consent("c1", RECIPIENT, &["ReadAccountsBasic"], &["bank"]);
    let res = app
        .send(with_token(
            actix_web::test::TestRequest::get()
                .uri("/data/accounts")
                .insert_header((
                    "x-fapi-interaction-id",
                    "7f1c2f9e-3c39-4a49-9a59-0b8d4b1f8a10",
                )),
            Some(&recipient_token(RECIPIENT, "c1")),
        ))
        .await;
    assert_eq!(res.status, 200);
    let events = app.events("dataaccess-").await;
    assert_eq!(events.len(), 1);
    let key = events[0].stream.strip_prefix("dataaccess-").unwrap();
    assert!(
        key.len() == 32 && key.bytes().all(|b| b.is_ascii_hexdigit()),
        "{}",
        events[0].stream
    );
    let access = events[0].data_json().unwrap();
    assert_eq!(access["partner_id"], RECIPIENT);
    assert_eq!(access["client_id"], format!("client-{RECIPIENT}"));
    assert_eq!(access["consent_id"], "c1");
    assert_eq!(access["customer"], "pairwise-c1");
    assert_eq!(access["dataset"], "accounts");
    assert_eq!(
        access["fields"],
        json!(["account_id", "account_type", "currency", "nickname"])
    );
    assert_eq!(access["record_count"], 2);
    assert_eq!(
        access["interaction_id"],
        "7f1c2f9e-3c39-4a49-9a59-0b8d4b1f8a10"
    );

    // When the access cannot be recorded, the data is not sent.
    app.flaky.fail_appends_to("dataaccess-");
    let res = app
        .get("/data/accounts", Some(&recipient_token(RECIPIENT, "c1")))
        .await;
    res.problem(503, "service_unavailable");
    assert!(res.body.get("data").is_none(), "{}", res.text);
    assert!(
        !res.text.contains("account_id") && !res.text.contains("Main"),
        "{}",
        res.text
    );
    app.flaky.disarm();
    assert_eq!(app.events("dataaccess-").await.len(), 1);
}

#[actix_web::test]
async fn reads_are_rate_limited_per_partner() {
    let config = ecohub_sharing::SharingConfig {
        read_limit: ecohub_sharing::Limit {
            per_second: 0.1,
            burst: 1.0,
        },
        ..Default::default()
    };
    let app = TestApp::with(config).await;
    app.consent("c1", RECIPIENT, &["ReadAccountsBasic"], &["bank"]);
    app.consent("c9", OTHER_RECIPIENT, &["ReadAccountsBasic"], &["bank"]);
    assert_eq!(
        app.get("/data/accounts", Some(&recipient_token(RECIPIENT, "c1")))
            .await
            .status,
        200
    );
    let res = app
        .get("/data/accounts", Some(&recipient_token(RECIPIENT, "c1")))
        .await;
    res.problem(429, "rate_limited");
    assert_eq!(res.header("retry-after"), Some("9"));
    assert_eq!(
        app.get(
            "/data/accounts",
            Some(&recipient_token(OTHER_RECIPIENT, "c9"))
        )
        .await
        .status,
        200
    );
}

/// The bank's personalised offers read a partner's records under the customer's consent to
/// the bank (ADR 0021) through `minimised_records`: only that provider's, only the fields the
/// permissions unlock, nothing when they unlock nothing.
#[actix_web::test]
async fn minimised_records_give_one_providers_records_reduced_to_the_unlocked_fields() {
    let app = TestApp::new().await;
    let res = app
        .post(
            "/data/travel_profile/records",
            Some(&provider_token(TRAVELCO)),
            json!({"customer_id": CUSTOMER_AT_TRAVELCO, "records": [{"id": "profile",
                "data": {"home_airport": "LHR", "trips_per_year": 9, "is_globetrotter": true}}]}),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    app.settled().await;
    let perms = |p: &[&str]| p.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let records = app.state.minimised_records(
        CUSTOMER,
        "travel_profile",
        TRAVELCO,
        &perms(&["ReadTravelProfile"]),
        10,
    );
    assert_eq!(records.len(), 1);
    assert_eq!(
        *records[0].data,
        json!({"home_airport": "LHR", "trips_per_year": 9, "is_globetrotter": true})
    );
    assert!(
        app.state
            .minimised_records(
                CUSTOMER,
                "travel_profile",
                TRAVELCO,
                &perms(&["ReadActivity"]),
                10
            )
            .is_empty(),
        "nothing unlocked"
    );
    assert!(
        app.state
            .minimised_records(
                CUSTOMER,
                "travel_profile",
                RECIPIENT,
                &perms(&["ReadTravelProfile"]),
                10
            )
            .is_empty(),
        "another provider's records only"
    );
    assert!(
        app.state
            .minimised_records(
                CUSTOMER,
                "accounts",
                TRAVELCO,
                &perms(&["ReadAccountsBasic"]),
                10
            )
            .is_empty(),
        "a dataset the partner does not provide"
    );
    // Field by field: a dataset whose permissions unlock part of it.
    app.bank_publishes("accounts", CUSTOMER, &[("acc-1", account("acc-1"))])
        .await;
    let basic = app.state.minimised_records(
        CUSTOMER,
        "accounts",
        "bank",
        &perms(&["ReadAccountsBasic"]),
        10,
    );
    assert_eq!(basic.len(), 1);
    assert!(basic[0].data.get("iban").is_none(), "{}", basic[0].data);
    assert!(basic[0].data.get("currency").is_some(), "{}", basic[0].data);
}
