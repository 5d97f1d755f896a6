//! The OpenAPI document of data sharing; the hub merges it into its own.

use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

use super::admin::{self, DatasetDefinitionBody, DatasetList, DirectionRuleBody};
use super::audit::{self, AccessRecordView};
use super::data::{self, PublishRequest, PublishResponse, RecordInput, RecordView};
use super::notifications::{
    self, DeliveryView, PollRequest, PollResponse, SetError, SubscriptionList, SubscriptionRequest,
    SubscriptionView,
};

/// Every sharing route, its bodies, its problem responses and the `bearer` security scheme.
#[derive(OpenApi)]
#[openapi(
    paths(
        admin::list,
        admin::show,
        admin::define,
        data::publish,
        data::read,
        audit::list,
        audit::export,
        notifications::create,
        notifications::list,
        notifications::show,
        notifications::remove,
        notifications::deliveries,
        notifications::poll,
    ),
    components(schemas(
        ecohub_http::Problem,
        ecohub_http::FieldError,
        DatasetDefinitionBody,
        DirectionRuleBody,
        DatasetList,
        PublishRequest,
        PublishResponse,
        RecordInput,
        RecordView,
        AccessRecordView,
        SubscriptionRequest,
        SubscriptionView,
        SubscriptionList,
        DeliveryView,
        SetError,
        PollRequest,
        PollResponse,
    )),
    modifiers(&BearerScheme),
    tags(
        (name = "sharing", description = "The dataset catalogue, publishing customer data, reading it under a consent"),
        (name = "sharing-admin", description = "Bank staff: defining datasets"),
        (name = "sharing-audit", description = "Compliance: the record of every data access"),
        (name = "notifications", description = "Event notifications: subscriptions, signed SETs pushed (RFC 8935) or polled (RFC 8936), the delivery log"),
    ),
)]
pub struct SharingApi;

struct BearerScheme;

impl utoipa::Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "An access token from the hub's authorization server (RFC 9068 JWT); \
                         reads need a consent-bound token.",
                    ))
                    .build(),
            ),
        );
    }
}
