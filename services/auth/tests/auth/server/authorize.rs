//! The authorisation-code flow over HTTP: PAR → sign-in through the real pages with cookies →
//! consent page → decision → code → tokens → refresh rotation and reuse; every bad input
//! refused with nothing written; consent-bound tokens in the verifier.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::test;
use ecohub_auth::{BuiltInDirectory, pairwise_id};
use ecohub_eventstore::Position;
use ecohub_jose::{SigningAlgorithm, SigningKey};
use serde_json::{Value, json};

use super::{CALLBACK, HUB, Hub, JwtClient, Reply, t0};

/// Parameters to change in a pushed request (`None` removes one).
type Change<'a> = Vec<(&'a str, Option<&'a str>)>;

const PASSWORD: &str = "correct horse battery";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

fn challenge() -> String {
    ecohub_auth::application::code_grant::s256(VERIFIER)
}

fn enc(s: &str) -> String {
    ecohub_http::percent_encode(s)
}

fn form(pairs: &[(&str, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The value of the `<input name=…>` in an HTML page, unescaped as a browser would.
fn input(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in {html}"))
        + marker.len();
    html[start..]
        .split('"')
        .next()
        .unwrap()
        .replace("&#60;", "<")
        .replace("&#62;", ">")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&#38;", "&")
}

/// The value of cookie `name` set by a response.
fn set_cookie(reply: &Reply, name: &str) -> Option<String> {
    reply
        .headers
        .get_all("set-cookie")
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix(&format!("{name}=")).map(str::to_owned))
        .map(|rest| rest.split(';').next().unwrap().to_owned())
}

fn html(reply: &Reply) -> &str {
    reply.body.as_str().unwrap_or_default()
}

/// The query parameters of a redirect's `Location`.
fn location_params(reply: &Reply) -> Vec<(String, String)> {
    let location = reply.header("location");
    let query = location.split_once('?').map(|(_, q)| q).unwrap_or_default();
    actix_web::web::Query::<Vec<(String, String)>>::from_query(query)
        .unwrap()
        .into_inner()
}

fn param(params: &[(String, String)], name: &str) -> Option<String> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
}

struct Setup {
    hub: Hub,
    client: JwtClient,
    consent: String,
    salt: String,
}

async fn code_client(hub: &Hub) -> JwtClient {
    let partner_id = hub.approved_partner().await;
    let key = SigningKey::generate(SigningAlgorithm::Es256, t0(), t0()).unwrap();
    let reply = hub
        .register(json!({
            "software_statement": hub.statement(&partner_id),
            "token_endpoint_auth_method": "private_key_jwt",
            "jwks": { "keys": [key.public_jwk()] },
            "scope": "partner:read data:read",
            "grant_types": ["authorization_code", "refresh_token"],
            "redirect_uris": [CALLBACK],
        }))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    JwtClient {
        partner_id,
        client_id: reply.body["client_id"].as_str().unwrap().to_owned(),
        key,
        registration_access_token: String::new(),
    }
}

async fn setup() -> Setup {
    setup_with(|_| {}, Duration::from_secs(30 * 24 * 3600)).await
}

async fn setup_with(
    adjust: impl FnOnce(&mut ecohub_auth::AuthSettings),
    consent_lifetime: Duration,
) -> Setup {
    let hub = Hub::with(adjust);
    let client = code_client(&hub).await;
    let consent = hub
        .consents
        .add_pending(&client.partner_id, hub.now().plus(consent_lifetime));
    let directory = BuiltInDirectory::new(hub.store.clone());
    let alice = directory
        .add(
            "Alice",
            "Alice <Liddell>",
            PASSWORD,
            hub.now(),
            "system:test",
        )
        .await
        .unwrap();
    let customer = ecohub_auth::CustomerAuthenticator::customer(&directory, &alice.customer_id)
        .await
        .unwrap()
        .unwrap();
    Setup {
        hub,
        client,
        consent,
        salt: customer.pairwise_salt,
    }
}

impl Setup {
    fn par_params(&self) -> Vec<(&'static str, String)> {
        vec![
            ("response_type", "code".into()),
            ("client_id", self.client.client_id.clone()),
            ("redirect_uri", CALLBACK.into()),
            ("scope", "partner:read data:read".into()),
            ("state", "st<1>".into()),
            ("code_challenge", challenge()),
            ("code_challenge_method", "S256".into()),
            (
                "authorization_details",
                json!([{ "type": "ecohub_consent", "consent_id": self.consent }]).to_string(),
            ),
        ]
    }

    async fn par_with(&self, params: &[(&str, String)]) -> Reply {
        let body = format!("{}&{}", self.client.auth_params(), form(params));
        self.hub
            .send(
                test::TestRequest::post()
                    .uri("/par")
                    .insert_header(("content-type", "application/x-www-form-urlencoded"))
                    .set_payload(body),
            )
            .await
    }

    /// PAR with the default parameters changed by `change` (`None` removes one).
    async fn par_changed(&self, change: &[(&str, Option<&str>)]) -> Reply {
        let mut params = self.par_params();
        for (name, value) in change {
            params.retain(|(n, _)| n != name);
            if let Some(v) = value {
                params.push((name, (*v).to_owned()));
            }
        }
        self.par_with(&params).await
    }

    async fn par(&self) -> String {
        let reply = self.par_with(&self.par_params()).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        assert_eq!(reply.body["expires_in"], 90);
        assert_eq!(reply.header("cache-control"), "no-store");
        let uri = reply.body["request_uri"].as_str().unwrap().to_owned();
        assert!(uri.starts_with("urn:ietf:params:oauth:request_uri:"));
        uri
    }

    fn authorize_path(&self, request_uri: &str) -> String {
        format!(
            "/authorize?client_id={}&request_uri={}",
            self.client.client_id,
            enc(request_uri)
        )
    }

    async fn get(&self, path: &str, cookie: Option<&str>) -> Reply {
        let mut req = test::TestRequest::get().uri(path);
        if let Some(c) = cookie {
            req = req.insert_header(("cookie", c.to_owned()));
        }
        self.hub.send(req).await
    }

    async fn post_form(&self, path: &str, body: String, cookie: Option<&str>) -> Reply {
        let mut req = test::TestRequest::post()
            .uri(path)
            .insert_header(("content-type", "application/x-www-form-urlencoded"))
            .set_payload(body);
        if let Some(c) = cookie {
            req = req.insert_header(("cookie", c.to_owned()));
        }
        self.hub.send(req).await
    }

    /// Signs in through the real pages, starting from `return_to`; returns the session
    /// cookie (`ecohub_session=…`).
    async fn sign_in(&self, return_to: &str) -> String {
        let page = self
            .get(&format!("/login?return_to={}", enc(return_to)), None)
            .await;
        assert_eq!(page.status, StatusCode::OK);
        let pre = set_cookie(&page, "ecohub_login_csrf").expect("login csrf cookie");
        let reply = self
            .post_form(
                "/login",
                form(&[
                    ("username", "alice".into()),
                    ("password", PASSWORD.into()),
                    ("csrf_token", input(html(&page), "csrf_token")),
                    ("return_to", input(html(&page), "return_to")),
                ]),
                Some(&format!("ecohub_login_csrf={pre}")),
            )
            .await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
        assert_eq!(reply.header("location"), return_to);
        let set = reply
            .headers
            .get_all("set-cookie")
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with("ecohub_session="))
            .unwrap()
            .to_owned();
        assert!(set.contains("HttpOnly") && set.contains("SameSite=Lax") && set.contains("Path=/"));
        format!(
            "ecohub_session={}",
            set_cookie(&reply, "ecohub_session").unwrap()
        )
    }

    /// The consent page for `request_uri`, signed in with `cookie`; returns the CSRF token.
    async fn consent_page(&self, request_uri: &str, cookie: &str) -> String {
        let page = self
            .get(&self.authorize_path(request_uri), Some(cookie))
            .await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        input(html(&page), "csrf_token")
    }

    async fn decide(&self, request_uri: &str, cookie: &str, csrf: &str, decision: &str) -> Reply {
        self.post_form(
            "/authorize/decision",
            form(&[
                ("client_id", self.client.client_id.clone()),
                ("request_uri", request_uri.into()),
                ("decision", decision.into()),
                ("csrf_token", csrf.into()),
            ]),
            Some(cookie),
        )
        .await
    }

    /// PAR, sign-in, approval: the code.
    async fn code(&self) -> String {
        let request_uri = self.par().await;
        let cookie = self.sign_in(&self.authorize_path(&request_uri)).await;
        let csrf = self.consent_page(&request_uri, &cookie).await;
        let reply = self.decide(&request_uri, &cookie, &csrf, "approve").await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
        param(&location_params(&reply), "code").unwrap()
    }

    async fn token(&self, params: &[(&str, String)]) -> Reply {
        let body = format!("{}&{}", self.client.auth_params(), form(params));
        self.hub.token(&body, &[]).await
    }

    async fn redeem(&self, code: &str, verifier: &str) -> Reply {
        self.token(&[
            ("grant_type", "authorization_code".into()),
            ("code", code.into()),
            ("redirect_uri", CALLBACK.into()),
            ("code_verifier", verifier.into()),
        ])
        .await
    }

    async fn refresh(&self, refresh_token: &str) -> Reply {
        self.token(&[
            ("grant_type", "refresh_token".into()),
            ("refresh_token", refresh_token.into()),
        ])
        .await
    }

    async fn head(&self) -> Option<Position> {
        self.hub.store.head().await.unwrap()
    }
}

