//! Two product managers take a proposition version from draft to published, the co-brand
//! partner accepting through the API in between. Pat and Sam (added by `ecohub staff add
//! --role product_manager`, with TOTP) sign in through the console's sign-in page in
//! Chromium. Pat writes a persona in the editor (refused in place first), tries it on a
//! customer, creates the Globetrotter loan through the draft form and submits it; approving
//! it herself is refused in words (four eyes). Sam approves it; publishing waits for the
//! travel partner, which accepts through its API; Sam publishes. A second version's draft is
//! compared with the first side by side; the funnel, attributes and contact policies render.

use ecohub_e2e::{bootstrap_staff, cli, onboard_partner, send, staff_client, wait_ready};
use ecohub_kernel::{Clock, SystemClock};
use ecohub_testkit::{HubProcess, loopback_client};
use serde_json::{Value, json};
use totp_rs::TOTP;

use crate::harness::Chrome;

const PASSWORD: &str = "correct horse battery staple";

struct ProductManager {
    username: &'static str,
    totp: TOTP,
}

fn add_product_manager(
    dir: &std::path::Path,
    username: &'static str,
    name: &str,
) -> ProductManager {
    let (ok, out, err) = cli(
        &[
            "staff",
            "add",
            "--username",
            username,
            "--display-name",
            name,
            "--role",
            "product_manager",
            "--password-stdin",
        ],
        dir,
        &[],
        Some(PASSWORD),
    );
    assert!(ok, "{err}");
    let added: Value = serde_json::from_str(out.trim()).unwrap();
    ProductManager {
        username,
        totp: TOTP::from_url(added["totp_provisioning_uri"].as_str().unwrap()).unwrap(),
    }
}

/// Signs `person` in on the console's sign-in page, as a person types.
async fn sign_in(chrome: &Chrome, hub: &HubProcess, person: &ProductManager) {
    chrome.goto(&hub.url("/console/login")).await;
    chrome.fill("#username", person.username).await;
    chrome.fill("#password", PASSWORD).await;
    let now = u64::try_from(SystemClock.now().unix_seconds()).unwrap();
    chrome.fill("#code", &person.totp.generate(now)).await;
    chrome
        .click("form[action='/console/login'] button[type=submit]")
        .await;
    chrome.expect_path("/console").await;
}

async fn sign_out(chrome: &Chrome) {
    chrome
        .click("form[action='/console/logout'] button[type=submit]")
        .await;
    chrome.expect_path("/console/login").await;
}

