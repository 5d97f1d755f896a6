//! The OpenAPI document lists every route (the dashboard pages too) with its security.

use ecohub_consents::ConsentsApi;
use utoipa::OpenApi;

#[test]
fn the_document_lists_every_route_and_scheme() {
    let doc = serde_json::to_value(ConsentsApi::openapi()).unwrap();
    let paths = doc["paths"].as_object().unwrap();
    let mut listed: Vec<(String, String)> = paths
        .iter()
        .flat_map(|(p, ops)| {
            ops.as_object()
                .unwrap()
                .keys()
                .map(move |m| (m.clone(), p.clone()))
        })
        .collect();
    listed.sort();
    let expected = [
        ("delete", "/consents/{consent_id}"),
        ("delete", "/customer/consents/{consent_id}"),
        ("get", "/audit/consents"),
        ("get", "/audit/consents/export"),
        ("get", "/audit/consents/{consent_id}/history"),
        ("get", "/consents/{consent_id}"),
        ("get", "/customer/consents"),
        ("get", "/customer/consents/{consent_id}/receipt"),
        ("get", "/customer/data-providers"),
        ("get", "/dashboard"),
        ("post", "/consents"),
        ("post", "/customer/bank-consents"),
        ("post", "/dashboard/bank-consents"),
        ("post", "/dashboard/consents/{consent_id}/revoke"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(listed, expected);
    assert_eq!(
        doc["paths"]["/consents"]["post"]["security"][0]["bearer"][0],
        "consents:write"
    );
    assert_eq!(
        doc["paths"]["/audit/consents"]["get"]["security"][0]["bearer"][0],
        "audit"
    );
    let schemes = doc["components"]["securitySchemes"].as_object().unwrap();
    assert!(schemes.contains_key("bearer"));
    assert!(schemes.contains_key("customer_session"));
    assert!(doc["components"]["schemas"]["CreateConsentRequest"].is_object());
}
