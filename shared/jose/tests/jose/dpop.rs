//! RFC 9449 DPoP proofs, and binding tokens to them.

use ecohub_jose::{
    DpopError, DpopRequest, InMemoryJtiReplayGuard, JwtError, SigningAlgorithm, SigningKey,
    access_token_hash, decode_dpop_proof, jwk_thumbprint, verify_access_token, verify_dpop_proof,
};
use serde_json::{Value, json};

use crate::support::*;

const RESOURCE: &str = "https://api.hub.example.com/accounts";

fn header(key: &SigningKey) -> Value {
    let mut jwk = serde_json::to_value(key.public_jwk()).unwrap();
    jwk.as_object_mut().unwrap().remove("kid");
    json!({"typ": "dpop+jwt", "alg": key.algorithm().as_str(), "jwk": jwk})
}

fn claims(jti: &str) -> Value {
    json!({"jti": jti, "htm": "POST", "htu": TOKEN_ENDPOINT, "iat": t0().unix_seconds()})
}

fn proof(key: &SigningKey, claims: &Value) -> String {
    signed(key, &header(key), claims)
}

fn token_request() -> DpopRequest<'static> {
    DpopRequest {
        method: "POST",
        uri: TOKEN_ENDPOINT,
        access_token: None,
        expected_jkt: None,
    }
}

fn decode(proof: &str) -> Result<ecohub_jose::VerifiedDpopProof, DpopError> {
    decode_dpop_proof(proof, &token_request(), t0())
}

#[test]
fn each_algorithm_proves_possession_and_yields_the_thumbprint() {
    for alg in SigningAlgorithm::ALL {
        let holder = key(alg);
        let verified = decode(&proof(&holder, &claims("p1"))).unwrap();
        assert_eq!(
            verified.jkt,
            jwk_thumbprint(holder.public_jwk()).unwrap(),
            "{alg}"
        );
        assert_eq!(verified.jti, "p1");
    }
}

#[test]
fn a_bound_token_is_usable_only_with_proofs_of_its_key() {
    let (_dir, ring) = ring(SigningAlgorithm::Es256);
    let guard = InMemoryJtiReplayGuard::new();
    let holder = key(SigningAlgorithm::EdDsa);

    // Token endpoint: the proof's thumbprint becomes cnf.jkt.
    let at_token_endpoint = ready(verify_dpop_proof(
        &proof(&holder, &claims("p1")),
        &token_request(),
        t0(),
        &guard,
    ))
    .unwrap();
    let mut request = crate::access_tokens::new_token();
    request.dpop_jkt = Some(at_token_endpoint.jkt.clone());
    let token = ecohub_jose::issue_access_token(&ring, request, t0())
        .unwrap()
        .token;

    // Resource: token verifies, proof carries ath and comes from the bound key.
    let claims_of_token = verify_access_token(&token, &ring, ISSUER, AUDIENCE, t0()).unwrap();
    let resource_request = DpopRequest {
        method: "GET",
        uri: RESOURCE,
        access_token: Some(&token),
        expected_jkt: claims_of_token.jkt(),
    };
    let resource_claims = |jti: &str| {
        json!({"jti": jti, "htm": "GET", "htu": RESOURCE, "iat": t0().unix_seconds(),
               "ath": access_token_hash(&token)})
    };
    assert!(
        ready(verify_dpop_proof(
            &proof(&holder, &resource_claims("p2")),
            &resource_request,
            t0(),
            &guard
        ))
        .is_ok()
    );

    // A thief with the token but another key.
    let thief = key(SigningAlgorithm::EdDsa);
    let err = ready(verify_dpop_proof(
        &proof(&thief, &resource_claims("p3")),
        &resource_request,
        t0(),
        &guard,
    ))
    .unwrap_err();
    assert_eq!(err, DpopError::ThumbprintMismatch);
}

#[test]
fn a_missing_jwk_is_refused() {
    let holder = key(SigningAlgorithm::Es256);
    let mut h = header(&holder);
    h.as_object_mut().unwrap().remove("jwk");
    h["kid"] = holder.kid().into();
    assert_eq!(
        decode(&signed(&holder, &h, &claims("x"))),
        Err(DpopError::MissingJwk)
    );
}

#[test]
fn a_private_key_in_the_jwk_is_refused() {
    let holder = key(SigningAlgorithm::Es256);
    for (member, value) in [("d", "AAAA"), ("p", "AAAA"), ("k", "c2VjcmV0")] {
        let mut h = header(&holder);
        h["jwk"][member] = value.into();
        assert_eq!(
            decode(&signed(&holder, &h, &claims("x"))),
            Err(DpopError::PrivateKeyInJwk),
            "{member}"
        );
    }
}

#[test]
fn a_proof_not_signed_by_its_jwk_is_refused() {
    let holder = key(SigningAlgorithm::Es256);
    let other = key(SigningAlgorithm::Es256);
    let token = signed(&other, &header(&holder), &claims("x"));
    assert_eq!(
        decode(&token),
        Err(DpopError::Invalid(JwtError::InvalidSignature))
    );
    // A jwk of another algorithm than the header's.
    let mut h = header(&holder);
    h["alg"] = "EdDSA".into();
    assert_eq!(
        decode(&signed(&holder, &h, &claims("x"))),
        Err(DpopError::Invalid(JwtError::KeyAlgorithmMismatch))
    );
}

