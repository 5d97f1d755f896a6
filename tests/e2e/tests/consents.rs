//! A consent's whole life through the real binary on the embedded store, as a partner's
//! developer, a customer and a compliance officer would drive it: the partner (a data
//! recipient with a `private_key_jwt` client) creates a consent and pushes an authorisation
//! request; the customer signs in on the hub's pages (form posts with cookies) and approves;
//! the partner exchanges the code with the `oauth2` crate (PKCE) and reads data under the
//! consent; the customer revokes it on the dashboard and the very next call is refused; the
//! compliance officer sees every step with its actor in the history and the export, and
//! `ecohub audit verify` finds every hash chain intact.

use ecohub_e2e::{
    ASSERTION_TYPE, CALLBACK, PASSWORD, add_customer, cli, oauth_http, onboard, percent_encode,
    query_param, send, wait_ready,
};
use ecohub_kernel::{Clock, SystemClock};
use ecohub_testkit::{Browser, HubProcess, loopback_client};
use oauth2::{AuthorizationCode, PkceCodeChallenge, TokenResponse};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consent_from_request_to_revocation_with_its_audit_trail() {
    let dir = tempfile::tempdir().unwrap();
    let hub = HubProcess::start_in(dir.path(), &[]);
    wait_ready(&hub).await;
    let http = loopback_client();
    let (staff, partner) = onboard(
        &hub,
        dir.path(),
        &[],
        &hub.url(""),
        "Globetrotter Travel Ltd",
        &["data_recipient"],
        "consents:write consents:read data:read",
    )
    .await;
    let (admin, audit) = (staff.maker, staff.audit);

    // The bank's customer directory: a customer added while the hub runs.
    let customer_id = add_customer(dir.path(), &[], "alice");
    let (ok, listed, _) = cli(&["customers", "list"], dir.path(), &[], None);
    assert!(
        ok && listed.contains("alice") && !listed.contains("argon2"),
        "{listed}"
    );

    // The partner creates a consent with a client_credentials token (private_key_jwt).
    let (status, token) = send(http.post(hub.url("/token")).form(&{
        let mut f = partner.auth_form();
        f.push(("grant_type", "client_credentials".into()));
        f.push(("scope", "consents:write consents:read".into()));
        f
    }))
    .await;
    assert_eq!(status, 200, "{token}");
    let cc_token = token["access_token"].as_str().unwrap().to_owned();
    let expiration = SystemClock.now().unix_seconds() + 90 * 24 * 3600;
    let expiration = ecohub_kernel::Timestamp::from_unix_seconds(expiration).to_rfc3339();
    // Invalid combinations are refused with the rule named, and nothing is created.
    let (status, problem) = send(http.post(hub.url("/consents")).bearer_auth(&cc_token).json(
        &json!({
            "permissions": ["ReadTransactionsBasic"],
            "purpose": {"code": "travel-offers", "text": "Tailor travel offers"},
            "expiration": expiration,
            "data_providers": ["bank"]
        }),
    ))
    .await;
    assert_eq!(status, 400, "{problem}");
    assert!(
        problem
            .to_string()
            .contains("transactions_need_credits_or_debits"),
        "{problem}"
    );
    let (status, consent) = send(http.post(hub.url("/consents")).bearer_auth(&cc_token).json(
        &json!({
            "permissions": ["ReadAccountsBasic", "ReadBalances"],
            "purpose": {"code": "travel-offers", "text": "Tailor travel offers to your spending"},
            "expiration": expiration,
            "data_providers": ["bank"]
        }),
    ))
    .await;
    assert_eq!(status, 201, "{consent}");
    assert_eq!(consent["status"], "AwaitingAuthorisation");
    let consent_id = consent["consent_id"].as_str().unwrap().to_owned();

    // Pushed authorisation request: PKCE S256, the consent as RAR authorization_details.
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut par = partner.auth_form();
    par.extend([
        ("response_type", "code".to_owned()),
        ("redirect_uri", CALLBACK.to_owned()),
        ("scope", "data:read".to_owned()),
        ("state", "state-42".to_owned()),
        ("code_challenge", challenge.as_str().to_owned()),
        ("code_challenge_method", "S256".to_owned()),
        (
            "authorization_details",
            json!([{"type": "ecohub_consent", "consent_id": consent_id}]).to_string(),
        ),
    ]);
    let (status, pushed) = send(http.post(hub.url("/par")).form(&par)).await;
    assert_eq!(status, 201, "{pushed}");
    let request_uri = pushed["request_uri"].as_str().unwrap().to_owned();
    let authorize = format!(
        "/authorize?client_id={}&request_uri={}",
        partner.client_id,
        percent_encode(&request_uri)
    );

    // The customer's browser: not signed in → the login page → the consent page → approve.
    let mut browser = Browser::new();
    let page = browser.get(&hub.url(&authorize)).await;
    assert_eq!(page.status, 303, "{}", page.body);
    let login = page.location.clone().unwrap();
    assert!(login.starts_with("/login?return_to="), "{login}");
    let page = browser.get(&hub.url(&login)).await;
    assert_eq!(page.status, 200);
    let csrf = page.input("csrf_token").unwrap();
    let return_to = page.input("return_to").unwrap();
    let wrong = browser
        .post_form(
            &hub.url("/login"),
            &[
                ("username", "alice"),
                ("password", "wrong"),
                ("csrf_token", &csrf),
                ("return_to", &return_to),
            ],
        )
        .await;
    assert_eq!(wrong.status, 401, "{}", wrong.body);
    assert!(browser.cookie("ecohub_session").is_none());
    let page = browser.get(&hub.url(&login)).await;
    let csrf = page.input("csrf_token").unwrap();
    let signed_in = browser
        .post_form(
            &hub.url("/login"),
            &[
                ("username", "alice"),
                ("password", PASSWORD),
                ("csrf_token", &csrf),
                ("return_to", &return_to),
            ],
        )
        .await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.body);
    assert!(browser.cookie("ecohub_session").is_some());
    let page = browser.get(&hub.url(&authorize)).await;
    assert_eq!(page.status, 200, "{}", page.body);
    for shown in [
        "Globetrotter Travel Ltd",
        "Tailor travel offers to your spending",
        "ReadAccountsBasic",
        "ReadBalances",
    ] {
        assert!(page.body.contains(shown), "consent page shows {shown}");
    }
    // Without the CSRF token the decision is refused and nothing happens.
    let forged = browser
        .post_form(
            &hub.url("/authorize/decision"),
            &[
                ("client_id", &partner.client_id),
                ("request_uri", &request_uri),
                ("decision", "approve"),
            ],
        )
        .await;
    assert_eq!(forged.status, 403, "{}", forged.body);
    let csrf = page.input("csrf_token").unwrap();
    let decided = browser
        .post_form(
            &hub.url("/authorize/decision"),
            &[
                ("client_id", &partner.client_id),
                ("request_uri", &request_uri),
                ("decision", "approve"),
                ("csrf_token", &csrf),
            ],
        )
        .await;
    assert_eq!(decided.status, 303, "{}", decided.body);
    let redirect = decided.location.unwrap();
    assert!(redirect.starts_with(CALLBACK), "{redirect}");
    assert_eq!(query_param(&redirect, "state").as_deref(), Some("state-42"));
    assert_eq!(
        query_param(&redirect, "iss").as_deref(),
        Some(hub.url("").trim_end_matches('/'))
    );
    let code = query_param(&redirect, "code").unwrap();

    // The partner exchanges the code with the oauth2 crate (PKCE verifier, private_key_jwt).
    let client = partner.oauth_client();
    let tokens = client
        .exchange_code(AuthorizationCode::new(code.clone()))
        .set_pkce_verifier(verifier)
        .add_extra_param("client_assertion_type", ASSERTION_TYPE)
        .add_extra_param("client_assertion", partner.assertion())
        .request_async(&oauth_http)
        .await
        .expect("code exchange");
    let access = tokens.access_token().secret().clone();
    let refresh = tokens.refresh_token().expect("refresh token").clone();
    // A consent-protected call works with the consent-bound token.
    let read = || {
        http.get(hub.url("/data/accounts"))
            .bearer_auth(access.clone())
    };
    let (status, body) = send(read()).await;
    assert_eq!(status, 200, "{body}");

    // Refresh rotates the refresh token.
    let rotated = client
        .exchange_refresh_token(&refresh)
        .add_extra_param("client_assertion_type", ASSERTION_TYPE)
        .add_extra_param("client_assertion", partner.assertion())
        .request_async(&oauth_http)
        .await
        .expect("refresh");
    let refresh2 = rotated.refresh_token().expect("rotated").clone();
    assert_ne!(refresh2.secret(), refresh.secret());

    // The customer fetches a signed consent receipt (Kantara v1.1), verifiable with /jwks.
    let receipt = browser
        .get(&hub.url(&format!("/customer/consents/{consent_id}/receipt")))
        .await;
    assert_eq!(receipt.status, 200, "{}", receipt.body);
    let receipt: Value = serde_json::from_str(&receipt.body).unwrap();
    let jwt = receipt["receipt"].as_str().unwrap();
    let header = jsonwebtoken::decode_header(jwt).unwrap();
    assert_eq!(header.typ.as_deref(), Some("consent-receipt+jwt"));
    let (_, jwks) = send(http.get(hub.url("/jwks"))).await;
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"].as_str() == header.kid.as_deref())
        .expect("the receipt's key is published")
        .clone();
    let key = jsonwebtoken::DecodingKey::from_jwk(&serde_json::from_value(jwk).unwrap()).unwrap();
    let mut validation = jsonwebtoken::Validation::new(header.alg);
    validation.validate_exp = false;
    validation.required_spec_claims.clear();
    let claims = jsonwebtoken::decode::<Value>(jwt, &key, &validation)
        .expect("the receipt verifies with the hub's JWKS")
        .claims;
    assert_eq!(claims["version"], "KI-CR-v1.1.0");
    assert_eq!(claims["piiPrincipalId"], customer_id.as_str());
    assert!(
        claims["consentReceiptID"]
            .as_str()
            .unwrap()
            .starts_with(&consent_id)
    );

    // The customer sees the consent on the dashboard and revokes it with one action.
    let dashboard = browser.get(&hub.url("/dashboard")).await;
    assert_eq!(dashboard.status, 200, "{}", dashboard.body);
    assert!(dashboard.body.contains("Globetrotter Travel Ltd"));
    let csrf = dashboard.input("csrf_token").unwrap();
    let revoked = browser
        .post_form(
            &hub.url(&format!("/dashboard/consents/{consent_id}/revoke")),
            &[("csrf_token", &csrf)],
        )
        .await;
    assert_eq!(revoked.status, 303, "{}", revoked.body);

    // The very next call with the consent's token is refused, and so is a refresh.
    let (status, body) = send(read()).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("invalid_token")),
        "{body}"
    );
    let refused = client
        .exchange_refresh_token(&refresh2)
        .add_extra_param("client_assertion_type", ASSERTION_TYPE)
        .add_extra_param("client_assertion", partner.assertion())
        .request_async(&oauth_http)
        .await;
    assert!(format!("{:?}", refused.unwrap_err()).contains("invalid_grant"));
    // The partner sees the revocation.
    let (status, view) = send(
        http.get(hub.url(&format!("/consents/{consent_id}")))
            .bearer_auth(&cc_token),
    )
    .await;
    assert_eq!(
        (status, view["status"].as_str()),
        (200, Some("Revoked")),
        "{view}"
    );

    // The compliance officer: the full history with actors, a verified chain, the exports.
    let (status, history) = send(
        http.get(hub.url(&format!("/audit/consents/{consent_id}/history")))
            .bearer_auth(&audit),
    )
    .await;
    assert_eq!(status, 200, "{history}");
    assert_eq!(history["chain_verified"], true, "{history}");
    let steps: Vec<(String, String)> = history["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["event_type"].as_str().unwrap().to_owned(),
                e["actor"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let customer_actor = format!("customer:{customer_id}");
    assert_eq!(
        steps,
        [
            (
                "ConsentRequested".to_owned(),
                format!("client:{}", partner.client_id)
            ),
            ("ConsentAuthorised".to_owned(), customer_actor.clone()),
            ("ConsentRevoked".to_owned(), customer_actor),
        ]
    );
    for e in history["events"].as_array().unwrap() {
        assert!(e["interaction_id"].is_string(), "{e}");
        assert!(e["hash"].is_string() && e["prev"].is_string(), "{e}");
    }
    // The audit routes need the audit scope.
    let (status, _) = send(
        http.get(hub.url(&format!("/audit/consents/{consent_id}/history")))
            .bearer_auth(&admin),
    )
    .await;
    assert_eq!(status, 403);
    for format in ["jsonl", "csv"] {
        let export = http
            .get(hub.url(&format!("/audit/consents/export?format={format}")))
            .bearer_auth(&audit)
            .send()
            .await
            .unwrap();
        assert_eq!(export.status().as_u16(), 200);
        let text = export.text().await.unwrap();
        for event_type in ["ConsentRequested", "ConsentAuthorised", "ConsentRevoked"] {
            assert!(
                text.lines()
                    .any(|l| l.contains(&consent_id) && l.contains(event_type)),
                "{format} export has {event_type}: {text}"
            );
        }
    }

    // A replayed code is refused (RFC 6749 §4.1.2).
    let (_, reused_verifier) = PkceCodeChallenge::new_random_sha256();
    let reused = client
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(reused_verifier)
        .add_extra_param("client_assertion_type", ASSERTION_TYPE)
        .add_extra_param("client_assertion", partner.assertion())
        .request_async(&oauth_http)
        .await;
    assert!(format!("{:?}", reused.unwrap_err()).contains("invalid_grant"));

    // Every hash chain verifies, while the hub runs.
    let (ok, out, err) = cli(&["audit", "verify"], dir.path(), &[], None);
    assert!(ok, "{out} {err}");
    let report: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(report["first_break"], Value::Null);
    assert!(report["events"].as_u64().unwrap() >= 3, "{report}");

    let (exit, _) = hub.terminate();
    assert!(exit.success());
}
