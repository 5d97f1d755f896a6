//! Staff clients: the bootstrap administrator and `/admin/clients`.

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;

use serde_json::{Value, json};

use super::{HUB, Hub, basic, t0};

#[actix_web::test]
async fn the_bootstrap_admin_gets_an_admin_token_and_creates_staff_clients() {
    let hub = Hub::new();
    let (client_id, secret) = ecohub_auth::bootstrap_admin(hub.store.as_ref(), t0())
        .await
        .unwrap();
    assert!(secret.len() >= 43);
    let admin = basic(&client_id.to_string(), &secret);
    let reply = hub.token("grant_type=client_credentials", &[admin]).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["scope"], "admin audit");
    let admin_token = reply.body["access_token"].as_str().unwrap().to_owned();

    let create = |token: &str, body: Value| {
        TestRequest::post()
            .uri("/admin/clients")
            .insert_header(("authorization", format!("Bearer {token}")))
            .set_json(body)
    };
    let reply = hub
        .send(create(
            &admin_token,
            json!({"description": "compliance officer", "scope": "audit"}),
        ))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    assert_eq!(reply.header("cache-control"), "no-store");
    let auditor = basic(
        reply.body["client_id"].as_str().unwrap(),
        reply.body["client_secret"].as_str().unwrap(),
    );
    let reply = hub.token("grant_type=client_credentials", &[auditor]).await;
    assert_eq!(reply.body["scope"], "audit");
    let audit_token = reply.body["access_token"].as_str().unwrap().to_owned();

    // Partner scopes are not staff scopes.
    hub.send(create(
        &admin_token,
        json!({"description": "x", "scope": "partner:read"}),
    ))
    .await
    .assert_problem(400, "invalid_request");
    // Without a token, or with a token lacking `admin`: refused.
    hub.send(
        TestRequest::post()
            .uri("/admin/clients")
            .set_json(json!({"description": "x", "scope": "admin"})),
    )
    .await
    .assert_problem(401, "unauthorized");
    hub.send(create(
        &audit_token,
        json!({"description": "x", "scope": "admin"}),
    ))
    .await
    .assert_problem(403, "insufficient_scope");
    // A partner's token neither.
    let partner = hub.basic_client().await;
    let partner_token = hub
        .token("grant_type=client_credentials", &[partner.authorization()])
        .await
        .body["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    hub.send(create(
        &partner_token,
        json!({"description": "x", "scope": "admin"}),
    ))
    .await
    .assert_problem(403, "insufficient_scope");
}

#[test]
fn keys_rotate_and_list_for_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let settings = ecohub_auth::AuthSettings::new(HUB);
    let first = ecohub_auth::list_keys(dir.path(), t0()).unwrap();
    assert_eq!(first.len(), 1);
    let rotated = ecohub_auth::rotate_keys(
        dir.path(),
        ecohub_jose::SigningAlgorithm::EdDsa,
        t0(),
        &settings,
    )
    .unwrap();
    assert_eq!(rotated.alg, ecohub_jose::SigningAlgorithm::EdDsa);
    assert_eq!(rotated.state, ecohub_jose::KeyState::Pending);
    let keys = ecohub_auth::list_keys(dir.path(), t0()).unwrap();
    assert_eq!(keys.len(), 2);
    // The old key verifies until every token it signed (30-day applicant tokens included) expired.
    let old = &keys[0];
    assert_eq!(old.state, ecohub_jose::KeyState::Active);
    let retires = old.retires_at.unwrap();
    assert!(retires >= rotated.activates_at.plus(settings.max_token_lifetime()));
}

