//! A compliance officer finds a consent by its customer, reads its timeline under the
//! "chain verified" badge, opens the data-access records under it, verifies the integrity of
//! every consent's chain, looks at the partner approvals and the offer trail, and downloads
//! the consent export. The data is made through the API of the running binary (a partner
//! onboarded, a consent authorised by the customer on the real pages, the bank's data read
//! under it); the officer is added by `ecohub staff add` and signs in with a TOTP code.

use ecohub_e2e::{
    PASSWORD, add_customer, authorise_consent, basic_accounts_consent, cli, create_consent,
    onboard, send, wait_ready,
};
use ecohub_kernel::{Clock, SystemClock};
use ecohub_testkit::{Browser, HubProcess, loopback_client};
use serde_json::{Value, json};
use totp_rs::TOTP;

use crate::harness::Chrome;

/// The partner, the customer and the consent the journey looks for.
struct Seeded {
    customer_id: String,
    consent: String,
}

/// Onboards a data recipient, has the customer authorise its consent, publishes the
/// customer's accounts and reads them under the consent (an access record).
async fn seed(hub: &HubProcess, dir: &std::path::Path) -> Seeded {
    let http = loopback_client();
    let (staff, recipient) = onboard(
        hub,
        dir,
        &[],
        &hub.url(""),
        "Globetrotter Travel Ltd",
        &["data_recipient"],
        "consents:write consents:read data:read",
    )
    .await;
    let customer_id = add_customer(dir, &[], "alice");
    let (status, publisher) = send(
        http.post(hub.url("/admin/clients"))
            .bearer_auth(&staff.maker)
            .json(&json!({"description": "core banking feed", "scope": "admin data:publish"})),
    )
    .await;
    assert_eq!(status, 201, "{publisher}");
    let publisher = ecohub_e2e::basic_token(
        hub,
        publisher["client_id"].as_str().unwrap(),
        publisher["client_secret"].as_str().unwrap(),
        "admin data:publish",
    )
    .await;
    let (status, published) = send(
        http.post(hub.url("/data/accounts/records"))
            .bearer_auth(&publisher)
            .json(
                &json!({"customer_id": customer_id, "records": [{"id": "acc-1", "data": {
                    "account_id": "acc-1", "currency": "GBP", "account_type": "personal",
                    "nickname": "Everyday", "iban": "GB29NWBK60161331926819",
                    "holder_name": "Alice Example"
                }}]}),
            ),
    )
    .await;
    assert_eq!(status, 200, "{published}");
    let consent = create_consent(hub, &recipient, &basic_accounts_consent(30)).await;
    let mut browser = Browser::new();
    let tokens =
        authorise_consent(hub, &recipient, &mut browser, &consent, ("alice", PASSWORD)).await;
    let (status, page) = send(
        http.get(hub.url("/data/accounts"))
            .bearer_auth(&tokens.access_token),
    )
    .await;
    assert_eq!(status, 200, "{page}");
    Seeded {
        customer_id,
        consent,
    }
}

/// Adds a compliance officer; returns their TOTP generator.
fn add_officer(dir: &std::path::Path) -> TOTP {
    let (ok, out, err) = cli(
        &[
            "staff",
            "add",
            "--username",
            "carol",
            "--display-name",
            "Carol Compliance",
            "--role",
            "compliance_officer",
            "--password-stdin",
        ],
        dir,
        &[],
        Some(PASSWORD),
    );
    assert!(ok, "{err}");
    let added: Value = serde_json::from_str(out.trim()).unwrap();
    TOTP::from_url(added["totp_provisioning_uri"].as_str().unwrap()).unwrap()
}

fn now() -> u64 {
    u64::try_from(SystemClock.now().unix_seconds()).unwrap()
}

