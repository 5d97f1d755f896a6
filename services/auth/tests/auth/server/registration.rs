//! Dynamic client registration (RFC 7591) and management (RFC 7592).

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use ecohub_auth::AuthSettings;
use ecohub_jose::{SigningAlgorithm, SigningKey};

use super::*;

#[actix_web::test]
async fn an_approved_partner_registers_a_client_secret_basic_client() {
    let hub = Hub::new();
    let partner_id = hub.approved_partner().await;
    let reply = hub
        .register(json!({
            "software_statement": hub.statement(&partner_id),
            "token_endpoint_auth_method": "client_secret_basic",
            "redirect_uris": [CALLBACK, "http://127.0.0.1:9000/cb"],
            "scope": "partner:read data:read",
        }))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    assert_eq!(reply.header("cache-control"), "no-store");
    let b = &reply.body;
    let client_id = b["client_id"].as_str().unwrap();
    assert!(ecohub_auth::ClientId::parse(client_id).is_ok());
    assert!(b["client_secret"].as_str().unwrap().len() >= 43);
    assert_eq!(b["client_secret_expires_at"], 0);
    assert_eq!(b["client_id_issued_at"], t0().unix_seconds());
    assert!(b["registration_access_token"].as_str().unwrap().len() >= 43);
    assert_eq!(
        b["registration_client_uri"],
        format!("{HUB}/register/{client_id}")
    );
    assert_eq!(b["token_endpoint_auth_method"], "client_secret_basic");
    assert_eq!(b["grant_types"], json!(["client_credentials"]));
    assert_eq!(b["scope"], "data:read partner:read");
    assert_eq!(b["software_id"], partner_id.as_str());
    assert_eq!(b["dpop_bound_access_tokens"], false);
}

#[actix_web::test]
async fn an_approved_partner_registers_a_private_key_jwt_client() {
    let hub = Hub::new();
    let client = hub.jwt_client(true).await;
    let reply = hub
        .send(
            TestRequest::get()
                .uri(&format!("/register/{}", client.client_id))
                .insert_header((
                    "authorization",
                    format!("Bearer {}", client.registration_access_token),
                )),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["token_endpoint_auth_method"], "private_key_jwt");
    assert!(reply.body.get("client_secret").is_none());
    assert_eq!(reply.body["jwks"]["keys"][0]["kid"], client.key.kid());
    assert_eq!(reply.body["dpop_bound_access_tokens"], true);
}

#[actix_web::test]
async fn registration_refusals_carry_their_rfc_7591_codes() {
    let hub = Hub::new();
    let partner_id = hub.approved_partner().await;
    let statement = hub.statement(&partner_id);
    let key = SigningKey::generate(SigningAlgorithm::Es256, t0(), t0()).unwrap();
    let cases = [
        (
            json!({"software_statement": statement, "redirect_uris": ["https://evil.example/cb"]}),
            "invalid_redirect_uri",
        ),
        (
            json!({"software_statement": statement, "redirect_uris": ["http://travelco.example/callback"]}),
            "invalid_redirect_uri",
        ),
        (
            json!({"software_statement": statement, "scope": "partner:read admin"}),
            "invalid_client_metadata",
        ),
        (
            json!({"software_statement": statement, "scope": "offers:write"}),
            "invalid_client_metadata",
        ),
        (
            json!({"software_statement": statement, "token_endpoint_auth_method": "none"}),
            "invalid_client_metadata",
        ),
        (
            json!({"software_statement": statement, "token_endpoint_auth_method": "private_key_jwt"}),
            "invalid_client_metadata",
        ),
        (
            json!({"software_statement": statement, "token_endpoint_auth_method": "private_key_jwt", "jwks_uri": "https://travelco.example/jwks"}),
            "invalid_client_metadata",
        ),
        (
            json!({"software_statement": statement, "grant_types": ["password"]}),
            "invalid_client_metadata",
        ),
        (
            json!({"software_statement": statement, "token_endpoint_auth_method": "client_secret_basic", "jwks": {"keys": [key.public_jwk()]}}),
            "invalid_client_metadata",
        ),
        (json!({}), "invalid_software_statement"),
        (
            json!({"software_statement": "not-a-jwt"}),
            "invalid_software_statement",
        ),
    ];
    for (body, code) in cases {
        hub.register(body).await.assert_oauth_error(400, code);
    }
    // Not JSON at all.
    hub.send(
        TestRequest::post()
            .uri("/register")
            .insert_header(("content-type", "text/plain"))
            .set_payload("hello"),
    )
    .await
    .assert_oauth_error(400, "invalid_client_metadata");
    hub.send(
        TestRequest::post()
            .uri("/register")
            .insert_header(("content-type", "application/json"))
            .set_payload("{"),
    )
    .await
    .assert_oauth_error(400, "invalid_client_metadata");
}

