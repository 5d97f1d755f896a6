//! What every handler of the hub shares ([`AppState`]) and how it is opened: the configured
//! store (metered), the services built on it, their projections and jobs.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use ecohub_eventstore::{EventStore, ProjectionHandle, SqliteStore, SqliteStoreOptions};
use ecohub_http::{IdempotencyConfig, InMemoryIdempotencyStore, SharedIdempotencyStore};
use ecohub_kernel::{Clock, SystemClock};
use ecohub_kurrentdb::KurrentDbStore;

use crate::config::{Settings, StoreLocation};
use crate::metrics::{MeteredStore, Metrics};
use crate::projections::StoreStatistics;
use crate::services::Services;

/// Everything handlers share.
#[derive(Clone)]
pub struct AppState {
    /// The event store (metered).
    pub store: Arc<dyn EventStore>,
    /// Metrics registry.
    pub metrics: Metrics,
    /// Running projections that serving needs (readiness waits for all of them).
    pub projections: Vec<ProjectionHandle>,
    /// Running projections that serving does not need (store statistics, the audit's access
    /// index, the offers' index of customers' moments): reported by readiness and metrics, but
    /// not waited for, because they read every event (or every access record, every moment)
    /// ever written, which would make a restart's readiness grow with the log.
    pub background_projections: Vec<ProjectionHandle>,
    /// Idempotency keys.
    pub idempotency: SharedIdempotencyStore,
    /// The service crates' state (authorization server, partners, consents).
    pub services: Services,
    /// Background jobs (the consent expiry scheduler), aborted at shutdown.
    pub jobs: Arc<Vec<tokio::task::JoinHandle<()>>>,
    /// Effective settings.
    pub settings: Arc<Settings>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("projections", &self.projections)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// Opens the configured store, builds the services and starts the projections.
    /// `listening` is the address the server is bound to (the default issuer).
    pub async fn open(settings: Settings, listening: SocketAddr) -> anyhow::Result<Self> {
        // The pages' branding is process-wide (one hub per process; the first wins).
        ecohub_http::brand::set(settings.brand.load()?);
        let metrics = Metrics::new();
        let (raw, embedded) = open_store_and_writer(&settings.store_location()?).await?;
        if let Some(embedded) = embedded {
            metrics.watch_writer(embedded);
        }
        let store: Arc<dyn EventStore> = Arc::new(MeteredStore::new(raw, metrics.clone()));
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let (services, service_projections) =
            crate::services::build(&settings, listening, store.clone(), clock)?;
        let projections = service_projections;
        let mut background_projections = vec![ProjectionHandle::spawn(
            store.clone(),
            StoreStatistics::new(metrics.clone()),
        )];
        background_projections.extend(services.sharing_tasks.background.iter().cloned());
        // The index of customers' moments (the compliance officer's trail, which covers
        // what it has not applied yet): serving does not wait for it.
        background_projections.push(ProjectionHandle::spawn(
            store.clone(),
            ecohub_offers::MomentIndexer::new(services.offers.clone()),
        ));
        let jobs = Arc::new(vec![
            ecohub_consents::spawn_expiry_scheduler(
                services.consents.clone(),
                settings.consents.expiry_check_period,
            ),
            ecohub_offers::spawn_offer_expiry(
                services.offers.clone(),
                std::time::Duration::from_secs(settings.offers.expiry_check_period_secs),
            ),
        ]);
        let idempotency: SharedIdempotencyStore =
            Arc::new(InMemoryIdempotencyStore::new(idempotency_config(&settings)));
        Ok(Self {
            store,
            metrics,
            projections,
            background_projections,
            idempotency,
            services,
            jobs,
            settings: Arc::new(settings),
        })
    }

    /// Stops projections and closes the store, making every acknowledged append durable.
    pub async fn shutdown(&self) -> anyhow::Result<()> {
        for job in self.jobs.iter() {
            job.abort();
        }
        self.services.sharing_tasks.stop();
        for p in self.projections.iter().chain(&self.background_projections) {
            p.stop();
        }
        self.store.close().await.context("closing the event store")
    }
}

/// Opens the store a location names: the embedded SQLite file or a KurrentDB cluster (whose
/// leader must answer now: an unreachable cluster is a startup error, not a silent retry).
pub async fn open_store(location: &StoreLocation) -> anyhow::Result<Arc<dyn EventStore>> {
    Ok(open_store_and_writer(location).await?.0)
}

/// [`open_store`], and for the embedded store a handle on it for its writer's counters.
async fn open_store_and_writer(
    location: &StoreLocation,
) -> anyhow::Result<(Arc<dyn EventStore>, Option<SqliteStore>)> {
    Ok(match location {
        StoreLocation::Sqlite(path) => {
            let store = SqliteStore::open(path, SqliteStoreOptions::default())
                .with_context(|| format!("cannot open the embedded store at {}", path.display()))?;
            (Arc::new(store.clone()), Some(store))
        }
        StoreLocation::KurrentDb(url) => {
            let masked = crate::config::mask_url_password(url);
            let store = KurrentDbStore::connect(url)
                .await
                .with_context(|| format!("cannot connect to the event store at {masked}"))?;
            (Arc::new(store), None)
        }
    })
}

pub(crate) fn idempotency_config(settings: &Settings) -> IdempotencyConfig {
    IdempotencyConfig {
        window: Duration::from_secs(settings.http.idempotency_window_secs),
        max_body_bytes: settings.http.max_body_bytes,
        ..IdempotencyConfig::default()
    }
}

pub(crate) fn body_deadline(settings: &Settings) -> ecohub_http::BodyDeadline {
    ecohub_http::BodyDeadline {
        timeout: Duration::from_secs(settings.http.body_timeout_secs),
        min_bytes_per_sec: settings.http.body_min_bytes_per_sec,
        grace: Duration::from_secs(settings.http.body_grace_secs),
    }
}
