//! Financial moments through the real binary on the embedded store (issue 14, ADR 0026): the
//! Latinia scenario. A travel partner publishes `travel_booked` for a customer who consented
//! to the bank using its data; the bank's trip-cover proposition is triggered; the partner's
//! loopback webhook receives a signed `offer-available` naming the customer by pairwise id;
//! the customer's offers page shows it with its reason; she accepts and the partner receives
//! `offer-accepted`. The same moment again triggers nothing; after she revokes, the next
//! moment is refused. A second test kills the hub (SIGKILL) right after accepting a burst of
//! moments and checks that, after the restart, every one was triggered exactly once.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use ecohub_e2e::{
    Hub, PASSWORD, Staff, add_customer, authorise_consent, basic_accounts_consent, bootstrap_staff,
    create_consent, onboard_partner, receiver, send, staff_client, verify_set, wait_ready,
};
use ecohub_testkit::{Browser, HubProcess, loopback_client};
use serde_json::{Value, json};

/// A proposition offered when a moment triggers it, co-branded by `partner`.
fn trip_cover(partner: &str) -> Value {
    json!({
        "name": "Trip cover",
        "description": "Travel insurance for the trip you just booked",
        "product": {"kind": "insurance", "code": "INS-TRIP", "name": "Trip cover",
                    "terms": {"cover_days": "1-90"}},
        "benefits": [{"partner_id": partner, "kind": "perk",
                      "description": "Airport lounge pass", "value": "1 visit"}],
        "availability": {"channels": ["moment", "bank_app"]},
        "pricing": {"rules": [], "default": {"rate_percent": 0, "commission_percent": 12, "fees": 19}}
    })
}

