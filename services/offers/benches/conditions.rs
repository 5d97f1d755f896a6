//! How fast personas and a whole proposition evaluate, in process.
//!
//! `cargo bench -p ecohub-offers --bench conditions` prints, for each case, the median time
//! per evaluation over several rounds. Figures are recorded in docs/benchmarks.md; compare
//! ratios within one run (the machine is shared and noisy).

use std::collections::BTreeSet;
use std::hint::black_box;
use std::time::Instant;

use ecohub_kernel::{Aggregate, Timestamp};
use ecohub_offers::domain::evaluation::Context;
use ecohub_offers::domain::*;
use serde_json::{Value, json};

const NOW: Timestamp = Timestamp::from_unix_seconds(1_800_000_000);

fn vocabulary() -> Vocabulary {
    Vocabulary::new()
        .with("age", VarType::Number)
        .with("monthly_income", VarType::Number)
        .with("risk_class", VarType::String)
        .with("is_globetrotter", VarType::Boolean)
        .with("products_held", VarType::StringSet)
}

/// Median nanoseconds per call of `f` over 7 rounds of `n` calls.
fn median_ns(n: u32, mut f: impl FnMut()) -> f64 {
    let mut rounds: Vec<f64> = (0..7)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..n {
                f();
            }
            t.elapsed().as_nanos() as f64 / f64::from(n)
        })
        .collect();
    rounds.sort_by(f64::total_cmp);
    rounds[3]
}

fn main() {
    let v = vocabulary();
    let data = json!({"age": 38, "monthly_income": 6200, "risk_class": "low",
                      "is_globetrotter": true, "products_held": ["current_account", "gold_card"]});
    let cases: [(&str, Value); 3] = [
        (
            "1 comparison (Globetrotter)",
            json!({"==": [{"var": "is_globetrotter"}, true]}),
        ),
        (
            "3 comparisons (Prime 30-45)",
            json!({"and": [{">=": [{"var": "age"}, 30]}, {"<=": [{"var": "age"}, 45]},
                           {"==": [{"var": "risk_class"}, "low"]}]}),
        ),
        (
            "5 attributes, and/or/in",
            json!({"and": [{"<=": [30, {"var": "age"}, 45]}, {">": [{"var": "monthly_income"}, 5000]},
                           {"or": [{"==": [{"var": "risk_class"}, "low"]}, {"var": "is_globetrotter"}]},
                           {"!": [{"in": ["loan", {"var": "products_held"}]}]}]}),
        ),
    ];
    println!("| case | holds | explain |");
    println!("|---|---|---|");
    for (name, rule) in cases {
        let c = Condition::parse(&rule, &v).expect("valid");
        assert!(c.holds(&data));
        let holds = median_ns(200_000, || {
            black_box(c.holds(black_box(&data)));
        });
        let explain = median_ns(2_000, || {
            black_box(c.explain(black_box(&data)));
        });
        println!("| {name} | {holds:.0} ns | {:.1} µs |", explain / 1000.0);
    }

    // A whole proposition (the seed's loan): personas, pricing, add-ons, explanation.
    let mut personas = PersonaCatalogue::default();
    for e in personas
        .decide(
            PersonaCommand::DefinePersona {
                name: "globetrotter".into(),
                title: "Globetrotter".into(),
                description: "travels".into(),
                condition: Condition::parse(&json!({"==": [{"var": "is_globetrotter"}, true]}), &v)
                    .expect("valid"),
                by: "bench".into(),
            },
            NOW,
        )
        .expect("decided")
    {
        personas = personas.evolve(&e);
    }
    let mut attributes = AttributeCatalogue::default();
    for (n, t) in [
        ("monthly_income", AttributeType::Number),
        ("is_globetrotter", AttributeType::Boolean),
    ] {
        let definition = AttributeDefinition::new(
            n.into(),
            t,
            n.into(),
            AttributeSource {
                dataset: "customer_profile".into(),
                pointer: format!("/{n}"),
            },
        )
        .expect("valid");
        for e in attributes
            .decide(
                CatalogueCommand::DefineAttribute {
                    definition,
                    by: "bench".into(),
                },
                NOW,
            )
            .expect("decided")
        {
            attributes = attributes.evolve(&e);
        }
    }
    let doc: PropositionDoc = serde_json::from_value(json!({
        "name": "Globetrotter loan", "description": "bench",
        "product": {"kind": "loan", "code": "PL", "name": "loan"},
        "availability": {"audience": {"all_of": ["globetrotter"]}, "channels": ["bank_app"]},
        "parameters": {"type": "object", "properties": {"amount": {"type": "number"}}},
        "pricing": {"rules": [
            {"name": "a", "condition": {"and": [{"var": "personas.globetrotter"}, {">": [{"var": "monthly_income"}, 5000]}, {">": [{"var": "params.amount"}, 10000]}]}, "rate_percent": 5.3},
            {"name": "b", "condition": {"and": [{"var": "personas.globetrotter"}, {"<": [{"var": "monthly_income"}, 5000]}, {"<=": [5000, {"var": "params.amount"}, 10000]}]}, "rate_percent": 4.5}],
            "default": {"rate_percent": 7.9}},
        "add_ons": [{"name": "life", "kind": "insurance", "description": "life",
                     "condition": {"and": [{"var": "personas.globetrotter"}, {">": [{"var": "params.amount"}, 10000]}]}}]
    }))
    .expect("document");
    let content = PropositionContent::check(doc, &attributes, &personas).expect("valid");
    let subject = Subject {
        attributes: json!({"monthly_income": 6200, "is_globetrotter": true})
            .as_object()
            .cloned()
            .unwrap_or_default(),
        objected: false,
    };
    let context = Context {
        published: true,
        channel: None,
        params: json!({"amount": 15000})
            .as_object()
            .cloned()
            .unwrap_or_default(),
        inactive_partners: BTreeSet::new(),
        not_accepted: BTreeSet::new(),
    };
    let whole = median_ns(2_000, || {
        black_box(evaluate(&content, &personas, &subject, &context, NOW).expect("evaluated"));
    });
    println!(
        "\nseed loan, evaluated and explained: {:.1} µs",
        whole / 1000.0
    );
}
