//! What the partners and consents services need from the authorization server, as plain
//! functions the hub adapts to their port traits (services never depend on each other).

use ecohub_kernel::Timestamp;

use super::verifier::APPLICANT_CLIENT_ID;
use crate::settings::{APPLICANT_TOKEN_LIFETIME, AuthSettings, SOFTWARE_STATEMENT_LIFETIME};
use ecohub_jose::{
    IssueError, KeyRing, NewAccessToken, NewSoftwareStatement, issue_access_token,
    issue_software_statement,
};

/// Mints the token an applicant uses to follow its own application: scope `partner:read`,
/// `client_id` `applicant`, `sub` `applicant:<partner_id>`, the `partner_id` claim, 30 days.
/// The verifier accepts it without a client stream and whatever the partner's status (an
/// applicant follows its application even when rejected). Returns the token and its lifetime
/// in seconds.
pub fn issue_applicant_token(
    ring: &KeyRing,
    settings: &AuthSettings,
    partner_id: &str,
    now: Timestamp,
) -> Result<(String, u64), IssueError> {
    if partner_id.is_empty() {
        return Err(IssueError::MissingValue("partner_id"));
    }
    let issued = issue_access_token(
        ring,
        NewAccessToken {
            issuer: settings.issuer.clone(),
            audience: settings.audience.clone(),
            subject: format!("applicant:{partner_id}"),
            client_id: APPLICANT_CLIENT_ID.to_owned(),
            scopes: vec!["partner:read".to_owned()],
            lifetime: APPLICANT_TOKEN_LIFETIME,
            dpop_jkt: None,
            partner_id: Some(partner_id.to_owned()),
            roles: Vec::new(),
            consent_id: None,
        },
        now,
    )?;
    Ok((issued.token, APPLICANT_TOKEN_LIFETIME.as_secs()))
}

/// Signs a software statement for an approved partner (`software_id` = the partner id),
/// valid 30 days. Staff scopes (`admin`, `audit`) are refused: they are never partner scopes.
#[allow(clippy::too_many_arguments)]
pub fn issue_partner_statement(
    ring: &KeyRing,
    settings: &AuthSettings,
    partner_id: &str,
    org_name: &str,
    roles: &[String],
    scopes: &[String],
    redirect_uris: &[String],
    now: Timestamp,
) -> Result<String, IssueError> {
    if let Some(staff) = scopes
        .iter()
        .find(|s| crate::domain::STAFF_SCOPES.contains(&s.as_str()))
    {
        return Err(IssueError::InvalidScope(staff.clone()));
    }
    let issued = issue_software_statement(
        ring,
        NewSoftwareStatement {
            issuer: settings.issuer.clone(),
            software_id: partner_id.to_owned(),
            org_name: org_name.to_owned(),
            roles: roles.to_vec(),
            scopes: scopes.to_vec(),
            redirect_uris: redirect_uris.to_vec(),
            lifetime: SOFTWARE_STATEMENT_LIFETIME,
        },
        now,
    )?;
    Ok(issued.statement)
}

/// `typ` of signed consent receipts.
pub const CONSENT_RECEIPT_TYPE: &str = "consent-receipt+jwt";

/// Signs a consent receipt (for the consents service): a JWT with `typ`
/// `consent-receipt+jwt`, the ring's current key (verifiable with `/jwks`), the given claims
/// plus `iss` = the issuer and `iat` = `now` unless the claims set them. `claims` must be a
/// JSON object.
pub fn sign_consent_receipt(
    ring: &KeyRing,
    settings: &AuthSettings,
    claims: &serde_json::Value,
    now: Timestamp,
) -> Result<String, IssueError> {
    let mut object = claims
        .as_object()
        .cloned()
        .ok_or(IssueError::MissingValue("claims object"))?;
    object.insert("iss".into(), serde_json::json!(settings.issuer));
    object
        .entry("iat")
        .or_insert_with(|| serde_json::json!(now.unix_seconds()));
    let key = ring.signing_key(now)?;
    Ok(key.sign_jwt(CONSENT_RECEIPT_TYPE, &serde_json::Value::Object(object))?)
}
