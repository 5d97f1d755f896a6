//! Bad input on every write endpoint: answered with problem+json 4xx, nothing written.

use actix_web::test::TestRequest;
use serde_json::{Value, json};

use crate::support::*;

/// Every write endpoint for partner `id`, with a token allowed to call it, a valid body
/// shape, and a body of invalid values with the pointers it must be refused for.
fn write_endpoints(id: &str) -> Vec<(String, Option<String>, Value, Vec<&'static str>)> {
    let partner = Some(partner_token(id));
    let staff = Some(STAFF_B.to_owned());
    let mut endpoints = vec![
        (
            "/partners/applications".to_owned(),
            None,
            json!({
                "legal_name": " ",
                "registration_number": "HRB_1",
                "country": "de",
                "website": "http://travelco.example",
                "contacts": [{"name": "", "email": "nope", "role": "boss"}],
                "requested_roles": ["banker"],
            }),
            vec![
                "/legal_name",
                "/registration_number",
                "/country",
                "/website",
                "/contacts/0/name",
                "/contacts/0/email",
                "/contacts/0/role",
                "/requested_roles/0",
            ],
        ),
        (
            format!("/admin/partners/{id}/verifications"),
            staff.clone(),
            json!({"check": "Registry Check", "result": "maybe", "evidence": ""}),
            vec!["/check", "/result", "/evidence"],
        ),
        (
            format!("/admin/partners/{id}/approve"),
            staff.clone(),
            json!({
                "roles": [],
                "redirect_uris": ["ftp://travelco.example/cb", "https://travelco.example/cb#x"],
                "note": ""
            }),
            vec!["/roles", "/redirect_uris/0", "/redirect_uris/1", "/note"],
        ),
        (
            format!("/partners/{id}/webhooks"),
            partner,
            json!({"url": "not a url", "event_types": ["bad type!"]}),
            vec!["/url", "/event_types/0"],
        ),
    ];
    for verb in ["reject", "suspend", "reinstate", "offboard"] {
        endpoints.push((
            format!("/admin/partners/{id}/{verb}"),
            staff.clone(),
            json!({"reason": "   "}),
            vec!["/reason"],
        ));
    }
    endpoints
}

#[actix_web::test]
async fn every_write_endpoint_refuses_bad_input_and_writes_nothing() {
    let t = TestApp::new().await;
    let id = t.approved_partner("TravelCo GmbH").await;
    let before = t.head().await;
    let oversized = json!({ "reason": "x".repeat(300 * 1024) }).to_string();
    for (uri, token, invalid, pointers) in write_endpoints(&id) {
        let token = token.as_deref();
        let post = || with_token(TestRequest::post().uri(&uri), token);

        let res = t
            .send(
                post()
                    .insert_header(("content-type", "application/json"))
                    .set_payload("{\"reason\": "),
            )
            .await;
        res.problem(400, "invalid_json");

        let res = t
            .send(
                post()
                    .insert_header(("content-type", "application/json"))
                    .set_payload("{not json"),
            )
            .await;
        res.problem(400, "invalid_json");

        let res = t
            .send(
                post()
                    .insert_header(("content-type", "text/plain"))
                    .set_payload(invalid.to_string()),
            )
            .await;
        res.problem(415, "unsupported_media_type");

        let res = t
            .send(
                post()
                    .insert_header(("content-type", "application/json"))
                    .set_payload(oversized.clone()),
            )
            .await;
        res.problem(413, "payload_too_large");

        let res = t.send(post().set_json(json!({}))).await;
        res.problem(400, "invalid_json");
        assert!(
            res.body["detail"]
                .as_str()
                .unwrap()
                .contains("missing field"),
            "{uri}: {:#}",
            res.body
        );

        let res = t.send(post().set_json(json!([1, 2]))).await;
        res.problem(400, "invalid_json");

        let mut unknown = invalid.clone();
        unknown["surprise"] = json!(true);
        let res = t.send(post().set_json(unknown)).await;
        res.problem(400, "invalid_json");

        let res = t.send(post().set_json(&invalid)).await;
        res.problem(400, "invalid_request");
        assert_eq!(res.fields(), pointers, "{uri}: {:#}", res.body);

        assert_eq!(t.head().await, before, "{uri} wrote something");
    }
}

#[actix_web::test]
async fn an_application_needs_contacts_and_roles() {
    let t = TestApp::new().await;
    let mut body = application("TravelCo GmbH", &[]);
    body["contacts"] = json!([]);
    let res = t.post("/partners/applications", None, body).await;
    res.problem(400, "invalid_request");
    assert_eq!(res.fields(), ["/contacts", "/requested_roles"]);
    let mut body = application("TravelCo GmbH", &["data_recipient"]);
    let contact = body["contacts"][0].clone();
    body["contacts"] = json!(vec![contact; 11]);
    let res = t.post("/partners/applications", None, body).await;
    res.problem(400, "invalid_request");
    assert_eq!(res.body["detail"], "contacts must list at most 10 contacts");
    assert_eq!(res.fields(), ["/contacts"]);
    assert_eq!(t.head().await, None, "nothing was ever written");
}

#[actix_web::test]
async fn malformed_paths_and_queries_are_problems() {
    let t = TestApp::new().await;
    let id = t.approved_partner("TravelCo GmbH").await;
    let before = t.head().await;
    let res = t
        .post(
            "/admin/partners/not-a-uuid/suspend",
            Some(STAFF_A),
            json!({"reason": "x"}),
        )
        .await;
    res.problem(400, "invalid_path");
    let res = t
        .get("/partners/applications/123", Some(&partner_token(&id)))
        .await;
    res.problem(400, "invalid_path");
    let res = t
        .delete(
            &format!("/partners/{id}/webhooks/nope"),
            Some(&partner_token(&id)),
        )
        .await;
    res.problem(400, "invalid_path");
    for (query, code) in [
        ("status=bogus", "invalid_query"),
        ("page_size=0", "invalid_query"),
        ("page_size=501", "invalid_query"),
        ("page_size=ten", "invalid_query"),
        ("sort=name", "invalid_query"),
        ("cursor=!!!", "invalid_cursor"),
    ] {
        let res = t
            .get(&format!("/admin/partners?{query}"), Some(STAFF_A))
            .await;
        res.problem(400, code);
    }
    let res = t
        .get(&format!("/admin/partners/{}", uuid_v4()), Some(STAFF_A))
        .await;
    res.problem(404, "not_found");
    let res = t.get("/partners/applications", None).await;
    res.problem(405, "method_not_allowed");
    assert_eq!(t.head().await, before);
}

fn uuid_v4() -> String {
    "9b2d7c1e-3f4a-4b5c-8d6e-7f8091a2b3c4".to_owned()
}
