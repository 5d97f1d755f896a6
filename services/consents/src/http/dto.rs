//! Request and response bodies.

use ecohub_kernel::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::application::{ConsentInput, ConsentsState};
use crate::domain::{ConsentData, Permission, Recipient, StatusChange};
use crate::index::ConsentSummary;

/// Why the partner wants the data.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PurposeDto {
    /// Purpose code (`travel-offers`): lowercase letters, digits, `-`, `_`; 1 to 64.
    #[schema(pattern = "^[a-z0-9_-]{1,64}$", example = "travel-offers")]
    pub code: String,
    /// The purpose, as the customer will read it (1 to 500 characters).
    #[schema(schema_with = purpose_text)]
    pub text: String,
}

fn purpose_text() -> utoipa::openapi::Object {
    ecohub_kernel::schema::text(500, ecohub_kernel::schema::Controls::Refused)
        .description(Some(
            "The purpose, as the customer will read it: 1 to 500 characters once trimmed, no control characters.",
        ))
        .examples(["Personalised travel offers"])
        .build()
}

fn permissions() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
    let codes = Permission::ALL.map(Permission::code);
    utoipa::openapi::schema::ArrayBuilder::new()
        .items(
            utoipa::openapi::ObjectBuilder::new()
                .schema_type(utoipa::openapi::Type::String)
                .enum_values(Some(codes)),
        )
        .min_items(Some(1))
        .unique_items(true)
        .description(Some(
            "Permission codes, at least one, no duplicates (see the catalogue; OBIE combination rules apply).",
        ))
        .examples([serde_json::json!(["ReadAccountsBasic", "ReadBalances"])])
        .build()
        .into()
}

fn data_providers() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
    utoipa::openapi::schema::ArrayBuilder::new()
        .items(ecohub_kernel::schema::string(format!(
            "^(?:bank|{})$",
            ecohub_kernel::schema::ID
        )))
        .min_items(Some(1))
        .unique_items(true)
        .description(Some(
            "Data providers concerned: `bank` or ids of active partners with the `data_provider` role; at least one, no duplicates.",
        ))
        .examples([serde_json::json!(["bank"])])
        .build()
        .into()
}

/// A consent request.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateConsentRequest {
    /// Permission codes (see the catalogue; OBIE combination rules apply).
    #[schema(schema_with = permissions)]
    pub permissions: Vec<String>,
    /// Purpose.
    pub purpose: PurposeDto,
    /// When the consent expires: in the future, at most 12 months from now. Never altered.
    pub expiration: Timestamp,
    /// First instant of transactions the partner may read.
    #[serde(default)]
    pub transaction_from: Option<Timestamp>,
    /// Last instant of transactions the partner may read (after `transaction_from`).
    #[serde(default)]
    pub transaction_to: Option<Timestamp>,
    /// Data providers concerned: `bank` or ids of active partners with the `data_provider`
    /// role; at least one.
    #[schema(schema_with = data_providers)]
    pub data_providers: Vec<String>,
}

impl From<CreateConsentRequest> for ConsentInput {
    fn from(r: CreateConsentRequest) -> Self {
        ConsentInput {
            permissions: r.permissions,
            purpose_code: r.purpose.code,
            purpose_text: r.purpose.text,
            expiration: r.expiration,
            transaction_from: r.transaction_from,
            transaction_to: r.transaction_to,
            data_providers: r.data_providers,
        }
    }
}

/// A permission and what it means.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PermissionDto {
    /// Code.
    pub code: String,
    /// Plain-language description.
    pub description: String,
}

impl From<Permission> for PermissionDto {
    fn from(p: Permission) -> Self {
        Self {
            code: p.code().to_owned(),
            description: p.description().to_owned(),
        }
    }
}

/// One status change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StatusChangeDto {
    /// The new status.
    pub status: String,
    /// When.
    pub at: Timestamp,
    /// Reason code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// How a revocation was requested (`customer`, `partner`, `partner_offboarded`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_by: Option<String>,
}

impl From<&StatusChange> for StatusChangeDto {
    fn from(c: &StatusChange) -> Self {
        Self {
            status: c.status.as_str().to_owned(),
            at: c.at,
            reason: c.reason.as_ref().map(|r| r.as_str().to_owned()),
            revoked_by: c.revoked_by.map(|b| b.as_str().to_owned()),
        }
    }
}

