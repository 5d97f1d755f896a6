//! `/consents`: creation, bad input (nothing written), ownership, deletion.

use std::time::Duration;

use serde_json::json;

use crate::support::*;

#[actix_web::test]
async fn a_partner_creates_a_consent_and_gets_everything_back() {
    let app = TestApp::new().await;
    let p = app.partner("TravelCo", true, false);
    let provider = app.partner("AirMiles", true, true);
    let mut body = consent_body(app.now());
    body["data_providers"] = json!(["bank", provider]);
    let res = app
        .post("/consents", &partner_token(&p), body.clone())
        .await;
    assert_eq!(res.status, 201, "{}", res.text);
    let id = res.body["consent_id"].as_str().unwrap();
    assert_eq!(
        res.header("location"),
        Some(format!("/consents/{id}").as_str())
    );
    assert_eq!(res.body["status"], "AwaitingAuthorisation");
    assert_eq!(res.body["created_at"], res.body["status_changed_at"]);
    assert_eq!(res.body["expiration"], body["expiration"]);
    assert_eq!(res.body["transaction_from"], body["transaction_from"]);
    assert_eq!(res.body["transaction_to"], body["transaction_to"]);
    assert_eq!(res.body["purpose"], body["purpose"]);
    let codes: Vec<&str> = res.body["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        [
            "ReadAccountsBasic",
            "ReadTransactionsBasic",
            "ReadTransactionsCredits"
        ]
    );
    assert!(
        res.body["permissions"][0]["description"]
            .as_str()
            .unwrap()
            .len()
            > 10
    );
    let mut providers = res.body["data_providers"].as_array().unwrap().clone();
    providers.sort_by_key(|v| v.as_str().unwrap().to_owned());
    let mut expected = vec![json!("bank"), json!(provider)];
    expected.sort_by_key(|v| v.as_str().unwrap().to_owned());
    assert_eq!(providers, expected);

    let events = app.stream(id).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event_type, "ConsentRequested");
    assert_eq!(
        events[0].metadata.actor.as_deref(),
        Some(format!("client:client-{p}").as_str())
    );
    assert!(events[0].metadata.request_id.is_some());
    assert!(!events[0].stream.contains("TravelCo"));
}

#[actix_web::test]
async fn bad_input_is_refused_with_the_rule_named_and_nothing_written() {
    let app = TestApp::new().await;
    let p = app.partner("TravelCo", true, false);
    let suspended = app.partner("Gone", false, true);
    let recipient_only = app.partner("NoData", true, false);
    let now = app.now();
    let cases = [
        ("permissions", json!([]), "permissions_not_empty"),
        (
            "permissions",
            json!(["ReadBalances", "ReadBalances"]),
            "permissions_no_duplicates",
        ),
        ("permissions", json!(["ReadMinds"]), "permission_known"),
        (
            "permissions",
            json!(["ReadTransactionsDetail"]),
            "transactions_need_credits_or_debits",
        ),
        (
            "permissions",
            json!(["ReadTransactionsDebits"]),
            "credits_or_debits_need_transactions",
        ),
        (
            "expiration",
            json!(now.minus(Duration::from_secs(60)).to_rfc3339()),
            "expiration_in_future",
        ),
        (
            "expiration",
            json!(now.plus(Duration::from_secs(400 * 86_400)).to_rfc3339()),
            "expiration_within_12_months",
        ),
        ("data_providers", json!([]), "data_providers_not_empty"),
        ("data_providers", json!(["nobody"]), "data_provider_format"),
        ("data_providers", json!([suspended]), "data_provider_active"),
        (
            "data_providers",
            json!([recipient_only]),
            "data_provider_active",
        ),
        (
            "data_providers",
            json!([uuid::Uuid::now_v7().to_string()]),
            "data_provider_active",
        ),
        (
            "transaction_to",
            json!("2025-01-01T00:00:00Z"),
            "transaction_window_ordered",
        ),
    ];
    let head = app.head().await;
    for (field, value, rule) in cases {
        let mut body = consent_body(app.now());
        body[field] = value;
        let res = app.post("/consents", &partner_token(&p), body).await;
        res.problem(400, "invalid_request");
        assert_eq!(res.body["errors"][0]["message"], rule, "{}", res.text);
        assert!(res.body["detail"].as_str().unwrap().contains(rule));
    }
    let mut body = consent_body(app.now());
    body["purpose"]["code"] = json!("Not A Code");
    app.post("/consents", &partner_token(&p), body)
        .await
        .problem(400, "invalid_request");
    let mut body = consent_body(app.now());
    body["unexpected"] = json!(1);
    app.post("/consents", &partner_token(&p), body)
        .await
        .problem(400, "invalid_json");
    assert_eq!(app.head().await, head, "nothing was written");
}

