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