#[actix_web::test]
async fn the_whole_flow_from_par_to_refresh_rotation_and_reuse() {
    let s = setup().await;
    let request_uri = s.par().await;

    // Not signed in: to the login page, back to the authorisation request afterwards.
    let here = s.authorize_path(&request_uri);
    let reply = s.get(&here, None).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert_eq!(
        reply.header("location"),
        format!("/login?return_to={}", enc(&here))
    );
    let cookie = s.sign_in(&here).await;

    // The consent page, in plain language, escaped.
    let page = s.get(&here, Some(&cookie)).await;
    assert_eq!(page.status, StatusCode::OK);
    let body = html(&page);
    for text in [
        "TravelCo &#60;GmbH&#62;",
        "Your account names &#38; types",
        "Travel offers that fit your budget",
        "Ecobank",
        "Alice &#60;Liddell&#62;",
        "AwaitingAuthorisation",
        "Approve",
        "Reject",
    ] {
        assert!(body.contains(text), "{text} missing in {body}");
    }
    assert!(!body.contains("<GmbH>"));
    let csrf = input(body, "csrf_token");

    // Approve: a code, the state and the issuer (RFC 9207).
    let reply = s.decide(&request_uri, &cookie, &csrf, "approve").await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert!(
        reply
            .header("location")
            .starts_with(&format!("{CALLBACK}?code="))
    );
    let params = location_params(&reply);
    let code = param(&params, "code").unwrap();
    assert!(code.len() >= 43);
    assert_eq!(param(&params, "state").unwrap(), "st<1>");
    assert_eq!(param(&params, "iss").unwrap(), HUB);
    let pairwise = pairwise_id(&s.salt, &s.client.partner_id);
    let recorded = s.hub.consents.get(&s.consent);
    assert_eq!(recorded.view.status, "Authorised");
    let customer = recorded.customer.unwrap();
    assert_eq!(customer.pairwise_id, pairwise);
    assert_eq!(
        recorded.actor.unwrap(),
        format!("customer:{}", customer.customer_id)
    );

    // The code: a consent-bound token whose subject is the pairwise id, and a refresh token.
    let reply = s.redeem(&code, VERIFIER).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["token_type"], "Bearer");
    assert_eq!(reply.body["scope"], "data:read partner:read");
    let access = reply.body["access_token"].as_str().unwrap().to_owned();
    let refresh1 = reply.body["refresh_token"].as_str().unwrap().to_owned();
    let claims =
        ecohub_jose::verify_access_token(&access, s.hub.ring.as_ref(), HUB, HUB, s.hub.now())
            .unwrap();
    assert_eq!(claims.sub, pairwise);
    assert_eq!(claims.consent_id.as_deref(), Some(s.consent.as_str()));
    let protected = s.hub.call_protected("Bearer", &access, None).await;
    assert_eq!(protected.status, StatusCode::OK, "{}", protected.body);
    assert_eq!(protected.body["subject"], pairwise);
    assert_eq!(protected.body["consent_id"], s.consent);

    // Refresh: rotated.
    let reply = s.refresh(&refresh1).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let refresh2 = reply.body["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(refresh1, refresh2);
    let reply = s.refresh(&refresh2).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let refresh3 = reply.body["refresh_token"].as_str().unwrap().to_owned();

    // A rotated-out token is a reuse: refused, and the whole family with it.
    s.refresh(&refresh1)
        .await
        .assert_oauth_error(400, "invalid_grant");
    s.refresh(&refresh3)
        .await
        .assert_oauth_error(400, "invalid_grant");
}

