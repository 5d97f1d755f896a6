//! The compliance officer's offer trail (ADR 0024): a customer's decisions, offers and
//! responses in words, who submitted and approved each proposition version; refusals in
//! words.

use actix_web::test::TestRequest;
use serde_json::json;

use crate::support::*;

const P: &str = "0190a000-0000-7000-8000-000000000001";
const PAGE: &str = "/console/compliance/offers";

async fn page(app: &TestApp, uri: &str, who: Option<&str>) -> Res {
    let req = TestRequest::get().uri(uri);
    let req = match who {
        Some(who) => req.insert_header(("cookie", format!("ecohub_staff_session={who}"))),
        None => req,
    };
    app.send(req).await
}

#[track_caller]
fn is_page(res: &Res, status: u16) {
    assert_eq!(res.status, status, "{}", res.text);
    assert_eq!(res.header("content-type"), Some("text/html; charset=utf-8"));
    assert_eq!(res.header("cache-control"), Some("no-store"));
    assert!(!res.text.contains("<script"), "{}", res.text);
}

#[actix_web::test]
async fn without_a_session_or_the_audit_scope_the_trail_refuses() {
    let app = TestApp::new().await;
    for who in [None, Some("forged")] {
        let res = page(&app, PAGE, who).await;
        assert_eq!(res.status, 303);
        assert_eq!(res.header("location"), Some("/console/login"));
    }
    let res = page(&app, PAGE, Some("ada")).await;
    is_page(&res, 403);
    assert!(res.text.contains("for compliance officers"), "{}", res.text);
    let res = page(&app, PAGE, Some("down")).await;
    is_page(&res, 503);
    for query in ["after=nope", "customer=a&customer=b"] {
        let res = page(&app, &format!("{PAGE}?{query}"), Some("carol")).await;
        is_page(&res, 400);
        assert!(res.text.contains("role=\"alert\""), "{}", res.text);
    }
}

#[actix_web::test]
async fn the_trail_shows_decisions_offers_responses_and_who_approved_the_version() {
    let app = TestApp::new().await;
    let res = page(&app, PAGE, Some("carol")).await;
    is_page(&res, 200);
    assert!(
        res.text.contains("No proposition is drafted yet"),
        "{}",
        res.text
    );
    assert!(res.text.contains("Enter a customer id"), "{}", res.text);
    assert!(res.text.contains("starts at the moment"), "{}", res.text);

    app.published_loan(P).await;
    app.profile(
        "cust-1",
        "bank",
        json!({"is_globetrotter": true, "monthly_income": 6000, "age": 35, "risk_class": "low"}),
    );
    let r = app
        .post(
            "/offers/decisions",
            CHANNEL,
            json!({"customer_id": "cust-1", "channel": "bank_app", "placement": "home_banner",
                   "params": {"amount": 15000}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let offer = r.body["offers"][0]["offer_id"].as_str().unwrap().to_owned();
    for response in ["viewed", "accepted"] {
        let res = app
            .post(
                "/offers/responses",
                CHANNEL,
                json!({"customer_id": "cust-1", "offer_id": offer, "response": response}),
            )
            .await;
        assert_eq!(res.status, 200, "{}", res.text);
    }
    let res = page(&app, &format!("{PAGE}?customer=cust-1"), Some("carol")).await;
    is_page(&res, 200);
    for expected in [
        "Decisions for cust-1",
        "Globetrotter",
        "version 1",
        "presented in the bank&#39;s app",
        "rate 5.3%",
        "globetrotter",
        "SHA-256",
        &offer,
        "Viewed as reported by the bank&#39;s channel",
        "Accepted as reported by the bank&#39;s channel",
        "submitted by staff client pm-1",
        "approved by staff client pm-2",
        "co-branding accepted by partner",
        "published by staff client pm-2",
    ] {
        assert!(res.text.contains(expected), "{expected}: {}", res.text);
    }
    let res = page(&app, &format!("{PAGE}?customer=nobody"), Some("carol")).await;
    is_page(&res, 200);
    assert!(
        res.text.contains("No offer was made to this customer"),
        "{}",
        res.text
    );
    assert!(res.text.contains("value=\"nobody\""), "{}", res.text);
}
