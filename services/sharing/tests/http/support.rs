//! The app under test (the sharing routes with the hub's middleware, against a real embedded
//! store in a temporary directory), fake ports, a fake token verifier and request helpers.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{test, web};
use async_trait::async_trait;
use ecohub_eventstore::{
    EventFilter, Position, ProjectionHandle, RecordedEvent, SharedStore, SqliteStore,
    SqliteStoreOptions,
};
use ecohub_http::{IdempotencyConfig, InMemoryIdempotencyStore, SharedIdempotencyStore};
use ecohub_kernel::{ManualClock, Timestamp};
use ecohub_security::SharedVerifier;
use ecohub_sharing::{
    ConsentGrant, ConsentGrants, Customers, PartnerWebhooks, PortError, SetSigner, SharingConfig,
    SharingPorts, SharingState,
};
use ecohub_testkit::http::service_app;
pub use ecohub_testkit::http::{Res, call, with_token};
use ecohub_testkit::{FakeVerifier, FaultyStore, PrincipalExt, principal};
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

/// The tokens above: `bank`, `admin`, `auditor`, `recipient:<partner>:<consent>` (subject
/// `pairwise-<consent>`), `unbound:<partner>`, `provider:<partner>`; anything else is invalid.
fn verifier() -> SharedVerifier {
    FakeVerifier::new()
        .token(BANK_TOKEN, principal("bank-core", &["data:publish"]))
        .token(ADMIN_TOKEN, principal("staff-a", &["admin"]))
        .token(AUDITOR_TOKEN, principal("auditor-1", &["audit"]))
        .prefixed("recipient:", |rest| {
            let (partner, consent) = rest.split_once(':').unwrap();
            principal(&format!("client-{partner}"), &["data:read"])
                .subject(&format!("pairwise-{consent}"))
                .partner(partner)
                .consent(consent)
        })
        .prefixed("unbound:", |partner| {
            principal(&format!("client-{partner}"), &["data:read"])
                .subject("x")
                .partner(partner)
        })
        .prefixed("provider:", |partner| {
            principal(
                &format!("client-{partner}"),
                &["data:publish", "webhooks:manage"],
            )
            .partner(partner)
        })
        .shared()
}

/// The sharing routes over `state` with the hub's middleware and the fake verifier.
pub fn app(
    state: SharingState,
    idempotency: SharedIdempotencyStore,
) -> actix_web::App<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    service_app(verifier())
        .app_data(web::Data::new(idempotency))
        .app_data(web::Data::new(state))
        .configure(ecohub_sharing::configure)
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

    async fn pairwise_of(
        &self,
        partner_id: &str,
        customer_id: &str,
    ) -> Result<Option<String>, PortError> {
        Ok(self
            .0
            .lock()
            .unwrap()
            .iter()
            .find(|((p, _), c)| p == partner_id && *c == customer_id)
            .map(|((_, pairwise), _)| pairwise.clone()))
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

/// The service under test.
pub struct TestApp {
    pub store: SharedStore,
    /// The store under `store`: arm it to make appends fail.
    pub flaky: Arc<FaultyStore>,
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
        let flaky = FaultyStore::new(sqlite.clone());
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
            ProjectionHandle::spawn(sqlite.clone(), projections.access_index),
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
        call(app(self.state.clone(), self.idempotency.clone()), req).await
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