#[actix_web::test]
async fn reject_redirects_with_access_denied_and_the_request_uri_is_spent() {
    let s = setup().await;
    let request_uri = s.par().await;
    let cookie = s.sign_in(&s.authorize_path(&request_uri)).await;
    let csrf = s.consent_page(&request_uri, &cookie).await;
    let reply = s.decide(&request_uri, &cookie, &csrf, "reject").await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    let params = location_params(&reply);
    assert_eq!(param(&params, "error").unwrap(), "access_denied");
    assert_eq!(param(&params, "state").unwrap(), "st<1>");
    assert_eq!(param(&params, "iss").unwrap(), HUB);
    assert!(param(&params, "code").is_none());
    assert_eq!(s.hub.consents.get(&s.consent).view.status, "Rejected");

    // Reused request_uri: an error page, never a redirect, nothing written.
    let head = s.head().await;
    let again = s.decide(&request_uri, &cookie, &csrf, "approve").await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    assert!(again.header("location").is_empty());
    let page = s.get(&s.authorize_path(&request_uri), Some(&cookie)).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(html(&page).contains("already used"));
    assert_eq!(s.head().await, head);
}

#[actix_web::test]
async fn bad_pushed_requests_are_refused_and_nothing_is_written() {
    let s = setup().await;
    let other_partner = s.hub.approved_partner().await;
    let foreign = s
        .hub
        .consents
        .add_pending(&other_partner, s.hub.now().plus(Duration::from_secs(3600)));
    let foreign_details = json!([{ "type": "ecohub_consent", "consent_id": foreign }]).to_string();
    let unknown_details =
        json!([{ "type": "ecohub_consent", "consent_id": uuid::Uuid::now_v7().to_string() }])
            .to_string();
    let two = json!([
        { "type": "ecohub_consent", "consent_id": s.consent },
        { "type": "ecohub_consent", "consent_id": s.consent }
    ])
    .to_string();
    let cases: Vec<(Change<'_>, &str)> = vec![
        (vec![("code_challenge", None)], "invalid_request"),
        (vec![("code_challenge_method", None)], "invalid_request"),
        (
            vec![("code_challenge_method", Some("plain"))],
            "invalid_request",
        ),
        (
            vec![("redirect_uri", Some("https://evil.example/cb"))],
            "invalid_request",
        ),
        (
            vec![("response_type", Some("token"))],
            "unsupported_response_type",
        ),
        (vec![("scope", Some("partner:read admin"))], "invalid_scope"),
        (
            vec![("authorization_details", Some(&unknown_details))],
            "invalid_authorization_details",
        ),
        (
            vec![("authorization_details", Some(&foreign_details))],
            "invalid_authorization_details",
        ),
        (
            vec![("authorization_details", Some(&two))],
            "invalid_authorization_details",
        ),
        (
            vec![("authorization_details", Some("not json"))],
            "invalid_authorization_details",
        ),
        (vec![("authorization_details", None)], "invalid_request"),
        (vec![("request_uri", Some("urn:x"))], "invalid_request"),
    ];
    let head = s.head().await;
    for (change, error) in cases {
        s.par_changed(&change).await.assert_oauth_error(400, error);
    }
    // Only the client assertions' jti markers were appended: no pushed request.
    let filter = ecohub_eventstore::EventFilter::streams(["par-"]);
    let pushed = s.hub.store.read_all(head, &filter, 100).await.unwrap();
    assert!(pushed.is_empty());

    // With client_secret_basic (development), which records nothing to authenticate, the
    // store head does not move at all.
    let reply = s
        .hub
        .register(json!({
            "software_statement": s.hub.statement(&s.client.partner_id),
            "token_endpoint_auth_method": "client_secret_basic",
            "scope": "partner:read data:read",
            "grant_types": ["authorization_code"],
            "redirect_uris": [CALLBACK],
        }))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let basic_id = reply.body["client_id"].as_str().unwrap().to_owned();
    let authorization = super::basic(&basic_id, reply.body["client_secret"].as_str().unwrap());
    let head = s.head().await;
    for change in [
        vec![("code_challenge", None)],
        vec![("code_challenge_method", Some("plain"))],
        vec![("redirect_uri", Some("https://evil.example/cb"))],
        vec![("authorization_details", Some(unknown_details.as_str()))],
        vec![("authorization_details", Some(foreign_details.as_str()))],
    ] {
        let mut params = s.par_params();
        params.retain(|(n, _)| *n != "client_id");
        params.push(("client_id", basic_id.clone()));
        for (name, value) in &change {
            params.retain(|(n, _)| n != name);
            if let Some(v) = value {
                params.push((name, (*v).to_owned()));
            }
        }
        let reply = s
            .hub
            .send(
                test::TestRequest::post()
                    .uri("/par")
                    .insert_header(("content-type", "application/x-www-form-urlencoded"))
                    .insert_header(authorization.clone())
                    .set_payload(form(&params)),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{change:?}: {}",
            reply.body
        );
    }
    assert_eq!(s.head().await, head);

    // A consent no longer pending is refused too.
    let s2 = setup().await;
    s2.hub.consents.set_status_silently(&s2.consent, "Revoked");
    s2.par_changed(&[])
        .await
        .assert_oauth_error(400, "invalid_authorization_details");
}

