//! The seed's Globetrotter loan evaluated for customers: availability, price, add-ons and
//! the explanation of each.

use std::collections::BTreeSet;

use ecohub_offers::domain::evaluation::Context;
use ecohub_offers::domain::*;
use serde_json::{Map, Value, json};

use super::{NOW, catalogues, loan, loan_content, partner};

fn subject(attributes: Value) -> Subject {
    Subject {
        attributes: attributes.as_object().cloned().unwrap_or_default(),
        objected: false,
    }
}

fn params(amount: f64) -> Map<String, Value> {
    json!({"amount": amount}).as_object().cloned().unwrap()
}

fn published(amount: f64) -> Context {
    Context {
        published: true,
        channel: None,
        params: params(amount),
        inactive_partners: BTreeSet::new(),
        not_accepted: BTreeSet::new(),
    }
}

fn run(s: &Subject, c: &Context) -> Evaluation {
    let (_, personas) = catalogues();
    evaluate(&loan(), &personas, s, c, NOW).unwrap()
}

#[test]
fn globetrotter_high_income_large_loan_gets_5_3_without_commission_and_life_insurance() {
    let e = run(
        &subject(json!({"is_globetrotter": true, "monthly_income": 6000})),
        &published(15000.0),
    );
    assert!(e.available, "{e:?}");
    assert_eq!(e.price.rate_percent, 5.3);
    assert_eq!(e.price.commission_percent, 0.0);
    assert_eq!(
        e.price.rule.as_deref(),
        Some("globetrotter, income over 5000, amount over 10000")
    );
    assert_eq!(e.personas[0].persona, "globetrotter");
    assert!(e.personas[0].matched);
    assert_eq!(
        e.personas[0].explanation.values["is_globetrotter"],
        json!(true)
    );
    assert!(e.add_ons[0].included, "life insurance when amount > 10000");
    assert_eq!(e.benefits[0].partner_id, partner().to_string());
    // The explanation says which parts of the rule held.
    let parts = &e.price.tried[0].explanation.parts;
    assert_eq!(parts.len(), 3);
    assert!(parts.iter().all(|p| p.held));
    assert_eq!(parts[1].values["monthly_income"], json!(6000));
    assert_eq!(parts[2].values["params.amount"], json!(15000.0));
}

#[test]
fn globetrotter_low_income_mid_loan_gets_4_5_and_no_life_insurance() {
    let e = run(
        &subject(json!({"is_globetrotter": true, "monthly_income": 4000})),
        &published(7500.0),
    );
    assert!(e.available);
    assert_eq!(e.price.rate_percent, 4.5);
    assert_eq!(
        e.price.tried.len(),
        2,
        "the first rule failed, the second applied"
    );
    assert!(!e.price.tried[0].held);
    assert!(!e.add_ons[0].included);
}

#[test]
fn no_rule_holds_gives_the_default_price() {
    let e = run(
        &subject(json!({"is_globetrotter": true, "monthly_income": 4000})),
        &published(20000.0),
    );
    assert_eq!(e.price.rule, None);
    assert_eq!(
        (
            e.price.rate_percent,
            e.price.commission_percent,
            e.price.fees
        ),
        (7.9, 1.0, 50.0)
    );
    assert_eq!(e.price.tried.len(), 2);
}

#[test]
fn a_customer_outside_the_audience_is_excluded_with_the_failing_persona() {
    let e = run(
        &subject(json!({"is_globetrotter": false, "monthly_income": 9000})),
        &published(15000.0),
    );
    assert!(!e.available);
    let x = e.excluded_by.unwrap();
    assert_eq!(x.code, "audience_all_of");
    assert!(x.message.contains("globetrotter"), "{}", x.message);
    assert!(!e.personas[0].explanation.held);
}

#[test]
fn missing_attributes_never_match() {
    let e = run(&subject(json!({})), &published(15000.0));
    assert_eq!(e.excluded_by.unwrap().code, "audience_all_of");
    assert_eq!(
        e.personas[0].explanation.values["is_globetrotter"],
        Value::Null
    );
}

#[test]
fn exclusions_come_in_a_fixed_order() {
    let glob = subject(json!({"is_globetrotter": true, "monthly_income": 6000}));
    let mut c = published(15000.0);
    c.published = false;
    assert_eq!(run(&glob, &c).excluded_by.unwrap().code, "not_published");
    let mut c = published(15000.0);
    c.channel = Some(Channel::Branch);
    assert_eq!(
        run(&glob, &c).excluded_by.unwrap().code,
        "channel_not_offered"
    );
    let mut c = published(15000.0);
    c.inactive_partners = BTreeSet::from([partner()]);
    assert_eq!(
        run(&glob, &c).excluded_by.unwrap().code,
        "partner_not_active"
    );
    let objected = Subject {
        objected: true,
        ..glob.clone()
    };
    let e = run(&objected, &published(15000.0));
    assert_eq!(e.excluded_by.unwrap().code, "customer_objected");
    assert!(
        !e.personas[0].matched,
        "an objecting customer is never profiled"
    );
    assert_eq!(e.price.rule, None, "nor priced by profile");
}

#[test]
fn the_window_is_respected() {
    let mut doc = super::fixtures::globetrotter_loan(&partner().to_string());
    doc["availability"]["from"] = json!("2030-01-01T00:00:00Z");
    let (_, personas) = catalogues();
    let e = evaluate(
        &loan_content(doc),
        &personas,
        &subject(json!({"is_globetrotter": true})),
        &published(15000.0),
        NOW,
    )
    .unwrap();
    assert_eq!(e.excluded_by.unwrap().code, "outside_window");
}

