//! RFC 9068 access tokens: issuance, verification, and the attacks on them.

use ecohub_jose::{
    IssueError, IssuedAccessToken, JwtError, KeyRing, NewAccessToken, SigningAlgorithm, TokenError,
    verify_access_token,
};
use std::str::FromStr;

use serde_json::{Value, json};

use crate::support::*;

pub fn new_token() -> NewAccessToken {
    NewAccessToken {
        issuer: ISSUER.into(),
        audience: AUDIENCE.into(),
        subject: "client-1".into(),
        client_id: "client-1".into(),
        scopes: vec!["accounts".into(), "consents:write".into()],
        lifetime: LIFETIME,
        dpop_jkt: None,
        partner_id: Some("partner-1".into()),
        roles: vec!["data_recipient".into()],
        consent_id: None,
    }
}

pub fn issue(
    ring: &KeyRing,
    request: NewAccessToken,
    now: ecohub_kernel::Timestamp,
) -> IssuedAccessToken {
    ecohub_jose::issue_access_token(ring, request, now).unwrap()
}

fn verify(
    ring: &KeyRing,
    token: &str,
    now_secs: i64,
) -> Result<ecohub_jose::AccessTokenClaims, TokenError> {
    verify_access_token(token, ring, ISSUER, AUDIENCE, at(now_secs))
}

fn refused(ring: &KeyRing, token: &str, now_secs: i64) -> JwtError {
    match verify(ring, token, now_secs) {
        Err(TokenError::Invalid(e)) => e,
        Ok(claims) => panic!("accepted: {claims:?}"),
    }
}

/// Claims signed by the ring's own key with a hand-made header: the attacker who knows the
/// format but not the key can do no better, and our own mistakes would look like this.
fn forge(ring: &KeyRing, header: Value, claims: Value) -> String {
    signed(&ring.signing_key(t0()).unwrap(), &header, &claims)
}

fn header(ring: &KeyRing) -> Value {
    let key = ring.signing_key(t0()).unwrap();
    json!({"alg": key.algorithm().as_str(), "typ": "at+jwt", "kid": key.kid()})
}

fn claims() -> Value {
    let t = t0().unix_seconds();
    json!({
        "iss": ISSUER, "aud": AUDIENCE, "sub": "client-1", "client_id": "client-1",
        "scope": "accounts", "jti": "jti-1", "iat": t, "nbf": t, "exp": t + 300
    })
}

#[test]
fn each_algorithm_signs_and_verifies() {
    for alg in SigningAlgorithm::ALL {
        let (_dir, ring) = ring(alg);
        let issued = issue(&ring, new_token(), t0());
        let (header, _) = parts(&issued.token);
        assert_eq!(header["alg"], alg.as_str());
        assert_eq!(header["typ"], "at+jwt");
        assert_eq!(header["kid"], ring.signing_key(t0()).unwrap().kid());
        let claims = verify(&ring, &issued.token, 1).unwrap();
        assert_eq!(claims, issued.claims, "{alg}");
        // A resource server holding only the published JWKS verifies it too.
        let jwks = ring.jwks(t0());
        assert_eq!(
            verify_access_token(&issued.token, &jwks, ISSUER, AUDIENCE, at(1)).unwrap(),
            issued.claims
        );
    }
}

