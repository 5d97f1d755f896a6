//! Property tests (proptest) of every JWT parser that faces the internet: access tokens,
//! software statements, `private_key_jwt` client assertions, DPoP proofs and SETs (any
//! explicitly typed JWT, [`verify_typed_jwt`]).
//!
//! * Arbitrary strings, bytes and base64url-wrapped JSON never panic and are refused with the
//!   typed error.
//! * Arbitrary headers and claims *signed with a trusted key* (so every claim check is
//!   reached) never panic, and whatever is accepted satisfies the documented checks.
//! * A token the hub (or a client, or a DPoP key holder) signed verifies, and every
//!   single-byte change to it is refused.
//!
//! Each property runs a modest number of cases so that `cargo test` stays fast; for a longer
//! run: `PROPTEST_CASES=20000 cargo test -p ecohub-jose --test jose properties`.

use std::time::Duration;

use ecohub_jose::jwt::{header_kid, verify_typed_jwt};
use ecohub_jose::testing::compact_jws;
use ecohub_jose::util::b64url;
use ecohub_jose::{
    CLOCK_SKEW, DPOP_PROOF_MAX_AGE, DpopRequest, Jwks, KeyRing, NewAccessToken,
    NewSoftwareStatement, SigningAlgorithm, SigningKey, access_token_hash, decode_client_assertion,
    decode_dpop_proof, issue_access_token, issue_software_statement, jwk_thumbprint, normalize_htu,
    verify_access_token, verify_software_statement,
};
use ecohub_kernel::Timestamp;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::{Map, Value, json};

use crate::support::*;

const CLIENT: &str = "client-1";
const AUDIENCES: &[&str] = &[TOKEN_ENDPOINT, ISSUER];
const RESOURCE: &str = "https://api.hub.example.com/accounts";

