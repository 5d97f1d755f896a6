//! Financial moments (ADR 0026): the catalogue (default file, staff overrides), a moment's
//! life (received once, refused without payload, triggered once), trigger rules (matching,
//! priority, an objecting customer's attributes unread), and a triggered decision recorded
//! once in the customer's ledger.

use std::collections::BTreeSet;

use ecohub_kernel::Aggregate;
use ecohub_kernel::testing::given;
use ecohub_offers::domain::trigger::{memberships, rule_data};
use ecohub_offers::domain::*;
use serde_json::{Map, Value, json};

use super::{NOW, catalogues, partner};

fn payload(amount: f64) -> Map<String, Value> {
    json!({"destination": "Lisbon", "departure_date": "2027-03-14", "amount": amount,
           "currency": "EUR"})
    .as_object()
    .unwrap()
    .clone()
}

fn received(moment_id: &str, amount: f64) -> ReceivedMoment {
    let provider = partner().to_string();
    ReceivedMoment {
        id: MomentId::of(&provider, moment_id),
        moment_id: moment_id.into(),
        provider,
        moment_type: "travel_booked".into(),
        type_revision: 0,
        customer_id: "alice".into(),
        occurred_at: None,
        payload: payload(amount),
    }
}

#[test]
fn the_default_catalogue_is_valid_and_its_schemas_check_payloads_naming_the_path() {
    let catalogue = MomentCatalogue::default();
    for name in [
        "travel_booked",
        "salary_received",
        "large_purchase",
        "moved_home",
        "gym_joined",
    ] {
        assert!(catalogue.get(name).is_some(), "{name} is a default type");
    }
    let travel = catalogue.get("travel_booked").unwrap();
    assert_eq!(travel.revision, 0);
    assert!(travel.admits(&partner().to_string()));
    assert!(!travel.admits(BANK), "the bank does not book trips");
    let salary = catalogue.get("salary_received").unwrap();
    assert!(salary.admits(BANK) && !salary.admits(&partner().to_string()));
    travel.validate(&Value::Object(payload(10.0))).unwrap();
    let mut bad = payload(10.0);
    bad.insert("amount".into(), json!(-1));
    assert_eq!(
        travel.validate(&Value::Object(bad)).unwrap_err().field,
        "/payload/amount"
    );
    let mut date = payload(10.0);
    date.insert("departure_date".into(), json!("next week"));
    assert_eq!(
        travel.validate(&Value::Object(date)).unwrap_err().field,
        "/payload/departure_date",
        "formats are checked"
    );
    let vars: Vec<(String, VarType)> = travel.definition.variables();
    assert!(vars.contains(&("moment.amount".into(), VarType::Number)));
    assert!(vars.contains(&("moment.departure_date".into(), VarType::Date)));
    assert!(vars.contains(&("moment.destination".into(), VarType::String)));
}

#[test]
fn staff_override_a_default_type_and_define_new_ones_with_checked_schemas() {
    let definition = |description: &str| MomentTypeDefinition {
        name: "travel_booked".into(),
        description: description.into(),
        providers: vec!["bank".into(), "data_provider".into()],
        schema: json!({"type": "object", "properties": {"amount": {"type": "number"}}}),
    };
    let defined = MomentTypeEvent::Defined {
        definition: definition("A trip was booked"),
        revision: 1,
        by: "staff:pm-1".into(),
        at: NOW,
    };
    given::<MomentCatalogue>([])
        .when(MomentTypeCommand::Define {
            definition: definition("A trip was booked"),
            by: "staff:pm-1".into(),
        })
        .then([defined.clone()]);
    let state = MomentCatalogue::default().evolve(&defined);
    assert!(state.get("travel_booked").unwrap().admits(BANK));
    given::<MomentCatalogue>([defined.clone()])
        .when(MomentTypeCommand::Define {
            definition: definition("A trip was booked"),
            by: "staff:pm-2".into(),
        })
        .then([]);
    given::<MomentCatalogue>([defined])
        .when(MomentTypeCommand::Define {
            definition: definition("A journey was booked"),
            by: "staff:pm-2".into(),
        })
        .then([MomentTypeEvent::Defined {
            definition: definition("A journey was booked"),
            revision: 2,
            by: "staff:pm-2".into(),
            at: NOW,
        }]);
    let mut not_object = definition("x");
    not_object.schema = json!({"type": "string"});
    given::<MomentCatalogue>([])
        .when(MomentTypeCommand::Define {
            definition: not_object,
            by: "staff:pm-1".into(),
        })
        .then_refused(
            "/schema: must be an object schema (`\"type\": \"object\"`) with `properties`",
        );
    let mut bad_provider = definition("x");
    bad_provider.providers = vec!["everyone".into()];
    given::<MomentCatalogue>([])
        .when(MomentTypeCommand::Define {
            definition: bad_provider,
            by: "staff:pm-1".into(),
        })
        .then_refused("/providers/0: must be `bank`, `data_provider` or a partner id");
}

