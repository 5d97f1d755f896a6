//! The app under test, fakes and request helpers.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::header::HeaderMap;
use actix_web::middleware::from_fn;
use actix_web::{App, test, web};
use async_trait::async_trait;
use ecohub_consents::domain::PartnerId;
use ecohub_consents::{
    ActionContext, ConsentsConfig, ConsentsState, CustomerRef, PartnerInfo, PartnerLookup,
    ReceiptSigner,
};
use ecohub_eventstore::{
    Position, ProjectionHandle, RecordedEvent, SharedStore, SqliteStore, SqliteStoreOptions,
    read_stream_to_end,
};
use ecohub_kernel::{Clock, ManualClock, Timestamp};
use ecohub_security::{
    AccessTokenVerifier, AuthError, CustomerSessionError, CustomerSessions, PresentedToken,
    Principal, SessionCustomer, SharedCustomerSessions, SharedVerifier,
};
use serde_json::{Value, json};

/// When the test clock starts.
pub const START: Timestamp = Timestamp::from_unix_seconds(1_800_000_000);

/// The compliance officer's token.
pub const AUDITOR: &str = "auditor";

/// A partner's token with `consents:write` and `consents:read`: `partner:<id>`.
pub fn partner_token(id: &str) -> String {
    format!("partner:{id}")
}

/// A partner's token with `consents:read` only.
pub fn reader_token(id: &str) -> String {
    format!("reader:{id}")
}

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
        if token == AUDITOR {
            return Ok(principal("auditor-client", None, &["audit"]));
        }
        if let Some(id) = token.strip_prefix("partner:") {
            return Ok(principal(
                &format!("client-{id}"),
                Some(id),
                &["consents:write", "consents:read"],
            ));
        }
        if let Some(id) = token.strip_prefix("reader:") {
            return Ok(principal(
                &format!("reader-{id}"),
                Some(id),
                &["consents:read"],
            ));
        }
        Err(AuthError::InvalidToken("unknown token".into()))
    }
}

/// Sessions: cookie `session-<customer>` → customer `<customer>`, CSRF `csrf-<customer>`.
struct FakeSessions;

#[async_trait(?Send)]
impl CustomerSessions for FakeSessions {
    async fn resolve(&self, cookie: &str) -> Result<SessionCustomer, CustomerSessionError> {
        let customer = cookie
            .strip_prefix("session-")
            .ok_or_else(|| CustomerSessionError::Invalid("unknown".into()))?;
        Ok(SessionCustomer {
            customer_id: customer.to_owned(),
            display_name: format!("<b>{customer}</b> & co"),
            session_id: format!("sid-{customer}"),
            csrf_token: csrf(customer),
        })
    }
}

pub fn csrf(customer: &str) -> String {
    format!("csrf-{customer}")
}

/// Partners known to the fake directory.
#[derive(Default)]
pub struct FakePartners {
    pub partners: Mutex<HashMap<PartnerId, PartnerInfo>>,
}

impl PartnerLookup for FakePartners {
    fn partner(&self, id: PartnerId) -> Option<PartnerInfo> {
        self.partners.lock().unwrap().get(&id).cloned()
    }
}

/// "Signs" as `signed.<claims json>`.
pub struct FakeSigner;

impl ReceiptSigner for FakeSigner {
    fn sign(&self, claims: &Value) -> Result<String, String> {
        Ok(format!("signed.{claims}"))
    }
}

/// A response, read.
#[derive(Debug)]
pub struct Res {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
    pub body: Value,
}

impl Res {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts a problem+json answer with this status and code.
    #[track_caller]
    pub fn problem(&self, status: u16, code: &str) -> &Self {
        assert_eq!(self.status, status, "{}", self.text);
        assert_eq!(self.body["code"], code, "{}", self.text);
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "{}",
            self.text
        );
        self
    }
}

pub struct TestApp {
    pub store: SharedStore,
    pub clock: Arc<ManualClock>,
    pub partners: Arc<FakePartners>,
    pub index: ProjectionHandle,
    pub state: ConsentsState,
    pub db: PathBuf,
    pub _dir: tempfile::TempDir,
}

