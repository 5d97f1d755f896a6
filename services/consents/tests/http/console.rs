//! The compliance officer's consent pages (ADR 0024) through the staff session: the search
//! with its filters and pages in the URL, a consent's timeline with its chain badge, the
//! export downloads and "Verify integrity" — CSRF-bound, reporting a tampered chain in words.

use std::sync::Arc;

use actix_web::test;
use ecohub_eventstore::{SharedStore, SqliteStore, SqliteStoreOptions};

use crate::support::*;

/// A request from the browser of the person whose staff session cookie is `who`.
fn as_person(req: test::TestRequest, who: Option<&str>) -> test::TestRequest {
    match who {
        Some(who) => req.insert_header(("cookie", format!("ecohub_staff_session={who}"))),
        None => req,
    }
}

impl TestApp {
    async fn page(&self, uri: &str, who: Option<&str>) -> Res {
        self.send(as_person(test::TestRequest::get().uri(uri), who))
            .await
    }

    async fn verify_form(&self, who: Option<&str>, body: &str) -> Res {
        self.send(as_person(
            test::TestRequest::post()
                .uri("/console/compliance/consents/verify")
                .insert_header(("content-type", "application/x-www-form-urlencoded"))
                .set_payload(body.to_owned()),
            who,
        ))
        .await
    }
}

#[track_caller]
fn is_page(res: &Res, status: u16) {
    assert_eq!(res.status, status, "{}", res.text);
    assert_eq!(
        res.header("content-type"),
        Some("text/html; charset=utf-8"),
        "{}",
        res.text
    );
    assert_eq!(res.header("cache-control"), Some("no-store"));
    assert!(
        res.header("content-security-policy")
            .unwrap_or_default()
            .contains("default-src 'none'")
    );
    assert!(!res.text.contains("<script"), "{}", res.text);
}

/// The consent ids linked from a search page, in order.
fn linked(text: &str) -> Vec<String> {
    text.split("<a href=\"/console/compliance/consents/")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .filter(|id| !id.starts_with("export"))
        .map(str::to_owned)
        .collect()
}

#[actix_web::test]
async fn without_a_session_or_the_audit_scope_the_pages_refuse_in_words() {
    let app = TestApp::new().await;
    let p = app.partner("Travel <Co>", true, false);
    let id = app.authorised(&p, "alice").await;
    let pages = [
        "/console/compliance/consents".to_owned(),
        format!("/console/compliance/consents/{id}"),
        "/console/compliance/consents/export.csv".to_owned(),
    ];
    for who in [None, Some("forged")] {
        for uri in &pages {
            let res = app.page(uri, who).await;
            assert_eq!(res.status, 303, "{uri}");
            assert_eq!(res.header("location"), Some("/console/login"), "{uri}");
        }
        let res = app.verify_form(who, "csrf_token=csrf-carol").await;
        assert_eq!(res.status, 303);
        assert_eq!(res.header("location"), Some("/console/login"));
    }
    // A partnership manager (scope `admin`, not `audit`): a 403 page in words.
    for uri in &pages {
        let res = app.page(uri, Some("ada")).await;
        is_page(&res, 403);
        assert!(res.text.contains("for compliance officers"), "{}", res.text);
        assert!(res.text.contains("Ada Lovelace"), "{}", res.text);
    }
    let res = app.verify_form(Some("ada"), "csrf_token=csrf-ada").await;
    is_page(&res, 403);
    let res = app.page("/console/compliance/consents", Some("down")).await;
    is_page(&res, 503);
    assert!(res.text.contains("try again shortly"), "{}", res.text);
}

