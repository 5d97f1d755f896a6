//! The app under test (the sharing routes with the hub's middleware, against a real embedded
//! store in a temporary directory), fake ports, a fake token verifier and request helpers.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
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
    SqliteStoreOptions, StoreError, Subscription,
};
use ecohub_http::{IdempotencyConfig, InMemoryIdempotencyStore, SharedIdempotencyStore};
use ecohub_kernel::{ManualClock, Timestamp};
use ecohub_security::{AccessTokenVerifier, AuthError, PresentedToken, Principal, SharedVerifier};
use ecohub_sharing::{
    ConsentGrant, ConsentGrants, Customers, PartnerWebhooks, PortError, SetSigner, SharingConfig,
    SharingPorts, SharingState,
};
use serde_json::Value;

/// When the test clock starts (2027-01-15T08:00:00Z).
pub const START: Timestamp = Timestamp::from_unix_seconds(1_800_000_000);

/// The recipient partner's id.
pub const RECIPIENT: &str = "0190f0c4-0000-7000-8000-00000000aaaa";
/// Another recipient.
pub const OTHER_RECIPIENT: &str = "0190f0c4-0000-7000-8000-00000000bbbb";
/// A travel partner publishing `travel_profile`.
pub const TRAVELCO: &str = "0190f0c4-0000-7000-8000-00000000cccc";
/// The customer (hub-internal id).
pub const CUSTOMER: &str = "cust-internal-1";
/// Another customer.
pub const OTHER_CUSTOMER: &str = "cust-internal-2";
/// The customer's pairwise id at TRAVELCO.
pub const CUSTOMER_AT_TRAVELCO: &str = "pw-travelco-1";

/// Token of a recipient client bound to `consent`.
pub fn recipient_token(partner: &str, consent: &str) -> String {
    format!("recipient:{partner}:{consent}")
}
/// Token of a recipient client with `data:read` but no consent.
pub fn unbound_token(partner: &str) -> String {
    format!("unbound:{partner}")
}
/// Token of a partner provider (data:publish, webhooks:manage).
pub fn provider_token(partner: &str) -> String {
    format!("provider:{partner}")
}
/// The bank's publishing client (admin + data:publish, no partner).
pub const BANK_TOKEN: &str = "bank";
/// A staff admin token.
pub const ADMIN_TOKEN: &str = "admin";
/// A compliance auditor.
pub const AUDITOR_TOKEN: &str = "auditor";

struct FakeVerifier;

#[async_trait(?Send)]
impl AccessTokenVerifier for FakeVerifier {
    async fn verify(&self, presented: &PresentedToken) -> Result<Principal, AuthError> {
        let token = presented.token.as_str();
        let p = |client: &str,
                 subject: &str,
                 partner: Option<&str>,
                 consent: Option<&str>,
                 scopes: &[&str]| Principal {
            client_id: client.to_owned(),
            subject: subject.to_owned(),
            partner_id: partner.map(str::to_owned),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            token_id: format!("jti-{token}"),
            consent_id: consent.map(str::to_owned),
        };
        if token == BANK_TOKEN {
            return Ok(p(
                "bank-core",
                "bank-core",
                None,
                None,
                &["admin", "data:publish"],
            ));
        }
        if token == ADMIN_TOKEN {
            return Ok(p("staff-a", "staff-a", None, None, &["admin"]));
        }
        if token == AUDITOR_TOKEN {
            return Ok(p("auditor-1", "auditor-1", None, None, &["audit"]));
        }
        if let Some(rest) = token.strip_prefix("recipient:") {
            let (partner, consent) = rest.split_once(':').unwrap();
            return Ok(p(
                &format!("client-{partner}"),
                &format!("pairwise-{consent}"),
                Some(partner),
                Some(consent),
                &["data:read"],
            ));
        }
        if let Some(partner) = token.strip_prefix("unbound:") {
            return Ok(p(
                &format!("client-{partner}"),
                "x",
                Some(partner),
                None,
                &["data:read"],
            ));
        }
        if let Some(partner) = token.strip_prefix("provider:") {
            return Ok(p(
                &format!("client-{partner}"),
                &format!("client-{partner}"),
                Some(partner),
                None,
                &["data:publish", "webhooks:manage"],
            ));
        }
        Err(AuthError::InvalidToken("unknown token".into()))
    }
}

/// Consent grants held in memory; `revoke` makes `grant` answer `None`, like an exact read
/// of a revoked consent.
#[derive(Default)]
pub struct FakeGrants {
    pub grants: Mutex<HashMap<String, ConsentGrant>>,
    pub down: AtomicBool,
}

