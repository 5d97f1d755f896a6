//! A product manager writes a trigger rule for a financial moment in the console (ADR 0026).
//! Pat (added by `ecohub staff add --role product_manager`) signs in, finds Financial moments
//! from the console's landing page, reads the moment types, writes a rule on `travel_booked`
//! whose condition names a field the payload does not have (refused next to the field), fixes
//! it, finds it in the rules list, and tries a moment on the rules for a customer: the rule
//! matches with the values it read. The attribute, the persona and the proposition are set up
//! through the staff API.

use ecohub_e2e::{bootstrap_staff, cli, send, staff_client, wait_ready};
use ecohub_kernel::{Clock, SystemClock};
use ecohub_testkit::loopback_client;
use serde_json::{Value, json};
use totp_rs::TOTP;

use crate::harness::Chrome;

const PASSWORD: &str = "correct horse battery staple";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_product_manager_writes_a_trigger_rule_and_tries_a_moment_on_it() {
    let mut chrome = Chrome::start("financial-moments").await;
    let dir = tempfile::tempdir().unwrap();
    let hub = ecohub_testkit::HubProcess::start_in(dir.path(), &[]);
    wait_ready(&hub).await;
    let staff = bootstrap_staff(&hub, dir.path(), &[]).await;
    let (_, api) = staff_client(&hub, &staff.maker, "catalogue set-up", "offers:manage").await;
    let http = loopback_client();
    let (status, body) = send(
        http.put(hub.url("/offers/attributes/is_globetrotter"))
            .bearer_auth(&api)
            .json(
                &json!({"type": "boolean", "description": "Travels abroad several times a year",
                "source": {"dataset": "customer_profile", "pointer": "/is_globetrotter"}}),
            ),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = send(
        http.put(hub.url("/offers/personas/globetrotter"))
            .bearer_auth(&api)
            .json(
                &json!({"title": "Globetrotter", "description": "Travels a lot",
                "condition": {"==": [{"var": "is_globetrotter"}, true]}}),
            ),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = send(
        http.post(hub.url("/offers/propositions"))
            .bearer_auth(&api)
            .json(&json!({
                "name": "Travel card", "description": "A card for travellers",
                "product": {"kind": "card", "code": "CC-TRAVEL", "name": "Travel card"},
                "availability": {"channels": ["bank_app"]},
                "pricing": {"rules": [], "default": {"rate_percent": 0}}})),
    )
    .await;
    assert_eq!(status, 201, "{body}");

    let (ok, out, err) = cli(
        &[
            "staff",
            "add",
            "--username",
            "pat",
            "--display-name",
            "Pat Jensen",
            "--role",
            "product_manager",
            "--password-stdin",
        ],
        dir.path(),
        &[],
        Some(PASSWORD),
    );
    assert!(ok, "{err}");
    let added: Value = serde_json::from_str(out.trim()).unwrap();
    let totp = TOTP::from_url(added["totp_provisioning_uri"].as_str().unwrap()).unwrap();
    chrome.goto(&hub.url("/console/login")).await;
    chrome.fill("#username", "pat").await;
    chrome.fill("#password", PASSWORD).await;
    let now = u64::try_from(SystemClock.now().unix_seconds()).unwrap();
    chrome.fill("#code", &totp.generate(now)).await;
    chrome
        .click("form[action='/console/login'] button[type=submit]")
        .await;
    chrome.expect_path("/console").await;

    // The landing page leads to the moment types.
    chrome.follow("Financial moments").await;
    chrome.expect_path("/console/moments").await;
    let types = chrome.text("main table").await;
    assert!(types.contains("travel_booked"), "{types}");
    assert!(types.contains("moment.departure_date"), "{types}");
    chrome.look("moment-types").await;

    // A rule naming a field the payload does not have is refused next to the condition.
    chrome.follow("Trigger rules").await;
    chrome.expect_path("/console/trigger-rules").await;
    chrome.look("trigger-rules-empty").await;
    chrome.follow("Write a trigger rule").await;
    chrome.fill("#name", "travel_card_on_booking").await;
    chrome.select("#moment_type", "travel_booked").await;
    chrome.fill("#reason", "You booked a trip abroad").await;
    chrome
        .fill(
            "#condition",
            r#"{"and": [{">=": [{"var": "moment.price"}, 500]}, {"var": "personas.globetrotter"}]}"#,
        )
        .await;
    chrome.click("input[name=propositions]").await;
    chrome.click("form.editor button[type=submit]").await;
    let refusal = chrome.text("#condition-error").await;
    assert!(refusal.contains("unknown name moment.price"), "{refusal}");
    chrome.look("trigger-rule-refused-in-place").await;
    chrome
        .fill(
            "#condition",
            r#"{"and": [{">=": [{"var": "moment.amount"}, 500]}, {"var": "personas.globetrotter"}]}"#,
        )
        .await;
    chrome.click("form.editor button[type=submit]").await;
    chrome
        .expect_path("/console/trigger-rules/travel_card_on_booking?done=saved")
        .await;
    chrome.look("trigger-rule-saved").await;
    chrome.follow("Trigger rules").await;
    let rules = chrome.text("main table").await;
    for expected in ["travel_card_on_booking", "Travel card", "14 days", "active"] {
        assert!(rules.contains(expected), "{expected}: {rules}");
    }
    chrome.look("trigger-rules").await;

    // A moment tried on the rules: the rule matches, with the values it read.
    chrome.follow("Try a moment").await;
    chrome.select("#moment_type", "travel_booked").await;
    chrome
        .fill(
            "#payload",
            r#"{"destination": "Lisbon", "departure_date": "2027-07-01", "amount": 1200, "currency": "EUR"}"#,
        )
        .await;
    chrome.fill("#customer_id", "cust-0042").await;
    chrome
        .click("form[action='/console/trigger-rules/dry-run'] button[type=submit]")
        .await;
    // The customer has no profile: the persona does not hold, and the rule says why.
    chrome
        .expect_text("section[aria-labelledby=result]", "no rule matches")
        .await;
    let result = chrome.text("section[aria-labelledby=result]").await;
    assert!(result.contains("moment.amount = 1200"), "{result}");
    assert!(result.contains("personas.globetrotter = false"), "{result}");
    chrome.look("moment-tried").await;
    chrome.close().await;
}
