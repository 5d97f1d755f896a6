use std::sync::Mutex;

use actix_web::{App, HttpResponse, test, web};
use serde_json::Value;

use super::*;

/// Accepts `admin-token`, `partner-token`; refuses everything else; records what it saw.
#[derive(Default)]
struct FakeVerifier {
    seen: Mutex<Vec<PresentedToken>>,
}

#[async_trait(?Send)]
impl AccessTokenVerifier for FakeVerifier {
    async fn verify(&self, presented: &PresentedToken) -> Result<Principal, AuthError> {
        self.seen.lock().unwrap().push(presented.clone());
        let scopes: &[&str] = match presented.token.as_str() {
            "admin-token" => &["admin"],
            "partner-token" => &["partner:read"],
            "bound-token" if presented.dpop_proof.is_none() => {
                return Err(AuthError::InvalidDpopProof("missing".into()));
            }
            "bound-token" => &["partner:read"],
            "down" => return Err(AuthError::Unavailable),
            _ => return Err(AuthError::InvalidToken("unknown".into())),
        };
        Ok(Principal {
            client_id: "c1".into(),
            subject: "c1".into(),
            partner_id: None,
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            token_id: "jti".into(),
            consent_id: None,
            staff_id: None,
        })
    }
}

async fn admin_only(auth: Authenticated<AdminScope>) -> HttpResponse {
    HttpResponse::Ok().body(auth.principal().client_id.clone())
}

async fn call(
    verifier: Option<Arc<FakeVerifier>>,
    headers: &[(&str, &str)],
) -> (u16, Option<String>, Value) {
    let mut app = App::new().route("/admin/things", web::get().to(admin_only));
    if let Some(v) = verifier {
        let shared: SharedVerifier = v;
        app = app.app_data(web::Data::new(shared));
    }
    let app = test::init_service(app).await;
    let mut req = test::TestRequest::get().uri("/admin/things?x=1");
    for (k, v) in headers {
        req = req.insert_header((*k, *v));
    }
    let res = test::call_service(&app, req.to_request()).await;
    let status = res.status().as_u16();
    let challenge = res
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = test::read_body(res).await;
    let json = serde_json::from_slice(&body).unwrap_or(Value::Null);
    (status, challenge, json)
}

#[actix_web::test]
async fn a_token_with_the_scope_reaches_the_handler() {
    let verifier = Arc::new(FakeVerifier::default());
    let (status, _, _) = call(
        Some(verifier.clone()),
        &[("authorization", "Bearer admin-token")],
    )
    .await;
    assert_eq!(status, 200);
    let seen = verifier.seen.lock().unwrap();
    assert_eq!(seen[0].method, "GET");
    assert!(
        seen[0].uri.ends_with("/admin/things"),
        "htu has no query: {}",
        seen[0].uri
    );
    assert!(!seen[0].dpop_scheme);
}

#[actix_web::test]
async fn refusals_follow_rfc_6750() {
    let v = || Some(Arc::new(FakeVerifier::default()));
    let (status, challenge, body) = call(v(), &[]).await;
    assert_eq!(
        (status, challenge.as_deref()),
        (401, Some("Bearer realm=\"ecohub\""))
    );
    assert_eq!(body["code"], "unauthorized");

    let (status, challenge, body) = call(v(), &[("authorization", "Bearer forged")]).await;
    assert_eq!(status, 401);
    assert_eq!(
        challenge.unwrap(),
        "Bearer realm=\"ecohub\", error=\"invalid_token\""
    );
    assert_eq!(body["code"], "invalid_token");
    assert_eq!(body["detail"], "the access token is not valid", "no oracle");

    let (status, challenge, body) = call(v(), &[("authorization", "Bearer partner-token")]).await;
    assert_eq!(status, 403);
    assert!(
        challenge
            .unwrap()
            .contains("error=\"insufficient_scope\", scope=\"admin\"")
    );
    assert_eq!(body["code"], "insufficient_scope");

    let (status, _, body) = call(v(), &[("authorization", "Basic YTpi")]).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("invalid_token"))
    );

    let (status, _, body) = call(v(), &[("authorization", "Bearer down")]).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (503, Some("service_unavailable"))
    );
}

