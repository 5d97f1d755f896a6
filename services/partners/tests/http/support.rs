//! The app under test (the partner routes with the hub's middleware and extractor configs,
//! against a real embedded store in a temporary directory), a fake token verifier, fake
//! ports and request helpers.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::header::HeaderMap;
use actix_web::middleware::from_fn;
use actix_web::{App, test, web};
use async_trait::async_trait;
use ecohub_eventstore::{
    AppendResult, CurrentRevision, EventFilter, EventStore, ExpectedRevision, NewEvent, Position,
    ProjectionHandle, ReadStreamOptions, RecordedEvent, SharedStore, SqliteStore,
    SqliteStoreOptions, StoreError, Subscription, read_stream_to_end,
};
use ecohub_kernel::{ManualClock, Timestamp};
use ecohub_partners::domain::PartnerId;
use ecohub_partners::{
    ApplicantTokens, IssuedToken, PartnerDirectory, PartnersConfig, PartnersState, PortError,
    SoftwareStatementClaims, SoftwareStatements,
};
use ecohub_security::{AccessTokenVerifier, AuthError, PresentedToken, Principal, SharedVerifier};
use serde_json::{Value, json};

/// When the test clock starts.
pub const START: Timestamp = Timestamp::from_unix_seconds(1_800_000_000);

/// Staff member A (the maker in the lifecycle).
pub const STAFF_A: &str = "staff-a";
/// Staff member B (the checker).
pub const STAFF_B: &str = "staff-b";
/// Staff member C.
pub const STAFF_C: &str = "staff-c";
/// A valid token without any scope.
pub const NO_SCOPE: &str = "no-scope";

/// The token of the approved partner `id`'s OAuth client.
pub fn partner_token(id: &str) -> String {
    format!("partner:{id}")
}

/// Maps fixed tokens to principals: `staff-a|b|c` (admin), `partner:<id>` (partner:read,
/// webhooks:manage), `applicant:<id>` (partner:read, as the fake applicant port mints),
/// `no-scope`; anything else is invalid.
struct FakeVerifier;

#[async_trait(?Send)]
impl AccessTokenVerifier for FakeVerifier {
    async fn verify(&self, presented: &PresentedToken) -> Result<Principal, AuthError> {
        let token = presented.token.as_str();
        let principal = |client: &str, partner: Option<&str>, scopes: &[&str]| Principal {
            client_id: client.to_owned(),
            subject: client.to_owned(),
            partner_id: partner.map(str::to_owned),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            token_id: format!("jti-{token}"),
            consent_id: None,
        };
        if [STAFF_A, STAFF_B, STAFF_C].contains(&token) {
            return Ok(principal(token, None, &["admin"]));
        }
        if token == NO_SCOPE {
            return Ok(principal("client-no-scope", None, &[]));
        }
        if let Some(id) = token.strip_prefix("partner:") {
            return Ok(principal(
                &format!("client-{id}"),
                Some(id),
                &["partner:read", "webhooks:manage", "consents:read"],
            ));
        }
        if let Some(id) = token.strip_prefix("applicant:") {
            return Ok(principal(
                &format!("applicant-{id}"),
                Some(id),
                &["partner:read"],
            ));
        }
        Err(AuthError::InvalidToken("unknown token".into()))
    }
}

/// Mints `applicant:<id>`.
struct FakeApplicantTokens;

impl ApplicantTokens for FakeApplicantTokens {
    fn issue(&self, partner: PartnerId, _now: Timestamp) -> Result<IssuedToken, PortError> {
        Ok(IssuedToken {
            access_token: format!("applicant:{partner}"),
            expires_in: 3600,
        })
    }
}

/// "Signs" a statement as `statement.<json claims>`; can be switched off.
#[derive(Default)]
pub struct FakeStatements {
    pub down: AtomicBool,
}

impl SoftwareStatements for FakeStatements {
    fn issue(&self, claims: &SoftwareStatementClaims, now: Timestamp) -> Result<String, PortError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(PortError("directory key unavailable".into()));
        }
        let body = json!({
            "partner_id": claims.partner_id.to_string(),
            "org_name": claims.org_name,
            "roles": claims.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
            "scopes": claims.scopes,
            "redirect_uris": claims.redirect_uris,
            "iat": now.unix_seconds(),
        });
        Ok(format!("statement.{body}"))
    }
}

