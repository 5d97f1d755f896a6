//! The dataset catalogue: anyone may read it; bank staff (`admin`) define datasets.

use actix_web::{HttpResponse, web};
use ecohub_http::{ApiError, InteractionId, Problem};
use ecohub_security::{AdminScope, Authenticated};
use serde::Serialize;
use utoipa::ToSchema;

use crate::app::{RequestContext, SharingState};
use crate::domain::catalogue::{Dataset, DatasetDefinition, valid_name};

/// One dataset of the catalogue.
#[derive(Debug, Serialize, ToSchema)]
pub struct DatasetView {
    /// Its definition: schema, providers, minimisation.
    #[serde(flatten)]
    pub definition: DatasetDefinition,
}

impl From<&Dataset> for DatasetView {
    fn from(d: &Dataset) -> Self {
        Self {
            definition: d.definition().clone(),
        }
    }
}

/// The catalogue.
#[derive(Debug, Serialize, ToSchema)]
pub struct DatasetList {
    /// Every dataset, by name.
    pub data: Vec<DatasetView>,
}

/// List the dataset catalogue.
#[utoipa::path(
    get,
    path = "/datasets",
    tag = "sharing",
    operation_id = "list_datasets",
    responses((status = 200, description = "The catalogue", body = DatasetList)),
)]
pub(crate) async fn list(state: web::Data<SharingState>) -> HttpResponse {
    HttpResponse::Ok().json(DatasetList {
        data: state
            .catalogue
            .all()
            .iter()
            .map(DatasetView::from)
            .collect(),
    })
}

/// Show one dataset.
#[utoipa::path(
    get,
    path = "/datasets/{name}",
    tag = "sharing",
    operation_id = "show_dataset",
    params(("name" = String, Path, description = "The dataset's name")),
    responses(
        (status = 200, description = "The dataset", body = DatasetView),
        (status = 404, description = "No such dataset", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn show(
    state: web::Data<SharingState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let d = state
        .catalogue
        .get(&path)
        .ok_or_else(|| ApiError::not_found().detail("dataset not found"))?;
    Ok(HttpResponse::Ok().json(DatasetView::from(&d)))
}

/// Define or replace a dataset (bank staff).
#[utoipa::path(
    put,
    path = "/admin/datasets/{name}",
    tag = "sharing-admin",
    operation_id = "define_dataset",
    params(("name" = String, Path, description = "The dataset's name; must equal the body's")),
    request_body = DatasetDefinition,
    responses(
        (status = 200, description = "Defined (unchanged definitions write nothing)", body = DatasetView),
        (status = 400, description = "Invalid definition (`invalid_request`, naming the field) or body (`invalid_json`)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks `admin`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Changed concurrently (`concurrency_conflict`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin"])),
)]
pub(crate) async fn define(
    state: web::Data<SharingState>,
    auth: Authenticated<AdminScope>,
    interaction: InteractionId,
    path: web::Path<String>,
    body: web::Json<DatasetDefinition>,
) -> Result<HttpResponse, ApiError> {
    let name = path.into_inner();
    if !valid_name(&name) || body.name != name {
        return Err(
            ApiError::bad_request("the body's name must equal the path's")
                .field("/name", "differs from the path"),
        );
    }
    let ctx = RequestContext::client(&auth.principal().client_id, interaction);
    let dataset = state.define_dataset(body.into_inner(), &ctx).await?;
    Ok(HttpResponse::Ok().json(DatasetView::from(&dataset)))
}
