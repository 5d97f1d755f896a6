//! Request and response bodies, and the parsing of requests into domain commands.
//!
//! Request fields arrive as plain strings and are parsed into the domain's value types here,
//! so that every invalid value is reported as a field error (`400 invalid_request`) with a
//! JSON pointer, all of them at once, rather than as a schema mismatch.

use std::collections::BTreeSet;

use ecohub_http::ApiError;
use ecohub_kernel::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::schema;
use crate::directory::DirectoryEntry;
use crate::domain::{
    ApplyForPartnership, ApprovePartner, CheckKind, CheckResult, Contact, ContactEmail,
    ContactName, ContactRole, CountryCode, EventTypeFilter, EvidenceReference, LegalName, Note,
    Partner, PartnerId, PartnerStatus, Reason, RecordVerification, RedirectUri, RegisterWebhook,
    RegistrationNumber, Role, StaffId, ValidationError, Webhook, WebhookId, WebhookUrl, Website,
};

// --- parsing ---------------------------------------------------------------------------

/// Collects the field errors of one request.
#[derive(Default)]
struct Fields {
    errors: Vec<(String, ValidationError)>,
}

impl Fields {
    fn parse<T>(&mut self, pointer: impl Into<String>, r: Result<T, ValidationError>) -> Option<T> {
        r.map_err(|e| self.errors.push((pointer.into(), e))).ok()
    }

    fn refuse(&mut self, pointer: impl Into<String>, field: &'static str, message: &str) {
        self.errors
            .push((pointer.into(), ValidationError::new(field, message)));
    }

    /// `Ok(())` when every field parsed, else one `invalid_request` naming them all.
    fn finish(self) -> Result<(), ApiError> {
        let Some((_, first)) = self.errors.first() else {
            return Ok(());
        };
        let detail = if self.errors.len() == 1 {
            first.to_string()
        } else {
            format!("{} fields are invalid", self.errors.len())
        };
        Err(self
            .errors
            .into_iter()
            .fold(ApiError::bad_request(detail), |e, (pointer, v)| {
                e.field(pointer, v.message)
            }))
    }
}

fn parse_role(name: &str) -> Result<Role, ValidationError> {
    Role::parse(name).ok_or_else(|| {
        ValidationError::new(
            "role",
            "must be data_recipient, data_provider or offer_partner",
        )
    })
}

fn parse_roles(fields: &mut Fields, pointer: &str, names: &[String]) -> BTreeSet<Role> {
    names
        .iter()
        .enumerate()
        .filter_map(|(i, n)| fields.parse(format!("{pointer}/{i}"), parse_role(n)))
        .collect()
}

fn parse_contact_role(name: &str) -> Result<ContactRole, ValidationError> {
    match name {
        "business" => Ok(ContactRole::Business),
        "technical" => Ok(ContactRole::Technical),
        "compliance" => Ok(ContactRole::Compliance),
        "security" => Ok(ContactRole::Security),
        _ => Err(ValidationError::new(
            "contact.role",
            "must be business, technical, compliance or security",
        )),
    }
}

fn contact_role_name(role: ContactRole) -> &'static str {
    match role {
        ContactRole::Business => "business",
        ContactRole::Technical => "technical",
        ContactRole::Compliance => "compliance",
        ContactRole::Security => "security",
    }
}

fn parse_check_result(name: &str) -> Result<CheckResult, ValidationError> {
    match name {
        "passed" => Ok(CheckResult::Passed),
        "failed" => Ok(CheckResult::Failed),
        "inconclusive" => Ok(CheckResult::Inconclusive),
        _ => Err(ValidationError::new(
            "result",
            "must be passed, failed or inconclusive",
        )),
    }
}

fn check_result_name(result: CheckResult) -> &'static str {
    match result {
        CheckResult::Passed => "passed",
        CheckResult::Failed => "failed",
        CheckResult::Inconclusive => "inconclusive",
    }
}

fn check_name(kind: &CheckKind) -> String {
    match kind {
        CheckKind::RegistryCheck => "registry_check".to_owned(),
        CheckKind::SanctionsScreening => "sanctions_screening".to_owned(),
        CheckKind::Other(name) => name.clone(),
    }
}