#[test]
fn parameters_are_checked_against_the_schema() {
    let (_, personas) = catalogues();
    let e = evaluate(
        &loan(),
        &personas,
        &subject(json!({})),
        &published(100.0),
        NOW,
    )
    .unwrap_err();
    assert_eq!(e.field, "/params/amount");
    let mut c = published(15000.0);
    c.params = Map::new();
    assert_eq!(
        evaluate(&loan(), &personas, &subject(json!({})), &c, NOW)
            .unwrap_err()
            .field,
        "/params"
    );
}

#[test]
fn documents_are_checked_against_the_catalogues_with_the_failing_path() {
    let (a, p) = catalogues();
    let check = |doc: Value| {
        PropositionContent::check(serde_json::from_value(doc).unwrap(), &a, &p).unwrap_err()
    };
    let base = super::fixtures::globetrotter_loan(&partner().to_string());
    let mut doc = base.clone();
    doc["pricing"]["rules"][0]["condition"]["and"][1] = json!({">": [{"var": "salary"}, 5000]});
    let e = check(doc);
    assert_eq!(e.field, "/pricing/rules/0/condition/and/1/>/0/var");
    let mut doc = base.clone();
    doc["pricing"]["rules"][0]["condition"]["and"][1] =
        json!({">": [{"var": "monthly_income"}, "5000"]});
    assert_eq!(check(doc).field, "/pricing/rules/0/condition/and/1/>/1");
    let mut doc = base.clone();
    doc["availability"]["audience"]["all_of"] = json!(["jetsetter"]);
    assert_eq!(check(doc).field, "/availability/audience/all_of/0");
    let mut doc = base.clone();
    doc["personas"] = json!({"globetrotter": 9});
    assert_eq!(check(doc).field, "/personas/globetrotter");
    let mut doc = base.clone();
    doc["pricing"]["default"]["rate_percent"] = json!(120);
    assert_eq!(check(doc).field, "/pricing/default/rate_percent");
    let mut doc = base.clone();
    doc["benefits"][0]["partner_id"] = json!("not-a-partner");
    assert_eq!(check(doc).field, "/benefits/0/partner_id");
    let mut doc = base.clone();
    doc["parameters"]["properties"]["amount"] = json!({"type": "object"});
    assert_eq!(check(doc).field, "/parameters/properties/amount/type");
    let mut doc = base;
    doc["add_ons"][0]["condition"] = json!({"map": [[1], {"var": ""}]});
    assert_eq!(check(doc).field, "/add_ons/0/condition/map");
}

#[test]
fn a_persona_evaluates_in_well_under_a_microsecond_budget_shape() {
    // Not a timing test (see docs/benchmarks.md): the compiled condition is reused and
    // evaluating it does not allocate per rule node beyond the arena.
    let (_, personas) = catalogues();
    let prime = personas.personas["prime"].latest();
    let data = json!({"age": 35, "risk_class": "low"});
    assert!(prime.condition.holds(&data));
    assert!(
        !prime
            .condition
            .holds(&json!({"age": 35, "risk_class": "high"}))
    );
}

/// Decisions screen propositions without building explanations; the screen must agree with
/// the full evaluation on availability, the first reason and the personas matched.
#[test]
fn the_decision_screen_agrees_with_the_full_evaluation() {
    let (_, personas) = catalogues();
    let content = loan();
    let subjects = [
        subject(json!({"is_globetrotter": true, "monthly_income": 6000})),
        subject(json!({"is_globetrotter": false, "age": 35, "risk_class": "low"})),
        subject(json!({})),
        Subject {
            attributes: json!({"is_globetrotter": true})
                .as_object()
                .cloned()
                .unwrap(),
            objected: true,
        },
    ];
    let mut contexts = vec![published(15000.0), published(7500.0)];
    let mut draft = published(15000.0);
    draft.published = false;
    contexts.push(draft);
    let mut app_only = published(15000.0);
    app_only.channel = Some(Channel::Branch);
    contexts.push(app_only);
    let mut suspended = published(15000.0);
    suspended.inactive_partners = BTreeSet::from([partner()]);
    contexts.push(suspended);
    let mut not_accepted = published(15000.0);
    not_accepted.not_accepted = BTreeSet::from([partner()]);
    contexts.push(not_accepted);
    for s in &subjects {
        for c in &contexts {
            let full = evaluate(&content, &personas, s, c, NOW).unwrap();
            let mut memberships = Memberships::new(&personas, s, &c.params);
            let (excluded, matched) = screen(&content, &mut memberships, c, NOW).unwrap();
            assert_eq!(
                excluded.map(|u| u.exclusion()),
                full.excluded_by,
                "{s:?} {c:?}"
            );
            let full_matched: Vec<String> = full
                .personas
                .iter()
                .filter(|m| m.matched)
                .map(|m| m.persona.clone())
                .collect();
            assert_eq!(matched, full_matched, "{s:?} {c:?}");
        }
    }
    // Parameters the schema refuses: the same error.
    let mut bad = published(0.0);
    bad.params = json!({"amount": "lots"}).as_object().cloned().unwrap();
    let s = &subjects[0];
    let full = evaluate(&content, &personas, s, &bad, NOW).unwrap_err();
    let mut memberships = Memberships::new(&personas, s, &bad.params);
    assert_eq!(
        screen(&content, &mut memberships, &bad, NOW).unwrap_err(),
        full
    );
}