/// `default` cases, or `PROPTEST_CASES` when set (for long runs).
fn config(default: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

/// Arbitrary JSON, a few levels deep.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "\\PC{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("\\PC{0,8}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Either absent, a plausible value, or arbitrary JSON.
fn member(plausible: impl Strategy<Value = Value> + 'static) -> BoxedStrategy<Option<Value>> {
    prop_oneof![
        2 => Just(None),
        5 => plausible.prop_map(Some),
        2 => any_json().prop_map(Some),
    ]
    .boxed()
}

/// A time claim: near `t0`, at the edges of `i64`, or anything.
fn time_claim() -> impl Strategy<Value = Value> {
    let t = t0().unix_seconds();
    prop_oneof![
        (-400i64..400).prop_map(move |d| json!(t + d)),
        prop::sample::select(vec![i64::MIN, i64::MIN + 1, -1, 0, i64::MAX - 1, i64::MAX])
            .prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        Just(json!(1.5e300)),
        Just(json!("1800000000")),
    ]
}

fn string_of(choices: &[&'static str]) -> impl Strategy<Value = Value> + use<> {
    let choices: Vec<&'static str> = choices.to_vec();
    prop_oneof![
        3 => prop::sample::select(choices).prop_map(Value::from),
        1 => "\\PC{0,16}".prop_map(Value::from),
    ]
}

/// Claims of any of the kinds verified here, each member absent, plausible or arbitrary.
fn any_claims() -> impl Strategy<Value = Value> {
    let strings = (
        member(string_of(&[ISSUER, CLIENT, ""])),
        member(prop_oneof![
            string_of(&[AUDIENCE, TOKEN_ENDPOINT, ISSUER]),
            Just(json!([AUDIENCE, "other"])),
            Just(json!([])),
        ]),
        member(string_of(&[CLIENT, "customer-1", ""])),
        member(string_of(&[CLIENT, ""])),
        member(string_of(&["accounts:read", "", "a b  c"])),
        member(string_of(&["jti-1", ""])),
        member(string_of(&["POST", "GET", "post"])),
        member(string_of(&[
            TOKEN_ENDPOINT,
            "https://HUB.example.com:443/oauth2/token?x#y",
            "https://hub.example.com/oauth2/token/",
            "",
        ])),
        member(string_of(&["partner-1", "acme"])),
    );
    let times = (
        member(time_claim()),
        member(time_claim()),
        member(time_claim()),
        member(prop_oneof![
            Just(json!({"jkt": "abc"})),
            Just(json!({"jkt": ""})),
            Just(json!({})),
        ]),
        member(string_of(&["x"])),
        prop::option::of(("[a-z_]{1,10}", any_json())),
    );
    (strings, times).prop_map(
        |(
            (iss, aud, sub, client_id, scope, jti, htm, htu, software_id),
            (exp, iat, nbf, cnf, ath, extra),
        )| {
            let mut claims = Map::new();
            for (name, value) in [
                ("iss", iss),
                ("aud", aud),
                ("sub", sub),
                ("client_id", client_id),
                ("scope", scope),
                ("jti", jti),
                ("htm", htm),
                ("htu", htu),
                ("software_id", software_id),
                ("exp", exp),
                ("iat", iat),
                ("nbf", nbf),
                ("cnf", cnf),
                ("ath", ath),
            ] {
                if let Some(v) = value {
                    claims.insert(name.to_owned(), v);
                }
            }
            if let Some((name, value)) = extra {
                claims.insert(name, value);
            }
            Value::Object(claims)
        },
    )
}

/// The keys every case can use: one per algorithm, each a hub ring's signing key and a
/// client's (or DPoP holder's) key.
struct Keys {
    _dirs: Vec<tempfile::TempDir>,
    rings: Vec<KeyRing>,
    clients: Vec<SigningKey>,
}

impl Keys {
    fn new() -> Self {
        let mut dirs = Vec::new();
        let mut rings = Vec::new();
        let mut clients = Vec::new();
        for alg in SigningAlgorithm::ALL {
            let (dir, ring) = ring(alg);
            dirs.push(dir);
            rings.push(ring);
            clients.push(key(alg));
        }
        Keys {
            _dirs: dirs,
            rings,
            clients,
        }
    }

    fn hub_key(&self, i: usize) -> std::sync::Arc<SigningKey> {
        self.rings[i].signing_key(t0()).unwrap()
    }

    /// The client's registered key set: every client key.
    fn client_jwks(&self) -> Jwks {
        let keys: Vec<Value> = self
            .clients
            .iter()
            .map(|k| serde_json::to_value(k.public_jwk()).unwrap())
            .collect();
        Jwks::from_json(&json!({ "keys": keys })).unwrap()
    }
}

/// A header for `key`, its members each kept, dropped or replaced.
fn any_header(keys: &Keys) -> impl Strategy<Value = (Value, usize, bool)> + use<> {
    let kids: Vec<String> = keys
        .rings
        .iter()
        .map(|r| r.signing_key(t0()).unwrap().kid().to_owned())
        .chain(keys.clients.iter().map(|k| k.kid().to_owned()))
        .collect();
    let jwks: Vec<Value> = keys
        .clients
        .iter()
        .map(|k| {
            let mut jwk = serde_json::to_value(k.public_jwk()).unwrap();
            jwk.as_object_mut().unwrap().remove("kid");
            jwk
        })
        .collect();
    (
        0..SigningAlgorithm::ALL.len(),
        any::<bool>(),
        member(string_of(&[
            "ES256", "PS256", "EdDSA", "none", "HS256", "RS256", "es256",
        ])),
        member(string_of(&[
            "at+jwt",
            "application/AT+JWT",
            "dpop+jwt",
            "software-statement+jwt",
            "secevent+jwt",
            "JWT",
            "client-authentication+jwt",
        ])),
        member(prop::sample::select(kids).prop_map(Value::from)),
        member(prop::sample::select(jwks)),
        prop::option::of(any_json()),
    )
        .prop_map(|(i, hub, alg, typ, kid, jwk, crit)| {
            let mut header = Map::new();
            for (name, value) in [("alg", alg), ("typ", typ), ("kid", kid), ("jwk", jwk)] {
                if let Some(v) = value {
                    header.insert(name.to_owned(), v);
                }
            }
            if let Some(crit) = crit {
                header.insert("crit".to_owned(), crit);
            }
            (Value::Object(header), i, hub)
        })
}

/// Runs every verifier on `token`; each answers with its typed error or, for a token that
/// passed, claims that satisfy what the verifier promises. Never panics.
fn verify_everything(keys: &Keys, token: &str) -> Result<usize, TestCaseError> {
    let now = t0();
    let mut accepted = 0;
    let _ = header_kid(token);
    for ring in &keys.rings {
        if let Ok(claims) = verify_access_token(token, ring, ISSUER, AUDIENCE, now) {
            accepted += 1;
            prop_assert_eq!(&claims.iss, ISSUER);
            prop_assert!(claims.aud.contains(AUDIENCE));
            prop_assert!(now < Timestamp::from_unix_seconds(claims.exp).plus(CLOCK_SKEW));
            prop_assert!(Timestamp::from_unix_seconds(claims.iat) <= now.plus(CLOCK_SKEW));
            prop_assert!(Timestamp::from_unix_seconds(claims.nbf) <= now.plus(CLOCK_SKEW));
            prop_assert!(!claims.sub.is_empty() && !claims.client_id.is_empty());
            prop_assert!(!claims.jti.is_empty());
            prop_assert!(claims.jkt().is_none_or(|j| !j.is_empty()));
        }
        if let Ok(claims) = verify_software_statement(token, ring, ISSUER, now) {
            accepted += 1;
            prop_assert_eq!(&claims.iss, ISSUER);
            prop_assert!(now < Timestamp::from_unix_seconds(claims.exp).plus(CLOCK_SKEW));
            prop_assert!(!claims.software_id.is_empty() && !claims.jti.is_empty());
        }
        if verify_typed_jwt::<_, Value>(token, ring, "secevent+jwt", now).is_ok() {
            accepted += 1;
        }
    }
    if let Ok(claims) = decode_client_assertion(token, &keys.client_jwks(), CLIENT, AUDIENCES, now)
    {
        accepted += 1;
        prop_assert_eq!(&claims.iss, CLIENT);
        prop_assert_eq!(&claims.sub, CLIENT);
        prop_assert!(AUDIENCES.iter().any(|a| claims.aud.contains(a)));
        let exp = Timestamp::from_unix_seconds(claims.exp);
        prop_assert!(now < exp.plus(CLOCK_SKEW));
        prop_assert!(exp <= now.plus(Duration::from_secs(300)).plus(CLOCK_SKEW));
        prop_assert!(!claims.jti.is_empty() && claims.jti.len() <= 256);
    }
    let dpop_requests = [
        DpopRequest {
            method: "POST",
            uri: TOKEN_ENDPOINT,
            access_token: None,
            expected_jkt: None,
        },
        DpopRequest {
            method: "GET",
            uri: RESOURCE,
            access_token: Some("x"),
            expected_jkt: Some("abc"),
        },
    ];
    for request in &dpop_requests {
        if let Ok(proof) = decode_dpop_proof(token, request, now) {
            accepted += 1;
            prop_assert!(!proof.jti.is_empty() && proof.jti.len() <= 256);
            let iat = Timestamp::from_unix_seconds(proof.iat);
            prop_assert!(iat <= now.plus(CLOCK_SKEW) && iat >= now.minus(DPOP_PROOF_MAX_AGE));
            prop_assert_eq!(Ok(proof.jkt.clone()), jwk_thumbprint(&proof.jwk));
        }
    }
    Ok(accepted)
}

/// Strings that look more or less like a compact JWS.
fn any_token() -> impl Strategy<Value = String> {
    let segment = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..64).prop_map(b64url),
        any_json().prop_map(|v| b64url(v.to_string())),
        "[A-Za-z0-9_=+/.-]{0,40}",
    ];
    prop_oneof![
        "\\PC{0,200}",
        prop::collection::vec(any::<u8>(), 0..200)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        prop::collection::vec(segment, 0..5).prop_map(|s| s.join(".")),
        Just("a".repeat(16 * 1024 + 1)),
    ]
}