/// The request pointer of a field the domain names in a refusal from `decide`.
pub(crate) fn pointer_of(field: &str) -> String {
    match field {
        "webhook_url" => "/url".to_owned(),
        "redirect_uri" => "/redirect_uris".to_owned(),
        other => format!("/{}", other.replace('.', "/")),
    }
}

// --- requests --------------------------------------------------------------------------

/// A person to contact at the applicant.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactInput {
    /// Full name, 1 to 200 characters.
    #[schema(schema_with = schema::contact_name)]
    pub name: String,
    /// Email address.
    #[schema(schema_with = schema::contact_email)]
    pub email: String,
    /// `business`, `technical`, `compliance` or `security`.
    #[schema(value_type = ContactRoleDto, example = "technical")]
    pub role: String,
}

/// An application to join the ecosystem.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplyRequest {
    /// Registered legal name, 1 to 200 characters.
    #[schema(schema_with = schema::legal_name)]
    pub legal_name: String,
    /// Number in the national company registry.
    #[schema(schema_with = schema::registration_number)]
    pub registration_number: String,
    /// Country of registration, ISO 3166-1 alpha-2, uppercase.
    #[schema(schema_with = schema::country)]
    pub country: String,
    /// Public website, `https` on a domain name.
    #[schema(schema_with = schema::website)]
    pub website: String,
    /// 1 to 10 contacts.
    #[schema(min_items = 1, max_items = 10)]
    pub contacts: Vec<ContactInput>,
    /// At least one of `data_recipient`, `data_provider`, `offer_partner`.
    #[schema(value_type = Vec<RoleDto>, min_items = 1, example = json!(["data_recipient"]))]
    pub requested_roles: Vec<String>,
}

impl ApplyRequest {
    /// The command, or every invalid field.
    pub(crate) fn into_command(
        self,
        partner_id: PartnerId,
    ) -> Result<ApplyForPartnership, ApiError> {
        let mut f = Fields::default();
        let legal_name = f.parse("/legal_name", LegalName::parse(&self.legal_name));
        let registration_number = f.parse(
            "/registration_number",
            RegistrationNumber::parse(&self.registration_number),
        );
        let country = f.parse("/country", CountryCode::parse(&self.country));
        let website = f.parse("/website", Website::parse(&self.website));
        let mut contacts = Vec::with_capacity(self.contacts.len());
        for (i, c) in self.contacts.iter().enumerate() {
            let name = f.parse(format!("/contacts/{i}/name"), ContactName::parse(&c.name));
            let email = f.parse(
                format!("/contacts/{i}/email"),
                ContactEmail::parse(&c.email),
            );
            let role = f.parse(format!("/contacts/{i}/role"), parse_contact_role(&c.role));
            if let (Some(name), Some(email), Some(role)) = (name, email, role) {
                contacts.push(Contact { name, email, role });
            }
        }
        if self.contacts.is_empty() {
            f.refuse("/contacts", "contacts", "must list at least one contact");
        }
        let requested_roles = parse_roles(&mut f, "/requested_roles", &self.requested_roles);
        if self.requested_roles.is_empty() {
            f.refuse("/requested_roles", "requested_roles", "must not be empty");
        }
        f.finish()?;
        match (legal_name, registration_number, country, website) {
            (Some(legal_name), Some(registration_number), Some(country), Some(website)) => {
                Ok(ApplyForPartnership {
                    partner_id,
                    legal_name,
                    registration_number,
                    country,
                    website,
                    contacts,
                    requested_roles,
                })
            }
            _ => Err(ApiError::bad_request("invalid application")),
        }
    }
}

/// One piece of verification evidence.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerificationRequest {
    /// `registry_check`, `sanctions_screening`, or another check's name (1 to 64 lowercase
    /// letters, digits or `_`).
    #[schema(schema_with = schema::check)]
    pub check: String,
    /// `passed`, `failed` or `inconclusive`.
    #[schema(value_type = CheckResultDto, example = "passed")]
    pub result: String,
    /// Where the evidence is kept (a registry extract number, a case id), 1 to 500 characters.
    #[schema(schema_with = schema::evidence)]
    pub evidence: String,
}

