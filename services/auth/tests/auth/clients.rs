//! The client aggregate (given/when/then), its stored schema, and the partner standing fold.

use std::collections::BTreeSet;

use ecohub_auth::domain::*;
use ecohub_jose::{SigningAlgorithm, SigningKey};
use ecohub_kernel::testing::{given, given_no_history};
use ecohub_kernel::{DecodeError, DomainEvent, Timestamp};
use serde_json::json;

use crate::support::*;

fn client_id() -> ClientId {
    ClientId::parse("01890a5d-ac96-774b-bcce-b302099a8057").unwrap()
}

fn jwks(key: &SigningKey) -> serde_json::Value {
    json!({ "keys": [key.public_jwk()] })
}

fn scope(s: &[&str]) -> BTreeSet<String> {
    s.iter().map(|s| (*s).to_owned()).collect()
}

fn pkjwt_metadata() -> ClientMetadata {
    ClientMetadata {
        token_endpoint_auth_method: AuthMethod::PrivateKeyJwt,
        secret_hash: None,
        jwks: Some(jwks(&key(SigningAlgorithm::Es256))),
        redirect_uris: vec!["https://travelco.example/callback".into()],
        grant_types: BTreeSet::from([GrantType::ClientCredentials]),
        scope: scope(&["partner:read", "consents:write"]),
        dpop_bound_access_tokens: true,
    }
}

fn basic_metadata() -> ClientMetadata {
    ClientMetadata {
        token_endpoint_auth_method: AuthMethod::ClientSecretBasic,
        secret_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into()),
        jwks: None,
        redirect_uris: Vec::new(),
        grant_types: BTreeSet::from([GrantType::ClientCredentials]),
        scope: scope(&["partner:read"]),
        dpop_bound_access_tokens: false,
    }
}

fn partner() -> ClientKind {
    ClientKind::Partner {
        partner_id: "01890a5d-ac96-774b-bcce-b302099a8000".into(),
        software_id: "01890a5d-ac96-774b-bcce-b302099a8000".into(),
    }
}

fn register(kind: ClientKind, metadata: ClientMetadata) -> ClientCommand {
    ClientCommand::RegisterClient(RegisterClient {
        client_id: client_id(),
        kind,
        metadata,
        registration_access_token_hash: "rat-hash".into(),
        by: "partner:p".into(),
    })
}

fn registered(metadata: ClientMetadata) -> ClientEvent {
    ClientEvent::Registered {
        client_id: client_id(),
        kind: partner(),
        metadata,
        registration_access_token_hash: "rat-hash".into(),
        at: t0(),
        by: "partner:p".into(),
    }
}

#[test]
fn a_partner_client_registers() {
    let metadata = pkjwt_metadata();
    let state = given_no_history::<Client>()
        .at(t0())
        .when(register(partner(), metadata.clone()))
        .then([registered(metadata.clone())]);
    let client = state.active().unwrap();
    assert_eq!(client.metadata, metadata);
    assert_eq!(
        client.kind.partner_id(),
        Some("01890a5d-ac96-774b-bcce-b302099a8000")
    );
}

#[test]
fn a_client_registers_once() {
    given::<Client>([registered(basic_metadata())])
        .when(register(partner(), basic_metadata()))
        .then_refused("client is already registered");
}

#[test]
fn metadata_must_fit_the_auth_method() {
    let cases = [
        (
            ClientMetadata {
                secret_hash: None,
                ..basic_metadata()
            },
            "client_secret_basic needs a secret",
        ),
        (
            ClientMetadata {
                jwks: None,
                ..pkjwt_metadata()
            },
            "private_key_jwt needs jwks",
        ),
        (
            ClientMetadata {
                jwks: Some(json!({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]})),
                ..pkjwt_metadata()
            },
            "invalid jwks: jwk contains private key material",
        ),
        (
            ClientMetadata {
                jwks: Some(json!({"keys": []})),
                ..pkjwt_metadata()
            },
            "jwks has no usable signing key",
        ),
        (
            ClientMetadata {
                scope: BTreeSet::new(),
                ..basic_metadata()
            },
            "scope is empty",
        ),
        (
            ClientMetadata {
                grant_types: BTreeSet::new(),
                ..basic_metadata()
            },
            "grant_types is empty",
        ),
        (
            ClientMetadata {
                scope: scope(&["partner:read", "admin"]),
                ..basic_metadata()
            },
            "staff scopes are not for partner clients",
        ),
    ];
    for (metadata, refusal) in cases {
        let error = given_no_history::<Client>()
            .when(register(partner(), metadata))
            .then_refused_with_message();
        assert_eq!(error, refusal);
    }
}

trait RefusalMessage {
    fn then_refused_with_message(self) -> String;
}

impl RefusalMessage for ecohub_kernel::testing::When<Client> {
    fn then_refused_with_message(self) -> String {
        let mut message = String::new();
        self.then_refused_with(|e| message = e.to_string());
        message
    }
}

#[test]
fn staff_clients_hold_only_staff_scopes() {
    let staff = ClientKind::Staff {
        description: "ops".into(),
    };
    given_no_history::<Client>()
        .when(register(staff.clone(), basic_metadata()))
        .then_refused(
            "staff clients may only hold admin, audit, offers:manage, offers:decide and data:publish",
        );
    let metadata = ClientMetadata {
        scope: scope(&["admin", "audit"]),
        ..basic_metadata()
    };
    given_no_history::<Client>()
        .when(register(staff, metadata))
        .then([ClientEvent::Registered {
            client_id: client_id(),
            kind: ClientKind::Staff {
                description: "ops".into(),
            },
            metadata: ClientMetadata {
                scope: scope(&["admin", "audit"]),
                ..basic_metadata()
            },
            registration_access_token_hash: "rat-hash".into(),
            at: Timestamp::from_unix_seconds(1_800_000_000),
            by: "partner:p".into(),
        }]);
}

