//! Prepares a running hub for the consent-checked read benchmark (`tests/perf/sharing-bench.sh`):
//! onboards a data recipient, adds a customer, publishes 20 accounts for them as the bank,
//! has the customer authorise a `ReadAccountsBasic` consent through the real pages, and prints
//! `{"access_token": …, "admin_token": …, "consents_token": …}` — a consent-bound token, a bank
//! staff token and the recipient's `consents:read consents:write` client_credentials token.
//!
//! `consent_token <hub base URL> <hub data dir> [--dpop <key dir>]` (the CLI runs against the
//! same data dir). With `--dpop`, the access token printed is sender-constrained (RFC 9449):
//! obtained by a refresh grant with a DPoP proof by the ES256 key kept in `<key dir>/keys`
//! (created if absent), so that `dpop_proofs` can sign the requests' proofs with it.

use ecohub_e2e::{
    PASSWORD, RunningHub, add_customer, authorise_consent, basic_token, create_consent, onboard,
    refresh_with_dpop, send,
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
        &["data_recipient"],
        "consents:write consents:read data:read",
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
    // The recipient's own client_credentials token for the consent API (API fuzzing).
    let consents_token = recipient.token(&hub, "consents:read consents:write").await;
    println!(
        "{}",
        json!({"access_token": tokens.access_token, "admin_token": staff.maker,
            "consents_token": consents_token})
    );
}