#[test]
fn issued_claims_follow_rfc_9068() {
    let (_dir, ring) = ring(SigningAlgorithm::Es256);
    let mut request = new_token();
    request.dpop_jkt = Some("thumbprint".into());
    let issued = issue(&ring, request, t0());
    let (_, claims) = parts(&issued.token);
    let t = t0().unix_seconds();
    assert_eq!(claims["iss"], ISSUER);
    assert_eq!(claims["aud"], AUDIENCE);
    assert_eq!(claims["sub"], "client-1");
    assert_eq!(claims["client_id"], "client-1");
    assert_eq!(claims["scope"], "accounts consents:write");
    assert_eq!(claims["iat"], t);
    assert_eq!(claims["nbf"], t);
    assert_eq!(claims["exp"], t + 300);
    assert_eq!(claims["cnf"]["jkt"], "thumbprint");
    assert_eq!(claims["partner_id"], "partner-1");
    assert_eq!(claims["roles"], json!(["data_recipient"]));
    // jti: 160 random bits, base64url, fresh every time.
    let jti = claims["jti"].as_str().unwrap();
    assert_eq!(jti.len(), 27);
    assert!(
        jti.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
    assert_ne!(
        issue(&ring, new_token(), t0()).claims.jti,
        issued.claims.jti
    );

    let verified = verify(&ring, &issued.token, 0).unwrap();
    assert!(verified.has_scope("consents:write") && !verified.has_scope("consents"));
    assert_eq!(verified.jkt(), Some("thumbprint"));
    assert_eq!(verified.expires_at(), at(300));
}

#[test]
fn invalid_scopes_are_not_issued() {
    let (_dir, ring) = ring(SigningAlgorithm::Es256);
    for bad in ["", "two words", "quote\"", "back\\slash"] {
        let mut request = new_token();
        request.scopes = vec![bad.into()];
        assert!(matches!(
            ecohub_jose::issue_access_token(&ring, request, t0()),
            Err(IssueError::InvalidScope(_))
        ));
    }
}

#[test]
fn alg_none_is_refused() {
    let (_dir, ring) = ring(SigningAlgorithm::Es256);
    let mut h = header(&ring);
    for alg in ["none", "None", "NONE"] {
        h["alg"] = alg.into();
        assert_eq!(
            refused(&ring, &unsigned(&h, &claims()), 0),
            JwtError::AlgorithmNotAllowed(alg.into())
        );
    }
    // Even when a valid signature is attached.
    h["alg"] = "none".into();
    assert_eq!(
        refused(&ring, &forge(&ring, h, claims()), 0),
        JwtError::AlgorithmNotAllowed("none".into())
    );
}

#[test]
fn hs256_signed_with_the_public_key_is_refused() {
    for alg in SigningAlgorithm::ALL {
        let (_dir, ring) = ring(alg);
        let key = ring.signing_key(t0()).unwrap();
        let jwk = key.public_jwk();
        let mut h = header(&ring);
        h["alg"] = "HS256".into();
        // Whatever public bytes an attacker picks as the HMAC secret.
        let secrets: Vec<Vec<u8>> = vec![
            serde_json::to_vec(jwk).unwrap(),
            serde_json::to_vec(&ring.jwks(t0())).unwrap(),
            jwk.x.clone().or(jwk.n.clone()).unwrap().into_bytes(),
            key.kid().as_bytes().to_vec(),
        ];
        for secret in secrets {
            assert_eq!(
                refused(&ring, &hs256(&secret, &h, &claims()), 0),
                JwtError::AlgorithmNotAllowed("HS256".into()),
                "{alg}"
            );
        }
    }
}

#[test]
fn other_algorithms_are_refused() {
    let (_dir, ring) = ring(SigningAlgorithm::Ps256);
    for alg in ["RS256", "HS512", "ES384", "PS512", "ES256K"] {
        let mut h = header(&ring);
        h["alg"] = alg.into();
        assert_eq!(
            refused(&ring, &forge(&ring, h, claims()), 0),
            JwtError::AlgorithmNotAllowed(alg.into())
        );
    }
}

#[test]
fn an_allowed_alg_that_is_not_the_keys_is_refused() {
    let (_dir, ring) = ring(SigningAlgorithm::Es256);
    let mut h = header(&ring);
    h["alg"] = "EdDSA".into();
    assert_eq!(
        refused(&ring, &forge(&ring, h, claims()), 0),
        JwtError::KeyAlgorithmMismatch
    );
}

#[test]
fn expiry_is_enforced_with_ten_seconds_of_skew() {
    let (_dir, ring) = ring(SigningAlgorithm::Es256);
    let issued = issue(&ring, new_token(), t0());
    assert!(verify(&ring, &issued.token, 309).is_ok());
    assert_eq!(refused(&ring, &issued.token, 310), JwtError::Expired);
    assert_eq!(refused(&ring, &issued.token, 86_400), JwtError::Expired);
}

#[test]
fn nbf_in_the_future_is_refused_beyond_the_skew_only() {
    let (_dir, ring) = ring(SigningAlgorithm::Es256);
    let mut c = claims();
    c["nbf"] = (t0().unix_seconds() + 10).into();
    assert!(verify(&ring, &forge(&ring, header(&ring), c.clone()), 0).is_ok());
    c["nbf"] = (t0().unix_seconds() + 11).into();
    assert_eq!(
        refused(&ring, &forge(&ring, header(&ring), c), 0),
        JwtError::NotYetValid
    );
}

#[test]
fn iat_in_the_future_is_refused_beyond_the_skew_only() {
    let (_dir, ring) = ring(SigningAlgorithm::Es256);
    let mut c = claims();
    c["iat"] = (t0().unix_seconds() + 10).into();
    assert!(verify(&ring, &forge(&ring, header(&ring), c.clone()), 0).is_ok());
    c["iat"] = (t0().unix_seconds() + 11).into();
    assert_eq!(
        refused(&ring, &forge(&ring, header(&ring), c), 0),
        JwtError::IssuedInFuture
    );
}

#[test]
fn wrong_issuer_is_refused() {
    let (_dir, ring) = ring(SigningAlgorithm::Es256);
    let issued = issue(&ring, new_token(), t0());
    let result = verify_access_token(
        &issued.token,
        &ring,
        "https://evil.example.com",
        AUDIENCE,
        t0(),
    );
    assert_eq!(result, Err(TokenError::Invalid(JwtError::WrongIssuer)));
    // Exact comparison: no trailing-slash or case leniency.
    let result = verify_access_token(
        &issued.token,
        &ring,
        "https://hub.example.com/",
        AUDIENCE,
        t0(),
    );
    assert_eq!(result, Err(TokenError::Invalid(JwtError::WrongIssuer)));
}

#[test]
fn wrong_audience_is_refused() {
    let (_dir, ring) = ring(SigningAlgorithm::Es256);
    let issued = issue(&ring, new_token(), t0());
    let result = verify_access_token(
        &issued.token,
        &ring,
        ISSUER,
        "https://other.example.com",
        t0(),
    );
    assert_eq!(result, Err(TokenError::Invalid(JwtError::WrongAudience)));
    // An array audience is accepted when it contains ours.
    let mut c = claims();
    c["aud"] = json!(["https://other.example.com", AUDIENCE]);
    assert!(verify(&ring, &forge(&ring, header(&ring), c.clone()), 0).is_ok());
    c["aud"] = json!(["https://other.example.com"]);
    assert_eq!(
        refused(&ring, &forge(&ring, header(&ring), c), 0),
        JwtError::WrongAudience
    );
}

#[test]
fn a_tampered_payload_is_refused() {
    let (_dir, ring) = ring(SigningAlgorithm::Es256);
    let issued = issue(&ring, new_token(), t0());
    let (header_b64, rest) = issued.token.split_once('.').unwrap();
    let signature = rest.rsplit_once('.').unwrap().1;
    let mut c = serde_json::to_value(&issued.claims).unwrap();
    c["scope"] = "admin".into();
    let forged = format!(
        "{header_b64}.{}.{signature}",
        base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            serde_json::to_vec(&c).unwrap()
        )
    );
    assert_eq!(refused(&ring, &forged, 0), JwtError::InvalidSignature);
    // A flipped signature byte too.
    let mut bytes = issued.token.into_bytes();
    let last = bytes.len() - 2;
    bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(bytes).unwrap();
    assert!(matches!(
        refused(&ring, &flipped, 0),
        JwtError::InvalidSignature | JwtError::Malformed(_)
    ));
}

