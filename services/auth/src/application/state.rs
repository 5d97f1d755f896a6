//! What every endpoint of the authorization server shares.

use std::sync::Arc;

use ecohub_eventstore::SharedStore;
use ecohub_kernel::Clock;

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

impl AuthState {
    /// State with a [`super::replay_log::StoreReplayGuard`] on `store`.
    pub fn new(
        store: SharedStore,
        clock: Arc<dyn Clock>,
        ring: Arc<KeyRing>,
        settings: AuthSettings,
    ) -> Self {
        let replay = Arc::new(super::replay_log::StoreReplayGuard::new(
            store.clone(),
            clock.clone(),
        ));
        let customers = Arc::new(super::customers::BuiltInDirectory::new(store.clone()));
        Self {
            store,
            clock,
            ring,
            settings,
            replay,
            customers,
            consents: None,
            clients: Arc::default(),
            secrets: Arc::default(),
        }
    }

    /// The same state with the consent service's port (needed for PAR, the authorisation
    /// page, the authorization-code and refresh grants, and consent-bound tokens). Build the
    /// [`super::verifier::TokenVerifier`] and the [`super::customers::CustomerSessionResolver`] from the state
    /// *after* this.
    pub fn with_consents(
        mut self,
        consents: Arc<dyn super::consent_port::ConsentAuthority>,
    ) -> Self {
        self.consents = Some(consents);
        self
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
