//! A partner's whole journey through the real binary on the embedded store, as a partner and
//! bank staff would drive it: bootstrap an administrator (while the hub runs), apply, record
//! verification evidence, approve under maker-checker, register OAuth clients by dynamic
//! client registration (client_secret_basic and private_key_jwt), obtain client_credentials
//! tokens with the `oauth2` crate, call a protected route, and see suspension, reinstatement
//! and offboarding take effect on the very next request.

use std::process::Command;

use ecohub_e2e::{oauth_http, wait_ready};
use ecohub_jose::{SigningAlgorithm, SigningKey};
use ecohub_kernel::{Clock, SystemClock};
use ecohub_testkit::{HubProcess, ecohub_binary, loopback_client};
use oauth2::basic::BasicClient;
use oauth2::{ClientId, ClientSecret, Scope, TokenResponse, TokenUrl};
use serde_json::{Value, json};

async fn client_credentials(
    hub: &HubProcess,
    id: &str,
    secret: &str,
    scope: &str,
) -> Result<String, String> {
    let client = BasicClient::new(ClientId::new(id.to_owned()))
        .set_client_secret(ClientSecret::new(secret.to_owned()))
        .set_token_uri(TokenUrl::new(hub.url("/token")).unwrap());
    client
        .exchange_client_credentials()
        .add_scope(Scope::new(scope.to_owned()))
        .request_async(&oauth_http)
        .await
        .map(|t| t.access_token().secret().clone())
        .map_err(|e| format!("{e:?}"))
}

