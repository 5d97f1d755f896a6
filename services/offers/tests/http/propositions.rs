//! The Globetrotter loan from draft to published, over HTTP.

use serde_json::{Value, json};

use crate::support::*;

const P: &str = "0190a000-0000-7000-8000-000000000001";
const OTHER: &str = "0190a000-0000-7000-8000-000000000002";

/// Drafts the loan; returns its URL.
async fn draft(app: &TestApp) -> String {
    app.catalogue().await;
    let r = app
        .post(
            "/offers/propositions",
            PM1,
            crate::fixtures::globetrotter_loan(P),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["version"], 1);
    let url = r.header("location").unwrap().to_owned();
    assert_eq!(r.body["links"]["self"], url.as_str());
    url
}

async fn act(app: &TestApp, url: &str, action: &str, token: &str) -> crate::support::Res {
    app.post_empty(&format!("{url}/versions/1/{action}"), token)
        .await
}

#[actix_web::test]
async fn the_globetrotter_loan_goes_from_draft_to_published_with_four_eyes_and_acceptance() {
    let app = TestApp::new().await;
    let url = draft(&app).await;
    let shown = app.get(&url, PM2).await;
    assert_eq!(shown.body["versions"][0]["status"], "draft");
    assert_eq!(
        shown.body["versions"][0]["content"]["personas"],
        json!({"globetrotter": 1})
    );
    assert_eq!(shown.body["versions"][0]["awaiting_acceptance"], json!([P]));

    assert_eq!(act(&app, &url, "submit", PM1).await.status, 200);
    let stream = format!("proposition-{}", url.rsplit('/').next().unwrap());
    let before = app.events(&stream).await;
    act(&app, &url, "approve", PM1)
        .await
        .problem(409, "conflict");
    assert_eq!(app.events(&stream).await, before, "nothing written");
    assert_eq!(act(&app, &url, "approve", PM2).await.status, 200);
    let r = act(&app, &url, "publish", PM2).await;
    r.problem(409, "conflict");
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap()
            .contains("have not accepted")
    );

    // The partner sees it and accepts; another partner does not see it at all.
    let id = url.rsplit('/').next().unwrap();
    let seen = app
        .get(&format!("/partner/propositions/{id}"), &partner_token(P))
        .await;
    assert_eq!(seen.status, 200, "{}", seen.text);
    app.get(
        &format!("/partner/propositions/{id}"),
        &partner_token(OTHER),
    )
    .await
    .problem(404, "not_found");
    app.send(bearer(
        actix_web::test::TestRequest::put()
            .uri(&format!("/partner/propositions/{id}/versions/1/acceptance")),
        &partner_token(OTHER),
    ))
    .await
    .problem(404, "not_found");
    app.get("/partner/propositions", "staff-client")
        .await
        .problem(403, "forbidden");
    let accepted = app
        .send(bearer(
            actix_web::test::TestRequest::put()
                .uri(&format!("/partner/propositions/{id}/versions/1/acceptance")),
            &partner_token(P),
        ))
        .await;
    assert_eq!(accepted.status, 200, "{}", accepted.text);
    assert_eq!(accepted.body["versions"][0]["accepted_by"], json!([P]));

    let published = act(&app, &url, "publish", PM2).await;
    assert_eq!(published.status, 200, "{}", published.text);
    assert_eq!(published.body["published_version"], 1);

    // A published version never changes.
    app.put(
        &format!("{url}/versions/1"),
        PM1,
        crate::fixtures::globetrotter_loan(P),
    )
    .await
    .problem(409, "conflict");

    // Who did what, and when.
    let h = app.get(&format!("{url}/history"), PM1).await;
    let steps: Vec<(String, String)> = h.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap().to_owned(),
                e["actor"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        steps,
        [
            ("PropositionDrafted".into(), "client:pm-1".into()),
            ("PropositionVersionSubmitted".into(), "client:pm-1".into()),
            ("PropositionVersionApproved".into(), "client:pm-2".into()),
            (
                "PropositionCoBrandingAccepted".into(),
                format!("client:client-{P}")
            ),
            ("PropositionVersionPublished".into(), "client:pm-2".into()),
        ]
    );
    assert_eq!(h.body["events"][3]["partner_id"], P);

    // The partner's list holds it; the other partner's is empty.
    app.listed(1).await;
    let mine = app.get("/partner/propositions", &partner_token(P)).await;
    assert_eq!(mine.body["propositions"].as_array().unwrap().len(), 1);
    let theirs = app
        .get("/partner/propositions", &partner_token(OTHER))
        .await;
    assert_eq!(theirs.body["propositions"], json!([]));

    // The dry run explains the persona match and the 5.3 % price.
    app.profile(
        "cust-1",
        "bank",
        json!({"is_globetrotter": true, "monthly_income": 6000, "age": 40}),
    );
    let run = app
        .post(
            &format!("{url}/dry-run"),
            PM1,
            json!({"customer_id": "cust-1", "params": {"amount": 15000}, "channel": "bank_app"}),
        )
        .await;
    assert_eq!(run.status, 200, "{}", run.text);
    assert_eq!(run.body["available"], true, "{}", run.text);
    assert_eq!(run.body["version"], 1);
    assert_eq!(run.body["personas"][0]["matched"], true);
    assert_eq!(run.body["price"]["rate_percent"], 5.3);
    assert_eq!(run.body["price"]["commission_percent"], 0.0);
    assert_eq!(run.body["add_ons"][0]["included"], true);

    // Withdrawing the acceptance is recorded; the partner's suspension excludes it at once.
    app.partners
        .inactive
        .lock()
        .unwrap()
        .insert(ecohub_kernel::PartnerId::parse(P).unwrap());
    let run = app
        .post(
            &format!("{url}/dry-run"),
            PM1,
            json!({"customer_id": "cust-1", "params": {"amount": 15000}}),
        )
        .await;
    assert_eq!(run.body["available"], false);
    assert_eq!(run.body["excluded_by"]["code"], "partner_not_active");
}