/// A consent, as its partner sees it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ConsentView {
    /// Id.
    pub consent_id: String,
    /// Status at the time of the answer (`AwaitingAuthorisation`, `Authorised`, `Rejected`,
    /// `Revoked`, `Expired`).
    pub status: String,
    /// Created.
    pub created_at: Timestamp,
    /// Last status change recorded.
    pub status_changed_at: Timestamp,
    /// Permissions.
    pub permissions: Vec<PermissionDto>,
    /// Purpose.
    pub purpose: PurposeDto,
    /// Expiry.
    pub expiration: Timestamp,
    /// Transactions window start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_from: Option<Timestamp>,
    /// Transactions window end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_to: Option<Timestamp>,
    /// Data providers as submitted.
    pub data_providers: Vec<String>,
    /// When it expires unless authorised.
    pub authorisation_deadline: Timestamp,
    /// Status history.
    pub history: Vec<StatusChangeDto>,
}

impl ConsentView {
    /// The partner's view at `now`.
    pub fn of(d: &ConsentData, now: Timestamp) -> Self {
        Self {
            consent_id: d.id.to_string(),
            status: d.status_at(now).as_str().to_owned(),
            created_at: d.created_at,
            status_changed_at: d.status_changed_at,
            permissions: d.permissions.iter().map(Into::into).collect(),
            purpose: PurposeDto {
                code: d.purpose.code().to_owned(),
                text: d.purpose.text().to_owned(),
            },
            expiration: d.expiry.at(),
            transaction_from: d.transaction_window.from,
            transaction_to: d.transaction_window.to,
            data_providers: d.data_providers.iter().map(|p| p.to_string()).collect(),
            authorisation_deadline: d.authorisation_deadline,
            history: d.history.iter().map(Into::into).collect(),
        }
    }
}

/// A consent, as its customer sees it on the dashboard.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CustomerConsentView {
    /// Id.
    pub consent_id: String,
    /// Who receives the data: `partner` or `bank` (a consent the customer gave the bank for
    /// personalised offers, ADR 0021).
    #[schema(example = "partner")]
    pub recipient: RecipientKind,
    /// The recipient's name: the partner's, or the bank's.
    pub partner_name: String,
    /// Status now.
    pub status: String,
    /// Permissions with descriptions.
    pub permissions: Vec<PermissionDto>,
    /// Purpose.
    pub purpose: PurposeDto,
    /// Expiry.
    pub expiration: Timestamp,
    /// Data providers (names).
    pub data_providers: Vec<String>,
    /// Whether it can be revoked now.
    pub revocable: bool,
    /// Status history.
    pub history: Vec<StatusChangeDto>,
}

impl CustomerConsentView {
    /// The customer's view at `now`.
    pub fn of(state: &ConsentsState, d: &ConsentData, now: Timestamp) -> Self {
        let status = d.status_at(now);
        Self {
            consent_id: d.id.to_string(),
            recipient: d.recipient.into(),
            partner_name: state.recipient_name(d.recipient),
            status: status.as_str().to_owned(),
            permissions: d.permissions.iter().map(Into::into).collect(),
            purpose: PurposeDto {
                code: d.purpose.code().to_owned(),
                text: d.purpose.text().to_owned(),
            },
            expiration: d.expiry.at(),
            data_providers: d
                .data_providers
                .iter()
                .map(|p| state.provider_name(p))
                .collect(),
            revocable: status == crate::domain::ConsentStatus::Authorised,
            history: d.history.iter().map(Into::into).collect(),
        }
    }
}

/// Who receives the data a consent lets flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RecipientKind {
    /// A partner (data recipient), through its OAuth clients.
    Partner,
    /// The bank itself, for personalised offers (ADR 0021).
    Bank,
}

impl From<Recipient> for RecipientKind {
    fn from(r: Recipient) -> Self {
        match r {
            Recipient::Partner(_) => RecipientKind::Partner,
            Recipient::Bank => RecipientKind::Bank,
        }
    }
}

/// The customer's consents.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CustomerConsentList {
    /// Newest first.
    pub data: Vec<CustomerConsentView>,
}

/// A signed consent receipt.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReceiptView {
    /// The Kantara Consent Receipt v1.1 as a JWT signed by the hub (verify with its JWKS).
    pub receipt: String,
}

/// Filters and page of the audit list.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only this partner's consents.
    pub partner_id: Option<String>,
    /// Only this customer's consents.
    pub customer_id: Option<String>,
    /// Only in this recorded status.
    pub status: Option<String>,
    /// Created at or after (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime)]
    pub created_from: Option<Timestamp>,
    /// Created at or before.
    #[param(value_type = Option<String>, format = DateTime)]
    pub created_to: Option<Timestamp>,
    /// Status changed at or after.
    #[param(value_type = Option<String>, format = DateTime)]
    pub changed_from: Option<Timestamp>,
    /// Status changed at or before.
    #[param(value_type = Option<String>, format = DateTime)]
    pub changed_to: Option<Timestamp>,
    /// Items per page, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub page_size: Option<u32>,
    /// Opaque cursor from `links.next`.
    pub cursor: Option<String>,
}

