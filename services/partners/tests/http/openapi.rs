//! The OpenAPI document describes every route, its bodies, problems and security.

use serde_json::Value;
use utoipa::OpenApi;

#[test]
fn every_route_is_documented_with_its_security() {
    let doc: Value = serde_json::to_value(ecohub_partners::PartnersApi::openapi()).unwrap();
    let paths = &doc["paths"];
    let routes = [
        ("/partners/applications", "post", None),
        (
            "/partners/applications/{partner_id}",
            "get",
            Some("partner:read"),
        ),
        (
            "/partners/applications/{partner_id}/software-statement",
            "get",
            Some("partner:read"),
        ),
        (
            "/partners/{partner_id}/webhooks",
            "post",
            Some("webhooks:manage"),
        ),
        (
            "/partners/{partner_id}/webhooks",
            "get",
            Some("webhooks:manage"),
        ),
        (
            "/partners/{partner_id}/webhooks/{webhook_id}",
            "delete",
            Some("webhooks:manage"),
        ),
        ("/admin/partners", "get", Some("admin")),
        ("/admin/partners/{partner_id}", "get", Some("admin")),
        (
            "/admin/partners/{partner_id}/verifications",
            "post",
            Some("admin"),
        ),
        (
            "/admin/partners/{partner_id}/approve",
            "post",
            Some("admin"),
        ),
        ("/admin/partners/{partner_id}/reject", "post", Some("admin")),
        (
            "/admin/partners/{partner_id}/suspend",
            "post",
            Some("admin"),
        ),
        (
            "/admin/partners/{partner_id}/reinstate",
            "post",
            Some("admin"),
        ),
        (
            "/admin/partners/{partner_id}/offboard",
            "post",
            Some("admin"),
        ),
    ];
    let mut documented = 0;
    for (path, item) in paths.as_object().unwrap() {
        documented += item.as_object().unwrap().len();
        let _ = path;
    }
    assert_eq!(documented, routes.len(), "{:#}", paths);
    for (path, method, scope) in routes {
        let op = &paths[path][method];
        assert!(op.is_object(), "{method} {path} is not documented");
        let security = &op["security"];
        match scope {
            Some(scope) => {
                assert_eq!(security[0]["bearer"][0], scope, "{method} {path}");
                assert_eq!(
                    op["responses"]["401"]["content"]["application/problem+json"]["schema"]["$ref"],
                    "#/components/schemas/Problem",
                    "{method} {path}"
                );
                assert!(op["responses"]["403"].is_object(), "{method} {path}");
            }
            None => assert!(
                security.as_array().is_none_or(|s| s
                    .iter()
                    .all(|r| r.as_object().is_some_and(|o| o.is_empty()))),
                "{method} {path} is public: {security}"
            ),
        }
        assert!(op["responses"]["400"].is_object(), "{method} {path}");
        if method == "post" {
            assert!(op["requestBody"].is_object(), "{method} {path}");
            assert!(op["responses"]["415"].is_object(), "{method} {path}");
        }
    }
    let scheme = &doc["components"]["securitySchemes"]["bearer"];
    assert_eq!(scheme["type"], "http");
    assert_eq!(scheme["scheme"], "bearer");
    assert_eq!(scheme["bearerFormat"], "JWT");
    for schema in [
        "Problem",
        "ApplyRequest",
        "ApplicationView",
        "PartnerRecord",
        "PartnerSummary",
    ] {
        assert!(doc["components"]["schemas"][schema].is_object(), "{schema}");
    }
}
