//! The whole life of a partner, through HTTP as applicant, staff and partner.

use ecohub_kernel::Timestamp;
use serde_json::{Value, json};

use crate::support::*;

fn statuses(history: &Value) -> Vec<&str> {
    history
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["status"].as_str().unwrap())
        .collect()
}

#[actix_web::test]
async fn a_partner_goes_from_application_to_offboarding() {
    let t = TestApp::new().await;

    // Apply (public).
    let interaction = "0b4f4c26-0d4f-4a1f-9d6c-6f8f2b8f0a11";
    let res = t
        .send(
            actix_web::test::TestRequest::post()
                .uri("/partners/applications")
                .insert_header(("x-fapi-interaction-id", interaction))
                .set_json(application(
                    "TravelCo GmbH",
                    &["data_recipient", "offer_partner"],
                )),
        )
        .await;
    assert_eq!(res.status, 201, "{:#}", res.body);
    let id = res.body["partner_id"].as_str().unwrap().to_owned();
    assert_eq!(
        res.header("location"),
        Some(format!("/partners/applications/{id}").as_str())
    );
    assert_eq!(res.header("cache-control"), Some("no-store"));
    assert_eq!(res.body["status"], "applied");
    assert_eq!(res.body["applicant_token"]["token_type"], "Bearer");
    assert_eq!(res.body["applicant_token"]["expires_in"], 3600);
    assert_eq!(
        res.body["links"]["self"],
        format!("/partners/applications/{id}")
    );
    let applicant = res.body["applicant_token"]["access_token"]
        .as_str()
        .unwrap()
        .to_owned();

    // The applicant follows its application with its token.
    let own = format!("/partners/applications/{id}");
    let res = t.get(&own, Some(&applicant)).await;
    assert_eq!(res.status, 200, "{:#}", res.body);
    assert_eq!(res.body["legal_name"], "TravelCo GmbH");
    assert_eq!(res.body["status"], "applied");
    assert_eq!(statuses(&res.body["status_history"]), ["applied"]);
    assert!(res.body.get("granted").is_none());

    // Staff A records the registry check and the sanctions screening.
    t.verify(&id).await;
    let res = t.get(&format!("/admin/partners/{id}"), Some(STAFF_A)).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.body["status"], "under_review");
    assert_eq!(res.body["verifications"].as_array().unwrap().len(), 2);
    assert_eq!(res.body["verifications"][0]["check"], "registry_check");
    assert_eq!(res.body["verifications"][1]["check"], "sanctions_screening");
    assert_eq!(res.body["verifications"][0]["by"], STAFF_A);
    assert_eq!(res.body["contacts"][0]["email"], "ada@travelco.example");

    // Staff A may not approve what it verified (maker-checker).
    let approve = format!("/admin/partners/{id}/approve");
    let before = t.head().await;
    let res = t
        .post(
            &approve,
            Some(STAFF_A),
            json!({"redirect_uris": ["https://travelco.example/callback"]}),
        )
        .await;
    res.problem(409, "conflict");
    assert!(
        res.body["detail"]
            .as_str()
            .unwrap()
            .starts_with("maker-checker"),
        "{:#}",
        res.body
    );
    assert_eq!(t.head().await, before, "a refusal writes nothing");

    // Staff B approves, granting one of the two roles; a software statement comes back.
    let res = t
        .post(
            &approve,
            Some(STAFF_B),
            json!({
                "roles": ["data_recipient"],
                "redirect_uris": ["https://travelco.example/callback", "http://127.0.0.1:8080/cb"],
                "note": "four eyes ok"
            }),
        )
        .await;
    assert_eq!(res.status, 200, "{:#}", res.body);
    assert_eq!(res.header("cache-control"), Some("no-store"));
    assert_eq!(res.body["partner"]["status"], "approved");
    assert_eq!(res.body["partner"]["active"], true);
    let claims = statement_claims(res.body["software_statement"].as_str().unwrap());
    assert_eq!(claims["partner_id"], id.as_str());
    assert_eq!(claims["org_name"], "TravelCo GmbH");
    assert_eq!(claims["roles"], json!(["data_recipient"]));
    assert_eq!(
        claims["scopes"],
        json!([
            "partner:read",
            "webhooks:manage",
            "consents:write",
            "consents:read",
            "data:read"
        ])
    );
    assert_eq!(
        claims["redirect_uris"],
        json!([
            "https://travelco.example/callback",
            "http://127.0.0.1:8080/cb"
        ])
    );

    // The partner reads its application: approved, with the grant, without internals.
    let partner = partner_token(&id);
    let res = t.get(&own, Some(&partner)).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.body["status"], "approved");
    assert_eq!(
        statuses(&res.body["status_history"]),
        ["applied", "under_review", "approved"]
    );
    assert_eq!(res.body["granted"]["roles"], json!(["data_recipient"]));
    assert_eq!(res.body["granted"]["scopes"], claims["scopes"]);
    let text = res.body.to_string();
    for internal in [
        "verifications",
        "case 2026/0042",
        STAFF_A,
        STAFF_B,
        "four eyes",
        "ada@",
    ] {
        assert!(!text.contains(internal), "{internal} leaked: {text}");
    }

    // … and fetches a freshly signed statement.
    let statement = format!("/partners/applications/{id}/software-statement");
    let res = t.get(&statement, Some(&partner)).await;
    assert_eq!(res.status, 200, "{:#}", res.body);
    let fresh = statement_claims(res.body["software_statement"].as_str().unwrap());
    assert_eq!(fresh["scopes"], claims["scopes"]);
    assert!(fresh["iat"].as_i64() > claims["iat"].as_i64());

    // Webhooks: register, list, delete.
    let hooks = format!("/partners/{id}/webhooks");
    let res = t
        .post(
            &hooks,
            Some(&partner),
            json!({"url": "https://travelco.example/hooks/1", "event_types": ["Consent*"]}),
        )
        .await;
    assert_eq!(res.status, 201, "{:#}", res.body);
    let hook_id = res.body["webhook_id"].as_str().unwrap().to_owned();
    assert_eq!(
        res.header("location"),
        Some(format!("{hooks}/{hook_id}").as_str())
    );
    assert_eq!(res.body["event_types"], json!(["Consent*"]));
    let res = t.get(&hooks, Some(&partner)).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.body["data"][0]["webhook_id"], hook_id.as_str());
    assert_eq!(
        res.body["data"][0]["url"],
        "https://travelco.example/hooks/1"
    );
    let res = t
        .delete(&format!("{hooks}/{hook_id}"), Some(&partner))
        .await;
    assert_eq!(res.status, 204);
    let res = t
        .delete(&format!("{hooks}/{hook_id}"), Some(&partner))
        .await;
    res.problem(404, "not_found");
    let res = t.get(&hooks, Some(&partner)).await;
    assert_eq!(res.body["data"], json!([]));

    // Suspend: the statement is refused, the partner sees why.
    let res = t
        .post(
            &format!("/admin/partners/{id}/suspend"),
            Some(STAFF_B),
            json!({"reason": "unusual traffic"}),
        )
        .await;
    assert_eq!(res.status, 200, "{:#}", res.body);
    assert_eq!(res.body["status"], "suspended");
    assert_eq!(res.body["active"], false);
    let res = t.get(&statement, Some(&partner)).await;
    res.problem(409, "conflict");
    assert_eq!(
        res.body["detail"],
        "cannot issue a software statement for a partner that is suspended"
    );
    let res = t.get(&own, Some(&partner)).await;
    assert_eq!(res.body["status"], "suspended");
    assert_eq!(res.body["status_history"][3]["reason"], "unusual traffic");

    // Suspending twice is a conflict.
    let res = t
        .post(
            &format!("/admin/partners/{id}/suspend"),
            Some(STAFF_B),
            json!({"reason": "again"}),
        )
        .await;
    res.problem(409, "conflict");
    assert_eq!(res.body["detail"], "partner is already suspended");

    // Reinstate, then offboard.
    let res = t
        .post(
            &format!("/admin/partners/{id}/reinstate"),
            Some(STAFF_C),
            json!({"reason": "traffic explained"}),
        )
        .await;
    assert_eq!(res.status, 200, "{:#}", res.body);
    assert_eq!(res.body["status"], "approved");
    assert_eq!(t.get(&statement, Some(&partner)).await.status, 200);
    let res = t
        .post(
            &format!("/admin/partners/{id}/offboard"),
            Some(STAFF_C),
            json!({"reason": "contract ended"}),
        )
        .await;
    assert_eq!(res.status, 200, "{:#}", res.body);
    assert_eq!(res.body["status"], "offboarded");
    let history = &res.body["status_history"];
    assert_eq!(
        statuses(history),
        [
            "applied",
            "under_review",
            "approved",
            "suspended",
            "approved",
            "offboarded"
        ]
    );
    assert_eq!(history[2]["note"], "four eyes ok");
    assert_eq!(history[2]["by"], STAFF_B);
    assert_eq!(history[5]["by"], STAFF_C);
    assert_eq!(history[5]["reason"], "contract ended");
    assert_eq!(
        history[0]["at"],
        Timestamp::from_unix_seconds(1_800_000_001).to_rfc3339()
    );
    assert_eq!(t.get(&statement, Some(&partner)).await.status, 409);

    // Every event carries who caused it and in which request; never personal data.
    let events = t.stream(&id).await;
    let types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(
        types,
        [
            "PartnerApplied",
            "PartnerVerificationRecorded",
            "PartnerVerificationRecorded",
            "PartnerApproved",
            "PartnerWebhookRegistered",
            "PartnerWebhookRemoved",
            "PartnerSuspended",
            "PartnerReinstated",
            "PartnerOffboarded",
        ]
    );
    let first = &events[0].metadata;
    assert_eq!(first.actor.as_deref(), Some("applicant"));
    assert_eq!(first.request_id.as_deref(), Some(interaction));
    assert_eq!(first.correlation_id.as_deref(), Some(interaction));
    assert_eq!(events[1].metadata.actor.as_deref(), Some("client:staff-a"));
    assert_eq!(
        events[4].metadata.actor.as_deref(),
        Some(format!("client:client-{id}").as_str())
    );
    for e in &events {
        let m = &e.metadata;
        assert!(m.request_id.is_some() && m.request_id == m.correlation_id);
        // Ids are hex, so look for the personal data itself, not a fragment
        // of it that a random id could contain.
        let json = serde_json::to_string(m).unwrap();
        assert!(!json.contains("ada@travelco.example") && !json.contains("Lovelace"));
    }
}

