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
        (json!({"max_offers": 101}), "/max_offers"),
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
                        co_brand: None,
                        trigger: None,
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

/// Waits until the funnel shows `presented` offers in total.
async fn funnel_until(app: &TestApp, query: &str, presented: u64) -> Value {
    for _ in 0..200 {
        let r = app
            .get(&format!("/offers/reports/funnel{query}"), PM1)
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        let total: u64 = r.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|row| row["presented"].as_u64().unwrap())
            .sum();
        if total == presented {
            return r.body;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("the funnel never showed {presented} presented offers");
}

#[actix_web::test]
async fn the_funnel_reports_presented_viewed_accepted_declined_per_channel_and_persona() {
    let app = TestApp::new().await;
    let id = app.published_loan(P).await;
    for c in ["cust-1", "cust-2", "cust-3"] {
        globetrotter(&app, c).await;
    }
    let mut offers = Vec::new();
    for (c, channel) in [
        ("cust-1", "bank_app"),
        ("cust-2", "bank_app"),
        ("cust-3", "web"),
    ] {
        let mut body = decision_body(c);
        body["channel"] = json!(channel);
        let r = app.post("/offers/decisions", CHANNEL, body).await;
        offers.push((
            c,
            r.body["offers"][0]["offer_id"].as_str().unwrap().to_owned(),
        ));
    }
    for ((c, offer), response) in offers.iter().zip(["accepted", "declined", "viewed"]) {
        let r = app
            .post(
                "/offers/responses",
                CHANNEL,
                json!({"customer_id": c, "offer_id": offer, "response": response}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    // Wait for the responses too (viewed is the last one appended).
    let mut body = Value::Null;
    for _ in 0..200 {
        body = funnel_until(&app, "", 3).await;
        let viewed: u64 = body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["viewed"].as_u64().unwrap())
            .sum();
        if viewed == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let rows = body["data"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "one row per channel: {body}");
    let app_row = rows.iter().find(|r| r["channel"] == "bank_app").unwrap();
    assert_eq!(
        (
            &app_row["proposition_id"],
            &app_row["presented"],
            &app_row["accepted"],
            &app_row["declined"],
            &app_row["conversion_rate"]
        ),
        (&json!(id), &json!(2), &json!(1), &json!(1), &json!(0.5)),
        "{body}"
    );
    assert_eq!(app_row["partners"], json!([P]));
    assert!(app_row.get("persona").is_none());
    // Per persona, filtered by channel and partner.
    let r = app
        .get(
            &format!("/offers/reports/funnel?persona=*&channel=web&partner_id={P}"),
            PM1,
        )
        .await;
    assert_eq!(r.body["data"][0]["persona"], "globetrotter", "{}", r.text);
    assert_eq!(r.body["data"][0]["viewed"], 1);
    let other_partner = "0190a000-0000-7000-8000-000000000077";
    let r = app
        .get(
            &format!("/offers/reports/funnel?partner_id={other_partner}"),
            PM1,
        )
        .await;
    assert_eq!(r.body["data"], json!([]));
    // A window that ends before today: nothing.
    let r = app
        .get(
            "/offers/reports/funnel?from=2020-01-01T00:00:00Z&to=2020-02-01T00:00:00Z",
            PM1,
        )
        .await;
    assert_eq!(r.body["data"], json!([]));
    // Pages of one row.
    let r = app.get("/offers/reports/funnel?page_size=1", PM1).await;
    assert_eq!(r.body["data"].as_array().unwrap().len(), 1);
    let next = r.body["links"]["next"].as_str().unwrap().to_owned();
    let r2 = app.get(&next, PM1).await;
    assert_eq!(r2.body["data"].as_array().unwrap().len(), 1, "{}", r2.text);
    assert_ne!(r2.body["data"][0]["channel"], r.body["data"][0]["channel"]);
    assert!(r2.body["links"].get("next").is_none());
    // CSV.
    let csv = app.get("/offers/reports/funnel?format=csv", PM1).await;
    assert_eq!(csv.status, 200);
    assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8"));
    let lines: Vec<&str> = csv.text.lines().collect();
    assert_eq!(
        lines[0],
        "proposition_id,version,channel,persona,partners,presented,viewed,accepted,declined,expired,conversion_rate"
    );
    assert_eq!(lines.len(), 3, "{}", csv.text);
    assert!(
        lines.iter().any(|l| l.ends_with(",2,0,1,1,0,0.5000")),
        "{}",
        csv.text
    );
    // Bad input; the channel's token cannot read reports.
    for bad in [
        "from=yesterday",
        "persona=",
        "version=0",
        "version=4294967296",
        "persona=Not+A+Name",
        "cursor=nope",
        "page_size=0",
        "format=xls",
    ] {
        let r = app.get(&format!("/offers/reports/funnel?{bad}"), PM1).await;
        assert_eq!(r.status, 400, "{bad}: {}", r.text);
    }
    app.get("/offers/reports/funnel", CHANNEL)
        .await
        .problem(403, "insufficient_scope");
}

#[actix_web::test]
async fn offers_nobody_answers_expire_and_the_job_records_it_once() {
    let app = TestApp::new().await;
    app.published_loan(P).await;
    globetrotter(&app, "cust-1").await;
    let r = app
        .post("/offers/decisions", CHANNEL, decision_body("cust-1"))
        .await;
    let offer = r.body["offers"][0]["offer_id"].as_str().unwrap().to_owned();
    let stream = ecohub_offers::domain::contacts_stream("cust-1");
    // Not due yet: nothing to do.
    funnel_until(&app, "", 1).await;
    let now = ecohub_kernel::Clock::now(&*app.clock);
    let run = ecohub_offers::run_offer_expiry(&app.state, now)
        .await
        .unwrap();
    assert_eq!(run.expired, 0);
    // 15 days later (offers are valid 14): expired, recorded once.
    app.clock
        .advance(std::time::Duration::from_secs(15 * 86_400));
    let later = ecohub_kernel::Clock::now(&*app.clock);
    // (the open-offers read model follows the ledger within moments)
    let mut expired = 0;
    for _ in 0..200 {
        expired = ecohub_offers::run_offer_expiry(&app.state, later)
            .await
            .unwrap()
            .expired;
        if expired > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(expired, 1);
    assert_eq!(app.events(&stream).await, 2);
    let run = ecohub_offers::run_offer_expiry(&app.state, later)
        .await
        .unwrap();
    assert_eq!((run.expired, app.events(&stream).await), (0, 2), "once");
    let r = app
        .post(
            "/offers/responses",
            CHANNEL,
            json!({"customer_id": "cust-1", "offer_id": offer, "response": "accepted"}),
        )
        .await;
    r.problem(409, "conflict");
    assert!(r.text.contains("expired"), "{}", r.text);
    let mine = app
        .as_customer(TestRequest::get().uri("/customer/offers"), "cust-1")
        .await;
    assert_eq!(mine.body["offers"], json!([]));
    for _ in 0..200 {
        let r = app.get("/offers/reports/funnel", PM1).await;
        if r.body["data"][0]["expired"] == 1 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("the funnel never counted the expiry");
}

#[actix_web::test]
async fn the_customer_asks_for_offers_on_their_page_and_answers_them() {
    let app = TestApp::new().await;
    app.published_loan(P).await;
    globetrotter(&app, "cust-1").await;
    let csrf = ecohub_testkit::fake_csrf("cust-1");
    let page = app
        .as_customer(TestRequest::get().uri("/dashboard/offers"), "cust-1")
        .await;
    assert_eq!(page.status, 200);
    assert!(
        page.text.contains("You have no open offers."),
        "{}",
        page.text
    );
    assert!(page.text.contains("action=\"/dashboard/offers/decide\""));
    // Without the CSRF token nothing is decided.
    app.as_customer(
        TestRequest::post()
            .uri("/dashboard/offers/decide")
            .set_form([("csrf_token", "wrong")]),
        "cust-1",
    )
    .await
    .problem(403, "forbidden");
    let stream = ecohub_offers::domain::contacts_stream("cust-1");
    assert_eq!(app.events(&stream).await, 0);
    // Web channel, no amount: the loan's parameters need one, so nothing fits...
    let r = app
        .as_customer(
            TestRequest::post()
                .uri("/dashboard/offers/decide")
                .set_form([("csrf_token", csrf.as_str())]),
            "cust-1",
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    // ...so the channel presents it instead, and the page shows it.
    let r = app
        .post("/offers/decisions", CHANNEL, decision_body("cust-1"))
        .await;
    let offer = r.body["offers"][0]["offer_id"].as_str().unwrap().to_owned();
    let page = app
        .as_customer(TestRequest::get().uri("/dashboard/offers"), "cust-1")
        .await;
    assert!(
        page.text.contains("Globetrotter personal loan"),
        "{}",
        page.text
    );
    assert!(page.text.contains("5.3 %"), "{}", page.text);
    assert!(
        page.text.contains("your profile matches: globetrotter"),
        "{}",
        page.text
    );
    assert!(
        page.text
            .contains(&format!("action=\"/dashboard/offers/{offer}/respond\""))
    );
    let r = app
        .as_customer(
            TestRequest::post()
                .uri(&format!("/dashboard/offers/{offer}/respond"))
                .set_form([("csrf_token", csrf.as_str()), ("response", "declined")]),
            "cust-1",
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert_eq!(r.header("location"), Some("/dashboard/offers#offers"));
    let ledger = app.state.ledger("cust-1").await.unwrap();
    assert_eq!(
        ledger.offers.values().next().unwrap().status,
        ecohub_offers::domain::OfferStatus::Declined
    );
    let page = app
        .as_customer(TestRequest::get().uri("/dashboard/offers"), "cust-1")
        .await;
    assert!(page.text.contains("You have no open offers."));
}

/// A co-brand partner's app decides for the customer of its consent (ReadOffers): only the
/// propositions it co-brands, on the partner channel; without such a consent, 403; responses
/// only for offers it co-brands.
#[actix_web::test]
async fn a_co_brand_partner_decides_under_consent_and_answers_for_its_customer() {
    let app = TestApp::new().await;
    app.published_loan(P).await;
    globetrotter(&app, "cust-1").await;
    let token = format!("app:{P}:consent-1");
    let body = json!({"placement": "app_home", "params": {"amount": 15000}});
    // No consent letting this partner receive offers yet.
    app.post("/partner/decisions", &token, body.clone())
        .await
        .problem(403, "forbidden");
    app.offer_consents.consents.lock().unwrap().insert(
        "consent-1".into(),
        (ecohub_kernel::PartnerId::parse(P).unwrap(), "cust-1".into()),
    );
    let r = app.post("/partner/decisions", &token, body.clone()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let offer = r.body["offers"][0]["offer_id"].as_str().unwrap().to_owned();
    assert_eq!(r.body["offers"][0]["price"]["rate_percent"], 5.3);
    assert!(
        !r.text.contains("cust-1"),
        "the partner never sees the hub's id"
    );
    let ledger = app.state.ledger("cust-1").await.unwrap();
    assert_eq!(
        ledger.offers.values().next().unwrap().offer.channel,
        ecohub_offers::domain::Channel::PartnerChannel
    );
    // Another partner's consent-bound token for the same consent id: refused.
    let other = "0190a000-0000-7000-8000-000000000099";
    app.post(
        "/partner/decisions",
        &format!("app:{other}:consent-1"),
        body.clone(),
    )
    .await
    .problem(403, "forbidden");
    // A token without a consent (the partner's back office): refused.
    app.post("/partner/decisions", &partner_token(P), body.clone())
        .await
        .problem(403, "forbidden");
    // The partner reports the customer's acceptance.
    let r = app
        .post(
            &format!("/partner/offers/{offer}/response"),
            &token,
            json!({"response": "accepted"}),
        )
        .await;
    assert_eq!(
        (r.status, &r.body["status"]),
        (200, &json!("accepted")),
        "{}",
        r.text
    );
    let ledger = app.state.ledger("cust-1").await.unwrap();
    assert_eq!(
        ledger.offers.values().next().unwrap().by,
        Some(ecohub_offers::domain::Reporter::Partner)
    );
    // An offer it does not co-brand, or unknown: 404.
    app.post(
        "/partner/offers/0190b000-0000-7000-8000-000000000009/response",
        &token,
        json!({"response": "accepted"}),
    )
    .await
    .problem(404, "not_found");
    // Revoked: refused on the next request.
    app.offer_consents.consents.lock().unwrap().clear();
    app.post("/partner/decisions", &token, body)
        .await
        .problem(403, "forbidden");
}

#[actix_web::test]
async fn acceptances_raise_a_proposition_above_one_ranked_before_it() {
    // Decisions screen propositions in the order of the best score each could get, an order
    // shared between decisions: an acceptance, which raises an estimate, must reorder it.
    let app = TestApp::new().await;
    let loan = |code: &str, priority: u32| {
        let mut doc = crate::fixtures::globetrotter_loan(P);
        doc["name"] = json!(format!("Loan {code}"));
        doc["product"]["code"] = json!(code);
        doc["priority"] = json!(priority);
        doc
    };
    let a = app.published(P, loan("A", 10)).await;
    let b = app.published(P, loan("B", 9)).await;
    app.listed(2).await;
    let one = |customer: &str| {
        let mut body = decision_body(customer);
        body["max_offers"] = json!(1);
        body
    };
    globetrotter(&app, "first").await;
    let r = app.post("/offers/decisions", CHANNEL, one("first")).await;
    assert_eq!(
        r.body["offers"][0]["proposition_id"],
        a.as_str(),
        "{}",
        r.text
    );

    // Five customers who hold A are offered B, and accept it.
    for n in 0..5 {
        let customer = format!("holder-{n}");
        app.profile(
            &customer,
            "bank",
            json!({"is_globetrotter": true, "monthly_income": 6000, "age": 35,
                   "risk_class": "low", "products_held": ["A"]}),
        );
        let r = app.post("/offers/decisions", CHANNEL, one(&customer)).await;
        let offer = &r.body["offers"][0];
        assert_eq!(offer["proposition_id"], b.as_str(), "{}", r.text);
        let r = app
            .post(
                "/offers/responses",
                CHANNEL,
                json!({"customer_id": customer, "offer_id": offer["offer_id"],
                       "response": "accepted"}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    // The outcomes are counted with the funnel (one projection): wait for 5 accepted.
    let mut accepted = 0;
    for _ in 0..200 {
        let funnel = funnel_until(&app, "", 6).await;
        accepted = funnel["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|row| row["accepted"].as_u64().unwrap())
            .sum::<u64>();
        if accepted == 5 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(accepted, 5);

    // B: 9 × 250 × (1 + 5) / (20 + 5) = 540 beats A: 10 × 250 × 1 / 21 ≈ 119, once the
    // decisions' snapshot of the counts is refreshed (`propensity_refresh_ms`, 100 ms).
    let started = std::time::Instant::now();
    for n in 0.. {
        let customer = format!("next-{n}");
        globetrotter(&app, &customer).await;
        let r = app.post("/offers/decisions", CHANNEL, one(&customer)).await;
        let offer = &r.body["offers"][0];
        if offer["proposition_id"] == b.as_str() {
            assert_eq!(offer["propensity"]["estimate"], 0.24, "{}", r.text);
            return;
        }
        assert_eq!(offer["proposition_id"], a.as_str(), "{}", r.text);
        // The snapshot refreshes every 100 ms; the bound only tells "never" from "late" on a
        // loaded machine.
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "the acceptances never reordered the propositions"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[actix_web::test]
async fn responses_to_several_offers_of_one_customer_at_once_all_succeed() {
    // A customer (or the channel for them) answering several offers at once: each answer is
    // decided on the ledger; one that loses the race decides again on the new ledger.
    let app = TestApp::new().await;
    for (code, priority) in [("A", 10), ("B", 9), ("C", 8), ("D", 7)] {
        let mut doc = crate::fixtures::globetrotter_loan(P);
        doc["name"] = json!(format!("Loan {code}"));
        doc["product"]["code"] = json!(code);
        doc["priority"] = json!(priority);
        app.published(P, doc).await;
    }
    app.listed(4).await;
    globetrotter(&app, "cust-1").await;
    let mut body = decision_body("cust-1");
    body["max_offers"] = json!(4);
    let r = app.post("/offers/decisions", CHANNEL, body).await;
    let offers: Vec<ecohub_offers::domain::OfferId> = r.body["offers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["offer_id"].as_str().unwrap().parse().unwrap())
        .collect();
    assert_eq!(offers.len(), 4, "{}", r.text);
    let answers = offers.iter().map(|&offer| {
        let state = app.state.clone();
        async move {
            let ctx = ecohub_kernel::RequestContext::client("bank-app", format!("r-{offer}"));
            state
                .respond(
                    "cust-1",
                    offer,
                    ecohub_offers::domain::Response::Accepted,
                    ecohub_offers::domain::Reporter::Channel,
                    &ctx,
                )
                .await
                .map(|record| record.status)
        }
    });
    let statuses = futures_util::future::join_all(answers).await;
    for s in &statuses {
        assert!(
            matches!(s, Ok(ecohub_offers::domain::OfferStatus::Accepted)),
            "{statuses:?}"
        );
    }
    let stream = ecohub_offers::domain::contacts_stream("cust-1");
    assert_eq!(app.events(&stream).await, 8, "4 presented, 4 accepted");
}
