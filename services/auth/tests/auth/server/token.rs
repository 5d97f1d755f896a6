//! `/token`, `/introspect`, `/revoke`, metadata and JWKS.

use actix_web::http::StatusCode;
use ecohub_jose::{SigningAlgorithm, SigningKey};

use super::*;

#[actix_web::test]
async fn metadata_names_every_endpoint_and_capability() {
    let hub = Hub::new();
    for path in [
        "/.well-known/oauth-authorization-server",
        "/.well-known/openid-configuration",
    ] {
        let reply = hub.get(path).await;
        assert_eq!(reply.status, StatusCode::OK);
        let m = &reply.body;
        assert_eq!(m["issuer"], HUB);
        assert_eq!(m["token_endpoint"], format!("{HUB}/token"));
        assert_eq!(m["jwks_uri"], format!("{HUB}/jwks"));
        assert_eq!(m["registration_endpoint"], format!("{HUB}/register"));
        assert_eq!(m["introspection_endpoint"], format!("{HUB}/introspect"));
        assert_eq!(m["revocation_endpoint"], format!("{HUB}/revoke"));
        assert_eq!(
            m["grant_types_supported"],
            json!(["client_credentials", "authorization_code", "refresh_token"])
        );
        assert_eq!(m["authorization_endpoint"], format!("{HUB}/authorize"));
        assert_eq!(
            m["pushed_authorization_request_endpoint"],
            format!("{HUB}/par")
        );
        assert_eq!(m["require_pushed_authorization_requests"], json!(true));
        assert_eq!(m["code_challenge_methods_supported"], json!(["S256"]));
        assert_eq!(
            m["authorization_response_iss_parameter_supported"],
            json!(true)
        );
        assert_eq!(
            m["authorization_details_types_supported"],
            json!(["ecohub_consent"])
        );
        assert_eq!(
            m["token_endpoint_auth_methods_supported"],
            json!(["private_key_jwt", "client_secret_basic"])
        );
        assert_eq!(
            m["token_endpoint_auth_signing_alg_values_supported"],
            json!(["ES256", "PS256", "EdDSA"])
        );
        assert_eq!(
            m["dpop_signing_alg_values_supported"],
            json!(["ES256", "PS256", "EdDSA"])
        );
        assert_eq!(m["response_types_supported"], json!(["code"]));
        assert!(
            m["scopes_supported"]
                .as_array()
                .unwrap()
                .contains(&json!("consents:write"))
        );
    }
}

#[actix_web::test]
async fn jwks_publishes_the_signing_key_with_a_short_cache() {
    let hub = Hub::new();
    let reply = hub.get("/jwks").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("cache-control"), "public, max-age=60");
    let kid = hub.ring.signing_key(t0()).unwrap().kid().to_owned();
    let keys = reply.body["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["kid"], kid);
    assert_eq!(keys[0]["alg"], "ES256");
    assert!(keys[0].get("d").is_none());
}

#[actix_web::test]
async fn client_secret_basic_gets_a_token_with_every_registered_scope() {
    let hub = Hub::new();
    let client = hub.basic_client().await;
    let reply = hub
        .token("grant_type=client_credentials", &[client.authorization()])
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.header("cache-control"), "no-store");
    assert_eq!(reply.body["token_type"], "Bearer");
    assert_eq!(reply.body["expires_in"], 300);
    assert_eq!(reply.body["scope"], {
        let mut s = PARTNER_SCOPES.to_vec();
        s.sort();
        s.join(" ")
    });
    let (header, claims) = crate::support::parts(reply.body["access_token"].as_str().unwrap());
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(claims["client_id"], client.client_id.as_str());
    assert_eq!(claims["sub"], client.client_id.as_str());
    assert_eq!(claims["partner_id"], client.partner_id.as_str());
    assert_eq!(claims["iss"], HUB);
    assert_eq!(claims["aud"], HUB);

    // A narrower scope on request.
    let reply = hub
        .token(
            "grant_type=client_credentials&scope=partner%3Aread",
            &[client.authorization()],
        )
        .await;
    assert_eq!(reply.body["scope"], "partner:read");
}

#[actix_web::test]
async fn bad_basic_credentials_are_invalid_client_with_a_challenge() {
    let hub = Hub::new();
    let client = hub.basic_client().await;
    // A success first: remembering it must not make a wrong secret pass.
    let ok = hub
        .token("grant_type=client_credentials", &[client.authorization()])
        .await;
    assert_eq!(ok.status, StatusCode::OK);
    for auth in [
        basic(&client.client_id, "wrong"),
        basic("01890a5d-ac96-774b-bcce-b302099a8057", &client.secret),
        basic("not-a-uuid", &client.secret),
    ] {
        let reply = hub.token("grant_type=client_credentials", &[auth]).await;
        reply.assert_oauth_error(401, "invalid_client");
        assert_eq!(reply.header("www-authenticate"), "Basic realm=\"ecohub\"");
    }
    let reply = hub.token("grant_type=client_credentials", &[]).await;
    reply.assert_oauth_error(401, "invalid_client");
}

