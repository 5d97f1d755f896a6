//! The customer aggregate (given/when/then), and the pure decisions of the code flow:
//! pushed requests, authorisation codes and refresh-token families (given a history, when a
//! presentation, then a decision); stored shapes round-trip; pairwise identifiers.

use ecohub_auth::domain::authorization::*;
use ecohub_auth::domain::*;
use ecohub_auth::pairwise_id;
use ecohub_kernel::testing::{given, given_no_history};
use ecohub_kernel::{DomainEvent, Timestamp};

use crate::support::{at, t0};

const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA";
const SALT: &str = "c2FsdHNhbHRzYWx0c2FsdHNhbHRzYWx0";

fn customer_id() -> CustomerId {
    CustomerId::parse("01890a5d-ac96-774b-bcce-b302099a8057").unwrap()
}

fn register(username: &str, display_name: &str) -> CustomerCommand {
    CustomerCommand::RegisterCustomer(RegisterCustomer {
        customer_id: customer_id(),
        username: username.into(),
        display_name: display_name.into(),
        password_hash: HASH.into(),
        pairwise_salt: SALT.into(),
    })
}

fn registered() -> CustomerEvent {
    CustomerEvent::Registered(RegisteredCustomer {
        customer_id: customer_id(),
        username: "alice".into(),
        display_name: "Alice".into(),
        password_hash: HASH.into(),
        pairwise_salt: SALT.into(),
        registered_at: t0(),
    })
}

#[test]
fn a_customer_registers_with_a_normalised_username() {
    let state = given_no_history::<Customer>()
        .at(t0())
        .when(register("  Alice ", " Alice "))
        .then([registered()]);
    assert_eq!(state.registered().unwrap().username, "alice");
}

#[test]
fn a_customer_registers_once() {
    given::<Customer>([registered()])
        .at(t0())
        .when(register("alice", "Alice"))
        .then_refused("customer is already registered");
}

#[test]
fn bad_usernames_display_names_and_hashes_are_refused() {
    for (username, name) in [
        ("al", "Alice"),
        ("alice smith", "Alice"),
        ("alice/..", "Alice"),
        ("alice", ""),
        ("alice", "Ali\nce"),
    ] {
        given_no_history::<Customer>()
            .at(t0())
            .when(register(username, name))
            .then_refused_with(|e| assert!(matches!(e, CustomerError::Invalid(_)), "{e}"));
    }
    let mut weak = RegisterCustomer {
        customer_id: customer_id(),
        username: "alice".into(),
        display_name: "Alice".into(),
        password_hash: "$argon2i$v=19$weak".into(),
        pairwise_salt: SALT.into(),
    };
    given_no_history::<Customer>()
        .at(t0())
        .when(CustomerCommand::RegisterCustomer(weak.clone()))
        .then_refused("invalid customer: password hash must be argon2id");
    weak.password_hash = HASH.into();
    weak.pairwise_salt = "short".into();
    given_no_history::<Customer>()
        .at(t0())
        .when(CustomerCommand::RegisterCustomer(weak))
        .then_refused("invalid customer: pairwise salt must have at least 128 bits");
}

#[test]
fn the_customer_event_round_trips_its_stored_shape() {
    let event = registered();
    let data = event.encode();
    assert_eq!(data["username"], "alice");
    assert_eq!(data["at"], t0().to_rfc3339());
    assert_eq!(
        CustomerEvent::decode("CustomerRegistered", 1, &data).unwrap(),
        event
    );
    assert!(CustomerEvent::decode("CustomerRegistered", 2, &data).is_err());
}

#[test]
fn pairwise_ids_are_stable_per_partner_and_unlinkable_across_partners() {
    let a = pairwise_id(SALT, "partner-a");
    assert_eq!(a, pairwise_id(SALT, "partner-a"));
    assert_ne!(a, pairwise_id(SALT, "partner-b"));
    assert_ne!(a, pairwise_id("another-customer-salt-xxxxxx", "partner-a"));
    assert_eq!(a.len(), 43);
}

