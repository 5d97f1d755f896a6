//! The product manager's console pages (ADR 0024) through the staff session: the pages
//! render for a product manager (escaped), need a session (303 to sign in) and the
//! `offers:manage` scope (403 in words); forms are CSRF-bound and change nothing when
//! refused; maker-checker is by person and refused in words; a version goes from draft to
//! published through the forms, the co-brand partner accepting through its API.

use actix_web::test;
use serde_json::Value;

use crate::support::{PM1, Res, TestApp, partner_token, staff_id};

const P: &str = "0190a000-0000-7000-8000-000000000001";

/// A request from the browser of the person whose session cookie is `who` (None: nobody).
fn as_person(req: test::TestRequest, who: Option<&str>) -> test::TestRequest {
    match who {
        Some(who) => req.insert_header(("cookie", format!("ecohub_staff_session={who}"))),
        None => req,
    }
}

fn hdr<'r>(res: &'r Res, name: &str) -> &'r str {
    res.header(name).unwrap_or_default()
}

fn is_page(res: &Res) {
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

/// The form fields of a proposition document: its name and description, and the rest as
/// the JSON the textarea holds.
fn draft_fields(doc: &Value) -> Vec<(&'static str, String)> {
    let mut rest = doc.as_object().cloned().unwrap_or_default();
    let name = rest
        .remove("name")
        .and_then(|v| v.as_str().map(str::to_owned));
    let description = rest
        .remove("description")
        .and_then(|v| v.as_str().map(str::to_owned));
    vec![
        ("name", name.unwrap_or_default()),
        ("description", description.unwrap_or_default()),
        ("priority", "10".to_owned()),
        ("document", Value::Object(rest).to_string()),
    ]
}

impl TestApp {
    async fn page(&self, uri: &str, who: Option<&str>) -> Res {
        self.send(as_person(test::TestRequest::get().uri(uri), who))
            .await
    }

    async fn form(&self, uri: &str, who: Option<&str>, fields: &[(&str, &str)]) -> Res {
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

    /// `who` creates the Globetrotter loan (co-branded by `P`) through the form; its id.
    async fn create_through_form(&self, who: &str) -> String {
        let fields = draft_fields(&crate::fixtures::globetrotter_loan(P));
        let mut form: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let csrf = format!("csrf-{who}");
        form.push(("csrf_token", &csrf));
        let res = self.form("/console/propositions", Some(who), &form).await;
        assert_eq!(res.status, 303, "{}", res.text);
        let location = hdr(&res, "location");
        assert!(location.ends_with("?done=created"), "{location}");
        location
            .trim_start_matches("/console/propositions/")
            .trim_end_matches("?done=created")
            .to_owned()
    }
}

#[actix_web::test]
async fn without_a_session_or_the_scope_the_pages_and_forms_refuse_and_change_nothing() {
    let app = TestApp::new().await;
    let id = app.published_loan(P).await;
    let stream = format!("proposition-{id}");
    let before = app.events(&stream).await;
    let pages = [
        "/console/propositions".to_owned(),
        "/console/propositions/new".to_owned(),
        format!("/console/propositions/{id}"),
        format!("/console/propositions/{id}/diff"),
        "/console/attributes".to_owned(),
        "/console/personas".to_owned(),
        "/console/personas/globetrotter".to_owned(),
        "/console/contact-policies".to_owned(),
        "/console/offer-funnel".to_owned(),
    ];
    let forms = [
        "/console/propositions".to_owned(),
        format!("/console/propositions/{id}/versions"),
        format!("/console/propositions/{id}/versions/1/retire"),
        "/console/personas".to_owned(),
        "/console/personas/globetrotter/dry-run".to_owned(),
    ];
    for who in [None, Some("forged")] {
        for uri in &pages {
            let res = app.page(uri, who).await;
            assert_eq!(
                (res.status, hdr(&res, "location")),
                (303, "/console/login"),
                "{uri}"
            );
        }
        for uri in &forms {
            let res = app
                .form(uri, who, &[("csrf_token", "csrf-pat"), ("reason", "r")])
                .await;
            assert_eq!(
                (res.status, hdr(&res, "location")),
                (303, "/console/login"),
                "{uri}"
            );
        }
    }
    // A partnership manager (no `offers:manage`): a page in words.
    for uri in &pages {
        let res = app.page(uri, Some("ada")).await;
        assert_eq!(res.status, 403, "{uri}");
        is_page(&res);
        assert!(res.text.contains("for product managers"), "{}", res.text);
    }
    for uri in &forms {
        let res = app
            .form(
                uri,
                Some("ada"),
                &[("csrf_token", "csrf-ada"), ("reason", "r")],
            )
            .await;
        assert_eq!(res.status, 403, "{uri}");
    }
    let res = app.page("/console/propositions", Some("down")).await;
    assert_eq!(res.status, 503);
    assert!(res.text.contains("try again shortly"), "{}", res.text);
    // A form without the session's CSRF token: 403 in words, nothing changed.
    for csrf in ["", "csrf-sam"] {
        let res = app
            .form(
                &format!("/console/propositions/{id}/versions/1/retire"),
                Some("pat"),
                &[("csrf_token", csrf), ("reason", "not any more")],
            )
            .await;
        assert_eq!(res.status, 403);
        is_page(&res);
        assert!(res.text.contains("nothing was changed"), "{}", res.text);
    }
    let res = app
        .form(
            "/console/propositions",
            Some("pat"),
            &[("csrf_token", "wrong"), ("name", "x"), ("document", "{}")],
        )
        .await;
    assert_eq!(res.status, 403);
    assert_eq!(app.events(&stream).await, before);
    app.listed(1).await;
}

#[actix_web::test]
async fn the_pages_render_for_a_product_manager() {
    let app = TestApp::new().await;
    let id = app.published_loan(P).await;
    // The list is a read model: wait until it shows the publication.
    for _ in 0..200 {
        let res = app.page("/console/propositions", Some("pat")).await;
        if res.text.contains("Published (1)") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    for (uri, expected) in [
        (
            "/console/propositions".to_owned(),
            "Globetrotter personal loan",
        ),
        (
            "/console/propositions?status=published".to_owned(),
            "version 1",
        ),
        (
            "/console/propositions?status=submitted".to_owned(),
            "Nothing waits for approval",
        ),
        ("/console/propositions/new".to_owned(), "Create the draft"),
        (
            format!("/console/propositions/{id}"),
            "co-branding accepted",
        ),
        (format!("/console/propositions/{id}/diff"), "No difference"),
        ("/console/attributes".to_owned(), "monthly_income"),
        ("/console/personas".to_owned(), "globetrotter"),
        (
            "/console/personas/globetrotter".to_owned(),
            "Try it on a customer",
        ),
        ("/console/personas/new".to_owned(), "Define the persona"),
        ("/console/contact-policies".to_owned(), "read-only here"),
        ("/console/offer-funnel".to_owned(), "No offer yet"),
        (
            "/console/offer-funnel?by=partner".to_owned(),
            "No offer yet",
        ),
    ] {
        let res = app.page(&uri, Some("pat")).await;
        assert_eq!(res.status, 200, "{uri}: {}", res.text);
        is_page(&res);
        assert!(
            res.text.contains(expected),
            "{uri}: {expected}: {}",
            res.text
        );
        // The person's name is escaped.
        assert!(res.text.contains("Pat &#60;Product&#62;"), "{uri}");
    }
    // The proposition's page names who did what (the API's staff clients here) and the
    // partner's acceptance.
    let page = app
        .page(&format!("/console/propositions/{id}"), Some("pat"))
        .await;
    assert!(page.text.contains("badge published"), "{}", page.text);
    assert!(page.text.contains(&format!("partner {P}")), "{}", page.text);
    assert!(page.text.contains("Retire version 1"), "{}", page.text);
    // Bad filters and ids: 400 / 404 pages in words.
    for (uri, status) in [
        ("/console/propositions?status=nope", 400),
        ("/console/propositions?after=nope", 400),
        ("/console/propositions/nope", 400),
        (
            "/console/propositions/0190a000-0000-7000-8000-0000000000ff",
            404,
        ),
        ("/console/personas/nobody", 404),
        ("/console/offer-funnel?by=colour", 400),
        ("/console/offer-funnel?from=yesterday", 400),
        ("/console/offer-funnel?channel=fax", 400),
    ] {
        let res = app.page(uri, Some("pat")).await;
        assert_eq!(res.status, status, "{uri}: {}", res.text);
        is_page(&res);
        assert!(res.text.contains("role=\"alert\""), "{uri}");
    }
}

#[actix_web::test]
async fn a_version_goes_from_draft_to_published_through_the_forms_with_four_eyes() {
    let app = TestApp::new().await;
    app.catalogue().await;
    let id = app.create_through_form("pat").await;
    let base = format!("/console/propositions/{id}");
    let stream = format!("proposition-{id}");
    let page = app.page(&format!("{base}?done=created"), Some("pat")).await;
    assert!(
        page.text.contains("The proposition is created"),
        "{}",
        page.text
    );
    assert!(
        page.text.contains("you (Pat &#60;Product&#62;)"),
        "{}",
        page.text
    );
    let res = app
        .form(
            &format!("{base}/versions/1/submit"),
            Some("pat"),
            &[("csrf_token", "csrf-pat")],
        )
        .await;
    assert_eq!(
        (res.status, hdr(&res, "location")),
        (303, format!("{base}?done=submitted").as_str())
    );
    // Pat wrote it: approving it herself is refused in words, and nothing changes.
    let before = app.events(&stream).await;
    let res = app
        .form(
            &format!("{base}/versions/1/approve"),
            Some("pat"),
            &[("csrf_token", "csrf-pat")],
        )
        .await;
    assert_eq!(res.status, 409, "{}", res.text);
    is_page(&res);
    assert!(
        res.text
            .contains("the four-eyes rule needs the approver to be a different person"),
        "{}",
        res.text
    );
    assert!(res.text.contains("role=\"alert\""));
    assert_eq!(app.events(&stream).await, before);
    // Sam approves; publishing before the partner accepted is refused in words.
    let res = app
        .form(
            &format!("{base}/versions/1/approve"),
            Some("sam"),
            &[("csrf_token", "csrf-sam")],
        )
        .await;
    assert_eq!(res.status, 303, "{}", res.text);
    let page = app.page(&base, Some("sam")).await;
    assert!(page.text.contains("not accepted yet"), "{}", page.text);
    assert!(page.text.contains("Pat &#60;Product&#62;"), "{}", page.text);
    assert!(page.text.contains("you (Sam Second)"), "{}", page.text);
    let res = app
        .form(
            &format!("{base}/versions/1/publish"),
            Some("sam"),
            &[("csrf_token", "csrf-sam")],
        )
        .await;
    assert_eq!(res.status, 409, "{}", res.text);
    assert!(res.text.contains("role=\"alert\""));
    // The partner accepts through its API; Sam publishes.
    let r = app
        .send(crate::support::bearer(
            test::TestRequest::put()
                .uri(&format!("/partner/propositions/{id}/versions/1/acceptance")),
            &partner_token(P),
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let res = app
        .form(
            &format!("{base}/versions/1/publish"),
            Some("sam"),
            &[("csrf_token", "csrf-sam")],
        )
        .await;
    assert_eq!(
        (res.status, hdr(&res, "location")),
        (303, format!("{base}?done=published").as_str())
    );
    let page = app
        .page(&format!("{base}?done=published"), Some("pat"))
        .await;
    assert!(
        page.text.contains("The version is published"),
        "{}",
        page.text
    );
    assert!(page.text.contains("badge published"), "{}", page.text);
    let api = app.get(&format!("/offers/propositions/{id}"), PM1).await;
    assert_eq!(
        api.body["versions"][0]["status"], "published",
        "{}",
        api.body
    );
    assert_eq!(
        api.body["versions"][0]["approved_by"],
        format!("staff:{}", staff_id(2))
    );
    // The compliance officer's trail names the people who took each step.
    let trail = app.page("/console/compliance/offers", Some("carol")).await;
    assert_eq!(trail.status, 200, "{}", trail.text);
    for step in [
        "drafted by Pat &#60;Product&#62;",
        "submitted by Pat &#60;Product&#62;",
        "approved by Sam Second",
        "published by Sam Second",
    ] {
        assert!(trail.text.contains(step), "{step}: {}", trail.text);
    }
    // A retirement needs a reason, in words.
    let res = app
        .form(
            &format!("{base}/versions/1/retire"),
            Some("pat"),
            &[("csrf_token", "csrf-pat"), ("reason", " ")],
        )
        .await;
    assert_eq!(res.status, 400);
    assert!(res.text.contains("Please give a reason."), "{}", res.text);
}

#[actix_web::test]
async fn a_new_version_and_the_diff_and_refusals_in_place() {
    let app = TestApp::new().await;
    let id = app.published_loan(P).await;
    let base = format!("/console/propositions/{id}");
    let stream = format!("proposition-{id}");
    let before = app.events(&stream).await;
    let mut doc = crate::fixtures::globetrotter_loan(P);
    doc["pricing"]["default"]["rate_percent"] = 6.9.into();
    let fields = draft_fields(&doc);
    let mut form: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    form.push(("csrf_token", "csrf-pat"));
    // Bad JSON and a bad limit: refused next to the field, nothing written, what was typed kept.
    let mut bad = form.clone();
    bad.retain(|(k, _)| *k != "document");
    bad.push(("document", "{\"product\": <oops>}"));
    let res = app
        .form(&format!("{base}/versions"), Some("pat"), &bad)
        .await;
    assert_eq!(res.status, 400, "{}", res.text);
    assert!(res.text.contains("id=\"document-error\""), "{}", res.text);
    assert!(res.text.contains("not valid JSON"), "{}", res.text);
    assert!(res.text.contains("&#60;oops&#62;"), "{}", res.text);
    let mut bad = form.clone();
    bad.push(("period_days", "soon"));
    let res = app
        .form(&format!("{base}/versions"), Some("pat"), &bad)
        .await;
    assert_eq!(res.status, 400);
    assert!(
        res.text.contains("id=\"period_days-error\""),
        "{}",
        res.text
    );
    let mut bad = form.clone();
    bad.push(("period_days", "0"));
    let res = app
        .form(&format!("{base}/versions"), Some("pat"), &bad)
        .await;
    assert_eq!(res.status, 400, "{}", res.text);
    assert!(
        res.text.contains("id=\"period_days-error\""),
        "{}",
        res.text
    );
    assert_eq!(app.events(&stream).await, before);
    // Drafted with its own limit; the diff shows the changed price and the new limit.
    form.push(("period_days", "14"));
    let res = app
        .form(&format!("{base}/versions"), Some("pat"), &form)
        .await;
    assert_eq!(
        (res.status, hdr(&res, "location")),
        (303, format!("{base}?done=drafted").as_str()),
        "{}",
        res.text
    );
    let res = app
        .page(&format!("{base}/diff?from=1&to=2"), Some("pat"))
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert!(
        res.text.contains("/pricing/default/rate_percent"),
        "{}",
        res.text
    );
    assert!(
        res.text.contains("/contact_policy/period_days"),
        "{}",
        res.text
    );
    assert!(res.text.contains("6.9"), "{}", res.text);
    let res = app
        .page(&format!("{base}/diff?from=1&to=9"), Some("pat"))
        .await;
    assert_eq!(res.status, 400);
    // The open draft is revised through the same form.
    let page = app.page(&base, Some("pat")).await;
    assert!(
        page.text.contains("Revise draft version 2"),
        "{}",
        page.text
    );
}

#[actix_web::test]
async fn the_persona_editor_refuses_in_place_and_the_dry_run_explains() {
    let app = TestApp::new().await;
    app.catalogue().await;
    let before = app.events("personas-catalogue").await;
    let res = app
        .form(
            "/console/personas",
            Some("pat"),
            &[
                ("csrf_token", "csrf-pat"),
                ("name", "frequent_flyer"),
                ("title", "Frequent flyer"),
                ("description", "Flies often"),
                (
                    "condition",
                    "{\"==\": [{\"var\": \"is_globetroter\"}, true]}",
                ),
            ],
        )
        .await;
    assert_eq!(res.status, 400, "{}", res.text);
    assert!(res.text.contains("id=\"condition-error\""), "{}", res.text);
    assert!(res.text.contains("/condition/==/0/var"), "{}", res.text);
    assert!(res.text.contains("Frequent flyer"), "{}", res.text);
    assert_eq!(app.events("personas-catalogue").await, before);
    let res = app
        .form(
            "/console/personas",
            Some("pat"),
            &[
                ("csrf_token", "csrf-pat"),
                ("name", "frequent_flyer"),
                ("title", "Frequent flyer"),
                ("description", "Flies often"),
                (
                    "condition",
                    "{\"==\": [{\"var\": \"is_globetrotter\"}, true]}",
                ),
            ],
        )
        .await;
    assert_eq!(
        (res.status, hdr(&res, "location")),
        (303, "/console/personas/frequent_flyer?done=saved"),
        "{}",
        res.text
    );
    app.profile(
        "cust-1",
        "bank",
        serde_json::json!({"is_globetrotter": true, "monthly_income": 6000}),
    );
    let res = app
        .form(
            "/console/personas/frequent_flyer/dry-run",
            Some("pat"),
            &[("csrf_token", "csrf-pat"), ("customer_id", "cust-1")],
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert!(
        res.text.contains("</code> belongs to version"),
        "{}",
        res.text
    );
    assert!(res.text.contains("is_globetrotter = true"), "{}", res.text);
    let res = app
        .form(
            "/console/personas/frequent_flyer/dry-run",
            Some("pat"),
            &[("csrf_token", "csrf-pat"), ("customer_id", "")],
        )
        .await;
    assert_eq!(res.status, 400);
    assert!(res.text.contains("id=\"customer-error\""), "{}", res.text);
}

#[actix_web::test]
async fn the_funnel_page_draws_its_chart_and_tables_the_numbers() {
    let app = TestApp::new().await;
    let id = app.published_loan(P).await;
    for (c, channel) in [
        ("cust-1", "bank_app"),
        ("cust-2", "bank_app"),
        ("cust-3", "web"),
    ] {
        app.profile(
            c,
            "bank",
            serde_json::json!({"is_globetrotter": true, "monthly_income": 6000, "age": 35, "risk_class": "low"}),
        );
        let r = app
            .post(
                "/offers/decisions",
                crate::support::CHANNEL,
                serde_json::json!({"customer_id": c, "channel": channel,
                    "placement": "home_banner", "params": {"amount": 15000}}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    let mut page = app.page("/console/offer-funnel", Some("pat")).await;
    for _ in 0..200 {
        if page.text.contains("<td class=\"num\">3</td>") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        page = app.page("/console/offer-funnel", Some("pat")).await;
    }
    assert_eq!(page.status, 200, "{}", page.text);
    is_page(&page);
    for expected in [
        "role=\"img\"",
        "<title id=\"chart-title\">Offer funnel by proposition</title>",
        "<desc id=\"chart-desc\">",
        "Globetrotter personal loan</text>",
        &format!("href=\"/console/propositions/{id}\""),
        "<td class=\"num\">3</td>",
        "0.0 %",
    ] {
        assert!(page.text.contains(expected), "{expected}: {}", page.text);
    }
    let by_channel = app
        .page("/console/offer-funnel?by=channel&channel=web", Some("pat"))
        .await;
    assert!(
        by_channel.text.contains("website</text>"),
        "{}",
        by_channel.text
    );
    assert!(
        !by_channel.text.contains("bank app</text>"),
        "{}",
        by_channel.text
    );
    let by_partner = app
        .page("/console/offer-funnel?by=partner", Some("pat"))
        .await;
    assert!(
        by_partner.text.contains(&format!("partner {P}")),
        "{}",
        by_partner.text
    );
    let by_persona = app
        .page("/console/offer-funnel?by=persona", Some("pat"))
        .await;
    assert!(
        by_persona.text.contains("globetrotter"),
        "{}",
        by_persona.text
    );
    let later = app
        .page(
            "/console/offer-funnel?from=2099-01-01&to=2099-01-02",
            Some("pat"),
        )
        .await;
    assert!(
        later.text.contains("No offer matches these filters"),
        "{}",
        later.text
    );
}
