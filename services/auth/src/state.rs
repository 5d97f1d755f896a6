//! What every endpoint of the authorization server shares.

use std::sync::Arc;

use ecohub_eventstore::SharedStore;
use ecohub_kernel::Clock;

use crate::keys::KeyRing;
use crate::replay::JtiReplayGuard;
use crate::settings::AuthSettings;

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
    /// (production: [`crate::StoreReplayGuard`], exact across instances).
    pub replay: Arc<dyn JtiReplayGuard>,
    /// Client registrations and partner standings, remembered while the store's head has
    /// not moved.
    pub(crate) clients: Arc<crate::app::client_cache::ClientCache>,
}

impl std::fmt::Debug for AuthState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthState")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl AuthState {
    /// State with a [`crate::StoreReplayGuard`] on `store`.
    pub fn new(
        store: SharedStore,
        clock: Arc<dyn Clock>,
        ring: Arc<KeyRing>,
        settings: AuthSettings,
    ) -> Self {
        let replay = Arc::new(crate::app::store::StoreReplayGuard::new(store.clone()));
        Self {
            store,
            clock,
            ring,
            settings,
            replay,
            clients: Arc::default(),
        }
    }
}
