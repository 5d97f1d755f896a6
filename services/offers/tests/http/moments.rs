//! Financial moments over HTTP against the embedded store (ADR 0026): a data provider
//! publishes a moment for a consenting customer, the trigger processor matches a rule and
//! records one offer on the customer's ledger; the same moment again changes nothing;
//! refusals are recorded without the payload; caps and suppressions hold; the bank publishes
//! by its own customer id; the bank's channels poll the triggered offers.

use std::time::Duration;

use ecohub_eventstore::read_stream_to_end;
use ecohub_kernel::{PartnerId, RequestContext};
use ecohub_offers::domain::{Channel, MomentId, MomentStatus, PropositionId, moment_stream};
use serde_json::{Value, json};

use crate::support::*;

const P: &str = "0190a000-0000-7000-8000-000000000001";
const OTHER: &str = "0190a000-0000-7000-8000-000000000002";

fn partner() -> PartnerId {
    PartnerId::parse(P).unwrap()
}

fn booking(id: &str, amount: f64) -> Value {
    json!({"moment_id": id, "moment_type": "travel_booked", "customer_id": "pw-alice",
           "occurred_at": "2026-12-03T09:15:00Z",
           "payload": {"destination": "Lisbon", "departure_date": "2027-03-14",
                       "amount": amount, "currency": "EUR"}})
}

/// Travel insurance published, a rule putting it forward for bookings over 500, Alice known
/// to the travel partner as `pw-alice` and consenting to the bank using its data.
async fn ecosystem(app: &TestApp) -> String {
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
    app.moment_providers.knows(partner(), "pw-alice", "alice");
    app.consent_to_bank(
        "alice",
        P,
        &["ReadTravelProfile"],
        START.plus(Duration::from_secs(86_400 * 365)),
    );
    id
}

async fn processed(app: &TestApp, id: &str) -> ecohub_offers::domain::Moment {
    let m = app
        .state
        .processed(MomentId::parse(id).unwrap(), Duration::from_secs(5))
        .await
        .unwrap();
    assert!(m.status().is_final(), "the moment was never processed");
    m
}

async fn stored(app: &TestApp, stream: &str) -> Vec<(String, Value)> {
    read_stream_to_end(&*app.store, stream)
        .await
        .unwrap()
        .iter()
        .map(|e| (e.event_type.clone(), e.data_json().unwrap()))
        .collect()
}