fn pushed() -> PushedRequest {
    PushedRequest {
        client_id: "client-1".into(),
        partner_id: "partner-1".into(),
        redirect_uri: "https://travelco.example/callback".into(),
        scope: "data:read".into(),
        state: Some("s".into()),
        code_challenge: "c".repeat(43),
        consent_id: "consent-1".into(),
        pushed_at: t0(),
        expires_at: at(90),
    }
}

#[test]
fn a_pushed_request_is_usable_once_by_its_client_before_it_expires() {
    // Given a pushed request
    let history = [PushedRequestEvent::Pushed(pushed())];
    let state = PushedRequestState::fold(&history);
    // When its client uses it in time, then it is spent
    assert_eq!(
        state.use_once("client-1", at(89)),
        Ok(PushedRequestEvent::Used { at: at(89) })
    );
    // When another client, or too late: refused
    assert_eq!(
        state.use_once("client-2", at(1)),
        Err(RequestRefusal::OtherClient)
    );
    assert_eq!(
        state.use_once("client-1", at(90)),
        Err(RequestRefusal::Expired)
    );
    // Given it was used, then it is refused
    let used = PushedRequestState::fold(&[
        PushedRequestEvent::Pushed(pushed()),
        PushedRequestEvent::Used { at: at(5) },
    ]);
    assert_eq!(used.use_once("client-1", at(6)), Err(RequestRefusal::Used));
    // Given nothing, then unknown
    assert_eq!(
        PushedRequestState::default().usable("client-1", t0()),
        Err(RequestRefusal::Unknown)
    );
}

fn grant() -> CodeGrant {
    CodeGrant {
        client_id: "client-1".into(),
        redirect_uri: "https://travelco.example/callback".into(),
        code_challenge: "challenge".into(),
        consent_id: "consent-1".into(),
        customer_id: "customer-1".into(),
        subject: "pairwise".into(),
        scope: "data:read".into(),
        family_id: "family".into(),
        issued_at: t0(),
        expires_at: at(60),
    }
}

fn presentation<'a>(client: &'a str, redirect: &'a str, challenge: &'a str) -> RedeemCode<'a> {
    RedeemCode {
        client_id: client,
        redirect_uri: redirect,
        verifier_challenge: challenge,
    }
}

#[test]
fn a_code_is_redeemed_once_by_its_client_with_its_verifier_and_redirect_uri() {
    let cb = "https://travelco.example/callback";
    // Given an issued code
    let code = AuthorizationCode::fold(&[CodeEvent::Issued(grant())]);
    // When presented correctly in time, then honoured
    assert_eq!(
        code.redeem(&presentation("client-1", cb, "challenge"), at(59)),
        Ok(&grant())
    );
    // When anything differs, then refused
    let cases = [
        (
            presentation("client-2", cb, "challenge"),
            at(1),
            CodeRefusal::OtherClient,
        ),
        (
            presentation("client-1", "https://x/cb", "challenge"),
            at(1),
            CodeRefusal::RedirectMismatch,
        ),
        (
            presentation("client-1", cb, "other"),
            at(1),
            CodeRefusal::PkceMismatch,
        ),
        (
            presentation("client-1", cb, "challenge"),
            at(60),
            CodeRefusal::Expired,
        ),
    ];
    for (p, now, refusal) in cases {
        assert_eq!(code.redeem(&p, now), Err(refusal));
    }
    // Given it was redeemed, when presented again (even correctly), then a reuse naming
    // what it issued
    let redemption = Redemption {
        access_token_jti: "jti".into(),
        access_token_expires_at: at(300),
        at: at(2),
    };
    let redeemed = AuthorizationCode::fold(&[
        CodeEvent::Issued(grant()),
        CodeEvent::Redeemed(redemption.clone()),
    ]);
    assert_eq!(
        redeemed.redeem(&presentation("client-1", cb, "challenge"), at(3)),
        Err(CodeRefusal::Reused(Some(redemption)))
    );
    assert_eq!(
        AuthorizationCode::default().redeem(&presentation("client-1", cb, "challenge"), t0()),
        Err(CodeRefusal::Unknown)
    );
}

