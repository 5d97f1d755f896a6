//! The stored schema: every event round-trips; unknown types and versions are refused.

use ecohub_consents::domain::*;
use ecohub_kernel::{DecodeError, DomainEvent};

use crate::support::*;

fn all_events() -> Vec<ConsentEvent> {
    vec![
        requested(),
        authorised(),
        ConsentEvent::Rejected {
            customer_id: customer(),
            reason: reason("customer_rejected"),
            at: NOW,
        },
        ConsentEvent::Revoked {
            by: RevokedBy::PartnerOffboarded,
            reason: reason("partner_offboarded"),
            at: NOW,
        },
        ConsentEvent::Expired {
            reason: reason("expired"),
            at: NOW,
        },
    ]
}

#[test]
fn events_round_trip_with_stable_names() {
    let names: Vec<&str> = all_events().iter().map(|e| e.event_type()).collect();
    assert_eq!(names, ConsentEvent::TYPES);
    for e in all_events() {
        assert_eq!(e.event_version(), 1);
        let back = ConsentEvent::decode(e.event_type(), 1, &e.encode()).unwrap();
        assert_eq!(back, e);
    }
}

#[test]
fn the_stored_request_has_its_documented_shape() {
    let v = requested().encode();
    assert_eq!(
        v["permissions"],
        serde_json::json!(["ReadAccountsBasic", "ReadBalances"])
    );
    assert_eq!(v["purpose"]["code"], "travel-offers");
    assert_eq!(v["data_providers"], serde_json::json!(["bank"]));
    assert!(v["expires_at"].is_string());
    let revoked = ConsentEvent::Revoked {
        by: RevokedBy::Customer,
        reason: reason("customer_request"),
        at: NOW,
    }
    .encode();
    assert_eq!(revoked["by"], "customer");
    assert_eq!(revoked["reason"], "customer_request");
}

#[test]
fn a_chain_in_the_payload_is_ignored_by_decoding() {
    let mut v = authorised().encode();
    v["chain"] = serde_json::json!({"prev": "00", "hash": "11"});
    assert_eq!(
        ConsentEvent::decode("ConsentAuthorised", 1, &v).unwrap(),
        authorised()
    );
}

#[test]
fn unknown_types_versions_and_shapes_are_refused() {
    let v = authorised().encode();
    assert!(matches!(
        ConsentEvent::decode("ConsentFrobbed", 1, &v),
        Err(DecodeError::UnknownType { .. })
    ));
    assert!(matches!(
        ConsentEvent::decode("ConsentAuthorised", 2, &v),
        Err(DecodeError::UnsupportedVersion { version: 2, .. })
    ));
    assert!(matches!(
        ConsentEvent::decode("ConsentAuthorised", 1, &serde_json::json!({"at": 1})),
        Err(DecodeError::Malformed { .. })
    ));
}