#[test]
fn a_moment_is_received_once_and_its_id_never_names_another() {
    let m = received("b-1", 900.0);
    let event = MomentEvent::Received {
        moment: m.clone(),
        at: NOW,
    };
    given::<Moment>([])
        .when(MomentCommand::Receive(m.clone()))
        .then([event.clone()]);
    given::<Moment>([event.clone()])
        .when(MomentCommand::Receive(m.clone()))
        .then([]);
    given::<Moment>([event.clone()])
        .when(MomentCommand::Receive(received("b-1", 901.0)))
        .then_refused("this moment id was already used for another moment");
    assert_eq!(MomentId::of("bank", "b-1"), MomentId::of("bank", "b-1"));
    assert_ne!(
        MomentId::of("bank", "b-1"),
        MomentId::of(&partner().to_string(), "b-1"),
        "two providers' ids never collide"
    );
}

#[test]
fn a_refusal_is_recorded_without_the_payload_and_a_received_moment_is_not_refused() {
    let m = received("b-2", 900.0);
    let refusal = MomentEvent::Refused {
        id: m.id,
        moment_id: "b-2".into(),
        provider: m.provider.clone(),
        moment_type: "travel_booked".into(),
        customer_id: Some("alice".into()),
        code: "no_consent".into(),
        at: NOW,
    };
    let refuse = || MomentCommand::Refuse {
        id: m.id,
        moment_id: "b-2".into(),
        provider: m.provider.clone(),
        moment_type: "travel_booked".into(),
        customer_id: Some("alice".into()),
        code: "no_consent".into(),
    };
    given::<Moment>([]).when(refuse()).then([refusal.clone()]);
    let stored = ecohub_kernel::DomainEvent::encode(&refusal);
    assert!(stored.get("payload").is_none());
    assert!(!stored.to_string().contains("Lisbon"));
    // Refused, then sent again once the consent exists: received.
    given::<Moment>([refusal])
        .when(MomentCommand::Receive(m.clone()))
        .then([MomentEvent::Received {
            moment: m.clone(),
            at: NOW,
        }]);
    given::<Moment>([MomentEvent::Received {
        moment: m.clone(),
        at: NOW,
    }])
    .when(refuse())
    .then_refused("this moment id was already used for another moment");
}

#[test]
fn the_trigger_outcome_is_recorded_once_with_the_decision_the_moment_determines() {
    let m = received("b-3", 900.0);
    let rule = RuleMatch {
        rule: "trip_cover".into(),
        revision: 1,
        reason: "You booked a trip".into(),
        propositions: vec![],
        priority: 1,
        validity_days: 14,
        explanation: json!({"held": true}),
    };
    let received = MomentEvent::Received {
        moment: m.clone(),
        at: NOW,
    };
    let decision = DecisionId::of_moment(m.id);
    assert_eq!(
        decision,
        DecisionId::of_moment(m.id),
        "the same on every instance"
    );
    let matched = MomentEvent::TriggerMatched {
        id: m.id,
        matches: vec![rule.clone()],
        decision_id: decision,
        at: NOW,
    };
    given::<Moment>([received.clone()])
        .when(MomentCommand::RecordTrigger {
            matches: vec![rule.clone()],
            decision_id: Some(decision),
        })
        .then([matched.clone()]);
    given::<Moment>([received.clone(), matched.clone()])
        .when(MomentCommand::RecordTrigger {
            matches: vec![],
            decision_id: None,
        })
        .then([]);
    // Then the offers the decision made, once; none is a hold-back by the contact policies.
    let offer = OfferId::from_uuid(uuid::Uuid::from_u128(7));
    let decided = MomentEvent::Decided {
        id: m.id,
        decision_id: decision,
        offers: vec![offer],
        at: NOW,
    };
    given::<Moment>([received.clone(), matched.clone()])
        .when(MomentCommand::RecordOffers {
            offers: vec![offer],
        })
        .then([decided.clone()]);
    given::<Moment>([received.clone(), matched.clone(), decided.clone()])
        .when(MomentCommand::RecordOffers { offers: vec![] })
        .then([]);
    let state = [received.clone(), matched.clone(), decided]
        .iter()
        .fold(Moment::default(), |s, e| s.evolve(e));
    assert_eq!(state.status(), MomentStatus::Offered);
    let held = [received.clone(), matched]
        .iter()
        .fold(Moment::default(), |s, e| s.evolve(e))
        .evolve(&MomentEvent::Decided {
            id: m.id,
            decision_id: decision,
            offers: vec![],
            at: NOW,
        });
    assert_eq!(held.status(), MomentStatus::HeldBack);
    given::<Moment>([received.clone()])
        .when(MomentCommand::RecordOffers { offers: vec![] })
        .then_refused("no rule matched this moment: there is no decision to record");
    given::<Moment>([received])
        .when(MomentCommand::RecordTrigger {
            matches: vec![],
            decision_id: None,
        })
        .then([MomentEvent::NotMatched { id: m.id, at: NOW }]);
    given::<Moment>([])
        .when(MomentCommand::RecordTrigger {
            matches: vec![rule],
            decision_id: None,
        })
        .then_refused("not found");
}