#[actix_web::test]
async fn the_search_filters_by_customer_partner_status_and_days_and_pages_in_the_url() {
    let app = TestApp::new().await;
    // Empty: says what to do.
    let res = app
        .page("/console/compliance/consents", Some("carol"))
        .await;
    is_page(&res, 200);
    assert!(res.text.contains("No consent yet"), "{}", res.text);
    assert!(
        res.text.contains("Carol &#60;Compliance&#62;"),
        "{}",
        res.text
    );

    let a = app.partner("Travel <Co>", true, false);
    let b = app.partner("FitApp", true, false);
    let mut alices = Vec::new();
    for _ in 0..22 {
        alices.push(app.authorised(&a, "alice").await);
    }
    let pending = app.create(&a).await;
    let bobs = app.authorised(&b, "bob").await;
    app.caught_up().await;

    let res = app
        .page("/console/compliance/consents?customer=alice", Some("carol"))
        .await;
    is_page(&res, 200);
    assert_eq!(linked(&res.text), alices[..20].to_vec());
    assert!(res.text.contains("Travel &#60;Co&#62;"), "{}", res.text);
    assert!(res.text.contains("value=\"alice\""), "{}", res.text);
    let next = format!(
        "/console/compliance/consents?customer=alice&#38;after={}",
        alices[19]
    );
    assert!(res.text.contains(&next), "{}", res.text);
    let res = app.page(&next.replace("&#38;", "&"), Some("carol")).await;
    is_page(&res, 200);
    assert_eq!(linked(&res.text), alices[20..].to_vec());
    assert!(res.text.contains("First page"), "{}", res.text);
    assert!(!res.text.contains("Next page"), "{}", res.text);

    let res = app
        .page(
            &format!("/console/compliance/consents?partner={a}&status=AwaitingAuthorisation"),
            Some("carol"),
        )
        .await;
    assert_eq!(linked(&res.text), [pending]);
    assert!(res.text.contains("awaiting authorisation"), "{}", res.text);
    let res = app
        .page(
            &format!("/console/compliance/consents?partner={b}"),
            Some("carol"),
        )
        .await;
    assert_eq!(linked(&res.text), std::slice::from_ref(&bobs));
    // The clock started on 2027-01-15: every consent was created that day.
    let day = &app.now().to_rfc3339()[..10];
    let res = app
        .page(
            &format!("/console/compliance/consents?customer=bob&from={day}&to={day}"),
            Some("carol"),
        )
        .await;
    assert_eq!(linked(&res.text), [bobs]);
    let res = app
        .page(
            "/console/compliance/consents?customer=bob&from=2020-01-01&to=2020-01-31",
            Some("carol"),
        )
        .await;
    is_page(&res, 200);
    assert!(res.text.contains("No consent matches"), "{}", res.text);
    assert!(linked(&res.text).is_empty());

    // Bad filters: the page again, in words, with what was typed, and no results.
    for (query, words) in [
        ("partner=not-a-partner", "not a partner id"),
        ("status=Happy", "no such consent status"),
        ("from=01%2F12%2F2026", "not a date"),
        ("from=2026-12-31&to=2026-12-01", "before the first day"),
        ("after=xyz", "does not exist"),
        ("customer=a&customer=b", "could not be read"),
    ] {
        let res = app
            .page(
                &format!("/console/compliance/consents?{query}"),
                Some("carol"),
            )
            .await;
        is_page(&res, 400);
        assert!(res.text.contains("role=\"alert\""), "{}", res.text);
        assert!(res.text.contains(words), "{query}: {}", res.text);
        assert!(linked(&res.text).is_empty(), "{query}");
    }
    let res = app
        .page("/console/compliance/consents?from=%3Cb%3E", Some("carol"))
        .await;
    assert!(res.text.contains("value=\"&#60;b&#62;\""), "{}", res.text);
}

#[actix_web::test]
async fn a_consent_page_shows_its_history_in_words_with_the_chain_verified() {
    let app = TestApp::new().await;
    let p = app.partner("Travel <Co>", true, false);
    let id = app.authorised(&p, "alice").await;
    app.delete(&format!("/consents/{id}"), &partner_token(&p))
        .await;
    app.caught_up().await;
    let res = app
        .page(&format!("/console/compliance/consents/{id}"), Some("carol"))
        .await;
    is_page(&res, 200);
    for expected in [
        "Chain verified",
        "Travel &#60;Co&#62; asked to read ReadAccountsBasic",
        "Travel offers that fit your spending",
        "The customer alice authorised the consent",
        "The partner revoked the consent",
        "by the customer alice",
        "by the OAuth client client-",
        "revision 2",
        "customer_authorised",
        "href=\"/console/compliance/data-access?consent=",
    ] {
        assert!(res.text.contains(expected), "{expected}: {}", res.text);
    }
    assert!(!res.text.contains("Chain broken"), "{}", res.text);
    for uri in [
        "/console/compliance/consents/0190f5c2-0000-7000-8000-000000000009".to_owned(),
        "/console/compliance/consents/not-an-id".to_owned(),
    ] {
        let res = app.page(&uri, Some("carol")).await;
        is_page(&res, 404);
        assert!(res.text.contains("no consent with this id"), "{}", res.text);
    }
}

