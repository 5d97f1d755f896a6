//! `POST /admin/clients`: staff clients, created by an administrator.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use ecohub_http::{ApiError, ErrorCode};
use ecohub_kernel::schema::{self, Controls};
use ecohub_security::{AdminScope, Authenticated};
use serde::Deserialize;
use utoipa::openapi::Object;

use crate::application::registration::{
    StaffClientCredentials, StaffClientError, create_staff_client,
};
use crate::domain::BANK_CLIENT_SCOPES;

/// A staff client to create.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateStaffClient {
    /// What the client is for (1 to 200 characters once trimmed).
    #[schema(schema_with = description_schema)]
    pub description: String,
    /// Space-separated scopes, a non-empty subset of `admin audit offers:manage offers:decide data:publish` (`data:publish`:
    /// the bank's own data feeds, publishing as provider `bank`).
    #[schema(schema_with = scope_schema)]
    pub scope: String,
}

/// A staff client's scope: one or more of [`BANK_CLIENT_SCOPES`], separated (and possibly
/// surrounded) by spaces, as `parse_scope` splits it.
pub(crate) fn staff_scope_pattern() -> String {
    let one = format!("(?:{})", BANK_CLIENT_SCOPES.join("|"));
    format!("^ *{one}(?: +{one})* *$")
}

fn description_schema() -> Object {
    schema::text(200, Controls::Allowed)
        .description(Some(
            "What the client is for: 1 to 200 characters once trimmed.",
        ))
        .examples(["compliance officer"])
        .build()
}

fn scope_schema() -> Object {
    schema::string(staff_scope_pattern())
        .description(Some(format!(
            "Space-separated scopes, a non-empty subset of `{}` (`data:publish`: the bank's own data feeds, publishing as provider `bank`).",
            BANK_CLIENT_SCOPES.join(" ")
        )))
        .examples(["audit"])
        .build()
}

/// Creates a staff client (`client_secret_basic`, scopes ⊆ `admin audit offers:manage offers:decide data:publish`); the secret is
/// shown once.
#[utoipa::path(
    post,
    path = "/admin/clients",
    tag = "oauth",
    request_body = CreateStaffClient,
    security(("bearer" = ["admin"])),
    responses(
        (status = 201, description = "Created; the secret is shown once", body = StaffClientCredentials),
        (status = 400, description = "invalid_request / invalid_json", body = ecohub_http::Problem, content_type = "application/problem+json"),
        (status = 401, description = "unauthorized / invalid_token", body = ecohub_http::Problem, content_type = "application/problem+json"),
        (status = 403, description = "insufficient_scope", body = ecohub_http::Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body is not JSON (`unsupported_media_type`)", body = ecohub_http::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create_client(
    req: HttpRequest,
    auth: Authenticated<AdminScope>,
    body: web::Json<CreateStaffClient>,
) -> Result<HttpResponse, ApiError> {
    let state = req
        .app_data::<web::Data<crate::application::state::AuthState>>()
        .cloned()
        .ok_or_else(|| ApiError::internal("AuthState is not configured"))?;
    let body = body.into_inner();
    let now = state.clock.now();
    let by = auth.principal().actor();
    let created = create_staff_client(
        state.store.as_ref(),
        &body.description,
        &body.scope,
        &by,
        now,
    )
    .await
    .map_err(|e| match e {
        StaffClientError::Invalid(m) => ApiError::new(ErrorCode::InvalidRequest).detail(m),
        StaffClientError::Failed(m) => ApiError::internal(m),
    })?;
    Ok(HttpResponse::Created()
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .json(created))
}
