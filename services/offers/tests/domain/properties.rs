//! Property tests (proptest) of the condition checker, which reads segment and pricing rules
//! written by staff and partners (JSONLogic, docs/adr/0020), through the crate's public API:
//!
//! * any JSON is either refused with a [`ConditionError`] whose `path` is a JSON pointer that
//!   exists in the rule (`/` standing for the rule itself), or accepted;
//! * an accepted condition reads only names of the vocabulary, stores and recompiles to the
//!   same verdicts, and evaluates and explains any customer data without panicking, the
//!   explanation agreeing with the verdict.
//!
//! Each property runs a modest number of cases so that `cargo test` stays fast; for a longer
//! run: `PROPTEST_CASES=20000 cargo test -p ecohub-offers --test domain properties`.

use std::sync::atomic::{AtomicUsize, Ordering};

use ecohub_offers::domain::{Condition, VarType, Vocabulary};
use ecohub_testkit::properties::{any_json, config};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

const NAMES: &[(&str, VarType)] = &[
    ("age", VarType::Number),
    ("income", VarType::Number),
    ("risk_class", VarType::String),
    ("is_globetrotter", VarType::Boolean),
    ("products_held", VarType::StringSet),
    ("birth_date", VarType::Date),
    ("params.amount", VarType::Number),
    ("personas.prime", VarType::Boolean),
    ("odd/name~1", VarType::String),
];

fn vocabulary() -> Vocabulary {
    let mut v = Vocabulary::new();
    for (name, t) in NAMES {
        v.insert(*name, *t);
    }
    v
}

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => prop::sample::select(NAMES.iter().map(|(n, _)| n.to_string()).collect::<Vec<_>>()),
        1 => prop::sample::select(vec!["salary", "", "params", "personas", "age.x", "0"])
            .prop_map(str::to_owned),
        1 => "\\PC{0,8}",
    ]
}

fn literal() -> impl Strategy<Value = Value> {
    prop_oneof![
        (-1000i64..100_000).prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        prop::sample::select(vec![
            "low",
            "high",
            "gold_card",
            "1990-01-01",
            "2027-13-45",
            ""
        ])
        .prop_map(Value::from),
        any::<bool>().prop_map(Value::Bool),
        Just(Value::Null),
        prop::collection::vec(prop::sample::select(vec!["low", "gold_card", "x"]), 0..4)
            .prop_map(|v| json!(v)),
        prop::collection::vec(-10i64..10, 0..4).prop_map(|v| json!(v)),
        Just(json!([1, "mixed"])),
        Just(json!([[1]])),
    ]
}

fn var() -> impl Strategy<Value = Value> {
    prop_oneof![
        6 => name().prop_map(|n| json!({"var": n})),
        1 => name().prop_map(|n| json!({"var": [n]})),
        1 => name().prop_map(|n| json!({"var": [n, 0]})),
        1 => any_json().prop_map(|v| json!({"var": v})),
    ]
}

const OPERATORS: &[&str] = &[
    "and", "or", "!", "!!", "==", "!=", "===", "!==", "<", "<=", ">", ">=", "in", "var", "+",
    "map", "if", "cat", "missing", "some", "reduce", "",
];

/// Rules that are often well-formed (comparisons of a name with a literal combined with
/// `and`/`or`/`!`), sometimes almost, sometimes anything.
fn rules() -> impl Strategy<Value = Value> {
    let comparison = (
        prop::sample::select(vec!["==", "!=", "===", "!==", "<", "<=", ">", ">=", "in"]),
        var(),
        literal(),
        any::<bool>(),
        prop::option::of(literal()),
    )
        .prop_map(|(op, v, lit, swap, third)| {
            let mut args = if swap { vec![lit, v] } else { vec![v, lit] };
            if let Some(third) = third.filter(|_| op.starts_with('<')) {
                args.push(third);
            }
            json!({ op: args })
        });
    let leaf = prop_oneof![
        6 => comparison,
        1 => var(),
        1 => literal(),
        1 => any_json(),
    ];
    leaf.prop_recursive(5, 64, 5, |inner| {
        prop_oneof![
            4 => (
                prop::sample::select(vec!["and", "or"]),
                prop::collection::vec(inner.clone(), 0..5)
            )
                .prop_map(|(op, args)| json!({ op: args })),
            2 => (prop::sample::select(vec!["!", "!!"]), inner.clone(), any::<bool>())
                .prop_map(|(op, arg, bare)| if bare { json!({ op: arg }) } else { json!({ op: [arg] }) }),
            2 => (
                prop::sample::select(OPERATORS.to_vec()),
                prop::collection::vec(inner.clone(), 0..4)
            )
                .prop_map(|(op, args)| json!({ op: args })),
            1 => (prop::sample::select(OPERATORS.to_vec()), inner.clone())
                .prop_map(|(op, arg)| json!({ op: arg })),
            1 => (inner.clone(), inner)
                .prop_map(|(a, b)| json!({"and": [a], "or": [b]})),
        ]
    })
}

