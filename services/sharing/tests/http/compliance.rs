//! The compliance officer's data-access page (ADR 0024) through the staff session: the
//! records in words, filters and pages in the URL, refusals in words, export downloads.

use actix_web::test;

use crate::support::*;

async fn page(app: &TestApp, uri: &str, who: Option<&str>) -> Res {
    let req = test::TestRequest::get().uri(uri);
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

/// The consents of the rows shown, in order.
fn rows(text: &str) -> Vec<String> {
    text.split("<td><a href=\"/console/compliance/consents/")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .map(str::to_owned)
        .collect()
}

async fn reads(app: &TestApp, n: usize) {
    app.bank_publishes("accounts", CUSTOMER, &[("a1", account("a1"))])
        .await;
    app.consent("c1", RECIPIENT, &["ReadAccountsBasic"], &["bank"]);
    app.consent("c2", OTHER_RECIPIENT, &["ReadAccountsDetail"], &["bank"]);
    for i in 0..n {
        let token = if i == 1 {
            recipient_token(OTHER_RECIPIENT, "c2")
        } else {
            recipient_token(RECIPIENT, "c1")
        };
        assert_eq!(app.get("/data/accounts", Some(&token)).await.status, 200);
    }
}

#[actix_web::test]
async fn without_a_session_or_the_audit_scope_the_page_refuses() {
    let app = TestApp::new().await;
    for uri in [
        "/console/compliance/data-access",
        "/console/compliance/data-access/export.csv",
    ] {
        for who in [None, Some("forged")] {
            let res = page(&app, uri, who).await;
            assert_eq!(res.status, 303, "{uri}");
            assert_eq!(res.header("location"), Some("/console/login"));
        }
        let res = page(&app, uri, Some("ada")).await;
        is_page(&res, 403);
        assert!(res.text.contains("for compliance officers"), "{}", res.text);
        assert!(res.text.contains("role=\"alert\""), "{}", res.text);
        let res = page(&app, uri, Some("down")).await;
        is_page(&res, 503);
    }
}

#[actix_web::test]
async fn the_records_show_who_read_what_with_filters_and_pages_in_the_url() {
    let app = TestApp::new().await;
    let res = page(&app, "/console/compliance/data-access", Some("carol")).await;
    is_page(&res, 200);
    assert!(res.text.contains("No data was read yet"), "{}", res.text);
    assert!(
        res.text.contains("Carol &#60;Compliance&#62;"),
        "{}",
        res.text
    );

    reads(&app, 28).await;
    let res = page(&app, "/console/compliance/data-access", Some("carol")).await;
    is_page(&res, 200);
    assert_eq!(rows(&res.text).len(), 25);
    assert_eq!(rows(&res.text)[..3], ["c1", "c2", "c1"]);
    for expected in [
        &format!("Partner <code>{RECIPIENT}</code>"),
        "read 1 record of <strong>accounts</strong>",
        "account_id, account_type, currency, nickname",
        "customer known to the partner as <code>pairwise-c1</code>",
        "href=\"/console/compliance/data-access/export.csv\"",
    ] {
        assert!(res.text.contains(expected), "{expected}: {}", res.text);
    }
    let next = res
        .text
        .split("<a href=\"")
        .filter_map(|s| s.split('"').next())
        .find(|h| h.contains("after="))
        .unwrap()
        .replace("&#38;", "&");
    let res = page(&app, &next, Some("carol")).await;
    is_page(&res, 200);
    assert_eq!(rows(&res.text).len(), 3);
    assert!(res.text.contains("First page"), "{}", res.text);

    let res = page(
        &app,
        &format!("/console/compliance/data-access?partner={OTHER_RECIPIENT}"),
        Some("carol"),
    )
    .await;
    assert_eq!(rows(&res.text), ["c2"]);
    assert!(
        res.text.contains(&format!(
            "href=\"/console/compliance/data-access/export.jsonl?partner={OTHER_RECIPIENT}\""
        )),
        "{}",
        res.text
    );
    let res = page(
        &app,
        "/console/compliance/data-access?consent=c1&dataset=transactions",
        Some("carol"),
    )
    .await;
    is_page(&res, 200);
    assert!(res.text.contains("No access matches"), "{}", res.text);
    let day = &START.to_rfc3339()[..10];
    let res = page(
        &app,
        &format!("/console/compliance/data-access?consent=c2&from={day}&to={day}"),
        Some("carol"),
    )
    .await;
    assert_eq!(rows(&res.text), ["c2"]);
    for (query, words) in [
        ("from=yesterday", "not a date"),
        ("from=2026-12-31&to=2026-12-01", "before the first day"),
        ("after=12", "does not exist"),
        ("consent=a&consent=b", "could not be read"),
    ] {
        let res = page(
            &app,
            &format!("/console/compliance/data-access?{query}"),
            Some("carol"),
        )
        .await;
        is_page(&res, 400);
        assert!(res.text.contains(words), "{query}: {}", res.text);
        assert!(rows(&res.text).is_empty());
    }
}

#[actix_web::test]
async fn the_exports_download_the_filtered_records() {
    let app = TestApp::new().await;
    reads(&app, 3).await;
    let csv = page(
        &app,
        "/console/compliance/data-access/export.csv?consent=c1",
        Some("carol"),
    )
    .await;
    assert_eq!(csv.status, 200, "{}", csv.text);
    assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8"));
    assert_eq!(
        csv.header("content-disposition"),
        Some("attachment; filename=\"data-access.csv\"")
    );
    assert_eq!(csv.text.lines().count(), 3, "{}", csv.text);
    let api = app
        .get(
            "/audit/data-access/export?format=csv&consent_id=c1",
            Some(AUDITOR_TOKEN),
        )
        .await;
    assert_eq!(csv.text, api.text);
    let jsonl = page(
        &app,
        "/console/compliance/data-access/export.jsonl",
        Some("carol"),
    )
    .await;
    assert_eq!(jsonl.status, 200);
    assert_eq!(
        jsonl.header("content-disposition"),
        Some("attachment; filename=\"data-access.jsonl\"")
    );
    assert_eq!(jsonl.text.lines().count(), 3);
    let res = page(
        &app,
        "/console/compliance/data-access/export.xml",
        Some("carol"),
    )
    .await;
    is_page(&res, 404);
}