#[actix_web::test]
async fn dpop_tokens_get_dpop_challenges_and_need_exactly_one_proof() {
    let v = || Some(Arc::new(FakeVerifier::default()));
    let (status, challenge, body) = call(v(), &[("authorization", "DPoP bound-token")]).await;
    assert_eq!(status, 401);
    assert!(
        challenge
            .unwrap()
            .starts_with("DPoP realm=\"ecohub\", error=\"invalid_dpop_proof\"")
    );
    assert_eq!(body["code"], "invalid_dpop_proof");

    let verifier = Arc::new(FakeVerifier::default());
    let (status, _, _) = call(
        Some(verifier.clone()),
        &[
            ("authorization", "DPoP bound-token"),
            ("dpop", "proof.jwt.sig"),
        ],
    )
    .await;
    assert_eq!(status, 403, "valid proof, but partner:read is not admin");
    assert_eq!(
        verifier.seen.lock().unwrap()[0].dpop_proof.as_deref(),
        Some("proof.jwt.sig")
    );

    let (status, challenge, _) = call(v(), &[("authorization", "DPoP forged")]).await;
    assert_eq!(status, 401);
    assert!(challenge.unwrap().contains("algs=\"ES256 PS256 EdDSA\""));
}

#[actix_web::test]
async fn without_a_verifier_protected_routes_fail_closed() {
    let (status, _, body) = call(None, &[("authorization", "Bearer admin-token")]).await;
    assert_eq!(status, 503);
    assert_eq!(body["code"], "service_unavailable");
}

/// Any `Authorization` and `DPoP` headers (schemes in any case, extra spaces, any visible
/// ASCII or opaque bytes, several proofs) are refused with 401 or 403 and a challenge, never
/// a 5xx or a panic; only a well-formed admin token gets through. 256 cases; for a longer run:
/// `PROPTEST_CASES=20000 cargo test -p ecohub-security any_authorization_header`.
/// (`test` alone would name actix-web's module imported above.)
#[core::prelude::v1::test]
fn any_authorization_header_is_refused_with_a_challenge_unless_it_carries_the_admin_token() {
    use actix_web::http::header::HeaderValue;
    use proptest::prelude::*;

    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    let value = || {
        prop_oneof![
            3 => "[ -~]{0,40}".prop_map(|s| HeaderValue::from_str(&s).unwrap()),
            1 => prop::collection::vec(prop_oneof![0x20u8..0x7f, 0x80u8..=0xff], 0..40)
                .prop_map(|b| HeaderValue::from_bytes(&b).unwrap()),
        ]
    };
    let scheme = prop_oneof![
        prop::sample::select(vec![
            "Bearer", "bearer", "BEARER", "DPoP", "dpop", "Basic", ""
        ]),
        Just("Bearer\t"),
    ];
    let token = prop_oneof![
        prop::sample::select(vec![
            "admin-token",
            "partner-token",
            "bound-token",
            "",
            " admin-token "
        ])
        .prop_map(str::to_owned),
        "[ -~]{0,20}",
    ];
    let authorization = prop_oneof![
        4 => (scheme, prop::sample::select(vec![" ", "  ", ""]), token)
            .prop_map(|(s, sep, t)| Some(HeaderValue::from_str(&format!("{s}{sep}{t}")).unwrap())),
        1 => value().prop_map(Some),
        1 => Just(None),
    ];
    let system = actix_web::rt::System::new();
    let config = proptest::test_runner::Config {
        cases,
        failure_persistence: None,
        ..Default::default()
    };
    proptest!(config, |(authorization in authorization, proofs in prop::collection::vec(value(), 0..3))| {
        let (status, challenge) = system.block_on(async {
            let verifier = Arc::new(FakeVerifier::default());
            let shared: SharedVerifier = verifier;
            let app = test::init_service(
                App::new()
                    .app_data(web::Data::new(shared))
                    .route("/admin/things", web::get().to(admin_only)),
            )
            .await;
            let mut req = test::TestRequest::get().uri("/admin/things");
            if let Some(a) = authorization.clone() {
                req = req.insert_header(("authorization", a));
            }
            for p in &proofs {
                req = req.append_header(("dpop", p.clone()));
            }
            let res = test::call_service(&app, req.to_request()).await;
            let challenge = res.headers().get("www-authenticate").cloned();
            (res.status().as_u16(), challenge)
        });
        let well_formed = authorization
            .as_ref()
            .and_then(|a| a.to_str().ok())
            .and_then(|a| a.split_once(' '))
            .is_some_and(|(s, t)| {
                (s.eq_ignore_ascii_case("bearer") || s.eq_ignore_ascii_case("dpop"))
                    && t.trim() == "admin-token"
            });
        if status == 200 {
            prop_assert!(well_formed && proofs.len() <= 1, "{:?} {:?}", authorization, proofs);
        } else {
            prop_assert!(matches!(status, 401 | 403), "{} for {:?} {:?}", status, authorization, proofs);
            prop_assert!(challenge.is_some(), "no challenge for {:?}", authorization);
        }
    });
}
