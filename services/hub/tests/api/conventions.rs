use crate::app::spawn_app;
use serde_json::Value;

#[tokio::test]
async fn every_response_carries_an_interaction_id() {
    let app = spawn_app().await;
    let id = "6f1d0c2e-2b5e-4d7a-8c43-0a0b7c9f5e21";
    let res = app
        .client
        .get(app.url("/health/live"))
        .header("x-fapi-interaction-id", id)
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-fapi-interaction-id"], id);

    for path in ["/health/ready", "/openapi.json", "/nowhere", "/metrics"] {
        let res = app.client.get(app.url(path)).send().await.unwrap();
        let generated = res.headers()["x-fapi-interaction-id"].to_str().unwrap();
        assert!(uuid::Uuid::try_parse(generated).is_ok(), "{path}");
    }
    app.stop().await;
}

#[tokio::test]
async fn unknown_routes_and_methods_are_problems() {
    let app = spawn_app().await;
    let res = app
        .client
        .get(app.url("/v1/nothing-here"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "not_found");
    assert_eq!(body["status"], 404);

    let res = app
        .client
        .post(app.url("/health/live"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 405);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "method_not_allowed");

    let res = app
        .client
        .get(app.url("/health/live"))
        .header("x-fapi-interaction-id", "not-a-uuid")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "invalid_interaction_id");
    app.stop().await;
}
