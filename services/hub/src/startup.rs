//! Builds the application: opens the store, starts projections, assembles the actix app.
//! `create_app` is shared by the binary and the tests.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::{Compress, from_fn};
use actix_web::{App, HttpServer, web};
use anyhow::Context;
use ecohub_eventstore::{EventStore, ProjectionHandle, SqliteStore, SqliteStoreOptions};
use ecohub_http::{IdempotencyConfig, InMemoryIdempotencyStore, SharedIdempotencyStore};
use ecohub_kurrentdb::KurrentDbStore;
use utoipa_swagger_ui::SwaggerUi;

pub use actix_web::dev::ServerHandle;

use crate::config::{Settings, StoreLocation};
use crate::metrics::{MeteredStore, Metrics};
use crate::projections::StoreStatistics;
use crate::services::Services;
use ecohub_kernel::{Clock, SystemClock};

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
    /// index): reported by readiness and metrics, but not waited for, because they read every
    /// event (or every access record) ever written, which would make a restart's readiness
    /// grow with the log.
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
        let metrics = Metrics::new();
        let raw = open_store(&settings.store_location()?).await?;
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
        let jobs = Arc::new(vec![ecohub_consents::spawn_expiry_scheduler(
            services.consents.clone(),
            settings.consents.expiry_check_period,
        )]);
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
    Ok(match location {
        StoreLocation::Sqlite(path) => {
            let store = SqliteStore::open(path, SqliteStoreOptions::default())
                .with_context(|| format!("cannot open the embedded store at {}", path.display()))?;
            Arc::new(store)
        }
        StoreLocation::KurrentDb(url) => {
            let masked = crate::config::mask_url_password(url);
            let store = KurrentDbStore::connect(url)
                .await
                .with_context(|| format!("cannot connect to the event store at {masked}"))?;
            Arc::new(store)
        }
    })
}

fn idempotency_config(settings: &Settings) -> IdempotencyConfig {
    IdempotencyConfig {
        window: Duration::from_secs(settings.http.idempotency_window_secs),
        max_body_bytes: settings.http.max_body_bytes,
        ..IdempotencyConfig::default()
    }
}

/// The actix application: middleware, extractor configuration, routes.
pub fn create_app(
    state: AppState,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let max_body = state.settings.http.max_body_bytes;
    App::new()
        .app_data(web::Data::new(state.clone()))
        .app_data(web::Data::new(state.metrics.clone()))
        .app_data(web::Data::new(state.idempotency.clone()))
        .app_data(web::Data::new(idempotency_config(&state.settings)))
        .app_data(ecohub_http::json_config().limit(max_body))
        .app_data(ecohub_http::query_config())
        .app_data(ecohub_http::path_config())
        .app_data(web::Data::new(state.services.verifier.clone()))
        .app_data(web::Data::new(state.services.customer_sessions.clone()))
        .app_data(web::Data::new(state.services.auth.clone()))
        .app_data(web::Data::new(state.services.partners.clone()))
        .app_data(web::Data::new(state.services.consents.clone()))
        .app_data(web::Data::new(state.services.sharing.clone()))
        .configure(crate::health::configure)
        .configure(ecohub_auth::configure)
        .configure(ecohub_partners::configure)
        .configure(ecohub_consents::configure)
        .configure(ecohub_sharing::configure)
        .service(SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", crate::openapi::spec()))
        // Registered last = runs first: interaction id → metrics/logging → compression →
        // problem fallback → idempotency → routes. Idempotency sits inside compression so a
        // replay is re-encoded for whoever retries, whatever encoding they accept.
        .wrap(from_fn(ecohub_http::idempotency))
        .wrap(from_fn(ecohub_http::problem_fallback))
        .wrap(Compress::default())
        .wrap(from_fn(crate::metrics::track))
        .wrap(from_fn(ecohub_http::interaction_id))
}

/// A built, bound, not yet running hub.
pub struct Application {
    address: SocketAddr,
    server: Server,
    state: AppState,
}

impl Application {
    /// Opens the store, starts projections and binds the listener.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let bind = settings.server.bind;
        let workers = settings.server.workers;
        let shutdown_timeout = settings.server.shutdown_timeout_secs;
        let listener =
            TcpListener::bind(bind).with_context(|| format!("cannot listen on {bind}"))?;
        let address = listener.local_addr()?;
        let state = AppState::open(settings, address).await?;
        let app_state = state.clone();
        let mut server = HttpServer::new(move || create_app(app_state.clone()))
            .shutdown_timeout(shutdown_timeout);
        if workers > 0 {
            server = server.workers(workers);
        }
        let server = server.listen(listener)?.run();
        Ok(Self {
            address,
            server,
            state,
        })
    }

    /// The address the server listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The shared state (store, metrics, projections).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// A handle that stops the server gracefully.
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Serves until SIGTERM/SIGINT (or [`Self::handle`]`.stop()`), lets in-flight requests
    /// finish, then stops projections and closes the store.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        tracing::info!(address = %self.address, "listening");
        self.server.await.context("HTTP server failed")?;
        tracing::info!("HTTP server stopped; closing the event store");
        self.state.shutdown().await?;
        tracing::info!("stopped");
        Ok(())
    }
}
