//! The staff console's sign-in over HTTP on the embedded store (ADR 0023): password and TOTP
//! code (computed here with the person's secret), a code used once, throttling on the staff
//! attempts stream (apart from customers'), the landing page, exact sign-out and disabling,
//! and nothing personal in stream names or metadata.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::test;
use ecohub_auth::application::staff::totp;
use ecohub_auth::application::staff_session::staff_attempts_stream;
use ecohub_auth::domain::{Staff, TotpSecret};
use ecohub_auth::{NewStaff, StaffDirectory};
use ecohub_eventstore::EventFilter;

use super::{Hub, Reply};

pub(super) const PASSWORD: &str = "correct horse battery";

pub(super) fn html(reply: &Reply) -> &str {
    reply.body.as_str().unwrap_or_default()
}

fn set_cookie(reply: &Reply, name: &str) -> Option<String> {
    reply
        .headers
        .get_all("set-cookie")
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix(&format!("{name}=")).map(str::to_owned))
        .map(|rest| rest.split(';').next().unwrap().to_owned())
}

fn input(page: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page.find(&marker).unwrap() + marker.len();
    page[start..].split('"').next().unwrap().to_owned()
}

pub(super) struct Console {
    pub(super) hub: Hub,
    pub(super) secret: TotpSecret,
    pub(super) staff_id: String,
}

/// A hub with Grace (product manager and compliance officer, password [`PASSWORD`], a TOTP
/// second factor whose secret is read back from her provisioning URI).
pub(super) async fn setup() -> Console {
    let hub = Hub::new();
    let added = StaffDirectory::new(hub.store.clone())
        .add(
            NewStaff {
                username: "Grace",
                display_name: "Grace <Hopper>",
                password: PASSWORD,
                roles: &["product_manager".into(), "compliance_officer".into()],
                totp: true,
            },
            &hub.state.totp_keys,
            true,
            hub.now(),
            "system:test",
        )
        .await
        .unwrap();
    let uri = added.totp_provisioning_uri.clone().unwrap();
    let secret = totp_rs::TOTP::from_url(&uri).unwrap().secret;
    Console {
        hub,
        secret: TotpSecret::new(secret).unwrap(),
        staff_id: added.summary.staff_id,
    }
}

impl Console {
    pub(super) fn code(&self) -> String {
        let now = u64::try_from(self.hub.now().unix_seconds()).unwrap();
        totp(&self.secret, "grace").unwrap().generate(now)
    }

    pub(super) async fn attempt(&self, username: &str, password: &str, code: &str) -> Reply {
        let page = self.hub.get("/console/login").await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let pre = set_cookie(&page, "ecohub_console_csrf").unwrap();
        let body = format!(
            "username={}&password={}&code={}&csrf_token={}",
            ecohub_http::percent_encode(username),
            ecohub_http::percent_encode(password),
            code,
            ecohub_http::percent_encode(&input(html(&page), "csrf_token"))
        );
        self.hub
            .send(
                test::TestRequest::post()
                    .uri("/console/login")
                    .insert_header(("content-type", "application/x-www-form-urlencoded"))
                    .insert_header(("cookie", format!("ecohub_console_csrf={pre}")))
                    .set_payload(body),
            )
            .await
    }

    async fn with_session(&self, session: &str, req: test::TestRequest) -> Reply {
        self.hub
            .send(req.insert_header(("cookie", format!("ecohub_staff_session={session}"))))
            .await
    }
}

#[track_caller]
pub(super) fn signed_in(reply: &Reply) -> String {
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    assert_eq!(reply.header("location"), "/console");
    let raw = reply
        .headers
        .get_all("set-cookie")
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("ecohub_staff_session="))
        .unwrap()
        .to_owned();
    assert!(
        raw.contains("HttpOnly") && raw.contains("SameSite=Strict"),
        "{raw}"
    );
    set_cookie(reply, "ecohub_staff_session").unwrap()
}

