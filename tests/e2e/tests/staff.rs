//! Staff people through the real binary (ADR 0023): `ecohub staff add` prints a person and,
//! once, the provisioning URI of their second factor; the person signs in on the console's
//! page with a TOTP code computed here from that URI, sees the console, and acts on the staff
//! API through the session (CSRF token on unsafe requests) as themself — so the maker-checker
//! rule compares people: the one who recorded a partner's evidence is refused as its
//! approver, another person approves. A code is used once; sign-out and disabling count at
//! once; an automation client keeps working beside them.

use ecohub_e2e::{bootstrap_staff, cli, send, wait_ready};
use ecohub_kernel::{Clock, SystemClock};
use ecohub_testkit::{Browser, HubProcess, loopback_client};
use reqwest::Method;
use serde_json::{Value, json};
use totp_rs::TOTP;

const PASSWORD: &str = "correct horse battery staple";

struct Person {
    staff_id: String,
    totp: TOTP,
}

fn add_staff(dir: &std::path::Path, username: &str, name: &str, roles: &[&str]) -> Person {
    let mut args = vec![
        "staff",
        "add",
        "--username",
        username,
        "--display-name",
        name,
        "--password-stdin",
    ];
    for role in roles {
        args.extend(["--role", role]);
    }
    let (ok, out, err) = cli(&args, dir, &[], Some(PASSWORD));
    assert!(ok, "{err}");
    let added: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(added["status"], "active", "{added}");
    assert!(added.get("password_hash").is_none(), "{added}");
    let uri = added["totp_provisioning_uri"].as_str().unwrap();
    assert!(uri.starts_with("otpauth://totp/Ecohub:"), "{uri}");
    Person {
        staff_id: added["staff_id"].as_str().unwrap().to_owned(),
        totp: TOTP::from_url(uri).unwrap(),
    }
}

fn code(person: &Person) -> String {
    let now = u64::try_from(SystemClock.now().unix_seconds()).unwrap();
    person.totp.generate(now)
}

/// Opens the console's sign-in page and posts the form.
async fn sign_in(hub: &HubProcess, browser: &mut Browser, username: &str, code: &str) -> u16 {
    let page = browser.get(&hub.url("/console/login")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("<label for=\"code\">"), "{}", page.body);
    let csrf = page.input("csrf_token").unwrap();
    let signed = browser
        .post_form(
            &hub.url("/console/login"),
            &[
                ("username", username),
                ("password", PASSWORD),
                ("code", code),
                ("csrf_token", &csrf),
            ],
        )
        .await;
    if signed.status == 303 {
        assert_eq!(signed.location.as_deref(), Some("/console"));
        let session = signed
            .set_cookies
            .iter()
            .find(|c| c.starts_with("ecohub_staff_session="))
            .unwrap();
        assert!(session.contains("HttpOnly"), "{session}");
        assert!(session.contains("SameSite=Strict"), "{session}");
    }
    signed.status
}