impl FakeGrants {
    pub fn put(&self, grant: ConsentGrant) {
        self.grants
            .lock()
            .unwrap()
            .insert(grant.consent_id.clone(), grant);
    }
    pub fn revoke(&self, consent_id: &str) {
        self.grants.lock().unwrap().remove(consent_id);
    }
}

#[async_trait]
impl ConsentGrants for FakeGrants {
    async fn grant(
        &self,
        consent_id: &str,
        now: Timestamp,
    ) -> Result<Option<ConsentGrant>, PortError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(PortError("consents unavailable".into()));
        }
        Ok(self
            .grants
            .lock()
            .unwrap()
            .get(consent_id)
            .filter(|g| g.expires_at > now)
            .cloned())
    }
}

/// Pairwise ids: `(partner, pairwise) → internal`.
#[derive(Default)]
pub struct FakeCustomers(pub Mutex<HashMap<(String, String), String>>);

#[async_trait]
impl Customers for FakeCustomers {
    async fn resolve(
        &self,
        partner_id: &str,
        pairwise_id: &str,
    ) -> Result<Option<String>, PortError> {
        Ok(self
            .0
            .lock()
            .unwrap()
            .get(&(partner_id.to_owned(), pairwise_id.to_owned()))
            .cloned())
    }
}

/// Registered webhooks by partner.
#[derive(Default)]
pub struct FakeWebhooks(pub Mutex<HashMap<String, Vec<String>>>);

#[async_trait]
impl PartnerWebhooks for FakeWebhooks {
    async fn webhooks(&self, partner_id: &str) -> Result<Vec<String>, PortError> {
        Ok(self
            .0
            .lock()
            .unwrap()
            .get(partner_id)
            .cloned()
            .unwrap_or_default())
    }
}

/// "Signs" as `set.<claims json>` so tests can read the claims back.
pub struct FakeSigner;

impl SetSigner for FakeSigner {
    fn sign(&self, claims: &Value) -> Result<String, PortError> {
        Ok(format!("set.{claims}"))
    }
}

/// A store whose appends to streams starting with a prefix fail while armed.
pub struct FlakyStore {
    inner: SharedStore,
    pub fail_prefix: Mutex<Option<String>>,
}

