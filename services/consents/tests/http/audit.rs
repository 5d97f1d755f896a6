//! The compliance audit: filtered lists, histories with their chain, streamed exports.

use std::collections::HashSet;

use ecohub_consents::ActionContext;

use crate::support::*;

#[actix_web::test]
async fn the_audit_list_filters_and_pages() {
    let app = TestApp::new().await;
    let a = app.partner("A", true, false);
    let b = app.partner("B", true, false);
    let a1 = app.authorised(&a, "alice").await;
    let a2 = app.create(&a).await;
    let b1 = app.authorised(&b, "bob").await;
    let start = app.now();
    let a3 = app.authorised(&a, "alice").await;
    app.caught_up().await;

    let ids = |res: &Res| -> Vec<String> {
        res.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["consent_id"].as_str().unwrap().to_owned())
            .collect()
    };
    let all = app.get("/audit/consents", AUDITOR).await;
    assert_eq!(all.status, 200, "{}", all.text);
    assert_eq!(ids(&all), [&a1, &a2, &b1, &a3].map(String::clone));
    let by_partner = app
        .get(&format!("/audit/consents?partner_id={a}"), AUDITOR)
        .await;
    assert_eq!(ids(&by_partner), [&a1, &a2, &a3].map(String::clone));
    let by_customer = app.get("/audit/consents?customer_id=alice", AUDITOR).await;
    assert_eq!(ids(&by_customer), [&a1, &a3].map(String::clone));
    let pending = app
        .get("/audit/consents?status=AwaitingAuthorisation", AUDITOR)
        .await;
    assert_eq!(ids(&pending), [&a2].map(String::clone));
    let created = app
        .get(
            &format!("/audit/consents?created_from={}", start.to_rfc3339()),
            AUDITOR,
        )
        .await;
    assert_eq!(ids(&created), [&a3].map(String::clone));
    let changed = app
        .get(
            &format!(
                "/audit/consents?changed_to={}&partner_id={a}",
                start.to_rfc3339()
            ),
            AUDITOR,
        )
        .await;
    assert_eq!(ids(&changed), [&a1, &a2].map(String::clone));

    let first = app.get("/audit/consents?page_size=3", AUDITOR).await;
    assert_eq!(ids(&first), [&a1, &a2, &b1].map(String::clone));
    let next = first.body["links"]["next"].as_str().unwrap().to_owned();
    let second = app.get(&next, AUDITOR).await;
    assert_eq!(ids(&second), [&a3].map(String::clone));
    assert!(second.body["links"]["next"].is_null());

    app.get("/audit/consents?status=Bogus", AUDITOR)
        .await
        .problem(400, "invalid_query");
    app.get("/audit/consents?cursor=!!", AUDITOR)
        .await
        .problem(400, "invalid_cursor");
    app.get("/audit/consents", &partner_token(&a))
        .await
        .problem(403, "insufficient_scope");
}

#[actix_web::test]
async fn a_history_shows_every_event_with_its_chain() {
    let app = TestApp::new().await;
    let p = app.partner("A", true, false);
    let id = app.authorised(&p, "alice").await;
    app.delete(&format!("/consents/{id}"), &partner_token(&p))
        .await;
    let res = app
        .get(&format!("/audit/consents/{id}/history"), AUDITOR)
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["chain_verified"], true);
    let events = res.body["events"].as_array().unwrap();
    let types: Vec<&str> = events
        .iter()
        .map(|e| e["event_type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        ["ConsentRequested", "ConsentAuthorised", "ConsentRevoked"]
    );
    assert_eq!(events[0]["prev"], ecohub_consents::chain::GENESIS);
    assert_eq!(events[0]["reason"], "consent_requested");
    assert_eq!(events[1]["reason"], "customer_authorised");
    assert_eq!(events[1]["prev"], events[0]["hash"]);
    assert_eq!(events[2]["prev"], events[1]["hash"]);
    assert_eq!(events[1]["actor"], "customer:alice");
    assert_eq!(events[2]["actor"], format!("client:client-{p}"));
    assert_eq!(events[2]["reason"], "partner_request");
    assert_eq!(events[2]["revoked_by"], "partner");
    assert!(events[2]["request_id"].is_string());
    assert!(events[2]["interaction_id"].is_string());

    app.get(
        &format!("/audit/consents/{}/history", uuid::Uuid::now_v7()),
        AUDITOR,
    )
    .await
    .problem(404, "not_found");
}

