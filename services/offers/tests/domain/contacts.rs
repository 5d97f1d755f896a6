//! A customer's contact ledger: the contact policies (caps, suppression, products accepted or
//! held, the decision's maximum), responses (idempotent, conflicting, unknown, expired),
//! expiry, ranking by propensity, and the stored schema.

use std::collections::BTreeSet;
use std::time::Duration;

use ecohub_kernel::testing::{given, given_no_history};
use ecohub_kernel::{DecodeError, DomainEvent, Timestamp};
use ecohub_offers::domain::*;

use super::{NOW, partner};

const DAY: Duration = Duration::from_secs(86_400);

fn proposition(n: u8) -> PropositionId {
    PropositionId::parse(&format!("0190a000-0000-7000-8000-0000000000{n:02x}")).unwrap()
}

fn offer_id(n: u32) -> OfferId {
    OfferId::parse(&format!("0190b000-0000-7000-8000-{n:012x}")).unwrap()
}

fn decision() -> DecisionId {
    DecisionId::parse("0190c000-0000-7000-8000-000000000001").unwrap()
}

/// An offer of proposition `p` (product `P<p>`) in `channel`.
fn offer(n: u32, p: u8, channel: Channel) -> Presented {
    Presented {
        offer_id: offer_id(n),
        decision_id: decision(),
        proposition_id: proposition(p),
        version: 1,
        product_code: format!("P{p}"),
        channel,
        placement: "home_banner".into(),
        price: OfferPrice {
            rate_percent: 5.3,
            commission_percent: 0.0,
            fees: 0.0,
        },
        partners: vec![partner()],
        personas: vec!["globetrotter".into()],
        explanation_digest: "ab".repeat(32),
        price_rule: Some("globetrotter".into()),
        expires_at: NOW.plus(DAY * 14),
        moment: None,
    }
}

fn candidate(n: u32, p: u8, channel: Channel) -> Candidate {
    Candidate {
        offer: offer(n, p, channel),
        policy: ContactPolicy::default(),
    }
}

fn presented(n: u32, p: u8, channel: Channel, at: Timestamp) -> ContactEvent {
    let mut o = offer(n, p, channel);
    o.expires_at = at.plus(DAY * 14);
    ContactEvent::Presented { offer: o, at }
}

fn responded(n: u32, p: u8, response: Response, at: Timestamp) -> ContactEvent {
    ContactEvent::Responded {
        offer_id: offer_id(n),
        customer_id: "cust-1".into(),
        response,
        by: Reporter::Customer,
        proposition_id: proposition(p),
        version: 1,
        product_code: format!("P{p}"),
        partners: vec![partner()],
        personas: vec!["globetrotter".into()],
        channel: Channel::BankApp,
        at,
    }
}

fn present(candidates: Vec<Candidate>, max: usize) -> ContactCommand {
    ContactCommand::Present {
        candidates,
        held_products: BTreeSet::new(),
        max,
    }
}

fn codes(
    ledger: &ContactLedger,
    candidates: &[Candidate],
    held: &[&str],
    max: usize,
) -> Vec<String> {
    let held: BTreeSet<String> = held.iter().map(|s| s.to_string()).collect();
    let views: Vec<CandidateView<'_>> = candidates.iter().map(Candidate::view).collect();
    let s = ledger.select(&views, &held, max, NOW);
    let mut out = vec![String::new(); candidates.len()];
    for i in s.chosen {
        out[i] = "chosen".into();
    }
    for (i, e) in s.excluded {
        out[i] = e.code;
    }
    out
}

fn ledger(history: Vec<ContactEvent>) -> ContactLedger {
    history.iter().fold(ContactLedger::default(), |l, e| {
        ecohub_kernel::Aggregate::evolve(l, e)
    })
}

#[test]
fn a_decision_presents_the_best_ranked_candidates_up_to_its_maximum() {
    let candidates = vec![
        candidate(1, 1, Channel::BankApp),
        candidate(2, 2, Channel::BankApp),
        candidate(3, 3, Channel::BankApp),
    ];
    let state = given_no_history::<ContactLedger>()
        .at(NOW)
        .when(present(candidates.clone(), 2))
        .then([
            ContactEvent::Presented {
                offer: offer(1, 1, Channel::BankApp),
                at: NOW,
            },
            ContactEvent::Presented {
                offer: offer(2, 2, Channel::BankApp),
                at: NOW,
            },
        ]);
    assert_eq!(state.offers.len(), 2);
    assert_eq!(
        codes(&ContactLedger::default(), &candidates, &[], 2),
        ["chosen", "chosen", "max_offers"]
    );
}

