//! The lazy ranking a decision uses (screening in bound order, a threshold algorithm) gives
//! the same order as screening every proposition, whatever the priorities, values, audiences
//! and outcome counts; and the contact policies choose the same offers from it as from the
//! full ranking.

use std::collections::{BTreeSet, HashMap};

use ecohub_offers::domain::*;
use ecohub_testkit::properties::config;
use proptest::prelude::*;
use serde_json::json;

use super::{NOW, catalogues, loan_content, partner};

/// One generated proposition: priority, business value, audience kind, whether the amount
/// fits its parameters.
type Spec = (u32, u8, u8, bool);

fn spec() -> impl Strategy<Value = Spec> {
    (1u32..4, 1u8..4, 0u8..4, prop::bool::weighted(0.9))
}

fn version(i: usize, (priority, value, audience, fits): Spec) -> (PropositionId, Version) {
    let mut doc = super::fixtures::globetrotter_loan(&partner().to_string());
    doc["name"] = json!(format!("P{i}"));
    doc["product"]["code"] = json!(format!("P{i}"));
    doc["priority"] = json!(priority);
    doc["business_value"] = json!(value);
    doc["availability"]["audience"] = match audience {
        0 => json!({}),
        1 => json!({"all_of": ["globetrotter"]}),
        2 => json!({"any_of": ["prime"]}),
        3 => json!({"none_of": ["globetrotter"]}),
        _ => json!({"any_of": ["globetrotter", "prime"]}),
    };
    if !fits {
        doc["parameters"]["properties"]["amount"]["maximum"] = json!(2000);
    }
    let content = loan_content(doc);
    let id = PropositionId::parse(&format!("0190b000-0000-7000-8000-{i:012x}")).unwrap();
    let version = Version {
        number: 1,
        content,
        status: VersionStatus::Published,
        drafted_by: "client:pm-1".into(),
        submitted_by: Some("client:pm-1".into()),
        approved_by: Some("client:pm-2".into()),
        authors: BTreeSet::from(["client:pm-1".to_owned()]),
        accepted: BTreeSet::from([partner()]),
        rejection: None,
    };
    (id, version)
}

fn subject(globetrotter: bool, prime: bool) -> Subject {
    Subject {
        attributes: json!({"age": if prime {35} else {60}, "monthly_income": 6000,
                           "risk_class": "low", "is_globetrotter": globetrotter})
        .as_object()
        .cloned()
        .unwrap(),
        objected: false,
    }
}

const PRIOR: Prior = Prior {
    alpha: 1.0,
    beta: 19.0,
};

#[test]
fn the_lazy_ranking_is_the_full_ranking_and_screens_no_more_than_it_needs() {
    let (_, personas) = catalogues();
    let buckets = [None, Some("globetrotter"), Some("prime")];
    proptest!(config(256), |(
        specs in prop::collection::vec(spec(), 1..40),
        counts in prop::collection::vec((0u64..60, 0u64..20), 120),
        who in (any::<bool>(), any::<bool>()),
        k in 1usize..6,
    )| {
        let versions: Vec<_> = specs.iter().enumerate().map(|(i, s)| version(i, *s)).collect();
        let offerable: Vec<Offerable<'_>> = versions
            .iter()
            .map(|(id, version)| Offerable { id: *id, version })
            .collect();
        let table: HashMap<(PropositionId, Option<&str>), OutcomeCounts> = offerable
            .iter()
            .enumerate()
            .flat_map(|(i, o)| buckets.iter().enumerate().map(move |(b, p)| (i, b, o.id, *p)))
            .map(|(i, b, id, p)| {
                let (presented, accepted) = counts[(i * 3 + b) % counts.len()];
                ((id, p), OutcomeCounts { presented, accepted })
            })
            .collect();
        let lookup = |id: PropositionId, p: Option<&str>| table.get(&(id, p)).copied().unwrap_or_default();
        let best = |o: &Offerable<'_>| {
            let doc = &o.version.content.doc;
            let audience = &doc.availability.audience;
            Propensity::best(
                PRIOR,
                doc.personas.keys().map(String::as_str),
                !(audience.all_of.is_empty() && audience.any_of.is_empty()),
                |p| lookup(o.id, p),
            )
        };
        let subject = subject(who.0, who.1);
        let base = Context {
            published: true,
            channel: Some(Channel::BankApp),
            params: json!({"amount": 15000}).as_object().cloned().unwrap(),
            inactive_partners: BTreeSet::new(),
            not_accepted: BTreeSet::new(),
        };
        let (full, _) = rank(&offerable, &personas, &subject, &base, PRIOR, lookup, NOW, false);
        let ids = |r: &[Ranked<'_>]| r.iter().map(|r| (r.proposition_id, r.score.to_bits())).collect::<Vec<_>>();

        // One bound per proposition, and one per proposition and outcome bucket (what
        // decisions use): both rank as the full ranking does.
        let by_proposition = ScreeningOrder::new(&offerable, best);
        let order = ScreeningOrder::by_bucket(&offerable, PRIOR, lookup);
        for order in [&by_proposition, &order] {
            let mut lazy = Ranking::new(&offerable, order, &personas, &subject, &base, PRIOR, lookup, NOW, false);
            // The first k, then everything: the same as the full ranking.
            let first_k = (0..k).map_while(|i| lazy.get(i).map(|r| r.proposition_id)).collect::<Vec<_>>();
            prop_assert_eq!(&first_k[..], &ids(&full).iter().map(|r| r.0).take(k).collect::<Vec<_>>()[..]);
            let screened = lazy.screened();
            prop_assert!(screened <= offerable.len());
            lazy.finish();
            prop_assert_eq!(ids(lazy.ranked()), ids(&full));
            prop_assert_eq!(lazy.screened(), offerable.len());
        }

        // The policies choose the same offers from the lazy ranking as from the full one.
        let ledger = ContactLedger::default();
        let policy = ContactPolicy { daily_max_per_channel: 2, ..ContactPolicy::default() };
        fn view<'c>(r: &Ranked<'c>, policy: ContactPolicy) -> CandidateView<'c> {
            CandidateView {
                proposition_id: r.proposition_id,
                product_code: &r.content.doc.product.code,
                channel: Channel::BankApp,
                policy,
            }
        }
        let views: Vec<_> = full.iter().map(|r| view(r, policy)).collect();
        let held = BTreeSet::from(["P1".to_owned()]);
        let exhaustive = ledger.select(&views, &held, k, NOW);
        let mut again = Ranking::new(&offerable, &order, &personas, &subject, &base, PRIOR, lookup, NOW, false);
        let lazily = ledger.select_from(|i| again.get(i).map(|r| view(r, policy)), &held, k, NOW, false);
        prop_assert_eq!(exhaustive.chosen, lazily.chosen);
    });
}

