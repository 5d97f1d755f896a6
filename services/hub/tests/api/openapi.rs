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

/// Every operation has its own `operationId` (OpenAPI 3.1 §4.8.10.1: unique among all
/// operations): generated clients name their functions after it (a clash broke the
/// TypeScript client once, when two handlers in different services were both named `login`).
#[test]
fn operation_ids_are_unique() {
    let spec: Value = serde_json::from_str(&ecohub::openapi::spec_json()).unwrap();
    let mut seen = std::collections::BTreeMap::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if let Some(id) = op["operationId"].as_str()
                && let Some(first) = seen.insert(id.to_owned(), format!("{method} {path}"))
            {
                panic!("operationId {id} is used by {first} and by {method} {path}");
            }
        }
    }
    assert!(seen.len() > 90, "{} operations", seen.len());
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

/// What the server enforces and answers, the document says (issue 11: generated clients and
/// Schemathesis rely on it). One table of cases: operation → statuses it must list.
#[test]
fn the_document_states_what_the_server_does() {
    let doc = serde_json::to_value(ecohub::openapi::spec()).unwrap();
    let op = |method: &str, path: &str| doc["paths"][path][method].clone();
    for (method, path, statuses) in [
        ("post", "/admin/clients", &["415"][..]),
        ("put", "/admin/datasets/{name}", &["415"]),
        (
            "post",
            "/dashboard/consents/{consent_id}/revoke",
            &["400", "415"],
        ),
        ("post", "/data/{dataset}/records", &["409", "413", "415"]),
        ("post", "/login", &["400"]),
        ("post", "/logout", &["400"]),
        ("get", "/audit/consents/{consent_id}/history", &["400"]),
        // Schemathesis (tests/fuzz/schemathesis.sh, customer session): a consent id that is
        // not a UUID gets 400 `invalid_path`.
        ("delete", "/customer/consents/{consent_id}", &["400"]),
        ("get", "/customer/consents/{consent_id}/receipt", &["400"]),
        // …and as the partner (consents:write): a body that is not JSON gets 415.
        ("post", "/consents", &["415"]),
        // …and as the partner's own client (webhooks:manage).
        ("post", "/event-subscriptions", &["413", "415"]),
        ("post", "/events", &["413", "415"]),
    ] {
        let responses = &op(method, path)["responses"];
        for status in statuses {
            assert!(
                responses.get(*status).is_some(),
                "{method} {path} does not list {status}"
            );
        }
    }
    // Page sizes: 1 to 500 everywhere, as `PageQuery::page_size` enforces.
    let mut page_sizes = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            for param in operation["parameters"].as_array().into_iter().flatten() {
                if param["name"] == "page_size" {
                    page_sizes += 1;
                    assert_eq!(param["schema"]["minimum"], 1, "{method} {path}");
                    assert_eq!(param["schema"]["maximum"], 500, "{method} {path}");
                }
                if param["name"] == "x-idempotency-key" {
                    let schema = &param["schema"];
                    assert_eq!(schema["minLength"], 1, "{method} {path}");
                    assert_eq!(schema["maxLength"], 40, "{method} {path}");
                    let pattern = schema["pattern"].as_str().unwrap();
                    assert_eq!(pattern, r"^[\x21-\x7E]{1,40}$", "{method} {path}");
                }
            }
        }
    }
    assert!(page_sizes >= 5, "{page_sizes}");
    let schemas = &doc["components"]["schemas"];
    let required = schemas["RegistrationRequest"]["required"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        required.contains(&"software_statement".into()),
        "{required:?}"
    );
    // Bodies whose structs refuse unknown fields say so.
    for name in [
        "ApplyRequest",
        "CreateConsentRequest",
        "CreateStaffClient",
        "DatasetDefinition",
        "PublishRequest",
        "SubscriptionRequest",
        "WebhookRequest",
    ] {
        assert_eq!(
            schemas[name]["additionalProperties"], false,
            "{name} refuses unknown fields"
        );
    }
    // No schema is an `allOf` copy of one whose members are inline objects:
    // openapi-python-client names such members after the original in both and drops both
    // as duplicates (it dropped the dataset catalogue's three operations that way).
    for (name, schema) in schemas.as_object().unwrap() {
        let Some([only]) = schema["allOf"].as_array().map(Vec::as_slice) else {
            continue;
        };
        let Some(target) = only["$ref"].as_str() else {
            continue;
        };
        let target = &schemas[target.trim_start_matches("#/components/schemas/")];
        for (member, member_schema) in target["properties"].as_object().into_iter().flatten() {
            assert!(
                member_schema["type"] != "object",
                "{name} copies {member}, an inline object, with allOf"
            );
        }
    }
}

/// No two services name different schemas alike: merging their documents would keep one and
/// point the other's operations at it (the offers' proposition history was answered with the
/// consents' `HistoryView` schema that way, found by Schemathesis).
#[test]
fn no_two_services_share_a_schema_name() {
    let mut seen: std::collections::BTreeMap<String, (String, Value)> = Default::default();
    let mut clashes = Vec::new();
    for service in ecohub::services::MOUNTED {
        let doc = serde_json::to_value((service.openapi)()).unwrap();
        for (name, schema) in doc["components"]["schemas"]
            .as_object()
            .into_iter()
            .flatten()
        {
            match seen.get(name) {
                Some((other, earlier)) if earlier != schema => {
                    clashes.push(format!("{other} and {} define {name}", service.name));
                }
                _ => {
                    seen.insert(name.clone(), (service.name.to_owned(), schema.clone()));
                }
            }
        }
    }
    assert!(clashes.is_empty(), "differently: {clashes:?}");
}
