//! The app under test, fakes and request helpers.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{test, web};
use async_trait::async_trait;
use ecohub_eventstore::{SharedStore, SqliteStore, SqliteStoreOptions, read_stream_to_end};
use ecohub_kernel::{ManualClock, PartnerId, Timestamp};
use ecohub_offers::{
    CustomerRecords, OffersConfig, OffersPorts, OffersState, PartnerStandings, PortError,
    ProfileConsents, ProfileRecord, ProviderGrant,
};
use ecohub_security::SharedVerifier;
use ecohub_testkit::http::service_app;
pub use ecohub_testkit::http::{Res, bearer, call};
use ecohub_testkit::{FakeVerifier, PrincipalExt, principal};
use serde_json::{Value, json};

pub const START: Timestamp = Timestamp::from_unix_seconds(1_800_000_000);

/// Two product managers (two people for maker-checker).
pub const PM1: &str = "pm-1";
pub const PM2: &str = "pm-2";
/// A compliance officer (no offers scope).
pub const AUDITOR: &str = "auditor";
/// The bank app's channel client (`offers:decide`).
pub const CHANNEL: &str = "channel";
/// An analyst: decides with explanations (`offers:decide offers:manage`).
pub const ANALYST: &str = "analyst";

/// The bank's data feed (`data:publish`, a client of no partner): publishes moments as the bank.
pub const BANK_FEED: &str = "bank-feed";

/// A data provider's token: `provider:<id>` (`data:publish`).
pub fn provider_token(id: &str) -> String {
    format!("provider:{id}")
}

/// A co-brand partner's token: `partner:<id>` (offers:read, offers:write).
pub fn partner_token(id: &str) -> String {
    format!("partner:{id}")
}

fn verifier() -> SharedVerifier {
    FakeVerifier::new()
        .token(PM1, principal("pm-1", &["offers:manage"]))
        .token(PM2, principal("pm-2", &["offers:manage"]))
        .token(AUDITOR, principal("auditor", &["audit"]))
        .token(CHANNEL, principal("bank-app", &["offers:decide"]))
        .token(
            ANALYST,
            principal("analyst", &["offers:decide", "offers:manage"]),
        )
        .token(
            "staff-client",
            principal("staff-client", &["offers:read", "offers:write"]),
        )
        .prefixed("partner:", |id| {
            principal(&format!("client-{id}"), &["offers:read", "offers:write"]).partner(id)
        })
        // `provider:<partner>`: a data provider's client (`data:publish`).
        .prefixed("provider:", |id| {
            principal(&format!("feed-{id}"), &["data:publish"]).partner(id)
        })
        // The bank's data feed: publishes as the bank.
        .token(BANK_FEED, principal("bank-feed", &["data:publish"]))
        // `app:<partner>:<consent>`: a co-brand partner's app with a consent-bound token.
        .prefixed("app:", |rest| {
            let (partner, consent) = rest.split_once(':').unwrap_or((rest, ""));
            principal(&format!("app-{partner}"), &["offers:read", "offers:write"])
                .partner(partner)
                .consent(consent)
        })
        .shared()
}

/// Moment providers: data providers and the pairwise ids they know customers by, as set here.
#[derive(Default)]
pub struct FakeMomentProviders {
    /// Partners with the active `data_provider` role.
    pub providers: Mutex<BTreeSet<PartnerId>>,
    /// (partner, pairwise id) → customer id.
    pub pairwise: Mutex<HashMap<(PartnerId, String), String>>,
}

impl FakeMomentProviders {
    /// `partner` is a data provider and knows `customer` as `pairwise`.
    pub fn knows(&self, partner: PartnerId, pairwise: &str, customer: &str) {
        self.providers.lock().unwrap().insert(partner);
        self.pairwise
            .lock()
            .unwrap()
            .insert((partner, pairwise.to_owned()), customer.to_owned());
    }
}

#[async_trait]
impl ecohub_offers::MomentProviders for FakeMomentProviders {
    async fn is_data_provider(&self, partner: PartnerId) -> Result<bool, PortError> {
        Ok(self.providers.lock().unwrap().contains(&partner))
    }

