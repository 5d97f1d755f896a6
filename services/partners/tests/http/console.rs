//! The console's partner pages (ADR 0024) through the staff session: the queue with its
//! filters and pages, a partner's page, and the forms — CSRF-bound, redirecting after
//! success, refusing in words and changing nothing when refused; maker-checker by person.

use actix_web::test;
use serde_json::json;

use crate::support::{STAFF_A, TestApp, staff_id};

/// A request from the browser of the person whose session cookie is `who` (None: nobody).
fn as_person(req: test::TestRequest, who: Option<&str>) -> test::TestRequest {
    match who {
        Some(who) => req.insert_header(("cookie", format!("ecohub_staff_session={who}"))),
        None => req,
    }
}

impl TestApp {
    async fn page(&self, uri: &str, who: Option<&str>) -> crate::support::Res {
        self.send(as_person(test::TestRequest::get().uri(uri), who))
            .await
    }

    async fn form(
        &self,
        uri: &str,
        who: Option<&str>,
        fields: &[(&str, &str)],
    ) -> crate::support::Res {
        let body = fields
            .iter()
            .map(|(k, v)| format!("{k}={}", ecohub_http::percent_encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        self.send(as_person(
            test::TestRequest::post()
                .uri(uri)
                .insert_header(("content-type", "application/x-www-form-urlencoded"))
                .set_payload(body),
            who,
        ))
        .await
    }
}

fn is_page(res: &crate::support::Res) {
    assert_eq!(
        hdr(res, "content-type"),
        "text/html; charset=utf-8",
        "{}",
        res.text
    );
    assert_eq!(hdr(res, "cache-control"), "no-store");
    assert!(hdr(res, "content-security-policy").contains("default-src 'none'"));
    assert!(!res.text.contains("<script"), "{}", res.text);
}

#[actix_web::test]
async fn without_a_session_every_page_and_form_sends_to_sign_in_and_changes_nothing() {
    let app = TestApp::new().await;
    let (id, _) = app.apply("TravelCo GmbH").await;
    let head = app.head().await;
    let pages = [
        "/console/partners".to_owned(),
        format!("/console/partners/{id}"),
    ];
    let forms = ["verifications", "approve", "reject", "suspend", "reinstate"]
        .map(|f| format!("/console/partners/{id}/{f}"));
    for who in [None, Some("forged")] {
        for uri in &pages {
            let res = app.page(uri, who).await;
            assert_eq!(res.status, 303, "{uri}");
            assert_eq!(hdr(&res, "location"), "/console/login", "{uri}");
        }
        for uri in &forms {
            let res = app
                .form(
                    uri,
                    who,
                    &[
                        ("csrf_token", "csrf-ada"),
                        ("reason", "because"),
                        ("check", "registry_check"),
                        ("result", "passed"),
                        ("evidence", "x"),
                        ("roles", "data_recipient"),
                    ],
                )
                .await;
            assert_eq!(res.status, 303, "{uri}");
            assert_eq!(hdr(&res, "location"), "/console/login", "{uri}");
        }
    }
    // Roles without the `admin` scope: a page in words, escaped, nothing changed.
    for uri in pages.iter().chain(&forms) {
        let res = if uri.ends_with(&id) || uri.ends_with("partners") {
            app.page(uri, Some("carol")).await
        } else {
            app.form(
                uri,
                Some("carol"),
                &[("csrf_token", "csrf-carol"), ("reason", "r")],
            )
            .await
        };
        assert_eq!(res.status, 403, "{uri}");
        is_page(&res);
        assert!(res.text.contains("partnership managers"), "{}", res.text);
        assert!(
            res.text.contains("Carol &#60;Compliance&#62;"),
            "{}",
            res.text
        );
    }
    // Sessions that cannot be checked: 503 in words.
    let res = app.page("/console/partners", Some("down")).await;
    assert_eq!(res.status, 503);
    assert!(res.text.contains("try again shortly"), "{}", res.text);
    assert_eq!(app.head().await, head);
}

#[actix_web::test]
async fn the_queue_filters_by_status_and_pages_with_the_filter_in_the_url() {
    let app = TestApp::new().await;
    // Empty: says what happens next.
    let res = app.page("/console/partners", Some("ada")).await;
    assert_eq!(res.status, 200);
    is_page(&res);
    assert!(
        res.text.contains("No partner has applied yet"),
        "{}",
        res.text
    );
    let mut ids = Vec::new();
    for n in 0..23 {
        let (id, _) = app.apply(&format!("Partner <{n:02}>")).await;
        ids.push(id);
    }
    app.verify(&ids[0]).await;
    app.directory_caught_up().await;

    let res = app.page("/console/partners", Some("ada")).await;
    assert_eq!(res.status, 200);
    assert!(
        res.text
            .contains("Signed in as <strong>Ada Lovelace</strong>"),
        "{}",
        res.text
    );
    assert!(res.text.contains("Partner &#60;00&#62;"), "{}", res.text);
    assert!(res.text.contains("Partner &#60;19&#62;"));
    assert!(!res.text.contains("Partner &#60;20&#62;"));
    assert!(res.text.contains("Every partner (23)"), "{}", res.text);
    assert!(res.text.contains("New applications (22)"));
    assert!(res.text.contains("Under review (1)"));
    let next = format!("/console/partners?after={}", ids[19]);
    assert!(
        res.text.contains(&format!("href=\"{next}\"")),
        "{}",
        res.text
    );

    let res = app.page(&next, Some("ada")).await;
    assert!(res.text.contains("Partner &#60;20&#62;") && res.text.contains("Partner &#60;22&#62;"));
    assert!(!res.text.contains("Partner &#60;19&#62;"));
    assert!(res.text.contains("First page"));
    assert!(!res.text.contains("Next page"));

    let res = app
        .page("/console/partners?status=under_review", Some("ada"))
        .await;
    assert!(res.text.contains("Partner &#60;00&#62;"));
    assert!(!res.text.contains("Partner &#60;01&#62;"));
    assert!(
        res.text.contains("aria-current=\"page\">Under review (1)"),
        "{}",
        res.text
    );
    let res = app
        .page("/console/partners?status=suspended", Some("ada"))
        .await;
    assert!(res.text.contains("No partner is suspended"), "{}", res.text);
    assert!(
        res.text
            .contains("href=\"/console/partners\">See every partner")
    );

    for bad in [
        "/console/partners?status=gone",
        "/console/partners?after=not-an-id",
    ] {
        let res = app.page(bad, Some("ada")).await;
        assert_eq!(res.status, 400, "{bad}");
        is_page(&res);
    }
}

#[actix_web::test]
async fn a_colleague_approves_after_the_person_who_recorded_the_evidence_is_refused() {
    let app = TestApp::new().await;
    let (id, _) = app.apply("TravelCo <GmbH>").await;
    let page = format!("/console/partners/{id}");
    let res = app.page(&page, Some("ada")).await;
    assert_eq!(res.status, 200);
    is_page(&res);
    assert!(
        res.text.contains("<h1>TravelCo &#60;GmbH&#62;</h1>"),
        "{}",
        res.text
    );
    assert!(res.text.contains("No check is recorded yet"));
    assert!(res.text.contains("<label for=\"evidence\">"));

    // A form without the session's token changes nothing.
    let head = app.head().await;
    let check = |csrf: &'static str, kind: &'static str| {
        [
            ("csrf_token", csrf),
            ("check", kind),
            ("result", "passed"),
            ("evidence", "case <42>"),
        ]
    };
    for csrf in ["", "csrf-grace"] {
        let res = app
            .form(
                &format!("{page}/verifications"),
                Some("ada"),
                &check(csrf, "registry_check"),
            )
            .await;
        assert_eq!(res.status, 403, "{}", res.text);
        assert!(res.text.contains("nothing was changed"));
    }
    assert_eq!(app.head().await, head);

    // Ada records both checks: 303 back to the page, which says so.
    for kind in ["registry_check", "sanctions_screening"] {
        let res = app
            .form(
                &format!("{page}/verifications"),
                Some("ada"),
                &check("csrf-ada", kind),
            )
            .await;
        assert_eq!(res.status, 303, "{}", res.text);
        assert_eq!(hdr(&res, "location"), format!("{page}?done=check"));
    }
    let events = app.stream(&id).await;
    assert_eq!(events.len(), 3);
    assert_eq!(
        events[2].metadata.actor.as_deref(),
        Some(format!("staff:{}", staff_id(1)).as_str())
    );
    let res = app.page(&format!("{page}?done=check"), Some("ada")).await;
    assert!(res.text.contains("The check is recorded."));
    assert!(res.text.contains("case &#60;42&#62;"));
    assert!(res.text.contains("you (Ada Lovelace)"));
    assert!(res.text.contains("You recorded evidence for this partner"));

    // Ada, the maker, is refused as the approver: in words, nothing written, what she typed kept.
    let head = app.head().await;
    let approve = [
        ("csrf_token", "csrf-ada"),
        ("roles", "data_recipient"),
        ("redirect_uris", "https://travelco.example/callback"),
        ("note", "fine <by me>"),
    ];
    let res = app
        .form(&format!("{page}/approve"), Some("ada"), &approve)
        .await;
    assert_eq!(res.status, 409, "{}", res.text);
    assert!(
        res.text
            .contains("four-eyes rule needs the approver to be a different person"),
        "{}",
        res.text
    );
    assert!(
        res.text.contains("value=\"fine &#60;by me&#62;\""),
        "{}",
        res.text
    );
    assert_eq!(app.head().await, head);

    // Bad input: in words, 400, nothing written.
    for (fields, words) in [
        (vec![("csrf_token", "csrf-grace")], "at least one role"),
        (
            vec![("csrf_token", "csrf-grace"), ("roles", "pilot")],
            "roles from the list",
        ),
        (
            vec![
                ("csrf_token", "csrf-grace"),
                ("roles", "data_recipient"),
                ("redirect_uris", "ftp://x"),
            ],
            "redirect URI ftp://x",
        ),
        (
            vec![
                ("csrf_token", "csrf-grace"),
                ("csrf_token", "csrf-grace"),
                ("roles", "data_recipient"),
            ],
            "twice",
        ),
    ] {
        let res = app
            .form(&format!("{page}/approve"), Some("grace"), &fields)
            .await;
        assert!(matches!(res.status, 400 | 403), "{fields:?}: {}", res.text);
        assert!(
            res.text.contains(words) || res.status == 403,
            "{words}: {}",
            res.text
        );
    }
    let res = app
        .form(
            &format!("{page}/reject"),
            Some("grace"),
            &[("csrf_token", "csrf-grace"), ("reason", "  ")],
        )
        .await;
    assert_eq!(res.status, 400);
    assert!(res.text.contains("Please give a reason."));
    assert_eq!(app.head().await, head);

    // Grace, who recorded nothing, approves.
    let mut approve = approve;
    approve[0] = ("csrf_token", "csrf-grace");
    let res = app
        .form(&format!("{page}/approve"), Some("grace"), &approve)
        .await;
    assert_eq!(res.status, 303, "{}", res.text);
    assert_eq!(hdr(&res, "location"), format!("{page}?done=approved"));
    let events = app.stream(&id).await;
    assert_eq!(
        events.last().unwrap().metadata.actor.as_deref(),
        Some(format!("staff:{}", staff_id(2)).as_str())
    );
    let record = app
        .get(&format!("/admin/partners/{id}"), Some(STAFF_A))
        .await;
    assert_eq!(record.body["status"], "approved");
    assert_eq!(
        record.body["granted"]["roles"],
        json!(["data_recipient"]),
        "{:#}",
        record.body
    );

    // Suspend and reinstate with reasons; the history says who and why.
    let res = app
        .form(
            &format!("{page}/suspend"),
            Some("grace"),
            &[
                ("csrf_token", "csrf-grace"),
                ("reason", "certificate expired"),
            ],
        )
        .await;
    assert_eq!(hdr(&res, "location"), format!("{page}?done=suspended"));
    let res = app
        .form(
            &format!("{page}/suspend"),
            Some("ada"),
            &[("csrf_token", "csrf-ada"), ("reason", "again")],
        )
        .await;
    assert_eq!(res.status, 409);
    assert!(
        res.text.contains("Partner is already suspended."),
        "{}",
        res.text
    );
    let res = app
        .form(
            &format!("{page}/reinstate"),
            Some("ada"),
            &[
                ("csrf_token", "csrf-ada"),
                ("reason", "certificate renewed"),
            ],
        )
        .await;
    assert_eq!(hdr(&res, "location"), format!("{page}?done=reinstated"));
    let res = app
        .page(&format!("{page}?done=reinstated"), Some("ada"))
        .await;
    for expected in [
        "The partner is reinstated.",
        "became approved",
        "Grace Hopper",
        "certificate expired",
        "became suspended",
        "certificate renewed",
        "fine &#60;by me&#62;",
        "No active webhook",
    ] {
        assert!(res.text.contains(expected), "{expected}: {}", res.text);
    }

    // Unknown and malformed partners.
    let res = app
        .page(
            "/console/partners/0190f5c2-8b1e-7c3a-9d4f-2a6b8c0e1f35",
            Some("ada"),
        )
        .await;
    assert_eq!(res.status, 404);
    assert!(res.text.contains("No partner has this id"));
    let res = app.page("/console/partners/nope", Some("ada")).await;
    assert_eq!(res.status, 400);
}

/// A header's value ("" when absent).
fn hdr<'r>(res: &'r crate::support::Res, name: &str) -> &'r str {
    res.header(name).unwrap_or_default()
}
