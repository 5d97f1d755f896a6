//! Data sharing as partners use it, through the real binary on the embedded store: the bank
//! (a data provider) publishes a customer's accounts; a data recipient with an authorised
//! consent reads them and sees only the fields its permissions unlock; the customer revokes
//! the consent and the next read is refused; the recipient's webhook (a real receiver on
//! loopback) gets the signed revocation event; the compliance export lists every access.

use std::time::Duration;

use ecohub_e2e::{
    PASSWORD, add_customer, authorise_consent, basic_accounts_consent, create_consent, onboard,
    receiver, send, verify_set, wait_ready,
};
use ecohub_testkit::{Browser, HubProcess, loopback_client};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recipient_reads_only_what_the_consent_allows_until_the_customer_revokes_it() {
    let dir = tempfile::tempdir().unwrap();
    let hub = HubProcess::start_in(dir.path(), &[]);
    wait_ready(&hub).await;
    let http = loopback_client();
    let (staff, recipient) = onboard(
        &hub,
        dir.path(),
        &[],
        &hub.url(""),
        "Globetrotter Travel Ltd",
        &["data_recipient"],
        "consents:write consents:read data:read webhooks:manage",
    )
    .await;
    let customer_id = add_customer(dir.path(), &[], "alice");

    // The recipient registers its webhook and subscribes it to consent revocations.
    let (hook_url, mut deliveries) = receiver().await;
    let mut form = recipient.auth_form();
    form.push(("grant_type", "client_credentials".into()));
    form.push(("scope", "webhooks:manage".into()));
    let (status, token) = send(http.post(hub.url("/token")).form(&form)).await;
    assert_eq!(status, 200, "{token}");
    let webhooks_token = token["access_token"].as_str().unwrap().to_owned();
    let (status, body) = send(
        http.post(hub.url(&format!("/partners/{}/webhooks", recipient.partner_id)))
            .bearer_auth(&webhooks_token)
            .json(&json!({"url": hook_url})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = send(
        http.post(hub.url("/event-subscriptions"))
            .bearer_auth(&webhooks_token)
            .json(&json!({"url": hook_url, "event_types": ["consent-revoked"]})),
    )
    .await;
    assert_eq!(status, 201, "{body}");

    // The bank publishes the customer's accounts (schema-checked; a bad record writes nothing).
    let (status, publisher) = send(
        http.post(hub.url("/admin/clients"))
            .bearer_auth(&staff.maker)
            .json(&json!({"description": "core banking feed", "scope": "data:publish"})),
    )
    .await;
    assert_eq!(status, 201, "{publisher}");
    let publisher = ecohub_e2e::basic_token(
        &hub,
        publisher["client_id"].as_str().unwrap(),
        publisher["client_secret"].as_str().unwrap(),
        "data:publish",
    )
    .await;
    let account = |id: &str, nickname: &str| {
        json!({"id": id, "data": {
            "account_id": id, "currency": "GBP", "account_type": "personal",
            "nickname": nickname, "iban": "GB29NWBK60161331926819", "holder_name": "Alice Example"
        }})
    };
    let (status, problem) = send(
        http.post(hub.url("/data/accounts/records"))
            .bearer_auth(&publisher)
            .json(&json!({"customer_id": customer_id, "records": [
                account("acc-1", "Everyday"),
                {"id": "acc-bad", "data": {"account_id": "acc-bad", "currency": "pounds", "account_type": "personal"}}
            ]})),
    )
    .await;
    assert_eq!(status, 400, "{problem}");
    assert!(
        problem.to_string().contains("/records/1/data/currency"),
        "{problem}"
    );
    let (status, published) = send(
        http.post(hub.url("/data/accounts/records"))
            .bearer_auth(&publisher)
            .json(&json!({"customer_id": customer_id, "records": [
                account("acc-1", "Everyday"), account("acc-2", "Holidays")
            ]})),
    )
    .await;
    assert_eq!(
        (status, published["stored"].as_u64()),
        (200, Some(2)),
        "{published}"
    );

    // The customer authorises a consent for basic account information only.
    let consent = create_consent(&hub, &recipient, &basic_accounts_consent(30)).await;
    let mut browser = Browser::new();
    let tokens = authorise_consent(
        &hub,
        &recipient,
        &mut browser,
        &consent,
        ("alice", PASSWORD),
    )
    .await;

    // The recipient reads both accounts, without the fields ReadAccountsBasic does not unlock.
    let read = || {
        http.get(hub.url("/data/accounts"))
            .bearer_auth(tokens.access_token.clone())
    };
    let (status, page) = send(read()).await;
    assert_eq!(status, 200, "{page}");
    let records = page["data"].as_array().unwrap();
    assert_eq!(records.len(), 2, "{page}");
    for record in records {
        let data = record["data"].as_object().unwrap();
        assert!(
            data.contains_key("account_id") && data.contains_key("nickname"),
            "{record}"
        );
        assert!(
            !data.contains_key("iban") && !data.contains_key("holder_name"),
            "{record}"
        );
    }
    // Datasets the consent does not cover are refused.
    let (status, body) = send(
        http.get(hub.url("/data/balances"))
            .bearer_auth(&tokens.access_token),
    )
    .await;
    assert_eq!(status, 403, "{body}");

    // The customer revokes on the dashboard; the next read is refused.
    let dashboard = browser.get(&hub.url("/dashboard")).await;
    let csrf = dashboard.input("csrf_token").unwrap();
    let revoked = browser
        .post_form(
            &hub.url(&format!("/dashboard/consents/{consent}/revoke")),
            &[("csrf_token", &csrf)],
        )
        .await;
    assert_eq!(revoked.status, 303, "{}", revoked.body);
    let (status, body) = send(read()).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("invalid_token")),
        "{body}"
    );

    // The webhook receives the revocation as a SET signed with the hub's key.
    let (head, set) = tokio::time::timeout(Duration::from_secs(20), deliveries.recv())
        .await
        .expect("a delivery within 20 s")
        .unwrap();
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/secevent+jwt"),
        "{head}"
    );
    let (_, jwks) = send(http.get(hub.url("/jwks"))).await;
    let claims = verify_set(set.trim(), &jwks);
    assert_eq!(claims["aud"], recipient.partner_id.as_str(), "{claims}");
    let event = &claims["events"]["urn:ecohub:events:consent-revoked"];
    assert_eq!(event["consent_id"], consent.as_str(), "{claims}");
    assert!(claims["jti"].is_string());

    // The compliance export shows every access, the refused one excepted (nothing was read).
    let export = http
        .get(hub.url("/audit/data-access/export?format=jsonl"))
        .bearer_auth(&staff.audit)
        .send()
        .await
        .unwrap();
    assert_eq!(export.status().as_u16(), 200);
    let lines: Vec<Value> = export
        .text()
        .await
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let accesses: Vec<&Value> = lines
        .iter()
        .filter(|l| l.to_string().contains(&consent))
        .collect();
    assert_eq!(accesses.len(), 1, "{lines:?}");
    let access = accesses[0].to_string();
    for expected in ["accounts", recipient.partner_id.as_str(), "account_id"] {
        assert!(access.contains(expected), "{access}");
    }
    assert!(!access.contains("\"iban\""), "{access}");

    let (exit, _) = hub.terminate();
    assert!(exit.success());
}