#[actix_web::test]
async fn the_seed_prices_and_the_exclusions_over_http() {
    let app = TestApp::new().await;
    let url = draft(&app).await;
    app.profile(
        "low",
        "bank",
        json!({"is_globetrotter": true, "monthly_income": 4000}),
    );
    app.profile(
        "stay",
        "bank",
        json!({"is_globetrotter": false, "monthly_income": 9000}),
    );
    let run = |customer: &'static str, amount: u32| {
        let app = &app;
        let url = url.clone();
        async move {
            app.post(
                &format!("{url}/dry-run"),
                PM1,
                json!({"customer_id": customer, "params": {"amount": amount}}),
            )
            .await
        }
    };
    let r = run("low", 7500).await;
    assert_eq!(r.body["price"]["rate_percent"], 4.5, "{}", r.text);
    assert_eq!(
        r.body["excluded_by"]["code"], "not_published",
        "a draft is dry-run, never offered"
    );
    let r = run("stay", 15000).await;
    assert_eq!(r.body["price"]["rate_percent"], 7.9);
    assert_eq!(r.body["personas"][0]["matched"], false);
    let r = run("low", 10).await;
    r.problem(400, "invalid_request");
    assert_eq!(r.fields(), ["/params/amount"]);
    let r = app
        .post(
            &format!("{url}/dry-run"),
            PM1,
            json!({"customer_id": "low", "params": {"amount": 7500}, "version": 4}),
        )
        .await;
    r.problem(404, "not_found");
}