/// The Globetrotter loan's document but its name and description (the form's own fields),
/// co-branded by `partner_id`.
fn rest_of_the_loan(partner_id: &str) -> String {
    json!({
        "product": {"kind": "loan", "code": "PL-GLOBE", "name": "Globetrotter loan",
                    "terms": {"term_months": "12-60"}},
        "benefits": [{"partner_id": partner_id, "kind": "insurance",
                      "description": "Travel insurance for the whole family", "value": "12 months free"}],
        "availability": {"audience": {"all_of": ["globetrotter"]}, "channels": ["bank_app", "web"]},
        "parameters": {"type": "object", "required": ["amount"],
                       "properties": {"amount": {"type": "number", "minimum": 1000, "maximum": 50000}}},
        "pricing": {"rules": [{"name": "globetrotter large loan",
                               "condition": {"and": [{"var": "personas.globetrotter"},
                                                     {">": [{"var": "params.amount"}, 10000]}]},
                               "rate_percent": 5.3}],
                    "default": {"rate_percent": 7.9, "commission_percent": 1}}
    })
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_product_managers_publish_a_version_the_partner_accepting_in_between() {
    let mut chrome = Chrome::start("proposition-publishing").await;
    let dir = tempfile::tempdir().unwrap();
    let hub = HubProcess::start_in(dir.path(), &[]);
    wait_ready(&hub).await;
    let staff = bootstrap_staff(&hub, dir.path(), &[]).await;
    let partner = onboard_partner(
        &hub,
        &staff,
        &hub.url(""),
        "Globetrotter Travel Ltd",
        &["offer_partner"],
        "offers:read offers:write",
    )
    .await;
    // The attributes come from the bank's customer profile (defined through the staff API).
    let (_, api) = staff_client(&hub, &staff.maker, "catalogue set-up", "offers:manage").await;
    let http = loopback_client();
    for (name, kind, description) in [
        (
            "is_globetrotter",
            "boolean",
            "Travels abroad several times a year",
        ),
        ("monthly_income", "number", "Net monthly income"),
    ] {
        let (status, body) = send(
            http.put(hub.url(&format!("/offers/attributes/{name}")))
                .bearer_auth(&api)
                .json(&json!({"type": kind, "description": description,
                    "source": {"dataset": "customer_profile", "pointer": format!("/{name}")}})),
        )
        .await;
        assert_eq!(status, 200, "{body}");
    }
    let pat = add_product_manager(dir.path(), "pat", "Pat Jensen");
    let sam = add_product_manager(dir.path(), "sam", "Sam Okafor");

    // Pat finds the propositions from the console's landing page: none yet.
    sign_in(&chrome, &hub, &pat).await;
    chrome.look("console").await;
    chrome.follow("Propositions").await;
    chrome.expect_path("/console/propositions").await;
    assert!(chrome.text("main").await.contains("No proposition yet"));
    chrome.look("propositions-empty").await;

    // She writes the globetrotter persona; a misspelt attribute is refused next to the field.
    chrome.goto(&hub.url("/console/personas")).await;
    chrome.follow("Define a persona").await;
    chrome.fill("#name", "globetrotter").await;
    chrome.fill("#title", "Globetrotter").await;
    chrome
        .fill("#description", "Customers who travel abroad a lot")
        .await;
    chrome
        .fill("#condition", r#"{"==": [{"var": "is_globetroter"}, true]}"#)
        .await;
    chrome.click("form.editor button[type=submit]").await;
    let refusal = chrome.text("#condition-error").await;
    assert!(refusal.contains("/condition/==/0/var"), "{refusal}");
    chrome.look("persona-refused-in-place").await;
    chrome
        .fill(
            "#condition",
            r#"{"==": [{"var": "is_globetrotter"}, true]}"#,
        )
        .await;
    chrome.click("form.editor button[type=submit]").await;
    chrome
        .expect_path("/console/personas/globetrotter?done=saved")
        .await;
    chrome.fill("#customer_id", "cust-0042").await;
    chrome
        .click("form[action$='/dry-run'] button[type=submit]")
        .await;
    chrome
        .expect_text("section[aria-labelledby=dry-run]", "does not belong")
        .await;
    chrome.look("persona-dry-run").await;

    // She creates the Globetrotter loan through the draft form and submits it.
    chrome.goto(&hub.url("/console/propositions")).await;
    chrome.follow("Create a proposition").await;
    chrome.look("proposition-new").await;
    chrome.fill("#name", "Globetrotter personal loan").await;
    chrome
        .fill(
            "#description",
            "A personal loan for customers who travel, with travel insurance from our partner",
        )
        .await;
    chrome
        .fill("#document", &rest_of_the_loan(&partner.partner_id))
        .await;
    chrome.click("form.draft button[type=submit]").await;
    // The click may return before the next page replaced this one; its id is not known yet.
    let mut path = chrome.path().await;
    for _ in 0..200 {
        if path.ends_with("?done=created") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        path = chrome.path().await;
    }
    assert!(path.ends_with("?done=created"), "{path}");
    let id = path
        .trim_start_matches("/console/propositions/")
        .trim_end_matches("?done=created")
        .to_owned();
    assert!(
        chrome
            .text("section[aria-labelledby=versions]")
            .await
            .contains("you (Pat Jensen)")
    );
    chrome.look("proposition-drafted").await;
    chrome
        .click("form[action$='/versions/1/submit'] button")
        .await;
    chrome
        .expect_path(&format!("/console/propositions/{id}?done=submitted"))
        .await;

    // As its author, she is refused as the approver, in words; nothing changes.
    chrome
        .click("form[action$='/versions/1/approve'] button")
        .await;
    let refusal = chrome.text("[role=alert]").await;
    assert!(
        refusal.contains("the four-eyes rule needs the approver to be a different person"),
        "{refusal}"
    );
    assert!(chrome.text("#next").await.contains("submitted"));
    chrome.look("author-refused-as-approver").await;
    sign_out(&chrome).await;

    // Sam finds it waiting for approval and approves it.
    sign_in(&chrome, &hub, &sam).await;
    chrome.follow("Waiting for approval").await;
    chrome
        .expect_path("/console/propositions?status=submitted")
        .await;
    chrome.look("propositions-waiting-for-approval").await;
    chrome.follow("Globetrotter personal loan").await;
    chrome
        .click("form[action$='/versions/1/approve'] button")
        .await;
    chrome
        .expect_path(&format!("/console/propositions/{id}?done=approved"))
        .await;
    let next = chrome.text("section[aria-labelledby=next]").await;
    assert!(next.contains("Waiting for co-brand partners"), "{next}");
    assert!(
        chrome
            .text("section[aria-labelledby=versions]")
            .await
            .contains("not accepted yet")
    );
    chrome.look("approved-waiting-for-the-partner").await;

    // The travel partner accepts through its API.
    let token = partner.token(&hub, "offers:read offers:write").await;
    let (status, body) = send(
        http.put(hub.url(&format!("/partner/propositions/{id}/versions/1/acceptance")))
            .bearer_auth(&token),
    )
    .await;
    assert_eq!(status, 200, "{body}");

    // Sam publishes.
    chrome
        .goto(&hub.url(&format!("/console/propositions/{id}")))
        .await;
    assert!(
        chrome
            .text("section[aria-labelledby=next]")
            .await
            .contains("Every co-brand partner accepted")
    );
    chrome
        .click("form[action$='/versions/1/publish'] button")
        .await;
    chrome
        .expect_path(&format!("/console/propositions/{id}?done=published"))
        .await;
    assert!(
        chrome
            .text(".done")
            .await
            .starts_with("The version is published")
    );
    let versions = chrome.text("section[aria-labelledby=versions]").await;
    for expected in ["published", "Pat Jensen", "you (Sam Okafor)", "accepted"] {
        assert!(versions.contains(expected), "{expected}: {versions}");
    }
    let history = chrome.text("section[aria-labelledby=history]").await;
    for expected in ["co-branding accepted", "published", "approved", "submitted"] {
        assert!(history.contains(expected), "{expected}: {history}");
    }
    chrome.look("published").await;

    // Sam drafts version 2 with a lower default rate and compares it with version 1.
    let document = chrome.text("#document").await;
    let document = document.replace("7.9", "6.9");
    chrome.fill("#document", &document).await;
    chrome.fill("#period_days", "14").await;
    chrome.click("form.draft button[type=submit]").await;
    chrome
        .expect_path(&format!("/console/propositions/{id}?done=drafted"))
        .await;
    chrome.follow("Compare two versions side by side").await;
    let diff = chrome.text("main table").await;
    assert!(diff.contains("/pricing/default/rate_percent"), "{diff}");
    assert!(diff.contains("/contact_policy/period_days"), "{diff}");
    chrome.look("versions-side-by-side").await;

    // The catalogues and the report.
    chrome.goto(&hub.url("/console/attributes")).await;
    chrome.look("attributes").await;
    chrome.goto(&hub.url("/console/contact-policies")).await;
    chrome.look("contact-policies").await;
    chrome.goto(&hub.url("/console/offer-funnel")).await;
    chrome.look("offer-funnel").await;
    chrome.close().await;
}
