//! The customer's consents: API, revocation with CSRF, receipts, and the dashboard pages.

use actix_web::test;

use crate::support::*;
use ecohub_consents::DataUse;

#[actix_web::test]
async fn the_customer_lists_their_consents_with_names_descriptions_and_history() {
    let app = TestApp::new().await;
    let p = app.partner("TravelCo <script>", true, false);
    let mine = app.authorised(&p, "alice").await;
    let _theirs = app.authorised(&p, "bob").await;
    app.caught_up().await;
    let res = app
        .as_customer(test::TestRequest::get().uri("/customer/consents"), "alice")
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    let data = res.body["data"].as_array().unwrap();
    assert_eq!(data.len(), 1);
    assert_eq!(data[0]["consent_id"], mine.as_str());
    assert_eq!(data[0]["partner_name"], "TravelCo <script>");
    assert_eq!(data[0]["status"], "Authorised");
    assert_eq!(data[0]["revocable"], true);
    assert_eq!(data[0]["data_providers"][0], "Ecohub Bank");
    assert!(
        data[0]["permissions"][0]["description"]
            .as_str()
            .unwrap()
            .contains("accounts")
    );
    assert_eq!(data[0]["history"].as_array().unwrap().len(), 2);

    let anonymous = app
        .send(test::TestRequest::get().uri("/customer/consents"))
        .await;
    anonymous.problem(401, "unauthorized");
}

#[actix_web::test]
async fn the_customer_revokes_with_the_csrf_token_only_their_own() {
    let app = TestApp::new().await;
    let p = app.partner("TravelCo", true, false);
    let mine = app.authorised(&p, "alice").await;
    let bobs = app.authorised(&p, "bob").await;
    let uri = format!("/customer/consents/{mine}");
    let head = app.head().await;
    app.as_customer(test::TestRequest::delete().uri(&uri), "alice")
        .await
        .problem(403, "forbidden");
    app.as_customer(
        test::TestRequest::delete()
            .uri(&uri)
            .insert_header(("x-csrf-token", csrf("bob"))),
        "alice",
    )
    .await
    .problem(403, "forbidden");
    app.as_customer(
        test::TestRequest::delete()
            .uri(&format!("/customer/consents/{bobs}"))
            .insert_header(("x-csrf-token", csrf("alice"))),
        "alice",
    )
    .await
    .problem(404, "not_found");
    assert_eq!(app.head().await, head);

    let res = app
        .as_customer(
            test::TestRequest::delete()
                .uri(&uri)
                .insert_header(("x-csrf-token", csrf("alice"))),
            "alice",
        )
        .await;
    assert_eq!(res.status, 204, "{}", res.text);
    let events = app.stream(&mine).await;
    let revoked = events.last().unwrap();
    assert_eq!(revoked.event_type, "ConsentRevoked");
    assert_eq!(revoked.metadata.actor.as_deref(), Some("customer:alice"));
    let data = revoked.data_json().unwrap();
    assert_eq!(data["by"], "customer");
    assert_eq!(data["reason"], "customer_request");

    app.as_customer(
        test::TestRequest::delete()
            .uri(&uri)
            .insert_header(("x-csrf-token", csrf("alice"))),
        "alice",
    )
    .await
    .problem(409, "conflict");
}

