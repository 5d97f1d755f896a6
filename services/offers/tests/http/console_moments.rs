//! The product manager's financial moments pages (ADR 0024, ADR 0026): the moment types, the
//! trigger rules (filters and pages in the URL), the rule editor (refusals next to their
//! field, nothing written) and the dry run (matched and missed rules explained); a session,
//! the `offers:manage` scope and the form's CSRF token are needed.

use actix_web::test;
use serde_json::json;

use crate::support::{PM1, Res, TestApp};

const P: &str = "0190a000-0000-7000-8000-000000000001";
const RULES: &str = "triggerrules-catalogue";

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

/// An HTML page of the console, without script.
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

async fn page(app: &TestApp, uri: &str, who: Option<&str>) -> Res {
    app.send(as_person(test::TestRequest::get().uri(uri), who))
        .await
}

async fn form(app: &TestApp, uri: &str, who: Option<&str>, fields: &[(&str, &str)]) -> Res {
    let body = fields
        .iter()
        .map(|(k, v)| format!("{k}={}", ecohub_http::percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    app.send(as_person(
        test::TestRequest::post()
            .uri(uri)
            .insert_header(("content-type", "application/x-www-form-urlencoded"))
            .set_payload(body),
        who,
    ))
    .await
}

/// The Globetrotter loan published, and its id once the proposition list shows it.
async fn loan(app: &TestApp) -> String {
    let id = app.published_loan(P).await;
    app.listed(1).await;
    id
}

/// The editor's fields of a rule on `travel_booked` offering `id`.
fn rule_fields<'a>(
    name: &'a str,
    condition: &'a str,
    id: &'a str,
    csrf: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("csrf_token", csrf),
        ("name", name),
        ("moment_type", "travel_booked"),
        ("reason", "You booked a trip abroad"),
        ("condition", condition),
        ("propositions", id),
        ("validity_days", "14"),
        ("priority", "100"),
        ("active", "true"),
    ]
}

#[actix_web::test]
async fn without_a_session_the_scope_or_the_csrf_token_the_pages_refuse_and_change_nothing() {
    let app = TestApp::new().await;
    let id = loan(&app).await;
    let pages = [
        "/console/moments",
        "/console/trigger-rules",
        "/console/trigger-rules/new",
        "/console/trigger-rules/dry-run",
        "/console/trigger-rules/trip",
    ];
    let condition = r#"{">=": [{"var": "moment.amount"}, 500]}"#;
    let forms = ["/console/trigger-rules", "/console/trigger-rules/dry-run"];
    for who in [None, Some("forged")] {
        for uri in pages {
            let res = page(&app, uri, who).await;
            assert_eq!(
                (res.status, hdr(&res, "location")),
                (303, "/console/login"),
                "{uri}"
            );
        }
        for uri in forms {
            let res = form(
                &app,
                uri,
                who,
                &rule_fields("trip", condition, &id, "csrf-pat"),
            )
            .await;
            assert_eq!(
                (res.status, hdr(&res, "location")),
                (303, "/console/login"),
                "{uri}"
            );
        }
    }
    // A partnership manager and a compliance officer (no `offers:manage`): a page in words.
    for who in ["ada", "carol"] {
        for uri in pages {
            let res = page(&app, uri, Some(who)).await;
            assert_eq!(res.status, 403, "{uri}");
            is_page(&res);
            assert!(res.text.contains("for product managers"), "{}", res.text);
        }
        let csrf = format!("csrf-{who}");
        for uri in forms {
            let res = form(
                &app,
                uri,
                Some(who),
                &rule_fields("trip", condition, &id, &csrf),
            )
            .await;
            assert_eq!(res.status, 403, "{uri}");
        }
    }
    // The product manager's form without her session's CSRF token: 403 in words.
    for csrf in ["", "csrf-sam"] {
        let res = form(
            &app,
            "/console/trigger-rules",
            Some("pat"),
            &rule_fields("trip", condition, &id, csrf),
        )
        .await;
        assert_eq!(res.status, 403);
        is_page(&res);
        assert!(res.text.contains("nothing was changed"), "{}", res.text);
    }
    let res = page(&app, "/console/moments", Some("down")).await;
    assert_eq!(res.status, 503);
    assert_eq!(app.events(RULES).await, 0);
}

