//! The built-in customer directory and sessions on the real store: unique usernames across
//! instances, listing without secrets, no personal data in stream names, sessions valid on
//! every instance sharing the store and key ring, sign-out effective everywhere.

use std::sync::Arc;

use ecohub_auth::{
    BuiltInDirectory, CustomerAuthenticator, CustomerFailure, CustomerSessionResolver,
};
use ecohub_eventstore::EventFilter;
use ecohub_security::{CustomerSessionError, CustomerSessions};

use super::Hub;

const PASSWORD: &str = "correct horse battery";

#[actix_web::test]
async fn usernames_are_unique_across_instances_and_case() {
    let hub = Hub::new();
    let one = BuiltInDirectory::new(hub.store.clone());
    let two = BuiltInDirectory::new(hub.store.clone());
    let (a, b) = tokio::join!(
        one.add("Bob", "Bob", PASSWORD, hub.now(), "system:test"),
        two.add("bob", "Robert", PASSWORD, hub.now(), "system:test"),
    );
    assert_eq!(
        [a.is_ok(), b.is_ok()].iter().filter(|ok| **ok).count(),
        1,
        "{a:?} {b:?}"
    );
    let loser = if a.is_ok() { b } else { a };
    assert!(matches!(loser, Err(CustomerFailure::UsernameTaken)));
    assert!(matches!(
        one.add("carol", "Carol", "short", hub.now(), "system:test")
            .await,
        Err(CustomerFailure::Refused(_))
    ));
    let listed = one.list().await.unwrap();
    assert_eq!(listed.len(), 1);
    let json = serde_json::to_string(&listed).unwrap();
    assert!(!json.contains("argon2") && !json.contains("salt"), "{json}");

    // No personal data in stream names.
    let all = hub
        .store
        .read_all(None, &EventFilter::all(), 1000)
        .await
        .unwrap();
    assert!(all.iter().all(|e| !e.stream.to_lowercase().contains("bob")));
    assert!(all.iter().any(|e| e.stream.starts_with("username-")));
}

#[actix_web::test]
async fn credentials_are_checked_without_saying_which_was_wrong() {
    let hub = Hub::new();
    let directory = BuiltInDirectory::new(hub.store.clone());
    let added = directory
        .add("dave", "Dave", PASSWORD, hub.now(), "system:test")
        .await
        .unwrap();
    let found = directory.authenticate("DAVE", PASSWORD).await.unwrap();
    assert_eq!(found.customer_id, added.customer_id);
    assert_eq!(
        found.pairwise_id("partner-1"),
        ecohub_auth::pairwise_id(&found.pairwise_salt, "partner-1")
    );
    for (user, password) in [("dave", "wrong password"), ("nobody", PASSWORD), ("x", "y")] {
        assert!(matches!(
            directory.authenticate(user, password).await,
            Err(CustomerFailure::BadCredentials)
        ));
    }
}

#[actix_web::test]
async fn sessions_work_on_every_instance_and_sign_out_ends_them_everywhere() {
    let hub = Hub::new();
    let directory = BuiltInDirectory::new(hub.store.clone());
    let added = directory
        .add("erin", "Erin", PASSWORD, hub.now(), "system:test")
        .await
        .unwrap();
    // Two instances: same store and key ring.
    let other = ecohub_auth::AuthState::new(
        hub.store.clone(),
        hub.clock.clone(),
        hub.state.settings.clone(),
        ecohub_auth::AuthPorts {
            ring: hub.ring.clone(),
            totp_keys: hub.state.totp_keys.clone(),
            consents: None,
        },
    );
    let here = CustomerSessionResolver::from_state(&hub.state);
    let there: Arc<dyn CustomerSessions> = Arc::new(CustomerSessionResolver::from_state(&other));
    let (cookie, claims) = ecohub_auth::application::customers::start_session(
        &hub.ring,
        &hub.state.settings.issuer,
        &added.customer_id,
        hub.now(),
    )
    .unwrap();
    let customer = there.resolve(&cookie).await.unwrap();
    assert_eq!(customer.customer_id, added.customer_id);
    assert_eq!(customer.display_name, "Erin");
    assert_eq!(customer.csrf_token, claims.csrf);
    assert!(there.resolve("garbage").await.is_err());

    ecohub_auth::application::customers::end_session(hub.store.as_ref(), &claims, hub.now())
        .await
        .unwrap();
    assert!(matches!(
        there.resolve(&cookie).await,
        Err(CustomerSessionError::Invalid(_))
    ));
    assert!(here.resolve_at(&cookie, hub.now()).await.is_err());

    // Expired after 30 minutes.
    let (fresh, _) = ecohub_auth::application::customers::start_session(
        &hub.ring,
        &hub.state.settings.issuer,
        &added.customer_id,
        hub.now(),
    )
    .unwrap();
    assert!(here.resolve_at(&fresh, hub.now()).await.is_ok());
    let later = hub.now().plus(ecohub_auth::SESSION_LIFETIME);
    assert!(here.resolve_at(&fresh, later).await.is_err());
}

/// A customer API route as other services write them: the `CustomerSession` extractor and
/// the CSRF header on state-changing calls.
async fn whoami(session: ecohub_security::CustomerSession) -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok().json(serde_json::json!({
        "customer_id": session.customer.customer_id,
        "display_name": session.customer.display_name,
    }))
}

async fn change(
    req: actix_web::HttpRequest,
    session: ecohub_security::CustomerSession,
) -> Result<actix_web::HttpResponse, CustomerSessionError> {
    session.check_csrf_header(&req)?;
    Ok(actix_web::HttpResponse::NoContent().finish())
}

#[actix_web::test]
async fn the_session_resolver_serves_the_customer_session_extractor() {
    use actix_web::{App, test, web};
    let hub = Hub::new();
    let directory = BuiltInDirectory::new(hub.store.clone());
    let added = directory
        .add("frank", "Frank", PASSWORD, hub.now(), "system:test")
        .await
        .unwrap();
    let sessions: ecohub_security::SharedCustomerSessions =
        Arc::new(CustomerSessionResolver::from_state(&hub.state));
    let app = test::init_service(
        App::new()
            .app_data(web::Data::new(sessions))
            .route("/me", web::get().to(whoami))
            .route("/me", web::post().to(change)),
    )
    .await;
    let (cookie, claims) = ecohub_auth::application::customers::start_session(
        &hub.ring,
        &hub.state.settings.issuer,
        &added.customer_id,
        hub.now(),
    )
    .unwrap();
    let cookie_header = format!("{}={cookie}", ecohub_security::CUSTOMER_SESSION_COOKIE);
    let res = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/me")
            .insert_header(("cookie", cookie_header.clone()))
            .to_request(),
    )
    .await;
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = test::read_body_json(res).await;
    assert_eq!(body["customer_id"], added.customer_id);
    let res = test::call_service(&app, test::TestRequest::get().uri("/me").to_request()).await;
    assert_eq!(res.status(), 401);
    let res = test::call_service(
        &app,
        test::TestRequest::post()
            .uri("/me")
            .insert_header(("cookie", cookie_header.clone()))
            .to_request(),
    )
    .await;
    assert_eq!(res.status(), 403);
    let res = test::call_service(
        &app,
        test::TestRequest::post()
            .uri("/me")
            .insert_header(("cookie", cookie_header))
            .insert_header((ecohub_security::CSRF_HEADER, claims.csrf))
            .to_request(),
    )
    .await;
    assert_eq!(res.status(), 204);
}