fn rules() -> TriggerRules {
    let (attributes, personas) = catalogues();
    let mut vocabulary = Vocabulary::new();
    for a in attributes.attributes.values() {
        vocabulary.insert(a.definition.name.clone(), a.definition.r#type.into());
    }
    for (name, t) in MomentCatalogue::default()
        .get("travel_booked")
        .unwrap()
        .definition
        .variables()
    {
        vocabulary.insert(name, t);
    }
    for name in personas.personas.keys() {
        vocabulary.insert(format!("personas.{name}"), VarType::Boolean);
    }
    let p1 = PropositionId::parse("0190c000-0000-7000-8000-000000000001").unwrap();
    let p2 = PropositionId::parse("0190c000-0000-7000-8000-000000000002").unwrap();
    let mut state = TriggerRules::default();
    for (name, rule, priority, active, propositions) in [
        (
            "cover_any_trip",
            json!({">": [{"var": "moment.amount"}, 100]}),
            10,
            true,
            vec![p1],
        ),
        (
            "loan_for_globetrotters",
            json!({"and": [{"var": "personas.globetrotter"}, {">": [{"var": "moment.amount"}, 1000]}]}),
            50,
            true,
            vec![p2, p1],
        ),
        (
            "paused",
            json!({">": [{"var": "moment.amount"}, 0]}),
            99,
            false,
            vec![p1],
        ),
    ] {
        let definition = TriggerRuleDefinition {
            name: name.into(),
            reason: format!("because {name}"),
            moment_type: "travel_booked".into(),
            condition: Condition::parse(&rule, &vocabulary).unwrap(),
            propositions,
            validity_days: 14,
            priority,
            active,
        };
        for e in state
            .decide(
                TriggerRuleCommand::Define {
                    definition,
                    by: "staff:pm-1".into(),
                },
                NOW,
            )
            .unwrap()
        {
            state = state.evolve(&e);
        }
    }
    state
}

fn globetrotter() -> Map<String, Value> {
    json!({"is_globetrotter": true, "monthly_income": 6000, "age": 35, "risk_class": "low"})
        .as_object()
        .unwrap()
        .clone()
}

#[test]
fn rules_match_on_the_moment_and_the_customers_personas_best_priority_first() {
    let (_, personas) = catalogues();
    let rules = rules();
    let attributes = globetrotter();
    let data = rule_data(
        &attributes,
        &payload(2400.0),
        &memberships(&personas, &attributes),
    );
    let (matched, missed) = rules.evaluate("travel_booked", &data);
    assert_eq!(
        matched.iter().map(|m| m.rule.as_str()).collect::<Vec<_>>(),
        ["loan_for_globetrotters", "cover_any_trip"],
        "best priority first; a paused rule never matches"
    );
    assert!(missed.is_empty());
    assert_eq!(matched[1].explanation["values"]["moment.amount"], 2400.0);
    // A small trip: only the cover.
    let data = rule_data(
        &attributes,
        &payload(300.0),
        &memberships(&personas, &attributes),
    );
    let (matched, missed) = rules.evaluate("travel_booked", &data);
    assert_eq!(matched.len(), 1);
    assert_eq!(missed[0].rule, "loan_for_globetrotters");
    assert_eq!(missed[0].explanation["held"], false);
    // Another type: nothing.
    assert_eq!(rules.evaluate("gym_joined", &data).0.len(), 0);
}

#[test]
fn a_triggered_moment_gets_the_same_matches_as_the_dry_run_without_explaining_the_misses() {
    let (_, personas) = catalogues();
    let rules = rules();
    for (attributes, amount) in [
        (globetrotter(), 2400.0),
        (globetrotter(), 300.0),
        (Map::new(), 2400.0),
    ] {
        let data = rule_data(
            &attributes,
            &payload(amount),
            &memberships(&personas, &attributes),
        );
        for moment_type in ["travel_booked", "gym_joined"] {
            assert_eq!(
                rules.matches(moment_type, &data),
                rules.evaluate(moment_type, &data).0,
                "{moment_type} at {amount}"
            );
        }
    }
}

#[test]
fn an_objecting_customers_attributes_are_not_read_so_persona_rules_do_not_match() {
    let (_, personas) = catalogues();
    // An objecting customer's subject has no attributes (the application reads none).
    let none = Map::new();
    let data = rule_data(&none, &payload(2400.0), &memberships(&personas, &none));
    let (matched, _) = rules().evaluate("travel_booked", &data);
    assert_eq!(
        matched.iter().map(|m| m.rule.as_str()).collect::<Vec<_>>(),
        ["cover_any_trip"]
    );
}

#[test]
fn trigger_rules_are_checked_and_revised() {
    let rules = rules();
    let existing = rules.rules["cover_any_trip"].clone();
    let mut definition = existing.definition.clone();
    definition.validity_days = 0;
    given::<TriggerRules>([])
        .when(TriggerRuleCommand::Define {
            definition: definition.clone(),
            by: "staff:pm-1".into(),
        })
        .then_refused("/validity_days: must be 1 to 90");
    definition.validity_days = 7;
    definition.propositions = vec![];
    given::<TriggerRules>([])
        .when(TriggerRuleCommand::Define {
            definition: definition.clone(),
            by: "staff:pm-1".into(),
        })
        .then_refused("/propositions: must name 1 to 20 propositions");
    definition.propositions = existing.definition.propositions.clone();
    let first = TriggerRuleEvent::Defined {
        definition: existing.definition.clone(),
        revision: 1,
        by: "staff:pm-1".into(),
        at: NOW,
    };
    given::<TriggerRules>([first])
        .when(TriggerRuleCommand::Define {
            definition: definition.clone(),
            by: "staff:pm-2".into(),
        })
        .then([TriggerRuleEvent::Defined {
            definition,
            revision: 2,
            by: "staff:pm-2".into(),
            at: NOW,
        }]);
}

#[test]
fn a_decision_the_ledger_already_holds_presents_nothing() {
    let decision = DecisionId::of_moment(MomentId::of("bank", "m-1"));
    let offer = |n: u128| Presented {
        offer_id: OfferId::from_uuid(uuid::Uuid::from_u128(n)),
        decision_id: decision,
        proposition_id: PropositionId::parse("0190c000-0000-7000-8000-000000000001").unwrap(),
        version: 1,
        product_code: "INS-TRIP".into(),
        channel: Channel::Moment,
        placement: "moment".into(),
        price: OfferPrice {
            rate_percent: 0.0,
            commission_percent: 0.0,
            fees: 0.0,
        },
        price_rule: None,
        partners: vec![partner()],
        personas: vec![],
        explanation_digest: "x".into(),
        expires_at: NOW.plus(std::time::Duration::from_secs(86_400)),
        moment: None,
    };
    let present = |n| ContactCommand::Present {
        candidates: vec![Candidate {
            offer: offer(n),
            policy: ContactPolicy::default(),
        }],
        held_products: BTreeSet::new(),
        max: 1,
    };
    given::<ContactLedger>([])
        .when(present(1))
        .then([ContactEvent::Presented {
            offer: offer(1),
            at: NOW,
        }]);
    given::<ContactLedger>([ContactEvent::Presented {
        offer: offer(1),
        at: NOW,
    }])
    .when(present(2))
    .then([]);
}