#[actix_web::test]
async fn only_the_owning_partner_sees_or_deletes_a_consent() {
    let app = TestApp::new().await;
    let a = app.partner("A", true, false);
    let b = app.partner("B", true, false);
    let id = app.create(&a).await;
    let own = app.get(&format!("/consents/{id}"), &reader_token(&a)).await;
    assert_eq!(own.status, 200, "{}", own.text);
    assert_eq!(own.body["consent_id"], id.as_str());

    let other = app
        .get(&format!("/consents/{id}"), &partner_token(&b))
        .await;
    other.problem(404, "not_found");
    let missing = app
        .get(
            &format!("/consents/{}", uuid::Uuid::now_v7()),
            &partner_token(&b),
        )
        .await;
    missing.problem(404, "not_found");
    assert_eq!(other.body["detail"], missing.body["detail"]);
    assert!(!other.text.contains(&a));

    let head = app.head().await;
    app.delete(&format!("/consents/{id}"), &partner_token(&b))
        .await
        .problem(404, "not_found");
    app.delete(&format!("/consents/{id}"), &reader_token(&a))
        .await
        .problem(403, "insufficient_scope");
    app.post("/consents", &reader_token(&a), consent_body(app.now()))
        .await
        .problem(403, "insufficient_scope");
    app.get(&format!("/consents/{id}"), AUDITOR)
        .await
        .problem(403, "insufficient_scope");
    assert_eq!(app.head().await, head);
    app.get("/consents/not-a-uuid", &partner_token(&a))
        .await
        .problem(400, "invalid_path");
}

#[actix_web::test]
async fn deleting_withdraws_a_pending_consent_and_revokes_an_authorised_one() {
    let app = TestApp::new().await;
    let p = app.partner("A", true, false);
    let pending = app.create(&p).await;
    let res = app
        .delete(&format!("/consents/{pending}"), &partner_token(&p))
        .await;
    assert_eq!(res.status, 204, "{}", res.text);
    let view = app
        .get(&format!("/consents/{pending}"), &partner_token(&p))
        .await;
    assert_eq!(view.body["status"], "Revoked");
    assert_eq!(view.body["history"][1]["reason"], "partner_withdrawn");
    assert_eq!(view.body["history"][1]["revoked_by"], "partner");

    let authorised = app.authorised(&p, "cust-1").await;
    let res = app
        .delete(&format!("/consents/{authorised}"), &partner_token(&p))
        .await;
    assert_eq!(res.status, 204, "{}", res.text);
    let view = app
        .get(&format!("/consents/{authorised}"), &partner_token(&p))
        .await;
    assert_eq!(view.body["status"], "Revoked");
    assert_eq!(view.body["history"][2]["reason"], "partner_request");
    assert_eq!(view.body["history"][2]["revoked_by"], "partner");

    app.delete(&format!("/consents/{authorised}"), &partner_token(&p))
        .await
        .problem(409, "conflict");
}

#[actix_web::test]
async fn an_expired_consent_reads_as_expired_before_the_event_is_written() {
    let app = TestApp::new().await;
    let p = app.partner("A", true, false);
    let id = app.authorised(&p, "cust-1").await;
    app.clock.advance(Duration::from_secs(91 * 86_400));
    let view = app
        .get(&format!("/consents/{id}"), &partner_token(&p))
        .await;
    assert_eq!(view.body["status"], "Expired");
    assert_eq!(app.stream(&id).await.len(), 2);
}

/// Two withdrawals of one consent loaded at the same revision: one wins, the other is told
/// the consent changed under it (`concurrency_conflict`, the code every service uses for a
/// lost race), not that the transition is refused.
#[actix_web::test]
async fn of_two_racing_deletions_one_wins_and_the_other_gets_concurrency_conflict() {
    let (app, racing) = TestApp::racing().await;
    let p = app.partner("A", true, false);
    let id = app.authorised(&p, "cust-1").await;
    racing.race_appends(2);
    let uri = format!("/consents/{id}");
    let token = partner_token(&p);
    let (a, b) = tokio::join!(app.delete(&uri, &token), app.delete(&uri, &token));
    racing.disarm();
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses, [204, 409], "{} {}", a.text, b.text);
    let loser = if a.status == 409 { &a } else { &b };
    loser.problem(409, "concurrency_conflict");
    assert_eq!(app.stream(&id).await.len(), 3, "one revocation recorded");
}