#[test]
fn arbitrary_strings_are_refused_without_panicking() {
    let keys = Keys::new();
    proptest!(config(512), |(token in any_token())| {
        prop_assert_eq!(verify_everything(&keys, &token)?, 0, "{} was accepted", token);
    });
}

#[test]
fn arbitrary_headers_and_claims_signed_by_a_trusted_key_never_panic() {
    let keys = Keys::new();
    proptest!(config(512), |((header, i, hub) in any_header(&keys), claims in any_claims())| {
        let token = if hub {
            let key = keys.hub_key(i);
            compact_jws(&header, &claims, |m| key.sign(m).unwrap())
        } else {
            compact_jws(&header, &claims, |m| keys.clients[i].sign(m).unwrap())
        };
        verify_everything(&keys, &token)?;
    });
}

/// ASCII that a single-byte change may write (base64url, the separator, padding, others).
fn replacement() -> impl Strategy<Value = u8> {
    prop_oneof![
        prop::sample::select(
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ ".to_vec()
        ),
        0x20u8..0x7f,
    ]
}

/// `token` with the byte at `index % len` replaced by `byte` (or, when equal, by another).
fn mutate(token: &str, index: usize, byte: u8) -> String {
    let mut bytes = token.as_bytes().to_vec();
    let i = index % bytes.len();
    bytes[i] = if bytes[i] == byte {
        if byte == b'A' { b'B' } else { b'A' }
    } else {
        byte
    };
    String::from_utf8(bytes).unwrap()
}

