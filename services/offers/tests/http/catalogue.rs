//! Attributes and personas over HTTP.

use serde_json::json;

use crate::support::*;

#[actix_web::test]
async fn attributes_and_personas_are_defined_listed_and_versioned() {
    let app = TestApp::new().await;
    app.catalogue().await;
    let list = app.get("/offers/attributes", PM2).await;
    assert_eq!(list.status, 200);
    let names: Vec<&str> = list.body["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "age",
            "is_globetrotter",
            "monthly_income",
            "products_held",
            "risk_class"
        ]
    );
    assert_eq!(list.body["attributes"][0]["defined_by"], "client:pm-1");
    // A new version only when the persona changes.
    let body = json!({"title": "globetrotter", "description": "fixture",
                      "condition": crate::fixtures::globetrotter()});
    let same = app.put("/offers/personas/globetrotter", PM2, body).await;
    assert_eq!(same.body["latest_version"], 1);
    let changed = app
        .put(
            "/offers/personas/globetrotter",
            PM2,
            json!({"title": "Globetrotter", "description": "travels abroad, adult",
                   "condition": {"and": [crate::fixtures::globetrotter(), {">=": [{"var": "age"}, 18]}]}}),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    assert_eq!(changed.body["latest_version"], 2);
    assert_eq!(changed.body["versions"][1]["defined_by"], "client:pm-2");
    assert_eq!(
        changed.body["versions"][0]["condition"],
        crate::fixtures::globetrotter(),
        "version 1 never changes"
    );
    let got = app.get("/offers/personas/globetrotter", PM1).await;
    assert_eq!(got.body["versions"].as_array().unwrap().len(), 2);
    app.get("/offers/personas/nobody", PM1)
        .await
        .problem(404, "not_found");
}

#[actix_web::test]
async fn a_persona_with_an_unknown_attribute_or_a_type_mismatch_is_refused_naming_the_path() {
    let app = TestApp::new().await;
    app.catalogue().await;
    let before = app.events("personas-catalogue").await;
    let r = app
        .put(
            "/offers/personas/rich",
            PM1,
            json!({"title": "Rich", "description": "x",
                   "condition": {"and": [{">": [{"var": "salary"}, 10000]}]}}),
        )
        .await;
    r.problem(400, "invalid_request");
    assert_eq!(r.fields(), ["/condition/and/0/>/0/var"]);
    let r = app
        .put(
            "/offers/personas/rich",
            PM1,
            json!({"title": "Rich", "description": "x",
                   "condition": {">": [{"var": "monthly_income"}, "lots"]}}),
        )
        .await;
    r.problem(400, "invalid_request");
    assert_eq!(r.fields(), ["/condition/>/1"]);
    let r = app
        .put(
            "/offers/personas/rich",
            PM1,
            json!({"title": "Rich", "description": "x",
                   "condition": {"reduce": [[1], {"var": "current"}, 0]}}),
        )
        .await;
    r.problem(400, "invalid_request");
    assert_eq!(r.fields(), ["/condition/reduce"]);
    let r = app
        .put(
            "/offers/personas/Rich!",
            PM1,
            json!({"title": "Rich", "description": "x", "condition": crate::fixtures::globetrotter()}),
        )
        .await;
    r.problem(400, "invalid_request");
    assert_eq!(r.fields(), ["/name"]);
    assert_eq!(
        app.events("personas-catalogue").await,
        before,
        "nothing written"
    );
}

#[actix_web::test]
async fn an_attribute_needs_a_catalogued_dataset_and_keeps_its_type() {
    let app = TestApp::new().await;
    let r = app
        .put(
            "/offers/attributes/age",
            PM1,
            json!({"type": "number", "description": "Age",
                   "source": {"dataset": "horoscope", "pointer": "/age"}}),
        )
        .await;
    r.problem(400, "invalid_request");
    assert_eq!(r.fields(), ["/source/dataset"]);
    assert_eq!(app.events("attributes-catalogue").await, 0);
    app.catalogue().await;
    let r = app
        .put(
            "/offers/attributes/age",
            PM1,
            json!({"type": "string", "description": "Age",
                   "source": {"dataset": "customer_profile", "pointer": "/age"}}),
        )
        .await;
    r.problem(409, "conflict");
    let r = app
        .put(
            "/offers/attributes/age",
            PM1,
            json!({"type": "number", "description": "Age", "colour": "red",
                   "source": {"dataset": "customer_profile", "pointer": "/age"}}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    // Not JSON: 415, as the document says.
    app.send(bearer(
        actix_web::test::TestRequest::put()
            .uri("/offers/attributes/age")
            .insert_header(("content-type", "text/plain"))
            .set_payload("type=number"),
        PM1,
    ))
    .await
    .problem(415, "unsupported_media_type");
}

#[actix_web::test]
async fn only_product_managers_manage_offers() {
    let app = TestApp::new().await;
    app.send(actix_web::test::TestRequest::get().uri("/offers/attributes"))
        .await
        .problem(401, "unauthorized");
    app.get("/offers/attributes", AUDITOR)
        .await
        .problem(403, "insufficient_scope");
    app.get(
        "/offers/personas",
        &partner_token("0190a000-0000-7000-8000-000000000001"),
    )
    .await
    .problem(403, "insufficient_scope");
}

#[actix_web::test]
async fn a_persona_dry_run_explains_the_match_for_a_customer() {
    let app = TestApp::new().await;
    app.catalogue().await;
    app.profile("cust-1", "bank", json!({"age": 38, "risk_class": "high"}));
    let r = app
        .post(
            "/offers/personas/prime/dry-run",
            PM1,
            json!({"customer_id": "cust-1"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["matched"], false);
    let parts = r.body["explanation"]["parts"].as_array().unwrap();
    assert_eq!(parts.len(), 3);
    assert_eq!(
        (
            parts[0]["held"].clone(),
            parts[1]["held"].clone(),
            parts[2]["held"].clone()
        ),
        (json!(true), json!(true), json!(false))
    );
    assert_eq!(parts[2]["values"]["risk_class"], "high");
    // A partner's record for the same customer is not used (not yet admitted).
    app.profile(
        "cust-1",
        "0190a000-0000-7000-8000-000000000001",
        json!({"risk_class": "low"}),
    );
    let r = app
        .post(
            "/offers/personas/prime/dry-run",
            PM1,
            json!({"customer_id": "cust-1"}),
        )
        .await;
    assert_eq!(r.body["matched"], false);
}
