//! What every endpoint of the authorization server shares.

use std::sync::Arc;

use ecohub_eventstore::SharedStore;
use ecohub_kernel::Clock;

use super::totp_keys::TotpKeys;
use crate::settings::AuthSettings;
use ecohub_jose::keys::KeyRing;
use ecohub_jose::replay::JtiReplayGuard;

/// The authorization server's state, in actix app data as `web::Data<AuthState>`.
#[derive(Clone)]
pub struct AuthState {
    /// The event store (clients, partner streams, revocations, replay markers).
    pub store: SharedStore,
    /// Where `now` comes from.
    pub clock: Arc<dyn Clock>,
    /// The hub's signing keys.
    pub ring: Arc<KeyRing>,
    /// The keys that seal staff TOTP secrets (`<data_dir>/totp-keys`).
    pub totp_keys: Arc<TotpKeys>,
    /// Issuer, audience, lifetimes, production mode.
    pub settings: AuthSettings,
    /// `jti` replay guard for client assertions and DPoP proofs at the token endpoint
    /// (production: [`super::replay_log::StoreReplayGuard`], exact across instances).
    pub replay: Arc<dyn JtiReplayGuard>,
    /// Who signs customers in (default: the built-in directory on `store`).
    pub customers: super::customers::SharedCustomerAuthenticator,
    /// The consent service behind its port; without it, pushed authorisation requests answer
    /// `temporarily_unavailable` and consent-bound tokens are refused.
    pub consents: Option<Arc<dyn super::consent_port::ConsentAuthority>>,
    /// Client registrations and partner standings, remembered while the store's head has
    /// not moved.
    pub(crate) clients: Arc<super::client_cache::ClientCache>,
    /// Client secret checks: digests, legacy argon2 hashes (remembered, single-flight) and
    /// the per-client-id throttle of failures.
    pub secrets: Arc<super::secrets::SecretCheck>,
}

impl std::fmt::Debug for AuthState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthState")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// What the authorization server is given: the hub's signing keys (shared with the ports
/// that sign receipts and event notifications), the keys that seal staff TOTP secrets, and
/// the consent service behind its port.
#[derive(Clone)]
pub struct AuthPorts {
    /// The hub's signing keys.
    pub ring: Arc<KeyRing>,
    /// The keys that seal staff TOTP secrets (`<data_dir>/totp-keys`, beside the signing
    /// keys: [`TotpKeys::open`]).
    pub totp_keys: Arc<TotpKeys>,
    /// The consent service (needed for PAR, the authorisation page, the authorization-code
    /// and refresh grants, and consent-bound tokens); `None` only in tests that need none.
    pub consents: Option<Arc<dyn super::consent_port::ConsentAuthority>>,
}

impl AuthState {
    /// State with a [`super::replay_log::StoreReplayGuard`] on `store`. Every service is
    /// built this way (ADR 0018): store, clock, its config, its ports. Build the
    /// [`super::verifier::TokenVerifier`] and the [`super::customers::CustomerSessionResolver`]
    /// from the state.
    pub fn new(
        store: SharedStore,
        clock: Arc<dyn Clock>,
        settings: AuthSettings,
        ports: AuthPorts,
    ) -> Self {
        let replay = Arc::new(super::replay_log::StoreReplayGuard::new(
            store.clone(),
            clock.clone(),
        ));
        let customers = Arc::new(super::customers::BuiltInDirectory::new(store.clone()));
        Self {
            store,
            clock,
            ring: ports.ring,
            totp_keys: ports.totp_keys,
            settings,
            replay,
            customers,
            consents: ports.consents,
            clients: Arc::default(),
            secrets: Arc::default(),
        }
    }

    /// The same state with another customer authenticator (e.g. the bank's OpenID provider).
    pub fn with_customers(
        mut self,
        customers: super::customers::SharedCustomerAuthenticator,
    ) -> Self {
        self.customers = customers;
        self
    }
}
