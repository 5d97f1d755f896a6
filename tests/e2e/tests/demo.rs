//! `ecohub serve --demo` (issue 15, ADR 0025), against the real binary: a fresh store is
//! filled with the demo ecosystem through the public API and served; the credentials printed
//! once let each role in; what it wrote is real events (`ecohub audit verify` passes); the
//! customer's dashboard says who used their data; running the command again serves the same
//! demo; a store holding anything else is refused.

use std::time::Duration;

use ecohub_e2e::{cli, wait_ready};
use ecohub_testkit::{Browser, HubProcess, ecohub_binary};
use serde_json::Value;

/// `(username, password)` of each person the summary lists, and the customers' password.
fn credentials(lines: &[String]) -> (Vec<(String, String, String)>, String) {
    let mut people = Vec::new();
    let mut customer_password = None;
    for line in lines {
        let words: Vec<&str> = line.split_whitespace().collect();
        if let Some(at) = words.iter().position(|w| *w == "password")
            && line.starts_with("  ")
            && at + 1 < words.len()
        {
            let role = words[at - 1].to_owned();
            people.push((words[0].to_owned(), words[at + 1].to_owned(), role));
        }
        if let Some((_, password)) = line.split_once("all with password ") {
            customer_password = Some(password.trim().to_owned());
        }
    }
    (
        people,
        customer_password.expect("the customers' password is printed"),
    )
}

async fn console_sign_in(hub: &HubProcess, username: &str, password: &str) -> Browser {
    let mut browser = Browser::new();
    let page = browser.get(&hub.url("/console/login")).await;
    let csrf = page.input("csrf_token").unwrap();
    let signed = browser
        .post_form(
            &hub.url("/console/login"),
            &[
                ("username", username),
                ("password", password),
                ("csrf_token", &csrf),
            ],
        )
        .await;
    assert_eq!(signed.status, 303, "{username}: {}", signed.body);
    assert_eq!(signed.location.as_deref(), Some("/console"));
    browser
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_demo_fills_a_fresh_store_with_an_ecosystem_each_role_can_work_in() {
    let dir = tempfile::tempdir().unwrap();
    let hub = HubProcess::start_in(dir.path(), &["--demo"]);
    wait_ready(&hub).await;
    let lines = hub.lines_until(Duration::from_secs(600), |l| {
        l.starts_with("API documentation:")
    });
    let (people, customer_password) = credentials(&lines);
    let roles: Vec<&str> = people.iter().map(|(_, _, r)| r.as_str()).collect();
    for role in [
        "partnership_manager",
        "product_manager",
        "compliance_officer",
        "administrator",
    ] {
        assert!(roles.contains(&role), "{role} missing: {lines:#?}");
    }

    // A partnership manager finds the retailer under review, its evidence recorded by a
    // colleague, and the fitness app suspended with its reason.
    let (ada, ada_password, _) = &people[0];
    let mut browser = console_sign_in(&hub, ada, ada_password).await;
    let queue = browser
        .get(&hub.url("/console/partners?status=under_review"))
        .await;
    assert_eq!(queue.status, 200, "{}", queue.body);
    assert!(
        queue.body.contains("Northwind Retail plc"),
        "{}",
        queue.body
    );
    let suspended = browser
        .get(&hub.url("/console/partners?status=suspended"))
        .await;
    assert!(
        suspended.body.contains("PulseFit Ltd"),
        "{}",
        suspended.body
    );

    // A product manager sees the propositions in their states (through the staff API with
    // the session).
    let anna = people
        .iter()
        .find(|(_, _, r)| r == "product_manager")
        .unwrap();
    let mut pm = console_sign_in(&hub, &anna.0, &anna.1).await;
    let req = pm.request(reqwest::Method::GET, &hub.url("/offers/propositions"));
    let listed = pm.send(req).await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    let listed: Value = serde_json::from_str(&listed.body).unwrap();
    let names: Vec<&str> = listed["propositions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    for name in [
        "Globetrotter personal loan",
        "Active saver account",
        "Everyday cashback card",
    ] {
        assert!(names.contains(&name), "{name} missing: {listed}");
    }

    // A customer with an authorised consent sees who used their data, in words.
    let mut customer = Browser::new();
    let login = customer.get(&hub.url("/login?return_to=/dashboard")).await;
    let csrf = login.input("csrf_token").unwrap();
    let signed = customer
        .post_form(
            &hub.url("/login"),
            &[
                ("username", "george"),
                ("password", &customer_password),
                ("csrf_token", &csrf),
                ("return_to", "/dashboard"),
            ],
        )
        .await;
    assert_eq!(signed.status, 303, "{}", signed.body);
    let dashboard = customer.get(&hub.url("/dashboard")).await;
    assert_eq!(dashboard.status, 200, "{}", dashboard.body);
    assert!(
        dashboard
            .body
            .contains("Globetrotter Travel Ltd read your accounts"),
        "{}",
        dashboard.body
    );
    assert!(dashboard.body.contains("Ecohub Bank"), "{}", dashboard.body);
    // The travel firm's booking for him triggered the trip cover, shown with its reason.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let offers = customer.get(&hub.url("/dashboard/offers")).await;
        assert_eq!(offers.status, 200, "{}", offers.body);
        if offers.body.contains("Just for this moment") {
            assert!(offers.body.contains("Trip cover"), "{}", offers.body);
            assert!(
                offers
                    .body
                    .contains("You booked a trip abroad with Globetrotter"),
                "{}",
                offers.body
            );
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the triggered offer never showed: {}",
            offers.body
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Everything is real events: the hash chains verify while the hub runs.
    let (ok, out, err) = cli(&["audit", "verify"], dir.path(), &[], None);
    assert!(ok, "{out}{err}");
    let report: Value = serde_json::from_str(out.trim()).unwrap();
    assert!(report["streams"].as_u64().unwrap() >= 16, "{report}");
    assert_eq!(report["first_break"], Value::Null, "{report}");

    // Again: the demo is served as it is, with no new credentials.
    let (status, _) = hub.terminate();
    assert!(status.success(), "{status:?}");
    let again = HubProcess::start_in(dir.path(), &["--demo"]);
    wait_ready(&again).await;
    let said = again.lines_until(Duration::from_secs(30), |l| {
        l.contains("serving the demo ecosystem loaded at")
    });
    assert!(!said.iter().any(|l| l.contains("password")), "{said:#?}");
    again.terminate();
}

#[test]
fn serve_demo_refuses_a_store_that_holds_something_else() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, _, err) = cli(&["admin", "bootstrap"], dir.path(), &[], None);
    assert!(ok, "{err}");
    let out = std::process::Command::new(ecohub_binary())
        .args(["serve", "--demo", "--bind", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--demo fills a fresh store") && stderr.contains("holds events already"),
        "{stderr}"
    );
}