#[async_trait]
impl EventStore for FlakyStore {
    async fn append(
        &self,
        stream: &str,
        expected: ExpectedRevision,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult, StoreError> {
        let prefix = self.fail_prefix.lock().unwrap().clone();
        if prefix.is_some_and(|p| stream.starts_with(&p)) {
            return Err(StoreError::Unavailable("disk gone".into()));
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
    pub text: String,
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
            Some("application/problem+json")
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

/// The service under test.
pub struct TestApp {
    pub store: SharedStore,
    pub flaky: Arc<FlakyStore>,
    pub clock: Arc<ManualClock>,
    pub grants: Arc<FakeGrants>,
    pub customers: Arc<FakeCustomers>,
    pub webhooks: Arc<FakeWebhooks>,
    pub state: SharingState,
    pub projections: Vec<ProjectionHandle>,
    pub idempotency: SharedIdempotencyStore,
    _dir: tempfile::TempDir,
}

impl TestApp {
    pub async fn new() -> Self {
        Self::with(SharingConfig::default()).await
    }

    pub async fn with(config: SharingConfig) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let sqlite: SharedStore = Arc::new(
            SqliteStore::open(dir.path().join("events.db"), SqliteStoreOptions::default()).unwrap(),
        );
        let flaky = Arc::new(FlakyStore {
            inner: sqlite.clone(),
            fail_prefix: Mutex::new(None),
        });
        let store: SharedStore = flaky.clone();
        let clock = Arc::new(ManualClock::at(START));
        let grants = Arc::new(FakeGrants::default());
        let customers = Arc::new(FakeCustomers::default());
        customers.0.lock().unwrap().insert(
            (TRAVELCO.to_owned(), CUSTOMER_AT_TRAVELCO.to_owned()),
            CUSTOMER.to_owned(),
        );
        let webhooks = Arc::new(FakeWebhooks::default());
        let ports = SharingPorts {
            grants: grants.clone(),
            customers: customers.clone(),
            webhooks: webhooks.clone(),
            signer: Arc::new(FakeSigner),
        };
        let (state, projections) = SharingState::new(store.clone(), clock.clone(), config, ports);
        let projections = vec![
            ProjectionHandle::spawn(sqlite.clone(), projections.catalogue),
            ProjectionHandle::spawn(sqlite.clone(), projections.records),
            ProjectionHandle::spawn(sqlite.clone(), projections.notifications),
            ProjectionHandle::spawn(sqlite.clone(), projections.dispatcher),
        ];
        Self {
            store,
            flaky,
            clock,
            grants,
            customers,
            webhooks,
            state,
            projections,
            idempotency: Arc::new(InMemoryIdempotencyStore::new(IdempotencyConfig::default())),
            _dir: dir,
        }
    }

    /// Grants `consent` to `partner` over CUSTOMER with these permissions, from the bank.
    pub fn consent(
        &self,
        consent: &str,
        partner: &str,
        permissions: &[&str],
        providers: &[&str],
    ) -> ConsentGrant {
        let grant = ConsentGrant {
            consent_id: consent.to_owned(),
            partner_id: partner.to_owned(),
            customer_id: CUSTOMER.to_owned(),
            permissions: permissions
                .iter()
                .map(|s| s.to_string())
                .collect::<BTreeSet<_>>(),
            transaction_from: None,
            transaction_to: None,
            data_providers: providers.iter().map(|s| s.to_string()).collect(),
            expires_at: START.plus(Duration::from_secs(90 * 24 * 3600)),
        };
        self.grants.put(grant.clone());
        grant
    }

    /// Sends `req` (the clock moves one second first).
    pub async fn send(&self, req: test::TestRequest) -> Res {
        self.clock.advance(Duration::from_secs(1));
        let app = test::init_service(app(self.state.clone(), self.idempotency.clone())).await;
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

    pub async fn put(&self, uri: &str, token: Option<&str>, body: Value) -> Res {
        self.send(with_token(
            test::TestRequest::put().uri(uri).set_json(body),
            token,
        ))
        .await
    }

    pub async fn delete(&self, uri: &str, token: Option<&str>) -> Res {
        self.send(with_token(test::TestRequest::delete().uri(uri), token))
            .await
    }

    /// The head of the global log (to check that nothing was written).
    pub async fn head(&self) -> Option<Position> {
        self.store.head().await.unwrap()
    }

    /// Waits until the read models have applied everything written so far.
    pub async fn caught_up(&self) {
        let head = self.head().await;
        for p in &self.projections {
            tokio::time::timeout(Duration::from_secs(10), p.wait_for(head))
                .await
                .expect("projection caught up");
        }
    }

    /// Waits until every projection, the dispatcher included, has applied everything and
    /// the dispatcher has queued nothing more.
    pub async fn settled(&self) {
        loop {
            let before = self.head().await;
            self.caught_up().await;
            if self.head().await == before {
                self.caught_up().await;
                return;
            }
        }
    }

    /// Every event of the global log whose stream starts with `prefix`.
    pub async fn events(&self, prefix: &str) -> Vec<RecordedEvent> {
        self.store
            .read_all(None, &EventFilter::streams([prefix]), usize::MAX)
            .await
            .unwrap()
    }

    /// The bank publishes `records` (`[(id, data)]`) for `customer` into `dataset`.
    pub async fn bank_publishes(
        &self,
        dataset: &str,
        customer: &str,
        records: &[(&str, Value)],
    ) -> Res {
        let records: Vec<Value> = records
            .iter()
            .map(|(id, data)| serde_json::json!({"id": id, "data": data}))
            .collect();
        let res = self
            .post(
                &format!("/data/{dataset}/records"),
                Some(BANK_TOKEN),
                serde_json::json!({"customer_id": customer, "records": records}),
            )
            .await;
        assert_eq!(res.status, 200, "{}", res.text);
        self.settled().await;
        res
    }
}

/// The sharing routes, wired as the hub wires them.
pub fn app(
    state: SharingState,
    idempotency: SharedIdempotencyStore,
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
        .app_data(web::Data::new(idempotency))
        .app_data(web::Data::new(IdempotencyConfig::default()))
        .app_data(ecohub_http::json_config())
        .app_data(ecohub_http::query_config())
        .app_data(ecohub_http::path_config())
        .configure(ecohub_sharing::configure)
        .wrap(from_fn(ecohub_http::idempotency))
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
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Res {
        status,
        headers,
        body,
        text,
    }
}

/// A valid account record.
pub fn account(id: &str) -> Value {
    serde_json::json!({
        "account_id": id, "currency": "EUR", "account_type": "personal",
        "nickname": "Main", "iban": "DE89370400440532013000", "holder_name": "Ada Lovelace"
    })
}

/// A valid transaction record.
pub fn transaction(account: &str, amount: &str, direction: &str, at: &str) -> Value {
    serde_json::json!({
        "account_id": account, "amount": amount, "currency": "EUR",
        "credit_debit_indicator": direction, "booking_time": at, "status": "booked",
        "merchant_name": "Cafe Central", "remittance_information": "coffee"
    })
}
