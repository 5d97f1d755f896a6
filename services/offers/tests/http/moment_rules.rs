//! Financial moments' staff API: the moment catalogue (defaults, staff overrides and new
//! types), trigger rules (checked against their moment type's vocabulary, revised) and their
//! dry run; bad input is a 400 naming the path and writes nothing; the routes need
//! `offers:manage`.

use serde_json::{Value, json};

use crate::support::*;

const P: &str = "0190a000-0000-7000-8000-000000000001";
const TYPES: &str = "momenttypes-catalogue";
const RULES: &str = "triggerrules-catalogue";

fn names(list: &Value, key: &str) -> Vec<String> {
    list[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect()
}

/// A trigger rule on `travel_booked` putting `proposition` forward.
fn rule(proposition: &str, condition: Value) -> Value {
    json!({"reason": "You booked a trip abroad", "moment_type": "travel_booked",
           "condition": condition, "propositions": [proposition],
           "validity_days": 14, "priority": 100})
}

fn trip(amount: f64) -> Value {
    json!({"destination": "Lisbon", "departure_date": "2027-07-01", "amount": amount,
           "currency": "EUR"})
}

#[actix_web::test]
async fn the_default_moment_types_are_listed_with_their_condition_variables() {
    let app = TestApp::new().await;
    let list = app.get("/offers/moment-types", PM1).await;
    assert_eq!(list.status, 200, "{}", list.text);
    assert_eq!(list.body["default_file_version"], 1);
    assert_eq!(
        names(&list.body, "moment_types"),
        [
            "gym_joined",
            "large_purchase",
            "moved_home",
            "salary_received",
            "travel_booked"
        ]
    );
    let travel = &list.body["moment_types"][4];
    assert_eq!(travel["revision"], 0);
    assert_eq!(travel["origin"], "default");
    assert_eq!(travel["defined_by"], Value::Null);
    assert_eq!(travel["providers"], json!(["data_provider"]));
    assert_eq!(travel["schema"]["required"][0], "destination");
    assert_eq!(
        travel["variables"],
        json!([
            {"name": "moment.amount", "type": "number"},
            {"name": "moment.currency", "type": "string"},
            {"name": "moment.departure_date", "type": "date"},
            {"name": "moment.destination", "type": "string"},
            {"name": "moment.return_date", "type": "date"},
            {"name": "moment.travellers", "type": "number"},
        ])
    );
    let one = app.get("/offers/moment-types/salary_received", PM2).await;
    assert_eq!(one.status, 200, "{}", one.text);
    assert_eq!(one.body["providers"], json!(["bank"]));
    assert!(
        one.body["variables"]
            .as_array()
            .unwrap()
            .contains(&json!({"name": "moment.employer_changed", "type": "boolean"}))
    );
    app.get("/offers/moment-types/lottery_won", PM1)
        .await
        .problem(404, "not_found");
    assert_eq!(app.events(TYPES).await, 0, "reading writes nothing");
}

#[actix_web::test]
async fn staff_override_a_default_type_and_define_a_new_one() {
    let app = TestApp::new().await;
    let schema = json!({"type": "object", "required": ["destination", "amount"],
        "properties": {"destination": {"type": "string"}, "amount": {"type": "number"},
                       "cabin": {"type": "string", "enum": ["economy", "business"]},
                       "tags": {"type": "array", "items": {"type": "string"}}}});
    let body = json!({"description": "  A trip was booked  ", "providers": ["data_provider", "bank"],
                      "schema": schema});
    let r = app
        .put("/offers/moment-types/travel_booked", PM1, body.clone())
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["revision"], 1);
    assert_eq!(r.body["origin"], "changed_default");
    assert_eq!(r.body["description"], "A trip was booked");
    assert_eq!(r.body["providers"], json!(["bank", "data_provider"]));
    assert_eq!(r.body["defined_by"], "client:pm-1");
    assert!(r.body["defined_at"].as_str().unwrap().starts_with("2027-"));
    assert_eq!(
        r.body["variables"],
        json!([{"name": "moment.amount", "type": "number"},
               {"name": "moment.cabin", "type": "string"},
               {"name": "moment.destination", "type": "string"},
               {"name": "moment.tags", "type": "string_set"}])
    );
    // The same definition again changes nothing.
    let again = app
        .put("/offers/moment-types/travel_booked", PM2, body)
        .await;
    assert_eq!(again.body["revision"], 1);
    assert_eq!(again.body["defined_by"], "client:pm-1");
    assert_eq!(app.events(TYPES).await, 1);
    // A new type.
    let r = app
        .put(
            "/offers/moment-types/car_bought",
            PM2,
            json!({"description": "The customer bought a car", "providers": ["bank", P],
                   "schema": {"type": "object", "properties": {"price": {"type": "number"},
                                                               "electric": {"type": "boolean"}}}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["revision"], 1);
    assert_eq!(r.body["origin"], "staff");
    assert_eq!(r.body["defined_by"], "client:pm-2");
    let list = app.get("/offers/moment-types", PM1).await;
    assert_eq!(names(&list.body, "moment_types").len(), 6);
    let got = app.get("/offers/moment-types/travel_booked", PM1).await;
    assert_eq!(got.body["description"], "A trip was booked");
    assert_eq!(got.body["origin"], "changed_default");
}

#[actix_web::test]
async fn an_invalid_moment_type_is_refused_naming_the_path_and_nothing_is_written() {
    let app = TestApp::new().await;
    let object = json!({"type": "object", "properties": {"x": {"type": "string"}}});
    for (name, body, field) in [
        (
            "new_job",
            json!({"description": "d", "providers": ["nobody!"], "schema": object}),
            "/providers/0",
        ),
        (
            "new_job",
            json!({"description": "d", "providers": ["bank", "partner x"], "schema": object}),
            "/providers/1",
        ),
        (
            "new_job",
            json!({"description": "d", "providers": [], "schema": object}),
            "/providers",
        ),
        (
            "new_job",
            json!({"description": "   ", "providers": ["bank"], "schema": object}),
            "/description",
        ),
        (
            "new_job",
            json!({"description": "d", "providers": ["bank"], "schema": {"type": "string"}}),
            "/schema",
        ),
        (
            "new_job",
            json!({"description": "d", "providers": ["bank"],
                   "schema": {"type": "object", "properties": {"x": {"type": "colour"}}}}),
            "/schema",
        ),
        (
            "travel_booked",
            json!({"description": "d", "providers": ["bank"], "schema": {"type": "object"}}),
            "/schema",
        ),
        (
            "New-Job",
            json!({"description": "d", "providers": ["bank"], "schema": object}),
            "/name",
        ),
    ] {
        let r = app
            .put(&format!("/offers/moment-types/{name}"), PM1, body)
            .await;
        r.problem(400, "invalid_request");
        assert_eq!(r.fields(), [field], "{}", r.text);
    }
    // A field the body does not have.
    app.put(
        "/offers/moment-types/new_job",
        PM1,
        json!({"description": "d", "providers": ["bank"], "schema": object, "name": "other"}),
    )
    .await
    .problem(400, "invalid_json");
    assert_eq!(app.events(TYPES).await, 0, "nothing written");
    let travel = app.get("/offers/moment-types/travel_booked", PM1).await;
    assert_eq!(travel.body["revision"], 0);
}

#[actix_web::test]
async fn a_rule_is_checked_against_its_moment_types_vocabulary_and_the_propositions() {
    let app = TestApp::new().await;
    let id = app.published_loan(P).await;
    let good = json!({">=": [{"var": "moment.amount"}, 500]});
    for (body, field) in [
        // A name the travel_booked payload does not have.
        (
            rule(&id, json!({">=": [{"var": "moment.price"}, 500]})),
            "/condition/>=/0/var",
        ),
        // A name of another type's payload.
        (
            rule(
                &id,
                json!({"==": [{"var": "moment.employer_changed"}, true]}),
            ),
            "/condition/==/0/var",
        ),
        // A type mismatch, deeper down.
        (
            rule(
                &id,
                json!({"and": [{"var": "personas.globetrotter"},
                                      {">": [{"var": "moment.destination"}, 3]}]}),
            ),
            "/condition/and/1/>/1",
        ),
        (
            json!({"reason": "r", "moment_type": "lottery_won", "condition": good,
                   "propositions": [id], "validity_days": 14, "priority": 1}),
            "/moment_type",
        ),
        (rule(P, good.clone()), "/propositions/0"),
        (
            json!({"reason": "r", "moment_type": "travel_booked", "condition": good,
                   "propositions": [id, "not-a-uuid"], "validity_days": 14, "priority": 1}),
            "/propositions/1",
        ),
        (
            json!({"reason": "r", "moment_type": "travel_booked", "condition": good,
                   "propositions": [id, id], "validity_days": 14, "priority": 1}),
            "/propositions/1",
        ),
        (
            json!({"reason": "r", "moment_type": "travel_booked", "condition": good,
                   "propositions": [], "validity_days": 14, "priority": 1}),
            "/propositions",
        ),
        (
            json!({"reason": "r", "moment_type": "travel_booked", "condition": good,
                   "propositions": [id], "validity_days": 91, "priority": 1}),
            "/validity_days",
        ),
        (
            json!({"reason": "r", "moment_type": "travel_booked", "condition": good,
                   "propositions": [id], "validity_days": 14, "priority": 0}),
            "/priority",
        ),
        (
            json!({"reason": " ", "moment_type": "travel_booked", "condition": good,
                   "propositions": [id], "validity_days": 14, "priority": 1}),
            "/reason",
        ),
    ] {
        let r = app
            .put("/offers/trigger-rules/trip_insurance", PM1, body)
            .await;
        r.problem(400, "invalid_request");
        assert_eq!(r.fields(), [field], "{}", r.text);
    }
    let r = app
        .put("/offers/trigger-rules/Trip!", PM1, rule(&id, good))
        .await;
    r.problem(400, "invalid_request");
    assert_eq!(r.fields(), ["/name"]);
    assert_eq!(app.events(RULES).await, 0, "nothing written");
    app.get("/offers/trigger-rules/trip_insurance", PM1)
        .await
        .problem(404, "not_found");
}

#[actix_web::test]
async fn a_rule_is_revised_only_when_it_changes_and_lists_filter() {
    let app = TestApp::new().await;
    let id = app.published_loan(P).await;
    let condition = json!({"and": [{">=": [{"var": "moment.amount"}, 500]},
                                  {"var": "personas.globetrotter"}]});
    let r = app
        .put(
            "/offers/trigger-rules/trip_insurance",
            PM1,
            rule(&id, condition.clone()),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        (
            &r.body["revision"],
            &r.body["defined_by"],
            &r.body["active"]
        ),
        (&json!(1), &json!("client:pm-1"), &json!(true))
    );
    assert_eq!(r.body["condition"], condition);
    assert_eq!(r.body["propositions"], json!([id]));
    let same = app
        .put(
            "/offers/trigger-rules/trip_insurance",
            PM2,
            rule(&id, condition.clone()),
        )
        .await;
    assert_eq!(same.body["revision"], 1);
    assert_eq!(app.events(RULES).await, 1);
    let mut paused = rule(&id, condition.clone());
    paused["active"] = json!(false);
    paused["priority"] = json!(200.0);
    let r = app
        .put("/offers/trigger-rules/trip_insurance", PM2, paused)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        (
            &r.body["revision"],
            &r.body["defined_by"],
            &r.body["active"],
            &r.body["priority"]
        ),
        (&json!(2), &json!("client:pm-2"), &json!(false), &json!(200))
    );
    let salary = json!({"reason": "Your salary arrived", "moment_type": "salary_received",
        "condition": {">": [{"var": "moment.amount"}, 3000]}, "propositions": [id],
        "validity_days": 30, "priority": 5, "active": true});
    let r = app
        .put("/offers/trigger-rules/salary_saver", PM1, salary)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let got = app.get("/offers/trigger-rules/trip_insurance", PM1).await;
    assert_eq!(got.body["revision"], 2);
    for (query, expected) in [
        ("", vec!["salary_saver", "trip_insurance"]),
        ("?moment_type=travel_booked", vec!["trip_insurance"]),
        ("?active=true", vec!["salary_saver"]),
        (
            "?active=false&moment_type=travel_booked",
            vec!["trip_insurance"],
        ),
        ("?moment_type=gym_joined", vec![]),
    ] {
        let list = app.get(&format!("/offers/trigger-rules{query}"), PM1).await;
        assert_eq!(list.status, 200, "{}", list.text);
        assert_eq!(names(&list.body, "trigger_rules"), expected, "{query}");
    }
    app.get("/offers/trigger-rules?colour=red", PM1)
        .await
        .problem(400, "invalid_query");
    // A moment type change that would take away what a rule reads is refused, naming it.
    let r = app
        .put(
            "/offers/moment-types/travel_booked",
            PM1,
            json!({"description": "A trip", "providers": ["data_provider"],
                   "schema": {"type": "object", "properties": {"amount": {"type": "string"}}}}),
        )
        .await;
    r.problem(400, "invalid_request");
    assert_eq!(r.fields(), ["/schema"]);
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap()
            .contains("trip_insurance"),
        "{}",
        r.text
    );
    assert_eq!(app.events(TYPES).await, 0);
}