impl VerificationRequest {
    pub(crate) fn into_command(self, by: StaffId) -> Result<RecordVerification, ApiError> {
        let mut f = Fields::default();
        let check = f.parse("/check", CheckKind::parse(&self.check));
        let result = f.parse("/result", parse_check_result(&self.result));
        let evidence = f.parse("/evidence", EvidenceReference::parse(&self.evidence));
        f.finish()?;
        match (check, result, evidence) {
            (Some(check), Some(result), Some(evidence)) => Ok(RecordVerification {
                check,
                result,
                evidence,
                by,
            }),
            _ => Err(ApiError::bad_request("invalid verification")),
        }
    }
}

/// An approval.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApproveRequest {
    /// Roles granted, a non-empty subset of those requested; omitted grants all requested.
    #[serde(default)]
    #[schema(value_type = Option<Vec<RoleDto>>, min_items = 1, example = json!(["data_recipient"]))]
    pub roles: Option<Vec<String>>,
    /// Redirect URIs the partner's OAuth clients may register (0 to 20): `https`, or `http`
    /// to a loopback host outside production.
    #[schema(schema_with = schema::redirect_uris)]
    pub redirect_uris: Vec<String>,
    /// Optional remark for the record (staff only).
    #[serde(default)]
    #[schema(schema_with = schema::note)]
    pub note: Option<String>,
}

impl ApproveRequest {
    pub(crate) fn into_command(self, by: StaffId) -> Result<ApprovePartner, ApiError> {
        let mut f = Fields::default();
        let roles = self.roles.as_ref().map(|names| {
            if names.is_empty() {
                f.refuse("/roles", "roles", "must not be empty");
            }
            parse_roles(&mut f, "/roles", names)
        });
        let redirect_uris: Vec<RedirectUri> = self
            .redirect_uris
            .iter()
            .enumerate()
            .filter_map(|(i, u)| f.parse(format!("/redirect_uris/{i}"), RedirectUri::parse(u)))
            .collect();
        let note = match &self.note {
            Some(n) => f.parse("/note", Note::parse(n)),
            None => None,
        };
        f.finish()?;
        Ok(ApprovePartner {
            by,
            roles,
            redirect_uris,
            note,
            // Set from configuration by the application layer, never from the request.
            production: true,
        })
    }
}

/// Why a status changes (rejection, suspension, reinstatement, offboarding).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonRequest {
    /// 1 to 500 characters; shown to the partner.
    #[schema(schema_with = schema::reason)]
    pub reason: String,
}

impl ReasonRequest {
    pub(crate) fn parse(self) -> Result<Reason, ApiError> {
        let mut f = Fields::default();
        let reason = f.parse("/reason", Reason::parse(&self.reason));
        f.finish()?;
        reason.ok_or_else(|| ApiError::bad_request("invalid reason"))
    }
}

/// A webhook endpoint to register.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookRequest {
    /// Where notifications are delivered: `https` (or `http` to a loopback host outside
    /// production).
    #[schema(schema_with = schema::webhook_url)]
    pub url: String,
    /// Event types to deliver (exact names or prefixes ending in `*`, up to 50); omitted or
    /// empty means every type.
    #[serde(default)]
    #[schema(schema_with = schema::event_types)]
    pub event_types: Option<Vec<String>>,
}

impl WebhookRequest {
    pub(crate) fn into_command(self, webhook_id: WebhookId) -> Result<RegisterWebhook, ApiError> {
        let mut f = Fields::default();
        let url = f.parse("/url", WebhookUrl::parse(&self.url));
        let event_types = self
            .event_types
            .unwrap_or_default()
            .iter()
            .enumerate()
            .filter_map(|(i, t)| f.parse(format!("/event_types/{i}"), EventTypeFilter::parse(t)))
            .collect();
        f.finish()?;
        let url = url.ok_or_else(|| ApiError::bad_request("invalid url"))?;
        Ok(RegisterWebhook {
            webhook_id,
            url,
            event_types,
            // Set from configuration by the application layer, never from the request.
            production: true,
        })
    }
}

