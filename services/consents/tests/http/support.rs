//! The app under test, fakes and request helpers.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{test, web};
use ecohub_consents::domain::PartnerId;
use ecohub_consents::{
    ActionContext, ConsentsConfig, ConsentsPorts, ConsentsState, CustomerRef, DataUse, DataUseLog,
    PartnerInfo, PartnerLookup, ReceiptSigner,
};
use ecohub_eventstore::{
    Position, ProjectionHandle, RecordedEvent, SharedStore, SqliteStore, SqliteStoreOptions,
    read_stream_to_end,
};
use ecohub_kernel::{Clock, ManualClock, Timestamp};
use ecohub_security::{SharedCustomerSessions, SharedVerifier};
use ecohub_testkit::http::service_app;
pub use ecohub_testkit::http::{Res, bearer, call};
use ecohub_testkit::{FakeVerifier, FaultyStore, PrincipalExt, principal};
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

/// `auditor` (audit), `partner:<id>` (consents:write and consents:read), `reader:<id>`
/// (consents:read); anything else is invalid.
fn verifier() -> SharedVerifier {
    FakeVerifier::new()
        .token(AUDITOR, principal("auditor-client", &["audit"]))
        .prefixed("partner:", |id| {
            principal(
                &format!("client-{id}"),
                &["consents:write", "consents:read"],
            )
            .partner(id)
        })
        .prefixed("reader:", |id| {
            principal(&format!("reader-{id}"), &["consents:read"]).partner(id)
        })
        .shared()
}

pub fn csrf(customer: &str) -> String {
    ecohub_testkit::fake_csrf(customer)
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

    fn data_providers(&self) -> Vec<(PartnerId, PartnerInfo)> {
        let mut out: Vec<_> = self
            .partners
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, p)| p.active && p.data_provider)
            .map(|(id, p)| (*id, p.clone()))
            .collect();
        out.sort_by_key(|(id, _)| *id);
        out
    }
}

/// "Signs" as `signed.<claims json>`.
pub struct FakeSigner;

impl ReceiptSigner for FakeSigner {
    fn sign(&self, claims: &Value) -> Result<String, String> {
        Ok(format!("signed.{claims}"))
    }
}

/// Data uses recorded by consent id (what the sharing service would have recorded).
#[derive(Default)]
pub struct FakeDataUse(pub std::sync::Mutex<std::collections::HashMap<String, Vec<DataUse>>>);

impl FakeDataUse {
    /// Records a use of `consent`.
    pub fn record(&self, consent: &str, use_: DataUse) {
        self.0
            .lock()
            .unwrap()
            .entry(consent.to_owned())
            .or_default()
            .insert(0, use_);
    }
}

#[async_trait::async_trait]
impl DataUseLog for FakeDataUse {
    async fn uses(&self, consent_id: &str, limit: usize) -> Result<(Vec<DataUse>, bool), String> {
        let all = self
            .0
            .lock()
            .unwrap()
            .get(consent_id)
            .cloned()
            .unwrap_or_default();
        let more = all.len() > limit;
        Ok((all.into_iter().take(limit).collect(), more))
    }
}

pub struct TestApp {
    pub store: SharedStore,
    pub clock: Arc<ManualClock>,
    pub partners: Arc<FakePartners>,
    pub data_use: Arc<FakeDataUse>,
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
        let data_use = Arc::new(FakeDataUse::default());
        let (state, projection) = ConsentsState::new(
            store.clone(),
            clock.clone(),
            ConsentsConfig::default(),
            ConsentsPorts {
                partners: partners.clone(),
                receipts: Arc::new(FakeSigner),
                data_use: data_use.clone(),
            },
        );
        let index = ProjectionHandle::spawn(store.clone(), projection);
        Self {
            store,
            clock,
            partners,
            data_use,
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
        let sessions: SharedCustomerSessions = Arc::new(ecohub_testkit::FakeSessions);
        let app = service_app(verifier())
            .app_data(web::Data::new(sessions))
            .app_data(web::Data::new(self.state.clone()))
            .configure(ecohub_consents::configure);
        call(app, req).await
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

impl TestApp {
    /// An app whose store can be armed to make appends race.
    pub async fn racing() -> (Self, Arc<FaultyStore>) {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("events.db");
        let inner: SharedStore =
            Arc::new(SqliteStore::open(&db, SqliteStoreOptions::default()).unwrap());
        let faulty = FaultyStore::new(inner);
        (Self::on(faulty.clone(), dir, db), faulty)
    }
}
