//! RFC 7523 `private_key_jwt` client assertions.

use ecohub_jose::{
    ClientAssertionError, InMemoryJtiReplayGuard, JtiReplayGuard, Jwks, JwtError, ReplayFuture,
    ReplayGuardError, SigningAlgorithm, SigningKey, decode_client_assertion,
    verify_client_assertion,
};
use ecohub_kernel::Timestamp;
use serde_json::{Value, json};

use crate::support::*;

const CLIENT: &str = "client-1";
const AUDIENCES: &[&str] = &[TOKEN_ENDPOINT, ISSUER];

/// The client's registered JWKS, parsed the way registration parses it.
fn jwks_of(key: &SigningKey) -> Jwks {
    Jwks::from_json(&json!({ "keys": [key.public_jwk()] })).unwrap()
}

fn header(key: &SigningKey) -> Value {
    json!({"alg": key.algorithm().as_str(), "kid": key.kid()})
}

fn claims(jti: &str) -> Value {
    let t = t0().unix_seconds();
    json!({"iss": CLIENT, "sub": CLIENT, "aud": TOKEN_ENDPOINT, "jti": jti, "iat": t, "exp": t + 60})
}

fn decode(
    key: &SigningKey,
    token: &str,
) -> Result<ecohub_jose::ClientAssertionClaims, ClientAssertionError> {
    decode_client_assertion(token, &jwks_of(key), CLIENT, AUDIENCES, t0())
}

fn refused(key: &SigningKey, token: &str) -> ClientAssertionError {
    decode(key, token).unwrap_err()
}

#[test]
fn each_algorithm_authenticates_with_and_without_kid() {
    for alg in SigningAlgorithm::ALL {
        let client = key(alg);
        let with_kid = signed(&client, &header(&client), &claims("a"));
        let verified = decode(&client, &with_kid).unwrap();
        assert_eq!(
            (verified.iss.as_str(), verified.jti.as_str()),
            (CLIENT, "a")
        );
        let no_kid = signed(
            &client,
            &json!({"alg": alg.as_str(), "typ": "JWT"}),
            &claims("b"),
        );
        assert!(decode(&client, &no_kid).is_ok(), "{alg}");
    }
}

#[test]
fn a_replayed_jti_is_refused() {
    let client = key(SigningAlgorithm::Es256);
    let guard = InMemoryJtiReplayGuard::new();
    let assertion = signed(&client, &header(&client), &claims("once"));
    let verify = |token: &str| {
        ready(verify_client_assertion(
            token,
            &jwks_of(&client),
            CLIENT,
            AUDIENCES,
            t0(),
            &guard,
        ))
    };
    assert!(verify(&assertion).is_ok());
    assert_eq!(verify(&assertion), Err(ClientAssertionError::Replayed));
    // Another assertion with the same jti is a replay too.
    let again = signed(&client, &header(&client), &claims("once"));
    assert_eq!(verify(&again), Err(ClientAssertionError::Replayed));
    // The same jti from another client is that client's business.
    let other = key(SigningAlgorithm::Es256);
    let mut c = claims("once");
    c["iss"] = "client-2".into();
    c["sub"] = "client-2".into();
    let theirs = signed(&other, &header(&other), &c);
    assert!(
        ready(verify_client_assertion(
            &theirs,
            &jwks_of(&other),
            "client-2",
            AUDIENCES,
            t0(),
            &guard
        ))
        .is_ok()
    );
    // Entries are kept until the assertion could no longer be accepted (exp + skew).
    guard.purge(at(70));
    assert_eq!(guard.len(), 2);
    guard.purge(at(71));
    assert!(guard.is_empty());
}

#[test]
fn an_assertion_signed_with_another_clients_key_is_refused() {
    let client = key(SigningAlgorithm::Es256);
    let other = key(SigningAlgorithm::Es256);
    // Under the other key's kid: not a key of this client.
    let token = signed(&other, &header(&other), &claims("x"));
    assert_eq!(
        refused(&client, &token),
        ClientAssertionError::Invalid(JwtError::UnknownKeyId(other.kid().into()))
    );
    // Under this client's kid, or without kid: the signature does not verify.
    let token = signed(&other, &header(&client), &claims("x"));
    assert_eq!(
        refused(&client, &token),
        ClientAssertionError::Invalid(JwtError::InvalidSignature)
    );
    let token = signed(&other, &json!({"alg": "ES256"}), &claims("x"));
    assert_eq!(
        refused(&client, &token),
        ClientAssertionError::Invalid(JwtError::InvalidSignature)
    );
}

#[test]
fn none_and_hmac_algorithms_are_refused() {
    let client = key(SigningAlgorithm::Es256);
    let public = serde_json::to_vec(client.public_jwk()).unwrap();
    for alg in ["HS256", "HS384", "HS512"] {
        let token = hs256(
            &public,
            &json!({"alg": alg, "kid": client.kid()}),
            &claims("x"),
        );
        assert_eq!(
            refused(&client, &token),
            ClientAssertionError::Invalid(JwtError::AlgorithmNotAllowed(alg.into()))
        );
    }
    let token = unsigned(&json!({"alg": "none"}), &claims("x"));
    assert_eq!(
        refused(&client, &token),
        ClientAssertionError::Invalid(JwtError::AlgorithmNotAllowed("none".into()))
    );
    let token = signed(
        &client,
        &json!({"alg": "RS256", "kid": client.kid()}),
        &claims("x"),
    );
    assert_eq!(
        refused(&client, &token),
        ClientAssertionError::Invalid(JwtError::AlgorithmNotAllowed("RS256".into()))
    );
}

