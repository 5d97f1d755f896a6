//! Consents to the bank (ADR 0021): the customer lets the bank use a partner's data for
//! personalised offers through the API or the dashboard's form; the consent is authorised at
//! once, never visible to partners, listed, receipted, revoked and audited as any other, and
//! `bank_grants` answers exactly what it lets the bank use.

use std::time::Duration;

use actix_web::test;
use ecohub_consents::ConsentStanding;
use serde_json::{Value, json};

use crate::support::*;

fn grant_body(app: &TestApp, provider: &str) -> Value {
    json!({
        "data_providers": [provider],
        "permissions": ["ReadTravelProfile"],
        "expiration": app.now().plus(Duration::from_secs(180 * 86_400)).to_rfc3339(),
    })
}

async fn grant(app: &TestApp, customer: &str, body: Value) -> crate::support::Res {
    app.as_customer(
        test::TestRequest::post()
            .uri("/customer/bank-consents")
            .insert_header(("x-csrf-token", csrf(customer)))
            .set_json(body),
        customer,
    )
    .await
}

#[actix_web::test]
async fn the_customer_sees_the_active_data_providers() {
    let app = TestApp::new().await;
    let travel = app.partner("TravelCo", true, true);
    app.partner("Recipient only", true, false);
    app.partner("Suspended provider", false, true);
    let res = app
        .as_customer(
            test::TestRequest::get().uri("/customer/data-providers"),
            "alice",
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(
        res.body,
        json!({"data": [{"partner_id": travel, "name": "TravelCo"}]})
    );
    app.send(test::TestRequest::get().uri("/customer/data-providers"))
        .await
        .problem(401, "unauthorized");
}

#[actix_web::test]
async fn a_grant_to_the_bank_is_authorised_at_once_and_stored_without_a_partner() {
    let app = TestApp::new().await;
    let travel = app.partner("TravelCo", true, true);
    let res = grant(&app, "alice", grant_body(&app, &travel)).await;
    assert_eq!(res.status, 201, "{}", res.text);
    let id = res.body["consent_id"].as_str().unwrap().to_owned();
    assert_eq!(
        res.header("location"),
        Some(format!("/customer/consents/{id}/receipt").as_str())
    );
    assert_eq!(res.body["recipient"], "bank");
    assert_eq!(res.body["partner_name"], "Ecohub Bank");
    assert_eq!(res.body["status"], "Authorised");
    assert_eq!(res.body["purpose"]["code"], "personalised_offers");
    assert_eq!(res.body["data_providers"], json!(["TravelCo"]));
    assert_eq!(res.body["revocable"], true);

    let events = app.stream(&id).await;
    let stored: Vec<(&str, u16)> = events
        .iter()
        .map(|e| (e.event_type.as_str(), e.event_version))
        .collect();
    assert_eq!(
        stored,
        [("ConsentRequested", 3), ("ConsentAuthorised", 2)],
        "one append, current versions"
    );
    let requested: Value = serde_json::from_slice(&events[0].data).unwrap();
    let authorised: Value = serde_json::from_slice(&events[1].data).unwrap();
    assert_eq!(requested["recipient"], "bank");
    assert!(requested.get("partner_id").is_none());
    assert!(authorised.get("pairwise_id").is_none());
    assert_eq!(requested["reason"], "customer_request");
    // The chain verifies.
    let report = ecohub_consents::verify_all(&*app.store).await.unwrap();
    assert_eq!(report.first_break, None);

    // Listed among the customer's consents.
    app.caught_up().await;
    let list = app
        .as_customer(test::TestRequest::get().uri("/customer/consents"), "alice")
        .await;
    assert_eq!(list.body["data"][0]["consent_id"], id.as_str());
    assert_eq!(list.body["data"][0]["recipient"], "bank");

    // A receipt whose controller is the bank, disclosing nothing to a third party.
    let receipt = app
        .as_customer(
            test::TestRequest::get().uri(&format!("/customer/consents/{id}/receipt")),
            "alice",
        )
        .await;
    assert_eq!(receipt.status, 200, "{}", receipt.text);
    let claims: Value = serde_json::from_str(
        receipt.body["receipt"]
            .as_str()
            .unwrap()
            .strip_prefix("signed.")
            .unwrap(),
    )
    .unwrap();
    let purpose = &claims["services"][0]["purposes"][0];
    assert_eq!(purpose["thirdPartyDisclosure"], false);
    assert!(purpose.get("thirdPartyName").is_none());
    assert_eq!(purpose["purposeCategory"], json!(["personalised_offers"]));
    assert!(
        claims["services"][0]["service"]
            .as_str()
            .unwrap()
            .contains("TravelCo")
    );
}

#[actix_web::test]
async fn partners_never_see_or_use_a_consent_to_the_bank() {
    let app = TestApp::new().await;
    let travel = app.partner("TravelCo", true, true);
    let res = grant(&app, "alice", grant_body(&app, &travel)).await;
    let id = res.body["consent_id"].as_str().unwrap().to_owned();
    app.get(&format!("/consents/{id}"), &partner_token(&travel))
        .await
        .problem(404, "not_found");
    app.delete(&format!("/consents/{id}"), &partner_token(&travel))
        .await
        .problem(404, "not_found");
    let now = app.now();
    assert_eq!(
        app.state.standing(&id, now).await.unwrap(),
        ConsentStanding::NotFound,
        "no token stands on it"
    );
    assert_eq!(app.state.grant(&id, now).await.unwrap(), None);
    app.state
        .pending(&id, &travel, now)
        .await
        .expect_err("no partner may take it through an authorisation");
    // The audit shows the bank as the recipient; a partner filter leaves it out.
    app.caught_up().await;
    let audit = app.get("/audit/consents", AUDITOR).await;
    assert_eq!(audit.status, 200, "{}", audit.text);
    assert_eq!(audit.body["data"][0]["recipient"], "bank");
    assert!(audit.body["data"][0].get("partner_id").is_none());
    let filtered = app
        .get(&format!("/audit/consents?partner_id={travel}"), AUDITOR)
        .await;
    assert_eq!(filtered.body["data"], json!([]));
}

#[actix_web::test]
async fn bad_grants_are_refused_naming_the_field_and_change_nothing() {
    let app = TestApp::new().await;
    let travel = app.partner("TravelCo", true, true);
    let recipient_only = app.partner("Shop", true, false);
    let suspended = app.partner("Gone", false, true);
    let head = app.head().await;
    // Without the CSRF token.
    app.as_customer(
        test::TestRequest::post()
            .uri("/customer/bank-consents")
            .set_json(grant_body(&app, &travel)),
        "alice",
    )
    .await
    .problem(403, "forbidden");
    // Anonymous.
    app.send(
        test::TestRequest::post()
            .uri("/customer/bank-consents")
            .set_json(grant_body(&app, &travel)),
    )
    .await
    .problem(401, "unauthorized");
    let mut cases: Vec<(Value, &str)> = Vec::new();
    let mut body = grant_body(&app, &travel);
    body["data_providers"] = json!(["bank"]);
    cases.push((body, "/data_providers"));
    cases.push((grant_body(&app, &recipient_only), "/data_providers"));
    cases.push((grant_body(&app, &suspended), "/data_providers"));
    let mut body = grant_body(&app, &travel);
    body["data_providers"] = json!([]);
    cases.push((body, "/data_providers"));
    let mut body = grant_body(&app, &travel);
    body["permissions"] = json!([]);
    cases.push((body, "/permissions"));
    let mut body = grant_body(&app, &travel);
    body["permissions"] = json!(["ReadEverything"]);
    cases.push((body, "/permissions"));
    let mut body = grant_body(&app, &travel);
    body["expiration"] = json!("2020-01-01T00:00:00Z");
    cases.push((body, "/expiration"));
    for (body, field) in cases {
        let res = grant(&app, "alice", body.clone()).await;
        res.problem(400, "invalid_request");
        assert_eq!(res.fields(), [field], "{body}: {}", res.text);
    }
    let mut body = grant_body(&app, &travel);
    body["purpose"] = json!({"code": "marketing", "text": "anything"});
    grant(&app, "alice", body)
        .await
        .problem(400, "invalid_json");
    assert_eq!(app.head().await, head, "nothing written");
}

#[actix_web::test]
async fn bank_grants_answer_exactly_until_revocation_or_expiry() {
    let app = TestApp::new().await;
    let travel = app.partner("TravelCo", true, true);
    let gym = app.partner("GymCo", true, true);
    let partner_consent = app.authorised(&travel, "alice").await;
    let res = grant(&app, "alice", grant_body(&app, &travel)).await;
    let to_bank = res.body["consent_id"].as_str().unwrap().to_owned();
    let mut short = grant_body(&app, &gym);
    short["expiration"] = json!(app.now().plus(Duration::from_secs(60)).to_rfc3339());
    short["permissions"] = json!(["ReadActivity"]);
    assert_eq!(grant(&app, "alice", short).await.status, 201);
    app.caught_up().await;

    let grants = app.state.bank_grants("alice", app.now()).await.unwrap();
    assert_eq!(
        grants.len(),
        2,
        "{grants:?}: the partner's own consent is not one"
    );
    assert!(grants.iter().all(|g| g.consent_id != partner_consent));
    let travel_grant = grants.iter().find(|g| g.consent_id == to_bank).unwrap();
    assert_eq!(travel_grant.providers[0].to_string(), travel);
    assert_eq!(travel_grant.permissions, ["ReadTravelProfile"]);
    assert!(
        app.state
            .bank_grants("bob", app.now())
            .await
            .unwrap()
            .is_empty()
    );

    // Past the short one's expiry: gone without any event.
    let later = app.now().plus(Duration::from_secs(120));
    let grants = app.state.bank_grants("alice", later).await.unwrap();
    assert_eq!(grants.len(), 1);
    assert_eq!(grants[0].consent_id, to_bank);

    // Revoked by the customer: gone from the very next answer.
    let revoked = app
        .as_customer(
            test::TestRequest::delete()
                .uri(&format!("/customer/consents/{to_bank}"))
                .insert_header(("x-csrf-token", csrf("alice"))),
            "alice",
        )
        .await;
    assert_eq!(revoked.status, 204, "{}", revoked.text);
    assert!(
        app.state
            .bank_grants("alice", later)
            .await
            .unwrap()
            .is_empty()
    );
}

#[actix_web::test]
async fn the_dashboard_offers_the_grant_as_a_form() {
    let app = TestApp::new().await;
    let travel = app.partner("TravelCo <b>", true, true);
    let page = app
        .as_customer(test::TestRequest::get().uri("/dashboard"), "alice")
        .await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("action=\"/dashboard/bank-consents\""));
    assert!(
        page.text.contains(&format!(
            "<option value=\"{travel}\">TravelCo &#60;b&#62;</option>"
        )),
        "{}",
        page.text
    );
    assert!(page.text.contains("value=\"ReadTravelProfile\""));

    let form = |days: &str, csrf_token: String| {
        test::TestRequest::post()
            .uri("/dashboard/bank-consents")
            .set_form([
                ("csrf_token", csrf_token),
                ("data_provider", travel.clone()),
                ("permission", "ReadTravelProfile".to_owned()),
                ("days", days.to_owned()),
            ])
    };
    let head = app.head().await;
    app.as_customer(form("365", "wrong".into()), "alice")
        .await
        .problem(403, "forbidden");
    let bad = app.as_customer(form("1000", csrf("alice")), "alice").await;
    bad.problem(400, "invalid_request");
    assert_eq!(bad.fields(), ["/days"]);
    assert_eq!(app.head().await, head, "nothing written");

    let done = app.as_customer(form("365", csrf("alice")), "alice").await;
    assert_eq!(done.status, 303, "{}", done.text);
    let location = done.header("location").unwrap().to_owned();
    assert!(location.starts_with("/dashboard#consent-"), "{location}");
    app.caught_up().await;
    let page = app
        .as_customer(test::TestRequest::get().uri("/dashboard"), "alice")
        .await;
    assert!(
        page.text.contains("Ecohub Bank: personalised offers"),
        "{}",
        page.text
    );
    assert!(
        page.text
            .contains("You let Ecohub Bank use data from TravelCo &#60;b&#62;.")
    );
    let id = location.trim_start_matches("/dashboard#consent-");
    let grants = app.state.bank_grants("alice", app.now()).await.unwrap();
    assert_eq!(grants.len(), 1);
    assert_eq!(grants[0].consent_id, id);
    let expires = grants[0].expires_at;
    assert!(expires > app.now().plus(Duration::from_secs(364 * 86_400)));
}
