//! Decisions and responses over HTTP against the embedded store: offers ranked, priced and
//! explained, recorded before the answer; contact policies (suppression after a decline, the
//! frequency cap, exact under concurrent decisions); responses idempotent, conflicts refused;
//! an objecting customer gets nothing; the customer's own offers.

use actix_web::test::TestRequest;
use serde_json::{Value, json};

use crate::support::*;

const P: &str = "0190a000-0000-7000-8000-000000000001";

fn decision_body(customer: &str) -> Value {
    json!({"customer_id": customer, "channel": "bank_app", "placement": "home_banner",
           "params": {"amount": 15000}})
}

async fn globetrotter(app: &TestApp, customer: &str) {
    app.profile(
        customer,
        "bank",
        json!({"is_globetrotter": true, "monthly_income": 6000, "age": 35, "risk_class": "low"}),
    );
}

#[actix_web::test]
async fn a_decision_ranks_prices_explains_and_records_its_offers() {
    let app = TestApp::new().await;
    let id = app.published_loan(P).await;
    globetrotter(&app, "cust-1").await;
    let stream = ecohub_offers::domain::contacts_stream("cust-1");

    let r = app
        .post("/offers/decisions", CHANNEL, decision_body("cust-1"))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let offers = r.body["offers"].as_array().unwrap();
    assert_eq!(offers.len(), 1, "{}", r.text);
    let o = &offers[0];
    assert_eq!(o["proposition_id"], id.as_str());
    assert_eq!(o["rank"], 1);
    assert_eq!(o["price"]["rate_percent"], 5.3);
    assert_eq!(
        o["price"]["rule"],
        "globetrotter, income over 5000, amount over 10000"
    );
    assert_eq!(o["add_ons"][0]["name"], "life insurance");
    assert_eq!(o["benefits"][0]["partner_id"], P);
    assert_eq!(o["personas"][0]["matched"], true);
    assert_eq!(o["propensity"]["persona"], "globetrotter");
    assert_eq!(
        o["propensity"]["estimate"], 0.05,
        "the prior: no outcome yet"
    );
    assert_eq!(o["score"], 10.0 * 250.0 * 0.05);
    assert!(r.body.get("held_back").is_none());
    // Recorded before the answer.
    assert_eq!(app.events(&stream).await, 1);

    // Explanations need offers:manage as well.
    let mut explain = decision_body("cust-1");
    explain["explain"] = json!(true);
    app.post("/offers/decisions", CHANNEL, explain.clone())
        .await
        .problem(403, "insufficient_scope");
    app.post("/offers/decisions", PM1, decision_body("cust-1"))
        .await
        .problem(403, "insufficient_scope");
    let r = app.post("/offers/decisions", ANALYST, explain).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["offers"].as_array().unwrap().len(), 1);
    assert_eq!(r.body["held_back"], json!([]));

    // A customer outside the audience: held back with the evaluation's reason.
    app.profile("cust-2", "bank", json!({"is_globetrotter": false}));
    let mut body = decision_body("cust-2");
    body["explain"] = json!(true);
    let r = app.post("/offers/decisions", ANALYST, body).await;
    assert_eq!(r.body["offers"], json!([]));
    assert_eq!(r.body["held_back"][0]["reason"]["code"], "audience_all_of");
    assert_eq!(
        app.events(&ecohub_offers::domain::contacts_stream("cust-2"))
            .await,
        0
    );
}

