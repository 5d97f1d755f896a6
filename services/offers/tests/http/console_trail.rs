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

// ------------------------------------------------------------- financial moments

use std::time::Duration;

use ecohub_kernel::{PartnerId, RequestContext};
use ecohub_offers::domain::{MomentId, PropositionId, customer_moments_stream};

fn booking(id: &str, customer: &str, amount: f64) -> serde_json::Value {
    json!({"moment_id": id, "moment_type": "travel_booked", "customer_id": customer,
           "payload": {"destination": "Lisbon", "departure_date": "2027-03-14",
                       "amount": amount, "currency": "EUR"}})
}

/// Trip cover published with `P` (named "Wanderlust Travel"), a rule putting it forward for
/// bookings over 500, Alice known to `P` as `pw-alice` and consenting to the bank using its
/// data; Dave known as `pw-dave`, without that consent.
async fn moments_ecosystem(app: &TestApp) {
    app.partner_names.name(P, "Wanderlust Travel");
    let id = app.published(P, crate::fixtures::travel_insurance(P)).await;
    app.state
        .define_trigger_rule(
            "trip_cover_on_booking".into(),
            "You booked a trip abroad".into(),
            "travel_booked".into(),
            &json!({">": [{"var": "moment.amount"}, 500]}),
            vec![PropositionId::parse(&id).unwrap()],
            14,
            10,
            true,
            &RequestContext::staff("pm-1", "test"),
        )
        .await
        .unwrap();
    let p = PartnerId::parse(P).unwrap();
    app.moment_providers.knows(p, "pw-alice", "alice");
    app.moment_providers.knows(p, "pw-dave", "dave");
    app.consent_to_bank(
        "alice",
        P,
        &["ReadTravelProfile"],
        START.plus(Duration::from_secs(86_400 * 365)),
    );
}

/// Publishes a booking as `P`; the hub's moment id, once the triggers are done with it.
async fn publish(app: &TestApp, id: &str, customer: &str, amount: f64) -> String {
    let r = app
        .post(
            "/moments",
            &provider_token(P),
            booking(id, customer, amount),
        )
        .await;
    let moment = MomentId::of(P, id);
    if r.status == 202 {
        let m = app
            .state
            .processed(moment, Duration::from_secs(5))
            .await
            .unwrap();
        assert!(m.status().is_final(), "never processed");
    }
    moment.to_string()
}

