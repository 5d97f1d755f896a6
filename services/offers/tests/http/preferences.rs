//! A customer objects to personalised offers (GDPR Art. 21): from the next request on, they
//! are not profiled and offered nothing personalised.

use actix_web::test::TestRequest;
use serde_json::json;

use crate::support::*;

const P: &str = "0190a000-0000-7000-8000-000000000001";

#[actix_web::test]
async fn an_objection_stops_profiling_from_the_next_request_and_can_be_withdrawn() {
    let app = TestApp::new().await;
    app.catalogue().await;
    app.profile(
        "cust-1",
        "bank",
        json!({"is_globetrotter": true, "monthly_income": 6000}),
    );
    let created = app
        .post(
            "/offers/propositions",
            PM1,
            crate::fixtures::globetrotter_loan(P),
        )
        .await;
    let url = created.header("location").unwrap().to_owned();
    let id = url.rsplit('/').next().unwrap().to_owned();
    app.post_empty(&format!("{url}/versions/1/submit"), PM1)
        .await;
    app.post_empty(&format!("{url}/versions/1/approve"), PM2)
        .await;
    app.send(bearer(
        TestRequest::put().uri(&format!("/partner/propositions/{id}/versions/1/acceptance")),
        &partner_token(P),
    ))
    .await;
    let published = app
        .post_empty(&format!("{url}/versions/1/publish"), PM2)
        .await;
    assert_eq!(published.status, 200, "{}", published.text);
    let dry_url = format!("{url}/dry-run");
    let dry = || {
        app.post(
            &dry_url,
            PM1,
            json!({"customer_id": "cust-1", "params": {"amount": 15000}}),
        )
    };
    let before = dry().await;
    assert_eq!(before.body["available"], true, "{}", before.text);
    assert_eq!(before.body["price"]["rate_percent"], 5.3);

    let shown = app
        .as_customer(
            TestRequest::get().uri("/customer/offer-preferences"),
            "cust-1",
        )
        .await;
    assert_eq!(shown.body, json!({"personalised_offers": true}));
    // Without the CSRF token nothing changes.
    let r = app
        .as_customer(
            TestRequest::put()
                .uri("/customer/offer-preferences")
                .set_json(json!({"personalised_offers": false})),
            "cust-1",
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.text);
    assert_eq!(
        app.events(&ecohub_offers::domain::preferences_stream("cust-1"))
            .await,
        0
    );
    let r = app
        .as_customer(
            TestRequest::put()
                .uri("/customer/offer-preferences")
                .insert_header(("x-csrf-token", ecohub_testkit::fake_csrf("cust-1")))
                .set_json(json!({"personalised_offers": false})),
            "cust-1",
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["personalised_offers"], false);
    let run = dry().await;
    assert_eq!(
        run.body["excluded_by"]["code"], "customer_objected",
        "{}",
        run.text
    );
    assert_eq!(run.body["personas"][0]["matched"], false);
    assert_eq!(
        run.body["personas"][0]["explanation"]["values"]["is_globetrotter"],
        serde_json::Value::Null,
        "not profiled"
    );
    assert_eq!(
        run.body["price"]["rate_percent"], 7.9,
        "not priced by profile"
    );
    let persona = app
        .post(
            "/offers/personas/globetrotter/dry-run",
            PM1,
            json!({"customer_id": "cust-1"}),
        )
        .await;
    assert_eq!(persona.body["matched"], false);

    // The page's form withdraws the objection.
    let r = app
        .as_customer(
            TestRequest::post()
                .uri("/dashboard/offers/preferences")
                .set_form([
                    ("csrf_token", ecohub_testkit::fake_csrf("cust-1")),
                    ("personalised_offers", "allow".to_owned()),
                ]),
            "cust-1",
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert_eq!(r.header("location"), Some("/dashboard/offers"));
    assert_eq!(dry().await.body["personas"][0]["matched"], true);
    // The stream holds no personal data in its name: a non-UUID id is digested.
    let stream = ecohub_offers::domain::preferences_stream("cust-1");
    assert!(!stream.contains("cust-1"), "{stream}");
    assert_eq!(app.events(&stream).await, 2);
}

#[actix_web::test]
async fn the_offers_page_shows_the_switch_and_needs_a_session() {
    let app = TestApp::new().await;
    let r = app.send(TestRequest::get().uri("/dashboard/offers")).await;
    assert_eq!(r.status, 303);
    assert_eq!(
        r.header("location"),
        Some("/login?return_to=/dashboard/offers")
    );
    app.send(TestRequest::get().uri("/customer/offer-preferences"))
        .await
        .problem(401, "unauthorized");
    let page = app
        .as_customer(TestRequest::get().uri("/dashboard/offers"), "cust-2")
        .await;
    assert_eq!(page.status, 200);
    assert!(
        page.text.contains("Object to personalised offers"),
        "{}",
        page.text
    );
    assert!(
        page.text.contains("&#60;b&#62;cust-2&#60;/b&#62; &#38; co"),
        "escaped: {}",
        page.text
    );
    assert!(
        page.text
            .contains(r#"name="csrf_token" value="csrf-cust-2""#)
    );
    assert!(
        page.header("content-security-policy")
            .unwrap()
            .contains("default-src 'none'")
    );
    // A form without the token changes nothing.
    let r = app
        .as_customer(
            TestRequest::post()
                .uri("/dashboard/offers/preferences")
                .set_form([("personalised_offers", "object")]),
            "cust-2",
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.text);
    let r = app
        .as_customer(
            TestRequest::post()
                .uri("/dashboard/offers/preferences")
                .set_form([
                    ("csrf_token", ecohub_testkit::fake_csrf("cust-2")),
                    ("personalised_offers", "object".to_owned()),
                ]),
            "cust-2",
        )
        .await;
    assert_eq!(r.status, 303);
    let page = app
        .as_customer(TestRequest::get().uri("/dashboard/offers"), "cust-2")
        .await;
    assert!(
        page.text.contains("Allow personalised offers"),
        "{}",
        page.text
    );
}
