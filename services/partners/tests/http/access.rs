//! Who may call what: tokens, scopes, and partners confined to their own resources (BOLA).

use serde_json::json;

use crate::support::*;

/// A partner's own routes, as (method, path, body) for partner `id`.
fn partner_routes(id: &str) -> Vec<(&'static str, String, Option<serde_json::Value>)> {
    vec![
        ("GET", format!("/partners/applications/{id}"), None),
        (
            "GET",
            format!("/partners/applications/{id}/software-statement"),
            None,
        ),
        ("GET", format!("/partners/{id}/webhooks"), None),
        (
            "POST",
            format!("/partners/{id}/webhooks"),
            Some(json!({"url": "https://evil.example/hook"})),
        ),
        (
            "DELETE",
            format!("/partners/{id}/webhooks/01890a5d-ac96-774b-bcce-b302099a8001"),
            None,
        ),
    ]
}

fn admin_routes(id: &str) -> Vec<(&'static str, String, Option<serde_json::Value>)> {
    let reason = Some(json!({"reason": "because"}));
    vec![
        ("GET", "/admin/partners".to_owned(), None),
        ("GET", format!("/admin/partners/{id}"), None),
        (
            "POST",
            format!("/admin/partners/{id}/verifications"),
            Some(json!({"check": "registry_check", "result": "passed", "evidence": "x"})),
        ),
        (
            "POST",
            format!("/admin/partners/{id}/approve"),
            Some(json!({"redirect_uris": []})),
        ),
        (
            "POST",
            format!("/admin/partners/{id}/reject"),
            reason.clone(),
        ),
        (
            "POST",
            format!("/admin/partners/{id}/suspend"),
            reason.clone(),
        ),
        (
            "POST",
            format!("/admin/partners/{id}/reinstate"),
            reason.clone(),
        ),
        ("POST", format!("/admin/partners/{id}/offboard"), reason),
    ]
}

async fn call(
    t: &TestApp,
    (method, uri, body): &(&'static str, String, Option<serde_json::Value>),
    token: Option<&str>,
) -> Res {
    let req = match *method {
        "GET" => actix_web::test::TestRequest::get(),
        "POST" => actix_web::test::TestRequest::post(),
        "DELETE" => actix_web::test::TestRequest::delete(),
        other => panic!("{other}"),
    }
    .uri(uri);
    let req = match body {
        Some(b) => req.set_json(b),
        None => req,
    };
    t.send(with_token(req, token)).await
}

#[actix_web::test]
async fn another_partner_sees_nothing_of_this_one() {
    let t = TestApp::new().await;
    let victim = t.approved_partner("Victim AG").await;
    let attacker = t.approved_partner("Attacker Ltd").await;
    let hook = t
        .post(
            &format!("/partners/{victim}/webhooks"),
            Some(&partner_token(&victim)),
            json!({"url": "https://victim.example/hook"}),
        )
        .await;
    assert_eq!(hook.status, 201);
    let hook_id = hook.body["webhook_id"].as_str().unwrap();

    // A partner that does not exist at all: the answer the attacker must not be able to
    // tell apart from the victim's.
    let ghost = "01890a5d-ac96-774b-bcce-b302099a8057";
    let nonexistent = t
        .get(
            &format!("/partners/applications/{ghost}"),
            Some(&partner_token(&attacker)),
        )
        .await;
    nonexistent.problem(404, "not_found");

    let before = t.head().await;
    let mut routes = partner_routes(&victim);
    routes.push((
        "DELETE",
        format!("/partners/{victim}/webhooks/{hook_id}"),
        None,
    ));
    for route in &routes {
        let res = call(&t, route, Some(&partner_token(&attacker))).await;
        res.problem(404, "not_found");
        assert_eq!(res.body["detail"], nonexistent.body["detail"], "{route:?}");
        assert!(!res.body.to_string().contains("Victim"));
    }
    assert_eq!(t.head().await, before, "nothing written");
    let res = t
        .get(
            &format!("/partners/{victim}/webhooks"),
            Some(&partner_token(&victim)),
        )
        .await;
    assert_eq!(res.body["data"].as_array().unwrap().len(), 1);
}

#[actix_web::test]
async fn an_applicant_token_reads_only_its_own_application() {
    let t = TestApp::new().await;
    let (x, token_x) = t.apply("Applicant X").await;
    let (y, token_y) = t.apply("Applicant Y").await;
    let res = t
        .get(&format!("/partners/applications/{y}"), Some(&token_x))
        .await;
    res.problem(404, "not_found");
    let res = t
        .get(
            &format!("/partners/applications/{y}/software-statement"),
            Some(&token_x),
        )
        .await;
    res.problem(404, "not_found");
    let res = t
        .get(&format!("/partners/applications/{x}"), Some(&token_x))
        .await;
    assert_eq!(res.body["legal_name"], "Applicant X");
    let res = t
        .get(&format!("/partners/applications/{y}"), Some(&token_y))
        .await;
    assert_eq!(res.body["legal_name"], "Applicant Y");
    // An applicant token only reads: it cannot manage webhooks.
    let res = t
        .get(&format!("/partners/{x}/webhooks"), Some(&token_x))
        .await;
    res.problem(403, "insufficient_scope");
}

#[actix_web::test]
async fn protected_routes_need_a_token() {
    let t = TestApp::new().await;
    let id = t.approved_partner("TravelCo GmbH").await;
    let before = t.head().await;
    for route in partner_routes(&id).iter().chain(&admin_routes(&id)) {
        let res = call(&t, route, None).await;
        res.problem(401, "unauthorized");
        assert_eq!(
            res.header("www-authenticate"),
            Some("Bearer realm=\"ecohub\""),
            "{route:?}"
        );
        let res = call(&t, route, Some("forged")).await;
        res.problem(401, "invalid_token");
        assert!(
            res.header("www-authenticate")
                .unwrap()
                .contains("error=\"invalid_token\"")
        );
    }
    assert_eq!(t.head().await, before);
}

#[actix_web::test]
async fn partner_tokens_cannot_use_staff_routes() {
    let t = TestApp::new().await;
    let id = t.approved_partner("TravelCo GmbH").await;
    let before = t.head().await;
    for route in admin_routes(&id) {
        let res = call(&t, &route, Some(&partner_token(&id))).await;
        res.problem(403, "insufficient_scope");
        assert!(
            res.header("www-authenticate")
                .unwrap()
                .contains("error=\"insufficient_scope\", scope=\"admin\""),
            "{route:?}"
        );
        let res = call(&t, &route, Some(NO_SCOPE)).await;
        res.problem(403, "insufficient_scope");
    }
    for route in partner_routes(&id) {
        let res = call(&t, &route, Some(NO_SCOPE)).await;
        res.problem(403, "insufficient_scope");
    }
    assert_eq!(t.head().await, before);
}

#[actix_web::test]
async fn staff_are_not_partners() {
    // An admin token carries no partner id: the partner routes answer 403 for the missing
    // scope, and would answer 404 for the missing partner.
    let t = TestApp::new().await;
    let id = t.approved_partner("TravelCo GmbH").await;
    let res = t
        .get(&format!("/partners/applications/{id}"), Some(STAFF_A))
        .await;
    res.problem(403, "insufficient_scope");
}