#[actix_web::test]
async fn private_key_jwt_gets_a_token_and_a_replayed_assertion_is_refused() {
    let hub = Hub::new();
    let client = hub.jwt_client(false).await;
    let form = format!(
        "grant_type=client_credentials&{}",
        client.auth_params_with(&client.key, "jti-1")
    );
    let reply = hub.token(&form, &[]).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["scope"], "consents:write partner:read");
    // The same assertion again: a replay, refused across instances by the store.
    let reply = hub.token(&form, &[]).await;
    reply.assert_oauth_error(401, "invalid_client");
}

#[actix_web::test]
async fn an_assertion_signed_with_another_clients_key_is_refused() {
    let hub = Hub::new();
    let victim = hub.jwt_client(false).await;
    let attacker = hub.jwt_client(false).await;
    let form = format!(
        "grant_type=client_credentials&{}",
        victim.auth_params_with(&attacker.key, "forged")
    );
    hub.token(&form, &[])
        .await
        .assert_oauth_error(401, "invalid_client");
    let stranger = SigningKey::generate(SigningAlgorithm::EdDsa, t0(), t0()).unwrap();
    let form = format!(
        "grant_type=client_credentials&{}",
        victim.auth_params_with(&stranger, "forged-2")
    );
    hub.token(&form, &[])
        .await
        .assert_oauth_error(401, "invalid_client");
}

#[actix_web::test]
async fn a_client_must_use_its_registered_method() {
    let hub = Hub::new();
    let client = hub.jwt_client(false).await;
    let reply = hub
        .token(
            "grant_type=client_credentials",
            &[basic(&client.client_id, "guess")],
        )
        .await;
    reply.assert_oauth_error(401, "invalid_client");
}

#[actix_web::test]
async fn scope_escalation_is_invalid_scope() {
    let hub = Hub::new();
    let client = hub.jwt_client(false).await;
    for scope in ["admin", "data%3Apublish", "partner%3Aread+offers%3Awrite"] {
        let form = format!(
            "grant_type=client_credentials&scope={scope}&{}",
            client.auth_params()
        );
        hub.token(&form, &[])
            .await
            .assert_oauth_error(400, "invalid_scope");
    }
}

#[actix_web::test]
async fn malformed_token_requests_are_refused_with_their_rfc_codes() {
    let hub = Hub::new();
    let client = hub.basic_client().await;
    // Wrong content type.
    let req = actix_web::test::TestRequest::post()
        .uri("/token")
        .insert_header(client.authorization())
        .set_json(json!({"grant_type": "client_credentials"}));
    hub.send(req)
        .await
        .assert_oauth_error(400, "invalid_request");
    // Missing grant type, repeated parameter, unknown grant type.
    hub.token("scope=partner%3Aread", &[client.authorization()])
        .await
        .assert_oauth_error(400, "invalid_request");
    hub.token(
        "grant_type=client_credentials&grant_type=client_credentials",
        &[client.authorization()],
    )
    .await
    .assert_oauth_error(400, "invalid_request");
    hub.token("grant_type=password", &[client.authorization()])
        .await
        .assert_oauth_error(400, "unsupported_grant_type");
    // client_secret_post is not a supported method.
    let form = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}",
        client.client_id, client.secret
    );
    hub.token(&form, &[])
        .await
        .assert_oauth_error(401, "invalid_client");
}

#[actix_web::test]
async fn a_suspended_partners_client_gets_no_token() {
    let hub = Hub::new();
    let client = hub.basic_client().await;
    // Warm: what authentication read is remembered while nothing is appended…
    for _ in 0..3 {
        let reply = hub
            .token("grant_type=client_credentials", &[client.authorization()])
            .await;
        assert_eq!(reply.status, StatusCode::OK);
    }
    // …and a suspension is seen by the very next request all the same.
    hub.partner_events(&client.partner_id, &["PartnerSuspended"])
        .await;
    hub.token("grant_type=client_credentials", &[client.authorization()])
        .await
        .assert_oauth_error(401, "invalid_client");
    hub.partner_events(&client.partner_id, &["PartnerReinstated"])
        .await;
    let reply = hub
        .token("grant_type=client_credentials", &[client.authorization()])
        .await;
    assert_eq!(reply.status, StatusCode::OK);
}