#[test]
fn none_hmac_and_wrong_types_are_refused() {
    let holder = key(SigningAlgorithm::Es256);
    let mut h = header(&holder);
    h["alg"] = "none".into();
    assert_eq!(
        decode(&unsigned(&h, &claims("x"))),
        Err(DpopError::Invalid(JwtError::AlgorithmNotAllowed(
            "none".into()
        )))
    );
    h["alg"] = "HS256".into();
    assert_eq!(
        decode(&hs256(b"secret", &h, &claims("x"))),
        Err(DpopError::Invalid(JwtError::AlgorithmNotAllowed(
            "HS256".into()
        )))
    );
    let mut h = header(&holder);
    h["typ"] = "JWT".into();
    assert!(matches!(
        decode(&signed(&holder, &h, &claims("x"))),
        Err(DpopError::Invalid(JwtError::WrongType {
            expected: "dpop+jwt",
            ..
        }))
    ));
}

#[test]
fn method_and_uri_must_match() {
    let holder = key(SigningAlgorithm::Es256);
    let mut c = claims("x");
    c["htm"] = "GET".into();
    assert_eq!(decode(&proof(&holder, &c)), Err(DpopError::MethodMismatch));
    c["htm"] = "post".into();
    assert_eq!(decode(&proof(&holder, &c)), Err(DpopError::MethodMismatch));

    for htu in [
        "https://hub.example.com/oauth2/par",
        "https://evil.example.com/oauth2/token",
        "http://hub.example.com/oauth2/token",
        "https://hub.example.com:8443/oauth2/token",
        "/oauth2/token",
    ] {
        let mut c = claims("x");
        c["htu"] = htu.into();
        assert_eq!(
            decode(&proof(&holder, &c)),
            Err(DpopError::UriMismatch),
            "{htu}"
        );
    }
    // Equivalent after normalisation: case of scheme and host, default port, query, fragment.
    for htu in [
        "HTTPS://Hub.Example.com/oauth2/token",
        "https://hub.example.com:443/oauth2/token",
        "https://hub.example.com/oauth2/token?x=1#frag",
    ] {
        let mut c = claims("x");
        c["htu"] = htu.into();
        assert!(decode(&proof(&holder, &c)).is_ok(), "{htu}");
    }
}

#[test]
fn iat_must_be_recent() {
    let holder = key(SigningAlgorithm::Es256);
    let t = t0().unix_seconds();
    let with_iat = |iat: i64| {
        let mut c = claims("x");
        c["iat"] = iat.into();
        decode(&proof(&holder, &c))
    };
    assert!(with_iat(t - 60).is_ok());
    assert_eq!(with_iat(t - 61), Err(DpopError::Stale));
    assert_eq!(with_iat(t - 86_400), Err(DpopError::Stale));
    assert!(with_iat(t + 10).is_ok());
    assert_eq!(
        with_iat(t + 11),
        Err(DpopError::Invalid(JwtError::IssuedInFuture))
    );
}

#[test]
fn ath_must_hash_the_presented_token() {
    let holder = key(SigningAlgorithm::Es256);
    let request = DpopRequest {
        method: "GET",
        uri: RESOURCE,
        access_token: Some("the-token"),
        expected_jkt: None,
    };
    let mut c = json!({"jti": "x", "htm": "GET", "htu": RESOURCE, "iat": t0().unix_seconds()});
    assert_eq!(
        decode_dpop_proof(&proof(&holder, &c), &request, t0()),
        Err(DpopError::MissingAth)
    );
    c["ath"] = access_token_hash("another-token").into();
    assert_eq!(
        decode_dpop_proof(&proof(&holder, &c), &request, t0()),
        Err(DpopError::AthMismatch)
    );
    c["ath"] = access_token_hash("the-token").into();
    assert!(decode_dpop_proof(&proof(&holder, &c), &request, t0()).is_ok());
    // RFC 9449 §4.2 example value shape: 43 base64url characters of SHA-256.
    assert_eq!(access_token_hash("the-token").len(), 43);
}

#[test]
fn a_replayed_jti_is_refused() {
    let holder = key(SigningAlgorithm::Es256);
    let guard = InMemoryJtiReplayGuard::new();
    let p = proof(&holder, &claims("once"));
    assert!(ready(verify_dpop_proof(&p, &token_request(), t0(), &guard)).is_ok());
    assert_eq!(
        ready(verify_dpop_proof(&p, &token_request(), at(1), &guard)),
        Err(DpopError::Replayed)
    );
}

#[test]
fn required_claims_are_required() {
    let holder = key(SigningAlgorithm::Es256);
    for claim in ["jti", "htm", "htu", "iat"] {
        let mut c = claims("x");
        c.as_object_mut().unwrap().remove(claim);
        assert_eq!(
            decode(&proof(&holder, &c)),
            Err(DpopError::Invalid(JwtError::MissingClaim(claim)))
        );
    }
}
