//! Bundled offers as the bank and a co-brand partner use them, through the real binary on the
//! embedded store (the journey of docs/offers.md): staff define attributes over the bank's
//! `customer_profile` and a `globetrotter` persona; one product manager drafts and submits
//! the Globetrotter loan, approving it herself is refused (maker-checker), a second one
//! approves; it cannot be published before the co-brand partner accepts with its own token;
//! once published, dry runs over customers' bank-published profiles price it as the seed
//! says (5.3 % / 4.5 % / the default) and explain why. A partner that does not co-brand it
//! cannot see it; the history names who did what.

use std::time::{Duration, Instant};

use ecohub_e2e::{
    Hub, PASSWORD, add_customer, authorise_consent, authorise_consent_for, basic_accounts_consent,
    bootstrap_staff, create_consent, onboard_partner, send, staff_client, wait_ready,
};
use ecohub_testkit::{Browser, HubProcess, loopback_client};
use serde_json::{Value, json};

/// The seed's Globetrotter loan, co-branded by `partner_id` (travel insurance).
fn globetrotter_loan(partner_id: &str) -> Value {
    json!({
        "name": "Globetrotter personal loan",
        "description": "A personal loan for customers who travel, with travel insurance from our travel partner",
        "product": {"kind": "loan", "code": "PL-GLOBE", "name": "Globetrotter loan",
                    "terms": {"term_months": "12-60"}},
        "benefits": [{"partner_id": partner_id, "kind": "insurance",
                      "description": "Travel insurance for the whole family", "value": "12 months free"}],
        "availability": {"audience": {"all_of": ["globetrotter"]},
                         "channels": ["bank_app", "web", "partner_channel"]},
        "parameters": {"type": "object", "required": ["amount"],
                       "properties": {"amount": {"type": "number", "minimum": 1000, "maximum": 50000}}},
        "pricing": {
            "rules": [
                {"name": "globetrotter high income large loan",
                 "condition": {"and": [{"var": "personas.globetrotter"},
                                       {">": [{"var": "monthly_income"}, 5000]},
                                       {">": [{"var": "params.amount"}, 10000]}]},
                 "rate_percent": 5.3, "commission_percent": 0},
                {"name": "globetrotter modest income mid-size loan",
                 "condition": {"and": [{"var": "personas.globetrotter"},
                                       {"<": [{"var": "monthly_income"}, 5000]},
                                       {"<=": [5000, {"var": "params.amount"}, 10000]}]},
                 "rate_percent": 4.5, "commission_percent": 1}
            ],
            "default": {"rate_percent": 7.9, "commission_percent": 1}
        },
        "add_ons": [{"name": "life insurance", "kind": "insurance",
                     "description": "Life cover for the outstanding balance",
                     "condition": {"and": [{"var": "personas.globetrotter"},
                                           {">": [{"var": "params.amount"}, 10000]}]}}]
    })
}