    async fn customer(
        &self,
        partner: PartnerId,
        pairwise_id: &str,
    ) -> Result<Option<String>, PortError> {
        Ok(self
            .pairwise
            .lock()
            .unwrap()
            .get(&(partner, pairwise_id.to_owned()))
            .cloned())
    }
}

/// Partner standing: every partner is active unless suspended here.
#[derive(Default)]
pub struct FakePartners {
    pub inactive: Mutex<BTreeSet<PartnerId>>,
}

#[async_trait]
impl PartnerStandings for FakePartners {
    async fn inactive(&self, partners: &[PartnerId]) -> Result<Vec<PartnerId>, PortError> {
        let inactive = self.inactive.lock().unwrap();
        Ok(partners
            .iter()
            .filter(|p| inactive.contains(p))
            .copied()
            .collect())
    }
}

/// Partners' names as the partners service would give them: those set here; while
/// `unavailable`, the port fails. Counts its calls (one per page).
#[derive(Default)]
pub struct FakePartnerNames {
    pub names: Mutex<HashMap<PartnerId, String>>,
    pub unavailable: std::sync::atomic::AtomicBool,
    pub calls: std::sync::atomic::AtomicUsize,
}

impl FakePartnerNames {
    /// `partner` is called `name`.
    pub fn name(&self, partner: &str, name: &str) {
        self.names
            .lock()
            .unwrap()
            .insert(PartnerId::parse(partner).unwrap(), name.to_owned());
    }

    /// How many times the port was asked.
    pub fn calls(&self) -> usize {
        self.calls.load(std::sync::atomic::Ordering::SeqCst)
    }
}

#[async_trait]
impl ecohub_offers::PartnerNames for FakePartnerNames {
    async fn names(&self, partners: &[PartnerId]) -> Result<Vec<(PartnerId, String)>, PortError> {
        self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if self.unavailable.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(PortError("partners unavailable".into()));
        }
        let names = self.names.lock().unwrap();
        Ok(partners
            .iter()
            .filter_map(|p| names.get(p).map(|n| (*p, n.clone())))
            .collect())
    }
}

/// Published records by (customer, dataset); datasets `customer_profile` and `travel_profile`
/// exist.
#[derive(Default)]
pub struct FakeRecords {
    pub records: Mutex<HashMap<(String, String), Vec<ProfileRecord>>>,
}

impl CustomerRecords for FakeRecords {
    fn dataset_exists(&self, dataset: &str) -> bool {
        matches!(dataset, "customer_profile" | "travel_profile")
    }
    fn records(&self, customer_id: &str, dataset: &str) -> Vec<ProfileRecord> {
        self.records
            .lock()
            .unwrap()
            .get(&(customer_id.to_owned(), dataset.to_owned()))
            .cloned()
            .unwrap_or_default()
    }

    /// The fake catalogue: `ReadTravelProfile` unlocks all of `travel_profile`; nothing
    /// unlocks `customer_profile` (the bank's own).
    fn partner_records(
        &self,
        customer_id: &str,
        dataset: &str,
        partner: PartnerId,
        permissions: &[String],
    ) -> Vec<ProfileRecord> {
        if dataset != "travel_profile" || !permissions.iter().any(|p| p == "ReadTravelProfile") {
            return Vec::new();
        }
        self.records(customer_id, dataset)
            .into_iter()
            .filter(|r| r.provider == partner.to_string())
            .collect()
    }
}

/// Consents letting a co-brand partner decide offers: consent id → (partner, customer).
#[derive(Default)]
pub struct FakeOfferConsents {
    pub consents: Mutex<HashMap<String, (PartnerId, String)>>,
    /// While set, `offer_partners` fails (the consents service unreachable).
    pub unavailable: std::sync::atomic::AtomicBool,
}

#[async_trait]
impl ecohub_offers::OfferConsents for FakeOfferConsents {
    async fn customer(
        &self,
        consent_id: &str,
        partner: PartnerId,
        _: Timestamp,
    ) -> Result<Option<String>, PortError> {
        Ok(self
            .consents
            .lock()
            .unwrap()
            .get(consent_id)
            .filter(|(p, _)| *p == partner)
            .map(|(_, c)| c.clone()))
    }

