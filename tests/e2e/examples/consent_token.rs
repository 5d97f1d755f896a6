//! Prepares a running hub for the consent-checked read benchmark (`tests/perf/sharing-bench.sh`)
//! and for API fuzzing (`tests/fuzz/schemathesis.sh`): onboards a data recipient (also an
//! offer partner), adds a customer, publishes 20 accounts for them as the bank, has the
//! customer authorise a `ReadAccountsBasic` consent through the real pages, and prints
//! `{"access_token": …, "admin_token": …, "consents_token": …, "partner_id": …,
//! "basic_client": {"client_id", "client_secret"}, "managed_client": {"client_id",
//! "registration_access_token"}}` — a consent-bound token, a bank staff token, the recipient's
//! client_credentials token for its own APIs (`consents:read consents:write webhooks:manage
//! offers:read offers:write partner:read`), its partner id, and two more clients registered
//! with its software statement (RFC 7591): one authenticating with `client_secret_basic`, one
//! whose registration may be managed (RFC 7592) and deleted.
//!
//! `consent_token <hub base URL> <hub data dir> [--dpop <key dir>]` (the CLI runs against the
//! same data dir). With `--dpop`, the access token printed is sender-constrained (RFC 9449):
//! obtained by a refresh grant with a DPoP proof by the ES256 key kept in `<key dir>/keys`
//! (created if absent), so that `dpop_proofs` can sign the requests' proofs with it.

use ecohub_e2e::{
    CALLBACK, Hub, PASSWORD, RunningHub, add_customer, authorise_consent, basic_token,
    create_consent, onboard, refresh_with_dpop, send,
};
use ecohub_kernel::{Clock, SystemClock, Timestamp};
use ecohub_testkit::{Browser, loopback_client};
use serde_json::json;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (base, dir, dpop_keys) = match args.as_slice() {
        [_, base, dir] => (base, dir, None),
        [_, base, dir, flag, keys] if flag == "--dpop" => (base, dir, Some(keys)),
        _ => {
            eprintln!("usage: consent_token <hub base URL> <hub data dir> [--dpop <key dir>]");
            std::process::exit(2);
        }
    };
    let hub = RunningHub(base.clone());
    let dir = std::path::Path::new(dir);
    let http = loopback_client();
    let (staff, recipient) = onboard(
        &hub,
        dir,
        &[],
        base,
        "Benchmark Travel Ltd",
        &["data_recipient", "offer_partner"],
        PARTNER_SCOPE,
    )
    .await;
    let customer = add_customer(dir, &[], "bench");
    let (status, feed) = send(
        http.post(ecohub_e2e::Hub::url(&hub, "/admin/clients"))
            .bearer_auth(&staff.maker)
            .json(&json!({"description": "core banking feed", "scope": "admin data:publish"})),
    )
    .await;
    assert_eq!(status, 201, "{feed}");
    let feed = basic_token(
        &hub,
        feed["client_id"].as_str().unwrap(),
        feed["client_secret"].as_str().unwrap(),
        "admin data:publish",
    )
    .await;
    let records: Vec<_> = (0..20)
        .map(|i| {
            json!({"id": format!("acc-{i}"), "data": {
                "account_id": format!("acc-{i}"), "currency": "GBP", "account_type": "personal",
                "nickname": format!("Pot {i}"), "iban": "GB29NWBK60161331926819",
                "holder_name": "Bench Customer"
            }})
        })
        .collect();
    let (status, body) = send(
        http.post(ecohub_e2e::Hub::url(&hub, "/data/accounts/records"))
            .bearer_auth(&feed)
            .json(&json!({"customer_id": customer, "records": records})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let expiration = Timestamp::from_unix_seconds(SystemClock.now().unix_seconds() + 86_400);
    let consent = create_consent(
        &hub,
        &recipient,
        &json!({
            "permissions": ["ReadAccountsBasic"],
            "purpose": {"code": "benchmark", "text": "Load test"},
            "expiration": expiration.to_rfc3339(),
            "data_providers": ["bank"]
        }),
    )
    .await;
    let mut tokens = authorise_consent(
        &hub,
        &recipient,
        &mut Browser::new(),
        &consent,
        ("bench", PASSWORD),
    )
    .await;
    if let Some(keys) = dpop_keys {
        let ring = ecohub_jose::KeyRing::open(keys, SystemClock.now()).expect("DPoP key");
        let key = ring.signing_key(SystemClock.now()).expect("DPoP key");
        tokens = refresh_with_dpop(&hub, &recipient, &tokens.refresh_token, &key).await;
    }
    // API fuzzing: the recipient's own client_credentials token for its APIs, and two more
    // clients registered with its software statement.
    let consents_token = recipient.token(&hub, CLIENT_SCOPE).await;
    let (status, statement) = send(
        http.get(hub.url(&format!(
            "/partners/applications/{}/software-statement",
            recipient.partner_id
        )))
        .bearer_auth(&consents_token),
    )
    .await;
    assert_eq!(status, 200, "{statement}");
    let register = |method: &str| {
        http.post(hub.url("/register")).json(&json!({
            "software_statement": statement["software_statement"],
            "token_endpoint_auth_method": method,
            "redirect_uris": [CALLBACK],
            "grant_types": ["client_credentials", "authorization_code", "refresh_token"],
            "scope": PARTNER_SCOPE
        }))
    };
    let (status, basic) = send(register("client_secret_basic")).await;
    assert_eq!(status, 201, "{basic}");
    let (status, managed) = send(register("client_secret_basic")).await;
    assert_eq!(status, 201, "{managed}");
    println!(
        "{}",
        json!({"access_token": tokens.access_token, "admin_token": staff.maker,
            "consents_token": consents_token, "partner_id": recipient.partner_id,
            "basic_client": {"client_id": basic["client_id"],
                "client_secret": basic["client_secret"]},
            "managed_client": {"client_id": managed["client_id"],
                "registration_access_token": managed["registration_access_token"]}})
    );
}

/// What the recipient's clients are registered for.
const PARTNER_SCOPE: &str =
    "consents:write consents:read data:read webhooks:manage offers:read offers:write partner:read";

/// The recipient's client_credentials token: everything but `data:read`, which only a
/// consent grants.
const CLIENT_SCOPE: &str =
    "consents:read consents:write webhooks:manage offers:read offers:write partner:read";
