use serde_json::Value;

use crate::support::*;

async fn three_reads(app: &TestApp) {
    app.bank_publishes("accounts", CUSTOMER, &[("a1", account("a1"))])
        .await;
    app.consent("c1", RECIPIENT, &["ReadAccountsBasic"], &["bank"]);
    app.consent("c2", OTHER_RECIPIENT, &["ReadAccountsDetail"], &["bank"]);
    for token in [
        recipient_token(RECIPIENT, "c1"),
        recipient_token(OTHER_RECIPIENT, "c2"),
        recipient_token(RECIPIENT, "c1"),
    ] {
        assert_eq!(app.get("/data/accounts", Some(&token)).await.status, 200);
    }
}

fn consents(res: &Res) -> Vec<String> {
    res.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["consent_id"].as_str().unwrap().to_owned())
        .collect()
}

#[actix_web::test]
async fn compliance_lists_accesses_with_filters_and_pages() {
    let app = TestApp::new().await;
    three_reads(&app).await;
    let all = app.get("/audit/data-access", Some(AUDITOR_TOKEN)).await;
    assert_eq!(all.status, 200, "{}", all.text);
    assert_eq!(consents(&all), ["c1", "c2", "c1"]);
    assert_eq!(all.body["data"][1]["fields"].as_array().unwrap().len(), 6);
    let by_partner = app
        .get(
            &format!("/audit/data-access?partner_id={OTHER_RECIPIENT}"),
            Some(AUDITOR_TOKEN),
        )
        .await;
    assert_eq!(consents(&by_partner), ["c2"]);
    let by_consent = app
        .get(
            "/audit/data-access?consent_id=c1&page_size=1",
            Some(AUDITOR_TOKEN),
        )
        .await;
    assert_eq!(consents(&by_consent), ["c1"]);
    let next = by_consent.body["links"]["next"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(next.contains("consent_id=c1"));
    let second = app.get(&next, Some(AUDITOR_TOKEN)).await;
    assert_eq!(consents(&second), ["c1"]);
    assert!(second.body["links"].get("next").is_none());
    let at = all.body["data"][1]["at"].as_str().unwrap().to_owned();
    let since = app
        .get(
            &format!("/audit/data-access?from={at}"),
            Some(AUDITOR_TOKEN),
        )
        .await;
    assert_eq!(consents(&since), ["c2", "c1"]);
    let before = app
        .get(&format!("/audit/data-access?to={at}"), Some(AUDITOR_TOKEN))
        .await;
    assert_eq!(consents(&before), ["c1"]);
    let none = app
        .get(
            "/audit/data-access?dataset=transactions",
            Some(AUDITOR_TOKEN),
        )
        .await;
    assert_eq!(consents(&none), Vec::<String>::new());
    app.get("/audit/data-access", Some(ADMIN_TOKEN))
        .await
        .problem(403, "insufficient_scope");
    app.get("/audit/data-access?cursor=zz", Some(AUDITOR_TOKEN))
        .await
        .problem(400, "invalid_cursor");
    app.get("/audit/data-access?nope=1", Some(AUDITOR_TOKEN))
        .await
        .problem(400, "invalid_query");
}

#[actix_web::test]
async fn compliance_exports_csv_and_jsonl() {
    let app = TestApp::new().await;
    three_reads(&app).await;
    let csv = app
        .get("/audit/data-access/export?format=csv", Some(AUDITOR_TOKEN))
        .await;
    assert_eq!(csv.status, 200);
    assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8"));
    let lines: Vec<&str> = csv.text.lines().collect();
    assert_eq!(lines.len(), 4, "{}", csv.text);
    assert!(lines[0].starts_with("at,partner_id,client_id,consent_id"));
    assert!(
        lines[1].contains(",c1,pairwise-c1,accounts,account_id account_type currency nickname,1,")
    );
    let jsonl = app
        .get(
            &format!("/audit/data-access/export?format=jsonl&partner_id={RECIPIENT}"),
            Some(AUDITOR_TOKEN),
        )
        .await;
    assert_eq!(jsonl.header("content-type"), Some("application/jsonl"));
    let rows: Vec<Value> = jsonl
        .text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r["partner_id"] == RECIPIENT));
    app.get("/audit/data-access/export?format=xml", Some(AUDITOR_TOKEN))
        .await
        .problem(400, "invalid_query");
    app.get("/audit/data-access/export", Some(&provider_token(TRAVELCO)))
        .await
        .problem(403, "insufficient_scope");
}

#[actix_web::test]
async fn the_export_pages_through_more_records_than_one_chunk() {
    let app = TestApp::new().await;
    app.bank_publishes("accounts", CUSTOMER, &[("a1", account("a1"))])
        .await;
    app.consent("c1", RECIPIENT, &["ReadAccountsBasic"], &["bank"]);
    for _ in 0..1_100 {
        let res = app
            .get("/data/accounts", Some(&recipient_token(RECIPIENT, "c1")))
            .await;
        assert_eq!(res.status, 200);
    }
    let csv = app
        .get("/audit/data-access/export", Some(AUDITOR_TOKEN))
        .await;
    assert_eq!(csv.text.lines().count(), 1_101);
}