#[actix_web::test]
async fn the_exports_download_for_a_session_as_csv_and_json_lines() {
    let app = TestApp::new().await;
    let p = app.partner("A", true, false);
    app.authorised(&p, "alice").await;
    let csv = app
        .page("/console/compliance/consents/export.csv", Some("carol"))
        .await;
    assert_eq!(csv.status, 200, "{}", csv.text);
    assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8"));
    assert_eq!(
        csv.header("content-disposition"),
        Some("attachment; filename=\"consents.csv\"")
    );
    let api = app.get("/audit/consents/export?format=csv", AUDITOR).await;
    assert_eq!(csv.text, api.text, "the same export as the audit API's");
    assert_eq!(csv.text.lines().count(), 3, "{}", csv.text);
    assert!(csv.text.starts_with("position,stream,revision,"));
    let jsonl = app
        .page("/console/compliance/consents/export.jsonl", Some("carol"))
        .await;
    assert_eq!(jsonl.status, 200);
    assert_eq!(jsonl.header("content-type"), Some("application/x-ndjson"));
    assert_eq!(
        jsonl.header("content-disposition"),
        Some("attachment; filename=\"consents.jsonl\"")
    );
    for line in jsonl.text.lines() {
        serde_json::from_str::<serde_json::Value>(line).unwrap();
    }
    let res = app
        .page("/console/compliance/consents/export.xlsx", Some("carol"))
        .await;
    is_page(&res, 404);
    assert!(res.text.contains("CSV or as JSON lines"), "{}", res.text);
}

#[actix_web::test]
async fn verify_integrity_needs_the_form_token_and_reports_a_clean_store() {
    let app = TestApp::new().await;
    let p = app.partner("A", true, false);
    for c in ["alice", "bob"] {
        app.authorised(&p, c).await;
    }
    for body in [
        "",
        "csrf_token=wrong",
        "csrf_token=csrf-carol&csrf_token=csrf-carol",
    ] {
        let res = app.verify_form(Some("carol"), body).await;
        is_page(&res, 403);
        assert!(res.text.contains("nothing was verified"), "{}", res.text);
        assert!(!res.text.contains("Every chain verified"), "{}", res.text);
    }
    let res = app
        .verify_form(Some("carol"), "csrf_token=csrf-carol")
        .await;
    is_page(&res, 200);
    for expected in [
        "Every chain verified",
        "2<span>consents (streams) checked",
        "4<span>events checked",
        "ecohub audit verify",
    ] {
        assert!(res.text.contains(expected), "{expected}: {}", res.text);
    }
}

#[actix_web::test]
async fn verify_integrity_and_the_consent_page_report_a_tampered_chain_in_words() {
    let app = TestApp::new().await;
    let p = app.partner("A", true, false);
    let clean = app.authorised(&p, "alice").await;
    let altered = app.authorised(&p, "bob").await;
    app.store.close().await.unwrap();
    let stream = format!("consent-{altered}");
    let conn = rusqlite::Connection::open(&app.db).unwrap();
    let changed = conn
        .execute(
            "UPDATE events SET metadata = ?1 WHERE stream = ?2 AND revision = 1",
            rusqlite::params![br#"{"actor":"customer:mallory"}"#.to_vec(), stream],
        )
        .unwrap();
    assert_eq!(changed, 1);
    drop(conn);
    let TestApp { db, _dir, .. } = app;
    let store: SharedStore =
        Arc::new(SqliteStore::open(&db, SqliteStoreOptions::default()).unwrap());
    let app = TestApp::on(store, _dir, db);
    app.caught_up().await;

    let res = app
        .verify_form(Some("carol"), "csrf_token=csrf-carol")
        .await;
    is_page(&res, 200);
    assert!(res.text.contains("Chain broken"), "{}", res.text);
    assert!(
        res.text
            .contains(&format!("href=\"/console/compliance/consents/{altered}\"")),
        "{}",
        res.text
    );
    assert!(
        res.text.contains("at revision 1: hash does not match"),
        "{}",
        res.text
    );
    assert!(res.text.contains("role=\"alert\""), "{}", res.text);

    let res = app
        .page(
            &format!("/console/compliance/consents/{altered}"),
            Some("carol"),
        )
        .await;
    is_page(&res, 200);
    assert!(
        res.text.contains("Chain broken at revision 1"),
        "{}",
        res.text
    );
    assert!(res.text.contains("by the customer mallory"), "{}", res.text);
    assert!(res.text.contains("does not verify"), "{}", res.text);
    let res = app
        .page(
            &format!("/console/compliance/consents/{clean}"),
            Some("carol"),
        )
        .await;
    assert!(res.text.contains("Chain verified"), "{}", res.text);
}