#[actix_web::test]
async fn bad_documents_and_actions_are_refused_and_change_nothing() {
    let app = TestApp::new().await;
    let url = draft(&app).await;
    let stream = format!("proposition-{}", url.rsplit('/').next().unwrap());
    let before = app.events(&stream).await;
    let mut doc: Value = crate::fixtures::globetrotter_loan(P);
    doc["pricing"]["rules"][1]["condition"]["and"][1] = json!({"<": [{"var": "income"}, 5000]});
    let r = app.put(&format!("{url}/versions/1"), PM1, doc).await;
    r.problem(400, "invalid_request");
    assert_eq!(r.fields(), ["/pricing/rules/1/condition/and/1/</0/var"]);
    let mut doc: Value = crate::fixtures::globetrotter_loan(P);
    doc["product"]["kind"] = json!("spaceship");
    app.put(&format!("{url}/versions/1"), PM1, doc)
        .await
        .problem(400, "invalid_json");
    act(&app, &url, "teleport", PM1)
        .await
        .problem(404, "not_found");
    let r = act(&app, &url, "reject", PM2).await;
    r.problem(400, "invalid_request");
    act(&app, &url, "approve", PM2)
        .await
        .problem(409, "conflict");
    assert_eq!(app.events(&stream).await, before, "nothing written");
    app.get(
        "/offers/propositions/0190a000-0000-7000-8000-00000000dead",
        PM1,
    )
    .await
    .problem(404, "not_found");
    app.get("/offers/propositions/not-a-uuid", PM1)
        .await
        .problem(400, "invalid_path");
    // One open version at a time.
    app.post(
        &format!("{url}/versions"),
        PM1,
        crate::fixtures::globetrotter_loan(P),
    )
    .await
    .problem(409, "conflict");
}

#[actix_web::test]
async fn a_rejected_version_is_revised_and_a_second_version_supersedes_the_first() {
    let app = TestApp::new().await;
    let url = draft(&app).await;
    let id = url.rsplit('/').next().unwrap().to_owned();
    act(&app, &url, "submit", PM1).await;
    let r = app
        .post(
            &format!("{url}/versions/1/reject"),
            PM2,
            json!({"reason": "rate too low"}),
        )
        .await;
    assert_eq!(r.body["versions"][0]["status"], "draft");
    assert_eq!(r.body["versions"][0]["rejection_reason"], "rate too low");
    let mut doc = crate::fixtures::globetrotter_loan(P);
    doc["pricing"]["default"]["rate_percent"] = json!(8.4);
    assert_eq!(
        app.put(&format!("{url}/versions/1"), PM1, doc.clone())
            .await
            .status,
        200
    );
    act(&app, &url, "submit", PM1).await;
    act(&app, &url, "approve", PM2).await;
    let accept = |v: u32| {
        bearer(
            actix_web::test::TestRequest::put().uri(&format!(
                "/partner/propositions/{id}/versions/{v}/acceptance"
            )),
            &partner_token(P),
        )
    };
    app.send(accept(1)).await;
    assert_eq!(act(&app, &url, "publish", PM2).await.status, 200);
    let v2 = app.post(&format!("{url}/versions"), PM2, doc).await;
    assert_eq!(v2.status, 201, "{}", v2.text);
    assert_eq!(v2.body["version"], 2);
    app.post_empty(&format!("{url}/versions/2/submit"), PM2)
        .await;
    app.post_empty(&format!("{url}/versions/2/approve"), PM1)
        .await;
    app.send(accept(2)).await;
    let r = app
        .post_empty(&format!("{url}/versions/2/publish"), PM1)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["published_version"], 2);
    assert_eq!(r.body["versions"][0]["status"], "retired");
    // The partner withdraws: it is recorded with its reason.
    let w = app
        .delete(
            &format!("/partner/propositions/{id}/versions/2/acceptance"),
            &partner_token(P),
            json!({"reason": "our insurer changed"}),
        )
        .await;
    assert_eq!(w.status, 200, "{}", w.text);
    let h = app.get(&format!("{url}/history"), PM1).await;
    let last = h.body["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["type"], "PropositionCoBrandingWithdrawn");
    assert_eq!(last["reason"], "our insurer changed");
    // …and takes the published version out of every evaluation at once.
    app.profile(
        "cust-1",
        "bank",
        json!({"is_globetrotter": true, "monthly_income": 6000}),
    );
    let run = app
        .post(
            &format!("{url}/dry-run"),
            PM1,
            json!({"customer_id": "cust-1", "params": {"amount": 15000}}),
        )
        .await;
    assert_eq!(run.body["version"], 2);
    assert_eq!(
        run.body["excluded_by"]["code"], "partner_not_accepted",
        "{}",
        run.text
    );
}