/// Query of the staff list.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Only partners in this status.
    #[param(inline)]
    pub status: Option<StatusDto>,
    /// Items per page, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub page_size: Option<u32>,
    /// Opaque cursor from a previous page's `links.next`.
    pub cursor: Option<String>,
}

// --- responses -------------------------------------------------------------------------

/// Where a partner stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StatusDto {
    /// Applied; no verification evidence yet.
    Applied,
    /// Verification under way; awaiting a decision.
    UnderReview,
    /// Approved and active.
    Approved,
    /// Application rejected (final).
    Rejected,
    /// Temporarily barred.
    Suspended,
    /// Partnership ended (final).
    Offboarded,
}

impl From<PartnerStatus> for StatusDto {
    fn from(s: PartnerStatus) -> Self {
        match s {
            PartnerStatus::Applied => StatusDto::Applied,
            PartnerStatus::UnderReview => StatusDto::UnderReview,
            PartnerStatus::Approved => StatusDto::Approved,
            PartnerStatus::Rejected => StatusDto::Rejected,
            PartnerStatus::Suspended => StatusDto::Suspended,
            PartnerStatus::Offboarded => StatusDto::Offboarded,
        }
    }
}

impl From<StatusDto> for PartnerStatus {
    fn from(s: StatusDto) -> Self {
        match s {
            StatusDto::Applied => PartnerStatus::Applied,
            StatusDto::UnderReview => PartnerStatus::UnderReview,
            StatusDto::Approved => PartnerStatus::Approved,
            StatusDto::Rejected => PartnerStatus::Rejected,
            StatusDto::Suspended => PartnerStatus::Suspended,
            StatusDto::Offboarded => PartnerStatus::Offboarded,
        }
    }
}

/// What a partner does in the ecosystem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RoleDto {
    /// Reads customer data under consent.
    DataRecipient,
    /// Publishes customer data under consent.
    DataProvider,
    /// Co-brands bundled propositions with the bank.
    OfferPartner,
}

impl From<Role> for RoleDto {
    fn from(r: Role) -> Self {
        match r {
            Role::DataRecipient => RoleDto::DataRecipient,
            Role::DataProvider => RoleDto::DataProvider,
            Role::OfferPartner => RoleDto::OfferPartner,
        }
    }
}

/// What a contact is responsible for at the partner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ContactRoleDto {
    /// Commercial relationship and legal notices.
    Business,
    /// Integration and incidents.
    Technical,
    /// Regulatory and audit questions.
    Compliance,
    /// Security incidents and key compromise.
    Security,
}

/// The outcome of a verification check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CheckResultDto {
    /// The check passed.
    Passed,
    /// The check failed.
    Failed,
    /// The check could not decide.
    Inconclusive,
}

fn roles(set: &BTreeSet<Role>) -> Vec<RoleDto> {
    set.iter().copied().map(RoleDto::from).collect()
}

/// The token an applicant follows its application with.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ApplicantToken {
    /// A bearer access token with scope `partner:read` for this application only.
    pub access_token: String,
    /// Always `Bearer`.
    #[schema(example = "Bearer")]
    pub token_type: String,
    /// Seconds until it expires.
    pub expires_in: u64,
}

/// Links of an application.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ApplicationLinks {
    /// The application.
    #[serde(rename = "self")]
    pub self_: String,
    /// Its software statement (available once approved).
    pub software_statement: String,
}

impl ApplicationLinks {
    pub(crate) fn of(id: PartnerId) -> Self {
        Self {
            self_: format!("/partners/applications/{id}"),
            software_statement: format!("/partners/applications/{id}/software-statement"),
        }
    }
}

/// An application received.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ApplicationCreated {
    /// The new partner's id.
    #[schema(value_type = String, format = Uuid)]
    pub partner_id: PartnerId,
    /// Always `applied`.
    pub status: StatusDto,
    /// The token to follow the application with.
    pub applicant_token: ApplicantToken,
    /// Where to follow it.
    pub links: ApplicationLinks,
}

/// One status change, as the partner sees it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StatusEntry {
    /// The status entered.
    pub status: StatusDto,
    /// Why (rejections, suspensions, reinstatements, offboardings).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When.
    pub at: Timestamp,
}