#[test]
fn a_proposition_is_presented_at_most_its_cap_per_period() {
    let history = vec![
        presented(1, 1, Channel::Web, NOW.minus(DAY * 6)),
        presented(2, 1, Channel::Web, NOW.minus(DAY * 3)),
        presented(3, 1, Channel::Web, NOW.minus(DAY)),
    ];
    let c = vec![
        candidate(4, 1, Channel::BankApp),
        candidate(5, 2, Channel::BankApp),
    ];
    assert_eq!(
        codes(&ledger(history.clone()), &c, &[], 3),
        ["frequency_cap", "chosen"]
    );
    given::<ContactLedger>(history.clone())
        .at(NOW)
        .when(present(vec![candidate(4, 1, Channel::BankApp)], 3))
        .then([]);
    // The oldest presentation leaves the 7-day period: one more is allowed.
    let later = ledger(history);
    let held = BTreeSet::new();
    let c = candidate(4, 1, Channel::BankApp);
    let s = later.select(&[c.view()], &held, 3, NOW.plus(DAY * 2));
    assert_eq!(s.chosen, [0]);
}

#[test]
fn a_proposition_may_set_its_own_cap() {
    let history = vec![presented(1, 1, Channel::Web, NOW.minus(DAY))];
    let own = PropositionPolicy {
        max_presentations: Some(1),
        period_days: Some(30),
        ..PropositionPolicy::default()
    };
    let c = vec![Candidate {
        offer: offer(2, 1, Channel::Web),
        policy: ContactPolicy::default().with(Some(&own)),
    }];
    assert_eq!(codes(&ledger(history), &c, &[], 3), ["frequency_cap"]);
    assert_eq!(
        c[0].policy.daily_max_per_channel, 5,
        "the rest stays global"
    );
}

#[test]
fn a_channel_shows_a_customer_at_most_its_daily_maximum_this_decision_included() {
    let history: Vec<ContactEvent> = (0..4)
        .map(|i| {
            presented(
                i,
                10 + i as u8,
                Channel::BankApp,
                NOW.minus(Duration::from_secs(3600)),
            )
        })
        .collect();
    let c = vec![
        candidate(10, 1, Channel::BankApp),
        candidate(11, 2, Channel::BankApp),
        candidate(12, 3, Channel::Web),
    ];
    assert_eq!(
        codes(&ledger(history), &c, &[], 10),
        ["chosen", "daily_cap", "chosen"],
        "4 earlier + 1 now = 5 on the app; the web has its own count"
    );
}

#[test]
fn a_declined_proposition_is_suppressed_for_its_days() {
    let history = vec![
        presented(1, 1, Channel::Web, NOW.minus(DAY * 12)),
        responded(1, 1, Response::Declined, NOW.minus(DAY * 10)),
    ];
    let c = vec![candidate(2, 1, Channel::Web), candidate(3, 2, Channel::Web)];
    assert_eq!(
        codes(&ledger(history.clone()), &c, &[], 3),
        ["suppressed_after_decline", "chosen"]
    );
    let held = BTreeSet::new();
    let views: Vec<CandidateView<'_>> = c.iter().map(Candidate::view).collect();
    let s = ledger(history).select(&views, &held, 3, NOW.plus(DAY * 21));
    assert_eq!(s.chosen, [0, 1], "30 days after the decline");
}

#[test]
fn a_product_accepted_or_held_is_never_offered_again() {
    let history = vec![
        presented(1, 1, Channel::Web, NOW.minus(DAY * 200)),
        responded(1, 1, Response::Accepted, NOW.minus(DAY * 199)),
    ];
    let c = vec![
        candidate(2, 1, Channel::Web),
        candidate(3, 2, Channel::Web),
        candidate(4, 3, Channel::Web),
    ];
    assert_eq!(
        codes(&ledger(history), &c, &["P2"], 3),
        ["already_accepted", "already_held", "chosen"]
    );
}