/// Waits until the customer's index of moments holds `n` notes.
async fn indexed(app: &TestApp, customer: &str, n: usize) {
    for _ in 0..500 {
        if app.events(&customer_moments_stream(customer)).await == n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!(
        "the index never held {n} notes: {}",
        app.events(&customer_moments_stream(customer)).await
    );
}

#[actix_web::test]
async fn a_moment_id_leads_to_the_moment_its_rules_its_offers_and_their_outcome() {
    let app = TestApp::new().await;
    moments_ecosystem(&app).await;
    let id = publish(&app, "b-1", "pw-alice", 1240.0).await;
    let ledger = app.state.ledger("alice").await.unwrap();
    let offer = ledger.offers.keys().next().unwrap().to_string();
    let r = app
        .post(
            "/offers/responses",
            CHANNEL,
            json!({"customer_id": "alice", "offer_id": offer, "response": "accepted"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    // By the hub's id, and by the provider's own id with who sent it: the same moment.
    for uri in [
        format!("{PAGE}?moment={id}"),
        format!("{PAGE}?moment=b-1&provider={P}"),
    ] {
        let res = page(&app, &uri, Some("carol")).await;
        is_page(&res, 200);
        for expected in [
            format!("Moment {id}"),
            "travel_booked".to_owned(),
            "Wanderlust Travel".to_owned(),
            "the provider's id <code>b-1</code>".to_owned(),
            "Lisbon".to_owned(),
            "trip_cover_on_booking".to_owned(),
            "You booked a trip abroad".to_owned(),
            "1 offer(s) made".to_owned(),
            "Trip cover".to_owned(),
            offer.clone(),
            "Accepted as reported by the bank&#39;s channel".to_owned(),
            format!("href=\"{PAGE}?customer=alice\""),
            // The search stays in the form.
            format!(
                "value=\"{}\"",
                uri.split("moment=")
                    .nth(1)
                    .unwrap()
                    .split('&')
                    .next()
                    .unwrap()
            ),
        ] {
            assert!(
                res.text.contains(&expected),
                "{uri}: {expected}: {}",
                res.text
            );
        }
        assert!(!res.text.contains("No moment found"), "{}", res.text);
    }
    // An id nothing was recorded under: the page says what to try next.
    let res = page(
        &app,
        &format!("{PAGE}?moment=0190a000-0000-7000-8000-00000000beef"),
        Some("carol"),
    )
    .await;
    is_page(&res, 200);
    assert!(res.text.contains("No moment found"), "{}", res.text);
    assert!(
        res.text
            .contains("An offer or decision id is not a moment id"),
        "{}",
        res.text
    );
    let res = page(
        &app,
        &format!("{PAGE}?moment=b-1&provider=bank"),
        Some("carol"),
    )
    .await;
    assert!(res.text.contains("No moment found"), "{}", res.text);
}

#[actix_web::test]
async fn refused_and_unmatched_moments_are_found_and_listed_on_the_customers_trail() {
    let app = TestApp::new().await;
    moments_ecosystem(&app).await;
    // Dave has no consent naming the partner: refused, recorded without the payload.
    let refused = publish(&app, "b-10", "pw-dave", 1500.0).await;
    // Alice's small booking matches no rule; her big one is offered.
    let unmatched = publish(&app, "b-11", "pw-alice", 80.0).await;
    let offered = publish(&app, "b-12", "pw-alice", 2000.0).await;
    let res = page(&app, &format!("{PAGE}?moment={refused}"), Some("carol")).await;
    is_page(&res, 200);
    for expected in [
        "badge rejected\">refused</span> nothing was triggered and the payload was not kept",
        "no authorised consent letting this partner share moments",
        "travel_booked",
        "the provider's id <code>b-10</code>",
        "the customer's full trail",
    ] {
        assert!(res.text.contains(expected), "{expected}: {}", res.text);
    }
    assert!(!res.text.contains("Lisbon"), "a refusal keeps no payload");
    // Dave's trail lists the refused moment (he has no decision).
    let res = page(&app, &format!("{PAGE}?customer=dave"), Some("carol")).await;
    is_page(&res, 200);
    assert!(
        res.text.contains("Financial moments for dave"),
        "{}",
        res.text
    );
    assert!(res.text.contains(&refused), "{}", res.text);
    assert!(res.text.contains("badge rejected"), "{}", res.text);
    assert!(
        res.text.contains("No offer was made to this customer"),
        "{}",
        res.text
    );
    // Alice's: both moments, newest first, each with its outcome and a link to it.
    let res = page(&app, &format!("{PAGE}?customer=alice"), Some("carol")).await;
    is_page(&res, 200);
    let (at_offered, at_unmatched) = (
        res.text
            .find(&format!("?moment={offered}"))
            .expect("offered listed"),
        res.text
            .find(&format!("?moment={unmatched}"))
            .expect("unmatched listed"),
    );
    assert!(at_offered < at_unmatched, "newest first");
    assert!(
        res.text
            .contains("no rule matched</span> received; no trigger rule matched"),
        "{}",
        res.text
    );
    assert!(res.text.contains("1 offer(s) made"), "{}", res.text);
    assert!(!res.text.contains(&refused), "Dave's moment is not Alice's");
    // Unknown customers: an empty state saying what to do.
    let res = page(&app, &format!("{PAGE}?customer=nobody"), Some("carol")).await;
    assert!(
        res.text.contains("No financial moment named this customer"),
        "{}",
        res.text
    );
}

#[actix_web::test]
async fn a_customers_moments_are_paged_newest_first_and_noted_once() {
    let app = TestApp::new().await;
    moments_ecosystem(&app).await;
    // Dave is refused (no consent), then consents and the same moment is received: one
    // moment, listed once.
    publish(&app, "b-0", "pw-dave", 100.0).await;
    app.consent_to_bank(
        "dave",
        P,
        &["ReadTravelProfile"],
        START.plus(Duration::from_secs(86_400 * 365)),
    );
    publish(&app, "b-0", "pw-dave", 100.0).await;
    for n in 1..=24 {
        publish(&app, &format!("b-{n}"), "pw-dave", 100.0).await;
    }
    indexed(&app, "dave", 25).await;
    let res = page(&app, &format!("{PAGE}?customer=dave"), Some("carol")).await;
    is_page(&res, 200);
    let rows = |text: &str| {
        text.matches("<td><a href=\"/console/compliance/offers?moment=")
            .count()
    };
    assert_eq!(rows(&res.text), 20, "{}", res.text);
    assert!(res.text.contains(&MomentId::of(P, "b-24").to_string()));
    assert!(
        !res.text
            .contains(&format!("?moment={}\"", MomentId::of(P, "b-0")))
    );
    let next = res
        .text
        .split("href=\"")
        .find(|h| h.starts_with("/console/compliance/offers?customer=dave&#38;moments_before="))
        .and_then(|h| h.split('"').next())
        .expect("a link to older moments")
        .replace("&#38;", "&");
    let next = next.split('#').next().unwrap().to_owned();
    let older = page(&app, &next, Some("carol")).await;
    is_page(&older, 200);
    assert_eq!(rows(&older.text), 5, "{}", older.text);
    assert!(
        older
            .text
            .contains(&format!("?moment={}\"", MomentId::of(P, "b-0")))
    );
    assert!(
        older.text.contains("Refused: "),
        "its refusal is shown: {}",
        older.text
    );
    assert!(older.text.contains("← Newest moments"), "{}", older.text);
    assert!(!older.text.contains("Older moments →"), "{}", older.text);
    // Rebuilding the index from zero writes nothing twice.
    app.moment_index.rebuild().await.unwrap();
    app.moment_index
        .wait_for(app.store.head().await.unwrap())
        .await;
    assert_eq!(app.events(&customer_moments_stream("dave")).await, 25);
}

#[actix_web::test]
async fn moments_the_index_has_not_written_yet_are_listed_too() {
    let app = TestApp::new().await;
    moments_ecosystem(&app).await;
    publish(&app, "b-1", "pw-alice", 80.0).await;
    indexed(&app, "alice", 1).await;
    // The index stops (behind, or failing): the trail still lists what it has not written.
    app.moment_index.stop();
    let later = publish(&app, "b-2", "pw-alice", 90.0).await;
    let refused = publish(&app, "b-3", "pw-dave", 90.0).await;
    let res = page(&app, &format!("{PAGE}?customer=alice"), Some("carol")).await;
    is_page(&res, 200);
    assert!(
        res.text.contains(&format!("?moment={later}")),
        "{}",
        res.text
    );
    assert!(
        res.text
            .contains(&format!("?moment={}", MomentId::of(P, "b-1")))
    );
    assert_eq!(app.events(&customer_moments_stream("alice")).await, 1);
    let res = page(&app, &format!("{PAGE}?customer=dave"), Some("carol")).await;
    assert!(
        res.text.contains(&format!("?moment={refused}")),
        "{}",
        res.text
    );
}

#[actix_web::test]
async fn moment_searches_it_cannot_read_are_refused_in_words() {
    let app = TestApp::new().await;
    for (query, words) in [
        ("moment=b-1", "not a moment id of the hub"),
        (
            "moment=b-1&provider=somebody",
            "must be bank or a partner id",
        ),
        (
            "provider=bank",
            "enter the provider&#39;s id of the moment too",
        ),
        ("customer=alice&moment=b-1", "not both"),
        ("customer=alice&moments_before=soon", "does not exist"),
        ("moment=a&moment=b", "a field given twice"),
    ] {
        let res = page(&app, &format!("{PAGE}?{query}"), Some("carol")).await;
        is_page(&res, 400);
        assert!(res.text.contains("role=\"alert\""), "{query}: {}", res.text);
        assert!(res.text.contains(words), "{query}: {}", res.text);
    }
    // What was typed stays in the form.
    let res = page(
        &app,
        &format!("{PAGE}?moment=b-1&provider=somebody"),
        Some("carol"),
    )
    .await;
    assert!(res.text.contains("value=\"somebody\""), "{}", res.text);
}
