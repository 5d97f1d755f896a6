//! The OpenAPI 3.1 document, generated from the code.

use utoipa::OpenApi;

/// The hub's own operations; each service's document is merged into it in [`spec`].
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Ecohub API",
        description = "Partner-ecosystem hub for banks: partner onboarding, OAuth 2.0 / FAPI 2.0, \
customer consents with their audit trail, and data sharing with event notifications. Every \
error is `application/problem+json` (RFC 9457) with a stable `code` and a `type` linking to \
the code's row in the error table; every response echoes `x-fapi-interaction-id`.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    paths(crate::health::live, crate::health::ready, crate::health::metrics),
    components(schemas(ecohub_http::Problem, ecohub_http::FieldError)),
    tags((name = "operations", description = "Health, readiness and metrics")),
)]
pub struct HubDoc;

/// The complete document served at `/openapi.json` and committed under `openapi/`.
pub fn spec() -> utoipa::openapi::OpenApi {
    let mut doc = HubDoc::openapi();
    doc.merge(ecohub_auth::AuthApi::openapi());
    doc.merge(ecohub_partners::PartnersApi::openapi());
    doc.merge(ecohub_consents::ConsentsApi::openapi());
    doc.merge(ecohub_sharing::SharingApi::openapi());
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    doc
}

/// The document as the committed file holds it (pretty JSON, trailing newline).
pub fn spec_json() -> String {
    let mut json = spec()
        .to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
    json.push('\n');
    json
}
