//! Partner-provided attributes (ADR 0021): used only for customers whose consent to the bank
//! names the partner, only as far as its permissions unlock the partner's data, and gone from
//! the very next evaluation once the consent ends or the customer objects.

use actix_web::test::TestRequest;
use serde_json::{Value, json};

use crate::support::*;

/// A travel partner (data provider).
const TRAVEL: &str = "0190a000-0000-7000-8000-0000000000aa";
/// Another travel partner the customer has not consented to.
const OTHER: &str = "0190a000-0000-7000-8000-0000000000bb";

async fn frequent_traveller(app: &TestApp) {
    let r = app
        .put(
            "/offers/attributes/trips_per_year",
            PM1,
            json!({"type": "number", "description": "Trips a year, from a travel partner",
                   "source": {"dataset": "travel_profile", "pointer": "/trips_per_year"}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = app
        .put(
            "/offers/personas/frequent_traveller",
            PM1,
            json!({"title": "Frequent traveller", "description": "Six trips a year or more",
                   "condition": {">=": [{"var": "trips_per_year"}, 6]}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

async fn dry_run(app: &TestApp, customer: &str) -> Value {
    let r = app
        .post(
            "/offers/personas/frequent_traveller/dry-run",
            PM1,
            json!({"customer_id": customer}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body
}

#[actix_web::test]
async fn a_partners_data_is_used_only_under_the_customers_consent_to_the_bank() {
    let app = TestApp::new().await;
    frequent_traveller(&app).await;
    app.publish(
        "cust-1",
        "travel_profile",
        TRAVEL,
        json!({"trips_per_year": 9}),
    );
    app.publish(
        "cust-1",
        "travel_profile",
        OTHER,
        json!({"trips_per_year": 12}),
    );

    // No consent: the partner's record is not read.
    let run = dry_run(&app, "cust-1").await;
    assert_eq!(run["matched"], false, "{run}");
    assert_eq!(run["explanation"]["values"]["trips_per_year"], Value::Null);

    // A consent whose permissions unlock nothing of travel_profile: still not read.
    let year = START.plus(std::time::Duration::from_secs(365 * 86_400));
    app.consent_to_bank("cust-1", TRAVEL, &["ReadActivity"], year);
    let run = dry_run(&app, "cust-1").await;
    assert_eq!(run["matched"], false, "{run}");

    // Consent to the travel partner's profile: its value (not the other partner's) is used.
    app.consent_to_bank("cust-1", TRAVEL, &["ReadTravelProfile"], year);
    let run = dry_run(&app, "cust-1").await;
    assert_eq!(run["matched"], true, "{run}");
    assert_eq!(run["explanation"]["values"]["trips_per_year"], 9);

    // Another customer is not profiled with cust-1's consent.
    app.publish(
        "cust-2",
        "travel_profile",
        TRAVEL,
        json!({"trips_per_year": 9}),
    );
    assert_eq!(dry_run(&app, "cust-2").await["matched"], false);

    // Revocation: the very next evaluation no longer reads the partner's data.
    app.revoke_bank_consents("cust-1", TRAVEL);
    let run = dry_run(&app, "cust-1").await;
    assert_eq!(run["matched"], false, "{run}");
    assert_eq!(run["explanation"]["values"]["trips_per_year"], Value::Null);
}

#[actix_web::test]
async fn an_expired_consent_or_an_objection_stops_the_use_of_partners_data() {
    let app = TestApp::new().await;
    frequent_traveller(&app).await;
    app.publish(
        "cust-1",
        "travel_profile",
        TRAVEL,
        json!({"trips_per_year": 9}),
    );
    let soon = START.plus(std::time::Duration::from_secs(60));
    app.consent_to_bank("cust-1", TRAVEL, &["ReadTravelProfile"], soon);
    assert_eq!(dry_run(&app, "cust-1").await["matched"], true);
    // Past its expiry (the clock moves a second a request).
    app.clock.advance(std::time::Duration::from_secs(120));
    assert_eq!(dry_run(&app, "cust-1").await["matched"], false);

    // A live consent, but the customer objects: not profiled at all.
    let year = START.plus(std::time::Duration::from_secs(365 * 86_400));
    app.consent_to_bank("cust-1", TRAVEL, &["ReadTravelProfile"], year);
    assert_eq!(dry_run(&app, "cust-1").await["matched"], true);
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
    let run = dry_run(&app, "cust-1").await;
    assert_eq!(run["matched"], false, "{run}");
    assert_eq!(run["explanation"]["values"]["trips_per_year"], Value::Null);
}
