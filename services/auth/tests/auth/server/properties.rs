//! Property test (proptest) of dynamic client registration, whose `software_statement` and
//! metadata come from anyone on the internet: arbitrary strings, one-byte changes of a real
//! statement, statements signed by a foreign key, and statements *signed by the hub* with
//! arbitrary claims are all answered with an RFC 7591 error (400), never a 5xx, and a
//! client is registered only for the approved partner with a statement the hub issued.
//!
//! The case count is modest so that `cargo test` stays fast; for a longer run:
//! `PROPTEST_CASES=5000 cargo test -p ecohub-auth --test auth properties`.

use ecohub_jose::testing::signed;
use ecohub_jose::{SigningAlgorithm, SigningKey};
use ecohub_testkit::properties::{any_json, config};
use proptest::prelude::*;

use serde_json::{Value, json};

use super::{CALLBACK, HUB, Hub, t0};

/// How a case builds its statement.
#[derive(Debug, Clone)]
enum Statement {
    /// The partner's real statement, as the hub issued it.
    Real,
    /// Any string.
    Raw(String),
    /// The partner's real statement with one byte changed.
    Mutated(usize, u8),
    /// Claims signed by the hub's own key (`software-statement+jwt`).
    HubSigned(Value),
    /// The real claims signed by a key the hub does not know.
    Foreign,
    /// Absent, or not a string.
    Other(Option<Value>),
}

fn claims(partner_id: String) -> impl Strategy<Value = Value> {
    let t = t0().unix_seconds();
    let member = |s: BoxedStrategy<Value>| prop_oneof![1 => Just(None), 4 => s.prop_map(Some), 1 => any_json().prop_map(Some)];
    (
        member(
            prop::sample::select(vec![HUB, "https://evil.example", ""])
                .prop_map(Value::from)
                .boxed(),
        ),
        member(
            prop_oneof![
                Just(Value::from(partner_id)),
                Just(json!(uuid::Uuid::now_v7().to_string())),
                "\\PC{0,12}".prop_map(Value::from),
            ]
            .boxed(),
        ),
        member(
            prop_oneof![
                (-400i64..400).prop_map(move |d| json!(t + d)),
                any::<i64>().prop_map(Value::from)
            ]
            .boxed(),
        ),
        member(
            prop_oneof![
                (-400i64..400).prop_map(move |d| json!(t + d)),
                any::<i64>().prop_map(Value::from)
            ]
            .boxed(),
        ),
        member("[a-z0-9-]{0,12}".prop_map(Value::from).boxed()),
        member(
            prop::collection::vec(
                prop::sample::select(vec!["data_recipient", "admin", "offer_partner", "x"]),
                0..3,
            )
            .prop_map(|v| json!(v))
            .boxed(),
        ),
        member(
            prop::sample::select(vec![
                "partner:read data:read",
                "admin",
                "",
                "partner:read  admin:clients",
            ])
            .prop_map(Value::from)
            .boxed(),
        ),
        member(
            prop::collection::vec(
                prop::sample::select(vec![
                    CALLBACK,
                    "https://evil.example/cb",
                    "javascript:x",
                    "",
                ]),
                0..3,
            )
            .prop_map(|v| json!(v))
            .boxed(),
        ),
    )
        .prop_map(
            |(iss, software_id, iat, exp, jti, roles, scope, redirect_uris)| {
                let mut claims = serde_json::Map::new();
                for (name, value) in [
                    ("iss", iss),
                    ("software_id", software_id),
                    ("iat", iat),
                    ("exp", exp),
                    ("jti", jti),
                    ("roles", roles),
                    ("scope", scope),
                    ("redirect_uris", redirect_uris),
                ] {
                    if let Some(v) = value {
                        claims.insert(name.to_owned(), v);
                    }
                }
                Value::Object(claims)
            },
        )
}

