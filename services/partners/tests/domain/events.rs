//! The stored event schema: every type round-trips, the stored form is pinned, and unknown
//! types, versions and malformed payloads are refused.

use std::collections::BTreeSet;

use ecohub_kernel::{DecodeError, DomainEvent};
use ecohub_partners::domain::*;
use serde_json::json;

use crate::support::*;

/// One event of every type, with every optional field filled.
fn one_of_each() -> Vec<PartnerEvent> {
    vec![
        applied(),
        verified(CheckKind::RegistryCheck, CheckResult::Passed, maker()),
        verified(CheckKind::SanctionsScreening, CheckResult::Failed, maker()),
        verified(
            CheckKind::Other("pep_screening".into()),
            CheckResult::Inconclusive,
            maker(),
        ),
        PartnerEvent::Approved {
            roles: roles(&[Role::DataProvider]),
            redirect_uris: vec![
                redirect("https://travelco.example/cb"),
                redirect("http://127.0.0.1/cb"),
            ],
            note: Some(Note::parse("pilot").unwrap()),
            by: checker(),
            at: ago(40),
        },
        approved(),
        rejected(),
        suspended(),
        PartnerEvent::Reinstated {
            reason: reason("explained"),
            by: checker(),
            at: ago(25),
        },
        offboarded(),
        PartnerEvent::WebhookRegistered {
            webhook_id: webhook_id(1),
            url: hook_url(1),
            event_types: ["Consent*", "OfferAccepted"]
                .iter()
                .map(|f| EventTypeFilter::parse(f).unwrap())
                .collect(),
            at: ago(10),
        },
        webhook_registered(2),
        PartnerEvent::WebhookRemoved {
            webhook_id: webhook_id(1),
            at: ago(5),
        },
    ]
}

#[test]
fn every_event_type_round_trips() {
    let events = one_of_each();
    let types: BTreeSet<&str> = events.iter().map(|e| e.event_type()).collect();
    assert_eq!(
        types,
        PartnerEvent::TYPES.into_iter().collect(),
        "every type is covered"
    );
    for event in events {
        assert_eq!(event.event_version(), 1);
        let data = event.encode();
        let back = PartnerEvent::decode(event.event_type(), event.event_version(), &data)
            .unwrap_or_else(|e| panic!("{}: {e}", event.event_type()));
        assert_eq!(back, event);
    }
}

#[test]
fn event_type_names_are_the_stable_contract() {
    let names: Vec<&str> = one_of_each().iter().map(|e| e.event_type()).collect();
    assert_eq!(
        names,
        [
            "PartnerApplied",
            "PartnerVerificationRecorded",
            "PartnerVerificationRecorded",
            "PartnerVerificationRecorded",
            "PartnerApproved",
            "PartnerApproved",
            "PartnerRejected",
            "PartnerSuspended",
            "PartnerReinstated",
            "PartnerOffboarded",
            "PartnerWebhookRegistered",
            "PartnerWebhookRegistered",
            "PartnerWebhookRemoved",
        ]
    );
}

/// The stored form is a public contract: changing it means a new version, not an edit here.
#[test]
fn the_stored_form_is_pinned() {
    assert_eq!(
        applied().encode(),
        json!({
            "partner_id": "01890a5d-ac96-774b-bcce-b302099a8057",
            "legal_name": "TravelCo GmbH",
            "registration_number": "HRB 123456",
            "country": "DE",
            "website": "https://travelco.example",
            "contacts": [{ "name": "Ada Lovelace", "email": "ada@travelco.example", "role": "technical" }],
            "requested_roles": ["data_recipient", "offer_partner"],
            "at": "2027-01-15T07:00:00Z"
        })
    );
    assert_eq!(
        verified(
            CheckKind::Other("pep_screening".into()),
            CheckResult::Inconclusive,
            maker()
        )
        .encode(),
        json!({
            "check": { "other": "pep_screening" },
            "result": "inconclusive",
            "evidence": "case 2026/0042",
            "by": "staff-maker",
            "at": "2027-01-15T07:10:00Z"
        })
    );
    assert_eq!(
        verified(CheckKind::SanctionsScreening, CheckResult::Passed, maker()).encode()["check"],
        json!("sanctions_screening")
    );
    assert_eq!(
        approved().encode(),
        json!({
            "roles": ["data_recipient", "offer_partner"],
            "redirect_uris": ["https://travelco.example/callback"],
            "by": "staff-checker",
            "at": "2027-01-15T07:20:00Z"
        })
    );
    assert_eq!(
        suspended().encode(),
        json!({ "reason": "unusual traffic", "by": "staff-checker", "at": "2027-01-15T07:30:00Z" })
    );
    assert_eq!(
        webhook_registered(2).encode(),
        json!({
            "webhook_id": webhook_id(2).to_string(),
            "url": "https://travelco.example/hooks/2",
            "event_types": [],
            "at": "2027-01-15T07:50:00Z"
        })
    );
}

#[test]
fn decoding_trusts_recorded_values_rather_than_todays_rules() {
    // a reason longer than today's limit, recorded under an older rule, still decodes
    let long = "r".repeat(900);
    let event = PartnerEvent::decode(
        "PartnerSuspended",
        1,
        &json!({ "reason": long, "by": "staff-checker", "at": "2027-01-15T07:30:00Z" }),
    )
    .unwrap();
    let PartnerEvent::Suspended { reason, .. } = event else {
        panic!("wrong variant")
    };
    assert_eq!(reason.as_str().len(), 900);
}

#[test]
fn unknown_types_and_versions_are_refused() {
    let data = suspended().encode();
    assert_eq!(
        PartnerEvent::decode("PartnerVanished", 1, &data),
        Err(DecodeError::UnknownType {
            event_type: "PartnerVanished".into()
        })
    );
    assert_eq!(
        PartnerEvent::decode("CounterIncremented", 1, &data),
        Err(DecodeError::UnknownType {
            event_type: "CounterIncremented".into()
        })
    );
    for event_type in PartnerEvent::TYPES {
        for version in [0, 2] {
            assert_eq!(
                PartnerEvent::decode(event_type, version, &data),
                Err(DecodeError::UnsupportedVersion {
                    event_type: event_type.into(),
                    version
                })
            );
        }
    }
}

#[test]
fn malformed_payloads_are_refused() {
    let cases = [
        ("PartnerApplied", json!({ "legal_name": "TravelCo" })),
        (
            "PartnerVerificationRecorded",
            json!({ "check": "coin_toss", "result": "passed", "evidence": "x", "by": "s", "at": "2027-01-15T07:30:00Z" }),
        ),
        (
            "PartnerApproved",
            json!({ "roles": ["admin"], "redirect_uris": [], "by": "s", "at": "2027-01-15T07:30:00Z" }),
        ),
        (
            "PartnerSuspended",
            json!({ "reason": "x", "by": "s", "at": "yesterday" }),
        ),
        (
            "PartnerWebhookRemoved",
            json!({ "webhook_id": "not-a-uuid", "at": "2027-01-15T07:30:00Z" }),
        ),
        ("PartnerRejected", json!(null)),
    ];
    for (event_type, data) in cases {
        assert!(
            matches!(
                PartnerEvent::decode(event_type, 1, &data),
                Err(DecodeError::Malformed { .. })
            ),
            "{event_type} {data}"
        );
    }
}

#[test]
fn events_know_when_they_happened() {
    assert_eq!(applied().at(), ago(60));
    assert_eq!(offboarded().at(), ago(20));
}