#[actix_web::test]
async fn bad_decisions_are_refused_naming_the_field_and_record_nothing() {
    let app = TestApp::new().await;
    app.published_loan(P).await;
    globetrotter(&app, "cust-1").await;
    let stream = ecohub_offers::domain::contacts_stream("cust-1");
    for (patch, field) in [
        (json!({"placement": "Home Banner"}), "/placement"),
        (json!({"max_offers": 0}), "/max_offers"),
        (json!({"max_offers": 11}), "/max_offers"),
        (json!({"customer_id": ""}), "/customer_id"),
    ] {
        let mut body = decision_body("cust-1");
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        let r = app.post("/offers/decisions", CHANNEL, body).await;
        r.problem(400, "invalid_request");
        assert_eq!(r.fields(), [field], "{}", r.text);
    }
    let mut body = decision_body("cust-1");
    body["channel"] = json!("carrier_pigeon");
    app.post("/offers/decisions", CHANNEL, body)
        .await
        .problem(400, "invalid_json");
    // Parameters the loan's schema refuses hold it back; the decision still answers.
    let mut body = decision_body("cust-1");
    body["params"] = json!({"amount": "lots"});
    body["explain"] = json!(true);
    let r = app.post("/offers/decisions", ANALYST, body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["held_back"][0]["reason"]["code"], "params_invalid");
    app.send(
        TestRequest::post()
            .uri("/offers/decisions")
            .set_json(decision_body("cust-1")),
    )
    .await
    .problem(401, "unauthorized");
    assert_eq!(app.events(&stream).await, 0, "nothing recorded");
}

#[actix_web::test]
async fn responses_are_idempotent_conflicts_refused_and_a_decline_suppresses() {
    let app = TestApp::new().await;
    app.published_loan(P).await;
    globetrotter(&app, "cust-1").await;
    let r = app
        .post("/offers/decisions", CHANNEL, decision_body("cust-1"))
        .await;
    let offer = r.body["offers"][0]["offer_id"].as_str().unwrap().to_owned();
    let stream = ecohub_offers::domain::contacts_stream("cust-1");
    let respond = |response: &str, offer: &str| {
        app.post(
            "/offers/responses",
            CHANNEL,
            json!({"customer_id": "cust-1", "offer_id": offer, "response": response}),
        )
    };
    let r = respond("viewed", &offer).await;
    assert_eq!(
        (r.status, &r.body["status"]),
        (200, &json!("viewed")),
        "{}",
        r.text
    );
    let r = respond("declined", &offer).await;
    assert_eq!(r.body["status"], "declined", "{}", r.text);
    let before = app.events(&stream).await;
    let r = respond("declined", &offer).await;
    assert_eq!(r.status, 200, "the same response again");
    assert_eq!(app.events(&stream).await, before, "recorded once");
    respond("accepted", &offer).await.problem(409, "conflict");
    respond("accepted", "0190b000-0000-7000-8000-000000000009")
        .await
        .problem(404, "not_found");
    // Another customer's offer is not found either.
    app.post(
        "/offers/responses",
        CHANNEL,
        json!({"customer_id": "cust-2", "offer_id": offer, "response": "accepted"}),
    )
    .await
    .problem(404, "not_found");
    assert_eq!(app.events(&stream).await, before);

    // Suppressed after the decline.
    let mut body = decision_body("cust-1");
    body["explain"] = json!(true);
    let r = app.post("/offers/decisions", ANALYST, body).await;
    assert_eq!(r.body["offers"], json!([]), "{}", r.text);
    assert_eq!(
        r.body["held_back"][0]["reason"]["code"],
        "suppressed_after_decline"
    );
}

#[actix_web::test]
async fn the_frequency_cap_holds_under_concurrent_decisions() {
    let app = TestApp::new().await;
    app.published_loan(P).await;
    globetrotter(&app, "cust-1").await;
    // Twelve decisions at once for one customer, on several channels (so the daily cap of 5
    // per channel is not what limits): the loan is presented at most 3 times (its cap).
    let channels = ["bank_app", "web", "branch"];
    let decisions = (0..12).map(|i| {
        let mut body = decision_body("cust-1");
        body["channel"] = json!(channels[i % 3]);
        let state = app.state.clone();
        async move {
            let ctx = ecohub_kernel::RequestContext::client("bank-app", format!("i-{i}"));
            state
                .decide(
                    ecohub_offers::DecisionRequest {
                        customer_id: "cust-1".into(),
                        channel: serde_json::from_value(body["channel"].clone()).unwrap(),
                        placement: "home_banner".into(),
                        params: body["params"].as_object().unwrap().clone(),
                        max_offers: 3,
                        explain: false,
                    },
                    &ctx,
                )
                .await
                .unwrap()
                .offers
                .len()
        }
    });
    let offered: usize = futures_util::future::join_all(decisions)
        .await
        .into_iter()
        .sum();
    assert_eq!(offered, 3, "exactly the cap");
    let stream = ecohub_offers::domain::contacts_stream("cust-1");
    assert_eq!(app.events(&stream).await, 3);
}

