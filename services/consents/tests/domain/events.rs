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
    let versions: Vec<u16> = all_events().iter().map(|e| e.event_version()).collect();
    assert_eq!(
        versions,
        [2, 1, 1, 1, 1],
        "ConsentRequested is at version 2"
    );
    for e in all_events() {
        let back = ConsentEvent::decode(e.event_type(), e.event_version(), &e.encode()).unwrap();
        assert_eq!(back, e);
    }
}

/// A `ConsentRequested` exactly as version 1 stored it (no reason; a chain link), as old
/// streams hold it.
fn stored_v1_request() -> serde_json::Value {
    let mut v = requested().encode();
    v.as_object_mut().unwrap().remove("reason");
    v["chain"] = serde_json::json!({"prev": "00", "hash": "11"});
    v
}

#[test]
fn a_version_1_request_decodes_with_the_consent_requested_reason() {
    let v1 = stored_v1_request();
    assert!(v1.get("reason").is_none());
    let event = ConsentEvent::decode("ConsentRequested", 1, &v1).unwrap();
    assert_eq!(event.reason().as_str(), "consent_requested");
    assert_eq!(event, requested(), "upcast to the current event");
    assert!(
        matches!(
            ConsentEvent::decode("ConsentRequested", 2, &v1),
            Err(DecodeError::Malformed { .. })
        ),
        "version 2 requires the reason"
    );
}

#[test]
fn every_event_carries_a_reason() {
    let events = all_events();
    let reasons: Vec<&str> = events.iter().map(|e| e.reason().as_str()).collect();
    assert_eq!(
        reasons,
        [
            "consent_requested",
            "customer_authorised",
            "customer_rejected",
            "partner_offboarded",
            "expired"
        ]
    );
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
    assert_eq!(v["reason"], "consent_requested");
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
        ConsentEvent::decode("ConsentRequested", 3, &requested().encode()),
        Err(DecodeError::UnsupportedVersion { version: 3, .. })
    ));
    assert!(matches!(
        ConsentEvent::decode("ConsentAuthorised", 1, &serde_json::json!({"at": 1})),
        Err(DecodeError::Malformed { .. })
    ));
}