/// Decodes a fake statement's claims.
pub fn statement_claims(statement: &str) -> Value {
    serde_json::from_str(
        statement
            .strip_prefix("statement.")
            .expect("a fake statement"),
    )
    .unwrap()
}

/// A store whose appends, once armed, wait until `n` of them have arrived (so every racer
/// has loaded its state before any appends): concurrent commands really race.
pub struct RacingStore {
    inner: SharedStore,
    barrier: std::sync::Mutex<Option<Arc<tokio::sync::Barrier>>>,
}

impl RacingStore {
    /// From now on, appends wait for each other in groups of `n`.
    pub fn arm(&self, n: usize) {
        *self.barrier.lock().unwrap() = Some(Arc::new(tokio::sync::Barrier::new(n)));
    }
}

#[async_trait]
impl EventStore for RacingStore {
    async fn append(
        &self,
        stream: &str,
        expected: ExpectedRevision,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult, StoreError> {
        let barrier = self.barrier.lock().unwrap().clone();
        if let Some(barrier) = barrier {
            barrier.wait().await;
        }
        self.inner.append(stream, expected, events).await
    }
    async fn read_stream(
        &self,
        stream: &str,
        options: ReadStreamOptions,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        self.inner.read_stream(stream, options).await
    }
    async fn stream_revision(&self, stream: &str) -> Result<CurrentRevision, StoreError> {
        self.inner.stream_revision(stream).await
    }
    async fn read_all(
        &self,
        from: Option<Position>,
        filter: &EventFilter,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        self.inner.read_all(from, filter, limit).await
    }
    async fn subscribe_all(
        &self,
        from: Option<Position>,
        filter: EventFilter,
    ) -> Result<Subscription, StoreError> {
        self.inner.subscribe_all(from, filter).await
    }
    async fn head(&self) -> Result<Option<Position>, StoreError> {
        self.inner.head().await
    }
    async fn is_healthy(&self) -> bool {
        self.inner.is_healthy().await
    }
    async fn close(&self) -> Result<(), StoreError> {
        self.inner.close().await
    }
}

/// A response, read.
#[derive(Debug)]
pub struct Res {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Res {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts a problem+json answer with this status and code.
    #[track_caller]
    pub fn problem(&self, status: u16, code: &str) -> &Self {
        assert_eq!(self.status, status, "{:#}", self.body);
        assert_eq!(self.body["code"], code, "{:#}", self.body);
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "{:#}",
            self.body
        );
        self
    }

    /// The JSON pointers of the field errors.
    pub fn fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|e| e["field"].as_str().unwrap_or_default().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// The partner service under test: its state, store, clock, fakes and directory runner.
pub struct TestApp {
    pub store: SharedStore,
    pub clock: Arc<ManualClock>,
    pub statements: Arc<FakeStatements>,
    pub directory: ProjectionHandle,
    pub state: PartnersState,
    pub racing: Arc<RacingStore>,
    _dir: tempfile::TempDir,
}

impl TestApp {
    pub async fn new() -> Self {
        Self::with(PartnersConfig::default()).await
    }

    pub async fn production() -> Self {
        Self::with(PartnersConfig { production: true }).await
    }

    async fn with(config: PartnersConfig) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let sqlite: SharedStore = Arc::new(
            SqliteStore::open(dir.path().join("events.db"), SqliteStoreOptions::default()).unwrap(),
        );
        let racing = Arc::new(RacingStore {
            inner: sqlite.clone(),
            barrier: std::sync::Mutex::new(None),
        });
        let store: SharedStore = racing.clone();
        let clock = Arc::new(ManualClock::at(START));
        let statements = Arc::new(FakeStatements::default());
        let (projection, reader) = PartnerDirectory::new();
        let directory = ProjectionHandle::spawn(sqlite, projection);
        let state = PartnersState {
            store: store.clone(),
            clock: clock.clone(),
            applicant_tokens: Arc::new(FakeApplicantTokens),
            statements: statements.clone(),
            config,
            directory: reader,
        };
        Self {
            store,
            clock,
            statements,
            directory,
            state,
            racing,
            _dir: dir,
        }
    }

    /// Sends `req` (the clock moves one second first, so ids and times are ordered).
    pub async fn send(&self, req: test::TestRequest) -> Res {
        self.clock.advance(Duration::from_secs(1));
        let app = test::init_service(app(self.state.clone())).await;
        read(test::call_service(&app, req.to_request()).await).await
    }

