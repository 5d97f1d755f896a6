//! Wiring of the service crates: the authorization server's state, the token verifier every
//! protected route uses, the partners service with the authorization server behind its ports.
//! Services never depend on each other; this module is where they meet.
//!
//! A service is mounted in one place: [`build`] makes its state (and [`Services`] holds it),
//! [`Services::register`] puts that state in the app data its handlers extract, and
//! [`MOUNTED`] lists its routes and its OpenAPI document. `startup` and `openapi` only walk
//! those lists, so a new service touches this module and its config section, nothing else.

use std::net::SocketAddr;
use std::sync::Arc;

use actix_web::web;
use anyhow::Context;
use ecohub_auth::{AuthState, PairwiseResolver, TokenVerifier, TotpKeys};
use ecohub_consents::{ConsentsPorts, ConsentsState, OffboardingCascade};
use ecohub_eventstore::{EventStore, ProjectionHandle};
use ecohub_jose::KeyRing;
use ecohub_kernel::{Clock, Timestamp};
use ecohub_offers::{OffersPorts, OffersState};
use ecohub_partners::domain::PartnerId;
use ecohub_partners::{
    ApplicantTokens, IssuedToken, PartnersConfig, PartnersPorts, PartnersState, PortError,
    SoftwareStatementClaims, SoftwareStatements, StaffNames,
};
use ecohub_security::{SharedCustomerSessions, SharedStaffSessions, SharedVerifier};
use ecohub_sharing::{SharingPorts, SharingState, SharingTasks};

use crate::config::Settings;
use crate::consent_ports::{ConsentsAuthority, DirectoryLookup, RingReceipts, SharingDataUse};
use crate::offers_ports::{BankConsents, PartnerOfferConsents, PartnerRoles, SharedRecords};
use crate::sharing_ports::{ConsentStreams, PairwiseCustomers, PartnerStreams, RingSets};

/// The services' shared state, built once per process.
#[derive(Clone)]
pub struct Services {
    /// The authorization server.
    pub auth: AuthState,
    /// Verifies access tokens for every protected route.
    pub verifier: SharedVerifier,
    /// Resolves customer session cookies (the authorization server's login sessions).
    pub customer_sessions: SharedCustomerSessions,
    /// Resolves staff session cookies (people signed in to the console), for the console's
    /// pages and every protected route (ADR 0023).
    pub staff_sessions: SharedStaffSessions,
    /// Partner onboarding.
    pub partners: PartnersState,
    /// Consents: the partner and customer APIs, the dashboard, the compliance audit.
    pub consents: ConsentsState,
    /// Data sharing: catalogue, publishing, reads under consent, notifications.
    pub sharing: SharingState,
    /// Bundled offers: attributes, personas, propositions.
    pub offers: OffersState,
    /// Sharing's background work (its projections are also in the readiness list); stopped
    /// at shutdown.
    pub sharing_tasks: Arc<SharingTasks>,
}

/// A mounted service: its routes and its OpenAPI document.
#[derive(Debug, Clone, Copy)]
pub struct Mounted {
    /// The service crate, for logs and tests.
    pub name: &'static str,
    /// Registers its routes.
    pub configure: fn(&mut web::ServiceConfig),
    /// Its OpenAPI document, merged into the hub's.
    pub openapi: fn() -> utoipa::openapi::OpenApi,
}

/// Every service the hub mounts, in routing order: the one registration list.
pub const MOUNTED: [Mounted; 5] = [
    Mounted {
        name: "auth",
        configure: ecohub_auth::configure,
        openapi: <ecohub_auth::AuthApi as utoipa::OpenApi>::openapi,
    },
    Mounted {
        name: "partners",
        configure: ecohub_partners::configure,
        openapi: <ecohub_partners::PartnersApi as utoipa::OpenApi>::openapi,
    },
    Mounted {
        name: "consents",
        configure: ecohub_consents::configure,
        openapi: <ecohub_consents::ConsentsApi as utoipa::OpenApi>::openapi,
    },
    Mounted {
        name: "sharing",
        configure: ecohub_sharing::configure,
        openapi: <ecohub_sharing::SharingApi as utoipa::OpenApi>::openapi,
    },
    Mounted {
        name: "offers",
        configure: ecohub_offers::configure,
        openapi: <ecohub_offers::OffersApi as utoipa::OpenApi>::openapi,
    },
];