#[actix_web::test]
async fn pushed_requests_need_a_consent_service_and_an_authenticated_client() {
    let mut s = setup().await;
    // No client authentication.
    let reply = s
        .hub
        .send(
            test::TestRequest::post()
                .uri("/par")
                .insert_header(("content-type", "application/x-www-form-urlencoded"))
                .set_payload(form(&s.par_params())),
        )
        .await;
    reply.assert_oauth_error(401, "invalid_client");
    s.hub.state.consents = None;
    s.par_changed(&[])
        .await
        .assert_oauth_error(503, "temporarily_unavailable");
}

#[actix_web::test]
async fn the_authorize_endpoint_takes_only_client_id_and_request_uri() {
    let s = setup().await;
    let request_uri = s.par().await;
    let cookie = s.sign_in(&s.authorize_path(&request_uri)).await;
    let head = s.head().await;
    for path in [
        format!("{}&scope=admin", s.authorize_path(&request_uri)),
        format!(
            "{}&redirect_uri={}",
            s.authorize_path(&request_uri),
            enc("https://evil.example")
        ),
        format!("/authorize?client_id={}", s.client.client_id),
        format!("/authorize?request_uri={}", enc(&request_uri)),
        s.authorize_path("urn:ietf:params:oauth:request_uri:unknown"),
        format!(
            "/authorize?client_id={}&request_uri={}",
            uuid::Uuid::now_v7(),
            enc(&request_uri)
        ),
    ] {
        for c in [None, Some(cookie.as_str())] {
            let reply = s.get(&path, c).await;
            assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{path}");
            assert!(reply.header("location").is_empty(), "{path}");
            assert!(reply.header("content-type").starts_with("text/html"));
        }
    }
    assert_eq!(s.head().await, head);
}

#[actix_web::test]
async fn an_expired_request_uri_is_refused() {
    let s = setup().await;
    let request_uri = s.par().await;
    let cookie = s.sign_in(&s.authorize_path(&request_uri)).await;
    let csrf = s.consent_page(&request_uri, &cookie).await;
    s.hub.clock.advance(Duration::from_secs(90));
    let head = s.head().await;
    let page = s.get(&s.authorize_path(&request_uri), Some(&cookie)).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(html(&page).contains("expired"));
    let reply = s.decide(&request_uri, &cookie, &csrf, "approve").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(s.head().await, head);
    assert_eq!(
        s.hub.consents.get(&s.consent).view.status,
        "AwaitingAuthorisation"
    );
}

#[actix_web::test]
async fn the_decision_needs_the_session_csrf_token() {
    let s = setup().await;
    let request_uri = s.par().await;
    let cookie = s.sign_in(&s.authorize_path(&request_uri)).await;
    let csrf = s.consent_page(&request_uri, &cookie).await;
    let head = s.head().await;
    for wrong in ["", "not-the-token"] {
        let reply = s.decide(&request_uri, &cookie, wrong, "approve").await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN);
    }
    // No session at all.
    let reply = s
        .post_form(
            "/authorize/decision",
            form(&[
                ("client_id", s.client.client_id.clone()),
                ("request_uri", request_uri.clone()),
                ("decision", "approve".into()),
                ("csrf_token", csrf.clone()),
            ]),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(s.head().await, head);
    assert_eq!(
        s.hub.consents.get(&s.consent).view.status,
        "AwaitingAuthorisation"
    );
    // The right token still works afterwards.
    let reply = s.decide(&request_uri, &cookie, &csrf, "approve").await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
}