#[actix_web::test]
async fn a_rejected_applicant_sees_why_and_cannot_be_approved() {
    let t = TestApp::new().await;
    let (id, applicant) = t.apply("Shady Ltd").await;
    let res = t
        .post(
            &format!("/admin/partners/{id}/reject"),
            Some(STAFF_A),
            json!({"reason": "not a regulated entity"}),
        )
        .await;
    assert_eq!(res.status, 200, "{:#}", res.body);
    let res = t
        .get(&format!("/partners/applications/{id}"), Some(&applicant))
        .await;
    assert_eq!(res.body["status"], "rejected");
    assert_eq!(
        res.body["status_history"][1]["reason"],
        "not a regulated entity"
    );
    assert!(res.body["status_history"][1].get("by").is_none());
    let res = t
        .get(
            &format!("/partners/applications/{id}/software-statement"),
            Some(&applicant),
        )
        .await;
    res.problem(409, "conflict");
    let res = t
        .post(
            &format!("/admin/partners/{id}/approve"),
            Some(STAFF_B),
            json!({"redirect_uris": []}),
        )
        .await;
    res.problem(409, "conflict");
    assert_eq!(
        res.body["detail"],
        "cannot approve a partner that is rejected"
    );
}

#[actix_web::test]
async fn approval_needs_passed_checks_and_grants_only_requested_roles() {
    let t = TestApp::new().await;
    let (id, _) = t.apply("TravelCo GmbH").await;
    let approve = format!("/admin/partners/{id}/approve");
    let before = t.head().await;
    let res = t
        .post(&approve, Some(STAFF_B), json!({"redirect_uris": []}))
        .await;
    res.problem(409, "conflict");
    assert_eq!(
        res.body["detail"],
        "verification incomplete: no passed registry check recorded"
    );
    t.verify(&id).await;
    let before_roles = t.head().await;
    let res = t
        .post(
            &approve,
            Some(STAFF_B),
            json!({"roles": ["data_provider"], "redirect_uris": []}),
        )
        .await;
    res.problem(400, "invalid_request");
    assert_eq!(res.fields(), ["/roles"]);
    assert_eq!(t.head().await, before_roles);
    assert_ne!(before, before_roles);
}