#[test]
fn a_client_is_updated_and_an_unchanged_update_is_a_no_op() {
    let new = ClientMetadata {
        scope: scope(&["partner:read"]),
        ..pkjwt_metadata()
    };
    given::<Client>([registered(pkjwt_metadata())])
        .at(at(10))
        .when(ClientCommand::UpdateClient(UpdateClient {
            metadata: new.clone(),
            by: "partner:p".into(),
        }))
        .then([ClientEvent::Updated {
            metadata: new,
            at: at(10),
            by: "partner:p".into(),
        }]);
    given::<Client>([registered(basic_metadata())])
        .when(ClientCommand::UpdateClient(UpdateClient {
            metadata: basic_metadata(),
            by: "partner:p".into(),
        }))
        .then([]);
}

#[test]
fn a_deleted_client_stays_deleted() {
    let state = given::<Client>([registered(basic_metadata())])
        .at(at(5))
        .when(ClientCommand::DeleteClient(DeleteClient {
            by: "partner:p".into(),
        }))
        .then([ClientEvent::Deleted {
            at: at(5),
            by: "partner:p".into(),
        }]);
    assert!(state.active().is_none());
    let deleted = [
        registered(basic_metadata()),
        ClientEvent::Deleted {
            at: at(5),
            by: "partner:p".into(),
        },
    ];
    given::<Client>(deleted.clone())
        .when(ClientCommand::DeleteClient(DeleteClient { by: "x".into() }))
        .then_refused("client is deleted");
    given::<Client>(deleted)
        .when(ClientCommand::UpdateClient(UpdateClient {
            metadata: basic_metadata(),
            by: "x".into(),
        }))
        .then_refused("client is deleted");
    given_no_history::<Client>()
        .when(ClientCommand::DeleteClient(DeleteClient { by: "x".into() }))
        .then_refused("client is not registered");
}

#[test]
fn the_stored_form_is_pinned_and_round_trips() {
    let event = registered(basic_metadata());
    assert_eq!(event.event_type(), "ClientRegistered");
    assert_eq!(event.event_version(), 1);
    assert_eq!(
        event.encode(),
        json!({
            "client_id": "01890a5d-ac96-774b-bcce-b302099a8057",
            "kind": {"type": "partner", "partner_id": "01890a5d-ac96-774b-bcce-b302099a8000", "software_id": "01890a5d-ac96-774b-bcce-b302099a8000"},
            "token_endpoint_auth_method": "client_secret_basic",
            "secret_hash": "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
            "redirect_uris": [],
            "grant_types": ["client_credentials"],
            "scope": ["partner:read"],
            "dpop_bound_access_tokens": false,
            "registration_access_token_hash": "rat-hash",
            "at": "2027-01-15T08:00:00Z",
            "by": "partner:p"
        })
    );
    let events = [
        registered(pkjwt_metadata()),
        ClientEvent::Updated {
            metadata: basic_metadata(),
            at: at(1),
            by: "x".into(),
        },
        ClientEvent::Deleted {
            at: at(2),
            by: "x".into(),
        },
    ];
    for event in events {
        let back = ClientEvent::decode(event.event_type(), event.event_version(), &event.encode())
            .unwrap();
        assert_eq!(back, event);
    }
    assert!(matches!(
        ClientEvent::decode("ClientVanished", 1, &json!({})),
        Err(DecodeError::UnknownType { .. })
    ));
    assert!(matches!(
        ClientEvent::decode("ClientDeleted", 2, &json!({})),
        Err(DecodeError::UnsupportedVersion { .. })
    ));
    assert!(matches!(
        ClientEvent::decode("ClientDeleted", 1, &json!({"at": "never"})),
        Err(DecodeError::Malformed { .. })
    ));
}

#[test]
fn partner_standing_folds_public_event_types() {
    let cases: [(&[&str], PartnerStanding); 7] = [
        (&[], PartnerStanding::Unknown),
        (&["PartnerApplied"], PartnerStanding::Applied),
        (
            &[
                "PartnerApplied",
                "PartnerVerificationRecorded",
                "PartnerApproved",
            ],
            PartnerStanding::Active,
        ),
        (
            &["PartnerApplied", "PartnerApproved", "PartnerSuspended"],
            PartnerStanding::Suspended,
        ),
        (
            &[
                "PartnerApplied",
                "PartnerApproved",
                "PartnerSuspended",
                "PartnerReinstated",
                "PartnerWebhookRegistered",
            ],
            PartnerStanding::Active,
        ),
        (
            &["PartnerApplied", "PartnerApproved", "PartnerOffboarded"],
            PartnerStanding::Offboarded,
        ),
        (
            &["PartnerApplied", "PartnerRejected"],
            PartnerStanding::Rejected,
        ),
    ];
    for (types, expected) in cases {
        let standing = PartnerStanding::fold(types.iter().copied());
        assert_eq!(standing, expected, "{types:?}");
        assert_eq!(standing.is_active(), expected == PartnerStanding::Active);
    }
}