#[test]
fn signed_tokens_verify_and_any_single_byte_change_is_refused() {
    let keys = Keys::new();
    let jwks = keys.client_jwks();
    let scope = "[!#-\\[\\]-~]{1,12}";
    proptest!(config(256), |(
        i in 0..SigningAlgorithm::ALL.len(),
        subject in "\\PC{1,24}",
        scopes in prop::collection::vec(scope, 0..4),
        lifetime in 1u64..86_400,
        jti in "[A-Za-z0-9_-]{1,64}",
        index in any::<usize>(),
        byte in replacement(),
    )| {
        let ring = &keys.rings[i];
        let now = t0();

        // An access token.
        let issued = issue_access_token(ring, NewAccessToken {
            issuer: ISSUER.into(),
            audience: AUDIENCE.into(),
            subject: subject.clone(),
            client_id: CLIENT.into(),
            scopes: scopes.clone(),
            lifetime: Duration::from_secs(lifetime),
            dpop_jkt: None,
            partner_id: None,
            roles: vec![],
            consent_id: None,
        }, now).unwrap();
        prop_assert_eq!(
            verify_access_token(&issued.token, ring, ISSUER, AUDIENCE, now),
            Ok(issued.claims.clone())
        );
        let changed = mutate(&issued.token, index, byte);
        prop_assert!(verify_access_token(&changed, ring, ISSUER, AUDIENCE, now).is_err());

        // A software statement.
        let statement = issue_software_statement(ring, NewSoftwareStatement {
            issuer: ISSUER.into(),
            software_id: subject.clone(),
            org_name: subject.clone(),
            roles: vec!["data_recipient".into()],
            scopes: scopes.clone(),
            redirect_uris: vec!["https://partner.example.com/cb".into()],
            lifetime: Duration::from_secs(lifetime),
        }, now).unwrap();
        prop_assert_eq!(
            verify_software_statement(&statement.statement, ring, ISSUER, now),
            Ok(statement.claims.clone())
        );
        let changed = mutate(&statement.statement, index, byte);
        prop_assert!(verify_software_statement(&changed, ring, ISSUER, now).is_err());

        // A SET (any explicitly typed JWT the hub signs).
        let set_claims = json!({"iss": ISSUER, "jti": jti, "events": {"urn:ecohub:events:x": {"s": subject}}});
        let set = ring.signing_key(now).unwrap().sign_jwt("secevent+jwt", &set_claims).unwrap();
        prop_assert_eq!(verify_typed_jwt::<_, Value>(&set, ring, "secevent+jwt", now), Ok(set_claims));
        let changed = mutate(&set, index, byte);
        prop_assert!(verify_typed_jwt::<_, Value>(&changed, ring, "secevent+jwt", now).is_err());

        // A client assertion.
        let client = &keys.clients[i];
        let t = now.unix_seconds();
        let assertion = signed(
            client,
            &json!({"alg": client.algorithm().as_str(), "kid": client.kid()}),
            &json!({"iss": CLIENT, "sub": CLIENT, "aud": TOKEN_ENDPOINT, "jti": jti, "iat": t, "exp": t + 60}),
        );
        prop_assert!(decode_client_assertion(&assertion, &jwks, CLIENT, AUDIENCES, now).is_ok());
        let changed = mutate(&assertion, index, byte);
        prop_assert!(decode_client_assertion(&changed, &jwks, CLIENT, AUDIENCES, now).is_err());

        // A DPoP proof at a resource, with the token's hash.
        let mut jwk = serde_json::to_value(client.public_jwk()).unwrap();
        jwk.as_object_mut().unwrap().remove("kid");
        let proof = signed(
            client,
            &json!({"typ": "dpop+jwt", "alg": client.algorithm().as_str(), "jwk": jwk}),
            &json!({"jti": jti, "htm": "GET", "htu": RESOURCE, "iat": t, "ath": access_token_hash(&issued.token)}),
        );
        let jkt = jwk_thumbprint(client.public_jwk()).unwrap();
        let request = DpopRequest {
            method: "GET",
            uri: RESOURCE,
            access_token: Some(&issued.token),
            expected_jkt: Some(&jkt),
        };
        prop_assert!(decode_dpop_proof(&proof, &request, now).is_ok());
        let changed = mutate(&proof, index, byte);
        prop_assert!(decode_dpop_proof(&changed, &request, now).is_err());
    });
}

#[test]
fn htu_normalisation_never_panics_and_is_idempotent() {
    let uri = prop_oneof![
        "\\PC{0,64}",
        (
            prop::sample::select(vec!["https", "HTTP", "http", "h2", "1x", ""]),
            "[A-Za-z0-9.:@\\[\\]%-]{0,24}",
            "[/A-Za-z0-9%?#:.-]{0,24}",
        )
            .prop_map(|(s, a, p)| format!("{s}://{a}{p}")),
    ];
    proptest!(config(512), |(uri in uri)| {
        if let Some(normalized) = normalize_htu(&uri) {
            prop_assert_eq!(normalize_htu(&normalized), Some(normalized.clone()), "{}", uri);
        }
    });
}