/// What approval granted.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Grant {
    /// Roles granted.
    pub roles: Vec<RoleDto>,
    /// OAuth scopes those roles allow.
    #[schema(example = json!(["partner:read", "webhooks:manage", "consents:read"]))]
    pub scopes: Vec<String>,
    /// Redirect URIs the partner's clients may register.
    pub redirect_uris: Vec<String>,
}

impl Grant {
    fn of(p: &Partner) -> Option<Self> {
        if p.granted_roles().is_empty() {
            return None;
        }
        Some(Self {
            roles: roles(p.granted_roles()),
            scopes: p
                .allowed_scopes()
                .iter()
                .map(|s| s.as_str().to_owned())
                .collect(),
            redirect_uris: p.redirect_uris().iter().map(ToString::to_string).collect(),
        })
    }
}

/// An application as the applicant (or approved partner) sees it: no verification evidence,
/// no staff identities, no internal remarks.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ApplicationView {
    /// The partner's id.
    #[schema(value_type = String, format = Uuid)]
    pub partner_id: PartnerId,
    /// Registered legal name.
    pub legal_name: String,
    /// Number in the national company registry.
    pub registration_number: String,
    /// Country of registration.
    pub country: String,
    /// Public website.
    pub website: String,
    /// Roles asked for.
    pub requested_roles: Vec<RoleDto>,
    /// Current status.
    pub status: StatusDto,
    /// When it applied.
    pub applied_at: Timestamp,
    /// Every status it went through, oldest first.
    pub status_history: Vec<StatusEntry>,
    /// What approval granted (absent before approval; kept as a record afterwards).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub granted: Option<Grant>,
    /// Related resources.
    pub links: ApplicationLinks,
}

impl ApplicationView {
    pub(crate) fn of(p: &Partner) -> Option<Self> {
        let a = p.application()?;
        Some(Self {
            partner_id: a.partner_id,
            legal_name: a.legal_name.to_string(),
            registration_number: a.registration_number.to_string(),
            country: a.country.to_string(),
            website: a.website.to_string(),
            requested_roles: roles(&a.requested_roles),
            status: p.status()?.into(),
            applied_at: a.applied_at,
            status_history: p
                .status_history()
                .iter()
                .map(|c| StatusEntry {
                    status: c.status.into(),
                    reason: c.reason.as_ref().map(ToString::to_string),
                    at: c.at,
                })
                .collect(),
            granted: Grant::of(p),
            links: ApplicationLinks::of(a.partner_id),
        })
    }
}

/// A freshly signed software statement.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SoftwareStatementView {
    /// A JWT signed with the hub's directory key naming the partner, its roles, allowed
    /// scopes and redirect URIs; present it at dynamic client registration.
    pub software_statement: String,
}

/// A contact, as staff see it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ContactView {
    /// Full name.
    pub name: String,
    /// Email address.
    pub email: String,
    /// `business`, `technical`, `compliance` or `security`.
    #[schema(value_type = ContactRoleDto)]
    pub role: String,
}

/// One status change, as staff see it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StatusChangeView {
    /// The status entered.
    pub status: StatusDto,
    /// Why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The approver's remark.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The staff member who caused it (absent for the application itself).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// When.
    pub at: Timestamp,
}

/// One piece of verification evidence.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct VerificationView {
    /// What was checked (`registry_check`, `sanctions_screening`, or another name).
    pub check: String,
    /// `passed`, `failed` or `inconclusive`.
    #[schema(value_type = CheckResultDto)]
    pub result: String,
    /// Where the evidence is kept.
    pub evidence: String,
    /// Who recorded it.
    pub by: String,
    /// When.
    pub at: Timestamp,
}

/// An active webhook endpoint.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WebhookView {
    /// Its id.
    #[schema(value_type = String, format = Uuid)]
    pub webhook_id: WebhookId,
    /// Where notifications go.
    pub url: String,
    /// Which event types (empty means all).
    pub event_types: Vec<String>,
    /// When it was registered.
    pub registered_at: Timestamp,
}