/// Polls the trigger processor's status until `f` accepts what it says is stalled.
async fn stall_until(app: &TestApp, f: impl Fn(&Option<String>) -> bool) -> Option<String> {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let stalled = app.triggers.status().stalled;
        if f(&stalled) {
            return stalled;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "status never changed: {stalled:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[actix_web::test]
async fn a_moment_that_keeps_failing_is_reported_until_it_is_triggered() {
    let app = TestApp::new().await;
    ecosystem(&app).await;
    assert_eq!(app.triggers.status().stalled, None);
    app.offer_consents
        .unavailable
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let r = app
        .post("/moments", &provider_token(P), booking("b-stuck", 1240.0))
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_owned();
    let stalled = stall_until(&app, Option::is_some).await.unwrap();
    assert!(stalled.contains(&id), "{stalled}");
    assert!(stalled.contains("consents unavailable"), "{stalled}");
    assert!(
        !stalled.contains("alice"),
        "no customer in the status: {stalled}"
    );
    // Not skipped: once the consents answer again, the moment is offered and the status clear.
    app.offer_consents
        .unavailable
        .store(false, std::sync::atomic::Ordering::SeqCst);
    let m = processed(&app, &id).await;
    assert_eq!(m.status(), MomentStatus::Offered);
    stall_until(&app, Option::is_none).await;
}

#[actix_web::test]
async fn a_partners_moment_under_consent_triggers_one_offer_and_the_same_moment_again_nothing() {
    let app = TestApp::new().await;
    let proposition = ecosystem(&app).await;
    let r = app
        .post("/moments", &provider_token(P), booking("b-1", 1240.0))
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        r.header("location"),
        Some(format!("/moments/{id}").as_str())
    );
    assert!(
        !r.text.contains("alice"),
        "the answer never names the customer"
    );
    let m = processed(&app, &id).await;
    assert_eq!(m.status(), MomentStatus::Offered);
    // The log: MomentReceived, TriggerMatched with the rule and its explanation, then
    // TriggerDecided with the offer the decision made.
    let events = stored(&app, &moment_stream(MomentId::parse(&id).unwrap())).await;
    assert_eq!(
        events.iter().map(|(t, _)| t.as_str()).collect::<Vec<_>>(),
        ["MomentReceived", "TriggerMatched", "TriggerDecided"]
    );
    let matched = &events[1].1["matches"][0];
    assert_eq!(matched["rule"], "trip_cover_on_booking");
    assert_eq!(matched["explanation"]["held"], true);
    assert_eq!(matched["explanation"]["values"]["moment.amount"], 1240.0);
    // One offer on Alice's ledger, from this moment, open for the rule's 14 days.
    let ledger = app.state.ledger("alice").await.unwrap();
    assert_eq!(ledger.offers.len(), 1);
    let offer = &ledger.offers.values().next().unwrap().offer;
    assert_eq!(offer.proposition_id.to_string(), proposition);
    assert_eq!(events[2].1["offers"], json!([offer.offer_id.to_string()]));
    assert_eq!(offer.channel, Channel::Moment);
    let moment = offer.moment.as_ref().expect("the offer names its moment");
    assert_eq!(
        (moment.rule.as_str(), moment.reason.as_str()),
        ("trip_cover_on_booking", "You booked a trip abroad")
    );
    assert_eq!(moment.moment_id.to_string(), id);
    assert!(
        moment.notify.is_empty(),
        "Alice has not let the partner receive offers: its webhook is not told"
    );
    let presented_at = ledger.offers.values().next().unwrap().presented_at;
    assert_eq!(
        offer.expires_at,
        presented_at.plus(Duration::from_secs(14 * 86_400))
    );
    // Alice's offers page shows it, when it arrived and why.
    let page = app
        .as_customer(
            actix_web::test::TestRequest::get().uri("/dashboard/offers"),
            "alice",
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(page.text.contains("Trip cover"), "{}", page.text);
    assert!(page.text.contains("Just for this moment"));
    assert!(
        page.text
            .contains("It was sent to you when this happened: You booked a trip abroad.")
    );
    assert!(page.text.contains("Arrived"));
    // The same moment again: 202, the same moment, nothing written, nothing triggered.
    let again = app
        .post("/moments", &provider_token(P), booking("b-1", 1240.0))
        .await;
    assert_eq!((again.status, &again.body["id"]), (202, &json!(id)));
    assert_eq!(again.body["status"], "offered");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        stored(&app, &moment_stream(MomentId::parse(&id).unwrap()))
            .await
            .len(),
        3
    );
    assert_eq!(app.state.ledger("alice").await.unwrap().offers.len(), 1);
    // Processing it again (a second instance, a replay after a crash) changes nothing.
    app.state
        .trigger(MomentId::parse(&id).unwrap())
        .await
        .unwrap();
    assert_eq!(app.state.ledger("alice").await.unwrap().offers.len(), 1);
    // The provider sees where its moment stands, not the customer.
    let shown = app.get(&format!("/moments/{id}"), &provider_token(P)).await;
    assert_eq!(shown.status, 200, "{}", shown.text);
    assert_eq!(
        shown.body["matched_rules"],
        json!(["trip_cover_on_booking"])
    );
    // Another provider: 404.
    app.get(&format!("/moments/{id}"), &provider_token(OTHER))
        .await
        .problem(404, "not_found");
}

#[actix_web::test]
async fn the_bank_channels_poll_triggered_offers_from_a_cursor() {
    let app = TestApp::new().await;
    ecosystem(&app).await;
    let r = app
        .post("/moments", &provider_token(P), booking("b-1", 900.0))
        .await;
    let id = r.body["id"].as_str().unwrap().to_owned();
    processed(&app, &id).await;
    // An ordinary decision's offer is not a triggered one.
    let d = app
        .post(
            "/offers/decisions",
            CHANNEL,
            json!({"customer_id": "bob", "channel": "bank_app", "placement": "home"}),
        )
        .await;
    assert_eq!(d.status, 200, "{}", d.text);
    let page = app.get("/offers/triggered", CHANNEL).await;
    assert_eq!(page.status, 200, "{}", page.text);
    let data = page.body["data"].as_array().unwrap();
    assert_eq!(data.len(), 1, "{}", page.text);
    assert_eq!(data[0]["customer_id"], "alice");
    assert_eq!(data[0]["moment"]["moment_id"], json!(id));
    assert_eq!(data[0]["moment"]["reason"], "You booked a trip abroad");
    // Polling from the cursor: nothing new, until another moment triggers.
    let next = page.body["links"]["next"].as_str().unwrap().to_owned();
    let empty = app.get(&next, CHANNEL).await;
    assert_eq!(empty.body["data"], json!([]), "{}", empty.text);
    app.moment_providers.knows(partner(), "pw-carol", "carol");
    app.consent_to_bank(
        "carol",
        P,
        &["ReadTravelProfile"],
        START.plus(Duration::from_secs(86_400)),
    );
    // Carol lets the travel partner receive offers: its webhook is told of hers.
    app.offer_consents
        .consents
        .lock()
        .unwrap()
        .insert("consent-carol".into(), (partner(), "carol".into()));
    let mut body = booking("b-2", 700.0);
    body["customer_id"] = json!("pw-carol");
    let r = app.post("/moments", &provider_token(P), body).await;
    processed(&app, r.body["id"].as_str().unwrap()).await;
    let carols = app.state.ledger("carol").await.unwrap();
    let notified = &carols.offers.values().next().unwrap().offer;
    assert_eq!(notified.moment.as_ref().unwrap().notify, vec![partner()]);
    let later = app.get(&next, CHANNEL).await;
    let data = later.body["data"].as_array().unwrap();
    assert_eq!(data.len(), 1, "{}", later.text);
    assert_eq!(data[0]["customer_id"], "carol");
    // Only the bank's channels poll.
    app.get("/offers/triggered", &provider_token(P))
        .await
        .problem(403, "insufficient_scope");
    app.get("/offers/triggered?cursor=!!", CHANNEL)
        .await
        .problem(400, "invalid_cursor");
}

#[actix_web::test]
async fn refused_moments_are_recorded_without_their_payload_and_bad_input_writes_nothing() {
    let app = TestApp::new().await;
    ecosystem(&app).await;
    // No consent to the bank naming this partner.
    app.moment_providers.knows(partner(), "pw-dave", "dave");
    let mut body = booking("b-10", 1500.0);
    body["customer_id"] = json!("pw-dave");
    let r = app.post("/moments", &provider_token(P), body).await;
    r.problem(403, "consent_required");
    let id = MomentId::of(P, "b-10");
    let events = stored(&app, &moment_stream(id)).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].0, "MomentRefused");
    assert_eq!(events[0].1["code"], "no_consent");
    let raw = events[0].1.to_string();
    assert!(
        !raw.contains("Lisbon") && !raw.contains("1500"),
        "a refusal keeps no payload: {raw}"
    );
    // The customer objected to personalised offers.
    let r = app
        .as_customer(
            actix_web::test::TestRequest::put()
                .uri("/customer/offer-preferences")
                .insert_header(("x-csrf-token", ecohub_testkit::fake_csrf("alice")))
                .set_json(json!({"personalised_offers": false})),
            "alice",
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    app.post("/moments", &provider_token(P), booking("b-11", 1500.0))
        .await
        .problem(403, "customer_objected");
    assert_eq!(
        stored(&app, &moment_stream(MomentId::of(P, "b-11"))).await[0].1["code"],
        "customer_objected"
    );
    // A pairwise id this partner does not know: 404, recorded.
    let mut body = booking("b-12", 1500.0);
    body["customer_id"] = json!("pw-nobody");
    app.post("/moments", &provider_token(P), body)
        .await
        .problem(404, "not_found");
    // Bad input is refused naming the field, and nothing is written.
    let mut bad = booking("b-13", 1500.0);
    bad["payload"]["amount"] = json!("a lot");
    let r = app.post("/moments", &provider_token(P), bad).await;
    r.problem(400, "invalid_request");
    assert!(r.text.contains("/payload/amount"), "{}", r.text);
    let mut unknown = booking("b-13", 1500.0);
    unknown["moment_type"] = json!("lottery_won");
    let r = app.post("/moments", &provider_token(P), unknown).await;
    r.problem(400, "invalid_request");
    assert!(r.text.contains("/moment_type"), "{}", r.text);
    let mut date = booking("b-13", 1500.0);
    date["payload"]["departure_date"] = json!("14/03/2027");
    let r = app.post("/moments", &provider_token(P), date).await;
    r.problem(400, "invalid_request");
    assert!(r.text.contains("/payload/departure_date"), "{}", r.text);
    assert!(
        stored(&app, &moment_stream(MomentId::of(P, "b-13")))
            .await
            .is_empty()
    );
    // A partner without the data_provider role.
    app.post("/moments", &provider_token(OTHER), booking("b-14", 900.0))
        .await
        .problem(403, "forbidden");
    // The bank may not publish a type only partners provide.
    let mut as_bank = booking("b-15", 900.0);
    as_bank["customer_id"] = json!("alice");
    app.post("/moments", BANK_FEED, as_bank)
        .await
        .problem(403, "forbidden");
    // A client without data:publish.
    app.post("/moments", CHANNEL, booking("b-16", 900.0))
        .await
        .problem(403, "insufficient_scope");
    assert!(
        stored(&app, &moment_stream(MomentId::of(P, "b-16")))
            .await
            .is_empty()
    );
}