#[test]
fn an_unknown_or_missing_kid_is_refused() {
    let (_dir, ring) = ring(SigningAlgorithm::Es256);
    let mut h = header(&ring);
    h["kid"] = "not-a-key-of-ours".into();
    assert_eq!(
        refused(&ring, &forge(&ring, h.clone(), claims()), 0),
        JwtError::UnknownKeyId("not-a-key-of-ours".into())
    );
    h.as_object_mut().unwrap().remove("kid");
    assert_eq!(
        refused(&ring, &forge(&ring, h, claims()), 0),
        JwtError::MissingKeyId
    );
}

#[test]
fn a_token_from_another_key_under_our_kid_is_refused() {
    let (_dir, ring) = ring(SigningAlgorithm::Es256);
    let attacker = key(SigningAlgorithm::Es256);
    let token = signed(&attacker, &header(&ring), &claims());
    assert_eq!(refused(&ring, &token, 0), JwtError::InvalidSignature);
}

#[test]
fn the_type_must_be_at_jwt() {
    let (_dir, ring) = ring(SigningAlgorithm::Es256);
    for typ in [
        json!("JWT"),
        json!("dpop+jwt"),
        json!("software-statement+jwt"),
        Value::Null,
    ] {
        let mut h = header(&ring);
        if typ.is_null() {
            h.as_object_mut().unwrap().remove("typ");
        } else {
            h["typ"] = typ;
        }
        assert!(matches!(
            refused(&ring, &forge(&ring, h, claims()), 0),
            JwtError::WrongType {
                expected: "at+jwt",
                ..
            }
        ));
    }
    let mut h = header(&ring);
    h["typ"] = "application/at+jwt".into();
    assert!(verify(&ring, &forge(&ring, h, claims()), 0).is_ok());
}

