//! A partnership manager approves a partner as the checker after a colleague recorded the
//! evidence. Two people added by `ecohub staff add` (with TOTP, codes computed here from the
//! provisioning URI) sign in through the console's sign-in page in Chromium. Ada records the
//! registry check and the sanctions screening, is refused as the approver (four eyes, in
//! words), signs out; Grace signs in and approves. The history names who did what, by name.

use ecohub_e2e::{cli, wait_ready};
use ecohub_kernel::{Clock, SystemClock};
use ecohub_testkit::{HubProcess, loopback_client};
use serde_json::{Value, json};
use totp_rs::TOTP;

use crate::harness::Chrome;

const PASSWORD: &str = "correct horse battery staple";

struct Person {
    username: &'static str,
    staff_id: String,
    totp: TOTP,
}

fn add_staff(dir: &std::path::Path, username: &'static str, name: &str) -> Person {
    let (ok, out, err) = cli(
        &[
            "staff",
            "add",
            "--username",
            username,
            "--display-name",
            name,
            "--role",
            "partnership_manager",
            "--password-stdin",
        ],
        dir,
        &[],
        Some(PASSWORD),
    );
    assert!(ok, "{err}");
    let added: Value = serde_json::from_str(out.trim()).unwrap();
    Person {
        username,
        staff_id: added["staff_id"].as_str().unwrap().to_owned(),
        totp: TOTP::from_url(added["totp_provisioning_uri"].as_str().unwrap()).unwrap(),
    }
}