    async fn offer_partners(
        &self,
        customer_id: &str,
        _: Timestamp,
    ) -> Result<Vec<PartnerId>, PortError> {
        if self.unavailable.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(PortError("consents unavailable".into()));
        }
        let mut out: Vec<PartnerId> = self
            .consents
            .lock()
            .unwrap()
            .values()
            .filter(|(_, c)| c == customer_id)
            .map(|(p, _)| *p)
            .collect();
        out.sort();
        out.dedup();
        Ok(out)
    }
}

/// One consent to the bank: (customer, partner, permissions, expiry).
pub type BankGrant = (String, PartnerId, Vec<String>, Timestamp);

/// The customers' consents to the bank.
#[derive(Default)]
pub struct FakeConsents {
    pub grants: Mutex<Vec<BankGrant>>,
}

#[async_trait]
impl ProfileConsents for FakeConsents {
    async fn providers(
        &self,
        customer_id: &str,
        now: Timestamp,
    ) -> Result<Vec<ProviderGrant>, PortError> {
        Ok(self
            .grants
            .lock()
            .unwrap()
            .iter()
            .filter(|(c, _, _, expiry)| c == customer_id && now < *expiry)
            .map(|(_, partner, permissions, _)| ProviderGrant {
                partner: *partner,
                permissions: permissions.clone(),
            })
            .collect())
    }
}

/// Staff sessions of the console tests, by cookie value: `pat` and `sam` (product managers:
/// `offers:manage`), `ada` (a partnership manager: `admin` only), `carol` (a compliance
/// officer: `audit` only), `root` (an administrator: `admin`, `offers:manage` and `audit`),
/// `down` (sessions cannot be
/// checked now); any other cookie is invalid. CSRF tokens are `csrf-<cookie>`.
pub struct FakeConsoleSessions;

/// The staff id of the console tests' person `n` (1 pat, 2 sam, 3 ada, 4 carol, 5 root).
pub fn staff_id(n: u8) -> String {
    format!("0190f5c2-0000-7000-8000-0000000000a{n}")
}

#[async_trait(?Send)]
impl ecohub_security::StaffSessions for FakeConsoleSessions {
    async fn resolve(
        &self,
        cookie: &str,
    ) -> Result<ecohub_security::SessionStaff, ecohub_security::StaffSessionError> {
        let (n, name, role, scopes): (u8, &str, &str, &[&str]) = match cookie {
            "pat" => (1, "Pat <Product>", "product_manager", &["offers:manage"]),
            "sam" => (2, "Sam Second", "product_manager", &["offers:manage"]),
            "ada" => (3, "Ada Lovelace", "partnership_manager", &["admin"]),
            "carol" => (4, "Carol <Compliance>", "compliance_officer", &["audit"]),
            "root" => (
                5,
                "Root Admin",
                "administrator",
                &["admin", "offers:manage", "audit"],
            ),
            "down" => return Err(ecohub_security::StaffSessionError::Unavailable),
            _ => {
                return Err(ecohub_security::StaffSessionError::Invalid(
                    "unknown".into(),
                ));
            }
        };
        Ok(ecohub_security::SessionStaff {
            staff_id: staff_id(n),
            display_name: name.to_owned(),
            roles: [role.to_owned()].into_iter().collect(),
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            session_id: format!("sid-{cookie}"),
            csrf_token: format!("csrf-{cookie}"),
        })
    }
}

/// Names pat and sam (the directory knows nobody else).
struct FakeStaffNames;

#[async_trait]
impl ecohub_offers::StaffNames for FakeStaffNames {
    async fn display_names(&self, ids: &[String]) -> Result<Vec<(String, String)>, PortError> {
        Ok(ids
            .iter()
            .filter_map(|id| {
                let name = if *id == staff_id(1) {
                    "Pat <Product>"
                } else if *id == staff_id(2) {
                    "Sam Second"
                } else {
                    return None;
                };
                Some((id.clone(), name.to_owned()))
            })
            .collect())
    }
}