/// Drafts, approves (a second person), has `partner` accept and publishes `doc`; returns its id.
async fn publish(
    hub: &impl Hub,
    anna: &str,
    ben: &str,
    partner_token: Option<&str>,
    doc: Value,
) -> String {
    let http = loopback_client();
    let (status, created) = send(
        http.post(hub.url("/offers/propositions"))
            .bearer_auth(anna)
            .json(&doc),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let version = |action: &str| hub.url(&format!("/offers/propositions/{id}/versions/1/{action}"));
    let (status, body) = send(http.post(version("submit")).bearer_auth(anna)).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = send(http.post(version("approve")).bearer_auth(ben)).await;
    assert_eq!(status, 200, "{body}");
    if let Some(partner) = partner_token {
        let (status, body) = send(
            http.put(hub.url(&format!("/partner/propositions/{id}/versions/1/acceptance")))
                .bearer_auth(partner),
        )
        .await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, body) = send(http.post(version("publish")).bearer_auth(anna)).await;
    assert_eq!(status, 200, "{body}");
    id
}

/// Defines trigger rule `name` on `moment_type` putting `proposition` forward.
async fn rule(
    hub: &impl Hub,
    anna: &str,
    name: &str,
    moment_type: &str,
    condition: Value,
    proposition: &str,
    reason: &str,
) {
    let (status, body) = send(
        loopback_client()
            .put(hub.url(&format!("/offers/trigger-rules/{name}")))
            .bearer_auth(anna)
            .json(&json!({"reason": reason, "moment_type": moment_type, "condition": condition,
                "propositions": [proposition], "validity_days": 14, "priority": 10, "active": true})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

/// Waits for the next delivery to the webhook and returns its verified claims.
async fn next_set(
    hub: &impl Hub,
    deliveries: &mut tokio::sync::mpsc::UnboundedReceiver<(String, String)>,
) -> Value {
    let (_, set) = tokio::time::timeout(Duration::from_secs(20), deliveries.recv())
        .await
        .expect("a delivery within 20 s")
        .unwrap();
    let (_, jwks) = send(loopback_client().get(hub.url("/jwks"))).await;
    verify_set(set.trim(), &jwks)
}

async fn moment_status(hub: &impl Hub, token: &str, id: &str) -> Value {
    let (status, body) = send(
        loopback_client()
            .get(hub.url(&format!("/moments/{id}")))
            .bearer_auth(token),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn product_managers(hub: &impl Hub, staff: &Staff) -> (String, String) {
    let (_, anna) = staff_client(hub, &staff.maker, "product manager A", "offers:manage").await;
    let (_, ben) = staff_client(hub, &staff.maker, "product manager B", "offers:manage").await;
    (anna, ben)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_travel_booking_triggers_a_signed_offer_for_the_partner_and_the_customer() {
    let dir = tempfile::tempdir().unwrap();
    let hub = HubProcess::start_in(dir.path(), &[]);
    wait_ready(&hub).await;
    let http = loopback_client();
    let staff = bootstrap_staff(&hub, dir.path(), &[]).await;
    let travel = onboard_partner(
        &hub,
        &staff,
        &hub.url(""),
        "Globetrotter Travel Ltd",
        &["data_recipient", "data_provider", "offer_partner"],
        "consents:read consents:write data:read data:publish offers:read offers:write webhooks:manage",
    )
    .await;
    add_customer(dir.path(), &[], "alice");
    let (anna, ben) = product_managers(&hub, &staff).await;
    let (_, channel) = staff_client(&hub, &staff.maker, "bank app", "offers:decide").await;

    // The partner knows Alice by her pairwise id, from a consent she gave it, which also lets
    // it receive offers for her (`ReadOffers`).
    let mut body = basic_accounts_consent(30);
    body["permissions"] = json!(["ReadAccountsBasic", "ReadOffers"]);
    let consent = create_consent(&hub, &travel, &body).await;
    let mut browser = Browser::new();
    let tokens =
        authorise_consent(&hub, &travel, &mut browser, &consent, ("alice", PASSWORD)).await;
    let mut form = travel.auth_form();
    form.push(("token", tokens.access_token.clone()));
    let (_, introspected) = send(http.post(hub.url("/introspect")).form(&form)).await;
    let pairwise = introspected["sub"].as_str().unwrap().to_owned();

    // The bank's trip cover, co-branded by the partner, and a rule for bookings over 500.
    let offers_token = travel.token(&hub, "offers:read offers:write").await;
    let proposition = publish(
        &hub,
        &anna,
        &ben,
        Some(&offers_token),
        trip_cover(&travel.partner_id),
    )
    .await;
    rule(
        &hub,
        &anna,
        "trip_cover_on_booking",
        "travel_booked",
        json!({">": [{"var": "moment.amount"}, 500]}),
        &proposition,
        "You booked a trip abroad",
    )
    .await;

    // The partner's webhook, subscribed to offers available and accepted.
    let (hook_url, mut deliveries) = receiver().await;
    let webhooks = travel.token(&hub, "webhooks:manage").await;
    let (status, body) = send(
        http.post(hub.url(&format!("/partners/{}/webhooks", travel.partner_id)))
            .bearer_auth(&webhooks)
            .json(&json!({"url": hook_url})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = send(
        http.post(hub.url("/event-subscriptions"))
            .bearer_auth(&webhooks)
            .json(&json!({"url": hook_url, "event_types": ["offer-available", "offer-accepted"]})),
    )
    .await;
    assert_eq!(status, 201, "{body}");

    let publisher = travel.token(&hub, "data:publish").await;
    let booking = |id: &str| {
        json!({"moment_id": id, "moment_type": "travel_booked", "customer_id": pairwise,
               "payload": {"destination": "Lisbon", "departure_date": "2027-03-14",
                           "amount": 1240.0, "currency": "EUR"}})
    };
    let publish_moment = |id: &str| {
        http.post(hub.url("/moments"))
            .bearer_auth(&publisher)
            .json(&booking(id))
    };

    // Without Alice's consent to the bank, the moment is refused.
    let (status, problem) = send(publish_moment("booking-0")).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (403, Some("consent_required")),
        "{problem}"
    );

    // Alice lets the bank use the partner's data for personalised offers.
    let page = browser.get(&hub.url("/dashboard")).await;
    let csrf = page.input("csrf_token").unwrap();
    let granted = browser
        .post_form(
            &hub.url("/dashboard/bank-consents"),
            &[
                ("csrf_token", &csrf),
                ("data_provider", &travel.partner_id),
                ("permission", "ReadTravelProfile"),
                ("days", "365"),
            ],
        )
        .await;
    assert_eq!(granted.status, 303, "{}", granted.body);
    let to_bank = granted
        .location
        .as_deref()
        .unwrap()
        .trim_start_matches("/dashboard#consent-")
        .to_owned();

    // The partner publishes her booking: accepted.
    let started = Instant::now();
    let (status, accepted) = send(publish_moment("booking-1")).await;
    assert_eq!(status, 202, "{accepted}");
    let moment_id = accepted["id"].as_str().unwrap().to_owned();

    // Its webhook receives `offer-available`, signed, naming Alice by her pairwise id.
    let claims = next_set(&hub, &mut deliveries).await;
    let available_after = started.elapsed();
    assert_eq!(claims["aud"], travel.partner_id.as_str(), "{claims}");
    let event = &claims["events"]["urn:ecohub:events:offer-available"];
    assert!(event.is_object(), "{claims}");
    assert_eq!(event["sub_id"]["id"], pairwise.as_str(), "{claims}");
    assert_eq!(event["proposition_id"], proposition.as_str(), "{claims}");
    assert!(
        !claims.to_string().contains("alice"),
        "the partner never learns the hub's customer id: {claims}"
    );
    let offer_id = event["offer_id"].as_str().unwrap().to_owned();
    eprintln!("moment accepted → offer-available received: {available_after:?}");

    // The moment says it was triggered; the bank's channels see the offer too.
    let shown = moment_status(&hub, &publisher, &moment_id).await;
    assert_eq!(shown["status"], "offered", "{shown}");
    let (status, triggered) =
        send(http.get(hub.url("/offers/triggered")).bearer_auth(&channel)).await;
    assert_eq!(status, 200, "{triggered}");
    assert_eq!(
        triggered["data"].as_array().unwrap().len(),
        1,
        "{triggered}"
    );
    assert_eq!(triggered["data"][0]["offer_id"], offer_id.as_str());

    // Alice's offers page shows it, with when it arrived and why; she accepts.
    let page = browser.get(&hub.url("/dashboard/offers")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Trip cover"), "{}", page.body);
    assert!(
        page.body.contains("You booked a trip abroad"),
        "{}",
        page.body
    );
    let csrf = page.input("csrf_token").unwrap();
    let answered = browser
        .post_form(
            &hub.url(&format!("/dashboard/offers/{offer_id}/respond")),
            &[("csrf_token", &csrf), ("response", "accepted")],
        )
        .await;
    assert_eq!(answered.status, 303, "{}", answered.body);

    // The partner receives `offer-accepted` for the same offer.
    let claims = next_set(&hub, &mut deliveries).await;
    let event = &claims["events"]["urn:ecohub:events:offer-accepted"];
    assert_eq!(event["offer_id"], offer_id.as_str(), "{claims}");
    assert_eq!(event["sub_id"]["id"], pairwise.as_str(), "{claims}");

    // The same moment again: accepted as before, nothing triggered.
    let (status, again) = send(publish_moment("booking-1")).await;
    assert_eq!((status, &again["id"]), (202, &json!(moment_id)), "{again}");
    assert!(
        tokio::time::timeout(Duration::from_millis(1500), deliveries.recv())
            .await
            .is_err(),
        "a moment sent twice notifies once"
    );
    let (_, triggered) = send(http.get(hub.url("/offers/triggered")).bearer_auth(&channel)).await;
    assert_eq!(
        triggered["data"].as_array().unwrap().len(),
        1,
        "{triggered}"
    );

    // Alice revokes her consent to the bank: the next moment is refused.
    let revoked = browser
        .post_form(
            &hub.url(&format!("/dashboard/consents/{to_bank}/revoke")),
            &[("csrf_token", &csrf)],
        )
        .await;
    assert_eq!(revoked.status, 303, "{}", revoked.body);
    let (status, problem) = send(publish_moment("booking-2")).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (403, Some("consent_required")),
        "{problem}"
    );

    let (exit, _) = hub.terminate();
    assert!(exit.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moments_accepted_before_a_kill_are_triggered_exactly_once_after_the_restart() {
    const MOMENTS: usize = 40;
    let dir = tempfile::tempdir().unwrap();
    let hub = HubProcess::start_in(dir.path(), &[]);
    wait_ready(&hub).await;
    let http = loopback_client();
    let staff = bootstrap_staff(&hub, dir.path(), &[]).await;
    let (anna, ben) = product_managers(&hub, &staff).await;
    let (status, feed) = send(
        http.post(hub.url("/admin/clients"))
            .bearer_auth(&staff.maker)
            .json(&json!({"description": "core banking feed", "scope": "data:publish"})),
    )
    .await;
    assert_eq!(status, 201, "{feed}");
    let feed_id = feed["client_id"].as_str().unwrap().to_owned();
    let feed_secret = feed["client_secret"].as_str().unwrap().to_owned();
    let (status, app) = send(
        http.post(hub.url("/admin/clients"))
            .bearer_auth(&staff.maker)
            .json(&json!({"description": "bank app", "scope": "offers:decide"})),
    )
    .await;
    assert_eq!(status, 201, "{app}");
    let app_id = app["client_id"].as_str().unwrap().to_owned();
    let app_secret = app["client_secret"].as_str().unwrap().to_owned();
    let mut savings = trip_cover("0190a000-0000-7000-8000-0000000000ff");
    savings["name"] = json!("Salary saver");
    savings["product"] = json!({"kind": "savings", "code": "SAV-SALARY", "name": "Salary saver"});
    savings["benefits"] = json!([]);
    let proposition = publish(&hub, &anna, &ben, None, savings).await;
    rule(
        &hub,
        &anna,
        "saver_on_salary",
        "salary_received",
        json!({">=": [{"var": "moment.amount"}, 1000]}),
        &proposition,
        "Your salary arrived",
    )
    .await;
    let token = ecohub_e2e::basic_token(&hub, &feed_id, &feed_secret, "data:publish").await;
    let mut ids = Vec::new();
    for i in 0..MOMENTS {
        let (status, body) = send(http.post(hub.url("/moments")).bearer_auth(&token).json(
            &json!({"moment_id": format!("salary-{i}"), "moment_type": "salary_received",
                              "customer_id": format!("customer-{i}"),
                              "payload": {"amount": 3000, "currency": "EUR"}}),
        ))
        .await;
        assert_eq!(status, 202, "{body}");
        ids.push(body["id"].as_str().unwrap().to_owned());
    }
    // Killed at once: some moments may not have been triggered yet.
    hub.kill();

    let hub = HubProcess::start_in(dir.path(), &[]);
    wait_ready(&hub).await;
    let token = ecohub_e2e::basic_token(&hub, &feed_id, &feed_secret, "data:publish").await;
    let deadline = Instant::now() + Duration::from_secs(30);
    for id in &ids {
        loop {
            let m = moment_status(&hub, &token, id).await;
            if m["status"] == "offered" {
                break;
            }
            assert!(Instant::now() < deadline, "never offered: {m}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    // Exactly one offer per moment, each to its customer.
    let channel = ecohub_e2e::basic_token(&hub, &app_id, &app_secret, "offers:decide").await;
    let (status, page) = send(
        http.get(hub.url("/offers/triggered?page_size=500"))
            .bearer_auth(&channel),
    )
    .await;
    assert_eq!(status, 200, "{page}");
    let data = page["data"].as_array().unwrap();
    assert_eq!(data.len(), MOMENTS, "{page}");
    let moments: BTreeSet<&str> = data
        .iter()
        .map(|o| o["moment"]["moment_id"].as_str().unwrap())
        .collect();
    assert_eq!(moments.len(), MOMENTS);
    let (exit, _) = hub.terminate();
    assert!(exit.success());
}
