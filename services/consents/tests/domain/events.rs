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
        [3, 2, 1, 1, 1],
        "ConsentRequested is at version 3, ConsentAuthorised at 2"
    );
    for e in all_events() {
        let back = ConsentEvent::decode(e.event_type(), e.event_version(), &e.encode()).unwrap();
        assert_eq!(back, e);
    }
}

/// A `ConsentRequested` exactly as version 1 stored it (no reason, no recipient; a chain
/// link), as old streams hold it.
fn stored_v1_request() -> serde_json::Value {
    let mut v = stored_v2_request();
    v.as_object_mut().unwrap().remove("reason");
    v
}

/// A `ConsentRequested` exactly as version 2 stored it (no recipient: always the partner).
fn stored_v2_request() -> serde_json::Value {
    let mut v = requested().encode();
    v.as_object_mut().unwrap().remove("recipient");
    v["chain"] = serde_json::json!({"prev": "00", "hash": "11"});
    v
}

#[test]
fn a_version_2_request_decodes_as_the_partner_it_names() {
    let v2 = stored_v2_request();
    let event = ConsentEvent::decode("ConsentRequested", 2, &v2).unwrap();
    assert_eq!(event, requested(), "upcast to the partner recipient");
    assert!(
        matches!(
            ConsentEvent::decode("ConsentRequested", 3, &v2),
            Err(DecodeError::Malformed { .. })
        ),
        "version 3 requires the recipient"
    );
}

#[test]
fn a_request_to_the_bank_is_stored_without_a_partner_and_round_trips() {
    let ConsentEvent::Requested {
        consent_id,
        permissions,
        purpose,
        expiry,
        data_providers,
        at,
        ..
    } = requested()
    else {
        unreachable!()
    };
    let to_bank = ConsentEvent::Requested {
        consent_id,
        recipient: Recipient::Bank,
        permissions,
        purpose,
        expiry,
        transaction_window: TransactionWindow::default(),
        data_providers,
        authorisation_deadline: at,
        reason: reason("customer_request"),
        at,
    };
    let stored = to_bank.encode();
    assert_eq!(stored["recipient"], "bank");
    assert!(stored.get("partner_id").is_none(), "{stored}");
    assert_eq!(
        ConsentEvent::decode("ConsentRequested", 3, &stored).unwrap(),
        to_bank
    );
    // A partner recipient must name its partner, and the bank must not.
    let mut no_partner = requested().encode();
    no_partner.as_object_mut().unwrap().remove("partner_id");
    assert!(matches!(
        ConsentEvent::decode("ConsentRequested", 3, &no_partner),
        Err(DecodeError::Malformed { .. })
    ));
    let mut bank_with_partner = requested().encode();
    bank_with_partner["recipient"] = "bank".into();
    assert!(matches!(
        ConsentEvent::decode("ConsentRequested", 3, &bank_with_partner),
        Err(DecodeError::Malformed { .. })
    ));
}

#[test]
fn a_version_1_authorisation_decodes_with_its_pairwise_id_and_version_2_may_omit_it() {
    let v1 = authorised().encode();
    assert_eq!(
        ConsentEvent::decode("ConsentAuthorised", 1, &v1).unwrap(),
        authorised()
    );
    let mut without = v1.clone();
    without.as_object_mut().unwrap().remove("pairwise_id");
    assert!(
        matches!(
            ConsentEvent::decode("ConsentAuthorised", 1, &without),
            Err(DecodeError::Malformed { .. })
        ),
        "version 1 always named a pairwise id"
    );
    let ConsentEvent::Authorised {
        customer_id,
        reason,
        at,
        ..
    } = ConsentEvent::decode("ConsentAuthorised", 2, &without).unwrap()
    else {
        unreachable!()
    };
    assert_eq!(customer_id, customer());
    assert_eq!(reason.as_str(), "customer_authorised");
    assert_eq!(at, NOW.minus(std::time::Duration::from_secs(1800)));
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
        ConsentEvent::decode("ConsentAuthorised", 3, &v),
        Err(DecodeError::UnsupportedVersion { version: 3, .. })
    ));
    assert!(matches!(
        ConsentEvent::decode("ConsentRequested", 4, &requested().encode()),
        Err(DecodeError::UnsupportedVersion { version: 4, .. })
    ));
    assert!(matches!(
        ConsentEvent::decode("ConsentAuthorised", 1, &serde_json::json!({"at": 1})),
        Err(DecodeError::Malformed { .. })
    ));
}