/// Polls `POST /offers/propositions/{id}/dry-run` until the customer's profile has reached
/// the sharing service's read model (the persona read a value), then returns the evaluation.
async fn dry_run(hub: &impl Hub, token: &str, id: &str, body: Value) -> Value {
    let http = loopback_client();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, run) = send(
            http.post(hub.url(&format!("/offers/propositions/{id}/dry-run")))
                .bearer_auth(token)
                .json(&body),
        )
        .await;
        assert_eq!(status, 200, "{run}");
        let persona = &run["personas"][0];
        if persona["explanation"]["values"]["is_globetrotter"].is_boolean() {
            return run;
        }
        assert!(
            Instant::now() < deadline,
            "the profile never reached the dry run: {run}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_globetrotter_loan_from_draft_to_priced_offers() {
    let dir = tempfile::tempdir().unwrap();
    let hub = HubProcess::start_in(dir.path(), &[]);
    wait_ready(&hub).await;
    let http = loopback_client();
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
    let outsider = onboard_partner(
        &hub,
        &staff,
        &hub.url(""),
        "Fitness Club Ltd",
        &["offer_partner"],
        "offers:read offers:write",
    )
    .await;
    // Two product managers: two people for maker-checker.
    let (anna_id, anna) =
        staff_client(&hub, &staff.maker, "product manager A", "offers:manage").await;
    let (ben_id, ben) =
        staff_client(&hub, &staff.maker, "product manager B", "offers:manage").await;

    // Attributes: fields of the bank's customer_profile.
    for (name, r#type, description) in [
        ("age", "number", "Age in years"),
        ("monthly_income", "number", "Net monthly income"),
        (
            "is_globetrotter",
            "boolean",
            "Travels abroad several times a year",
        ),
        (
            "risk_class",
            "string",
            "Credit risk class: low, medium or high",
        ),
    ] {
        let (status, body) = send(
            http.put(hub.url(&format!("/offers/attributes/{name}")))
                .bearer_auth(&anna)
                .json(&json!({"type": r#type, "description": description,
                    "source": {"dataset": "customer_profile", "pointer": format!("/{name}")}})),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            (body["name"].as_str(), body["revision"].as_u64()),
            (Some(name), Some(1)),
            "{body}"
        );
    }

    // Personas: a condition naming an unknown attribute is refused with its path.
    let (status, problem) = send(
        http.put(hub.url("/offers/personas/globetrotter"))
            .bearer_auth(&anna)
            .json(
                &json!({"title": "Globetrotter", "description": "Customers who travel a lot",
                "condition": {"==": [{"var": "is_globetroter"}, true]}}),
            ),
    )
    .await;
    assert_eq!(status, 400, "{problem}");
    assert_eq!(
        problem["errors"][0]["field"], "/condition/==/0/var",
        "{problem}"
    );
    let (status, persona) = send(
        http.put(hub.url("/offers/personas/globetrotter"))
            .bearer_auth(&anna)
            .json(
                &json!({"title": "Globetrotter", "description": "Customers who travel a lot",
                "condition": {"==": [{"var": "is_globetrotter"}, true]}}),
            ),
    )
    .await;
    assert_eq!(
        (status, persona["latest_version"].as_u64()),
        (200, Some(1)),
        "{persona}"
    );

    // Anna drafts and submits the Globetrotter loan.
    let (status, created) = send(
        http.post(hub.url("/offers/propositions"))
            .bearer_auth(&anna)
            .json(&globetrotter_loan(&partner.partner_id)),
    )
    .await;
    assert_eq!(
        (status, created["version"].as_u64()),
        (201, Some(1)),
        "{created}"
    );
    let id = created["id"].as_str().unwrap().to_owned();
    let version = |action: &str| hub.url(&format!("/offers/propositions/{id}/versions/1/{action}"));
    let (status, body) = send(http.post(version("submit")).bearer_auth(&anna)).await;
    assert_eq!(
        (status, body["versions"][0]["status"].as_str()),
        (200, Some("submitted")),
        "{body}"
    );

    // Anna cannot approve what she submitted, and nothing changes.
    let (status, problem) = send(http.post(version("approve")).bearer_auth(&anna)).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("conflict")),
        "{problem}"
    );
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("maker-checker"),
        "{problem}"
    );
    let proposition = hub.url(&format!("/offers/propositions/{id}"));
    let (status, view) = send(http.get(&proposition).bearer_auth(&ben)).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["versions"][0]["status"], "submitted", "{view}");
    assert!(view["versions"][0].get("approved_by").is_none(), "{view}");

    // Ben approves.
    let (status, body) = send(http.post(version("approve")).bearer_auth(&ben)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (
            body["versions"][0]["status"].as_str(),
            body["versions"][0]["approved_by"].as_str()
        ),
        (Some("approved"), Some(format!("client:{ben_id}").as_str())),
        "{body}"
    );

    // Publishing waits for the co-brand partner.
    let (status, problem) = send(http.post(version("publish")).bearer_auth(&anna)).await;
    assert_eq!(status, 409, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains(&partner.partner_id),
        "{problem}"
    );

    // The partner sees the proposition it co-brands, and accepts it with its own token.
    let partner_token = partner.token(&hub, "offers:read offers:write").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, list) = send(
            http.get(hub.url("/partner/propositions"))
                .bearer_auth(&partner_token),
        )
        .await;
        assert_eq!(status, 200, "{list}");
        if list["propositions"][0]["id"] == id.as_str() {
            assert_eq!(list["propositions"].as_array().unwrap().len(), 1, "{list}");
            break;
        }
        assert!(Instant::now() < deadline, "never listed: {list}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let acceptance = hub.url(&format!("/partner/propositions/{id}/versions/1/acceptance"));
    let (status, body) = send(http.put(&acceptance).bearer_auth(&partner_token)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["versions"][0]["accepted_by"],
        json!([partner.partner_id]),
        "{body}"
    );
    assert_eq!(
        body["versions"][0]["awaiting_acceptance"],
        json!([]),
        "{body}"
    );

    // A partner that does not co-brand it cannot see it, nor accept it.
    let outsider_token = outsider.token(&hub, "offers:read offers:write").await;
    let (status, problem) = send(
        http.get(hub.url(&format!("/partner/propositions/{id}")))
            .bearer_auth(&outsider_token),
    )
    .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (404, Some("not_found")),
        "{problem}"
    );
    let (status, problem) = send(http.put(&acceptance).bearer_auth(&outsider_token)).await;
    assert_eq!(status, 404, "{problem}");

    // Published.
    let (status, body) = send(http.post(version("publish")).bearer_auth(&anna)).await;
    assert_eq!(
        (status, body["published_version"].as_u64()),
        (200, Some(1)),
        "{body}"
    );
    assert_eq!(body["versions"][0]["status"], "published", "{body}");

    // The bank publishes its customers' profiles.
    let (_, feed) = staff_client(
        &hub,
        &staff.maker,
        "core banking feed",
        "admin data:publish",
    )
    .await;
    let mut customers = Vec::new();
    for (username, profile) in [
        (
            "alice",
            json!({"age": 34, "monthly_income": 6000, "risk_class": "low", "is_globetrotter": true}),
        ),
        (
            "bob",
            json!({"age": 29, "monthly_income": 4000, "risk_class": "medium", "is_globetrotter": true}),
        ),
        (
            "carol",
            json!({"age": 51, "monthly_income": 8000, "risk_class": "low", "is_globetrotter": false}),
        ),
    ] {
        let customer_id = add_customer(dir.path(), &[], username);
        let (status, body) = send(
            http.post(hub.url("/data/customer_profile/records"))
                .bearer_auth(&feed)
                .json(&json!({"customer_id": customer_id,
                    "records": [{"id": "profile", "data": profile}]})),
        )
        .await;
        assert_eq!((status, body["stored"].as_u64()), (200, Some(1)), "{body}");
        customers.push(customer_id);
    }

    // Alice (globetrotter, income 6000) borrowing 15000: 5.3 %, no commission, life insurance.
    let run = dry_run(
        &hub,
        &ben,
        &id,
        json!({"customer_id": customers[0], "params": {"amount": 15000}, "channel": "bank_app"}),
    )
    .await;
    assert_eq!(run["version"], 1, "{run}");
    assert_eq!(run["available"], true, "{run}");
    assert!(run.get("excluded_by").is_none(), "{run}");
    let persona = &run["personas"][0];
    assert_eq!(
        (
            &persona["persona"],
            &persona["version"],
            &persona["matched"]
        ),
        (&json!("globetrotter"), &json!(1), &json!(true)),
        "{run}"
    );
    assert_eq!(
        persona["explanation"]["values"],
        json!({"is_globetrotter": true}),
        "{run}"
    );
    let price = &run["price"];
    assert_eq!(
        (
            &price["rule"],
            &price["rate_percent"],
            &price["commission_percent"]
        ),
        (
            &json!("globetrotter high income large loan"),
            &json!(5.3),
            &json!(0.0)
        ),
        "{run}"
    );
    let tried = &price["tried"][0];
    assert_eq!(tried["held"], true, "{run}");
    let parts: Vec<(&Value, &Value)> = tried["explanation"]["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (&p["held"], &p["values"]))
        .collect();
    assert_eq!(
        parts,
        [
            (&json!(true), &json!({"personas.globetrotter": true})),
            (&json!(true), &json!({"monthly_income": 6000})),
            (&json!(true), &json!({"params.amount": 15000})),
        ],
        "{run}"
    );
    assert_eq!(
        (&run["add_ons"][0]["name"], &run["add_ons"][0]["included"]),
        (&json!("life insurance"), &json!(true)),
        "{run}"
    );
    assert_eq!(
        run["benefits"][0]["partner_id"],
        partner.partner_id.as_str(),
        "{run}"
    );

    // Not through a channel it is not offered in.
    let run = dry_run(
        &hub,
        &ben,
        &id,
        json!({"customer_id": customers[0], "params": {"amount": 15000}, "channel": "branch"}),
    )
    .await;
    assert_eq!(
        (&run["available"], &run["excluded_by"]["code"]),
        (&json!(false), &json!("channel_not_offered")),
        "{run}"
    );

    // Parameters are checked against the version's schema.
    let (status, problem) = send(
        http.post(hub.url(&format!("/offers/propositions/{id}/dry-run")))
            .bearer_auth(&ben)
            .json(&json!({"customer_id": customers[0], "params": {"amount": "lots"}})),
    )
    .await;
    assert_eq!(status, 400, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "/params/amount", "{problem}");

    // Bob (globetrotter, income 4000) borrowing 7500: 4.5 %, no life insurance.
    let run = dry_run(
        &hub,
        &ben,
        &id,
        json!({"customer_id": customers[1], "params": {"amount": 7500}}),
    )
    .await;
    assert_eq!(run["available"], true, "{run}");
    assert_eq!(
        (&run["price"]["rule"], &run["price"]["rate_percent"]),
        (
            &json!("globetrotter modest income mid-size loan"),
            &json!(4.5)
        ),
        "{run}"
    );
    let tried: Vec<&Value> = run["price"]["tried"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| &t["held"])
        .collect();
    assert_eq!(tried, [&json!(false), &json!(true)], "{run}");
    assert_eq!(run["add_ons"][0]["included"], false, "{run}");

    // Carol (not a globetrotter): the default price, and not in the audience.
    let run = dry_run(
        &hub,
        &ben,
        &id,
        json!({"customer_id": customers[2], "params": {"amount": 15000}}),
    )
    .await;
    assert_eq!(run["personas"][0]["matched"], false, "{run}");
    assert!(run["price"].get("rule").is_none(), "{run}");
    assert_eq!(
        (
            &run["price"]["rate_percent"],
            &run["price"]["commission_percent"]
        ),
        (&json!(7.9), &json!(1.0)),
        "{run}"
    );
    assert_eq!(run["add_ons"][0]["included"], false, "{run}");
    assert_eq!(
        (&run["available"], &run["excluded_by"]["code"]),
        (&json!(false), &json!("audience_all_of")),
        "{run}"
    );

    // The history: who did what, and nothing of the refused approval.
    let (status, history) = send(
        http.get(hub.url(&format!("/offers/propositions/{id}/history")))
            .bearer_auth(&ben),
    )
    .await;
    assert_eq!(status, 200, "{history}");
    let events: Vec<(&str, &str)> = history["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap(),
                e["actor"].as_str().unwrap_or("-"),
            )
        })
        .collect();
    let (anna_actor, ben_actor, partner_actor) = (
        format!("client:{anna_id}"),
        format!("client:{ben_id}"),
        format!("client:{}", partner.client_id),
    );
    assert_eq!(
        events,
        [
            ("PropositionDrafted", anna_actor.as_str()),
            ("PropositionVersionSubmitted", anna_actor.as_str()),
            ("PropositionVersionApproved", ben_actor.as_str()),
            ("PropositionCoBrandingAccepted", partner_actor.as_str()),
            ("PropositionVersionPublished", anna_actor.as_str()),
        ],
        "{history}"
    );
    assert_eq!(
        history["events"][3]["partner_id"],
        partner.partner_id.as_str(),
        "{history}"
    );

    // A change is a new version: drafted, dry-run before it is offered, approved, accepted;
    // publishing it retires version 1.
    let mut v2 = globetrotter_loan(&partner.partner_id);
    v2["pricing"]["default"]["rate_percent"] = json!(7.5);
    let (status, created) = send(
        http.post(hub.url(&format!("/offers/propositions/{id}/versions")))
            .bearer_auth(&anna)
            .json(&v2),
    )
    .await;
    assert_eq!(
        (status, created["version"].as_u64()),
        (201, Some(2)),
        "{created}"
    );
    let run = dry_run(
        &hub,
        &ben,
        &id,
        json!({"customer_id": customers[2], "params": {"amount": 15000}, "version": 2}),
    )
    .await;
    assert_eq!(
        (
            &run["version"],
            &run["excluded_by"]["code"],
            &run["price"]["rate_percent"]
        ),
        (&json!(2), &json!("not_published"), &json!(7.5)),
        "{run}"
    );
    let version2 =
        |action: &str| hub.url(&format!("/offers/propositions/{id}/versions/2/{action}"));
    let (status, body) = send(http.post(version2("submit")).bearer_auth(&anna)).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = send(http.post(version2("approve")).bearer_auth(&ben)).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = send(
        http.put(hub.url(&format!("/partner/propositions/{id}/versions/2/acceptance")))
            .bearer_auth(&partner_token),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = send(http.post(version2("publish")).bearer_auth(&ben)).await;
    assert_eq!(status, 200, "{body}");
    let statuses: Vec<&Value> = body["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| &v["status"])
        .collect();
    assert_eq!(
        (body["published_version"].as_u64(), statuses),
        (Some(2), vec![&json!("retired"), &json!("published")]),
        "{body}"
    );
    let (_, history) = send(
        http.get(hub.url(&format!("/offers/propositions/{id}/history")))
            .bearer_auth(&ben),
    )
    .await;
    let events = history["events"].as_array().unwrap();
    let retired = &events[events.len() - 2];
    assert_eq!(
        (
            &retired["type"],
            &retired["version"],
            &retired["reason"],
            &retired["actor"]
        ),
        (
            &json!("PropositionVersionRetired"),
            &json!(1),
            &json!("superseded by version 2"),
            &json!(ben_actor)
        ),
        "{history}"
    );

    // The bank app decides with its own client (`offers:decide`): Alice is offered the loan
    // at 5.3 %, recorded before the answer; she declines; the next decision holds it back.
    let (_, app) = staff_client(&hub, &staff.maker, "bank app", "offers:decide").await;
    let decide = || async {
        let (status, decision) = send(
            http.post(hub.url("/offers/decisions"))
                .bearer_auth(&app)
                .json(&json!({"customer_id": customers[0], "channel": "bank_app",
                              "placement": "home_banner", "params": {"amount": 15000}})),
        )
        .await;
        assert_eq!(status, 200, "{decision}");
        decision
    };
    let decision = decide().await;
    let offer = &decision["offers"][0];
    assert_eq!(
        (&offer["proposition_id"], &offer["price"]["rate_percent"]),
        (&json!(id), &json!(5.3)),
        "{decision}"
    );
    assert_eq!(offer["personas"][0]["matched"], true, "{decision}");
    let (status, declined) = send(
        http.post(hub.url("/offers/responses"))
            .bearer_auth(&app)
            .json(
                &json!({"customer_id": customers[0], "offer_id": offer["offer_id"],
                          "response": "declined"}),
            ),
    )
    .await;
    assert_eq!(
        (status, &declined["status"]),
        (200, &json!("declined")),
        "{declined}"
    );
    assert_eq!(
        decide().await["offers"],
        json!([]),
        "suppressed after the decline"
    );
    // A product manager's token cannot decide; the bank app cannot manage propositions.
    let (status, _) = send(
        http.post(hub.url("/offers/decisions"))
            .bearer_auth(&ben)
            .json(&json!({"customer_id": customers[0], "channel": "bank_app",
                          "placement": "home_banner"})),
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = send(http.get(hub.url("/offers/propositions")).bearer_auth(&app)).await;
    assert_eq!(status, 403);

    // The co-brand partner is suspended: the very next dry run excludes the proposition (its
    // standing is read from the partner's stream, not from a projection).
    let (status, body) = send(
        http.post(hub.url(&format!("/admin/partners/{}/suspend", partner.partner_id)))
            .bearer_auth(&staff.checker)
            .json(&json!({"reason": "sanctions hit under review"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, run) = send(
        http.post(hub.url(&format!("/offers/propositions/{id}/dry-run")))
            .bearer_auth(&ben)
            .json(&json!({"customer_id": customers[0], "params": {"amount": 15000}})),
    )
    .await;
    assert_eq!(status, 200, "{run}");
    assert_eq!(
        (
            run["available"].as_bool(),
            run["excluded_by"]["code"].as_str()
        ),
        (Some(false), Some("partner_not_active")),
        "{run}"
    );

    let (exit, _) = hub.terminate();
    assert!(exit.success());
}

/// Partner-provided attributes (ADR 0021), through the real binary: a travel partner publishes
/// a customer's travel profile by the pairwise id it knows them by; a persona over that
/// profile matches only once the customer lets the bank use the partner's data on their
/// dashboard, and no longer from the very next evaluation after they revoke it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partners_data_personalises_offers_only_under_the_customers_consent_to_the_bank() {
    let dir = tempfile::tempdir().unwrap();
    let hub = HubProcess::start_in(dir.path(), &[]);
    wait_ready(&hub).await;
    let http = loopback_client();
    let staff = bootstrap_staff(&hub, dir.path(), &[]).await;
    let travel = onboard_partner(
        &hub,
        &staff,
        &hub.url(""),
        "Globetrotter Travel Ltd",
        &["data_recipient", "data_provider"],
        "consents:read consents:write data:read data:publish",
    )
    .await;
    let customer_id = add_customer(dir.path(), &[], "dora");
    let (_, anna) = staff_client(&hub, &staff.maker, "product manager", "offers:manage").await;

    // The partner knows Dora by her pairwise id, from a consent she gave it.
    let consent = create_consent(&hub, &travel, &basic_accounts_consent(30)).await;
    let mut browser = Browser::new();
    let tokens = authorise_consent(&hub, &travel, &mut browser, &consent, ("dora", PASSWORD)).await;
    let mut form = travel.auth_form();
    form.push(("token", tokens.access_token.clone()));
    let (status, introspected) = send(http.post(hub.url("/introspect")).form(&form)).await;
    assert_eq!(status, 200, "{introspected}");
    let pairwise = introspected["sub"].as_str().unwrap().to_owned();
    assert_ne!(pairwise, customer_id, "partners never learn the hub's id");
    let publisher = travel.token(&hub, "data:publish").await;
    let (status, body) = send(
        http.post(hub.url("/data/travel_profile/records"))
            .bearer_auth(&publisher)
            .json(
                &json!({"customer_id": pairwise, "records": [{"id": "profile",
                "data": {"home_airport": "LHR", "trips_per_year": 9, "is_globetrotter": true}}]}),
            ),
    )
    .await;
    assert_eq!(status, 200, "{body}");

    // Staff: an attribute from the partner's dataset, and a persona over it.
    let (status, body) = send(
        http.put(hub.url("/offers/attributes/trips_per_year"))
            .bearer_auth(&anna)
            .json(
                &json!({"type": "number", "description": "Trips a year (travel partner)",
                "source": {"dataset": "travel_profile", "pointer": "/trips_per_year"}}),
            ),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = send(
        http.put(hub.url("/offers/personas/frequent_traveller"))
            .bearer_auth(&anna)
            .json(
                &json!({"title": "Frequent traveller", "description": "Six trips a year or more",
                "condition": {">=": [{"var": "trips_per_year"}, 6]}}),
            ),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let persona_run = || async {
        let (status, run) = send(
            http.post(hub.url("/offers/personas/frequent_traveller/dry-run"))
                .bearer_auth(&anna)
                .json(&json!({"customer_id": customer_id})),
        )
        .await;
        assert_eq!(status, 200, "{run}");
        run
    };

    // No consent to the bank: the partner's record is not read, however long we wait for
    // the record to reach the read model.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let run = persona_run().await;
    assert_eq!(run["matched"], false, "{run}");
    assert_eq!(run["explanation"]["values"]["trips_per_year"], Value::Null);

    // Dora allows it on her dashboard (the form, with her session's CSRF token).
    let page = browser.get(&hub.url("/dashboard")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("Globetrotter Travel Ltd"),
        "{}",
        page.body
    );
    let csrf = page.input("csrf_token").unwrap();
    let granted = browser
        .post_form(
            &hub.url("/dashboard/bank-consents"),
            &[
                ("csrf_token", &csrf),
                ("data_provider", &travel.partner_id),
                ("permission", "ReadTravelProfile"),
                ("days", "365"),
            ],
        )
        .await;
    assert_eq!(granted.status, 303, "{}", granted.body);
    let deadline = Instant::now() + Duration::from_secs(10);
    let run = loop {
        let run = persona_run().await;
        if run["matched"] == true {
            break run;
        }
        assert!(Instant::now() < deadline, "never matched: {run}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    assert_eq!(run["explanation"]["values"]["trips_per_year"], 9, "{run}");

    // Dora revokes it: the very next evaluation no longer reads the partner's data.
    let to_bank = granted
        .location
        .as_deref()
        .unwrap()
        .trim_start_matches("/dashboard#consent-")
        .to_owned();
    let revoked = browser
        .post_form(
            &hub.url(&format!("/dashboard/consents/{to_bank}/revoke")),
            &[("csrf_token", &csrf)],
        )
        .await;
    assert_eq!(revoked.status, 303, "{}", revoked.body);
    let run = persona_run().await;
    assert_eq!(run["matched"], false, "{run}");
    assert_eq!(run["explanation"]["values"]["trips_per_year"], Value::Null);

    // Her consent to the partner itself is untouched, and the partner never sees hers to the
    // bank.
    let consents_token = travel.token(&hub, "consents:read").await;
    let (status, _) = send(
        http.get(hub.url(&format!("/consents/{to_bank}")))
            .bearer_auth(&consents_token),
    )
    .await;
    assert_eq!(status, 404);
    let (status, own) = send(
        http.get(hub.url(&format!("/consents/{consent}")))
            .bearer_auth(&consents_token),
    )
    .await;
    assert_eq!(
        (status, &own["status"]),
        (200, &json!("Authorised")),
        "{own}"
    );

    let (exit, _) = hub.terminate();
    assert!(exit.success());
}

/// A co-brand partner's app decides for its customer under a consent granting it `ReadOffers`
/// (the real flow: PAR, the customer's approval, a consent-bound token), reports the
/// acceptance, and is refused on the next request once the customer revokes the consent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_co_brand_partners_app_decides_under_the_customers_consent() {
    let dir = tempfile::tempdir().unwrap();
    let hub = HubProcess::start_in(dir.path(), &[]);
    wait_ready(&hub).await;
    let http = loopback_client();
    let staff = bootstrap_staff(&hub, dir.path(), &[]).await;
    let partner = onboard_partner(
        &hub,
        &staff,
        &hub.url(""),
        "Globetrotter Travel Ltd",
        &["data_recipient", "offer_partner"],
        "consents:write offers:read offers:write",
    )
    .await;
    let (_, anna) = staff_client(&hub, &staff.maker, "product manager A", "offers:manage").await;
    let (_, ben) = staff_client(&hub, &staff.maker, "product manager B", "offers:manage").await;
    add_customer(dir.path(), &[], "dora");

    // A proposition for every customer, co-branded by the partner, published.
    let (status, created) = send(
        http.post(hub.url("/offers/propositions"))
            .bearer_auth(&anna)
            .json(&json!({
                "name": "Travel card", "description": "A card with travel insurance",
                "product": {"kind": "card", "code": "CARD-TRAVEL", "name": "Travel card"},
                "benefits": [{"partner_id": partner.partner_id, "kind": "insurance",
                              "description": "Travel insurance", "value": "included"}],
                "availability": {"audience": {}, "channels": ["partner_channel"]},
                "pricing": {"rules": [], "default": {"rate_percent": 0}}
            })),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let version = |action: &str| hub.url(&format!("/offers/propositions/{id}/versions/1/{action}"));
    assert_eq!(
        send(http.post(version("submit")).bearer_auth(&anna))
            .await
            .0,
        200
    );
    assert_eq!(
        send(http.post(version("approve")).bearer_auth(&ben))
            .await
            .0,
        200
    );
    let back_office = partner.token(&hub, "offers:read offers:write").await;
    let (status, body) = send(
        http.put(hub.url(&format!("/partner/propositions/{id}/versions/1/acceptance")))
            .bearer_auth(&back_office),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        send(http.post(version("publish")).bearer_auth(&ben))
            .await
            .0,
        200
    );

    // Without a consent the partner's back office cannot decide.
    let body = json!({"placement": "app_home"});
    let (status, _) = send(
        http.post(hub.url("/partner/decisions"))
            .bearer_auth(&back_office)
            .json(&body),
    )
    .await;
    assert_eq!(status, 403);

    // Dora lets the partner receive offers for her.
    let mut consent_body = basic_accounts_consent(30);
    consent_body["permissions"] = json!(["ReadOffers"]);
    let consent = create_consent(&hub, &partner, &consent_body).await;
    let mut browser = Browser::new();
    let tokens = authorise_consent_for(
        &hub,
        &partner,
        &mut browser,
        &consent,
        ("dora", PASSWORD),
        "offers:read offers:write",
    )
    .await;
    let decide = || async {
        send(
            http.post(hub.url("/partner/decisions"))
                .bearer_auth(&tokens.access_token)
                .json(&body),
        )
        .await
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    let decision = loop {
        let (status, decision) = decide().await;
        assert_eq!(status, 200, "{decision}");
        if decision["offers"].as_array().is_some_and(|o| !o.is_empty()) {
            break decision;
        }
        assert!(Instant::now() < deadline, "{decision}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    assert_eq!(decision["offers"][0]["proposition_id"], id.as_str());
    let offer = decision["offers"][0]["offer_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, answered) = send(
        http.post(hub.url(&format!("/partner/offers/{offer}/response")))
            .bearer_auth(&tokens.access_token)
            .json(&json!({"response": "accepted"})),
    )
    .await;
    assert_eq!(
        (status, &answered["status"]),
        (200, &json!("accepted")),
        "{answered}"
    );

    // Dora revokes it on her dashboard: the very next request is refused.
    let page = browser.get(&hub.url("/dashboard")).await;
    let csrf = page.input("csrf_token").unwrap();
    let revoked = browser
        .post_form(
            &hub.url(&format!("/dashboard/consents/{consent}/revoke")),
            &[("csrf_token", &csrf)],
        )
        .await;
    assert_eq!(revoked.status, 303, "{}", revoked.body);
    let (status, _) = decide().await;
    assert!(status == 401 || status == 403, "{status}");

    let (exit, _) = hub.terminate();
    assert!(exit.success());
}
