//! The app under test (the partner routes with the hub's middleware and extractor configs,
//! against a real embedded store in a temporary directory), a fake token verifier, fake
//! ports and request helpers.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::{App, test, web};
use ecohub_eventstore::{
    Position, ProjectionHandle, RecordedEvent, SharedStore, SqliteStore, SqliteStoreOptions,
    read_stream_to_end,
};
use ecohub_kernel::{ManualClock, Timestamp};
use ecohub_partners::domain::PartnerId;
use ecohub_partners::{
    ApplicantTokens, IssuedToken, PartnersConfig, PartnersPorts, PartnersState, PortError,
    SoftwareStatementClaims, SoftwareStatements, StaffNames,
};
use ecohub_security::SharedVerifier;
use ecohub_testkit::http::service_app;
pub use ecohub_testkit::http::{Res, call, read, with_token};
use ecohub_testkit::{FakeVerifier, FaultyStore, PrincipalExt, principal};
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
fn verifier() -> SharedVerifier {
    [STAFF_A, STAFF_B, STAFF_C]
        .into_iter()
        .fold(FakeVerifier::new(), |v, staff| {
            v.token(staff, principal(staff, &["admin"]))
        })
        .token(NO_SCOPE, principal("client-no-scope", &[]))
        .prefixed("partner:", |id| {
            principal(
                &format!("client-{id}"),
                &["partner:read", "webhooks:manage", "consents:read"],
            )
            .partner(id)
        })
        .prefixed("applicant:", |id| {
            principal(&format!("applicant-{id}"), &["partner:read"]).partner(id)
        })
        .shared()
}

pub use ecohub_testkit::fake_staff_id as staff_id;

/// Names the testkit's fake staff people (1 Ada Lovelace, 2 Grace Hopper); others unknown.
struct FakeStaffNames;

#[async_trait::async_trait]
impl StaffNames for FakeStaffNames {
    async fn display_names(&self, ids: &[String]) -> Result<Vec<(String, String)>, PortError> {
        Ok(ids
            .iter()
            .filter_map(|id| {
                let name = if *id == staff_id(1) {
                    "Ada Lovelace"
                } else if *id == staff_id(2) {
                    "Grace Hopper"
                } else {
                    return None;
                };
                Some((id.clone(), name.to_owned()))
            })
            .collect())
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

/// The partner service under test: its state, store, clock, fakes and directory runner.
pub struct TestApp {
    pub store: SharedStore,
    pub clock: Arc<ManualClock>,
    pub statements: Arc<FakeStatements>,
    pub directory: ProjectionHandle,
    pub state: PartnersState,
    /// The store under `store`: arm it to make appends race or fail.
    pub faulty: Arc<FaultyStore>,
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
        let faulty = FaultyStore::new(sqlite.clone());
        let store: SharedStore = faulty.clone();
        let clock = Arc::new(ManualClock::at(START));
        let statements = Arc::new(FakeStatements::default());
        let (state, projection) = PartnersState::new(
            store.clone(),
            clock.clone(),
            config,
            PartnersPorts {
                applicant_tokens: Arc::new(FakeApplicantTokens),
                statements: statements.clone(),
                staff_names: Arc::new(FakeStaffNames),
            },
        );
        let directory = ProjectionHandle::spawn(sqlite, projection);
        Self {
            store,
            clock,
            statements,
            directory,
            state,
            faulty,
            _dir: dir,
        }
    }

    /// Sends `req` (the clock moves one second first, so ids and times are ordered).
    pub async fn send(&self, req: test::TestRequest) -> Res {
        self.clock.advance(Duration::from_secs(1));
        call(self.app(), req).await
    }

    /// The partner routes, wired as the hub wires them.
    pub fn app(
        &self,
    ) -> App<
        impl ServiceFactory<
            ServiceRequest,
            Config = (),
            Response = ServiceResponse<impl MessageBody + use<>>,
            Error = actix_web::Error,
            InitError = (),
        > + use<>,
    > {
        service_app(verifier())
            .app_data(web::Data::new(self.state.clone()))
            .configure(ecohub_partners::configure)
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