#[actix_web::test]
async fn dpop_binds_the_token_and_is_required_for_bound_clients() {
    let hub = Hub::new();
    let client = hub.jwt_client(true).await;
    let form = || format!("grant_type=client_credentials&{}", client.auth_params());
    // No proof: refused.
    hub.token(&form(), &[])
        .await
        .assert_oauth_error(400, "invalid_dpop_proof");
    // A proof for another URL: refused.
    let holder = SigningKey::generate(SigningAlgorithm::Es256, t0(), t0()).unwrap();
    let wrong = dpop_proof(&holder, "POST", "https://elsewhere.example/token", None);
    hub.token(&form(), &[("dpop", wrong)])
        .await
        .assert_oauth_error(400, "invalid_dpop_proof");
    // A valid proof: bound.
    let proof = dpop_proof(&holder, "POST", &format!("{HUB}/token"), None);
    let reply = hub.token(&form(), &[("dpop", proof)]).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["token_type"], "DPoP");
    let token = reply.body["access_token"].as_str().unwrap().to_owned();
    let (_, claims) = crate::support::parts(&token);
    assert_eq!(claims["partner_id"], client.partner_id.as_str());
    assert_eq!(
        claims["cnf"]["jkt"],
        ecohub_jose::jwk_thumbprint(holder.public_jwk()).unwrap()
    );

    // The verifier requires the proof.
    let url = format!("{HUB}/protected");
    hub.call_protected("Bearer", &token, None)
        .await
        .assert_problem(401, "invalid_token");
    hub.call_protected("DPoP", &token, None)
        .await
        .assert_problem(401, "invalid_dpop_proof");
    let other = SigningKey::generate(SigningAlgorithm::Es256, t0(), t0()).unwrap();
    hub.call_protected(
        "DPoP",
        &token,
        Some(dpop_proof(&other, "GET", &url, Some(&token))),
    )
    .await
    .assert_problem(401, "invalid_dpop_proof");
    let proof = dpop_proof(&holder, "GET", &url, Some(&token));
    let reply = hub
        .call_protected("DPoP", &token, Some(proof.clone()))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    // The same proof twice: a replay.
    hub.call_protected("DPoP", &token, Some(proof))
        .await
        .assert_problem(401, "invalid_dpop_proof");
}

#[actix_web::test]
async fn introspection_reports_active_and_inactive_tokens() {
    let hub = Hub::new();
    let client = hub.basic_client().await;
    let token = hub
        .token("grant_type=client_credentials", &[client.authorization()])
        .await
        .body["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let introspect = |token: String| {
        actix_web::test::TestRequest::post()
            .uri("/introspect")
            .insert_header(("content-type", "application/x-www-form-urlencoded"))
            .insert_header(client.authorization())
            .set_payload(format!("token={token}"))
    };
    let reply = hub.send(introspect(token.clone())).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["active"], true);
    assert_eq!(reply.body["client_id"], client.client_id.as_str());
    assert_eq!(reply.body["token_type"], "Bearer");
    let reply = hub.send(introspect("garbage".into())).await;
    assert_eq!(reply.body, json!({"active": false}));

    // Another client's token reads as inactive to a partner client.
    let other = hub.basic_client().await;
    let foreign = hub
        .token("grant_type=client_credentials", &[other.authorization()])
        .await
        .body["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        hub.send(introspect(foreign)).await.body,
        json!({"active": false})
    );

    // After revocation: inactive.
    let revoke = actix_web::test::TestRequest::post()
        .uri("/revoke")
        .insert_header(("content-type", "application/x-www-form-urlencoded"))
        .insert_header(client.authorization())
        .set_payload(format!("token={token}&token_type_hint=access_token"));
    assert_eq!(hub.send(revoke).await.status, StatusCode::OK);
    assert_eq!(
        hub.send(introspect(token)).await.body,
        json!({"active": false})
    );

    // Unauthenticated introspection: invalid_client.
    let anonymous = actix_web::test::TestRequest::post()
        .uri("/introspect")
        .insert_header(("content-type", "application/x-www-form-urlencoded"))
        .set_payload("token=x");
    hub.send(anonymous)
        .await
        .assert_oauth_error(401, "invalid_client");
}

#[actix_web::test]
async fn revocation_answers_200_for_unknown_and_foreign_tokens() {
    let hub = Hub::new();
    let owner = hub.basic_client().await;
    let other = hub.basic_client().await;
    let token = hub
        .token("grant_type=client_credentials", &[owner.authorization()])
        .await
        .body["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let revoke = |auth: (&'static str, String), token: String| {
        actix_web::test::TestRequest::post()
            .uri("/revoke")
            .insert_header(("content-type", "application/x-www-form-urlencoded"))
            .insert_header(auth)
            .set_payload(format!("token={token}"))
    };
    assert_eq!(
        hub.send(revoke(other.authorization(), "unknown".into()))
            .await
            .status,
        StatusCode::OK
    );
    // Another client cannot revoke it.
    assert_eq!(
        hub.send(revoke(other.authorization(), token.clone()))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        hub.call_protected("Bearer", &token, None).await.status,
        StatusCode::OK
    );
    // Its owner can, twice.
    for _ in 0..2 {
        assert_eq!(
            hub.send(revoke(owner.authorization(), token.clone()))
                .await
                .status,
            StatusCode::OK
        );
    }
    hub.call_protected("Bearer", &token, None)
        .await
        .assert_problem(401, "invalid_token");
}