impl TestApp {
    pub async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("events.db");
        let store: SharedStore =
            Arc::new(SqliteStore::open(&db, SqliteStoreOptions::default()).unwrap());
        Self::on(store, dir, db)
    }

    pub fn on(store: SharedStore, dir: tempfile::TempDir, db: PathBuf) -> Self {
        let clock = Arc::new(ManualClock::at(START));
        let partners = Arc::new(FakePartners::default());
        let (state, projection) = ConsentsState::new(
            store.clone(),
            clock.clone(),
            ConsentsConfig::default(),
            partners.clone(),
            Arc::new(FakeSigner),
        );
        let index = ProjectionHandle::spawn(store.clone(), projection);
        Self {
            store,
            clock,
            partners,
            index,
            state,
            db,
            _dir: dir,
        }
    }

    /// Registers a partner in the fake directory; returns its id.
    pub fn partner(&self, name: &str, active: bool, data_provider: bool) -> String {
        let id = PartnerId::new_v7(self.clock.now());
        self.partners.partners.lock().unwrap().insert(
            id,
            PartnerInfo {
                name: name.to_owned(),
                status: if active { "approved" } else { "suspended" }.to_owned(),
                active,
                data_provider,
            },
        );
        id.to_string()
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Sends `req` (the clock moves one second first).
    pub async fn send(&self, req: test::TestRequest) -> Res {
        self.clock.advance(Duration::from_secs(1));
        let app = test::init_service(app(self.state.clone())).await;
        read(test::call_service(&app, req.to_request()).await).await
    }

    pub async fn get(&self, uri: &str, token: &str) -> Res {
        self.send(bearer(test::TestRequest::get().uri(uri), token))
            .await
    }

    pub async fn delete(&self, uri: &str, token: &str) -> Res {
        self.send(bearer(test::TestRequest::delete().uri(uri), token))
            .await
    }

    pub async fn post(&self, uri: &str, token: &str, body: Value) -> Res {
        self.send(bearer(
            test::TestRequest::post().uri(uri).set_json(body),
            token,
        ))
        .await
    }

    /// A customer request (session cookie `session-<customer>`).
    pub async fn as_customer(&self, req: test::TestRequest, customer: &str) -> Res {
        self.send(req.cookie(actix_web::cookie::Cookie::new(
            ecohub_security::CUSTOMER_SESSION_COOKIE,
            format!("session-{customer}"),
        )))
        .await
    }

    /// Creates a consent through the API; returns its id.
    pub async fn create(&self, partner: &str) -> String {
        let res = self
            .post(
                "/consents",
                &partner_token(partner),
                consent_body(self.now()),
            )
            .await;
        assert_eq!(res.status, 201, "{}", res.text);
        res.body["consent_id"].as_str().unwrap().to_owned()
    }

    /// The customer authorises (through the port operation).
    pub async fn authorise(&self, consent: &str, customer: &str) {
        self.clock.advance(Duration::from_secs(1));
        let ctx = ActionContext::customer(customer, "it-authorise", self.now());
        self.state
            .authorise(consent, &customer_ref(customer), &ctx)
            .await
            .unwrap();
    }

    /// Creates and authorises a consent.
    pub async fn authorised(&self, partner: &str, customer: &str) -> String {
        let id = self.create(partner).await;
        self.authorise(&id, customer).await;
        id
    }

    pub async fn stream(&self, consent: &str) -> Vec<RecordedEvent> {
        read_stream_to_end(&*self.store, &format!("consent-{consent}"))
            .await
            .unwrap()
    }

    pub async fn head(&self) -> Option<Position> {
        self.store.head().await.unwrap()
    }

    /// Waits until the index has applied everything written so far.
    pub async fn caught_up(&self) {
        let head = self.head().await;
        self.index.wait_for(head).await;
    }
}

pub fn customer_ref(customer: &str) -> CustomerRef {
    CustomerRef {
        customer_id: customer.to_owned(),
        pairwise_id: format!("pw-{customer}"),
    }
}

