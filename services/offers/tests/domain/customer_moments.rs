//! A customer's index of moments (ADR 0026, "The trail of moments"): notes are kept once and in
//! log order however often the index writer offers them, and a moment is noted for a customer
//! at the first of its events that names them.

use ecohub_kernel::testing::given;
use ecohub_kernel::{DomainEvent, Position, Timestamp};
use ecohub_offers::domain::*;
use serde_json::{Map, json};

use super::NOW;

fn note(id: &str, at: u64) -> MomentNote {
    MomentNote {
        moment: MomentId::of("bank", id),
        source: Position::new(at),
        at: Timestamp::from_unix_seconds(1_800_000_000 + at as i64),
    }
}

fn noted(id: &str, at: u64) -> CustomerMomentEvent {
    CustomerMomentEvent::Noted(note(id, at))
}

#[test]
fn notes_are_kept_once_and_in_log_order() {
    given::<CustomerMoments>([])
        .at(NOW)
        .when(CustomerMomentsCommand::Note(vec![
            note("m-1", 10),
            note("m-2", 12),
        ]))
        .then([noted("m-1", 10), noted("m-2", 12)]);
    // The same batch again (a restart, another instance): nothing.
    given::<CustomerMoments>([noted("m-1", 10), noted("m-2", 12)])
        .at(NOW)
        .when(CustomerMomentsCommand::Note(vec![
            note("m-1", 10),
            note("m-2", 12),
        ]))
        .then([]);
    // A batch overlapping what is noted: only what follows the last note.
    given::<CustomerMoments>([noted("m-1", 10)])
        .at(NOW)
        .when(CustomerMomentsCommand::Note(vec![
            note("m-0", 7),
            note("m-1", 10),
            note("m-3", 15),
        ]))
        .then([noted("m-3", 15)]);
    // Within a batch too, a note not after the previous one is left out.
    given::<CustomerMoments>([])
        .at(NOW)
        .when(CustomerMomentsCommand::Note(vec![
            note("m-5", 20),
            note("m-5", 20),
        ]))
        .then([noted("m-5", 20)]);
}

#[test]
fn the_index_state_is_what_its_last_note_says() {
    use ecohub_kernel::Aggregate;
    let all = [noted("a", 3), noted("b", 8), noted("c", 9)];
    let folded = all
        .iter()
        .fold(CustomerMoments::default(), |s, e| s.evolve(e));
    let last_only = CustomerMoments::default().evolve(&all[2]);
    assert_eq!(folded, last_only);
    assert_eq!(folded.last, Some(Position::new(9)));
}

#[test]
fn a_note_is_stored_without_personal_data_and_reads_back() {
    let e = noted("m-1", 10);
    let stored = e.encode();
    assert_eq!(e.event_type(), "MomentNoted");
    assert_eq!(e.event_version(), 1);
    let mut keys: Vec<&String> = stored.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["at", "moment_id", "source"]);
    assert_eq!(
        CustomerMomentEvent::decode("MomentNoted", 1, &stored).unwrap(),
        e
    );
    assert!(CustomerMomentEvent::decode("MomentNoted", 2, &stored).is_err());
    // The stream is keyed like the contact ledger: a UUID as it is, another id hashed.
    assert_eq!(
        customer_moments_stream("0190a000-0000-7000-8000-00000000000c"),
        "offermoments-0190a000-0000-7000-8000-00000000000c"
    );
    let hashed = customer_moments_stream("alice@example.com");
    assert!(!hashed.contains("alice"), "{hashed}");
    assert_eq!(
        hashed.strip_prefix("offermoments-"),
        contacts_stream("alice@example.com").strip_prefix("offercontacts-")
    );
}

fn refused(customer: Option<&str>, code: &str) -> MomentEvent {
    MomentEvent::Refused {
        id: MomentId::of("bank", "m"),
        moment_id: "m".into(),
        provider: "bank".into(),
        moment_type: "salary_received".into(),
        customer_id: customer.map(str::to_owned),
        code: code.into(),
        at: NOW,
    }
}

fn received(customer: &str) -> MomentEvent {
    MomentEvent::Received {
        moment: ReceivedMoment {
            id: MomentId::of("bank", "m"),
            moment_id: "m".into(),
            provider: "bank".into(),
            moment_type: "salary_received".into(),
            type_revision: 0,
            customer_id: customer.into(),
            occurred_at: None,
            payload: json!({"amount": 1})
                .as_object()
                .cloned()
                .unwrap_or_else(Map::new),
        },
        at: NOW,
    }
}

#[test]
fn a_moment_is_noted_for_a_customer_at_the_first_event_naming_them() {
    let id = MomentId::of("bank", "m");
    // Refused without a customer (an unknown pairwise id), then for Alice twice, then
    // received for her: noted once, at the first refusal naming her.
    let events = [
        refused(None, "unknown_customer"),
        refused(Some("alice"), "no_consent"),
        refused(Some("alice"), "no_consent"),
        received("alice"),
        MomentEvent::NotMatched { id, at: NOW },
    ];
    let firsts: Vec<usize> = (0..events.len())
        .filter(|i| first_naming(&events, *i, "alice"))
        .collect();
    assert_eq!(firsts, [1]);
    assert_eq!(customer_named(&events[0]), None);
    assert_eq!(customer_named(&events[3]), Some("alice"));
    assert_eq!(customer_named(&events[4]), None);
    assert!(!first_naming(&events, 1, "bob"));
    assert!(!first_naming(&events, 9, "alice"), "no event there");
    // Received at once: noted at its first event.
    assert!(first_naming(&[received("bob")], 0, "bob"));
}