#[actix_web::test]
async fn when_the_statement_cannot_be_signed_nothing_is_approved() {
    let t = TestApp::new().await;
    let (id, _) = t.apply("TravelCo GmbH").await;
    t.verify(&id).await;
    t.statements
        .down
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let before = t.head().await;
    let res = t
        .post(
            &format!("/admin/partners/{id}/approve"),
            Some(STAFF_B),
            json!({"redirect_uris": []}),
        )
        .await;
    res.problem(503, "service_unavailable");
    assert_eq!(res.header("retry-after"), Some("1"));
    assert!(!res.body.to_string().contains("directory key"));
    assert_eq!(t.head().await, before);
    t.statements
        .down
        .store(false, std::sync::atomic::Ordering::SeqCst);
    t.approve(&id).await;
}

#[actix_web::test]
async fn production_mode_refuses_plain_http_urls() {
    let t = TestApp::production().await;
    let (id, _) = t.apply("TravelCo GmbH").await;
    t.verify(&id).await;
    let before = t.head().await;
    let res = t
        .post(
            &format!("/admin/partners/{id}/approve"),
            Some(STAFF_B),
            json!({"redirect_uris": ["http://127.0.0.1:8080/cb"]}),
        )
        .await;
    res.problem(400, "invalid_request");
    assert_eq!(res.fields(), ["/redirect_uris"]);
    assert_eq!(t.head().await, before);
    t.approve(&id).await;
    let res = t
        .post(
            &format!("/partners/{id}/webhooks"),
            Some(&partner_token(&id)),
            json!({"url": "http://localhost:9000/hook"}),
        )
        .await;
    res.problem(400, "invalid_request");
    assert_eq!(res.fields(), ["/url"]);

    // Outside production the same loopback URL is accepted.
    let dev = TestApp::new().await;
    let id = dev.approved_partner("TravelCo GmbH").await;
    let res = dev
        .post(
            &format!("/partners/{id}/webhooks"),
            Some(&partner_token(&id)),
            json!({"url": "http://localhost:9000/hook"}),
        )
        .await;
    assert_eq!(res.status, 201, "{:#}", res.body);
}

#[actix_web::test]
async fn webhooks_need_an_approved_partner() {
    let t = TestApp::new().await;
    let (id, _) = t.apply("TravelCo GmbH").await;
    // A token with webhooks:manage for a partner that is only applied (cannot happen with
    // the real server, which mints such tokens for approved partners only).
    let res = t
        .post(
            &format!("/partners/{id}/webhooks"),
            Some(&partner_token(&id)),
            json!({"url": "https://travelco.example/hooks/1"}),
        )
        .await;
    res.problem(409, "conflict");
    assert_eq!(
        res.body["detail"],
        "cannot register a webhook for a partner that is applied"
    );
}