#[actix_web::test]
async fn a_running_instance_picks_up_a_rotation() {
    let hub = Hub::new();
    let dir = hub.ring.dir().parent().unwrap().to_path_buf();
    let handle =
        ecohub_auth::spawn_key_reloader(hub.ring.clone(), std::time::Duration::from_millis(10));
    let rotated = ecohub_auth::rotate_keys(
        &dir,
        ecohub_jose::SigningAlgorithm::Es256,
        t0(),
        &hub.state.settings,
    )
    .unwrap();
    // Wait (bounded by attempts, not by a timing assertion) for the reloader to see it.
    let mut seen = false;
    for _ in 0..3000 {
        if hub.ring.keys(t0()).iter().any(|k| k.kid == rotated.kid) {
            seen = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    handle.abort();
    assert!(seen);
    let jwks = hub.get("/jwks").await;
    assert_eq!(jwks.body["keys"].as_array().unwrap().len(), 2);
}

#[test]
fn the_openapi_document_describes_every_route_with_its_security() {
    use utoipa::OpenApi;
    let doc = serde_json::to_value(ecohub_auth::AuthApi::openapi()).unwrap();
    for path in [
        "/.well-known/oauth-authorization-server",
        "/.well-known/openid-configuration",
        "/jwks",
        "/token",
        "/introspect",
        "/revoke",
        "/register",
        "/register/{client_id}",
        "/admin/clients",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path}");
    }
    let schemes = &doc["components"]["securitySchemes"];
    for scheme in ["bearer", "basic", "private_key_jwt"] {
        assert!(schemes.get(scheme).is_some(), "{scheme}");
    }
    assert_eq!(
        doc["paths"]["/admin/clients"]["post"]["security"],
        json!([{"bearer": ["admin"]}])
    );
    assert_eq!(
        doc["paths"]["/token"]["post"]["security"],
        json!([{"basic": []}, {"private_key_jwt": []}])
    );
}

/// The document states what `POST /admin/clients` takes (issue 11): a body is created exactly
/// when its `description` and `scope` match the document's patterns. The description counts
/// characters, not bytes, as the document says.
#[actix_web::test]
async fn staff_client_bodies_are_taken_exactly_when_the_document_says() {
    use ecohub_testkit::properties::Pattern;
    use utoipa::OpenApi;
    let doc = serde_json::to_value(ecohub_auth::AuthApi::openapi()).unwrap();
    let schema = &doc["components"]["schemas"]["CreateStaffClient"];
    let description = Pattern::at(schema, "/properties/description/pattern");
    let scope = Pattern::at(schema, "/properties/scope/pattern");
    let hub = Hub::new();
    let (client_id, secret) = ecohub_auth::bootstrap_admin(hub.store.as_ref(), t0())
        .await
        .unwrap();
    let admin = basic(&client_id.to_string(), &secret);
    let reply = hub.token("grant_type=client_credentials", &[admin]).await;
    let token = reply.body["access_token"].as_str().unwrap().to_owned();
    let long = "é".repeat(200);
    let too_long = "é".repeat(201);
    let padded = format!("  {long}\n");
    for (d, s) in [
        ("feeds", "data:publish"),
        (long.as_str(), "audit"),
        (too_long.as_str(), "audit"),
        (padded.as_str(), "audit"),
        ("", "audit"),
        (" \t", "audit"),
        ("tab\tinside", "audit"),
        ("x", "  admin   audit offers:manage "),
        ("x", "admin admin"),
        ("x", ""),
        ("x", "   "),
        ("x", "admin\taudit"),
        ("x", "partner:read"),
        ("x", "Admin"),
        ("x", "admin,audit"),
    ] {
        let expected = description.matches(d) && scope.matches(s);
        let reply = hub
            .send(
                TestRequest::post()
                    .uri("/admin/clients")
                    .insert_header(("authorization", format!("Bearer {token}")))
                    .set_json(json!({"description": d, "scope": s})),
            )
            .await;
        let status = if expected {
            StatusCode::CREATED
        } else {
            StatusCode::BAD_REQUEST
        };
        assert_eq!(reply.status, status, "{d:?} {s:?}: {}", reply.body);
    }
}
