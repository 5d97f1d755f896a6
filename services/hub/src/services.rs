//! Wiring of the service crates: the authorization server's state, the token verifier every
//! protected route uses, the partners service with the authorization server behind its ports.
//! Services never depend on each other; this module is where they meet.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use ecohub_auth::{AuthState, KeyRing, TokenVerifier};
use ecohub_eventstore::{EventStore, ProjectionHandle};
use ecohub_kernel::{Clock, Timestamp};
use ecohub_partners::domain::PartnerId;
use ecohub_partners::{
    ApplicantTokens, IssuedToken, PartnerDirectory, PartnersConfig, PartnersState, PortError,
    SoftwareStatementClaims, SoftwareStatements,
};
use ecohub_security::{SharedCustomerSessions, SharedVerifier};

use crate::config::Settings;

/// The services' shared state, built once per process.
#[derive(Clone)]
pub struct Services {
    /// The authorization server.
    pub auth: AuthState,
    /// Verifies access tokens for every protected route.
    pub verifier: SharedVerifier,
    /// Resolves customer session cookies (the authorization server's login sessions).
    pub customer_sessions: SharedCustomerSessions,
    /// Partner onboarding.
    pub partners: PartnersState,
}

impl std::fmt::Debug for Services {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Services").finish_non_exhaustive()
    }
}

/// The authorization server's settings from the hub's configuration; the issuer defaults to
/// `http://<the address the server listens on>`.
pub fn auth_settings(settings: &Settings, listening: SocketAddr) -> ecohub_auth::AuthSettings {
    let issuer = settings
        .auth
        .issuer
        .clone()
        .unwrap_or_else(|| format!("http://{listening}"));
    let mut auth = ecohub_auth::AuthSettings::new(issuer);
    auth.access_token_lifetime = Duration::from_secs(settings.auth.access_token_lifetime_secs);
    auth.production = settings.production;
    auth
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
    let auth_settings = auth_settings(settings, listening);
    let auth = AuthState::new(
        store.clone(),
        clock.clone(),
        ring.clone(),
        auth_settings.clone(),
    );
    let verifier: SharedVerifier = Arc::new(TokenVerifier::from_state(&auth));
    let customer_sessions: SharedCustomerSessions =
        Arc::new(ecohub_auth::CustomerSessionResolver::from_state(&auth));

    let (directory, reader) = PartnerDirectory::new();
    let projections = vec![ProjectionHandle::spawn(store.clone(), directory)];
    let ports = Arc::new(AuthPorts {
        ring,
        settings: auth_settings,
    });
    let partners = PartnersState {
        store,
        clock,
        applicant_tokens: ports.clone(),
        statements: ports,
        config: PartnersConfig {
            production: settings.production,
        },
        directory: reader,
    };
    Ok((
        Services {
            auth,
            verifier,
            customer_sessions,
            partners,
        },
        projections,
    ))
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
