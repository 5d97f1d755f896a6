//! The OpenAPI document of the consent service; the hub merges it into its own.

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::dto::*;
use super::{audit, customer, partner};

/// Every consent route (the server-rendered `/dashboard` pages are not part of the API),
/// its bodies and problem responses, the `bearer` scheme and the `customer_session` cookie.
#[derive(OpenApi)]
#[openapi(
    paths(
        partner::create,
        partner::show,
        partner::delete,
        customer::list,
        customer::revoke,
        customer::receipt,
        super::bank::providers,
        super::bank::grant,
        super::bank::grant_form,
        super::dashboard::page,
        super::dashboard::revoke,
        audit::list,
        audit::history,
        audit::export,
    ),
    components(schemas(
        ecohub_http::Problem,
        ecohub_http::FieldError,
        ecohub_http::Links,
        PurposeDto,
        CreateConsentRequest,
        PermissionDto,
        StatusChangeDto,
        ConsentView,
        CustomerConsentView,
        CustomerConsentList,
        ReceiptView,
        RevokeForm,
        AuditConsent,
        AuditConsentPage,
        HistoryEntry,
        HistoryView,
        ExportFormat,
        RecipientKind,
        BankConsentRequest,
        BankConsentForm,
        DataProviderView,
        DataProviderList,
    )),
    modifiers(&Schemes),
    tags(
        (name = "consents", description = "Partners: creating, reading and deleting consents"),
        (name = "customer", description = "Customers: their consents, revocation, receipts"),
        (name = "audit", description = "Compliance: consent lists, histories with hash chains, exports"),
    ),
)]
pub struct ConsentsApi;

struct Schemes;

impl Modify for Schemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "An access token from the hub's authorization server (RFC 9068 JWT).",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "customer_session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                ecohub_security::CUSTOMER_SESSION_COOKIE,
                "The customer's session cookie, set by the hub's login page.",
            ))),
        );
    }
}