async fn send(client: &reqwest::Client, req: reqwest::RequestBuilder) -> (u16, Value) {
    let _ = client;
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let body = res.json::<Value>().await.unwrap_or(Value::Null);
    (status, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partner_journey_from_application_to_offboarding() {
    let dir = tempfile::tempdir().unwrap();
    let hub = HubProcess::start_in(dir.path(), &[]);
    let http = loopback_client();
    wait_ready(&hub).await;

    // Bank staff: the first administrator is bootstrapped while the hub runs on the same store.
    let out = Command::new(ecohub_binary())
        .args(["admin", "bootstrap", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let admin: Value = serde_json::from_slice(&out.stdout).unwrap();
    let admin_token = client_credentials(
        &hub,
        admin["client_id"].as_str().unwrap(),
        admin["client_secret"].as_str().unwrap(),
        "admin",
    )
    .await
    .unwrap();
    // A second staff member (the checker) is created by the first.
    let (status, checker) = send(
        &http,
        http.post(hub.url("/admin/clients"))
            .bearer_auth(&admin_token)
            .json(&json!({"description": "partnership manager B", "scope": "admin"})),
    )
    .await;
    assert_eq!(status, 201, "{checker}");
    let checker_token = client_credentials(
        &hub,
        checker["client_id"].as_str().unwrap(),
        checker["client_secret"].as_str().unwrap(),
        "admin",
    )
    .await
    .unwrap();

    // The partner applies (public endpoint) and follows its application with its applicant token.
    let (status, applied) = send(
        &http,
        http.post(hub.url("/partners/applications")).json(&json!({
            "legal_name": "Globetrotter Travel Ltd",
            "registration_number": "09876543",
            "country": "GB",
            "website": "https://globetrotter.example",
            "contacts": [{"name": "Ada Lovelace", "email": "ada@globetrotter.example", "role": "technical"}],
            "requested_roles": ["data_recipient", "offer_partner"]
        })),
    )
    .await;
    assert_eq!(status, 201, "{applied}");
    let partner_id = applied["partner_id"].as_str().unwrap().to_owned();
    let applicant_token = applied["applicant_token"]["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let application = format!("/partners/applications/{partner_id}");
    let (status, view) = send(
        &http,
        http.get(hub.url(&application))
            .bearer_auth(&applicant_token),
    )
    .await;
    assert_eq!(
        (status, view["status"].as_str()),
        (200, Some("applied")),
        "{view}"
    );

    // Staff A records the evidence; A may not approve (maker-checker); B approves.
    for check in ["registry_check", "sanctions_screening"] {
        let (status, body) = send(
            &http,
            http.post(hub.url(&format!("/admin/partners/{partner_id}/verifications")))
                .bearer_auth(&admin_token)
                .json(&json!({"check": check, "result": "passed", "evidence": format!("{check} ref 42")})),
        )
        .await;
        assert_eq!(status, 200, "{body}");
    }
    let approve = json!({"redirect_uris": ["https://globetrotter.example/callback"]});
    let (status, body) = send(
        &http,
        http.post(hub.url(&format!("/admin/partners/{partner_id}/approve")))
            .bearer_auth(&admin_token)
            .json(&approve),
    )
    .await;
    assert_eq!(status, 409, "maker-checker: {body}");
    let (status, approved) = send(
        &http,
        http.post(hub.url(&format!("/admin/partners/{partner_id}/approve")))
            .bearer_auth(&checker_token)
            .json(&approve),
    )
    .await;
    assert_eq!(status, 200, "{approved}");
    let statement = approved["software_statement"].as_str().unwrap().to_owned();

    // Dynamic client registration with the software statement: client_secret_basic …
    let (status, basic) = send(
        &http,
        http.post(hub.url("/register")).json(&json!({
            "software_statement": statement,
            "token_endpoint_auth_method": "client_secret_basic",
            "redirect_uris": ["https://globetrotter.example/callback"],
            "grant_types": ["client_credentials"],
            "scope": "partner:read webhooks:manage"
        })),
    )
    .await;
    assert_eq!(status, 201, "{basic}");
    // … and private_key_jwt with the partner's own key.
    let now = SystemClock.now();
    let key = SigningKey::generate(SigningAlgorithm::Es256, now, now).unwrap();
    let (status, pkj) = send(
        &http,
        http.post(hub.url("/register")).json(&json!({
            "software_statement": statement,
            "token_endpoint_auth_method": "private_key_jwt",
            "jwks": {"keys": [key.public_jwk()]},
            "redirect_uris": ["https://globetrotter.example/callback"],
            "scope": "partner:read"
        })),
    )
    .await;
    assert_eq!(status, 201, "{pkj}");
    assert!(
        pkj.get("client_secret").is_none(),
        "no secret for private_key_jwt"
    );

    // Tokens: client_secret_basic through the oauth2 crate, private_key_jwt by hand.
    let basic_id = basic["client_id"].as_str().unwrap().to_owned();
    let basic_secret = basic["client_secret"].as_str().unwrap().to_owned();
    let token = client_credentials(&hub, &basic_id, &basic_secret, "partner:read")
        .await
        .unwrap();
    let pkj_id = pkj["client_id"].as_str().unwrap().to_owned();
    let assertion_token = |jti: &str| {
        let now = SystemClock.now().unix_seconds();
        let claims = json!({"iss": pkj_id, "sub": pkj_id, "aud": hub.url("/token"), "iat": now, "exp": now + 60, "jti": jti});
        key.sign_jwt("JWT", &claims).unwrap()
    };
    let form = |assertion: String| {
        [
            ("grant_type", "client_credentials".to_owned()),
            ("scope", "partner:read".to_owned()),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".to_owned(),
            ),
            ("client_assertion", assertion),
        ]
    };
    let (status, pkj_token) = send(
        &http,
        http.post(hub.url("/token"))
            .form(&form(assertion_token("jti-1"))),
    )
    .await;
    assert_eq!(status, 200, "{pkj_token}");
    let (status, replay) = send(
        &http,
        http.post(hub.url("/token"))
            .form(&form(assertion_token("jti-1"))),
    )
    .await;
    assert_eq!(
        (status, replay["error"].as_str()),
        (401, Some("invalid_client")),
        "replayed jti: {replay}"
    );
    let pkj_token = pkj_token["access_token"].as_str().unwrap().to_owned();

    // The protected route works with both tokens; scope escalation is refused.
    for t in [&token, &pkj_token] {
        let (status, view) = send(&http, http.get(hub.url(&application)).bearer_auth(t)).await;
        assert_eq!(
            (status, view["status"].as_str()),
            (200, Some("approved")),
            "{view}"
        );
    }
    let escalation = client_credentials(&hub, &basic_id, &basic_secret, "admin").await;
    assert!(escalation.unwrap_err().contains("invalid_scope"));

    // Suspension takes effect on the very next request: token refused, new tokens refused.
    let staff_action = |action: &str, token: &str| {
        http.post(hub.url(&format!("/admin/partners/{partner_id}/{action}")))
            .bearer_auth(token.to_owned())
            .json(&json!({"reason": format!("{action} for the test")}))
    };
    assert_eq!(
        send(&http, staff_action("suspend", &admin_token)).await.0,
        200
    );
    let (status, body) = send(&http, http.get(hub.url(&application)).bearer_auth(&token)).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("invalid_token")),
        "{body}"
    );
    assert!(
        client_credentials(&hub, &basic_id, &basic_secret, "partner:read")
            .await
            .unwrap_err()
            .contains("invalid_client")
    );

    // Reinstated: works again.
    assert_eq!(
        send(&http, staff_action("reinstate", &admin_token)).await.0,
        200
    );
    let token = client_credentials(&hub, &basic_id, &basic_secret, "partner:read")
        .await
        .unwrap();
    assert_eq!(
        send(&http, http.get(hub.url(&application)).bearer_auth(&token))
            .await
            .0,
        200
    );

    // Offboarded: refused for good.
    assert_eq!(
        send(&http, staff_action("offboard", &checker_token))
            .await
            .0,
        200
    );
    assert_eq!(
        send(&http, http.get(hub.url(&application)).bearer_auth(&token))
            .await
            .0,
        401
    );
    assert!(
        client_credentials(&hub, &basic_id, &basic_secret, "partner:read")
            .await
            .is_err()
    );

    // Another partner cannot read this application (BOLA): 404, not 403.
    let (_, other) = send(
        &http,
        http.post(hub.url("/partners/applications")).json(&json!({
            "legal_name": "Fit Life GmbH", "registration_number": "HRB 1234", "country": "DE",
            "website": "https://fitlife.example",
            "contacts": [{"name": "Grace", "email": "grace@fitlife.example", "role": "business"}],
            "requested_roles": ["offer_partner"]
        })),
    )
    .await;
    let other_token = other["applicant_token"]["access_token"].as_str().unwrap();
    assert_eq!(
        send(
            &http,
            http.get(hub.url(&application)).bearer_auth(other_token)
        )
        .await
        .0,
        404
    );

    let (exit, _) = hub.terminate();
    assert!(exit.success());
}