impl Services {
    /// Puts every service's state where its handlers extract it (`web::Data<…>`), with the
    /// verifier and the customer-session resolver that protected routes share.
    pub fn register(&self, cfg: &mut web::ServiceConfig) {
        cfg.app_data(web::Data::new(self.verifier.clone()))
            .app_data(web::Data::new(self.customer_sessions.clone()))
            .app_data(web::Data::new(self.staff_sessions.clone()))
            .app_data(web::Data::new(self.auth.clone()))
            .app_data(web::Data::new(self.partners.clone()))
            .app_data(web::Data::new(self.consents.clone()))
            .app_data(web::Data::new(self.sharing.clone()))
            .app_data(web::Data::new(self.offers.clone()));
    }
}

impl std::fmt::Debug for Services {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Services").finish_non_exhaustive()
    }
}

/// The authorization server's settings from the hub's configuration; the issuer defaults to
/// `http://<the address the server listens on>`.
pub fn auth_settings(settings: &Settings, listening: SocketAddr) -> ecohub_auth::AuthSettings {
    settings
        .auth
        .settings(format!("http://{listening}"), settings.production)
}

/// Builds every service on `store`, and the projections they need (returned for readiness).
pub fn build(
    settings: &Settings,
    listening: SocketAddr,
    store: Arc<dyn EventStore>,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<(Services, Vec<ProjectionHandle>)> {
    let ring = Arc::new(
        KeyRing::open(&settings.data_dir, clock.now()).with_context(|| {
            format!(
                "opening the signing keys under {}",
                settings.data_dir.display()
            )
        })?,
    );
    ecohub_auth::spawn_key_reloader(ring.clone(), ecohub_auth::KEY_RELOAD_PERIOD);
    // Beside the signing keys: what seals staff TOTP secrets (created on first enrolment).
    let totp_keys = Arc::new(TotpKeys::open(&settings.data_dir).with_context(|| {
        format!(
            "opening the staff TOTP keys under {}",
            settings.data_dir.display()
        )
    })?);
    let auth_settings = auth_settings(settings, listening);
    // Partners first: the consent service looks partners up in its read model.
    let partner_ports = Arc::new(AuthPorts {
        ring: ring.clone(),
        settings: auth_settings.clone(),
    });
    let (partners, directory) = PartnersState::new(
        store.clone(),
        clock.clone(),
        PartnersConfig {
            production: settings.production,
        },
        PartnersPorts {
            applicant_tokens: partner_ports.clone(),
            statements: partner_ports,
            staff_names: Arc::new(StaffDirectoryNames(ecohub_auth::StaffDirectory::new(
                store.clone(),
            ))),
        },
    );
    let mut projections = vec![ProjectionHandle::spawn(store.clone(), directory)];

    let (consents, consent_index) = ConsentsState::new(
        store.clone(),
        clock.clone(),
        consents_config(settings, &auth_settings),
        ConsentsPorts {
            partners: Arc::new(DirectoryLookup(partners.directory.clone())),
            receipts: Arc::new(RingReceipts {
                ring: ring.clone(),
                settings: auth_settings.clone(),
                clock: clock.clone(),
            }),
            data_use: Arc::new(SharingDataUse(store.clone())),
        },
    );
    projections.push(ProjectionHandle::spawn(store.clone(), consent_index));
    projections.push(ProjectionHandle::spawn(
        store.clone(),
        OffboardingCascade::new(consents.clone()),
    ));

    let auth = AuthState::new(
        store.clone(),
        clock.clone(),
        auth_settings,
        ecohub_auth::AuthPorts {
            ring,
            totp_keys,
            consents: Some(Arc::new(ConsentsAuthority(consents.clone()))),
        },
    );
    let verifier: SharedVerifier = Arc::new(TokenVerifier::from_state(&auth));
    let customer_sessions: SharedCustomerSessions =
        Arc::new(ecohub_auth::CustomerSessionResolver::from_state(&auth));
    let staff_sessions: SharedStaffSessions =
        Arc::new(ecohub_auth::StaffSessionResolver::from_state(&auth));

    let pairwise: Arc<dyn ecohub_auth::PairwiseLookup> =
        Arc::new(PairwiseResolver::new(store.clone()));
    let (sharing, sharing_projections) = SharingState::new(
        store.clone(),
        clock.clone(),
        sharing_config(settings, &auth.settings),
        SharingPorts {
            grants: Arc::new(ConsentStreams(consents.clone())),
            customers: Arc::new(PairwiseCustomers(pairwise.clone())),
            webhooks: Arc::new(PartnerStreams(partners.clone())),
            signer: Arc::new(RingSets {
                ring: auth.ring.clone(),
                clock: clock.clone(),
            }),
        },
    );
    let (offers, offers_projections) = OffersState::new(
        store.clone(),
        clock,
        settings.offers.clone(),
        OffersPorts {
            partners: Arc::new(PartnerRoles(partners.clone())),
            records: Arc::new(SharedRecords(sharing.clone())),
            consents: Arc::new(BankConsents(consents.clone())),
            offer_consents: Arc::new(PartnerOfferConsents(consents.clone())),
            staff_names: Arc::new(crate::offers_ports::StaffDirectoryNames(
                ecohub_auth::StaffDirectory::new(store.clone()),
            )),
            partner_names: Arc::new(crate::offers_ports::PartnerLegalNames(partners.clone())),
            moment_providers: Arc::new(crate::offers_ports::MomentSources {
                partners: partners.clone(),
                pairwise,
            }),
        },
    );
    if settings.offers.trigger_moments {
        projections.push(ProjectionHandle::spawn(
            store.clone(),
            ecohub_offers::TriggerProcessor::new(offers.clone()),
        ));
    }
    projections.push(ProjectionHandle::spawn(
        store.clone(),
        offers_projections.index,
    ));
    projections.push(ProjectionHandle::spawn(
        store.clone(),
        offers_projections.contacts,
    ));
    projections.push(ProjectionHandle::spawn(
        store.clone(),
        offers_projections.objections,
    ));
    let sharing_tasks = Arc::new(SharingTasks::spawn(store, &sharing, sharing_projections));
    projections.extend(sharing_tasks.projections.iter().cloned());
    Ok((
        Services {
            auth,
            verifier,
            customer_sessions,
            staff_sessions,
            partners,
            consents,
            sharing,
            offers,
            sharing_tasks,
        },
        projections,
    ))
}

/// The consent service's configuration from the hub's settings.
fn consents_config(
    settings: &Settings,
    auth: &ecohub_auth::AuthSettings,
) -> ecohub_consents::ConsentsConfig {
    let default_bank = ecohub_consents::ConsentsConfig::default().bank_name;
    ecohub_consents::ConsentsConfig {
        issuer: auth.issuer.clone(),
        // The brand names the bank in receipts unless the consents' own setting says otherwise.
        bank_name: if settings.consents.bank_name == default_bank {
            settings.brand.name.clone()
        } else {
            settings.consents.bank_name.clone()
        },
        ..settings.consents.clone()
    }
}

/// The sharing service's configuration from the hub's settings.
fn sharing_config(
    settings: &Settings,
    auth: &ecohub_auth::AuthSettings,
) -> ecohub_sharing::SharingConfig {
    ecohub_sharing::SharingConfig {
        issuer: auth.issuer.clone(),
        ..settings.sharing.clone()
    }
}

/// The authorization server's staff directory behind the partners service's `StaffNames`.
struct StaffDirectoryNames(ecohub_auth::StaffDirectory);

#[async_trait::async_trait]
impl StaffNames for StaffDirectoryNames {
    async fn display_names(
        &self,
        staff_ids: &[String],
    ) -> Result<Vec<(String, String)>, PortError> {
        self.0
            .display_names(staff_ids)
            .await
            .map_err(|e| PortError(e.to_string()))
    }
}

/// The authorization server behind the partners service's ports.
struct AuthPorts {
    ring: Arc<KeyRing>,
    settings: ecohub_auth::AuthSettings,
}

impl ApplicantTokens for AuthPorts {
    fn issue(&self, partner: PartnerId, now: Timestamp) -> Result<IssuedToken, PortError> {
        ecohub_auth::issue_applicant_token(&self.ring, &self.settings, &partner.to_string(), now)
            .map(|(access_token, expires_in)| IssuedToken {
                access_token,
                expires_in,
            })
            .map_err(|e| PortError(e.to_string()))
    }
}

impl SoftwareStatements for AuthPorts {
    fn issue(&self, claims: &SoftwareStatementClaims, now: Timestamp) -> Result<String, PortError> {
        let roles: Vec<String> = claims.roles.iter().map(|r| r.to_string()).collect();
        ecohub_auth::issue_partner_statement(
            &self.ring,
            &self.settings,
            &claims.partner_id.to_string(),
            &claims.org_name,
            &roles,
            &claims.scopes,
            &claims.redirect_uris,
            now,
        )
        .map_err(|e| PortError(e.to_string()))
    }
}
