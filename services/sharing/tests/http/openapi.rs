use utoipa::OpenApi;

#[test]
fn every_route_is_documented_with_its_scope() {
    let doc = serde_json::to_value(ecohub_sharing::SharingApi::openapi()).unwrap();
    let paths = doc["paths"].as_object().unwrap();
    for (path, method, scope) in [
        ("/datasets", "get", None),
        ("/datasets/{name}", "get", None),
        ("/admin/datasets/{name}", "put", Some("admin")),
        ("/data/{dataset}/records", "post", Some("data:publish")),
        ("/data/{dataset}", "get", Some("data:read")),
        ("/audit/data-access", "get", Some("audit")),
        ("/audit/data-access/export", "get", Some("audit")),
    ] {
        let op = &paths[path][method];
        assert!(op.is_object(), "{method} {path} is documented");
        if let Some(scope) = scope {
            assert_eq!(op["security"][0]["bearer"][0], scope, "{method} {path}");
        }
    }
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
}

/// A subscription names its notification types from the one list the domain accepts.
#[test]
fn the_notification_types_are_an_enum_of_every_type() {
    let doc = serde_json::to_value(ecohub_sharing::SharingApi::openapi()).unwrap();
    let items =
        &doc["components"]["schemas"]["SubscriptionRequest"]["properties"]["event_types"]["items"];
    assert_eq!(
        items["enum"],
        serde_json::json!(ecohub_sharing::domain::notifications::NOTIFICATION_TYPES),
        "{items}"
    );
    assert!(
        items["enum"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("offer-available"))
    );
}