#[actix_web::test]
async fn an_authorised_consent_has_a_signed_kantara_receipt() {
    let app = TestApp::new().await;
    let p = app.partner("TravelCo", true, false);
    let id = app.authorised(&p, "alice").await;
    let res = app
        .as_customer(
            test::TestRequest::get().uri(&format!("/customer/consents/{id}/receipt")),
            "alice",
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    let jwt = res.body["receipt"].as_str().unwrap();
    let claims: serde_json::Value =
        serde_json::from_str(jwt.strip_prefix("signed.").unwrap()).unwrap();
    assert_eq!(claims["version"], "KI-CR-v1.1.0");
    for field in [
        "jurisdiction",
        "consentTimestamp",
        "collectionMethod",
        "consentReceiptID",
        "piiPrincipalId",
        "piiControllers",
        "policyUrl",
        "services",
        "sensitive",
        "iss",
        "iat",
        "jti",
    ] {
        assert!(!claims[field].is_null(), "{field} missing");
    }
    assert_eq!(claims["piiPrincipalId"], "alice");
    let purpose = &claims["services"][0]["purposes"][0];
    assert_eq!(purpose["thirdPartyName"], "TravelCo");
    assert!(
        purpose["termination"]
            .as_str()
            .unwrap()
            .contains("revocation")
    );
    assert_eq!(purpose["piiCategory"].as_array().unwrap().len(), 3);

    app.as_customer(
        test::TestRequest::get().uri(&format!("/customer/consents/{id}/receipt")),
        "bob",
    )
    .await
    .problem(404, "not_found");
    let pending = app.create(&p).await;
    app.as_customer(
        test::TestRequest::get().uri(&format!("/customer/consents/{pending}/receipt")),
        "alice",
    )
    .await
    .problem(404, "not_found");
}

#[actix_web::test]
async fn the_dashboard_works_without_javascript() {
    let app = TestApp::new().await;
    let p = app.partner("Travel<Co> & \"Sons\"", true, false);
    let id = app.authorised(&p, "alice").await;
    app.caught_up().await;

    let anonymous = app.send(test::TestRequest::get().uri("/dashboard")).await;
    assert_eq!(anonymous.status, 303);
    assert_eq!(
        anonymous.header("location"),
        Some("/login?return_to=/dashboard")
    );

    let page = app
        .as_customer(test::TestRequest::get().uri("/dashboard"), "alice")
        .await;
    assert_eq!(page.status, 200);
    assert!(
        page.header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    let html = &page.text;
    assert!(
        html.contains("Travel&#60;Co&#62; &#38; &#34;Sons&#34;"),
        "{html}"
    );
    assert!(
        html.contains("&#60;b&#62;alice&#60;/b&#62; &#38; co"),
        "{html}"
    );
    assert!(!html.contains("<b>alice"));
    assert!(!html.contains("Travel<Co>"));
    assert!(html.contains(&format!("action=\"/dashboard/consents/{id}/revoke\"")));
    assert!(html.contains(&format!("name=\"csrf_token\" value=\"{}\"", csrf("alice"))));
    // One Revoke button, and the navigation's Sign out.
    assert_eq!(html.matches("/revoke\"").count(), 1);
    assert!(html.contains("action=\"/logout\""), "{html}");
    assert_eq!(html.matches("<button").count(), 2);

    let form = |token: &str| {
        test::TestRequest::post()
            .uri(&format!("/dashboard/consents/{id}/revoke"))
            .set_form([("csrf_token", token.to_owned())])
    };
    let anonymous = app.send(form(&csrf("alice"))).await;
    assert_eq!(anonymous.status, 303);
    assert_eq!(
        anonymous.header("location"),
        Some("/login?return_to=/dashboard")
    );
    app.as_customer(form("wrong"), "alice")
        .await
        .problem(403, "forbidden");
    assert_eq!(app.stream(&id).await.len(), 2);

    let done = app.as_customer(form(&csrf("alice")), "alice").await;
    assert_eq!(done.status, 303, "{}", done.text);
    assert_eq!(done.header("location"), Some("/dashboard"));
    assert_eq!(
        app.stream(&id).await.last().unwrap().event_type,
        "ConsentRevoked"
    );
    let page = app
        .as_customer(test::TestRequest::get().uri("/dashboard"), "alice")
        .await;
    assert!(page.text.contains("Revoked"));
    assert!(page.text.contains("customer_request"));
    assert_eq!(page.text.matches("/revoke\"").count(), 0);
}

#[actix_web::test]
async fn the_dashboard_says_who_used_the_data_in_words_newest_first() {
    let app = TestApp::new().await;
    let p = app.partner("Globetrotter Travel Ltd", true, false);
    let id = app.authorised(&p, "alice").await;
    app.caught_up().await;
    let page = app
        .as_customer(test::TestRequest::get().uri("/dashboard"), "alice")
        .await;
    assert!(
        page.text
            .contains("Globetrotter Travel Ltd has not read any data under this consent."),
        "{}",
        page.text
    );

    let at = |secs: i64| ecohub_kernel::Timestamp::from_unix_seconds(1_796_300_000 + secs);
    app.data_use.record(
        &id,
        DataUse {
            dataset: "accounts".into(),
            fields: vec!["account_id".into(), "currency".into()],
            record_count: 2,
            at: at(0),
        },
    );
    app.data_use.record(
        &id,
        DataUse {
            dataset: "balances".into(),
            fields: vec!["amount".into()],
            record_count: 1,
            at: at(3_600),
        },
    );
    let page = app
        .as_customer(test::TestRequest::get().uri("/dashboard"), "alice")
        .await;
    let html = &page.text;
    let balances = html
        .find("Globetrotter Travel Ltd read your balances (amount): 1 record.")
        .expect(html);
    let accounts = html
        .find("Globetrotter Travel Ltd read your accounts (account id, currency): 2 records.")
        .expect(html);
    assert!(balances < accounts, "newest first: {html}");
    assert!(
        html.contains("3 December 2026, 12:13 UTC"),
        "dates in words: {html}"
    );
}
