//! One decision in process, at the scale of issue 13: 1,000 published propositions over 100
//! personas. A decision screens every proposition for one customer (each persona evaluated
//! once), ranks the available ones by priority × business value × propensity, applies the
//! contact policies on a ledger of 30 earlier offers (one every 8 hours), and prices and explains the offers
//! chosen (3). No store: this is the pure part of `OffersState::decide`.
//!
//! `cargo bench -p ecohub-offers --bench decisions` prints p50/p99 per decision, the screen
//! alone, and the resident memory per proposition (RssAnon before and after). Figures are
//! recorded in docs/benchmarks.md.

use std::collections::BTreeSet;
use std::hint::black_box;
use std::time::{Duration, Instant};

use ecohub_kernel::{Aggregate, PartnerId, Timestamp};
use ecohub_offers::domain::*;
use serde_json::{Value, json};

/// Anonymous resident memory of the process (heap and stacks), KiB.
fn rss_anon_kib() -> i64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("RssAnon:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

const NOW: Timestamp = Timestamp::from_unix_seconds(1_800_000_000);
const PROPOSITIONS: usize = 1_000;
const PERSONAS: usize = 100;

fn attributes() -> AttributeCatalogue {
    let mut catalogue = AttributeCatalogue::default();
    for (n, t) in [
        ("age", AttributeType::Number),
        ("monthly_income", AttributeType::Number),
        ("risk_class", AttributeType::String),
        ("is_globetrotter", AttributeType::Boolean),
        ("trips_per_year", AttributeType::Number),
        ("products_held", AttributeType::StringSet),
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
        for e in catalogue
            .decide(
                CatalogueCommand::DefineAttribute {
                    definition,
                    by: "bench".into(),
                },
                NOW,
            )
            .expect("decided")
        {
            catalogue = catalogue.evolve(&e);
        }
    }
    catalogue
}

/// Persona `i`: an age band, an income bound and a risk class or travel habit.
fn persona_rule(i: usize) -> Value {
    let low = 18 + (i % 40) as u64;
    let class = ["low", "medium", "high"][(i / 3) % 3];
    let third = match i % 3 {
        0 => json!({"==": [{"var": "risk_class"}, class]}),
        1 => json!({"var": "is_globetrotter"}),
        _ => json!({">=": [{"var": "trips_per_year"}, i % 12]}),
    };
    json!({"and": [{"<=": [low, {"var": "age"}, low + 25]},
                   {">": [{"var": "monthly_income"}, 1000 + 50 * i as u64]},
                   third]})
}

fn personas(attributes: &AttributeCatalogue) -> PersonaCatalogue {
    let mut vocabulary = Vocabulary::new();
    for a in attributes.attributes.values() {
        vocabulary.insert(a.definition.name.clone(), a.definition.r#type.into());
    }
    let mut catalogue = PersonaCatalogue::default();
    for i in 0..PERSONAS {
        let condition = Condition::parse(&persona_rule(i), &vocabulary).expect("valid");
        for e in catalogue
            .decide(
                PersonaCommand::DefinePersona {
                    name: format!("p{i}"),
                    title: format!("Persona {i}"),
                    description: "bench".into(),
                    condition,
                    by: "bench".into(),
                },
                NOW,
            )
            .expect("decided")
        {
            catalogue = catalogue.evolve(&e);
        }
    }
    catalogue
}

fn partner(i: usize) -> PartnerId {
    PartnerId::parse(&format!("0190a000-0000-7000-8000-{:012x}", i % 20 + 1)).expect("id")
}

/// Proposition `i`: its audience is any of two personas, two pricing rules, an add-on.
fn proposition(
    i: usize,
    attributes: &AttributeCatalogue,
    personas: &PersonaCatalogue,
) -> (PropositionId, Version) {
    let (a, b) = (
        format!("p{}", i % PERSONAS),
        format!("p{}", (i * 7 + 3) % PERSONAS),
    );
    let doc: PropositionDoc = serde_json::from_value(json!({
        "name": format!("Proposition {i}"), "description": "bench",
        "product": {"kind": "loan", "code": format!("P{i}"), "name": "loan"},
        "benefits": [{"partner_id": partner(i).to_string(), "kind": "discount",
                      "description": "10 % off", "value": "10%"}],
        "availability": {"audience": {"any_of": [a, b]}, "channels": ["bank_app", "web"]},
        "parameters": {"type": "object", "properties": {"amount": {"type": "number"}}},
        "pricing": {"rules": [
            {"name": "r1", "condition": {"and": [{"var": format!("personas.{a}")}, {">": [{"var": "monthly_income"}, 5000]}, {">": [{"var": "params.amount"}, 10000]}]}, "rate_percent": 5.3},
            {"name": "r2", "condition": {"and": [{"<": [{"var": "monthly_income"}, 5000]}, {"<=": [5000, {"var": "params.amount"}, 10000]}]}, "rate_percent": 4.5}],
            "default": {"rate_percent": 7.9}},
        "add_ons": [{"name": "life", "kind": "insurance", "description": "life",
                     "condition": {">": [{"var": "params.amount"}, 10000]}}],
        "priority": (i % 100) as u32 + 1,
        "business_value": 10.0 + (i % 37) as f64
    }))
    .expect("document");
    let content = PropositionContent::check(doc, attributes, personas).expect("valid");
    let id = PropositionId::parse(&format!("0190b000-0000-7000-8000-{i:012x}")).expect("id");
    let version = Version {
        number: 1,
        content,
        status: VersionStatus::Published,
        drafted_by: "client:pm-1".into(),
        submitted_by: Some("client:pm-1".into()),
        approved_by: Some("client:pm-2".into()),
        authors: BTreeSet::from(["client:pm-1".to_owned()]),
        accepted: BTreeSet::from([partner(i)]),
        rejection: None,
    };
    (id, version)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let attributes = attributes();
    let personas = personas(&attributes);
    let before = rss_anon_kib();
    let propositions: Vec<(PropositionId, Version)> = (0..PROPOSITIONS)
        .map(|i| proposition(i, &attributes, &personas))
        .collect();
    let per_proposition_kib = (rss_anon_kib() - before) as f64 / PROPOSITIONS as f64;
    let offerable: Vec<Offerable<'_>> = propositions
        .iter()
        .map(|(id, version)| Offerable { id: *id, version })
        .collect();
    let subject = Subject {
        attributes: json!({"age": 38, "monthly_income": 6200, "risk_class": "low",
                           "is_globetrotter": true, "trips_per_year": 7,
                           "products_held": ["P3", "P17"]})
        .as_object()
        .cloned()
        .expect("object"),
        objected: false,
    };
    let base = Context {
        published: true,
        channel: Some(Channel::BankApp),
        params: json!({"amount": 15000})
            .as_object()
            .cloned()
            .expect("object"),
        inactive_partners: BTreeSet::new(),
        not_accepted: BTreeSet::new(),
    };
    // Outcomes observed so far: some evidence for every proposition and persona.
    let counts = |id: PropositionId, persona: Option<&str>| {
        let h = id.as_uuid().as_u128() as u64 ^ persona.map_or(0, |p| p.len() as u64 * 7919);
        OutcomeCounts {
            presented: 50 + h % 500,
            accepted: h % 40,
        }
    };
    // A ledger of 30 earlier offers.
    let mut ledger = ContactLedger::default();
    for n in 0..30u32 {
        let (id, v) = &propositions[(n as usize * 31) % PROPOSITIONS];
        let at = NOW.minus(Duration::from_secs(8 * 3600 * u64::from(n + 1)));
        ledger = ledger.evolve(&ContactEvent::Presented {
            offer: Presented {
                offer_id: OfferId::new_v7(at),
                decision_id: DecisionId::new_v7(at),
                proposition_id: *id,
                version: 1,
                product_code: v.content.doc.product.code.clone(),
                channel: if n % 2 == 0 {
                    Channel::Web
                } else {
                    Channel::BankApp
                },
                placement: "home".into(),
                price: OfferPrice {
                    rate_percent: 5.0,
                    commission_percent: 0.0,
                    fees: 0.0,
                },
                partners: vec![],
                personas: vec![],
                explanation_digest: String::new(),
                price_rule: None,
                expires_at: at.plus(Duration::from_secs(14 * 86_400)),
                moment: None,
            },
            at,
        });
    }
    let held: BTreeSet<String> = ["P3".to_owned(), "P17".to_owned()].into();
    let policy = ContactPolicy::default();

    // The screening order decisions share (rebuilt only when the list changes or an
    // acceptance may raise an estimate): an entry per proposition and outcome bucket, by the best score through it.
    let order_built = Instant::now();
    let order = ScreeningOrder::by_bucket(&offerable, Prior::default(), counts);
    let order_time = order_built.elapsed();
    let screened = std::cell::Cell::new(0);
    let decide = || {
        let mut ranking = Ranking::new(
            &offerable,
            &order,
            &personas,
            &subject,
            &base,
            Prior::default(),
            counts,
            NOW,
            false,
        );
        let selection = ledger.select_from(
            |i| {
                ranking.get(i).map(|r| CandidateView {
                    proposition_id: r.proposition_id,
                    product_code: &r.content.doc.product.code,
                    channel: Channel::BankApp,
                    policy,
                })
            },
            &held,
            3,
            NOW,
            false,
        );
        screened.set(ranking.screened());
        let explained: Vec<Evaluation> = selection
            .chosen
            .iter()
            .map(|&i| {
                evaluate(ranking.ranked()[i].content, &personas, &subject, &base, NOW).expect("ok")
            })
            .collect();
        (explained, selection.chosen.len())
    };
    // The same decision screening every proposition (as before the screening order).
    let decide_all = || {
        let (ranked, _) = rank(
            &offerable,
            &personas,
            &subject,
            &base,
            Prior::default(),
            counts,
            NOW,
            false,
        );
        let views: Vec<CandidateView<'_>> = ranked
            .iter()
            .map(|r| CandidateView {
                proposition_id: r.proposition_id,
                product_code: &r.content.doc.product.code,
                channel: Channel::BankApp,
                policy,
            })
            .collect();
        let selection = ledger.select(&views, &held, 3, NOW);
        let explained: Vec<Evaluation> = selection
            .chosen
            .iter()
            .map(|&i| evaluate(ranked[i].content, &personas, &subject, &base, NOW).expect("ok"))
            .collect();
        (ranked.len(), explained)
    };
    let (available, all_explained) = decide_all();
    let (explained, _) = decide();
    assert_eq!(
        explained
            .iter()
            .map(|e| serde_json::to_string(e).expect("json"))
            .collect::<Vec<_>>(),
        all_explained
            .iter()
            .map(|e| serde_json::to_string(e).expect("json"))
            .collect::<Vec<_>>(),
        "the same offers either way"
    );
    let held_back = rank(
        &offerable,
        &personas,
        &subject,
        &base,
        Prior::default(),
        counts,
        NOW,
        true,
    )
    .1
    .len();
    assert_eq!(explained.len(), 3, "three offers chosen");
    let mut times: Vec<Duration> = (0..2_000)
        .map(|_| {
            let t = Instant::now();
            black_box(decide());
            t.elapsed()
        })
        .collect();
    times.sort();
    let mut screens: Vec<Duration> = (0..2_000)
        .map(|_| {
            let t = Instant::now();
            black_box(decide_all());
            t.elapsed()
        })
        .collect();
    screens.sort();
    let explain_all = {
        let t = Instant::now();
        for (_, v) in &propositions {
            black_box(evaluate(&v.content, &personas, &subject, &base, NOW).expect("ok"));
        }
        t.elapsed()
    };
    println!(
        "{PROPOSITIONS} published propositions, {PERSONAS} personas; the customer matches {} personas: {available} available, {held_back} held back",
        (0..PERSONAS)
            .filter(|i| {
                personas.version(&format!("p{i}"), 1).is_some_and(|p| {
                    let mut data = subject.attributes.clone();
                    data.insert("params".into(), json!({}));
                    data.insert("personas".into(), json!({}));
                    p.condition.holds(&Value::Object(data))
                })
            })
            .count()
    );
    println!("| measure | p50 | p99 |");
    println!("|---|---|---|");
    println!(
        "| decision (screen in bound order, rank, policies, explain 3; {} of {PROPOSITIONS} screened) | {:.1} µs | {:.1} µs |",
        screened.get(),
        percentile(&times, 0.5).as_secs_f64() * 1e6,
        percentile(&times, 0.99).as_secs_f64() * 1e6
    );
    println!(
        "| the same decision screening every proposition | {:.0} µs | {:.0} µs |",
        percentile(&screens, 0.5).as_secs_f64() * 1e6,
        percentile(&screens, 0.99).as_secs_f64() * 1e6
    );
    println!(
        "the screening order (built once per proposition list change and outcome refresh): {:.0} µs",
        order_time.as_secs_f64() * 1e6
    );
    println!(
        "for comparison, a full explained evaluation of all {PROPOSITIONS}: {:.1} ms",
        explain_all.as_secs_f64() * 1e3
    );
    println!(
        "resident memory per published proposition (content, compiled conditions, schema): {per_proposition_kib:.1} KiB"
    );
}