fn statements(partner_id: String) -> impl Strategy<Value = Statement> {
    prop_oneof![
        1 => Just(Statement::Real),
        2 => "\\PC{0,120}".prop_map(Statement::Raw),
        3 => (any::<usize>(), 0x20u8..0x7f).prop_map(|(i, b)| Statement::Mutated(i, b)),
        4 => claims(partner_id).prop_map(Statement::HubSigned),
        1 => Just(Statement::Foreign),
        1 => prop::option::of(any_json()).prop_map(Statement::Other),
    ]
}

/// Client metadata: absent, usual, or anything.
fn metadatas() -> impl Strategy<Value = serde_json::Map<String, Value>> {
    let member = |s: BoxedStrategy<Value>| prop_oneof![2 => Just(None), 2 => s.prop_map(Some), 1 => any_json().prop_map(Some)];
    (
        member(
            prop::sample::select(vec!["client_secret_basic", "private_key_jwt", "none"])
                .prop_map(Value::from)
                .boxed(),
        ),
        member(Just(json!([CALLBACK])).boxed()),
        member(Just(Value::from("partner:read")).boxed()),
        member(Just(json!(["client_credentials"])).boxed()),
    )
        .prop_map(|(method, uris, scope, grants)| {
            let mut m = serde_json::Map::new();
            for (name, value) in [
                ("token_endpoint_auth_method", method),
                ("redirect_uris", uris),
                ("scope", scope),
                ("grant_types", grants),
            ] {
                if let Some(v) = value {
                    m.insert(name.to_owned(), v);
                }
            }
            m
        })
}

const RFC_7591_ERRORS: &[&str] = &[
    "invalid_software_statement",
    "unapproved_software_statement",
    "invalid_client_metadata",
    "invalid_redirect_uri",
];

#[test]
fn any_software_statement_is_refused_with_an_rfc_7591_error_never_5xx() {
    let system = actix_web::rt::System::new();
    let hub = Hub::new();
    let partner_id = system.block_on(hub.approved_partner());
    let real = hub.statement(&partner_id);
    let foreign = SigningKey::generate(SigningAlgorithm::Es256, t0(), t0()).unwrap();
    proptest!(config(128), |(s in statements(partner_id.clone()), metadata in metadatas())| {
        let statement = match &s {
            Statement::Real => Some(Value::from(real.clone())),
            Statement::Raw(raw) => Some(Value::from(raw.clone())),
            Statement::Mutated(i, b) => {
                let mut bytes = real.clone().into_bytes();
                let i = i % bytes.len();
                bytes[i] = if bytes[i] == *b { b'#' } else { *b };
                Some(Value::from(String::from_utf8(bytes).unwrap()))
            }
            Statement::HubSigned(claims) => {
                let key = hub.ring.signing_key(hub.now()).unwrap();
                let header = json!({"alg": key.algorithm().as_str(), "typ": "software-statement+jwt", "kid": key.kid()});
                Some(Value::from(signed(&key, &header, claims)))
            }
            Statement::Foreign => {
                let (header, claims) = ecohub_jose::testing::parts(&real);
                let mut header = header;
                header["kid"] = json!(foreign.kid());
                Some(Value::from(signed(&foreign, &header, &claims)))
            }
            Statement::Other(v) => v.clone(),
        };
        let mut body = metadata;
        if let Some(statement) = statement {
            body.insert("software_statement".to_owned(), statement);
        }
        let reply = system.block_on(hub.register(Value::Object(body.clone())));
        let status = reply.status.as_u16();
        prop_assert!(status < 500, "{:?} answered {}: {}", s, status, reply.body);
        if status == 201 {
            // Only a statement the hub signed for the approved partner registers.
            match &s {
                Statement::Real => {}
                Statement::HubSigned(claims) => {
                    prop_assert_eq!(&claims["software_id"], &json!(partner_id));
                    prop_assert_eq!(&claims["iss"], &json!(HUB));
                }
                other => return Err(TestCaseError::fail(format!("{other:?} registered a client"))),
            }
            prop_assert_eq!(&reply.body["software_id"], &json!(partner_id));
        } else {
            prop_assert_eq!(status, 400, "{}", reply.body);
            prop_assert!(
                RFC_7591_ERRORS.contains(&reply.error()),
                "{:?}: {}", s, reply.body
            );
        }
    });
}