/// A second session of the officer over plain HTTP (the previous time step's code, so that
/// the browser's sign-in with the current one is not a replay): its cookie fetches the
/// downloads as the browser would.
async fn http_session(hub: &HubProcess, totp: &TOTP) -> String {
    let mut browser = Browser::new();
    let form = browser.get(&hub.url("/console/login")).await;
    let csrf = form.input("csrf_token").unwrap();
    let code = totp.generate(now() - 30);
    let signed = browser
        .post_form(
            &hub.url("/console/login"),
            &[
                ("csrf_token", &csrf),
                ("username", "carol"),
                ("password", PASSWORD),
                ("code", &code),
            ],
        )
        .await;
    assert_eq!(signed.status, 303, "{}", signed.body);
    browser
        .cookie("ecohub_staff_session")
        .expect("a staff session")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compliance_officer_finds_a_consent_verifies_integrity_and_downloads_an_export() {
    let mut chrome = Chrome::start("compliance-audit").await;
    let dir = tempfile::tempdir().unwrap();
    let hub = HubProcess::start_in(dir.path(), &[]);
    wait_ready(&hub).await;
    let seeded = seed(&hub, dir.path()).await;
    let totp = add_officer(dir.path());
    let cookie = http_session(&hub, &totp).await;

    // Carol signs in; the console's landing page links the compliance pages.
    chrome.goto(&hub.url("/console/login")).await;
    chrome.fill("#username", "carol").await;
    chrome.fill("#password", PASSWORD).await;
    chrome.fill("#code", &totp.generate(now())).await;
    chrome
        .click("form[action='/console/login'] button[type=submit]")
        .await;
    chrome.expect_path("/console").await;
    chrome.look("console").await;

    // She finds the consent by its customer.
    chrome.follow("Consents").await;
    chrome.expect_path("/console/compliance/consents").await;
    chrome.fill("#customer", &seeded.customer_id).await;
    chrome.click("form.filters button[type=submit]").await;
    chrome
        .expect_path(&format!(
            "/console/compliance/consents?customer={}&partner=&status=&from=&to=",
            seeded.customer_id
        ))
        .await;
    let found = chrome.text("table").await;
    assert!(found.contains(&seeded.consent), "{found}");
    assert!(found.contains("Globetrotter Travel Ltd"), "{found}");
    assert!(found.contains("authorised"), "{found}");
    chrome.look("consent-search").await;

    // Its timeline, under the verified badge.
    chrome.follow(&seeded.consent).await;
    chrome
        .expect_path(&format!("/console/compliance/consents/{}", seeded.consent))
        .await;
    assert!(
        chrome
            .text("[role=status]")
            .await
            .contains("Chain verified")
    );
    let timeline = chrome.text("ol.timeline").await;
    for expected in [
        "Globetrotter Travel Ltd asked to read ReadAccountsBasic",
        "Tailor travel offers",
        &format!("The customer {} authorised the consent", seeded.customer_id),
    ] {
        assert!(timeline.contains(expected), "{expected}: {timeline}");
    }
    chrome.look("consent-timeline").await;

    // Who read data under it.
    chrome.follow("Who read data under this consent").await;
    chrome
        .expect_path(&format!(
            "/console/compliance/data-access?consent={}",
            seeded.consent
        ))
        .await;
    let accesses = chrome.text("table").await;
    assert!(accesses.contains("read 1 record of accounts"), "{accesses}");
    assert!(accesses.contains("account_id"), "{accesses}");
    assert!(!accesses.contains("iban"), "{accesses}");
    chrome.look("data-access").await;

    // Verify integrity: the same check as `ecohub audit verify`.
    chrome.goto(&hub.url("/console/compliance/consents")).await;
    chrome.look("consents-every").await;
    chrome
        .click("form[action='/console/compliance/consents/verify'] button[type=submit]")
        .await;
    chrome
        .expect_text("[role=status]", "Every chain verified")
        .await;
    let figures = chrome.text(".figures").await;
    assert!(figures.contains("consents (streams) checked"), "{figures}");
    chrome.look("integrity-verified").await;

    // The partner approvals and the offer trail.
    chrome
        .goto(&hub.url("/console/compliance/partner-approvals"))
        .await;
    let approvals = chrome.text("table").await;
    assert!(approvals.contains("Globetrotter Travel Ltd"), "{approvals}");
    assert!(approvals.contains("Approved by"), "{approvals}");
    chrome.look("partner-approvals").await;
    chrome
        .goto(&hub.url(&format!(
            "/console/compliance/offers?customer={}",
            seeded.customer_id
        )))
        .await;
    assert!(
        chrome
            .text("main")
            .await
            .contains("No offer was made to this customer")
    );
    chrome.look("offer-trail").await;

    // The export download: the link is on the page; fetched with the session's cookie, it
    // is a CSV attachment holding the consent's events.
    chrome.goto(&hub.url("/console/compliance/consents")).await;
    assert_eq!(chrome.text("a[href$='export.csv']").await, "Download CSV");
    let download = loopback_client()
        .get(hub.url("/console/compliance/consents/export.csv"))
        .header("cookie", format!("ecohub_staff_session={cookie}"))
        .send()
        .await
        .unwrap();
    assert_eq!(download.status(), 200);
    let header = |name: &str| {
        download
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(
        header("content-disposition"),
        "attachment; filename=\"consents.csv\""
    );
    assert_eq!(header("content-type"), "text/csv; charset=utf-8");
    let csv = download.text().await.unwrap();
    assert!(csv.starts_with("position,stream,revision,"), "{csv}");
    assert!(
        csv.contains(&format!("consent-{}", seeded.consent)),
        "{csv}"
    );
    assert!(csv.contains("ConsentAuthorised"), "{csv}");
    // Without a session the download is the sign-in page's redirect.
    let anonymous = loopback_client()
        .get(hub.url("/console/compliance/consents/export.csv"))
        .send()
        .await
        .unwrap();
    assert!(anonymous.url().path().ends_with("/console/login") || anonymous.status() == 303);
    chrome.close().await;
}
