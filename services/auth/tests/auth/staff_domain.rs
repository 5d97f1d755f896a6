//! The staff aggregate (given/when/then): adding people with roles, the roles → scopes
//! table, disabling, sign-ins recording the TOTP step so a code is used once; stored shapes
//! round-trip and never show the secret in `Debug`.

use std::collections::BTreeSet;

use ecohub_auth::domain::*;
use ecohub_kernel::DomainEvent;
use ecohub_kernel::testing::{given, given_no_history};

use crate::support::at;

fn id() -> StaffId {
    StaffId::parse("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b").unwrap()
}

fn secret() -> TotpSecret {
    TotpSecret::new(vec![7; 20]).unwrap()
}

fn add(roles: &[StaffRole], totp: Option<TotpSecret>) -> AddStaff {
    AddStaff {
        staff_id: id(),
        username: " Ada ".into(),
        display_name: " Ada Lovelace ".into(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        roles: roles.iter().copied().collect(),
        totp,
    }
}

fn added(totp: Option<TotpSecret>) -> StaffEvent {
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
        StaffEvent::Disabled { at: at(5) },
        signed_in(7, 9),
    ] {
        let data = event.encode();
        let back = StaffEvent::decode(event.event_type(), event.event_version(), &data).unwrap();
        assert_eq!(back, event);
    }
    let data = added(Some(secret())).encode();
    assert_eq!(data["roles"], serde_json::json!(["partnership_manager"]));
    assert!(data["totp_secret"].is_string());
    let shown = format!("{:?}", added(Some(secret())));
    assert!(
        !shown.contains("BwcH") && !shown.contains("[7, 7"),
        "{shown}"
    );
    assert!(!shown.contains("argon2id"), "{shown}");
}
