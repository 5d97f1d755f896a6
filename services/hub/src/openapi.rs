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
    for service in crate::services::MOUNTED {
        doc.merge((service.openapi)());
    }
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

/// The operations the document protects, for [`ecohub_security::authenticate_first`]: with
/// an access token and a scope (a `bearer` requirement naming scopes: the routes behind
/// `Authenticated<S>`; the registration access token of RFC 7592 names none), or with a
/// customer session whose absence is a 401 (the customer API; the dashboard's pages redirect
/// to sign-in instead).
pub fn protected_routes(doc: &utoipa::openapi::OpenApi) -> ecohub_security::ProtectedRoutes {
    use ecohub_security::Protection;
    let Ok(doc) = serde_json::to_value(doc) else {
        return ecohub_security::ProtectedRoutes::default();
    };
    let mut routes = Vec::new();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for (method, operation) in item.as_object().into_iter().flatten() {
            let requirements = operation["security"].as_array().into_iter().flatten();
            let mut protection = None;
            for requirement in requirements {
                if requirement["bearer"]
                    .as_array()
                    .is_some_and(|s| !s.is_empty())
                {
                    protection = Some(Protection::AccessToken);
                } else if requirement.get("customer_session").is_some()
                    && operation["responses"].get("401").is_some()
                {
                    protection = Some(Protection::CustomerSession);
                }
            }
            if let Some(protection) = protection {
                routes.push((method.clone(), path.clone(), protection));
            }
        }
    }
    ecohub_security::ProtectedRoutes::new(
        routes
            .iter()
            .map(|(m, p, protection)| (m.as_str(), p.as_str(), *protection)),
    )
}

/// The media types of every operation's successful responses (2xx and 3xx), for
/// [`ecohub_http::negotiate`].
pub fn representations(doc: &utoipa::openapi::OpenApi) -> ecohub_http::Representations {
    let Ok(doc) = serde_json::to_value(doc) else {
        return ecohub_http::Representations::default();
    };
    let mut routes: Vec<(String, String, Vec<String>)> = Vec::new();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for (method, operation) in item.as_object().into_iter().flatten() {
            let mut types: Vec<String> = Vec::new();
            for (status, response) in operation["responses"].as_object().into_iter().flatten() {
                if !(status.starts_with('2') || status.starts_with('3')) {
                    continue;
                }
                for media in response["content"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(k, _)| k)
                {
                    if !types.contains(media) {
                        types.push(media.clone());
                    }
                }
            }
            routes.push((method.clone(), path.clone(), types));
        }
    }
    ecohub_http::Representations::new(routes.iter().map(|(m, p, t)| {
        (
            m.as_str(),
            p.as_str(),
            t.iter().map(String::as_str).collect(),
        )
    }))
}