/// Signs `person` in on the console's sign-in page, as a person types.
async fn sign_in(chrome: &mut Chrome, hub: &HubProcess, person: &Person, look: bool) {
    chrome.goto(&hub.url("/console/login")).await;
    if look {
        chrome.look("sign-in").await;
    }
    chrome.fill("#username", person.username).await;
    chrome.fill("#password", PASSWORD).await;
    let now = u64::try_from(SystemClock.now().unix_seconds()).unwrap();
    chrome.fill("#code", &person.totp.generate(now)).await;
    chrome
        .click("form[action='/console/login'] button[type=submit]")
        .await;
    chrome.expect_path("/console").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partnership_manager_approves_as_checker_after_a_colleague_recorded_the_evidence() {
    let mut chrome = Chrome::start("partner-approval").await;
    let dir = tempfile::tempdir().unwrap();
    let hub = HubProcess::start_in(dir.path(), &[]);
    wait_ready(&hub).await;
    let ada = add_staff(dir.path(), "ada", "Ada Lovelace");
    let grace = add_staff(dir.path(), "grace", "Grace Hopper");
    let applied: Value = loopback_client()
        .post(hub.url("/partners/applications"))
        .json(&json!({
            "legal_name": "Globetrotter Travel GmbH",
            "registration_number": "HRB 204518",
            "country": "DE",
            "website": "https://globetrotter.example",
            "contacts": [{"name": "Lena Fischer", "email": "lena@globetrotter.example", "role": "compliance"}],
            "requested_roles": ["data_recipient", "offer_partner"],
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let partner = applied["partner_id"].as_str().unwrap().to_owned();

    // Ada signs in and finds the new application from the console's landing page.
    sign_in(&mut chrome, &hub, &ada, true).await;
    chrome.look("console").await;
    chrome.follow("New applications").await;
    chrome.expect_path("/console/partners?status=applied").await;
    chrome.look("queue-new-applications").await;
    chrome.follow("Globetrotter Travel GmbH").await;
    chrome
        .expect_path(&format!("/console/partners/{partner}"))
        .await;
    assert!(
        chrome
            .text("section[aria-labelledby=checks]")
            .await
            .contains("No check is recorded yet")
    );
    chrome.look("partner-applied").await;

    // She records the two required checks.
    for (check, evidence) in [
        (
            "registry_check",
            "Handelsregister extract HRB 204518, 2026-12-01",
        ),
        ("sanctions_screening", "Screening case 2026/0042: no match"),
    ] {
        chrome.select("#check", check).await;
        chrome.click("input[name=result][value=passed]").await;
        chrome.fill("#evidence", evidence).await;
        chrome
            .click("form[action$='/verifications'] button[type=submit]")
            .await;
        chrome
            .expect_path(&format!("/console/partners/{partner}?done=check"))
            .await;
        chrome
            .expect_text("section[aria-labelledby=checks]", evidence)
            .await;
        assert_eq!(chrome.text(".done").await, "The check is recorded.");
    }
    let checks = chrome.text("section[aria-labelledby=checks]").await;
    assert!(
        checks.contains("Both required checks have passed"),
        "{checks}"
    );
    assert!(checks.contains("you (Ada Lovelace)"), "{checks}");
    chrome.look("partner-checks-recorded").await;

    // As the maker, she is refused as the approver, in words; nothing changes.
    chrome
        .click("form[action$='/approve'] button[type=submit]")
        .await;
    let refusal = chrome.text("[role=alert]").await;
    assert!(
        refusal.contains("the four-eyes rule needs the approver to be a different person"),
        "{refusal}"
    );
    assert!(chrome.text(".badge").await.contains("under review"));
    chrome.look("maker-refused-as-approver").await;

    // She signs out; the console needs a session again.
    chrome
        .click("form[action='/console/logout'] button[type=submit]")
        .await;
    chrome.expect_path("/console/login").await;
    chrome.goto(&hub.url("/console/partners")).await;
    chrome.expect_path("/console/login").await;

    // Grace signs in, finds the application under review and approves it.
    sign_in(&mut chrome, &hub, &grace, false).await;
    chrome.follow("Applications under review").await;
    chrome.look("queue-under-review").await;
    chrome.follow("Globetrotter Travel GmbH").await;
    let decision = chrome.text("section[aria-labelledby=decision]").await;
    assert!(!decision.contains("You recorded evidence"), "{decision}");
    chrome
        .fill("#redirect_uris", "https://globetrotter.example/callback")
        .await;
    chrome
        .fill("#note", "Registry and sanctions evidence reviewed")
        .await;
    chrome
        .click("form[action$='/approve'] button[type=submit]")
        .await;
    chrome
        .expect_path(&format!("/console/partners/{partner}?done=approved"))
        .await;
    assert!(
        chrome
            .text(".done")
            .await
            .starts_with("The partner is approved.")
    );
    assert_eq!(chrome.text(".badge").await, "approved");
    let history = chrome.text("section[aria-labelledby=history]").await;
    for expected in [
        "became approved",
        "you (Grace Hopper)",
        "Ada Lovelace",
        "Registry and sanctions evidence reviewed",
    ] {
        assert!(history.contains(expected), "{expected}: {history}");
    }
    // People by name, not by id.
    assert!(!history.contains(&grace.staff_id), "{history}");
    assert!(!history.contains(&ada.staff_id), "{history}");
    chrome.look("partner-approved").await;
    chrome.follow("The partner's OAuth clients").await;
    chrome
        .expect_path(&format!("/console/partners/{partner}/clients"))
        .await;
    assert!(
        chrome
            .text("main")
            .await
            .contains("The partner has registered no client.")
    );
    chrome.look("partner-oauth-clients").await;
    chrome.follow("The partner").await;
    chrome
        .expect_path(&format!("/console/partners/{partner}"))
        .await;
    chrome
        .follow("Notification subscriptions and delivery log")
        .await;
    chrome
        .expect_path(&format!("/console/partners/{partner}/deliveries"))
        .await;
    assert!(
        chrome
            .text("main")
            .await
            .contains("The partner has no subscription.")
    );
    chrome.look("partner-deliveries").await;
    chrome.follow("Partners").await;
    chrome.look("queue-every-partner").await;
    chrome.close().await;
}