#[actix_web::test]
async fn a_moment_id_names_one_moment_and_a_moment_never_bypasses_a_suppression() {
    let app = TestApp::new().await;
    ecosystem(&app).await;
    let r = app
        .post("/moments", &provider_token(P), booking("b-1", 900.0))
        .await;
    processed(&app, r.body["id"].as_str().unwrap()).await;
    // The same id for another moment: 409.
    app.post("/moments", &provider_token(P), booking("b-1", 901.0))
        .await
        .problem(409, "conflict");
    // Alice declines the triggered offer: the proposition is suppressed for 30 days.
    let ledger = app.state.ledger("alice").await.unwrap();
    let offer = ledger.offers.keys().next().unwrap().to_string();
    let d = app
        .post(
            "/offers/responses",
            CHANNEL,
            json!({"customer_id": "alice", "offer_id": offer, "response": "declined"}),
        )
        .await;
    assert_eq!(d.status, 200, "{}", d.text);
    // Her next booking matches the rule, but no offer is made.
    let r = app
        .post("/moments", &provider_token(P), booking("b-2", 2000.0))
        .await;
    let m = processed(&app, r.body["id"].as_str().unwrap()).await;
    assert_eq!(m.status(), MomentStatus::HeldBack);
    assert_eq!(app.state.ledger("alice").await.unwrap().offers.len(), 1);
    // A booking under the rule's threshold matches nothing.
    let r = app
        .post("/moments", &provider_token(P), booking("b-3", 80.0))
        .await;
    let m = processed(&app, r.body["id"].as_str().unwrap()).await;
    assert_eq!(m.status(), MomentStatus::NotMatched);
}