#[test]
fn responses_are_recorded_once_and_conflicts_refused() {
    let history = vec![presented(1, 1, Channel::BankApp, NOW.minus(DAY))];
    let accept = ContactCommand::Respond {
        customer_id: "cust-1".into(),
        offer_id: offer_id(1),
        response: Response::Accepted,
        by: Reporter::Customer,
    };
    let state = given::<ContactLedger>(history.clone())
        .at(NOW)
        .when(accept.clone())
        .then([responded(1, 1, Response::Accepted, NOW)]);
    assert_eq!(state.offers[&offer_id(1)].status, OfferStatus::Accepted);
    let accepted = vec![history[0].clone(), responded(1, 1, Response::Accepted, NOW)];
    given::<ContactLedger>(accepted.clone())
        .at(NOW)
        .when(accept)
        .then([]);
    given::<ContactLedger>(accepted.clone())
        .at(NOW)
        .when(ContactCommand::Respond {
            customer_id: "cust-1".into(),
            offer_id: offer_id(1),
            response: Response::Viewed,
            by: Reporter::Channel,
        })
        .then([]);
    given::<ContactLedger>(accepted)
        .at(NOW)
        .when(ContactCommand::Respond {
            customer_id: "cust-1".into(),
            offer_id: offer_id(1),
            response: Response::Declined,
            by: Reporter::Customer,
        })
        .then_refused("the offer is already accepted");
    given::<ContactLedger>(history)
        .at(NOW)
        .when(ContactCommand::Respond {
            customer_id: "cust-1".into(),
            offer_id: offer_id(9),
            response: Response::Accepted,
            by: Reporter::Customer,
        })
        .then_refused("not found");
}

#[test]
fn an_offer_past_its_expiry_cannot_be_answered_and_is_recorded_expired() {
    let history = vec![presented(1, 1, Channel::BankApp, NOW.minus(DAY * 15))];
    given::<ContactLedger>(history.clone())
        .at(NOW)
        .when(ContactCommand::Respond {
            customer_id: "cust-1".into(),
            offer_id: offer_id(1),
            response: Response::Accepted,
            by: Reporter::Customer,
        })
        .then_refused("the offer is already expired");
    let state = given::<ContactLedger>(history)
        .at(NOW)
        .when(ContactCommand::ExpireDue)
        .then([ContactEvent::Expired {
            offer_id: offer_id(1),
            proposition_id: proposition(1),
            version: 1,
            personas: vec!["globetrotter".into()],
            channel: Channel::BankApp,
            at: NOW,
        }]);
    assert_eq!(state.open_offers(NOW).count(), 0);
}

#[test]
fn propensity_is_the_beta_bernoulli_mean_of_the_best_evidenced_persona() {
    let prior = Prior::default();
    let none = Propensity::of(prior, None, OutcomeCounts::default());
    assert!((none.estimate - 0.05).abs() < 1e-12, "the prior mean");
    let counts = |p: Option<&str>| match p {
        Some("globetrotter") => OutcomeCounts {
            presented: 80,
            accepted: 20,
        },
        Some("prime") => OutcomeCounts {
            presented: 10,
            accepted: 9,
        },
        _ => OutcomeCounts {
            presented: 200,
            accepted: 10,
        },
    };
    let p = Propensity::for_customer(prior, &["prime", "globetrotter"], counts);
    assert_eq!(
        p.persona.as_deref(),
        Some("globetrotter"),
        "most presentations"
    );
    assert!((p.estimate - 21.0 / 100.0).abs() < 1e-12, "{p:?}");
    let p = Propensity::for_customer::<&str>(prior, &[], counts);
    assert_eq!(p.persona, None);
    assert!((p.estimate - 11.0 / 220.0).abs() < 1e-12);
    assert_eq!(rank_score(10, 250.0, 0.2), 500.0);
    // Acceptances beyond presentations (a lagging read model) are not counted.
    let odd = Propensity::of(
        prior,
        None,
        OutcomeCounts {
            presented: 1,
            accepted: 3,
        },
    );
    assert_eq!(odd.accepted, 1);
}

#[test]
fn contact_events_round_trip_with_stable_names() {
    let events = vec![
        presented(1, 1, Channel::BankApp, NOW),
        responded(1, 1, Response::Viewed, NOW),
        responded(1, 1, Response::Accepted, NOW),
        responded(1, 1, Response::Declined, NOW),
        ContactEvent::Expired {
            offer_id: offer_id(1),
            proposition_id: proposition(1),
            version: 1,
            personas: vec![],
            channel: Channel::Web,
            at: NOW,
        },
    ];
    let names: Vec<&str> = events.iter().map(|e| e.event_type()).collect();
    assert_eq!(names, ContactEvent::TYPES);
    for e in events {
        // `OfferPresented` v2 added the moment that made the offer.
        let version = if matches!(e, ContactEvent::Presented { .. }) {
            2
        } else {
            1
        };
        assert_eq!(e.event_version(), version);
        let back = ContactEvent::decode(e.event_type(), version, &e.encode()).unwrap();
        assert_eq!(back, e);
    }
    // A v1 payload (no moment) still decodes.
    let v1 = presented(1, 1, Channel::Web, NOW);
    let mut data = v1.encode();
    data.as_object_mut().unwrap().remove("moment");
    assert_eq!(
        ContactEvent::decode("OfferPresented", 1, &data).unwrap(),
        v1
    );
    assert!(matches!(
        ContactEvent::decode(
            "OfferPresented",
            3,
            &presented(1, 1, Channel::Web, NOW).encode()
        ),
        Err(DecodeError::UnsupportedVersion { .. })
    ));
}

