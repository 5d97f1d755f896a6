//! Builds the application: binds, opens the state ([`AppState::open`]: store, services,
//! projections), assembles the actix app. `create_app` is shared by the binary and the tests.

use std::net::{SocketAddr, TcpListener};

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::{Compress, from_fn};
use actix_web::{App, HttpServer, web};
use anyhow::Context;
use utoipa_swagger_ui::SwaggerUi;

pub use actix_web::dev::ServerHandle;

use crate::config::Settings;
use crate::services::MOUNTED;
use crate::state::AppState;

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
    let services = state.services.clone();
    let spec = crate::openapi::spec();
    let mut app = App::new()
        .app_data(web::Data::new(state.clone()))
        .app_data(web::Data::new(state.metrics.clone()))
        .app_data(web::Data::new(state.idempotency.clone()))
        .app_data(web::Data::new(crate::state::idempotency_config(
            &state.settings,
        )))
        .app_data(ecohub_http::json_config().limit(max_body))
        .app_data(ecohub_http::query_config())
        .app_data(ecohub_http::path_config())
        .app_data(web::Data::new(crate::openapi::protected_routes(&spec)))
        .app_data(web::Data::new(crate::openapi::representations(&spec)))
        .app_data(web::Data::new(crate::state::body_deadline(&state.settings)))
        .configure(|cfg| services.register(cfg))
        .configure(crate::health::configure)
        .route(
            ecohub_http::brand::LOGO_PATH,
            web::get().to(ecohub_http::brand::logo),
        );
    for service in MOUNTED {
        app = app.configure(service.configure);
    }
    app.service(SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", spec))
        // Registered last = runs first: interaction id → metrics/logging → body deadline →
        // compression → problem fallback → authentication of protected requests about to be
        // refused for a header (so 401 comes before 406 and 400) → content negotiation (406)
        // → idempotency → routes. Idempotency sits inside compression so a replay is
        // re-encoded for whoever retries, whatever encoding they accept.
        .wrap(from_fn(ecohub_http::idempotency))
        .wrap(from_fn(ecohub_http::negotiate))
        .wrap(from_fn(ecohub_security::authenticate_first))
        .wrap(from_fn(ecohub_http::problem_fallback))
        .wrap(Compress::default())
        .wrap(from_fn(ecohub_http::body_deadline))
        .wrap(from_fn(crate::metrics::track))
        .wrap(from_fn(ecohub_http::interaction_id))
        .wrap(from_fn(reads_cover_request))
}

/// Every check of one request may share one reading of the store's head taken after the
/// request began (ADR 0027): exact across instances for any write acknowledged before the
/// request started, one leader round trip per request on the KurrentDB backend.
async fn reads_cover_request(
    req: ServiceRequest,
    next: actix_web::middleware::Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    ecohub_eventstore::reads_cover_from(std::time::Instant::now(), next.call(req)).await
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
