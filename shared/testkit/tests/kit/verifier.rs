//! `FakeVerifier`: exact tokens, token families by prefix, token ids, and refusals.

use ecohub_security::{AccessTokenVerifier, AuthError, PresentedToken};
use ecohub_testkit::{FakeVerifier, PrincipalExt, principal};

fn presented(token: &str) -> PresentedToken {
    PresentedToken {
        token: token.to_owned(),
        dpop_scheme: false,
        dpop_proof: None,
        method: "GET".into(),
        uri: "/".into(),
    }
}

fn verifier() -> FakeVerifier {
    FakeVerifier::new()
        .token("admin", principal("staff-a", &["admin"]))
        .token("partner:exact", principal("exact-client", &[]))
        .prefixed("partner:", |id| {
            principal(&format!("client-{id}"), &["partner:read"]).partner(id)
        })
        .prefixed("recipient:", |rest| {
            let (partner, consent) = rest.split_once(':').unwrap();
            principal(&format!("client-{partner}"), &["data:read"])
                .partner(partner)
                .subject(&format!("pairwise-{consent}"))
                .consent(consent)
        })
}

#[actix_web::test]
async fn exact_tokens_map_to_their_principal_with_a_token_id() {
    let p = verifier().verify(&presented("admin")).await.unwrap();
    assert_eq!(p.client_id, "staff-a");
    assert_eq!(p.subject, "staff-a");
    assert!(p.has_scope("admin"));
    assert_eq!(p.partner_id, None);
    assert_eq!(p.consent_id, None);
    assert_eq!(p.token_id, "jti-admin");
}

#[actix_web::test]
async fn prefixed_tokens_take_their_parameter_and_exact_tokens_win() {
    let v = verifier();
    let p = v.verify(&presented("partner:p1")).await.unwrap();
    assert_eq!(
        (p.client_id.as_str(), p.partner_id.as_deref()),
        ("client-p1", Some("p1"))
    );
    assert_eq!(p.token_id, "jti-partner:p1");
    let exact = v.verify(&presented("partner:exact")).await.unwrap();
    assert_eq!(exact.client_id, "exact-client");

    let bound = v.verify(&presented("recipient:p2:c9")).await.unwrap();
    assert_eq!(bound.subject, "pairwise-c9");
    assert_eq!(bound.consent_id.as_deref(), Some("c9"));
    assert_eq!(bound.partner_id.as_deref(), Some("p2"));
}

#[actix_web::test]
async fn a_chosen_token_id_is_kept_and_unknown_tokens_are_invalid() {
    let mut p = principal("c", &[]);
    p.token_id = "my-jti".into();
    let v = FakeVerifier::new().token("t", p);
    assert_eq!(v.verify(&presented("t")).await.unwrap().token_id, "my-jti");
    assert!(matches!(
        v.verify(&presented("nope")).await,
        Err(AuthError::InvalidToken(_))
    ));
}