/// Parses RFC 4180 CSV (quoted fields with doubled quotes, CRLF rows).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    rows
}

#[actix_web::test]
async fn the_export_streams_every_consent_event_as_csv_and_jsonl() {
    let app = TestApp::new().await;
    let p = app.partner("A", true, false);
    // A few thousand events: many consents written directly through the application layer.
    let mut ids = Vec::new();
    for i in 0..1000 {
        let id = app.state.new_consent_id();
        let ctx = ActionContext::client("c", format!("req-{i}"), app.now());
        let mut input = ecohub_consents::ConsentInput {
            permissions: vec!["ReadBalances".into()],
            purpose_code: "budget".into(),
            purpose_text: "Budget, \"tips\", and more".into(),
            expiration: app.now().plus(std::time::Duration::from_secs(86_400)),
            transaction_from: None,
            transaction_to: None,
            data_providers: vec!["bank".into()],
        };
        if i % 2 == 0 {
            input.permissions.push("ReadParty".into());
        }
        app.state
            .create(
                id,
                ecohub_consents::domain::PartnerId::parse(&p).unwrap(),
                input,
                &ctx,
            )
            .await
            .unwrap();
        let customer = format!("cust-{i}");
        app.state
            .authorise(
                &id.to_string(),
                &customer_ref(&customer),
                &ActionContext::customer(&customer, "r", app.now()),
            )
            .await
            .unwrap();
        if i % 3 == 0 {
            app.state
                .revoke_by_customer(
                    id,
                    &ecohub_consents::domain::CustomerId::parse(&customer).unwrap(),
                    &ActionContext::customer(&customer, "r", app.now()),
                )
                .await
                .unwrap();
        }
        ids.push(id.to_string());
    }
    let expected_events = 1000 * 2 + 1000usize.div_ceil(3);

    let csv = app.get("/audit/consents/export?format=csv", AUDITOR).await;
    assert_eq!(csv.status, 200);
    assert!(csv.header("content-type").unwrap().starts_with("text/csv"));
    let rows = parse_csv(&csv.text);
    assert_eq!(rows[0][0], "position");
    assert_eq!(rows.len(), 1 + expected_events);
    assert!(rows.iter().all(|r| r.len() == 13));
    assert_eq!(rows[0][12], "reason");
    let data: serde_json::Value = serde_json::from_str(&rows[1][11]).unwrap();
    assert_eq!(rows[1][12], "consent_requested");
    assert_eq!(
        data["reason"], "consent_requested",
        "stored with the request"
    );
    assert_eq!(data["purpose"]["text"], "Budget, \"tips\", and more");
    let streams: HashSet<&str> = rows[1..].iter().map(|r| r[1].as_str()).collect();
    assert_eq!(streams.len(), 1000);

    let jsonl = app
        .get("/audit/consents/export?format=jsonl", AUDITOR)
        .await;
    assert_eq!(jsonl.status, 200);
    let lines: Vec<serde_json::Value> = jsonl
        .text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), expected_events);
    assert_eq!(lines[0]["event_type"], "ConsentRequested");
    assert_eq!(lines[0]["reason"], "consent_requested");
    assert_eq!(lines[1]["reason"], "customer_authorised");
    assert_eq!(lines[0]["prev"], ecohub_consents::chain::GENESIS);
    assert!(
        lines
            .windows(2)
            .all(|w| w[0]["position"].as_u64() < w[1]["position"].as_u64())
    );

    app.get("/audit/consents/export?format=xml", AUDITOR)
        .await
        .problem(400, "invalid_query");
    app.get("/audit/consents/export?format=csv", &partner_token(&p))
        .await
        .problem(403, "insufficient_scope");
}
