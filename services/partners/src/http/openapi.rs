//! The OpenAPI document of partner onboarding; the hub merges it into its own.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::dto::*;
use super::{admin, applications, webhooks};

/// Every partner route, its bodies, its problem responses and the `bearer` (JWT access token)
/// security scheme of its protected routes.
#[derive(OpenApi)]
#[openapi(
    paths(
        applications::apply,
        applications::show,
        applications::software_statement,
        webhooks::register,
        webhooks::list,
        webhooks::remove,
        admin::list,
        admin::show,
        admin::record_verification,
        admin::approve,
        admin::reject,
        admin::suspend,
        admin::reinstate,
        admin::offboard,
    ),
    components(schemas(
        ecohub_http::Problem,
        ecohub_http::FieldError,
        ApplyRequest,
        ContactInput,
        VerificationRequest,
        ApproveRequest,
        ReasonRequest,
        WebhookRequest,
        StatusDto,
        RoleDto,
        ContactRoleDto,
        CheckResultDto,
        ApplicantToken,
        ApplicationLinks,
        ApplicationCreated,
        StatusEntry,
        Grant,
        ApplicationView,
        SoftwareStatementView,
        ContactView,
        StatusChangeView,
        VerificationView,
        WebhookView,
        WebhookList,
        PartnerRecord,
        ApprovalView,
        PartnerSummary,
    )),
    modifiers(&BearerScheme),
    tags(
        (name = "partners", description = "Applying, following one's own application, software statements, webhooks"),
        (name = "partners-admin", description = "Bank staff: review, verification evidence, maker-checker approval, suspension, offboarding"),
    ),
)]
pub struct PartnersApi;

/// Adds the `bearer` security scheme: an RFC 9068 JWT access token from the hub's
/// authorization server (`Authorization: Bearer …`, or `DPoP …` for sender-constrained
/// tokens).
struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "An access token from the hub's authorization server (RFC 9068 JWT). \
                         Sender-constrained tokens are presented as `DPoP` with a proof.",
                    ))
                    .build(),
            ),
        );
    }
}