impl From<&Webhook> for WebhookView {
    fn from(w: &Webhook) -> Self {
        Self {
            webhook_id: w.id,
            url: w.url.to_string(),
            event_types: w.event_types.iter().map(ToString::to_string).collect(),
            registered_at: w.registered_at,
        }
    }
}

/// A partner's webhooks.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WebhookList {
    /// Active webhooks, in the order registered.
    pub data: Vec<WebhookView>,
}

/// Everything the hub knows about a partner, read from its stream: staff only.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PartnerRecord {
    /// The partner's id.
    #[schema(value_type = String, format = Uuid)]
    pub partner_id: PartnerId,
    /// Registered legal name.
    pub legal_name: String,
    /// Number in the national company registry.
    pub registration_number: String,
    /// Country of registration.
    pub country: String,
    /// Public website.
    pub website: String,
    /// People to contact.
    pub contacts: Vec<ContactView>,
    /// Roles asked for.
    pub requested_roles: Vec<RoleDto>,
    /// Current status.
    pub status: StatusDto,
    /// Whether the partner may act now (approved).
    pub active: bool,
    /// When it applied.
    pub applied_at: Timestamp,
    /// Every status it went through, oldest first.
    pub status_history: Vec<StatusChangeView>,
    /// Every piece of verification evidence, in the order recorded.
    pub verifications: Vec<VerificationView>,
    /// What approval granted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub granted: Option<Grant>,
    /// Active webhooks.
    pub webhooks: Vec<WebhookView>,
}

impl PartnerRecord {
    pub(crate) fn of(p: &Partner) -> Option<Self> {
        let a = p.application()?;
        Some(Self {
            partner_id: a.partner_id,
            legal_name: a.legal_name.to_string(),
            registration_number: a.registration_number.to_string(),
            country: a.country.to_string(),
            website: a.website.to_string(),
            contacts: a
                .contacts
                .iter()
                .map(|c| ContactView {
                    name: c.name.to_string(),
                    email: c.email.to_string(),
                    role: contact_role_name(c.role).to_owned(),
                })
                .collect(),
            requested_roles: roles(&a.requested_roles),
            status: p.status()?.into(),
            active: p.is_active(),
            applied_at: a.applied_at,
            status_history: p
                .status_history()
                .iter()
                .map(|c| StatusChangeView {
                    status: c.status.into(),
                    reason: c.reason.as_ref().map(ToString::to_string),
                    note: c.note.as_ref().map(ToString::to_string),
                    by: c.by.as_ref().map(ToString::to_string),
                    at: c.at,
                })
                .collect(),
            verifications: p
                .verifications()
                .iter()
                .map(|v| VerificationView {
                    check: check_name(&v.check),
                    result: check_result_name(v.result).to_owned(),
                    evidence: v.evidence.to_string(),
                    by: v.by.to_string(),
                    at: v.at,
                })
                .collect(),
            granted: Grant::of(p),
            webhooks: p.webhooks().iter().map(WebhookView::from).collect(),
        })
    }
}

/// An approval: the partner, and its first software statement.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ApprovalView {
    /// The partner as it now stands.
    pub partner: PartnerRecord,
    /// The signed software statement to hand to the partner.
    pub software_statement: String,
}

/// One partner in the staff list.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PartnerSummary {
    /// The partner's id.
    #[schema(value_type = String, format = Uuid)]
    pub partner_id: PartnerId,
    /// Registered legal name.
    pub legal_name: String,
    /// Country of registration.
    pub country: String,
    /// Current status.
    pub status: StatusDto,
    /// Roles asked for.
    pub requested_roles: Vec<RoleDto>,
    /// Roles granted (empty before approval).
    pub granted_roles: Vec<RoleDto>,
    /// When it applied.
    pub applied_at: Timestamp,
    /// When its status last changed.
    pub status_changed_at: Timestamp,
}

impl From<DirectoryEntry> for PartnerSummary {
    fn from(e: DirectoryEntry) -> Self {
        Self {
            partner_id: e.partner_id,
            legal_name: e.legal_name,
            country: e.country,
            status: e.status.into(),
            requested_roles: roles(&e.requested_roles),
            granted_roles: roles(&e.granted_roles),
            applied_at: e.applied_at,
            status_changed_at: e.status_changed_at,
        }
    }
}