#[actix_web::test]
async fn the_moment_types_and_the_empty_rules_list_say_what_to_do_next() {
    let app = TestApp::new().await;
    let res = page(&app, "/console/moments", Some("pat")).await;
    assert_eq!(res.status, 200, "{}", res.text);
    is_page(&res);
    for expected in [
        "<code>travel_booked</code>",
        "<code>moment.departure_date</code> date",
        "any data provider",
        "badge nowrap default",
        "from the default file",
        "Write the first trigger rule",
        "href=\"/console/trigger-rules/new?moment_type=salary_received\"",
        "Pat &#60;Product&#62;",
    ] {
        assert!(res.text.contains(expected), "{expected}: {}", res.text);
    }
    // Staff change a default type: the page says so, and who.
    let r = app
        .put(
            "/offers/moment-types/gym_joined",
            PM1,
            json!({"description": "Joined a gym", "providers": ["data_provider"],
                   "schema": {"type": "object", "properties": {"plan": {"type": "string"}}}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let res = page(&app, "/console/moments", Some("pat")).await;
    assert!(
        res.text.contains("badge nowrap changed\">changed default"),
        "{}",
        res.text
    );
    assert!(res.text.contains("revision 1, by staff client pm-1"));
    let res = page(&app, "/console/trigger-rules", Some("pat")).await;
    assert_eq!(res.status, 200);
    is_page(&res);
    assert!(res.text.contains("No trigger rule yet"), "{}", res.text);
    let res = page(&app, "/console/trigger-rules/dry-run", Some("pat")).await;
    assert_eq!(res.status, 200);
    assert!(res.text.contains("Choose a moment type"), "{}", res.text);
    let res = page(
        &app,
        "/console/trigger-rules/dry-run?moment_type=travel_booked",
        Some("pat"),
    )
    .await;
    assert!(
        res.text
            .contains("<option value=\"travel_booked\" selected>"),
        "{}",
        res.text
    );
    // Bad filters and names: pages in words.
    for (uri, status) in [
        ("/console/trigger-rules?status=sleeping", 400),
        ("/console/trigger-rules?moment_type=lottery_won", 400),
        ("/console/trigger-rules?after=Not%20a%20name", 400),
        ("/console/trigger-rules/nobody", 404),
    ] {
        let res = page(&app, uri, Some("pat")).await;
        assert_eq!(res.status, status, "{uri}: {}", res.text);
        is_page(&res);
        assert!(res.text.contains("role=\"alert\""), "{uri}");
    }
}

#[actix_web::test]
async fn the_rule_editor_refuses_in_place_and_saves_revisions() {
    let app = TestApp::new().await;
    let id = loan(&app).await;
    let res = page(
        &app,
        "/console/trigger-rules/new?moment_type=travel_booked",
        Some("pat"),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text);
    is_page(&res);
    for expected in [
        "Write the rule",
        "<option value=\"travel_booked\" selected>",
        "Globetrotter personal loan",
        "<code>personas.globetrotter</code>",
        "<code>monthly_income</code> number",
        "<details open><summary><code>travel_booked</code>",
    ] {
        assert!(res.text.contains(expected), "{expected}: {}", res.text);
    }
    // Refusals are shown next to their field, with what was typed; nothing is written.
    let unknown = r#"{">=": [{"var": "moment.price"}, 500]}"#;
    let good =
        r#"{"and": [{">=": [{"var": "moment.amount"}, 500]}, {"var": "personas.globetrotter"}]}"#;
    for (fields, at, words) in [
        (
            rule_fields("trip", unknown, &id, "csrf-pat"),
            "condition",
            "the field /condition/&#62;=/0/var",
        ),
        (
            rule_fields("trip", "{not json", &id, "csrf-pat"),
            "condition",
            "not valid JSON",
        ),
        (
            rule_fields("Trip!", good, &id, "csrf-pat"),
            "name",
            "Please check the name",
        ),
        (
            rule_fields("trip", good, P, "csrf-pat"),
            "propositions",
            "no such proposition",
        ),
        (
            {
                let mut f = rule_fields("trip", good, &id, "csrf-pat");
                f.retain(|(k, _)| *k != "propositions");
                f
            },
            "propositions",
            "must name 1 to 20 propositions",
        ),
        (
            {
                let mut f = rule_fields("trip", good, &id, "csrf-pat");
                f.retain(|(k, _)| *k != "validity_days");
                f.push(("validity_days", "two weeks"));
                f
            },
            "validity_days",
            "as a whole number",
        ),
        (
            {
                let mut f = rule_fields("trip", good, &id, "csrf-pat");
                f.retain(|(k, _)| *k != "priority");
                f.push(("priority", "5000"));
                f
            },
            "priority",
            "must be 1 to 1000",
        ),
        (
            {
                let mut f = rule_fields("trip", good, &id, "csrf-pat");
                f.retain(|(k, _)| *k != "moment_type");
                f.push(("moment_type", "lottery_won"));
                f
            },
            "moment_type",
            "is not in the catalogue",
        ),
    ] {
        let res = form(&app, "/console/trigger-rules", Some("pat"), &fields).await;
        assert_eq!(res.status, 400, "{at}: {}", res.text);
        is_page(&res);
        let error = format!("<p class=\"error\" role=\"alert\" id=\"{at}-error\">");
        let start = res
            .text
            .find(&error)
            .unwrap_or_else(|| panic!("{at}: {}", res.text));
        let shown = &res.text[start..start + res.text[start..].find("</p>").unwrap()];
        assert!(shown.contains(words), "{at}: {words}: {shown}");
        assert!(res.text.contains("aria-invalid=\"true\""), "{at}");
        assert!(res.text.contains("You booked a trip abroad"), "typed kept");
    }
    assert_eq!(app.events(RULES).await, 0, "nothing written");
    // Written, then changed: the page says by whom and which revision.
    let res = form(
        &app,
        "/console/trigger-rules",
        Some("pat"),
        &rule_fields("trip", good, &id, "csrf-pat"),
    )
    .await;
    assert_eq!(
        (res.status, hdr(&res, "location")),
        (303, "/console/trigger-rules/trip?done=saved"),
        "{}",
        res.text
    );
    let res = page(&app, "/console/trigger-rules/trip?done=saved", Some("pat")).await;
    assert_eq!(res.status, 200, "{}", res.text);
    for expected in [
        "The trigger rule is saved",
        "1, by you (Pat &#60;Product&#62;)",
        "badge active",
        "Save the rule",
        "value=\"true\" checked",
    ] {
        assert!(res.text.contains(expected), "{expected}: {}", res.text);
    }
    let mut paused = rule_fields("trip", good, &id, "csrf-sam");
    paused.retain(|(k, _)| *k != "active");
    paused.push(("active", "false"));
    let res = form(&app, "/console/trigger-rules", Some("sam"), &paused).await;
    assert_eq!(res.status, 303, "{}", res.text);
    let res = page(&app, "/console/trigger-rules/trip", Some("pat")).await;
    assert!(res.text.contains("2, by Sam Second"), "{}", res.text);
    assert!(res.text.contains("badge paused"), "{}", res.text);
    // The list: the rule with its propositions by name, filtered in the URL.
    let res = page(&app, "/console/trigger-rules", Some("pat")).await;
    for expected in [
        "href=\"/console/trigger-rules/trip\"",
        "Globetrotter personal loan",
        "14 days",
        "badge paused",
        "revision 2",
        "Sam Second",
    ] {
        assert!(res.text.contains(expected), "{expected}: {}", res.text);
    }
    let res = page(&app, "/console/trigger-rules?status=active", Some("pat")).await;
    assert!(
        res.text.contains("No rule matches these filters"),
        "{}",
        res.text
    );
    let res = page(
        &app,
        "/console/trigger-rules?status=paused&moment_type=travel_booked",
        Some("pat"),
    )
    .await;
    assert!(res.text.contains("Paused trigger rules of travel booked"));
    assert!(res.text.contains("href=\"/console/trigger-rules/trip\""));
}

#[actix_web::test]
async fn the_rules_list_pages_through_in_the_url() {
    let app = TestApp::new().await;
    let id = loan(&app).await;
    for i in 0..21 {
        let r = app
            .put(
                &format!("/offers/trigger-rules/rule_{i:02}"),
                PM1,
                json!({"reason": "r", "moment_type": "salary_received",
                       "condition": {">": [{"var": "moment.amount"}, i]},
                       "propositions": [id], "validity_days": 7, "priority": 1}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    let first = page(&app, "/console/trigger-rules", Some("pat")).await;
    assert!(first.text.contains("rule_19"));
    assert!(!first.text.contains("rule_20"));
    assert!(
        first
            .text
            .contains("href=\"/console/trigger-rules?after=rule_19\""),
        "{}",
        first.text
    );
    let second = page(&app, "/console/trigger-rules?after=rule_19", Some("pat")).await;
    assert!(second.text.contains("rule_20"));
    assert!(!second.text.contains("rule_19\""));
    assert!(second.text.contains("First page"));
}

#[actix_web::test]
async fn the_dry_run_shows_matched_and_missed_rules_with_the_values_read() {
    let app = TestApp::new().await;
    let id = loan(&app).await;
    app.profile("cust-1", "bank", json!({"is_globetrotter": true}));
    for (name, condition, active) in [
        (
            "big_trip",
            json!({"and": [{">=": [{"var": "moment.amount"}, 1000]}, {"var": "personas.globetrotter"}]}),
            true,
        ),
        (
            "group_trip",
            json!({">=": [{"var": "moment.travellers"}, 3]}),
            true,
        ),
        (
            "paused_trip",
            json!({">": [{"var": "moment.amount"}, 0]}),
            false,
        ),
    ] {
        let r = app
            .put(
                &format!("/offers/trigger-rules/{name}"),
                PM1,
                json!({"reason": "You booked a trip abroad", "moment_type": "travel_booked",
                       "condition": condition, "propositions": [id], "validity_days": 14,
                       "priority": 100, "active": active}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    let payload = r#"{"destination": "Lisbon", "departure_date": "2027-07-01", "amount": 1200, "currency": "EUR"}"#;
    let run = |payload: &'static str, customer: &'static str, csrf: &'static str| {
        vec![
            ("csrf_token", csrf),
            ("moment_type", "travel_booked"),
            ("payload", payload),
            ("customer_id", customer),
        ]
    };
    let res = form(
        &app,
        "/console/trigger-rules/dry-run",
        Some("pat"),
        &run(payload, "cust-1", "csrf-pat"),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text);
    is_page(&res);
    for expected in [
        "1 rule matches",
        "1 paused rule was not tried",
        "<span class=\"badge held\">matches</span> <a href=\"/console/trigger-rules/big_trip\">",
        "Offers Globetrotter personal loan for 14 days, priority 100",
        "moment.amount = 1200",
        "personas.globetrotter = true",
        "<span class=\"badge not-held\">does not match</span> <a href=\"/console/trigger-rules/group_trip\">",
        "moment.travellers: no value",
        "Lisbon",
    ] {
        assert!(res.text.contains(expected), "{expected}: {}", res.text);
    }
    // Errors in place: the payload (JSON, then the schema) and the customer id.
    for (payload, customer, at, words) in [
        ("{oops", "cust-1", "payload", "not valid JSON"),
        (
            r#"{"destination": "Lisbon", "departure_date": "2027-07-01", "amount": "lots", "currency": "EUR"}"#,
            "cust-1",
            "payload",
            "the field /payload/amount",
        ),
        (payload, "", "customer_id", "Please check the customer id"),
    ] {
        let res = form(
            &app,
            "/console/trigger-rules/dry-run",
            Some("pat"),
            &run(payload, customer, "csrf-pat"),
        )
        .await;
        assert_eq!(res.status, 400, "{at}: {}", res.text);
        let error = format!("id=\"{at}-error\">");
        let start = res
            .text
            .find(&error)
            .unwrap_or_else(|| panic!("{at}: {}", res.text));
        let shown = &res.text[start..start + res.text[start..].find("</p>").unwrap()];
        assert!(shown.contains(words), "{at}: {words}: {shown}");
    }
    let res = form(
        &app,
        "/console/trigger-rules/dry-run",
        Some("pat"),
        &run(payload, "cust-1", "csrf-sam"),
    )
    .await;
    assert_eq!(res.status, 403);
    assert_eq!(app.events(RULES).await, 3, "nothing recorded");
}