/// 200 propositions with `audience` (see [`version`]), priorities 1 to 200.
fn two_hundred(audience: u8) -> Vec<(PropositionId, Version)> {
    (0..200)
        .map(|i| version(i, (i as u32 + 1, 1, audience, true)))
        .collect()
}

fn offerable(versions: &[(PropositionId, Version)]) -> Vec<Offerable<'_>> {
    versions
        .iter()
        .map(|(id, version)| Offerable { id: *id, version })
        .collect()
}

/// A decision in the bank's app for 15,000, every partner active and accepting.
fn bank_app() -> Context {
    Context {
        published: true,
        channel: Some(Channel::BankApp),
        params: json!({"amount": 15000}).as_object().cloned().unwrap(),
        inactive_partners: BTreeSet::new(),
        not_accepted: BTreeSet::new(),
    }
}

#[test]
fn a_decision_over_many_propositions_screens_only_the_best_bounded_ones() {
    let (_, personas) = catalogues();
    // 200 propositions for everyone, priorities 1 to 200, no outcomes yet.
    let versions = two_hundred(0);
    let offerable = offerable(&versions);
    let none = |_: PropositionId, _: Option<&str>| OutcomeCounts::default();
    let prior_mean = Propensity::of(PRIOR, None, OutcomeCounts::default()).estimate;
    let order = ScreeningOrder::new(&offerable, |_| prior_mean);
    let base = bank_app();
    let subject = subject(true, true);
    let mut lazy = Ranking::new(
        &offerable, &order, &personas, &subject, &base, PRIOR, none, NOW, false,
    );
    let top: Vec<u32> = (0..3)
        .map(|i| lazy.get(i).unwrap().content.doc.priority)
        .collect();
    assert_eq!(top, [200, 199, 198]);
    // Each is known once the next one's bound is below its score: three screened of 200.
    assert_eq!(lazy.screened(), 3);
}

#[test]
fn bounds_per_outcome_bucket_screen_few_when_one_persona_has_no_outcomes_yet() {
    let (_, personas) = catalogues();
    // 200 propositions for globetrotters or prime customers, priorities 1 to 200. Prime
    // customers were offered each 1,000 times and accepted 10: an estimate of 1.1 %. Nobody
    // offered them to a globetrotter yet: the prior's 5 %, the best estimate of each.
    let versions = two_hundred(4);
    let offerable = offerable(&versions);
    assert!(
        offerable[0]
            .version
            .content
            .doc
            .personas
            .contains_key("prime")
    );
    let counts = |_: PropositionId, p: Option<&str>| match p {
        Some("prime") => OutcomeCounts {
            presented: 1000,
            accepted: 10,
        },
        _ => OutcomeCounts::default(),
    };
    let base = bank_app();
    let prime = subject(false, true);
    let best = |o: &Offerable<'_>| {
        Propensity::best(
            PRIOR,
            o.version.content.doc.personas.keys().map(String::as_str),
            true,
            |p| counts(o.id, p),
        )
    };
    let top3 = |order: &ScreeningOrder| {
        let mut lazy = Ranking::new(
            &offerable, order, &personas, &prime, &base, PRIOR, counts, NOW, false,
        );
        let top: Vec<u32> = (0..3)
            .map(|i| lazy.get(i).unwrap().content.doc.priority)
            .collect();
        (top, lazy.screened())
    };
    // One bound per proposition: 5 % for everyone, so the prime customer's third best
    // (198 × 1.1 %) is only known once the bounds fall below it, at priority 43.
    let (top, screened) = top3(&ScreeningOrder::new(&offerable, best));
    assert_eq!(top, [200, 199, 198]);
    assert_eq!(screened, 158);
    // Per bucket: the prime entries carry the prime customer's exact scores.
    let (top, screened) = top3(&ScreeningOrder::by_bucket(&offerable, PRIOR, counts));
    assert_eq!(top, [200, 199, 198]);
    assert_eq!(screened, 3);
}