#[actix_web::test]
async fn an_objecting_customer_is_offered_nothing() {
    let app = TestApp::new().await;
    app.published_loan(P).await;
    globetrotter(&app, "cust-1").await;
    let r = app
        .as_customer(
            TestRequest::put()
                .uri("/customer/offer-preferences")
                .insert_header(("x-csrf-token", ecohub_testkit::fake_csrf("cust-1")))
                .set_json(json!({"personalised_offers": false})),
            "cust-1",
        )
        .await;
    assert_eq!(r.status, 200);
    let mut body = decision_body("cust-1");
    body["explain"] = json!(true);
    let r = app.post("/offers/decisions", ANALYST, body).await;
    assert_eq!(r.body["offers"], json!([]));
    assert_eq!(
        r.body["held_back"][0]["reason"]["code"],
        "customer_objected"
    );
    assert_eq!(
        app.events(&ecohub_offers::domain::contacts_stream("cust-1"))
            .await,
        0
    );
}

#[actix_web::test]
async fn the_customer_sees_and_answers_their_open_offers() {
    let app = TestApp::new().await;
    app.published_loan(P).await;
    globetrotter(&app, "cust-1").await;
    let r = app
        .post("/offers/decisions", CHANNEL, decision_body("cust-1"))
        .await;
    let offer = r.body["offers"][0]["offer_id"].as_str().unwrap().to_owned();
    let mine = app
        .as_customer(TestRequest::get().uri("/customer/offers"), "cust-1")
        .await;
    assert_eq!(mine.status, 200, "{}", mine.text);
    assert_eq!(mine.body["offers"][0]["offer_id"], offer.as_str());
    assert_eq!(mine.body["offers"][0]["status"], "presented");
    assert_eq!(mine.body["offers"][0]["rate_percent"], 5.3);
    let others = app
        .as_customer(TestRequest::get().uri("/customer/offers"), "cust-2")
        .await;
    assert_eq!(others.body["offers"], json!([]));

    let uri = format!("/customer/offers/{offer}/response");
    app.as_customer(
        TestRequest::post()
            .uri(&uri)
            .set_json(json!({"response": "accepted"})),
        "cust-1",
    )
    .await
    .problem(403, "forbidden");
    app.as_customer(
        TestRequest::post()
            .uri(&uri)
            .insert_header(("x-csrf-token", ecohub_testkit::fake_csrf("cust-2")))
            .set_json(json!({"response": "accepted"})),
        "cust-2",
    )
    .await
    .problem(404, "not_found");
    let r = app
        .as_customer(
            TestRequest::post()
                .uri(&uri)
                .insert_header(("x-csrf-token", ecohub_testkit::fake_csrf("cust-1")))
                .set_json(json!({"response": "accepted"})),
            "cust-1",
        )
        .await;
    assert_eq!(
        (r.status, &r.body["status"]),
        (200, &json!("accepted")),
        "{}",
        r.text
    );
    let mine = app
        .as_customer(TestRequest::get().uri("/customer/offers"), "cust-1")
        .await;
    assert_eq!(mine.body["offers"], json!([]), "no longer open");
    // Accepted: the product is never offered again.
    let mut body = decision_body("cust-1");
    body["explain"] = json!(true);
    let r = app.post("/offers/decisions", ANALYST, body).await;
    assert_eq!(r.body["held_back"][0]["reason"]["code"], "already_accepted");
}