/// One consent in the audit list.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AuditConsent {
    /// Id.
    pub consent_id: String,
    /// Who receives the data: `partner` or `bank`.
    pub recipient: RecipientKind,
    /// The partner, when the recipient is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner_id: Option<String>,
    /// Customer, once they decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    /// Recorded status.
    pub status: String,
    /// Created.
    pub created_at: Timestamp,
    /// Last status change.
    pub status_changed_at: Timestamp,
    /// Expiry.
    pub expiration: Timestamp,
}

impl From<ConsentSummary> for AuditConsent {
    fn from(s: ConsentSummary) -> Self {
        Self {
            consent_id: s.consent_id.to_string(),
            recipient: s.recipient.into(),
            partner_id: s.recipient.partner().map(|p| p.to_string()),
            customer_id: s.customer_id.map(|c| c.as_str().to_owned()),
            status: s.status.as_str().to_owned(),
            created_at: s.created_at,
            status_changed_at: s.status_changed_at,
            expiration: s.expires_at,
        }
    }
}

/// A page of the audit list.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AuditConsentPage {
    /// Consents in creation order.
    pub data: Vec<AuditConsent>,
    /// Links.
    pub links: ecohub_http::Links,
}

/// One event of a consent's history, with its chain link.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct HistoryEntry {
    /// Revision in the consent's stream.
    pub revision: u64,
    /// Event type.
    pub event_type: String,
    /// Event version.
    pub event_version: u16,
    /// When it was recorded.
    pub recorded_at: Timestamp,
    /// Who caused it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// Reason code, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// How a revocation was requested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_by: Option<String>,
    /// The request id (`x-fapi-interaction-id` of the request that caused it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The interaction (correlation) id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interaction_id: Option<String>,
    /// The previous event's hash.
    pub prev: Option<String>,
    /// This event's hash.
    pub hash: Option<String>,
}

/// A consent's full history and whether its chain verifies.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct HistoryView {
    /// Id.
    pub consent_id: String,
    /// Whether every event's hash and link verify.
    pub chain_verified: bool,
    /// Where the chain breaks, if it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain_break: Option<String>,
    /// Every event, in order.
    pub events: Vec<HistoryEntry>,
}

/// Export format.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    /// Comma-separated values (RFC 4180), one event per row, with a header.
    Csv,
    /// One JSON object per line.
    Jsonl,
}

/// Export query.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// `csv` or `jsonl`.
    pub format: ExportFormat,
}

/// The form of the dashboard's Revoke button.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct RevokeForm {
    /// The session's CSRF token.
    pub csrf_token: Option<String>,
}

/// A customer's grant to the bank (ADR 0021): the partners whose data it may use to
/// personalise offers, what of it, until when.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "data_providers": ["0190f5c2-8b1e-7c3a-9d4f-2a6b8c0e1f35"],
    "permissions": ["ReadTravelProfile"],
    "expiration": "2027-12-01T00:00:00Z"
}))]
pub struct BankConsentRequest {
    /// Partner ids (active data providers; not `bank`).
    #[schema(min_items = 1)]
    pub data_providers: Vec<String>,
    /// Permission codes, e.g. `ReadTravelProfile`.
    #[schema(min_items = 1)]
    pub permissions: Vec<String>,
    /// When it expires (RFC 3339, in the future).
    #[schema(value_type = String, format = DateTime)]
    pub expiration: Timestamp,
}

/// The dashboard's form granting the bank one partner's data.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct BankConsentForm {
    /// The session's CSRF token.
    pub csrf_token: Option<String>,
    /// The partner id.
    pub data_provider: String,
    /// One permission code.
    pub permission: String,
    /// How long: 90, 180 or 365 days.
    pub days: u16,
}

impl BankConsentForm {
    /// The durations the form offers.
    pub const DAYS: [u16; 3] = [90, 180, 365];
}

/// A partner a customer may let the bank use data from.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DataProviderView {
    /// Its id.
    pub partner_id: String,
    /// Its legal name.
    pub name: String,
}

/// The active data providers.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DataProviderList {
    /// In id order.
    pub data: Vec<DataProviderView>,
}