    pub async fn get(&self, uri: &str, token: Option<&str>) -> Res {
        self.send(with_token(test::TestRequest::get().uri(uri), token))
            .await
    }

    pub async fn post(&self, uri: &str, token: Option<&str>, body: Value) -> Res {
        self.send(with_token(
            test::TestRequest::post().uri(uri).set_json(body),
            token,
        ))
        .await
    }

    pub async fn delete(&self, uri: &str, token: Option<&str>) -> Res {
        self.send(with_token(test::TestRequest::delete().uri(uri), token))
            .await
    }

    /// Applies with [`application`] and returns the new partner's id and applicant token.
    pub async fn apply(&self, legal_name: &str) -> (String, String) {
        let res = self
            .post(
                "/partners/applications",
                None,
                application(legal_name, &["data_recipient", "offer_partner"]),
            )
            .await;
        assert_eq!(res.status, 201, "{:#}", res.body);
        (
            res.body["partner_id"].as_str().unwrap().to_owned(),
            res.body["applicant_token"]["access_token"]
                .as_str()
                .unwrap()
                .to_owned(),
        )
    }

    /// Staff A records a passed registry check and sanctions screening.
    pub async fn verify(&self, id: &str) {
        for check in ["registry_check", "sanctions_screening"] {
            let res = self
                .post(
                    &format!("/admin/partners/{id}/verifications"),
                    Some(STAFF_A),
                    json!({"check": check, "result": "passed", "evidence": "case 2026/0042"}),
                )
                .await;
            assert_eq!(res.status, 200, "{:#}", res.body);
        }
    }

    /// Staff B approves (after [`Self::verify`]).
    pub async fn approve(&self, id: &str) -> Res {
        let res = self
            .post(
                &format!("/admin/partners/{id}/approve"),
                Some(STAFF_B),
                json!({"redirect_uris": ["https://travelco.example/callback"]}),
            )
            .await;
        assert_eq!(res.status, 200, "{:#}", res.body);
        res
    }

    /// Applies, verifies and approves; returns the partner id.
    pub async fn approved_partner(&self, legal_name: &str) -> String {
        let (id, _) = self.apply(legal_name).await;
        self.verify(&id).await;
        self.approve(&id).await;
        id
    }

    /// The events of a partner's stream.
    pub async fn stream(&self, id: &str) -> Vec<RecordedEvent> {
        let id = PartnerId::parse(id).unwrap();
        read_stream_to_end(&*self.store, &id.stream_name())
            .await
            .unwrap()
    }

    /// The head of the global log (to check that nothing was written).
    pub async fn head(&self) -> Option<Position> {
        self.store.head().await.unwrap()
    }

    /// Waits until the directory has applied everything written so far.
    pub async fn directory_caught_up(&self) {
        let head = self.head().await;
        self.directory.wait_for(head).await;
    }
}

/// The partner routes, wired as the hub wires them.
pub fn app(
    state: PartnersState,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let verifier: SharedVerifier = Arc::new(FakeVerifier);
    App::new()
        .app_data(web::Data::new(state))
        .app_data(web::Data::new(verifier))
        .app_data(ecohub_http::json_config())
        .app_data(ecohub_http::query_config())
        .app_data(ecohub_http::path_config())
        .configure(ecohub_partners::configure)
        .wrap(from_fn(ecohub_http::problem_fallback))
        .wrap(from_fn(ecohub_http::interaction_id))
}

pub fn with_token(req: test::TestRequest, token: Option<&str>) -> test::TestRequest {
    match token {
        Some(t) => req.insert_header(("authorization", format!("Bearer {t}"))),
        None => req,
    }
}

pub async fn read(res: ServiceResponse<impl MessageBody>) -> Res {
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let bytes = test::read_body(res).await;
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Res {
        status,
        headers,
        body,
    }
}

/// A valid application body.
pub fn application(legal_name: &str, roles: &[&str]) -> Value {
    json!({
        "legal_name": legal_name,
        "registration_number": "HRB 123456",
        "country": "DE",
        "website": "https://travelco.example",
        "contacts": [
            {"name": "Ada Lovelace", "email": "ada@travelco.example", "role": "technical"}
        ],
        "requested_roles": roles,
    })
}