pub struct TestApp {
    pub store: SharedStore,
    pub clock: Arc<ManualClock>,
    pub partners: Arc<FakePartners>,
    pub records: Arc<FakeRecords>,
    pub consents: Arc<FakeConsents>,
    pub offer_consents: Arc<FakeOfferConsents>,
    pub moment_providers: Arc<FakeMomentProviders>,
    pub partner_names: Arc<FakePartnerNames>,
    pub state: OffersState,
    /// The trigger processor's handle (its status).
    pub triggers: ecohub_eventstore::ProjectionHandle,
    /// The index of customers' moments.
    pub moment_index: ecohub_eventstore::ProjectionHandle,
    _projections: Vec<ecohub_eventstore::ProjectionHandle>,
    _dir: tempfile::TempDir,
}

impl TestApp {
    pub async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store: SharedStore = Arc::new(
            SqliteStore::open(dir.path().join("events.db"), SqliteStoreOptions::default()).unwrap(),
        );
        let clock = Arc::new(ManualClock::at(START));
        let partners = Arc::new(FakePartners::default());
        let records = Arc::new(FakeRecords::default());
        let consents = Arc::new(FakeConsents::default());
        let offer_consents = Arc::new(FakeOfferConsents::default());
        let moment_providers = Arc::new(FakeMomentProviders::default());
        let partner_names = Arc::new(FakePartnerNames::default());
        let (state, projection) = OffersState::new(
            store.clone(),
            clock.clone(),
            OffersConfig::default(),
            OffersPorts {
                partners: partners.clone(),
                records: records.clone(),
                consents: consents.clone(),
                offer_consents: offer_consents.clone(),
                staff_names: Arc::new(FakeStaffNames),
                moment_providers: moment_providers.clone(),
                partner_names: partner_names.clone(),
            },
        );
        let index = vec![
            ecohub_eventstore::ProjectionHandle::spawn(store.clone(), projection.index),
            ecohub_eventstore::ProjectionHandle::spawn(store.clone(), projection.contacts),
            ecohub_eventstore::ProjectionHandle::spawn(store.clone(), projection.objections),
            ecohub_eventstore::ProjectionHandle::spawn(
                store.clone(),
                ecohub_offers::TriggerProcessor::new(state.clone()),
            ),
            ecohub_eventstore::ProjectionHandle::spawn(
                store.clone(),
                ecohub_offers::MomentIndexer::new(state.clone()),
            ),
        ];
        Self {
            store,
            clock,
            partners,
            records,
            consents,
            offer_consents,
            moment_providers,
            partner_names,
            state,
            triggers: index[3].clone(),
            moment_index: index[4].clone(),
            _projections: index,
            _dir: dir,
        }
    }

    /// Publishes a customer profile record as `provider`.
    pub fn profile(&self, customer: &str, provider: &str, data: Value) {
        self.records
            .records
            .lock()
            .unwrap()
            .entry((customer.to_owned(), "customer_profile".to_owned()))
            .or_default()
            .push(ProfileRecord {
                provider: provider.to_owned(),
                data: Arc::new(data),
            });
    }

    /// Publishes a `dataset` record as `provider`.
    pub fn publish(&self, customer: &str, dataset: &str, provider: &str, data: Value) {
        self.records
            .records
            .lock()
            .unwrap()
            .entry((customer.to_owned(), dataset.to_owned()))
            .or_default()
            .push(ProfileRecord {
                provider: provider.to_owned(),
                data: Arc::new(data),
            });
    }

    /// The customer lets the bank use `partner`'s data under `permissions` until `expiry`.
    pub fn consent_to_bank(
        &self,
        customer: &str,
        partner: &str,
        permissions: &[&str],
        expiry: Timestamp,
    ) {
        self.consents.grants.lock().unwrap().push((
            customer.to_owned(),
            PartnerId::parse(partner).unwrap(),
            permissions.iter().map(|p| (*p).to_owned()).collect(),
            expiry,
        ));
    }

    /// The customer's consents to the bank naming `partner` end.
    pub fn revoke_bank_consents(&self, customer: &str, partner: &str) {
        let partner = PartnerId::parse(partner).unwrap();
        self.consents
            .grants
            .lock()
            .unwrap()
            .retain(|(c, p, _, _)| !(c == customer && *p == partner));
    }

    pub async fn send(&self, req: test::TestRequest) -> Res {
        self.clock.advance(Duration::from_secs(1));
        let sessions: ecohub_security::SharedCustomerSessions =
            Arc::new(ecohub_testkit::FakeSessions);
        let staff: ecohub_security::SharedStaffSessions = Arc::new(FakeConsoleSessions);
        let app = service_app(verifier())
            .app_data(web::Data::new(sessions))
            .app_data(web::Data::new(staff))
            .app_data(web::Data::new(self.state.clone()))
            .configure(ecohub_offers::configure);
        call(app, req).await
    }

    /// A customer request (session cookie `session-<customer>`).
    pub async fn as_customer(&self, req: test::TestRequest, customer: &str) -> Res {
        self.send(req.cookie(actix_web::cookie::Cookie::new(
            ecohub_security::CUSTOMER_SESSION_COOKIE,
            format!("session-{customer}"),
        )))
        .await
    }

    pub async fn get(&self, uri: &str, token: &str) -> Res {
        self.send(bearer(test::TestRequest::get().uri(uri), token))
            .await
    }

    pub async fn put(&self, uri: &str, token: &str, body: Value) -> Res {
        self.send(bearer(
            test::TestRequest::put().uri(uri).set_json(body),
            token,
        ))
        .await
    }

    pub async fn post(&self, uri: &str, token: &str, body: Value) -> Res {
        self.send(bearer(
            test::TestRequest::post().uri(uri).set_json(body),
            token,
        ))
        .await
    }

    pub async fn post_empty(&self, uri: &str, token: &str) -> Res {
        self.send(bearer(test::TestRequest::post().uri(uri), token))
            .await
    }

    pub async fn delete(&self, uri: &str, token: &str, body: Value) -> Res {
        self.send(bearer(
            test::TestRequest::delete().uri(uri).set_json(body),
            token,
        ))
        .await
    }

    /// How many events the offers streams hold (nothing written on refusals).
    pub async fn events(&self, stream: &str) -> usize {
        read_stream_to_end(&*self.store, stream)
            .await
            .unwrap()
            .len()
    }

    /// The fixture attributes and the `globetrotter` and `prime` personas.
    pub async fn catalogue(&self) {
        for (name, body) in crate::fixtures::attributes() {
            let r = self
                .put(&format!("/offers/attributes/{name}"), PM1, body)
                .await;
            assert_eq!(r.status, 200, "{}", r.body);
        }
        for (name, condition) in [
            ("globetrotter", crate::fixtures::globetrotter()),
            ("prime", crate::fixtures::prime()),
        ] {
            let r = self
                .put(
                    &format!("/offers/personas/{name}"),
                    PM1,
                    json!({"title": name, "description": "fixture", "condition": condition}),
                )
                .await;
            assert_eq!(r.status, 200, "{}", r.body);
        }
    }

    /// Waits until the proposition list shows `n` propositions.
    pub async fn listed(&self, n: usize) -> Value {
        for _ in 0..200 {
            let r = self.get("/offers/propositions", PM1).await;
            if r.body["propositions"].as_array().map(Vec::len) == Some(n) {
                return r.body;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the proposition list never showed {n}");
    }

    /// Catalogue, and the Globetrotter loan co-branded by `partner`, published (drafted and
    /// submitted by PM1, approved by PM2, accepted by the partner); returns its id.
    pub async fn published_loan(&self, partner: &str) -> String {
        self.published(partner, crate::fixtures::globetrotter_loan(partner))
            .await
    }

    /// Drafts `doc` (co-branded by `partner`), has it approved, accepted and published.
    pub async fn published(&self, partner: &str, doc: Value) -> String {
        self.catalogue().await;
        let created = self.post("/offers/propositions", PM1, doc).await;
        assert_eq!(created.status, 201, "{}", created.text);
        let url = created.header("location").unwrap().to_owned();
        let id = url.rsplit('/').next().unwrap().to_owned();
        self.post_empty(&format!("{url}/versions/1/submit"), PM1)
            .await;
        self.post_empty(&format!("{url}/versions/1/approve"), PM2)
            .await;
        self.send(bearer(
            test::TestRequest::put()
                .uri(&format!("/partner/propositions/{id}/versions/1/acceptance")),
            &partner_token(partner),
        ))
        .await;
        let published = self
            .post_empty(&format!("{url}/versions/1/publish"), PM2)
            .await;
        assert_eq!(published.status, 200, "{}", published.text);
        id
    }
}
