//! The staff aggregate (given/when/then): adding people with roles, the roles → scopes
//! table, disabling, sign-ins recording the TOTP step so a code is used once, a new second
//! factor replacing the old; stored shapes round-trip (`StaffAdded` v2 written with the secret
//! only sealed, v1 with the secret in the clear still read) and never show the secret in
//! `Debug`.

use std::collections::BTreeSet;

use ecohub_auth::domain::*;
use ecohub_kernel::testing::{given, given_no_history};
use ecohub_kernel::{Aggregate, DomainEvent};

use crate::support::at;

fn id() -> StaffId {
    StaffId::parse("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b").unwrap()
}

/// A sealed secret (the domain never opens one: any well-formed bytes do).
fn secret() -> SealedTotpSecret {
    SealedTotpSecret::new("k1".into(), vec![3; 12], vec![7; 36]).unwrap()
}

fn add(roles: &[StaffRole], totp: Option<SealedTotpSecret>) -> AddStaff {
    AddStaff {
        staff_id: id(),
        username: " Ada ".into(),
        display_name: " Ada Lovelace ".into(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        roles: roles.iter().copied().collect(),
        totp,
    }
}

fn added(totp: Option<SealedTotpSecret>) -> StaffEvent {
    added_with(totp.map(TotpFactor::Sealed))
}

fn added_with(totp: Option<TotpFactor>) -> StaffEvent {
    StaffEvent::Added(StaffMember {
        staff_id: id(),
        username: "ada".into(),
        display_name: "Ada Lovelace".into(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        roles: BTreeSet::from([StaffRole::PartnershipManager]),
        totp,
        added_at: at(0),
    })
}

fn signed_in(step: u64, secs: i64) -> StaffEvent {
    StaffEvent::SignedIn {
        totp_step: Some(step),
        at: at(secs),
    }
}

#[test]
fn a_person_is_added_normalised_with_their_roles() {
    given_no_history::<Staff>()
        .at(at(0))
        .when(StaffCommand::AddStaff(add(
            &[StaffRole::PartnershipManager],
            Some(secret()),
        )))
        .then([added(Some(secret()))]);
}

#[test]
fn bad_people_are_refused_and_change_nothing() {
    let no_roles = add(&[], None);
    given_no_history::<Staff>()
        .at(at(0))
        .when(StaffCommand::AddStaff(no_roles))
        .then_refused("invalid staff member: a staff member needs at least one role");
    let mut plain = add(&[StaffRole::Administrator], None);
    plain.password_hash = "hunter2".into();
    given_no_history::<Staff>()
        .at(at(0))
        .when(StaffCommand::AddStaff(plain))
        .then_refused("invalid staff member: password hash must be argon2id");
    given::<Staff>(vec![added(None)])
        .at(at(1))
        .when(StaffCommand::AddStaff(add(
            &[StaffRole::Administrator],
            None,
        )))
        .then_refused("staff member already exists");
    assert!(TotpSecret::new(vec![1; 15]).is_err(), "fewer than 128 bits");
}

#[test]
fn each_role_grants_its_scopes_and_no_person_gets_the_machines_scopes() {
    let table: Vec<(&str, Vec<&str>)> = StaffRole::ALL
        .iter()
        .map(|r| (r.as_str(), r.scopes().to_vec()))
        .collect();
    assert_eq!(
        table,
        [
            ("partnership_manager", vec!["admin"]),
            ("product_manager", vec!["offers:manage"]),
            ("compliance_officer", vec!["audit"]),
            ("administrator", vec!["admin", "audit"]),
        ]
    );
    let everyone: BTreeSet<StaffRole> = StaffRole::ALL.into_iter().collect();
    let all = scopes_of(&everyone);
    assert!(!all.contains("offers:decide") && !all.contains("data:publish"));
    for scope in &all {
        assert!(
            STAFF_SCOPES.contains(&scope.as_str()),
            "{scope} is a staff scope"
        );
    }
    assert_eq!(
        StaffRole::parse("Partnership Manager").unwrap(),
        StaffRole::PartnershipManager
    );
    assert_eq!(
        StaffRole::parse("product-manager").unwrap(),
        StaffRole::ProductManager
    );
    assert!(StaffRole::parse("root").is_err());
}

#[test]
fn a_sign_in_records_the_codes_step_and_a_step_is_used_once() {
    let history = vec![added(Some(secret())), signed_in(100, 10)];
    given::<Staff>(history.clone())
        .at(at(40))
        .when(StaffCommand::RecordSignIn {
            totp_step: Some(101),
        })
        .then([signed_in(101, 40)]);
    for replayed in [100, 99] {
        given::<Staff>(history.clone())
            .at(at(40))
            .when(StaffCommand::RecordSignIn {
                totp_step: Some(replayed),
            })
            .then_refused("this code was already used; wait for the next one");
    }
    given::<Staff>(history)
        .at(at(40))
        .when(StaffCommand::RecordSignIn { totp_step: None })
        .then_refused("a TOTP code is required");
}

#[test]
fn a_disabled_person_cannot_sign_in_and_disabling_twice_changes_nothing() {
    let history = vec![added(Some(secret())), StaffEvent::Disabled { at: at(5) }];
    given::<Staff>(vec![added(None)])
        .at(at(5))
        .when(StaffCommand::DisableStaff)
        .then([StaffEvent::Disabled { at: at(5) }]);
    given::<Staff>(history.clone())
        .at(at(6))
        .when(StaffCommand::DisableStaff)
        .then([]);
    given::<Staff>(history)
        .at(at(6))
        .when(StaffCommand::RecordSignIn { totp_step: Some(1) })
        .then_refused("staff member is disabled");
    given_no_history::<Staff>()
        .at(at(0))
        .when(StaffCommand::DisableStaff)
        .then_refused("no such staff member");
}

#[test]
fn stored_shapes_round_trip_and_the_secret_never_shows_in_debug() {
    for event in [
        added(Some(secret())),
        added(None),
        added_with(Some(TotpFactor::Plain(
            TotpSecret::new(vec![7; 20]).unwrap(),
        ))),
        StaffEvent::Disabled { at: at(5) },
        StaffEvent::TotpEnrolled {
            totp: secret(),
            at: at(6),
        },
        signed_in(7, 9),
    ] {
        let data = event.encode();
        let back = StaffEvent::decode(event.event_type(), event.event_version(), &data).unwrap();
        assert_eq!(back, event);
    }
    let data = added(Some(secret())).encode();
    assert_eq!(data["roles"], serde_json::json!(["partnership_manager"]));
    let shown = format!(
        "{:?} {:?}",
        added(Some(secret())),
        added_with(Some(TotpFactor::Plain(
            TotpSecret::new(vec![7; 20]).unwrap()
        )))
    );
    assert!(
        !shown.contains("BwcH") && !shown.contains("[7, 7") && !shown.contains("7, 7"),
        "{shown}"
    );
    assert!(!shown.contains("argon2id"), "{shown}");
}

/// A new person is written as `StaffAdded` v2: the secret only sealed (algorithm, key id,
/// nonce, ciphertext), no `totp_secret` field.
#[test]
fn a_new_person_is_stored_as_v2_with_the_secret_only_sealed() {
    let events = Staff::default()
        .decide(
            StaffCommand::AddStaff(add(&[StaffRole::PartnershipManager], Some(secret()))),
            at(0),
        )
        .unwrap();
    assert_eq!(events[0].event_type(), "StaffAdded");
    assert_eq!(events[0].event_version(), 2);
    let data = events[0].encode();
    assert!(data.get("totp_secret").is_none(), "{data}");
    assert_eq!(
        data["totp_secret_sealed"],
        serde_json::json!({
            "alg": "A256GCM",
            "kid": "k1",
            "nonce": "AwMDAwMDAwMDAwMD",
            "ciphertext": "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcH",
        })
    );
    assert_eq!(added(None).event_version(), 2);
    assert!(added(None).encode().get("totp_secret_sealed").is_none());
}

/// `StaffAdded` v1 as earlier builds wrote it (the secret in the clear, base64url) still
/// reads — as a plain factor the sign-in accepts — so existing stores keep working.
#[test]
fn a_v1_person_with_the_secret_in_the_clear_still_reads() {
    let v1 = serde_json::json!({
        "staff_id": "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
        "username": "ada",
        "display_name": "Ada Lovelace",
        "password_hash": "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
        "roles": ["partnership_manager"],
        "totp_secret": "BwcHBwcHBwcHBwcHBwcHBwcHBwc",
        "at": at(0),
    });
    let event = StaffEvent::decode("StaffAdded", 1, &v1).unwrap();
    assert_eq!(
        event,
        added_with(Some(TotpFactor::Plain(
            TotpSecret::new(vec![7; 20]).unwrap()
        )))
    );
    // Read back unchanged: it keeps its version and shape.
    assert_eq!(event.event_version(), 1);
    assert_eq!(event.encode(), v1);
    let StaffEvent::Added(member) = &event else {
        unreachable!()
    };
    assert!(!member.totp.as_ref().unwrap().is_sealed());
    // A person of v1 without a second factor reads too.
    let mut without = v1.clone();
    without.as_object_mut().unwrap().remove("totp_secret");
    assert_eq!(
        StaffEvent::decode("StaffAdded", 1, &without).unwrap(),
        added(None)
    );
    assert!(StaffEvent::decode("StaffAdded", 3, &v1).is_err(), "no v3");
    assert!(
        StaffEvent::decode("StaffTotpEnrolled", 2, &v1).is_err(),
        "no v2"
    );
}

/// Sealed secrets that are not what this build writes are malformed events, never read as
/// a person without a second factor.
#[test]
fn malformed_sealed_secrets_are_refused_when_read() {
    let good = added(Some(secret())).encode();
    let with = |field: &str, value: serde_json::Value| {
        let mut data = good.clone();
        data["totp_secret_sealed"][field] = value;
        data
    };
    for (bad, why) in [
        (with("alg", "A128GCM".into()), "another algorithm"),
        (with("nonce", "AwMD".into()), "a short nonce"),
        (with("ciphertext", "BwcH".into()), "a short ciphertext"),
        (with("kid", "".into()), "an empty key id"),
        (with("kid", "a/b".into()), "a key id with a slash"),
        (with("nonce", "not base64!".into()), "a nonce not base64url"),
        (with("extra", "x".into()), "an unknown field"),
    ] {
        assert!(
            StaffEvent::decode("StaffAdded", 2, &bad).is_err(),
            "{why}: {bad}"
        );
    }
    assert!(SealedTotpSecret::new("k1".into(), vec![0; 11], vec![0; 32]).is_err());
    assert!(SealedTotpSecret::new("k1".into(), vec![0; 12], vec![0; 31]).is_err());
    assert!(SealedTotpSecret::new("k".repeat(65), vec![0; 12], vec![0; 32]).is_err());
}

/// A new second factor replaces the person's (a v1 plain one included); steps already used
/// stay used; unknown and disabled people get none.
#[test]
fn a_new_second_factor_replaces_the_old_one() {
    let other = SealedTotpSecret::new("k2".into(), vec![4; 12], vec![8; 36]).unwrap();
    let plain = added_with(Some(TotpFactor::Plain(
        TotpSecret::new(vec![7; 20]).unwrap(),
    )));
    given::<Staff>(vec![plain.clone()])
        .at(at(10))
        .when(StaffCommand::EnrolTotp(other.clone()))
        .then([StaffEvent::TotpEnrolled {
            totp: other.clone(),
            at: at(10),
        }]);
    let history = vec![
        plain,
        signed_in(100, 10),
        StaffEvent::TotpEnrolled {
            totp: other.clone(),
            at: at(20),
        },
    ];
    let state = history.iter().fold(Staff::default(), |s, e| s.evolve(e));
    assert_eq!(
        state.member().unwrap().totp,
        Some(TotpFactor::Sealed(other.clone()))
    );
    given::<Staff>(history.clone())
        .at(at(40))
        .when(StaffCommand::RecordSignIn {
            totp_step: Some(100),
        })
        .then_refused("this code was already used; wait for the next one");
    given::<Staff>(history)
        .at(at(40))
        .when(StaffCommand::RecordSignIn {
            totp_step: Some(101),
        })
        .then([signed_in(101, 40)]);
    // A person without a second factor gets one.
    given::<Staff>(vec![added(None)])
        .at(at(10))
        .when(StaffCommand::EnrolTotp(other.clone()))
        .then([StaffEvent::TotpEnrolled {
            totp: other.clone(),
            at: at(10),
        }]);
    given_no_history::<Staff>()
        .at(at(10))
        .when(StaffCommand::EnrolTotp(other.clone()))
        .then_refused("no such staff member");
    given::<Staff>(vec![added(None), StaffEvent::Disabled { at: at(5) }])
        .at(at(10))
        .when(StaffCommand::EnrolTotp(other))
        .then_refused("staff member is disabled");
}
