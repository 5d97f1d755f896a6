use serde_json::json;

use crate::support::*;

#[actix_web::test]
async fn the_default_catalogue_is_served() {
    let app = TestApp::new().await;
    let res = app.get("/datasets", None).await;
    assert_eq!(res.status, 200);
    let names: Vec<&str> = res.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "accounts",
            "activity",
            "balances",
            "customer_profile",
            "transactions",
            "travel_profile"
        ]
    );
    let tx = app.get("/datasets/transactions", None).await;
    assert_eq!(tx.body["providers"], json!(["bank"]));
    assert_eq!(
        tx.body["fields"]["merchant_name"],
        json!(["ReadTransactionsDetail"])
    );
    app.get("/datasets/nope", None)
        .await
        .problem(404, "not_found");
}

fn loyalty() -> serde_json::Value {
    json!({
        "name": "loyalty",
        "description": "Loyalty points",
        "providers": [TRAVELCO],
        "schema": {"type": "object", "required": ["points"], "properties": {"points": {"type": "integer", "minimum": 0}}},
        "fields": {"points": ["ReadLoyalty"]}
    })
}

#[actix_web::test]
async fn admins_define_datasets_as_events_and_providers_can_publish_them() {
    let app = TestApp::new().await;
    let res = app
        .put("/admin/datasets/loyalty", Some(ADMIN_TOKEN), loyalty())
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    let events = app.events("dataset-loyalty").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event_type, "DatasetDefined");
    // The same definition again writes nothing.
    let head = app.head().await;
    let again = app
        .put("/admin/datasets/loyalty", Some(ADMIN_TOKEN), loyalty())
        .await;
    assert_eq!(again.status, 200);
    assert_eq!(app.head().await, head);
    // The projection applies the event too (a rebuild from the log knows the dataset).
    app.caught_up().await;
    app.projections[0].rebuild().await.unwrap();
    app.caught_up().await;
    assert_eq!(app.get("/datasets/loyalty", None).await.status, 200);
    let res = app
        .post(
            "/data/loyalty/records",
            Some(&provider_token(TRAVELCO)),
            json!({"customer_id": CUSTOMER_AT_TRAVELCO, "records": [{"id": "l1", "data": {"points": 12}}]}),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
}

#[actix_web::test]
async fn bad_definitions_are_refused_naming_the_field_and_nothing_is_written() {
    let app = TestApp::new().await;
    let head = app.head().await;
    let mut bad_schema = loyalty();
    bad_schema["schema"] = json!({"type": 12});
    app.put("/admin/datasets/loyalty", Some(ADMIN_TOKEN), bad_schema)
        .await
        .problem(400, "invalid_request");
    let mut no_providers = loyalty();
    no_providers["providers"] = json!([]);
    let res = app
        .put("/admin/datasets/loyalty", Some(ADMIN_TOKEN), no_providers)
        .await;
    res.problem(400, "invalid_request");
    assert_eq!(res.fields(), ["/providers"]);
    app.put("/admin/datasets/other", Some(ADMIN_TOKEN), loyalty())
        .await
        .problem(400, "invalid_request");
    app.put(
        "/admin/datasets/loyalty",
        Some(ADMIN_TOKEN),
        json!({"name": "loyalty"}),
    )
    .await
    .problem(400, "invalid_json");
    app.put(
        "/admin/datasets/loyalty",
        Some(&provider_token(TRAVELCO)),
        loyalty(),
    )
    .await
    .problem(403, "insufficient_scope");
    app.put("/admin/datasets/loyalty", None, loyalty())
        .await
        .problem(401, "unauthorized");
    assert_eq!(app.head().await, head);
}