#[test]
fn issuer_and_subject_must_be_the_client() {
    let client = key(SigningAlgorithm::EdDsa);
    for claim in ["iss", "sub"] {
        let mut c = claims("x");
        c[claim] = "client-2".into();
        assert_eq!(
            refused(&client, &signed(&client, &header(&client), &c)),
            ClientAssertionError::WrongClient
        );
    }
}

#[test]
fn the_audience_must_name_the_token_endpoint_or_the_issuer() {
    let client = key(SigningAlgorithm::Es256);
    for aud in [
        json!(TOKEN_ENDPOINT),
        json!(ISSUER),
        json!(["https://x.example", ISSUER]),
    ] {
        let mut c = claims("x");
        c["aud"] = aud;
        assert!(decode(&client, &signed(&client, &header(&client), &c)).is_ok());
    }
    for aud in [
        json!("https://hub.example.com/oauth2/par"),
        json!([]),
        json!(["https://x.example"]),
    ] {
        let mut c = claims("x");
        c["aud"] = aud;
        assert_eq!(
            refused(&client, &signed(&client, &header(&client), &c)),
            ClientAssertionError::Invalid(JwtError::WrongAudience)
        );
    }
}

#[test]
fn expiry_is_required_bounded_and_enforced() {
    let client = key(SigningAlgorithm::Es256);
    let t = t0().unix_seconds();
    let with_exp = |exp: Option<i64>| {
        let mut c = claims("x");
        match exp {
            Some(exp) => c["exp"] = exp.into(),
            None => {
                c.as_object_mut().unwrap().remove("exp");
            }
        }
        decode(&client, &signed(&client, &header(&client), &c))
    };
    assert_eq!(
        with_exp(None),
        Err(ClientAssertionError::Invalid(JwtError::MissingClaim("exp")))
    );
    assert_eq!(
        with_exp(Some(t - 10)),
        Err(ClientAssertionError::Invalid(JwtError::Expired))
    );
    assert!(with_exp(Some(t - 9)).is_ok());
    assert!(with_exp(Some(t + 310)).is_ok());
    assert_eq!(
        with_exp(Some(t + 311)),
        Err(ClientAssertionError::LifetimeTooLong)
    );
}

#[test]
fn iat_and_nbf_may_be_ten_seconds_ahead_only() {
    let client = key(SigningAlgorithm::Ps256);
    let t = t0().unix_seconds();
    for (claim, error) in [
        ("iat", JwtError::IssuedInFuture),
        ("nbf", JwtError::NotYetValid),
    ] {
        let mut c = claims("x");
        c[claim] = (t + 10).into();
        assert!(decode(&client, &signed(&client, &header(&client), &c)).is_ok());
        c[claim] = (t + 11).into();
        assert_eq!(
            refused(&client, &signed(&client, &header(&client), &c)),
            ClientAssertionError::Invalid(error)
        );
    }
}

#[test]
fn jti_is_required() {
    let client = key(SigningAlgorithm::Es256);
    let mut c = claims("x");
    c.as_object_mut().unwrap().remove("jti");
    assert_eq!(
        refused(&client, &signed(&client, &header(&client), &c)),
        ClientAssertionError::Invalid(JwtError::MissingClaim("jti"))
    );
    c["jti"] = "".into();
    assert_eq!(
        refused(&client, &signed(&client, &header(&client), &c)),
        ClientAssertionError::Invalid(JwtError::InvalidClaim("jti"))
    );
}

#[test]
fn other_jwt_types_are_not_assertions() {
    let client = key(SigningAlgorithm::Es256);
    for typ in ["at+jwt", "dpop+jwt"] {
        let h = json!({"alg": "ES256", "kid": client.kid(), "typ": typ});
        assert!(matches!(
            refused(&client, &signed(&client, &h, &claims("x"))),
            ClientAssertionError::Invalid(JwtError::WrongType { .. })
        ));
    }
    let h = json!({"alg": "ES256", "kid": client.kid(), "typ": "client-authentication+jwt"});
    assert!(decode(&client, &signed(&client, &h, &claims("x"))).is_ok());
}

#[test]
fn a_key_registered_for_another_algorithm_is_not_used() {
    let client = key(SigningAlgorithm::Es256);
    let mut jwk = serde_json::to_value(client.public_jwk()).unwrap();
    jwk["alg"] = "EdDSA".into();
    let jwks = Jwks::from_json(&json!({"keys": [jwk]})).unwrap();
    let token = signed(&client, &header(&client), &claims("x"));
    assert_eq!(
        decode_client_assertion(&token, &jwks, CLIENT, AUDIENCES, t0()),
        Err(ClientAssertionError::Invalid(JwtError::UnknownKeyId(
            client.kid().into()
        )))
    );
}

struct BrokenStore;

impl JtiReplayGuard for BrokenStore {
    fn first_use<'a>(&'a self, _: &'a str, _: &'a str, _: Timestamp) -> ReplayFuture<'a> {
        Box::pin(std::future::ready(Err(ReplayGuardError(
            "store unavailable".into(),
        ))))
    }
}

#[test]
fn an_unavailable_replay_store_is_a_server_error_not_an_acceptance() {
    let client = key(SigningAlgorithm::Es256);
    let token = signed(&client, &header(&client), &claims("x"));
    let err = ready(verify_client_assertion(
        &token,
        &jwks_of(&client),
        CLIENT,
        AUDIENCES,
        t0(),
        &BrokenStore,
    ))
    .unwrap_err();
    assert!(matches!(err, ClientAssertionError::ReplayGuard(_)));
}