#[test]
fn critical_headers_are_refused() {
    let (_dir, ring) = ring(SigningAlgorithm::Es256);
    let mut h = header(&ring);
    h["crit"] = json!(["b64"]);
    h["b64"] = false.into();
    assert_eq!(
        refused(&ring, &forge(&ring, h, claims()), 0),
        JwtError::CriticalHeader
    );
}

#[test]
fn missing_claims_are_refused() {
    let (_dir, ring) = ring(SigningAlgorithm::Es256);
    for claim in [
        "iss",
        "aud",
        "sub",
        "client_id",
        "scope",
        "jti",
        "iat",
        "exp",
    ] {
        let mut c = claims();
        c.as_object_mut().unwrap().remove(claim);
        assert_eq!(
            refused(&ring, &forge(&ring, header(&ring), c), 0),
            JwtError::MissingClaim(claim),
        );
    }
    let mut c = claims();
    c["exp"] = "tomorrow".into();
    assert!(matches!(
        refused(&ring, &forge(&ring, header(&ring), c), 0),
        JwtError::Malformed(_)
    ));
}

#[test]
fn malformed_tokens_are_refused() {
    let (_dir, ring) = ring(SigningAlgorithm::Es256);
    let valid = issue(&ring, new_token(), t0()).token;
    let long = "a".repeat(20_000);
    for token in [
        "",
        "abc",
        "a.b",
        "a.b.c.d",
        "!!!.e30.sig",
        "e30.e30.",
        long.as_str(),
        &format!("{valid}."),
        &format!("{valid}=="),
    ] {
        assert!(verify(&ring, token, 0).is_err(), "{token:.40}");
    }
}

#[test]
fn a_refusal_says_why() {
    let error = TokenError::Invalid(JwtError::Expired);
    assert_eq!(error.to_string(), "jwt expired");
}

/// Tokens are plain RFC 7515 compact JWS: jsonwebtoken's own `decode`, given the published
/// JWK, accepts them (signing uses aws-lc key pairs parsed once, not jsonwebtoken's `encode`).
#[test]
fn tokens_interoperate_with_jsonwebtoken_decode() {
    for alg in SigningAlgorithm::ALL {
        let (_dir, ring) = ring(alg);
        let issued = issue(&ring, new_token(), t0());
        let jwk_json = serde_json::to_value(ring.signing_key(t0()).unwrap().public_jwk()).unwrap();
        let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(jwk_json).unwrap();
        let key = jsonwebtoken::DecodingKey::from_jwk(&jwk).unwrap();
        let mut validation =
            jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::from_str(alg.as_str()).unwrap());
        validation.validate_exp = false;
        validation.required_spec_claims.clear();
        validation.set_audience(&[AUDIENCE]);
        validation.set_issuer(&[ISSUER]);
        let decoded = jsonwebtoken::decode::<Value>(&issued.token, &key, &validation).unwrap();
        assert_eq!(decoded.claims["jti"], issued.claims.jti.as_str(), "{alg}");
    }
}