#[actix_web::test]
async fn the_bank_publishes_its_customers_moments_by_their_own_id() {
    let app = TestApp::new().await;
    ecosystem(&app).await;
    let r = app
        .post(
            "/moments",
            BANK_FEED,
            json!({"moment_id": "sal-2026-12", "moment_type": "salary_received",
                   "customer_id": "erin", "payload": {"amount": 4200, "currency": "EUR"}}),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    let m = processed(&app, r.body["id"].as_str().unwrap()).await;
    assert_eq!(m.status(), MomentStatus::NotMatched);
    assert_eq!(m.received.unwrap().customer_id, "erin");
    // A partner may not publish a bank-only type.
    app.post(
        "/moments",
        &provider_token(P),
        json!({"moment_id": "sal-1", "moment_type": "salary_received",
               "customer_id": "pw-alice", "payload": {"amount": 1, "currency": "EUR"}}),
    )
    .await
    .problem(403, "forbidden");
}

#[actix_web::test]
async fn compliance_follows_a_moment_to_its_offer_and_its_outcome() {
    let app = TestApp::new().await;
    ecosystem(&app).await;
    let r = app
        .post("/moments", &provider_token(P), booking("b-1", 1240.0))
        .await;
    let id = r.body["id"].as_str().unwrap().to_owned();
    processed(&app, &id).await;
    let ledger = app.state.ledger("alice").await.unwrap();
    let offer = ledger.offers.keys().next().unwrap().to_string();
    app.post(
        "/offers/responses",
        CHANNEL,
        json!({"customer_id": "alice", "offer_id": offer, "response": "accepted"}),
    )
    .await;
    let trail = app
        .send(
            actix_web::test::TestRequest::get()
                .uri("/console/compliance/offers?customer=alice")
                .insert_header(("cookie", "ecohub_staff_session=carol")),
        )
        .await;
    assert_eq!(trail.status, 200, "{}", trail.text);
    for expected in [
        "Financial moment",
        "travel_booked",
        &id,
        "b-1",
        "trip_cover_on_booking",
        "You booked a trip abroad",
        "Lisbon",
        "Trip cover",
        &offer,
        "Accepted",
    ] {
        assert!(trail.text.contains(expected), "{expected}: {}", trail.text);
    }
}
