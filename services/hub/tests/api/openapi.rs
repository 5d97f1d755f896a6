use std::path::PathBuf;

use crate::app::spawn_app;
use serde_json::Value;

fn committed_spec_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../openapi/ecohub.json")
}

/// The committed spec must match the code. `UPDATE_OPENAPI=1 cargo test -p ecohub` rewrites it.
#[test]
fn committed_openapi_is_up_to_date() {
    let generated = ecohub::openapi::spec_json();
    let path = committed_spec_path();
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "openapi/ecohub.json is stale: run `UPDATE_OPENAPI=1 cargo test -p ecohub --test api openapi` and commit it"
    );
}

#[tokio::test]
async fn spec_and_offline_swagger_ui_are_served() {
    let app = spawn_app().await;
    let res = app
        .client
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let spec: Value = res.json().await.unwrap();
    assert_eq!(spec["openapi"], "3.1.0");
    assert!(spec["paths"]["/health/ready"]["get"].is_object());
    assert!(spec["components"]["schemas"]["Problem"].is_object());
    let committed: Value =
        serde_json::from_str(&std::fs::read_to_string(committed_spec_path()).unwrap()).unwrap();
    assert_eq!(spec, committed, "the served spec is the committed one");

    let res = app.client.get(app.url("/docs/")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
    // The UI's assets come from the binary, not from the internet.
    for asset in [
        "/docs/swagger-ui.css",
        "/docs/swagger-ui-bundle.js",
        "/docs/swagger-initializer.js",
    ] {
        let res = app.client.get(app.url(asset)).send().await.unwrap();
        assert_eq!(res.status(), 200, "{asset}");
        let body = res.text().await.unwrap();
        assert!(!body.is_empty(), "{asset}");
        if asset.ends_with("initializer.js") {
            assert!(
                body.contains("/openapi.json"),
                "the UI loads our spec: {body}"
            );
        }
    }
    // `/docs` leads to the UI.
    let no_redirect = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = no_redirect.get(app.url("/docs")).send().await.unwrap();
    assert_eq!(res.status(), 308);
    assert_eq!(res.headers()["location"], "/docs/");
    app.stop().await;
}
