//! The staff list: the partner directory read model, paginated and filtered.

use serde_json::{Value, json};

use crate::support::*;

async fn collect(t: &TestApp, first: &str) -> (Vec<String>, usize) {
    let mut names = Vec::new();
    let mut pages = 0;
    let mut next = Some(first.to_owned());
    while let Some(uri) = next {
        let res = t.get(&uri, Some(STAFF_A)).await;
        assert_eq!(res.status, 200, "{:#}", res.body);
        pages += 1;
        for p in res.body["data"].as_array().unwrap() {
            names.push(p["legal_name"].as_str().unwrap().to_owned());
        }
        next = res.body["links"]["next"].as_str().map(str::to_owned);
    }
    (names, pages)
}

#[actix_web::test]
async fn staff_list_partners_page_by_page_and_by_status() {
    let t = TestApp::new().await;
    let mut ids = Vec::new();
    for n in 1..=5 {
        let (id, _) = t.apply(&format!("Partner {n}")).await;
        ids.push(id);
    }
    t.verify(&ids[1]).await;
    t.approve(&ids[1]).await;
    t.verify(&ids[3]).await;
    t.approve(&ids[3]).await;
    let res = t
        .post(
            &format!("/admin/partners/{}/reject", ids[4]),
            Some(STAFF_A),
            json!({"reason": "incomplete"}),
        )
        .await;
    assert_eq!(res.status, 200);
    t.directory_caught_up().await;

    let res = t.get("/admin/partners?page_size=2", Some(STAFF_A)).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.body["meta"]["page_size"], 2);
    assert_eq!(res.body["links"]["self"], "/admin/partners?page_size=2");
    let first: &Value = &res.body["data"][0];
    assert_eq!(first["partner_id"], ids[0].as_str());
    assert_eq!(first["status"], "applied");
    assert_eq!(first["country"], "DE");
    assert_eq!(
        first["requested_roles"],
        json!(["data_recipient", "offer_partner"])
    );
    assert_eq!(first["granted_roles"], json!([]));

    let (all, pages) = collect(&t, "/admin/partners?page_size=2").await;
    assert_eq!(
        all,
        [
            "Partner 1",
            "Partner 2",
            "Partner 3",
            "Partner 4",
            "Partner 5"
        ]
    );
    assert_eq!(pages, 3);

    let (approved, _) = collect(&t, "/admin/partners?status=approved&page_size=1").await;
    assert_eq!(approved, ["Partner 2", "Partner 4"]);
    let res = t
        .get("/admin/partners?status=approved&page_size=1", Some(STAFF_A))
        .await;
    assert!(
        res.body["links"]["next"]
            .as_str()
            .unwrap()
            .starts_with("/admin/partners?status=approved&page_size=1&cursor=")
    );
    assert_eq!(
        res.body["data"][0]["granted_roles"],
        json!(["data_recipient", "offer_partner"])
    );
    let (applied, _) = collect(&t, "/admin/partners?status=applied").await;
    assert_eq!(applied, ["Partner 1", "Partner 3"]);
    let (rejected, _) = collect(&t, "/admin/partners?status=rejected").await;
    assert_eq!(rejected, ["Partner 5"]);
    let (suspended, _) = collect(&t, "/admin/partners?status=suspended").await;
    assert!(suspended.is_empty());

    // The list follows status changes, and rebuilds from zero to the same answer.
    let res = t
        .post(
            &format!("/admin/partners/{}/suspend", ids[1]),
            Some(STAFF_A),
            json!({"reason": "audit"}),
        )
        .await;
    assert_eq!(res.status, 200);
    t.directory_caught_up().await;
    let (suspended, _) = collect(&t, "/admin/partners?status=suspended").await;
    assert_eq!(suspended, ["Partner 2"]);
    let before = t.get("/admin/partners", Some(STAFF_A)).await.body;
    t.directory.rebuild().await.unwrap();
    t.directory_caught_up().await;
    let after = t.get("/admin/partners", Some(STAFF_A)).await.body;
    assert_eq!(before["data"], after["data"]);
    assert_eq!(after["data"].as_array().unwrap().len(), 5);
}

#[actix_web::test]
async fn other_services_pages_get_partners_legal_names_by_id() {
    let t = TestApp::new().await;
    let (first, _) = t.apply("Wanderlust Travel GmbH").await;
    let (second, _) = t.apply("Fit & Well AG").await;
    let unknown = ecohub_kernel::PartnerId::parse("0190a000-0000-7000-8000-00000000dead").unwrap();
    let ids = [&second, &first].map(|id| ecohub_kernel::PartnerId::parse(id).unwrap());
    let names = t
        .state
        .legal_names([ids[0], unknown, ids[1]])
        .await
        .unwrap();
    assert_eq!(
        names,
        vec![
            (ids[0], "Fit & Well AG".to_owned()),
            (ids[1], "Wanderlust Travel GmbH".to_owned()),
        ],
        "in the order asked; a partner that never applied is left out"
    );
}