fn start() -> FamilyStart {
    FamilyStart {
        family_id: "family".into(),
        client_id: "client-1".into(),
        partner_id: Some("partner-1".into()),
        consent_id: "consent-1".into(),
        subject: "pairwise".into(),
        scope: "data:read".into(),
        token_hash: "h1".into(),
        expires_at: at(1000),
        at: t0(),
        access_token: None,
    }
}

fn rotated(hash: &str, when: Timestamp) -> FamilyEvent {
    FamilyEvent::Rotated {
        token_hash: hash.into(),
        access_token: None,
        at: when,
    }
}

fn access(jti: &str, expires: i64) -> FamilyAccessToken {
    FamilyAccessToken {
        jti: jti.into(),
        expires_at: at(expires),
    }
}

#[test]
fn a_refresh_family_rotates_on_every_use() {
    // Given a family started with h1
    let family = RefreshFamily::fold(&[FamilyEvent::Started(start())]);
    // When h1 is presented, then it rotates to h2
    assert_eq!(
        family.rotate("h1", "client-1", "h2", at(10)),
        Rotation::Rotate(rotated("h2", at(10)))
    );
    // Given it rotated, when h2 is presented, then it rotates again
    let family = RefreshFamily::fold(&[FamilyEvent::Started(start()), rotated("h2", at(10))]);
    assert_eq!(
        family.rotate("h2", "client-1", "h3", at(11)),
        Rotation::Rotate(rotated("h3", at(11)))
    );
}

#[test]
fn a_rotated_out_token_revokes_the_family() {
    // Given h1 was rotated to h2
    let history = [FamilyEvent::Started(start()), rotated("h2", at(10))];
    let family = RefreshFamily::fold(&history);
    // When h1 is presented again, then the family is revoked
    let decision = family.rotate("h1", "client-1", "h3", at(20));
    let Rotation::RevokeFamily(Some(event)) = decision else {
        panic!("expected a revocation, got {decision:?}");
    };
    assert_eq!(
        event,
        FamilyEvent::Revoked {
            reason: "reuse_detected".into(),
            at: at(20)
        }
    );
    // Given it was revoked, then even the current token is refused — and any token of the
    // family presented again asks for its access tokens to be revoked again (idempotent: it
    // finishes an interrupted revocation), an unknown one does not
    let revoked = RefreshFamily::fold(history.iter().chain([&event]));
    for presented in ["h1", "h2"] {
        assert_eq!(
            revoked.rotate(presented, "client-1", "h3", at(21)),
            Rotation::RevokeFamily(None)
        );
    }
    assert_eq!(
        revoked.rotate("nope", "client-1", "h3", at(21)),
        Rotation::Refuse("unknown refresh token")
    );
    assert_eq!(revoked.revoke("revoked_by_client", at(22)), None);
}

#[test]
fn a_family_records_the_access_tokens_it_issued_and_knows_the_live_ones() {
    // Given a start and two rotations, each recording the access token issued with it
    let history = [
        FamilyEvent::Started(start()).with_access_token(access("j1", 300)),
        rotated("h2", at(250)).with_access_token(access("j2", 550)),
        rotated("h3", at(500)).with_access_token(access("j3", 800)),
    ];
    let family = RefreshFamily::fold(&history);
    assert_eq!(family.access_tokens.len(), 3);
    // Then at 400 the first has expired: only the others need revoking
    let live: Vec<&str> = family
        .live_access_tokens(at(400))
        .map(|t| t.jti.as_str())
        .collect();
    assert_eq!(live, ["j2", "j3"]);
    assert_eq!(family.live_access_tokens(at(800)).count(), 0);
    // A revocation event is not changed by `with_access_token`
    let revoked = FamilyEvent::Revoked {
        reason: "r".into(),
        at: at(1),
    };
    assert_eq!(revoked.clone().with_access_token(access("x", 1)), revoked);
}

