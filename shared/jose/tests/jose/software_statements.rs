//! Software statements: signed by the hub, verified only against the hub's own keys.

use ecohub_jose::{
    JwtError, KeyRing, NewSoftwareStatement, SigningAlgorithm, SoftwareStatementError,
    issue_software_statement, verify_software_statement,
};
use serde_json::json;

use crate::support::*;

fn request() -> NewSoftwareStatement {
    NewSoftwareStatement {
        issuer: ISSUER.into(),
        software_id: "partner-1".into(),
        org_name: "Fintech Ltd".into(),
        roles: vec!["data_recipient".into()],
        scopes: vec!["accounts".into(), "payments".into()],
        redirect_uris: vec!["https://app.fintech.example/cb".into()],
        lifetime: secs(3600),
    }
}

fn verify(
    ring: &KeyRing,
    statement: &str,
    now_secs: i64,
) -> Result<ecohub_jose::SoftwareStatementClaims, SoftwareStatementError> {
    verify_software_statement(statement, ring, ISSUER, at(now_secs))
}

#[test]
fn issued_statements_verify() {
    for alg in SigningAlgorithm::ALL {
        let (_dir, ring) = ring(alg);
        let issued = issue_software_statement(&ring, request(), t0()).unwrap();
        let (header, claims) = parts(&issued.statement);
        assert_eq!(header["typ"], "software-statement+jwt");
        assert_eq!(claims["software_id"], "partner-1");
        assert_eq!(claims["scope"], "accounts payments");
        assert_eq!(
            claims["redirect_uris"],
            json!(["https://app.fintech.example/cb"])
        );
        assert_eq!(verify(&ring, &issued.statement, 60).unwrap(), issued.claims);
    }
}

#[test]
fn a_statement_signed_by_an_untrusted_key_is_unapproved() {
    let (_dir, ring) = ring(SigningAlgorithm::Es256);
    let (_other_dir, other_hub) = crate::support::ring(SigningAlgorithm::Es256);
    let foreign = issue_software_statement(&other_hub, request(), t0()).unwrap();
    let err = verify(&ring, &foreign.statement, 0).unwrap_err();
    assert!(matches!(
        err,
        SoftwareStatementError::Unapproved(JwtError::UnknownKeyId(_))
    ));
}

#[test]
fn keys_named_inside_the_statement_are_never_used() {
    let (_dir, ring) = ring(SigningAlgorithm::Es256);
    let attacker = key(SigningAlgorithm::Es256);
    let (_, claims) = parts(
        &issue_software_statement(&ring, request(), t0())
            .unwrap()
            .statement,
    );
    // The attacker embeds its own key and a JWKS URL, under its own kid and then under ours.
    let mut header = json!({
        "alg": "ES256", "typ": "software-statement+jwt", "kid": attacker.kid(),
        "jwk": attacker.public_jwk(), "jku": "https://evil.example.com/jwks",
        "x5u": "https://evil.example.com/cert"
    });
    let err = verify(&ring, &signed(&attacker, &header, &claims), 0).unwrap_err();
    assert!(matches!(
        err,
        SoftwareStatementError::Unapproved(JwtError::UnknownKeyId(_))
    ));
    header["kid"] = ring.signing_key(t0()).unwrap().kid().into();
    let err = verify(&ring, &signed(&attacker, &header, &claims), 0).unwrap_err();
    assert_eq!(
        err,
        SoftwareStatementError::Invalid(JwtError::InvalidSignature)
    );
}

#[test]
fn an_expired_statement_is_invalid() {
    let (_dir, ring) = ring(SigningAlgorithm::Es256);
    let issued = issue_software_statement(&ring, request(), t0()).unwrap();
    assert!(verify(&ring, &issued.statement, 3609).is_ok());
    assert_eq!(
        verify(&ring, &issued.statement, 3610),
        Err(SoftwareStatementError::Invalid(JwtError::Expired))
    );
}

#[test]
fn a_statement_of_another_issuer_is_unapproved() {
    let (_dir, ring) = ring(SigningAlgorithm::Es256);
    let issued = issue_software_statement(&ring, request(), t0()).unwrap();
    assert_eq!(
        verify_software_statement(&issued.statement, &ring, "https://other.example.com", t0()),
        Err(SoftwareStatementError::Unapproved(JwtError::WrongIssuer))
    );
}

#[test]
fn an_access_token_is_not_a_software_statement_and_vice_versa() {
    let (_dir, ring) = ring(SigningAlgorithm::Es256);
    let token = ecohub_jose::issue_access_token(&ring, crate::access_tokens::new_token(), t0())
        .unwrap()
        .token;
    assert!(matches!(
        verify(&ring, &token, 0),
        Err(SoftwareStatementError::Invalid(JwtError::WrongType { .. }))
    ));
    let statement = issue_software_statement(&ring, request(), t0())
        .unwrap()
        .statement;
    assert!(matches!(
        ecohub_jose::verify_access_token(&statement, &ring, ISSUER, AUDIENCE, t0()),
        Err(ecohub_jose::TokenError::Invalid(JwtError::WrongType { .. }))
    ));
}
