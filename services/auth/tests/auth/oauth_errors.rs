//! The OAuth error each refusal of the JOSE core is rendered as (RFC 6749 §5.2, RFC 6750 §3.1,
//! RFC 7591 §3.2.2, RFC 9449 §7.1): the core says what was wrong, the server what to answer.

use ecohub_auth::OAuthError;
use ecohub_jose::{
    ClientAssertionError, DpopError, JwtError, ReplayGuardError, SoftwareStatementError, TokenError,
};

fn unavailable() -> ReplayGuardError {
    ReplayGuardError("store unavailable".into())
}

/// Each row: the error, the OAuth error, its code.
fn check(cases: &[(OAuthError, OAuthError, &str)]) {
    for (i, (mapped, expected, code)) in cases.iter().enumerate() {
        assert_eq!(mapped, expected, "case {i}");
        assert_eq!(mapped.code(), *code, "case {i}");
    }
}

#[test]
fn every_access_token_refusal_is_invalid_token() {
    check(&[
        (
            OAuthError::from(&TokenError::Invalid(JwtError::Expired)),
            OAuthError::InvalidToken,
            "invalid_token",
        ),
        (
            OAuthError::from(&TokenError::Invalid(JwtError::InvalidSignature)),
            OAuthError::InvalidToken,
            "invalid_token",
        ),
    ]);
}

#[test]
fn a_refused_client_assertion_is_invalid_client_unless_the_replay_store_failed() {
    check(&[
        (
            OAuthError::from(&ClientAssertionError::Replayed),
            OAuthError::InvalidClient,
            "invalid_client",
        ),
        (
            OAuthError::from(&ClientAssertionError::Invalid(JwtError::WrongAudience)),
            OAuthError::InvalidClient,
            "invalid_client",
        ),
        (
            OAuthError::from(&ClientAssertionError::ReplayGuard(unavailable())),
            OAuthError::ServerError,
            "server_error",
        ),
    ]);
}

#[test]
fn a_refused_dpop_proof_is_invalid_dpop_proof_unless_the_replay_store_failed() {
    check(&[
        (
            OAuthError::from(&DpopError::ThumbprintMismatch),
            OAuthError::InvalidDpopProof,
            "invalid_dpop_proof",
        ),
        (
            OAuthError::from(&DpopError::Replayed),
            OAuthError::InvalidDpopProof,
            "invalid_dpop_proof",
        ),
        (
            OAuthError::from(&DpopError::ReplayGuard(unavailable())),
            OAuthError::ServerError,
            "server_error",
        ),
    ]);
}

#[test]
fn a_statement_not_ours_is_unapproved_and_a_broken_one_invalid() {
    check(&[
        (
            OAuthError::from(&SoftwareStatementError::Unapproved(JwtError::UnknownKeyId(
                "k".into(),
            ))),
            OAuthError::UnapprovedSoftwareStatement,
            "unapproved_software_statement",
        ),
        (
            OAuthError::from(&SoftwareStatementError::Invalid(JwtError::InvalidSignature)),
            OAuthError::InvalidSoftwareStatement,
            "invalid_software_statement",
        ),
    ]);
}