#[test]
fn family_events_stored_before_access_tokens_were_recorded_still_load() {
    let started = serde_json::json!({
        "family_id": "family", "client_id": "client-1", "partner_id": "partner-1",
        "consent_id": "consent-1", "subject": "pairwise", "scope": "data:read",
        "token_hash": "h1", "expires_at": at(1000), "at": t0()
    });
    let rotated_v1 = serde_json::json!({ "token_hash": "h2", "at": at(10) });
    let history = [
        FamilyEvent::decode("RefreshFamilyStarted", 1, &started).unwrap(),
        FamilyEvent::decode("RefreshTokenRotated", 1, &rotated_v1).unwrap(),
    ];
    assert_eq!(history[0], FamilyEvent::Started(start()));
    assert_eq!(history[1], rotated("h2", at(10)));
    let family = RefreshFamily::fold(&history);
    assert!(family.access_tokens.is_empty());
    assert!(matches!(
        family.rotate("h1", "client-1", "h3", at(20)),
        Rotation::RevokeFamily(Some(_))
    ));
    // And the new shape only adds the optional field
    let new = FamilyEvent::Started(start()).with_access_token(access("j1", 300));
    assert_eq!(
        new.encode()["access_token"],
        serde_json::json!({ "jti": "j1", "expires_at": at(300) })
    );
    assert_eq!(FamilyEvent::Started(start()).encode(), started);
    assert_eq!(rotated("h2", at(10)).encode(), rotated_v1);
}

#[test]
fn refresh_tokens_are_refused_to_other_clients_when_unknown_or_expired() {
    let family = RefreshFamily::fold(&[FamilyEvent::Started(start())]);
    assert!(matches!(
        family.rotate("h1", "client-2", "h2", at(1)),
        Rotation::Refuse(_)
    ));
    assert!(matches!(
        family.rotate("nope", "client-1", "h2", at(1)),
        Rotation::Refuse(_)
    ));
    assert_eq!(
        family.rotate("h1", "client-1", "h2", at(1000)),
        Rotation::Refuse("refresh token has expired")
    );
    assert!(matches!(
        RefreshFamily::default().rotate("h1", "client-1", "h2", t0()),
        Rotation::Refuse(_)
    ));
}

#[test]
fn flow_events_round_trip_their_stored_shapes() {
    let events_code = [
        CodeEvent::Issued(grant()),
        CodeEvent::Redeemed(Redemption {
            access_token_jti: "j".into(),
            access_token_expires_at: at(5),
            at: at(1),
        }),
        CodeEvent::Reused { at: at(2) },
    ];
    for e in events_code {
        assert_eq!(
            CodeEvent::decode(e.event_type(), 1, &e.encode()).unwrap(),
            e
        );
    }
    let events_family = [
        FamilyEvent::Started(start()),
        FamilyEvent::Started(start()).with_access_token(access("j1", 300)),
        rotated("h2", at(1)),
        rotated("h3", at(2)).with_access_token(access("j2", 302)),
        FamilyEvent::Revoked {
            reason: "r".into(),
            at: at(2),
        },
    ];
    for e in events_family {
        assert_eq!(
            FamilyEvent::decode(e.event_type(), 1, &e.encode()).unwrap(),
            e
        );
    }
    for e in [
        PushedRequestEvent::Pushed(pushed()),
        PushedRequestEvent::Used { at: at(1) },
    ] {
        assert_eq!(
            PushedRequestEvent::decode(e.event_type(), 1, &e.encode()).unwrap(),
            e
        );
    }
    // The code's stored shape holds the challenge, never the code itself.
    let data = CodeEvent::Issued(grant()).encode();
    assert_eq!(data["code_challenge"], "challenge");
    assert!(data.get("code").is_none());
}