#[actix_web::test]
async fn a_person_signs_in_with_password_and_code_and_sees_the_console() {
    let c = setup().await;
    let session = signed_in(&c.attempt("GRACE", PASSWORD, &c.code()).await);
    let page = c
        .with_session(&session, test::TestRequest::get().uri("/console"))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let body = html(&page);
    for expected in [
        "Grace &#60;Hopper&#62;",
        "Product manager",
        "Compliance officer",
        "href=\"/console/propositions\"",
        "href=\"/console/compliance/consents\"",
        "<form method=\"post\" action=\"/console/logout\">",
    ] {
        assert!(body.contains(expected), "{expected} missing: {body}");
    }
    assert!(!body.contains("/console/partners"), "{body}");
    assert!(!body.contains("<script"), "{body}");
    assert_eq!(page.header("cache-control"), "no-store");
    // Signed in already: the sign-in page sends to the console.
    let again = c
        .with_session(&session, test::TestRequest::get().uri("/console/login"))
        .await;
    assert_eq!(again.header("location"), "/console");
    // Not signed in: the console sends to the sign-in page.
    let anonymous = c.hub.get("/console").await;
    assert_eq!(anonymous.status, StatusCode::SEE_OTHER);
    assert_eq!(anonymous.header("location"), "/console/login");
}

#[actix_web::test]
async fn wrong_passwords_codes_and_replayed_codes_are_refused_in_words_and_throttled() {
    let c = setup().await;
    let wrong_code = if c.code() == "123456" {
        "654321"
    } else {
        "123456"
    };
    for (password, code) in [
        (PASSWORD, wrong_code),
        ("wrong password", c.code().as_str()),
        (PASSWORD, ""),
    ] {
        let reply = c.attempt("grace", password, code).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.body);
        assert!(html(&reply).contains("Wrong username, password or authentication code."));
        assert!(
            html(&reply).contains("value=\"grace\""),
            "the username is kept"
        );
        assert!(set_cookie(&reply, "ecohub_staff_session").is_none());
    }
    let code = c.code();
    signed_in(&c.attempt("grace", PASSWORD, &code).await);
    let replayed = c.attempt("grace", PASSWORD, &code).await;
    assert_eq!(replayed.status, StatusCode::UNAUTHORIZED);
    assert!(
        html(&replayed).contains("already used"),
        "{}",
        replayed.body
    );
    // The next step's code works.
    c.hub.clock.advance(Duration::from_secs(30));
    signed_in(&c.attempt("grace", PASSWORD, &c.code()).await);
    // Five failures lock the username, before anything is checked.
    for _ in 0..5 {
        c.attempt("grace", "wrong password", "000000").await;
    }
    let locked = c.attempt("grace", PASSWORD, &c.code()).await;
    assert_eq!(
        locked.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        locked.body
    );
    assert!(html(&locked).contains("Too many sign-in attempts"));
    assert_eq!(locked.header("retry-after"), "60");
    // A bad form token checks nothing.
    let forged = c
        .hub
        .send(
            test::TestRequest::post()
                .uri("/console/login")
                .insert_header(("content-type", "application/x-www-form-urlencoded"))
                .set_payload(format!(
                    "username=grace&password={PASSWORD}&code=1&csrf_token=x"
                )),
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
}

#[actix_web::test]
async fn sign_out_and_disabling_end_the_session_at_once_and_nothing_personal_is_stored_in_names() {
    let c = setup().await;
    let session = signed_in(&c.attempt("grace", PASSWORD, &c.code()).await);
    let page = c
        .with_session(&session, test::TestRequest::get().uri("/console"))
        .await;
    let csrf = input(html(&page), "csrf_token");
    let forged = c
        .with_session(
            &session,
            test::TestRequest::post()
                .uri("/console/logout")
                .insert_header(("content-type", "application/x-www-form-urlencoded"))
                .set_payload("csrf_token=wrong"),
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let out = c
        .with_session(
            &session,
            test::TestRequest::post()
                .uri("/console/logout")
                .insert_header(("content-type", "application/x-www-form-urlencoded"))
                .set_payload(format!("csrf_token={}", ecohub_http::percent_encode(&csrf))),
        )
        .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(out.header("location"), "/console/login");
    let after = c
        .with_session(&session, test::TestRequest::get().uri("/console"))
        .await;
    assert_eq!(after.header("location"), "/console/login");

    c.hub.clock.advance(Duration::from_secs(30));
    let session = signed_in(&c.attempt("grace", PASSWORD, &c.code()).await);
    StaffDirectory::new(c.hub.store.clone())
        .disable("grace", c.hub.now(), "system:test")
        .await
        .unwrap();
    let after = c
        .with_session(&session, test::TestRequest::get().uri("/console"))
        .await;
    assert_eq!(after.header("location"), "/console/login");
    c.hub.clock.advance(Duration::from_secs(30));
    let refused = c.attempt("grace", PASSWORD, &c.code()).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);

    // Stream names and metadata: opaque ids and hashes only (a username with letters no hex
    // digest has).
    let all = c
        .hub
        .store
        .read_all(None, &EventFilter::default(), 10_000)
        .await
        .unwrap();
    for e in &all {
        let metadata = serde_json::to_string(&e.metadata).unwrap();
        for personal in ["grace", "Hopper"] {
            assert!(!e.stream.contains(personal), "{}", e.stream);
            assert!(
                !metadata.to_lowercase().contains(&personal.to_lowercase()),
                "{metadata}"
            );
        }
    }
    assert!(
        all.iter()
            .any(|e| e.stream == format!("staff-{}", c.staff_id))
    );
    assert!(
        all.iter()
            .any(|e| e.stream == staff_attempts_stream("grace"))
    );
    assert!(all.iter().any(|e| e.event_type == "StaffSignedOut"));
    let (staff, _) =
        ecohub_eventstore::load::<Staff>(c.hub.store.as_ref(), &format!("staff-{}", c.staff_id))
            .await
            .unwrap();
    assert!(!staff.is_active());
}

