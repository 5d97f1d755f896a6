//! The dataset catalogue: anyone may read it; bank staff (`admin`) define datasets.

use actix_web::{HttpResponse, web};
use ecohub_http::{ApiError, InteractionId, Problem};
use ecohub_security::{AdminScope, Authenticated};
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::application::{RequestContext, SharingState};
use crate::domain::catalogue::{Dataset, DatasetDefinition, DirectionRule, valid_name};

/// Records of a dataset are filtered by the value of one field (transactions by direction).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(as = DirectionRule)]
pub struct DirectionRuleBody {
    /// The field holding the direction (`credit_debit_indicator`).
    pub field: String,
    /// For each value, the permissions any one of which lets a record with it through.
    pub values: BTreeMap<String, Vec<String>>,
}

/// What a dataset is, as admins send it and the catalogue shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(as = DatasetDefinition)]
#[serde(deny_unknown_fields)]
pub struct DatasetDefinitionBody {
    /// Lowercase name (`transactions`).
    pub name: String,
    /// What the dataset holds.
    #[serde(default)]
    pub description: String,
    /// Who may publish it: `bank`, partner ids, or `*` for any partner.
    pub providers: Vec<String>,
    /// JSON schema (draft 2020-12) of one record's `data`.
    #[schema(value_type = Object)]
    pub schema: Value,
    /// Minimisation: field name → permissions any one of which unlocks it.
    pub fields: BTreeMap<String, Vec<String>>,
    /// Optional filter of records by a direction field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<DirectionRuleBody>,
    /// Optional RFC 3339 field the consent's transaction window applies to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_field: Option<String>,
}

impl From<&DatasetDefinition> for DatasetDefinitionBody {
    fn from(d: &DatasetDefinition) -> Self {
        Self {
            name: d.name.clone(),
            description: d.description.clone(),
            providers: d.providers.clone(),
            schema: d.schema.clone(),
            fields: d.fields.clone(),
            direction: d.direction.as_ref().map(|r| DirectionRuleBody {
                field: r.field.clone(),
                values: r.values.clone(),
            }),
            time_field: d.time_field.clone(),
        }
    }
}

impl From<DatasetDefinitionBody> for DatasetDefinition {
    fn from(d: DatasetDefinitionBody) -> Self {
        Self {
            name: d.name,
            description: d.description,
            providers: d.providers,
            schema: d.schema,
            fields: d.fields,
            direction: d.direction.map(|r| DirectionRule {
                field: r.field,
                values: r.values,
            }),
            time_field: d.time_field,
        }
    }
}

impl From<&Dataset> for DatasetDefinitionBody {
    fn from(d: &Dataset) -> Self {
        d.definition().into()
    }
}

/// The catalogue.
#[derive(Debug, Serialize, ToSchema)]
pub struct DatasetList {
    /// Every dataset, by name. A dataset is shown as admins define it: one schema both ways,
    /// so that generated clients have one model for it (an `allOf` copy made
    /// `openapi-python-client` drop the catalogue's operations, issue 11).
    pub data: Vec<DatasetDefinitionBody>,
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
            .map(DatasetDefinitionBody::from)
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
        (status = 200, description = "The dataset", body = DatasetDefinitionBody),
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
    Ok(HttpResponse::Ok().json(DatasetDefinitionBody::from(&d)))
}

/// Define or replace a dataset (bank staff).
#[utoipa::path(
    put,
    path = "/admin/datasets/{name}",
    tag = "sharing-admin",
    operation_id = "define_dataset",
    params(("name" = String, Path, description = "The dataset's name; must equal the body's")),
    request_body = DatasetDefinitionBody,
    responses(
        (status = 200, description = "Defined (unchanged definitions write nothing)", body = DatasetDefinitionBody),
        (status = 400, description = "Invalid definition (`invalid_request`, naming the field) or body (`invalid_json`)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks `admin`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Changed concurrently (`concurrency_conflict`)", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body is not JSON (`unsupported_media_type`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin"])),
)]
pub(crate) async fn define(
    state: web::Data<SharingState>,
    auth: Authenticated<AdminScope>,
    interaction: InteractionId,
    path: web::Path<String>,
    body: web::Json<DatasetDefinitionBody>,
) -> Result<HttpResponse, ApiError> {
    let name = path.into_inner();
    if !valid_name(&name) || body.name != name {
        return Err(
            ApiError::bad_request("the body's name must equal the path's")
                .field("/name", "differs from the path"),
        );
    }
    let ctx = RequestContext::acting_as(auth.principal().actor(), interaction);
    let dataset = state.define_dataset(body.into_inner().into(), &ctx).await?;
    Ok(HttpResponse::Ok().json(DatasetDefinitionBody::from(&dataset)))
}
