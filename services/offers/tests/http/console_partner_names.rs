//! Co-brand partners by name on the console's pages (issue 15): the product manager's list,
//! proposition page and diff, and the compliance officer's trail name partners as the partners
//! service holds them (the `PartnerNames` port, asked once per page), with the id beside the
//! name and a link to the partner's page only for people whose roles open it; when the port
//! cannot answer, the pages still render, with ids.

use actix_web::test::TestRequest;
use serde_json::json;

use crate::support::*;

const P: &str = "0190a000-0000-7000-8000-000000000001";
const OTHER: &str = "0190a000-0000-7000-8000-000000000002";
const NAME: &str = "Wanderlust &#60;Travel&#62; GmbH";
const OTHER_NAME: &str = "Fit &#38; Well AG";

async fn page(app: &TestApp, uri: &str, who: &str) -> Res {
    let res = app
        .send(
            TestRequest::get()
                .uri(uri)
                .insert_header(("cookie", format!("ecohub_staff_session={who}"))),
        )
        .await;
    assert_eq!(res.status, 200, "{uri}: {}", res.text);
    res
}

/// `page`, asking the port exactly once.
async fn page_once(app: &TestApp, uri: &str, who: &str) -> Res {
    let before = app.partner_names.calls();
    let res = page(app, uri, who).await;
    assert_eq!(
        app.partner_names.calls() - before,
        1,
        "{uri}: one call per page"
    );
    res
}

fn link(partner: &str) -> String {
    format!("href=\"/console/partners/{partner}\"")
}

/// The Globetrotter loan published with `P`, and version 2 drafted with `OTHER` instead; its id.
async fn two_versions(app: &TestApp) -> String {
    app.partner_names.name(P, "Wanderlust <Travel> GmbH");
    app.partner_names.name(OTHER, "Fit & Well AG");
    let id = app.published_loan(P).await;
    let r = app
        .post(
            &format!("/offers/propositions/{id}/versions"),
            PM1,
            crate::fixtures::globetrotter_loan(OTHER),
        )
        .await;
    assert!(r.status < 300, "{}", r.text);
    // The list (a read model) shows version 2 once it has applied it.
    let pid = ecohub_offers::domain::PropositionId::parse(&id).unwrap();
    for _ in 0..200 {
        if app
            .state
            .index
            .get(pid)
            .is_some_and(|p| p.versions.len() == 2)
        {
            return id;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("the list never showed version 2");
}

#[actix_web::test]
async fn the_product_managers_pages_name_co_brand_partners_with_their_ids() {
    let app = TestApp::new().await;
    let id = two_versions(&app).await;
    for uri in [
        "/console/propositions".to_owned(),
        format!("/console/propositions/{id}"),
        format!("/console/propositions/{id}/diff?from=1&to=2"),
    ] {
        // A product manager: names and ids, no link to a page their roles do not open.
        let res = page_once(&app, &uri, "pat").await;
        assert!(res.text.contains(OTHER_NAME), "{uri}: {}", res.text);
        assert!(
            res.text.contains(&format!("id <code>{OTHER}</code>")),
            "{uri}"
        );
        assert!(!res.text.contains(&link(OTHER)), "{uri}: {}", res.text);
        // An administrator: the names link to the partners' pages.
        let res = page_once(&app, &uri, "root").await;
        assert!(res.text.contains(&link(OTHER)), "{uri}: {}", res.text);
    }
    // Version 1's partner is on the proposition page (its acceptance, its history) and in
    // the diff; the list shows the latest version's partners.
    let res = page(&app, &format!("/console/propositions/{id}"), "pat").await;
    assert!(res.text.contains(NAME), "{}", res.text);
    assert!(
        res.text.contains(&format!("{NAME} (partner {P})")),
        "the history names who accepted: {}",
        res.text
    );
    let diff = page(
        &app,
        &format!("/console/propositions/{id}/diff?from=1&to=2"),
        "pat",
    )
    .await;
    assert!(
        diff.text.contains("/benefits/0/partner_id"),
        "{}",
        diff.text
    );
    assert!(
        diff.text.contains(NAME) && diff.text.contains(OTHER_NAME),
        "{}",
        diff.text
    );
}

#[actix_web::test]
async fn without_the_partners_service_the_pages_show_ids() {
    let app = TestApp::new().await;
    let id = two_versions(&app).await;
    app.partner_names
        .unavailable
        .store(true, std::sync::atomic::Ordering::SeqCst);
    for uri in [
        "/console/propositions".to_owned(),
        format!("/console/propositions/{id}"),
        format!("/console/propositions/{id}/diff?from=1&to=2"),
    ] {
        let res = page(&app, &uri, "pat").await;
        assert!(
            res.text.contains(&format!("partner {OTHER}")),
            "{uri}: {}",
            res.text
        );
        assert!(!res.text.contains(OTHER_NAME), "{uri}");
    }
    let res = page(&app, "/console/compliance/offers", "carol").await;
    assert!(res.text.contains(&format!("partner {P}")), "{}", res.text);
    // A partner the partners service does not know is shown by id, the others by name.
    app.partner_names
        .unavailable
        .store(false, std::sync::atomic::Ordering::SeqCst);
    app.partner_names.names.lock().unwrap().clear();
    app.partner_names.name(P, "Wanderlust <Travel> GmbH");
    let res = page(&app, "/console/propositions", "pat").await;
    assert!(
        res.text.contains(&format!("partner {OTHER}")),
        "{}",
        res.text
    );
}

#[actix_web::test]
async fn the_offer_trail_names_co_brand_partners() {
    let app = TestApp::new().await;
    app.partner_names.name(P, "Wanderlust <Travel> GmbH");
    app.published_loan(P).await;
    app.profile(
        "cust-1",
        "bank",
        json!({"is_globetrotter": true, "monthly_income": 6000, "age": 35, "risk_class": "low"}),
    );
    let r = app
        .post(
            "/offers/decisions",
            CHANNEL,
            json!({"customer_id": "cust-1", "channel": "bank_app", "placement": "home_banner",
                   "params": {"amount": 15000}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let res = page_once(&app, "/console/compliance/offers?customer=cust-1", "carol").await;
    // The offer's co-brand partner and the approvals' co-branding step, by name.
    assert!(
        res.text.contains(&format!(
            "{NAME} <span class=\"hint partner-id\">id <code>{P}</code>"
        )),
        "{}",
        res.text
    );
    assert!(
        res.text
            .contains(&format!("co-branding accepted by {NAME} (partner {P})")),
        "{}",
        res.text
    );
    assert!(
        !res.text.contains(&link(P)),
        "a compliance officer's roles do not open it"
    );
    let res = page_once(&app, "/console/compliance/offers?customer=cust-1", "root").await;
    assert!(res.text.contains(&link(P)), "{}", res.text);
}