/// The console's landing page and the session's CSRF token.
async fn console(hub: &HubProcess, browser: &mut Browser) -> (String, String) {
    let page = browser.get(&hub.url("/console")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let csrf = page.input("csrf_token").unwrap();
    (page.body, csrf)
}

async fn api(
    hub: &HubProcess,
    browser: &mut Browser,
    path: &str,
    body: &Value,
    csrf: Option<&str>,
) -> (u16, Value) {
    let mut req = browser.request(Method::POST, &hub.url(path)).json(body);
    if let Some(csrf) = csrf {
        req = req.header("x-csrf-token", csrf);
    }
    let page = browser.send(req).await;
    (
        page.status,
        serde_json::from_str(&page.body).unwrap_or(Value::Null),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_people_sign_in_with_totp_and_maker_checker_compares_people() {
    let dir = tempfile::tempdir().unwrap();
    let hub = HubProcess::start_in(dir.path(), &[]);
    wait_ready(&hub).await;
    let http = loopback_client();

    // Added by the CLI while the hub runs.
    let ada = add_staff(dir.path(), "Ada", "Ada Lovelace", &["partnership_manager"]);
    let grace = add_staff(
        dir.path(),
        "grace",
        "Grace Hopper",
        &["partnership-manager", "compliance_officer"],
    );
    let (ok, out, _) = cli(&["staff", "list"], dir.path(), &[], None);
    assert!(ok);
    let listed: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(listed.len(), 2, "{out}");
    assert_eq!(listed[1]["scopes"], json!(["admin", "audit"]), "{out}");
    assert!(!out.contains("otpauth") && !out.contains("argon2"), "{out}");
    let (ok, _, err) = cli(
        &[
            "staff",
            "add",
            "--username",
            "ada",
            "--display-name",
            "Another Ada",
            "--role",
            "administrator",
            "--password-stdin",
        ],
        dir.path(),
        &[],
        Some(PASSWORD),
    );
    assert!(!ok && err.contains("taken"), "{err}");

    // Ada signs in with a code of her authenticator and sees the console.
    let mut ada_browser = Browser::new();
    let wrong = if code(&ada) == "000000" {
        "111111"
    } else {
        "000000"
    };
    assert_eq!(sign_in(&hub, &mut ada_browser, "ada", wrong).await, 401);
    let ada_code = code(&ada);
    assert_eq!(sign_in(&hub, &mut ada_browser, "ADA", &ada_code).await, 303);
    let (page, ada_csrf) = console(&hub, &mut ada_browser).await;
    for expected in [
        "Ada Lovelace",
        "Partnership manager",
        &ada.staff_id,
        "href=\"/console/partners?status=under_review\"",
        "action=\"/console/logout\"",
    ] {
        assert!(page.contains(expected), "{expected} missing: {page}");
    }
    assert!(!page.contains("/audit/consents"), "{page}");
    // The same code a second time is refused (RFC 6238 §5.2), on a fresh browser.
    let mut replay = Browser::new();
    assert_eq!(sign_in(&hub, &mut replay, "ada", &ada_code).await, 401);

    // A partner applies; Ada records the evidence through her session.
    let (status, applied) = send(http.post(hub.url("/partners/applications")).json(&json!({
        "legal_name": "Globetrotter Travel Ltd",
        "registration_number": "09876543",
        "country": "GB",
        "website": "https://globetrotter.example",
        "contacts": [{"name": "Ada Lovelace", "email": "ada@globetrotter.example", "role": "technical"}],
        "requested_roles": ["data_recipient"]
    })))
    .await;
    assert_eq!(status, 201, "{applied}");
    let partner = applied["partner_id"].as_str().unwrap().to_owned();
    let evidence = json!({"check": "registry_check", "result": "passed", "evidence": "ref 42"});
    let verifications = format!("/admin/partners/{partner}/verifications");
    let (status, body) = api(&hub, &mut ada_browser, &verifications, &evidence, None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("forbidden")),
        "{body}"
    );
    let (status, body) = api(
        &hub,
        &mut ada_browser,
        &verifications,
        &evidence,
        Some(&ada_csrf),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let screening =
        json!({"check": "sanctions_screening", "result": "passed", "evidence": "ref 43"});
    let (status, _) = api(
        &hub,
        &mut ada_browser,
        &verifications,
        &screening,
        Some(&ada_csrf),
    )
    .await;
    assert_eq!(status, 200);
    let ada_actor = format!("staff:{}", ada.staff_id);
    assert_eq!(body["verifications"][0]["by"], json!(ada_actor), "{body}");

    // Ada may not approve what she verified: the rule compares people.
    let approve = format!("/admin/partners/{partner}/approve");
    let approval = json!({"redirect_uris": ["https://globetrotter.example/callback"]});
    let (status, body) = api(&hub, &mut ada_browser, &approve, &approval, Some(&ada_csrf)).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("conflict")),
        "{body}"
    );
    assert!(
        body["detail"].as_str().unwrap().contains("maker-checker"),
        "{body}"
    );

    // Grace, another person, approves.
    let mut grace_browser = Browser::new();
    assert_eq!(
        sign_in(&hub, &mut grace_browser, "grace", &code(&grace)).await,
        303
    );
    let (page, grace_csrf) = console(&hub, &mut grace_browser).await;
    assert!(page.contains("Compliance officer") && page.contains("/console/compliance/consents"));
    let (status, body) = api(
        &hub,
        &mut grace_browser,
        &approve,
        &approval,
        Some(&grace_csrf),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let record = grace_browser
        .get(&hub.url(&format!("/admin/partners/{partner}")))
        .await;
    assert_eq!(record.status, 200, "{}", record.body);
    assert!(
        record
            .body
            .contains(&format!("\"by\":\"staff:{}\"", grace.staff_id)),
        "{}",
        record.body
    );

    // Automation: an OAuth staff client keeps working beside the people.
    let clients = bootstrap_staff(&hub, dir.path(), &[]).await;
    let (status, _) = send(
        http.get(hub.url("/admin/partners"))
            .bearer_auth(&clients.maker),
    )
    .await;
    assert_eq!(status, 200);

    // Signing out ends the session at once; the cookie no longer opens anything.
    let stale = ada_browser
        .cookie("ecohub_staff_session")
        .unwrap()
        .to_owned();
    let out = ada_browser
        .post_form(&hub.url("/console/logout"), &[("csrf_token", &ada_csrf)])
        .await;
    assert_eq!(out.status, 303);
    assert_eq!(out.location.as_deref(), Some("/console/login"));
    let (status, _) = send(
        http.get(hub.url("/admin/partners"))
            .header("cookie", format!("ecohub_staff_session={stale}")),
    )
    .await;
    assert_eq!(status, 401);
    let page = ada_browser.get(&hub.url("/console")).await;
    assert_eq!(page.location.as_deref(), Some("/console/login"));

    // Disabling Grace ends her session at once too.
    let (ok, out, err) = cli(
        &["staff", "disable", "--username", "grace"],
        dir.path(),
        &[],
        None,
    );
    assert!(ok, "{err}");
    assert!(out.contains("\"status\":\"disabled\""), "{out}");
    let page = grace_browser.get(&hub.url("/admin/partners")).await;
    assert_eq!(page.status, 401, "{}", page.body);
}