/// A valid consent body at `now`.
pub fn consent_body(now: Timestamp) -> Value {
    json!({
        "permissions": ["ReadAccountsBasic", "ReadTransactionsBasic", "ReadTransactionsCredits"],
        "purpose": {"code": "travel-offers", "text": "Travel offers that fit your spending"},
        "expiration": now.plus(Duration::from_secs(90 * 86_400)).to_rfc3339(),
        "transaction_from": "2026-01-01T00:00:00Z",
        "transaction_to": "2026-06-30T00:00:00Z",
        "data_providers": ["bank"],
    })
}

/// The consent routes, wired as the hub wires them.
pub fn app(
    state: ConsentsState,
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
    let sessions: SharedCustomerSessions = Arc::new(FakeSessions);
    App::new()
        .app_data(web::Data::new(state))
        .app_data(web::Data::new(verifier))
        .app_data(web::Data::new(sessions))
        .app_data(ecohub_http::json_config())
        .app_data(ecohub_http::query_config())
        .app_data(ecohub_http::path_config())
        .configure(ecohub_consents::configure)
        .wrap(from_fn(ecohub_http::problem_fallback))
        .wrap(from_fn(ecohub_http::interaction_id))
}

pub fn bearer(req: test::TestRequest, token: &str) -> test::TestRequest {
    req.insert_header(("authorization", format!("Bearer {token}")))
}

pub async fn read(res: ServiceResponse<impl MessageBody>) -> Res {
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let bytes = test::read_body(res).await;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Res {
        status,
        headers,
        text,
        body,
    }
}

/// A store whose appends, once armed, wait until `n` of them have arrived (so every racer
/// has loaded its state before any appends): concurrent commands really race.
pub struct RacingStore {
    pub inner: SharedStore,
    pub barrier: Mutex<Option<Arc<tokio::sync::Barrier>>>,
}

impl RacingStore {
    /// From now on, appends wait for each other in groups of `n` (`0` disarms).
    pub fn arm(&self, n: usize) {
        *self.barrier.lock().unwrap() = (n > 0).then(|| Arc::new(tokio::sync::Barrier::new(n)));
    }
}

#[async_trait]
impl ecohub_eventstore::EventStore for RacingStore {
    async fn append(
        &self,
        stream: &str,
        expected: ecohub_eventstore::ExpectedRevision,
        events: Vec<ecohub_eventstore::NewEvent>,
    ) -> Result<ecohub_eventstore::AppendResult, ecohub_eventstore::StoreError> {
        let barrier = self.barrier.lock().unwrap().clone();
        if let Some(barrier) = barrier {
            barrier.wait().await;
        }
        self.inner.append(stream, expected, events).await
    }
    async fn read_stream(
        &self,
        stream: &str,
        options: ecohub_eventstore::ReadStreamOptions,
    ) -> Result<Vec<RecordedEvent>, ecohub_eventstore::StoreError> {
        self.inner.read_stream(stream, options).await
    }
    async fn stream_revision(
        &self,
        stream: &str,
    ) -> Result<ecohub_eventstore::CurrentRevision, ecohub_eventstore::StoreError> {
        self.inner.stream_revision(stream).await
    }
    async fn read_all(
        &self,
        from: Option<Position>,
        filter: &ecohub_eventstore::EventFilter,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, ecohub_eventstore::StoreError> {
        self.inner.read_all(from, filter, limit).await
    }
    async fn subscribe_all(
        &self,
        from: Option<Position>,
        filter: ecohub_eventstore::EventFilter,
    ) -> Result<ecohub_eventstore::Subscription, ecohub_eventstore::StoreError> {
        self.inner.subscribe_all(from, filter).await
    }
    async fn head(&self) -> Result<Option<Position>, ecohub_eventstore::StoreError> {
        self.inner.head().await
    }
    async fn is_healthy(&self) -> bool {
        self.inner.is_healthy().await
    }
    async fn close(&self) -> Result<(), ecohub_eventstore::StoreError> {
        self.inner.close().await
    }
}

impl TestApp {
    /// An app whose store can be armed to make appends race.
    pub async fn racing() -> (Self, Arc<RacingStore>) {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("events.db");
        let inner: SharedStore =
            Arc::new(SqliteStore::open(&db, SqliteStoreOptions::default()).unwrap());
        let racing = Arc::new(RacingStore {
            inner,
            barrier: Mutex::new(None),
        });
        (Self::on(racing.clone(), dir, db), racing)
    }
}