#[actix_web::test]
async fn login_needs_its_csrf_token_and_says_nothing_about_which_credential_was_wrong() {
    let s = setup().await;
    let page = s.get("/login?return_to=%2Fauthorize", None).await;
    let pre = set_cookie(&page, "ecohub_login_csrf").unwrap();
    let token = input(html(&page), "csrf_token");
    let head = s.head().await;
    let attempt =
        |user: &'static str, password: &'static str, csrf: String, cookie: Option<String>| {
            let s = &s;
            async move {
                s.post_form(
                    "/login",
                    form(&[
                        ("username", user.into()),
                        ("password", password.into()),
                        ("csrf_token", csrf),
                        ("return_to", "/authorize".into()),
                    ]),
                    cookie.as_deref(),
                )
                .await
            }
        };
    let with_cookie = Some(format!("ecohub_login_csrf={pre}"));
    // Missing or wrong CSRF: 403, no session.
    for (csrf, cookie) in [
        (String::new(), with_cookie.clone()),
        ("forged".to_owned(), with_cookie.clone()),
        (token.clone(), None),
    ] {
        let reply = attempt("alice", PASSWORD, csrf, cookie).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN);
        assert!(set_cookie(&reply, "ecohub_session").is_none());
    }
    assert_eq!(s.head().await, head);
    // Wrong password and unknown user: the same answer.
    let wrong = attempt(
        "alice",
        "wrong password!",
        token.clone(),
        with_cookie.clone(),
    )
    .await;
    let unknown = attempt("mallory", PASSWORD, token.clone(), with_cookie.clone()).await;
    for reply in [&wrong, &unknown] {
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
        assert!(html(reply).contains("Wrong username or password."));
        assert!(set_cookie(reply, "ecohub_session").is_none());
    }
    // Both failures are recorded in their usernames' attempts streams, and only there.
    let written = s
        .hub
        .store
        .read_all(head, &ecohub_eventstore::EventFilter::default(), 10)
        .await
        .unwrap();
    assert_eq!(written.len(), 2);
    assert!(
        written
            .iter()
            .all(|e| e.stream.starts_with("loginattempts-") && e.event_type == "LoginFailed")
    );
    // An absolute return_to is no open redirect.
    let reply = s
        .post_form(
            "/login",
            form(&[
                ("username", "ALICE".into()),
                ("password", PASSWORD.into()),
                ("csrf_token", token),
                ("return_to", "//evil.example/x".into()),
            ]),
            with_cookie.as_deref(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert_eq!(reply.header("location"), "/");
}

#[actix_web::test]
async fn logout_ends_the_session_everywhere() {
    let s = setup().await;
    let request_uri = s.par().await;
    let cookie = s.sign_in(&s.authorize_path(&request_uri)).await;
    let csrf = s.consent_page(&request_uri, &cookie).await;
    let reply = s
        .post_form(
            "/logout",
            form(&[("csrf_token", "wrong".into())]),
            Some(&cookie),
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    let reply = s
        .post_form(
            "/logout",
            form(&[("csrf_token", csrf.clone())]),
            Some(&cookie),
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    // The old cookie no longer works, on any instance (the sign-out is in the store).
    let reply = s.get(&s.authorize_path(&request_uri), Some(&cookie)).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert!(reply.header("location").starts_with("/login"));
    let reply = s.decide(&request_uri, &cookie, &csrf, "approve").await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
}

#[actix_web::test]
async fn codes_are_single_use_and_bound_to_the_verifier_and_redirect_uri() {
    let s = setup().await;
    let code = s.code().await;
    // Wrong verifier, wrong redirect URI: refused, the code not spent.
    let wrong_verifier = "x".repeat(43);
    s.redeem(&code, &wrong_verifier)
        .await
        .assert_oauth_error(400, "invalid_grant");
    s.token(&[
        ("grant_type", "authorization_code".into()),
        ("code", code.clone()),
        ("redirect_uri", "http://127.0.0.1:9000/cb".into()),
        ("code_verifier", VERIFIER.into()),
    ])
    .await
    .assert_oauth_error(400, "invalid_grant");
    s.token(&[
        ("grant_type", "authorization_code".into()),
        ("code", code.clone()),
        ("redirect_uri", CALLBACK.into()),
    ])
    .await
    .assert_oauth_error(400, "invalid_request");
    // Redeemed once.
    let first = s.redeem(&code, VERIFIER).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let access = first.body["access_token"].as_str().unwrap().to_owned();
    let refresh = first.body["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(
        s.hub.call_protected("Bearer", &access, None).await.status,
        StatusCode::OK
    );
    // Reuse: refused, and what the code issued is revoked.
    s.redeem(&code, VERIFIER)
        .await
        .assert_oauth_error(400, "invalid_grant");
    assert_eq!(
        s.hub.call_protected("Bearer", &access, None).await.status,
        StatusCode::UNAUTHORIZED
    );
    s.refresh(&refresh)
        .await
        .assert_oauth_error(400, "invalid_grant");
}

#[actix_web::test]
async fn an_expired_code_is_refused() {
    let s = setup().await;
    let code = s.code().await;
    s.hub.clock.advance(Duration::from_secs(60));
    // The client's assertion is built at t0 and lives 60 s: accept it with its 10 s skew.
    let reply = s.redeem(&code, VERIFIER).await;
    reply.assert_oauth_error(400, "invalid_grant");
    assert!(
        reply.body["error_description"]
            .as_str()
            .unwrap()
            .contains("expired")
    );
}

#[actix_web::test]
async fn refresh_and_introspection_follow_the_consent() {
    let s = setup().await;
    let code = s.code().await;
    let reply = s.redeem(&code, VERIFIER).await;
    let access = reply.body["access_token"].as_str().unwrap().to_owned();
    let refresh = reply.body["refresh_token"].as_str().unwrap().to_owned();
    let active = s.introspect(&access).await;
    assert_eq!(active.body["active"], true, "{}", active.body);
    assert_eq!(active.body["consent_id"], s.consent);
    let active = s.introspect(&refresh).await;
    assert_eq!(active.body["active"], true, "{}", active.body);
    assert_eq!(active.body["consent_id"], s.consent);
    assert_eq!(active.body["scope"], "data:read partner:read");
    s.hub.consents.revoke(&s.consent, s.hub.now()).await;
    assert_eq!(s.introspect(&access).await.body, json!({ "active": false }));
    assert_eq!(
        s.introspect(&refresh).await.body,
        json!({ "active": false })
    );
    s.refresh(&refresh)
        .await
        .assert_oauth_error(400, "invalid_grant");
}

#[actix_web::test]
async fn revoking_a_refresh_token_revokes_its_family() {
    let s = setup().await;
    let code = s.code().await;
    let reply = s.redeem(&code, VERIFIER).await;
    let refresh1 = reply.body["refresh_token"].as_str().unwrap().to_owned();
    let refresh2 = s.refresh(&refresh1).await.body["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(s.revoke(&refresh1).await.status, StatusCode::OK);
    s.refresh(&refresh2)
        .await
        .assert_oauth_error(400, "invalid_grant");
    s.assert_inactive(&refresh2).await;
}

#[actix_web::test]
async fn a_revoked_consent_refuses_the_next_request_even_with_a_warm_cache() {
    let s = setup().await;
    let code = s.code().await;
    let access = s.redeem(&code, VERIFIER).await.body["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    for _ in 0..2 {
        assert_eq!(
            s.hub.call_protected("Bearer", &access, None).await.status,
            StatusCode::OK
        );
    }
    s.hub.consents.revoke(&s.consent, s.hub.now()).await;
    let reply = s.hub.call_protected("Bearer", &access, None).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.body);
}

#[actix_web::test]
async fn a_consent_expiring_by_time_refuses_tokens_without_any_append() {
    let s = setup_with(|_| {}, Duration::from_secs(120)).await;
    let code = s.code().await;
    let reply = s.redeem(&code, VERIFIER).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    // The token never outlives the consent.
    assert_eq!(reply.body["expires_in"], 120);
    let access = reply.body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        s.hub.call_protected("Bearer", &access, None).await.status,
        StatusCode::OK
    );
    let head = s.head().await;
    // Within the token's 10 s clock skew, but after the consent's expiry: refused although
    // the store head has not moved since the cached verdict.
    s.hub.clock.advance(Duration::from_secs(125));
    let reply = s.hub.call_protected("Bearer", &access, None).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.body);
    assert_eq!(s.head().await, head);
}

#[actix_web::test]
async fn refresh_tokens_never_outlive_the_consent() {
    let s = setup_with(|_| {}, Duration::from_secs(50)).await;
    let code = s.code().await;
    let reply = s.redeem(&code, VERIFIER).await;
    let refresh = reply.body["refresh_token"].as_str().unwrap().to_owned();
    s.hub.clock.advance(Duration::from_secs(51));
    let reply = s.refresh(&refresh).await;
    reply.assert_oauth_error(400, "invalid_grant");
}

#[actix_web::test]
async fn a_consent_receipt_is_signed_with_the_published_keys() {
    let s = setup().await;
    let receipt = ecohub_auth::sign_consent_receipt(
        &s.hub.ring,
        &s.hub.state.settings,
        &json!({ "receipt_id": "r-1", "jurisdiction": "DE" }),
        s.hub.now(),
    )
    .unwrap();
    let header: Value = serde_json::from_slice(
        &base64::Engine::decode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            receipt.split('.').next().unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(header["typ"], "consent-receipt+jwt");
    let jwks = s.hub.get("/jwks").await;
    assert!(
        jwks.body["keys"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["kid"] == header["kid"])
    );
    let payload: Value = serde_json::from_slice(
        &base64::Engine::decode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            receipt.split('.').nth(1).unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(payload["iss"], HUB);
    assert_eq!(payload["receipt_id"], "r-1");
    assert!(
        ecohub_auth::sign_consent_receipt(&s.hub.ring, &s.hub.state.settings, &json!([1]), t0())
            .is_err()
    );
}

#[actix_web::test]
async fn a_revoked_consent_is_refused_at_once_on_every_instance() {
    let s = setup().await;
    let code = s.code().await;
    let access = s.redeem(&code, VERIFIER).await.body["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    // A second instance: same store, key ring and consent service, its own caches.
    let other_state = ecohub_auth::AuthState::new(
        s.hub.store.clone(),
        s.hub.clock.clone(),
        s.hub.state.settings.clone(),
        ecohub_auth::AuthPorts {
            ring: s.hub.ring.clone(),
            totp_keys: s.hub.state.totp_keys.clone(),
            consents: Some(s.hub.consents.clone()),
        },
    );
    let other = ecohub_auth::TokenVerifier::from_state(&other_state);
    let presented = ecohub_security::PresentedToken {
        token: access.clone(),
        dpop_scheme: false,
        dpop_proof: None,
        method: "GET".into(),
        uri: format!("{HUB}/protected"),
    };
    let principal = other.verify_at(&presented, s.hub.now()).await.unwrap();
    assert_eq!(principal.consent_id.as_deref(), Some(s.consent.as_str()));
    assert_eq!(
        s.hub.call_protected("Bearer", &access, None).await.status,
        StatusCode::OK
    );
    s.hub.consents.revoke(&s.consent, s.hub.now()).await;
    assert!(other.verify_at(&presented, s.hub.now()).await.is_err());
    assert_eq!(
        s.hub.call_protected("Bearer", &access, None).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[actix_web::test]
async fn production_refuses_basic_clients_at_par_and_sets_secure_cookies() {
    // A basic client registered in development is refused at PAR once in production.
    let mut dev = setup().await;
    let reply = dev
        .hub
        .register(json!({
            "software_statement": dev.hub.statement(&dev.client.partner_id),
            "token_endpoint_auth_method": "client_secret_basic",
            "scope": "partner:read data:read",
            "grant_types": ["authorization_code"],
            "redirect_uris": [CALLBACK],
        }))
        .await;
    let basic_id = reply.body["client_id"].as_str().unwrap().to_owned();
    let authorization = super::basic(&basic_id, reply.body["client_secret"].as_str().unwrap());
    dev.hub.state.settings.production = true;
    let mut params = dev.par_params();
    params.retain(|(n, _)| *n != "client_id");
    params.push(("client_id", basic_id));
    let reply = dev
        .hub
        .send(
            test::TestRequest::post()
                .uri("/par")
                .insert_header(("content-type", "application/x-www-form-urlencoded"))
                .insert_header(authorization)
                .set_payload(form(&params)),
        )
        .await;
    reply.assert_oauth_error(401, "invalid_client");

    let s = setup_with(|a| a.production = true, Duration::from_secs(3600)).await;
    let page = s.get("/login", None).await;
    let pre = page
        .headers
        .get_all("set-cookie")
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("ecohub_login_csrf="))
        .unwrap()
        .to_owned();
    assert!(pre.contains("Secure") && pre.contains("HttpOnly"), "{pre}");
    let request_uri = s.par().await;
    let path = s.authorize_path(&request_uri);
    let value = set_cookie(&page, "ecohub_login_csrf").unwrap();
    let reply = s
        .post_form(
            "/login",
            form(&[
                ("username", "alice".into()),
                ("password", PASSWORD.into()),
                ("csrf_token", value.clone()),
                ("return_to", path),
            ]),
            Some(&format!("ecohub_login_csrf={value}")),
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    let session = reply
        .headers
        .get_all("set-cookie")
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("ecohub_session="))
        .unwrap()
        .to_owned();
    assert!(session.contains("Secure"), "{session}");
}

impl Setup {
    /// The access and refresh tokens of a token response.
    fn tokens(reply: &Reply) -> (String, String) {
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        (
            reply.body["access_token"].as_str().unwrap().to_owned(),
            reply.body["refresh_token"].as_str().unwrap().to_owned(),
        )
    }

    /// A second consent of the same client, authorised through the pages: its tokens.
    async fn other_grant(&self) -> (String, String) {
        let consent = self.hub.consents.add_pending(
            &self.client.partner_id,
            self.hub.now().plus(Duration::from_secs(3600)),
        );
        let details = json!([{ "type": "ecohub_consent", "consent_id": consent }]).to_string();
        let reply = self
            .par_changed(&[("authorization_details", Some(details.as_str()))])
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        let request_uri = reply.body["request_uri"].as_str().unwrap().to_owned();
        let cookie = self.sign_in(&self.authorize_path(&request_uri)).await;
        let csrf = self.consent_page(&request_uri, &cookie).await;
        let reply = self.decide(&request_uri, &cookie, &csrf, "approve").await;
        let code = param(&location_params(&reply), "code").unwrap();
        Self::tokens(&self.redeem(&code, VERIFIER).await)
    }

    async fn assert_usable(&self, access: &str) {
        let reply = self.hub.call_protected("Bearer", access, None).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    }

    /// `token` posted by the authenticated client to `uri` (`/introspect`, `/revoke`).
    async fn post_token(&self, uri: &str, token: &str) -> Reply {
        let body = format!("{}&token={}", self.client.auth_params(), enc(token));
        self.hub
            .send(
                test::TestRequest::post()
                    .uri(uri)
                    .insert_header(("content-type", "application/x-www-form-urlencoded"))
                    .set_payload(body),
            )
            .await
    }

    /// Introspection (RFC 7662) of `token` by the client.
    async fn introspect(&self, token: &str) -> Reply {
        self.post_token("/introspect", token).await
    }

    /// Revocation (RFC 7009) of `token` by the client.
    async fn revoke(&self, token: &str) -> Reply {
        self.post_token("/revoke", token).await
    }

    /// Introspection by the client says `token` is not active.
    async fn assert_inactive(&self, token: &str) {
        assert_eq!(
            self.introspect(token).await.body,
            json!({ "active": false })
        );
    }

    async fn assert_refused(&self, access: &str) {
        self.hub
            .call_protected("Bearer", access, None)
            .await
            .assert_problem(401, "invalid_token");
    }
}

fn family_of(refresh: &str) -> String {
    format!("refresh-{}", refresh.split_once('.').unwrap().0)
}

#[actix_web::test]
async fn reusing_a_refresh_token_revokes_every_access_token_its_family_issued() {
    let s = setup().await;
    let code = s.code().await;
    let (access0, refresh1) = Setup::tokens(&s.redeem(&code, VERIFIER).await);
    let (access1, refresh2) = Setup::tokens(&s.refresh(&refresh1).await);
    let (other_access, other_refresh) = s.other_grant().await;
    // Every token works, and the verifier has remembered its verdicts.
    for access in [&access0, &access1, &other_access] {
        s.assert_usable(access).await;
        s.assert_usable(access).await;
    }
    // The rotated-out refresh token comes back: a reuse.
    s.refresh(&refresh1)
        .await
        .assert_oauth_error(400, "invalid_grant");
    // The family's access tokens are refused on the very next request...
    s.assert_refused(&access0).await;
    s.assert_refused(&access1).await;
    // ...the family cannot refresh any more...
    s.refresh(&refresh2)
        .await
        .assert_oauth_error(400, "invalid_grant");
    // ...and the client's other grant is untouched.
    s.assert_usable(&other_access).await;
    let (newer_access, _) = Setup::tokens(&s.refresh(&other_refresh).await);
    s.assert_usable(&newer_access).await;
    // Introspection agrees.
    s.assert_inactive(&access1).await;
}

#[actix_web::test]
async fn an_interrupted_revocation_is_finished_by_the_next_presentation() {
    let s = setup().await;
    let code = s.code().await;
    let (access0, refresh1) = Setup::tokens(&s.redeem(&code, VERIFIER).await);
    let (access1, refresh2) = Setup::tokens(&s.refresh(&refresh1).await);
    s.assert_usable(&access1).await;
    // The process died right after revoking the family, before revoking its access tokens.
    s.hub
        .store
        .append(
            &family_of(&refresh1),
            ecohub_eventstore::ExpectedRevision::Any,
            vec![ecohub_eventstore::NewEvent::raw(
                "RefreshFamilyRevoked",
                json!({ "reason": "reuse_detected", "at": s.hub.now() }),
                s.hub.now(),
            )],
        )
        .await
        .unwrap();
    s.assert_usable(&access0).await;
    s.assert_usable(&access1).await;
    // Any token of the family presented again (here the current one) finishes the job.
    s.refresh(&refresh2)
        .await
        .assert_oauth_error(400, "invalid_grant");
    s.assert_refused(&access0).await;
    s.assert_refused(&access1).await;
    // Again: nothing more to do, nothing written to the family or the revocations.
    let head = s.head().await;
    s.refresh(&refresh1)
        .await
        .assert_oauth_error(400, "invalid_grant");
    let written = s
        .hub
        .store
        .read_all(
            head,
            &ecohub_eventstore::EventFilter::streams(["refresh-", "revocation-"]),
            10,
        )
        .await
        .unwrap();
    assert!(written.is_empty(), "{written:?}");
}

#[actix_web::test]
async fn a_reused_code_and_a_revoked_refresh_token_revoke_the_family_access_tokens_too() {
    // A reused code: the access tokens of the refreshes go with the family.
    let s = setup().await;
    let code = s.code().await;
    let (access0, refresh1) = Setup::tokens(&s.redeem(&code, VERIFIER).await);
    let (access1, _) = Setup::tokens(&s.refresh(&refresh1).await);
    s.redeem(&code, VERIFIER)
        .await
        .assert_oauth_error(400, "invalid_grant");
    s.assert_refused(&access0).await;
    s.assert_refused(&access1).await;

    // RFC 7009 on a refresh token: its family's access tokens go with it (§2.1).
    let (access2, refresh2) = s.other_grant().await;
    let (access3, refresh3) = Setup::tokens(&s.refresh(&refresh2).await);
    s.assert_usable(&access3).await;
    assert_eq!(s.revoke(&refresh3).await.status, StatusCode::OK);
    s.assert_refused(&access2).await;
    s.assert_refused(&access3).await;
}

#[actix_web::test]
async fn a_family_stored_before_access_tokens_were_recorded_still_works_and_is_revoked() {
    let s = setup().await;
    // A code flow authorises the consent.
    let code = s.code().await;
    s.redeem(&code, VERIFIER).await;
    // A family written in the old shape (no access token in its start).
    let family = uuid::Uuid::now_v7().to_string();
    let old_token = format!("{family}.{}", "a".repeat(43));
    s.hub
        .store
        .append(
            &format!("refresh-{family}"),
            ecohub_eventstore::ExpectedRevision::NoStream,
            vec![ecohub_eventstore::NewEvent::raw(
                "RefreshFamilyStarted",
                json!({
                    "family_id": family, "client_id": s.client.client_id,
                    "partner_id": s.client.partner_id, "consent_id": s.consent,
                    "subject": pairwise_id(&s.salt, &s.client.partner_id),
                    "scope": "partner:read data:read",
                    "token_hash": ecohub_auth::application::secrets::token_hash(&old_token),
                    "expires_at": s.hub.now().plus(Duration::from_secs(3600)),
                    "at": s.hub.now()
                }),
                s.hub.now(),
            )],
        )
        .await
        .unwrap();
    // It loads and rotates (the rotation records its access token)...
    let (access, _) = Setup::tokens(&s.refresh(&old_token).await);
    s.assert_usable(&access).await;
    // ...and a reuse revokes what was recorded.
    s.refresh(&old_token)
        .await
        .assert_oauth_error(400, "invalid_grant");
    s.assert_refused(&access).await;
}
