//! The compliance officer's page of partner approvals (ADR 0024): who recorded the evidence
//! and who decided, by name, from the partners' events; filters and pages in the URL;
//! refusals in words.

use actix_web::test;

use crate::support::{Res, STAFF_B, TestApp};

const PAGE: &str = "/console/compliance/partner-approvals";

async fn as_person(app: &TestApp, req: test::TestRequest, who: Option<&str>) -> Res {
    let req = match who {
        Some(who) => req.insert_header(("cookie", format!("ecohub_staff_session={who}"))),
        None => req,
    };
    app.send(req).await
}

async fn page(app: &TestApp, uri: &str, who: Option<&str>) -> Res {
    as_person(app, test::TestRequest::get().uri(uri), who).await
}

async fn form(app: &TestApp, uri: &str, who: &str, body: &str) -> Res {
    as_person(
        app,
        test::TestRequest::post()
            .uri(uri)
            .insert_header(("content-type", "application/x-www-form-urlencoded"))
            .set_payload(body.to_owned()),
        Some(who),
    )
    .await
}

#[track_caller]
fn is_page(res: &Res, status: u16) {
    assert_eq!(res.status, status, "{}", res.text);
    assert_eq!(res.header("content-type"), Some("text/html; charset=utf-8"));
    assert_eq!(res.header("cache-control"), Some("no-store"));
    assert!(!res.text.contains("<script"), "{}", res.text);
}

/// Ada records both checks through the console; `approver` approves.
async fn checked_by_ada(app: &TestApp, name: &str, approver: &str) -> String {
    let (id, _) = app.apply(name).await;
    for kind in ["registry_check", "sanctions_screening"] {
        let res = form(
            app,
            &format!("/console/partners/{id}/verifications"),
            "ada",
            &format!("csrf_token=csrf-ada&check={kind}&result=passed&evidence=case+2026%2F7"),
        )
        .await;
        assert_eq!(res.status, 303, "{}", res.text);
    }
    let res = form(
        app,
        &format!("/console/partners/{id}/approve"),
        approver,
        &format!("csrf_token=csrf-{approver}&roles=data_recipient&note=fine"),
    )
    .await;
    assert_eq!(res.status, 303, "{}", res.text);
    id
}

#[actix_web::test]
async fn without_a_session_or_the_audit_scope_the_page_refuses() {
    let app = TestApp::new().await;
    for who in [None, Some("forged")] {
        let res = page(&app, PAGE, who).await;
        assert_eq!(res.status, 303);
        assert_eq!(res.header("location"), Some("/console/login"));
    }
    let res = page(&app, PAGE, Some("ada")).await;
    is_page(&res, 403);
    assert!(res.text.contains("for compliance officers"), "{}", res.text);
    let res = page(&app, PAGE, Some("down")).await;
    is_page(&res, 503);
}

#[actix_web::test]
async fn the_page_names_who_recorded_the_evidence_and_who_decided() {
    let app = TestApp::new().await;
    let res = page(&app, PAGE, Some("carol")).await;
    is_page(&res, 200);
    assert!(
        res.text.contains("No partner has applied yet"),
        "{}",
        res.text
    );

    let approved = checked_by_ada(&app, "Travel <Co>", "grace").await;
    let (rejected, _) = app.apply("Shady Ltd").await;
    let res = app
        .post(
            &format!("/admin/partners/{rejected}/reject"),
            Some(STAFF_B),
            serde_json::json!({"reason": "no registry entry"}),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    app.directory_caught_up().await;

    let res = page(&app, PAGE, Some("carol")).await;
    is_page(&res, 200);
    for expected in [
        "Travel &#60;Co&#62;",
        &approved,
        "registry check passed — recorded by Ada Lovelace",
        "Approved by Grace Hopper",
        "(note: fine)",
        "approver recorded no evidence",
        "Shady Ltd",
        "Rejected by staff client",
        ": no registry entry",
        "Carol &#60;Compliance&#62;",
    ] {
        assert!(res.text.contains(expected), "{expected}: {}", res.text);
    }
    let res = page(&app, &format!("{PAGE}?status=rejected"), Some("carol")).await;
    is_page(&res, 200);
    assert!(res.text.contains("Shady Ltd"), "{}", res.text);
    assert!(!res.text.contains("Travel &#60;Co&#62;"), "{}", res.text);
    let res = page(&app, &format!("{PAGE}?status=suspended"), Some("carol")).await;
    assert!(
        res.text.contains("No partner has this status"),
        "{}",
        res.text
    );
    for (query, words) in [
        ("status=happy", "no such partner status"),
        ("after=nope", "does not exist"),
        ("status=approved&status=rejected", "could not be read"),
    ] {
        let res = page(&app, &format!("{PAGE}?{query}"), Some("carol")).await;
        is_page(&res, 400);
        assert!(res.text.contains(words), "{query}: {}", res.text);
        assert!(res.text.contains("role=\"alert\""));
    }
}

#[actix_web::test]
async fn the_page_lists_twenty_partners_at_a_time_with_the_filter_in_the_url() {
    let app = TestApp::new().await;
    let mut ids = Vec::new();
    for n in 0..22 {
        ids.push(app.apply(&format!("Partner {n:02}")).await.0);
    }
    app.directory_caught_up().await;
    let res = page(&app, &format!("{PAGE}?status=applied"), Some("carol")).await;
    is_page(&res, 200);
    assert!(res.text.contains("Partner 19"));
    assert!(!res.text.contains("Partner 20"));
    let next = format!("{PAGE}?status=applied&#38;after={}", ids[19]);
    assert!(res.text.contains(&next), "{}", res.text);
    let res = page(&app, &next.replace("&#38;", "&"), Some("carol")).await;
    is_page(&res, 200);
    assert!(res.text.contains("Partner 21"));
    assert!(!res.text.contains("Partner 19"));
    assert!(res.text.contains("First page"));
}
