//! The authorization server over HTTP (`actix_web::test`), on a real embedded store and key
//! ring in a temporary directory, with partner streams seeded from the partners service's
//! pinned stored event shapes.

mod admin;
mod authorize;
mod console;
mod customers;
mod fake_consents;
mod login;
mod properties;
mod registration;
mod staff_totp;
mod token;
mod verifier;

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::http::header::HeaderMap;
use actix_web::{App, HttpResponse, test, web};
use base64::Engine;
use ecohub_auth::{AuthSettings, AuthState, TokenVerifier};
use ecohub_eventstore::{ExpectedRevision, NewEvent, SharedStore, SqliteStore};
use ecohub_jose::{KeyRing, SigningAlgorithm, SigningKey};
use ecohub_kernel::{ManualClock, Timestamp};
use ecohub_security::{Authenticated, PartnerReadScope, SharedVerifier};
use serde_json::{Value, json};

pub const HUB: &str = "http://127.0.0.1:8080";
pub const HOST: &str = "127.0.0.1:8080";
pub const CALLBACK: &str = "https://travelco.example/callback";
pub const PARTNER_SCOPES: [&str; 5] = [
    "partner:read",
    "webhooks:manage",
    "consents:write",
    "consents:read",
    "data:read",
];

/// A hub: store, ring and clock in a temporary directory.
pub struct Hub {
    _dir: tempfile::TempDir,
    pub store: SharedStore,
    pub ring: Arc<KeyRing>,
    pub clock: Arc<ManualClock>,
    pub state: AuthState,
    pub verifier: SharedVerifier,
    pub consents: Arc<fake_consents::FakeConsents>,
}

/// A response, read.
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn error(&self) -> &str {
        self.body["error"].as_str().unwrap_or_default()
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// Asserts a problem+json error with this status and code.
    #[track_caller]
    pub fn assert_problem(&self, status: u16, code: &str) {
        assert_eq!(
            (
                self.status.as_u16(),
                self.body["code"].as_str().unwrap_or_default()
            ),
            (status, code),
            "{}",
            self.body
        );
    }

    /// Asserts an OAuth error with this status and code, `no-store`.
    #[track_caller]
    pub fn assert_oauth_error(&self, status: u16, code: &str) {
        assert_eq!(
            (self.status.as_u16(), self.error()),
            (status, code),
            "{}",
            self.body
        );
        assert!(self.body["error_description"].is_string(), "{}", self.body);
        assert_eq!(self.header("cache-control"), "no-store");
    }
}

/// `GET /protected` (scope `partner:read`): echoes the principal.
async fn protected(auth: Authenticated<PartnerReadScope>) -> HttpResponse {
    let p = auth.principal();
    HttpResponse::Ok().json(json!({
        "client_id": p.client_id,
        "subject": p.subject,
        "partner_id": p.partner_id,
        "scopes": p.scopes,
        "token_id": p.token_id,
        "consent_id": p.consent_id,
    }))
}

impl Hub {
    pub fn new() -> Self {
        Self::with(|_| {})
    }

    pub fn with(adjust: impl FnOnce(&mut AuthSettings)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store: SharedStore =
            Arc::new(SqliteStore::open(dir.path().join("events.db"), Default::default()).unwrap());
        let ring = Arc::new(KeyRing::open(dir.path(), t0()).unwrap());
        let clock = Arc::new(ManualClock::at(t0()));
        let mut settings = AuthSettings::new(HUB);
        adjust(&mut settings);
        let consents = Arc::new(fake_consents::FakeConsents::new(store.clone()));
        let state = AuthState::new(
            store.clone(),
            clock.clone(),
            settings,
            ecohub_auth::AuthPorts {
                ring: ring.clone(),
                totp_keys: Arc::new(ecohub_auth::TotpKeys::open(dir.path()).unwrap()),
                consents: Some(consents.clone()),
            },
        );
        let verifier: SharedVerifier = Arc::new(TokenVerifier::from_state(&state));
        Self {
            _dir: dir,
            store,
            ring,
            clock,
            state,
            verifier,
            consents,
        }
    }