#[actix_web::test]
async fn a_statement_signed_by_an_untrusted_key_is_refused() {
    let hub = Hub::new();
    let partner_id = hub.approved_partner().await;
    // Another hub's statement: its key is not in this ring.
    let other = Hub::new();
    let forged = other.statement(&partner_id);
    hub.register(json!({"software_statement": forged}))
        .await
        .assert_oauth_error(400, "unapproved_software_statement");
    // Signed by a random key claiming a kid of ours: the signature fails.
    let kid = hub.ring.signing_key(t0()).unwrap().kid().to_owned();
    let attacker = SigningKey::generate(SigningAlgorithm::Es256, t0(), t0()).unwrap();
    let (_, claims) = crate::support::parts(&hub.statement(&partner_id));
    let tampered = crate::support::signed(
        &attacker,
        &json!({"alg": "ES256", "typ": "software-statement+jwt", "kid": kid}),
        &claims,
    );
    hub.register(json!({"software_statement": tampered}))
        .await
        .assert_oauth_error(400, "invalid_software_statement");
    // Our key, but another issuer name: unapproved.
    let mut settings = hub.state.settings.clone();
    settings = AuthSettings {
        issuer: "https://elsewhere.example".into(),
        ..settings
    };
    let foreign_issuer = ecohub_auth::issue_partner_statement(
        &hub.ring,
        &settings,
        &partner_id,
        "TravelCo GmbH",
        &[],
        &["partner:read".into()],
        &[],
        t0(),
    )
    .unwrap();
    hub.register(json!({"software_statement": foreign_issuer}))
        .await
        .assert_oauth_error(400, "unapproved_software_statement");
}

#[actix_web::test]
async fn a_partner_that_is_not_active_cannot_register() {
    let hub = Hub::new();
    for history in [
        &["PartnerApplied"][..],
        &["PartnerApplied", "PartnerApproved", "PartnerSuspended"][..],
        &["PartnerApplied", "PartnerApproved", "PartnerOffboarded"][..],
        &["PartnerApplied", "PartnerRejected"][..],
    ] {
        let partner_id = uuid::Uuid::now_v7().to_string();
        hub.partner_events(&partner_id, history).await;
        hub.register(json!({"software_statement": hub.statement(&partner_id)}))
            .await
            .assert_oauth_error(400, "unapproved_software_statement");
    }
}

#[actix_web::test]
async fn production_mode_requires_https_and_private_key_jwt() {
    let hub = Hub::with(|s| s.production = true);
    let partner_id = hub.approved_partner().await;
    let statement = hub.statement(&partner_id);
    hub.register(json!({"software_statement": statement, "token_endpoint_auth_method": "client_secret_basic"}))
        .await
        .assert_oauth_error(400, "invalid_client_metadata");
    let key = SigningKey::generate(SigningAlgorithm::Es256, t0(), t0()).unwrap();
    hub.register(json!({
        "software_statement": statement,
        "jwks": {"keys": [key.public_jwk()]},
        "redirect_uris": ["http://127.0.0.1:9000/cb"],
    }))
    .await
    .assert_oauth_error(400, "invalid_redirect_uri");
}

#[actix_web::test]
async fn registration_management_needs_the_registration_access_token() {
    let hub = Hub::new();
    let client = hub.basic_client().await;
    let other = hub.basic_client().await;
    let uri = format!("/register/{}", client.client_id);
    for auth in [
        None,
        Some(format!("Bearer {}", other.registration_access_token)),
        Some("Bearer nope".to_owned()),
        Some(format!("Basic {}", client.registration_access_token)),
    ] {
        let mut req = TestRequest::get().uri(&uri);
        if let Some(auth) = auth {
            req = req.insert_header(("authorization", auth));
        }
        let reply = hub.send(req).await;
        reply.assert_oauth_error(401, "invalid_token");
        assert!(reply.header("www-authenticate").starts_with("Bearer"));
    }
    let unknown = TestRequest::delete()
        .uri("/register/01890a5d-ac96-774b-bcce-b302099a8057")
        .insert_header((
            "authorization",
            format!("Bearer {}", client.registration_access_token),
        ));
    hub.send(unknown)
        .await
        .assert_oauth_error(401, "invalid_token");

    // PUT narrows the scope; the secret keeps working.
    let put = TestRequest::put()
        .uri(&uri)
        .insert_header((
            "authorization",
            format!("Bearer {}", client.registration_access_token),
        ))
        .set_json(json!({
            "client_id": client.client_id,
            "software_statement": hub.statement(&client.partner_id),
            "token_endpoint_auth_method": "client_secret_basic",
            "scope": "partner:read",
        }));
    let reply = hub.send(put).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["scope"], "partner:read");
    let reply = hub
        .token("grant_type=client_credentials", &[client.authorization()])
        .await;
    assert_eq!(reply.body["scope"], "partner:read");
    // Another partner's statement cannot take the client over.
    let put = TestRequest::put()
        .uri(&uri)
        .insert_header((
            "authorization",
            format!("Bearer {}", client.registration_access_token),
        ))
        .set_json(json!({
            "software_statement": hub.statement(&other.partner_id),
            "token_endpoint_auth_method": "client_secret_basic",
        }));
    hub.send(put)
        .await
        .assert_oauth_error(400, "unapproved_software_statement");

    // DELETE, then the token is dead.
    let delete = || {
        TestRequest::delete().uri(&uri).insert_header((
            "authorization",
            format!("Bearer {}", client.registration_access_token),
        ))
    };
    assert_eq!(hub.send(delete()).await.status, StatusCode::NO_CONTENT);
    hub.send(delete())
        .await
        .assert_oauth_error(401, "invalid_token");
}
