//! Liveness, readiness and the metrics endpoint.

use std::collections::BTreeMap;

use actix_web::http::header::ContentType;
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::state::AppState;

/// Mounts the operational routes. Each is a resource, so other methods get 405.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/health/live").route(web::get().to(live)))
        .service(web::resource("/health/ready").route(web::get().to(ready)))
        .service(web::resource("/metrics").route(web::get().to(metrics)))
        .service(web::resource("/docs").route(web::get().to(docs_redirect)));
}

async fn docs_redirect() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header(("location", "/docs/"))
        .finish()
}

/// Liveness answer.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Live {
    /// Always `live`.
    pub status: String,
}

/// One projection's readiness.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ProjectionReadiness {
    /// The projection follows the live log.
    pub caught_up: bool,
    /// Last global commit position applied.
    pub checkpoint: Option<u64>,
    /// Last error, if the projection is retrying, or what its background work keeps failing
    /// on (e.g. a moment the trigger processor retries).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// Whether readiness waits for this projection. Background projections (store
    /// statistics, the audit's access index) read the whole log or every access record, so
    /// the hub serves before they catch up; audit queries stay exact meanwhile.
    pub gates_readiness: bool,
}

/// Readiness answer.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Ready {
    /// `ready` or `not_ready`.
    pub status: String,
    /// Whether the event store answers.
    pub store: bool,
    /// Every projection's progress.
    pub projections: BTreeMap<String, ProjectionReadiness>,
}

/// The process is running.
#[utoipa::path(
    get,
    path = "/health/live",
    tag = "operations",
    responses((status = 200, description = "The process is alive", body = Live))
)]
pub async fn live() -> HttpResponse {
    HttpResponse::Ok().json(Live {
        status: "live".into(),
    })
}

/// The hub can serve traffic.
///
/// The store answers and every projection serving needs has caught up. Background
/// projections (store statistics, the audit's access index) are reported with
/// `gates_readiness: false` and not waited for.
#[utoipa::path(
    get,
    path = "/health/ready",
    tag = "operations",
    responses(
        (status = 200, description = "Ready", body = Ready),
        (status = 503, description = "Not ready yet (store down or projections catching up)", body = Ready),
    )
)]
pub async fn ready(state: web::Data<AppState>) -> HttpResponse {
    let store = state.store.is_healthy().await;
    let gating = state.projections.iter().map(|p| (p, true));
    let background = state.background_projections.iter().map(|p| (p, false));
    let projections: BTreeMap<String, ProjectionReadiness> = gating
        .chain(background)
        .map(|(p, gates_readiness)| {
            let s = p.status();
            (
                p.name().to_owned(),
                ProjectionReadiness {
                    caught_up: s.caught_up,
                    checkpoint: s.checkpoint.map(|c| c.commit),
                    last_error: s.last_error.or(s.stalled),
                    gates_readiness,
                },
            )
        })
        .collect();
    let is_ready = store
        && projections
            .values()
            .all(|p| p.caught_up || !p.gates_readiness);
    let body = Ready {
        status: if is_ready { "ready" } else { "not_ready" }.into(),
        store,
        projections,
    };
    if is_ready {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable()
            .insert_header(("retry-after", "1"))
            .json(body)
    }
}

/// Prometheus metrics in the text exposition format.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain; version=0.0.4", body = String))
)]
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    for p in state
        .projections
        .iter()
        .chain(&state.background_projections)
    {
        let s = p.status();
        state
            .metrics
            .projection_caught_up
            .with_label_values(&[p.name()])
            .set(i64::from(s.caught_up));
        state
            .metrics
            .projection_checkpoint
            .with_label_values(&[p.name()])
            .set(s.checkpoint.map_or(0, |c| c.commit as i64));
    }
    HttpResponse::Ok()
        .insert_header(ContentType(
            "text/plain; version=0.0.4; charset=utf-8"
                .parse()
                .expect("valid mime"),
        ))
        .body(state.metrics.render())
}
