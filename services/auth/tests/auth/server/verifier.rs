//! The access-token verifier behind `Authenticated<S>`: exact checks of revocation, client
//! deletion and partner standing on every request.

use actix_web::http::StatusCode;

use super::*;

async fn token_of(hub: &Hub, client: &BasicClient) -> String {
    hub.token("grant_type=client_credentials", &[client.authorization()])
        .await
        .body["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[actix_web::test]
async fn the_verifier_accepts_an_issued_token_and_establishes_the_principal() {
    let hub = Hub::new();
    let client = hub.basic_client().await;
    let token = token_of(&hub, &client).await;
    let reply = hub.call_protected("Bearer", &token, None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["client_id"], client.client_id.as_str());
    assert_eq!(reply.body["partner_id"], client.partner_id.as_str());
    assert!(
        reply.body["scopes"]
            .as_array()
            .unwrap()
            .contains(&json!("partner:read"))
    );
    // Garbage and a token of another issuer's key are refused.
    hub.call_protected("Bearer", "not.a.token", None)
        .await
        .assert_problem(401, "invalid_token");
    let other = Hub::new();
    let foreign = ecohub_auth::issue_applicant_token(
        &other.ring,
        &other.state.settings,
        &client.partner_id,
        t0(),
    )
    .unwrap()
    .0;
    hub.call_protected("Bearer", &foreign, None)
        .await
        .assert_problem(401, "invalid_token");
}

#[actix_web::test]
async fn a_deleted_registration_kills_its_tokens_on_the_next_request() {
    let hub = Hub::new();
    let client = hub.basic_client().await;
    let token = token_of(&hub, &client).await;
    assert_eq!(
        hub.call_protected("Bearer", &token, None).await.status,
        StatusCode::OK
    );
    let delete = actix_web::test::TestRequest::delete()
        .uri(&format!("/register/{}", client.client_id))
        .insert_header((
            "authorization",
            format!("Bearer {}", client.registration_access_token),
        ));
    assert_eq!(hub.send(delete).await.status, StatusCode::NO_CONTENT);
    hub.call_protected("Bearer", &token, None)
        .await
        .assert_problem(401, "invalid_token");
    hub.token("grant_type=client_credentials", &[client.authorization()])
        .await
        .assert_oauth_error(401, "invalid_client");
}

#[actix_web::test]
async fn suspension_stops_tokens_at_once_and_reinstatement_restores_them() {
    let hub = Hub::new();
    let client = hub.basic_client().await;
    let token = token_of(&hub, &client).await;
    hub.partner_events(&client.partner_id, &["PartnerSuspended"])
        .await;
    hub.call_protected("Bearer", &token, None)
        .await
        .assert_problem(401, "invalid_token");
    hub.partner_events(&client.partner_id, &["PartnerReinstated"])
        .await;
    assert_eq!(
        hub.call_protected("Bearer", &token, None).await.status,
        StatusCode::OK
    );
    hub.partner_events(&client.partner_id, &["PartnerOffboarded"])
        .await;
    hub.call_protected("Bearer", &token, None)
        .await
        .assert_problem(401, "invalid_token");
}

#[actix_web::test]
async fn applicant_tokens_work_without_a_client_whatever_the_status() {
    let hub = Hub::new();
    let partner_id = uuid::Uuid::now_v7().to_string();
    hub.partner_events(&partner_id, &["PartnerApplied", "PartnerRejected"])
        .await;
    let (token, lifetime) =
        ecohub_auth::issue_applicant_token(&hub.ring, &hub.state.settings, &partner_id, t0())
            .unwrap();
    assert_eq!(lifetime, 30 * 24 * 3600);
    let reply = hub.call_protected("Bearer", &token, None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["client_id"], "applicant");
    assert_eq!(reply.body["subject"], format!("applicant:{partner_id}"));
    assert_eq!(reply.body["partner_id"], partner_id.as_str());
    assert_eq!(reply.body["scopes"], json!(["partner:read"]));
}

#[actix_web::test]
async fn staff_scopes_never_reach_a_software_statement() {
    let hub = Hub::new();
    let refused = ecohub_auth::issue_partner_statement(
        &hub.ring,
        &hub.state.settings,
        "p",
        "x",
        &[],
        &["partner:read".into(), "admin".into()],
        &[],
        t0(),
    );
    assert!(refused.is_err());
}

#[actix_web::test]
async fn a_remembered_signature_dies_with_its_key() {
    let hub = Hub::new();
    let client = hub.basic_client().await;
    let token = token_of(&hub, &client).await;
    // Verified once, so its signature is remembered.
    for _ in 0..2 {
        assert_eq!(
            hub.call_protected("Bearer", &token, None).await.status,
            StatusCode::OK
        );
    }
    // A rotation that retires the signing key 10 s (the clock skew) from now, while the token
    // itself is still far from its expiry.
    hub.ring
        .rotate(
            SigningAlgorithm::Es256,
            hub.now(),
            std::time::Duration::ZERO,
            std::time::Duration::ZERO,
        )
        .unwrap();
    hub.clock.advance(std::time::Duration::from_secs(9));
    assert_eq!(
        hub.call_protected("Bearer", &token, None).await.status,
        StatusCode::OK
    );
    hub.clock.advance(std::time::Duration::from_secs(2));
    hub.call_protected("Bearer", &token, None)
        .await
        .assert_problem(401, "invalid_token");
}

#[actix_web::test]
async fn a_remembered_signature_never_outlives_the_tokens_expiry() {
    let hub = Hub::new();
    let client = hub.basic_client().await;
    let token = token_of(&hub, &client).await;
    assert_eq!(
        hub.call_protected("Bearer", &token, None).await.status,
        StatusCode::OK
    );
    // 300 s lifetime, 10 s skew: refused from 310 s on.
    hub.clock.advance(std::time::Duration::from_secs(309));
    assert_eq!(
        hub.call_protected("Bearer", &token, None).await.status,
        StatusCode::OK
    );
    hub.clock.advance(std::time::Duration::from_secs(1));
    hub.call_protected("Bearer", &token, None)
        .await
        .assert_problem(401, "invalid_token");
    // A tampered copy of a remembered token is a different token: verified, and refused.
    let mut tampered = token.clone();
    tampered.pop();
    tampered.push(if token.ends_with('A') { 'B' } else { 'A' });
    hub.call_protected("Bearer", &tampered, None)
        .await
        .assert_problem(401, "invalid_token");
}

#[actix_web::test]
async fn a_remembered_verdict_belongs_to_the_token_not_to_its_jti() {
    let hub = Hub::new();
    let client = hub.basic_client().await;
    let token = token_of(&hub, &client).await;
    // Checked once, so its "still valid" verdict is remembered.
    assert_eq!(
        hub.call_protected("Bearer", &token, None).await.status,
        StatusCode::OK
    );
    // A token signed with the hub's own key that reuses the live token's jti, for a client
    // this hub never registered: a different token, so it is checked on its own and refused.
    let payload = token.split('.').nth(1).unwrap();
    let mut claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    let elsewhere = Hub::new().basic_client().await;
    claims["client_id"] = json!(elsewhere.client_id);
    claims["sub"] = json!(elsewhere.client_id);
    let forged = hub
        .ring
        .signing_key(hub.now())
        .unwrap()
        .sign_jwt("at+jwt", &claims)
        .unwrap();
    hub.call_protected("Bearer", &forged, None)
        .await
        .assert_problem(401, "invalid_token");
    // The genuine token keeps working.
    assert_eq!(
        hub.call_protected("Bearer", &token, None).await.status,
        StatusCode::OK
    );
}