#[actix_web::test]
async fn a_dry_run_says_which_rules_match_and_why_and_records_nothing() {
    let app = TestApp::new().await;
    let id = app.published_loan(P).await;
    app.profile(
        "cust-1",
        "bank",
        json!({"is_globetrotter": true, "age": 38}),
    );
    for (name, condition, priority) in [
        (
            "big_trip",
            json!({"and": [{">=": [{"var": "moment.amount"}, 1000]},
                           {"var": "personas.globetrotter"}]}),
            100,
        ),
        ("any_trip", json!({">": [{"var": "moment.amount"}, 0]}), 10),
        (
            "long_trip",
            json!({">=": [{"var": "moment.travellers"}, 3]}),
            50,
        ),
    ] {
        let mut body = rule(&id, condition);
        body["priority"] = json!(priority);
        let r = app
            .put(&format!("/offers/trigger-rules/{name}"), PM1, body)
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    let mut paused = rule(&id, json!({">": [{"var": "moment.amount"}, 0]}));
    paused["active"] = json!(false);
    app.put("/offers/trigger-rules/paused_trip", PM1, paused)
        .await;
    let rules_before = app.events(RULES).await;
    let run = app
        .post(
            "/offers/trigger-rules/dry-run",
            PM2,
            json!({"moment_type": "travel_booked", "payload": trip(1200.0),
                   "customer_id": "cust-1"}),
        )
        .await;
    assert_eq!(run.status, 200, "{}", run.text);
    let matched: Vec<&str> = run.body["matched"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["rule"].as_str().unwrap())
        .collect();
    assert_eq!(matched, ["big_trip", "any_trip"], "best priority first");
    let big = &run.body["matched"][0];
    assert_eq!(big["reason"], "You booked a trip abroad");
    assert_eq!(big["propositions"], json!([id]));
    assert_eq!(big["explanation"]["held"], true);
    assert_eq!(
        big["explanation"]["parts"][0]["values"],
        json!({"moment.amount": 1200.0})
    );
    assert_eq!(
        big["explanation"]["parts"][1]["values"],
        json!({"personas.globetrotter": true})
    );
    let missed = &run.body["missed"];
    assert_eq!(
        missed.as_array().unwrap().len(),
        1,
        "paused rules are not tried"
    );
    assert_eq!(missed[0]["rule"], "long_trip");
    assert_eq!(missed[0]["explanation"]["held"], false);
    assert_eq!(
        missed[0]["explanation"]["values"],
        json!({"moment.travellers": null})
    );
    // Another customer, not a globetrotter: the persona does not hold.
    let run = app
        .post(
            "/offers/trigger-rules/dry-run",
            PM1,
            json!({"moment_type": "travel_booked", "payload": trip(1200.0),
                   "customer_id": "cust-2"}),
        )
        .await;
    assert_eq!(run.body["matched"][0]["rule"], "any_trip");
    assert_eq!(run.body["missed"].as_array().unwrap().len(), 2);
    // Bad input names the path.
    for (body, field) in [
        (
            json!({"moment_type": "travel_booked", "payload": {"destination": "Lisbon"},
                   "customer_id": "cust-1"}),
            "/payload",
        ),
        (
            json!({"moment_type": "travel_booked",
                   "payload": {"destination": "Lisbon", "departure_date": "2027-07-01",
                               "amount": "lots", "currency": "EUR"},
                   "customer_id": "cust-1"}),
            "/payload/amount",
        ),
        (
            json!({"moment_type": "travel_booked",
                   "payload": {"destination": "Lisbon", "departure_date": "1 July",
                               "amount": 1, "currency": "EUR"},
                   "customer_id": "cust-1"}),
            "/payload/departure_date",
        ),
        (
            json!({"moment_type": "lottery_won", "payload": {}, "customer_id": "cust-1"}),
            "/moment_type",
        ),
        (
            json!({"moment_type": "travel_booked", "payload": trip(1.0), "customer_id": " "}),
            "/customer_id",
        ),
    ] {
        let r = app.post("/offers/trigger-rules/dry-run", PM1, body).await;
        r.problem(400, "invalid_request");
        assert_eq!(r.fields(), [field], "{}", r.text);
    }
    assert_eq!(app.events(RULES).await, rules_before, "nothing recorded");
}

/// A staff-defined type is in force for publishing at once (its providers, its schema), and
/// a rule written through the staff API decides on a moment published afterwards.
#[actix_web::test]
async fn a_staff_defined_type_and_rule_take_effect_for_published_moments() {
    use ecohub_kernel::{PartnerId, RequestContext};
    use ecohub_offers::domain::OffersError;
    use ecohub_offers::{AppError, Publication, PublishOutcome, Publisher};
    let app = TestApp::new().await;
    let id = app.published_loan(P).await;
    app.profile("cust-1", "bank", json!({"is_globetrotter": true}));
    let partner = PartnerId::parse(P).unwrap();
    let other = PartnerId::parse("0190a000-0000-7000-8000-0000000000b2").unwrap();
    for p in [partner, other] {
        app.moment_providers.knows(p, "pw-1", "cust-1");
        app.consent_to_bank(
            "cust-1",
            &p.to_string(),
            &["ReadTravelProfile"],
            START.plus(std::time::Duration::from_secs(30 * 86_400)),
        );
    }
    let r = app
        .put(
            "/offers/moment-types/car_bought",
            PM1,
            json!({"description": "The customer bought a car", "providers": [P],
                   "schema": {"type": "object", "required": ["price"],
                              "properties": {"price": {"type": "number"}}}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = app
        .put(
            "/offers/trigger-rules/car_loan",
            PM1,
            json!({"reason": "You bought a car", "moment_type": "car_bought",
                   "condition": {">": [{"var": "moment.price"}, 10000]},
                   "propositions": [id], "validity_days": 30, "priority": 10}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let ctx = RequestContext::system("test");
    let publish = |by: PartnerId, moment_id: &str, price: Value| {
        app.state.publish_moment(
            Publisher::Partner(by),
            Publication {
                moment_id: moment_id.to_owned(),
                moment_type: "car_bought".to_owned(),
                customer: "pw-1".to_owned(),
                occurred_at: None,
                payload: json!({"price": price}),
            },
            &ctx,
        )
    };
    // Another partner is not among the type's providers; the schema is the staff's.
    assert!(matches!(
        publish(other, "m-1", json!(25000)).await,
        Err(AppError::Refused(OffersError::Forbidden(_)))
    ));
    assert!(matches!(
        publish(partner, "m-1", json!("cheap")).await,
        Err(AppError::Refused(OffersError::Invalid(v))) if v.field == "/payload/price"
    ));
    let PublishOutcome::Accepted { moment } = publish(partner, "m-1", json!(25000)).await.unwrap()
    else {
        panic!("refused")
    };
    let moment_id = moment.received.as_ref().unwrap().id;
    for _ in 0..300 {
        let m = app.state.moment(moment_id).await.unwrap();
        if let Some((matches, decision)) = m.triggered {
            assert_eq!(matches.len(), 1);
            assert_eq!(matches[0].rule, "car_loan");
            assert_eq!(matches[0].explanation["values"]["moment.price"], 25000);
            assert!(decision.is_some());
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("the trigger processor never matched the rule");
}

#[actix_web::test]
async fn the_routes_need_the_offers_manage_scope() {
    use actix_web::test::TestRequest;
    let app = TestApp::new().await;
    let body = json!({"description": "d", "providers": ["bank"],
                      "schema": {"type": "object", "properties": {}}});
    let dry = json!({"moment_type": "travel_booked", "payload": trip(1.0), "customer_id": "c"});
    let requests = || {
        vec![
            TestRequest::get().uri("/offers/moment-types"),
            TestRequest::get().uri("/offers/moment-types/travel_booked"),
            TestRequest::put()
                .uri("/offers/moment-types/new_job")
                .set_json(body.clone()),
            TestRequest::get().uri("/offers/trigger-rules"),
            TestRequest::get().uri("/offers/trigger-rules/trip"),
            TestRequest::put()
                .uri("/offers/trigger-rules/trip")
                .set_json(rule(P, json!({"var": "personas.globetrotter"}))),
            TestRequest::post()
                .uri("/offers/trigger-rules/dry-run")
                .set_json(dry.clone()),
        ]
    };
    for req in requests() {
        app.send(req).await.problem(401, "unauthorized");
    }
    for token in [AUDITOR, CHANNEL, &partner_token(P)] {
        for req in requests() {
            app.send(bearer(req, token))
                .await
                .problem(403, "insufficient_scope");
        }
    }
    assert_eq!(app.events(TYPES).await, 0);
    assert_eq!(app.events(RULES).await, 0);
}