/// Other services' console pages name people through `StaffDirectory::display_names` (ADR
/// 0024): known ids get their display names, in the order asked; malformed and unknown ids are
/// left out.
#[actix_web::test]
async fn the_directory_names_people_by_id_for_other_services_pages() {
    let c = setup().await;
    let directory = StaffDirectory::new(c.hub.store.clone());
    let names = directory
        .display_names(&[
            "not-an-id".to_owned(),
            "0190f5c2-0000-7000-8000-000000000009".to_owned(),
            c.staff_id.clone(),
        ])
        .await
        .unwrap();
    assert_eq!(
        names,
        vec![(c.staff_id.clone(), "Grace <Hopper>".to_owned())]
    );
    assert!(directory.display_names(&[]).await.unwrap().is_empty());
}

/// A partner's OAuth clients on the console (ADR 0024): a partnership manager sees each client
/// the partner registered; without a session, a redirect to sign in; other roles and bad
/// addresses refused in words.
#[actix_web::test]
async fn a_partnership_manager_sees_a_partners_oauth_clients() {
    let c = setup().await;
    StaffDirectory::new(c.hub.store.clone())
        .add(
            NewStaff {
                username: "ada",
                display_name: "Ada Lovelace",
                password: PASSWORD,
                roles: &["partnership_manager".into()],
                totp: false,
            },
            &c.hub.state.totp_keys,
            false,
            c.hub.now(),
            "system:test",
        )
        .await
        .unwrap();
    let ada = signed_in(&c.attempt("ada", PASSWORD, "").await);
    let client = c.hub.basic_client().await;
    let uri = format!("/console/partners/{}/clients", client.partner_id);

    let page = c
        .with_session(&ada, test::TestRequest::get().uri(&uri))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let body = html(&page);
    for expected in [
        "Signed in as <strong>Ada Lovelace</strong>",
        client.client_id.as_str(),
        "client secret",
        "client credentials",
        ">active<",
        &format!("href=\"/console/partners/{}\"", client.partner_id),
    ] {
        assert!(body.contains(expected), "{expected} missing: {body}");
    }
    assert!(!body.contains(&client.secret), "{body}");

    // Another partner: none, and what happens next.
    let other = c
        .with_session(
            &ada,
            test::TestRequest::get()
                .uri("/console/partners/0190f5c2-8b1e-7c3a-9d4f-2a6b8c0e1f35/clients"),
        )
        .await;
    assert_eq!(other.status, StatusCode::OK);
    assert!(html(&other).contains("The partner has registered no client."));

    let anonymous = c.hub.send(test::TestRequest::get().uri(&uri)).await;
    assert_eq!(anonymous.status, StatusCode::SEE_OTHER);
    assert_eq!(anonymous.header("location"), "/console/login");
    c.hub.clock.advance(Duration::from_secs(30));
    let grace = signed_in(&c.attempt("grace", PASSWORD, &c.code()).await);
    let refused = c
        .with_session(&grace, test::TestRequest::get().uri(&uri))
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(html(&refused).contains("partnership managers"));
    let bad = c
        .with_session(
            &ada,
            test::TestRequest::get().uri("/console/partners/nope/clients"),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}