    pub fn now(&self) -> Timestamp {
        ecohub_kernel::Clock::now(self.clock.as_ref())
    }

    /// Sends a request to a fresh app over this hub's state.
    pub async fn send(&self, req: test::TestRequest) -> Reply {
        let app = test::init_service(
            App::new()
                .app_data(web::Data::new(self.state.clone()))
                .app_data(web::Data::new(self.verifier.clone()))
                .app_data(ecohub_http::json_config())
                .configure(ecohub_auth::configure)
                .route("/protected", web::get().to(protected)),
        )
        .await;
        let response =
            test::call_service(&app, req.insert_header(("host", HOST)).to_request()).await;
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = test::read_body(response).await;
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        Reply {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(test::TestRequest::get().uri(path)).await
    }

    /// Appends partner events by their public type names, with the stored shapes pinned in
    /// the partners service's tests.
    pub async fn partner_events(&self, partner_id: &str, types: &[&str]) {
        for t in types {
            let data = match *t {
                "PartnerApplied" => json!({
                    "partner_id": partner_id,
                    "legal_name": "TravelCo GmbH",
                    "registration_number": "HRB 123456",
                    "country": "DE",
                    "website": "https://travelco.example",
                    "contacts": [{ "name": "Ada Lovelace", "email": "ada@travelco.example", "role": "technical" }],
                    "requested_roles": ["data_recipient", "offer_partner"],
                    "at": "2027-01-15T07:00:00Z"
                }),
                "PartnerApproved" => json!({
                    "roles": ["data_recipient", "offer_partner"],
                    "redirect_uris": [CALLBACK],
                    "by": "staff-checker",
                    "at": "2027-01-15T07:20:00Z"
                }),
                _ => {
                    json!({ "reason": "unusual traffic", "by": "staff-checker", "at": "2027-01-15T07:30:00Z" })
                }
            };
            self.store
                .append(
                    &format!("partner-{partner_id}"),
                    ExpectedRevision::Any,
                    vec![NewEvent::raw(t, data, self.now())],
                )
                .await
                .unwrap();
        }
    }

    /// A new approved partner; returns its id.
    pub async fn approved_partner(&self) -> String {
        let id = uuid::Uuid::now_v7().to_string();
        self.partner_events(&id, &["PartnerApplied", "PartnerApproved"])
            .await;
        id
    }

    /// A software statement for `partner_id` signed by the hub.
    pub fn statement(&self, partner_id: &str) -> String {
        ecohub_auth::issue_partner_statement(
            &self.ring,
            &self.state.settings,
            partner_id,
            "TravelCo GmbH",
            &["data_recipient".into()],
            &PARTNER_SCOPES.map(String::from),
            &[CALLBACK.into(), "http://127.0.0.1:9000/cb".into()],
            self.now(),
        )
        .unwrap()
    }

    pub async fn register(&self, body: Value) -> Reply {
        self.send(test::TestRequest::post().uri("/register").set_json(body))
            .await
    }

    /// Registers a `client_secret_basic` client for a new approved partner.
    pub async fn basic_client(&self) -> BasicClient {
        let partner_id = self.approved_partner().await;
        let reply = self
            .register(json!({
                "software_statement": self.statement(&partner_id),
                "token_endpoint_auth_method": "client_secret_basic",
            }))
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        BasicClient {
            partner_id,
            client_id: reply.body["client_id"].as_str().unwrap().to_owned(),
            secret: reply.body["client_secret"].as_str().unwrap().to_owned(),
            registration_access_token: reply.body["registration_access_token"]
                .as_str()
                .unwrap()
                .to_owned(),
        }
    }

    /// Registers a `private_key_jwt` client for a new approved partner.
    pub async fn jwt_client(&self, dpop_bound: bool) -> JwtClient {
        let partner_id = self.approved_partner().await;
        let key = SigningKey::generate(SigningAlgorithm::Es256, t0(), t0()).unwrap();
        let reply = self
            .register(json!({
                "software_statement": self.statement(&partner_id),
                "token_endpoint_auth_method": "private_key_jwt",
                "jwks": { "keys": [key.public_jwk()] },
                "scope": "partner:read consents:write",
                "dpop_bound_access_tokens": dpop_bound,
            }))
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        JwtClient {
            partner_id,
            client_id: reply.body["client_id"].as_str().unwrap().to_owned(),
            key,
            registration_access_token: reply.body["registration_access_token"]
                .as_str()
                .unwrap()
                .to_owned(),
        }
    }

    /// `POST /token` with a form body and extra headers.
    pub async fn token(&self, form: &str, headers: &[(&str, String)]) -> Reply {
        let mut req = test::TestRequest::post()
            .uri("/token")
            .insert_header(("content-type", "application/x-www-form-urlencoded"))
            .set_payload(form.to_owned());
        for (name, value) in headers {
            req = req.insert_header((*name, value.clone()));
        }
        self.send(req).await
    }

    /// `GET /protected` with `Authorization: <scheme> <token>` and an optional DPoP proof.
    pub async fn call_protected(&self, scheme: &str, token: &str, proof: Option<String>) -> Reply {
        let mut req = test::TestRequest::get()
            .uri("/protected")
            .insert_header(("authorization", format!("{scheme} {token}")));
        if let Some(proof) = proof {
            req = req.insert_header(("dpop", proof));
        }
        self.send(req).await
    }
}

pub struct BasicClient {
    pub partner_id: String,
    pub client_id: String,
    pub secret: String,
    pub registration_access_token: String,
}

impl BasicClient {
    pub fn authorization(&self) -> (&'static str, String) {
        basic(&self.client_id, &self.secret)
    }
}

pub fn basic(id: &str, secret: &str) -> (&'static str, String) {
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
    ("authorization", format!("Basic {encoded}"))
}

pub struct JwtClient {
    pub partner_id: String,
    pub client_id: String,
    pub key: SigningKey,
    pub registration_access_token: String,
}

impl JwtClient {
    /// A client assertion with this `jti`, signed with `key`.
    pub fn assertion_with(&self, key: &SigningKey, jti: &str) -> String {
        let iat = t0().unix_seconds();
        key.sign_jwt(
            "JWT",
            &json!({
                "iss": self.client_id, "sub": self.client_id, "aud": format!("{HUB}/token"),
                "jti": jti, "iat": iat, "exp": iat + 60
            }),
        )
        .unwrap()
    }

    /// The form parameters authenticating with a fresh assertion.
    pub fn auth_params(&self) -> String {
        self.auth_params_with(&self.key, &uuid::Uuid::new_v4().to_string())
    }

    pub fn auth_params_with(&self, key: &SigningKey, jti: &str) -> String {
        format!(
            "client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion={}",
            self.assertion_with(key, jti)
        )
    }
}

/// A DPoP proof by `key` for `method` `url`, with `ath` when a token is given.
pub fn dpop_proof(key: &SigningKey, method: &str, url: &str, token: Option<&str>) -> String {
    let mut jwk = serde_json::to_value(key.public_jwk()).unwrap();
    jwk.as_object_mut().unwrap().remove("kid");
    let header = json!({"typ": "dpop+jwt", "alg": key.algorithm().as_str(), "jwk": jwk});
    let mut claims = json!({
        "jti": uuid::Uuid::new_v4().to_string(), "htm": method, "htu": url,
        "iat": t0().unix_seconds()
    });
    if let Some(token) = token {
        claims["ath"] = json!(ecohub_jose::access_token_hash(token));
    }
    crate::support::signed(key, &header, &claims)
}

pub fn t0() -> Timestamp {
    crate::support::t0()
}