#[test]
fn the_ledger_stream_never_names_the_customer() {
    assert_eq!(
        contacts_stream("0190f5c2-8b1e-7c3a-9d4f-2a6b8c0e1f35"),
        "offercontacts-0190f5c2-8b1e-7c3a-9d4f-2a6b8c0e1f35"
    );
    let hashed = contacts_stream("alice@example.com");
    assert!(!hashed.contains("alice"), "{hashed}");
    assert_eq!(hashed.len(), "offercontacts-".len() + 64);
}

#[test]
fn policies_are_validated() {
    assert!(ContactPolicy::default().validate().is_ok());
    let zero = ContactPolicy {
        daily_max_per_channel: 0,
        ..ContactPolicy::default()
    };
    assert_eq!(zero.validate().unwrap_err().field, "/daily_max_per_channel");
    let own = PropositionPolicy {
        period_days: Some(5000),
        ..PropositionPolicy::default()
    };
    assert_eq!(
        own.validate("/contact_policy").unwrap_err().field,
        "/contact_policy/period_days"
    );
}

/// Why a decision may choose on a ledger remembered from an earlier read (ADR 0022): every
/// policy only gets stricter as events are added, so when the remembered ledger lets nothing
/// through, the current one lets nothing through either; and when it lets something through,
/// the append expecting its revision fails if the ledger has moved on.
#[test]
fn a_ledger_with_more_events_never_lets_through_what_an_older_one_held_back_entirely() {
    use ecohub_testkit::properties::config;
    use proptest::prelude::*;
    let event = (0u32..12, 0u8..4, 0u8..3, 0u64..20 * 24).prop_map(|(n, p, kind, hours)| {
        let at = NOW.minus(Duration::from_secs(3600 * hours));
        match kind {
            0 => presented(n, p, [Channel::BankApp, Channel::Web][n as usize % 2], at),
            1 => responded(n, p, Response::Declined, at),
            _ => responded(n, p, Response::Accepted, at),
        }
    });
    proptest!(config(512), |(
        older in prop::collection::vec(event.clone(), 0..16),
        newer in prop::collection::vec(event, 0..8),
        max in 1usize..4,
    )| {
        let candidates: Vec<Candidate> = (0..4).map(|p| candidate(100 + u32::from(p), p, Channel::BankApp)).collect();
        let views: Vec<CandidateView<'_>> = candidates.iter().map(Candidate::view).collect();
        let held = BTreeSet::new();
        let old = ledger(older.clone());
        let now = ledger(older.into_iter().chain(newer).collect());
        if old.select(&views, &held, max, NOW).chosen.is_empty() {
            prop_assert!(now.select(&views, &held, max, NOW).chosen.is_empty());
        }
    });
}

#[test]
fn the_answered_offers_are_the_accepted_and_declined_ones_newest_answer_first() {
    // Given three offers: one accepted, one declined later, one only viewed.
    let given = ledger(vec![
        presented(1, 1, Channel::Web, NOW.minus(DAY * 5)),
        presented(2, 2, Channel::Web, NOW.minus(DAY * 4)),
        presented(3, 3, Channel::Web, NOW.minus(DAY * 3)),
        responded(1, 1, Response::Accepted, NOW.minus(DAY)),
        responded(2, 2, Response::Declined, NOW.minus(DAY * 2)),
        responded(3, 3, Response::Viewed, NOW),
    ]);
    // When the customer's page asks for the answers, then: the accepted one (answered last)
    // first, then the declined one; a view is no answer.
    let answered: Vec<(OfferId, OfferStatus)> = given
        .answered()
        .iter()
        .map(|r| (r.offer.offer_id, r.status))
        .collect();
    assert_eq!(
        answered,
        [
            (offer_id(1), OfferStatus::Accepted),
            (offer_id(2), OfferStatus::Declined)
        ]
    );
}