/// Customer data: the vocabulary's names with values of the right type or of any, or anything.
fn customers() -> impl Strategy<Value = Value> {
    let typed = |t: VarType| -> BoxedStrategy<Value> {
        match t {
            VarType::Number => prop_oneof![
                (-1000i64..100_000).prop_map(Value::from),
                any::<f64>().prop_map(Value::from)
            ]
            .boxed(),
            VarType::String => prop::sample::select(vec!["low", "high", ""])
                .prop_map(Value::from)
                .boxed(),
            VarType::Boolean => any::<bool>().prop_map(Value::Bool).boxed(),
            VarType::Date => prop::sample::select(vec!["1990-01-01", "1995-06-01", "not a date"])
                .prop_map(Value::from)
                .boxed(),
            VarType::StringSet => {
                prop::collection::vec(prop::sample::select(vec!["gold_card", "loan"]), 0..3)
                    .prop_map(|v| json!(v))
                    .boxed()
            }
        }
    };
    let entries: Vec<BoxedStrategy<Option<Value>>> = NAMES
        .iter()
        .map(|(_, t)| {
            prop_oneof![
                1 => Just(None),
                3 => typed(*t).prop_map(Some),
                1 => any_json().prop_map(Some),
            ]
            .boxed()
        })
        .collect();
    prop_oneof![
        5 => entries.prop_map(|values| {
            let mut data = Map::new();
            for ((name, _), value) in NAMES.iter().zip(values) {
                let Some(value) = value else { continue };
                match name.split_once('.') {
                    Some((outer, inner)) => {
                        let slot = data.entry(outer).or_insert_with(|| json!({}));
                        if let Some(o) = slot.as_object_mut() {
                            o.insert(inner.to_owned(), value);
                        }
                    }
                    None => {
                        data.insert((*name).to_owned(), value);
                    }
                }
            }
            Value::Object(data)
        }),
        1 => any_json(),
    ]
}

#[test]
fn any_json_is_refused_at_an_existing_path_or_accepted_and_evaluates() {
    let vocabulary = vocabulary();
    let accepted = AtomicUsize::new(0);
    let refused = AtomicUsize::new(0);
    proptest!(config(512), |(rule in prop_oneof![4 => rules(), 1 => any_json()], data in customers())| {
        match Condition::parse(&rule, &vocabulary) {
            Err(e) => {
                refused.fetch_add(1, Ordering::Relaxed);
                prop_assert!(
                    rule.pointer(&e.path).is_some(),
                    "{} names {} which is not in {}", e, e.path, rule
                );
                prop_assert!(!e.message.is_empty());
            }
            Ok(condition) => {
                accepted.fetch_add(1, Ordering::Relaxed);
                prop_assert_eq!(condition.rule(), &rule);
                for name in condition.names() {
                    prop_assert!(vocabulary.get(&name).is_some(), "{} reads {}", rule, name);
                }
                let held = condition.holds(&data);
                prop_assert_eq!(condition.explain(&data).held, held, "{} on {}", rule, data);
                let stored = Condition::stored(condition.rule()).unwrap();
                prop_assert_eq!(stored.holds(&data), held);
                // No name at all: every comparison's guard fails.
                let _ = condition.holds(&json!({}));
                let _ = condition.explain(&Value::Null);
            }
        }
    });
    let (accepted, refused) = (accepted.into_inner(), refused.into_inner());
    assert!(
        accepted > 0 && refused > 0,
        "accepted {accepted}, refused {refused}"
    );
}

#[test]
fn stored_rules_of_any_shape_evaluate_without_panicking() {
    // A stored rule was checked when it was saved, but the vocabulary may have changed since;
    // whatever JSON the store holds must compile or be refused, and evaluate.
    proptest!(config(256), |(rule in prop_oneof![rules(), any_json()], data in customers())| {
        if let Ok(condition) = Condition::stored(&rule) {
            let held = condition.holds(&data);
            let _ = condition.explain(&data);
            let _ = held;
        }
    });
}

/// Found while writing these properties: the items of a literal list were counted but never
/// checked against `MAX_NODES`, so one comparison with a list of any length was accepted.
#[test]
fn a_literal_list_counts_against_the_node_limit() {
    let items: Vec<String> = (0..10_000).map(|i| format!("class-{i}")).collect();
    let rule = json!({"in": [{"var": "risk_class"}, items]});
    assert!(Condition::parse(&rule, &vocabulary()).is_err());
}
