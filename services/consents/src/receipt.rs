//! Consent receipts: the claims of a Kantara Consent Receipt v1.1 for an authorised consent,
//! signed through the [`ReceiptSigner`](crate::ReceiptSigner) port as a JWT.

use ecohub_kernel::Timestamp;
use serde_json::{Value, json};

use crate::config::ConsentsConfig;
use crate::domain::{ConsentData, ConsentStatus, Recipient};

/// The receipt's claims (Kantara CR v1.1 field names, plus the JWT's `iss`, `iat`, `jti`,
/// `sub`). `recipient_name` is the partner's name, or the bank's for a consent to the bank
/// (ADR 0021), which discloses nothing to a third party: the bank collects from the providers.
pub fn receipt_claims(
    config: &ConsentsConfig,
    consent: &ConsentData,
    recipient_name: &str,
    provider_names: &[String],
    now: Timestamp,
) -> Option<Value> {
    if consent.status != ConsentStatus::Authorised {
        return None;
    }
    let customer = consent.customer_id.as_ref()?;
    let authorised_at = consent
        .history
        .iter()
        .rev()
        .find(|c| c.status == ConsentStatus::Authorised)
        .map_or(consent.status_changed_at, |c| c.at);
    let receipt_id = format!("{}-{}", consent.id, authorised_at.unix_nanos());
    let pii: Vec<&str> = consent.permissions.iter().map(|p| p.code()).collect();
    let (service, method, disclosure) = match consent.recipient {
        Recipient::Partner(_) => (
            format!("data sharing with {recipient_name}"),
            "web consent page of the hub after a partner's request (OAuth 2.0 authorisation)",
            json!({"thirdPartyDisclosure": true, "thirdPartyName": recipient_name}),
        ),
        Recipient::Bank => (
            format!(
                "personalised offers by {recipient_name} with data from {}",
                provider_names.join(", ")
            ),
            "the customer's own request in the hub's customer space",
            json!({"thirdPartyDisclosure": false}),
        ),
    };
    let mut purpose = json!({
        "purpose": consent.purpose.text(),
        "purposeCategory": [consent.purpose.code()],
        "consentType": "EXPLICIT",
        "piiCategory": pii,
        "primaryPurpose": true,
        "termination": format!(
            "on revocation by the customer or partner, or at {}",
            consent.expiry.at().to_rfc3339()
        ),
    });
    if let (Some(p), Value::Object(d)) = (purpose.as_object_mut(), disclosure) {
        p.extend(d);
    }
    Some(json!({
        "iss": config.issuer,
        "iat": now.unix_seconds(),
        "jti": receipt_id,
        "sub": customer.as_str(),
        "version": "KI-CR-v1.1.0",
        "jurisdiction": config.jurisdiction,
        "consentTimestamp": authorised_at.unix_seconds(),
        "collectionMethod": method,
        "consentReceiptID": receipt_id,
        "language": "en",
        "piiPrincipalId": customer.as_str(),
        "piiControllers": [{
            "piiController": config.bank_name,
            "contact": config.controller_contact,
            "address": config.controller_address,
            "email": config.controller_email,
            "piiControllerUrl": config.controller_url,
        }],
        "policyUrl": config.policy_url,
        "services": [{"service": service, "purposes": [purpose]}],
        "sensitive": false,
        "spiCat": [],
        "consentId": consent.id.to_string(),
        "dataProviders": provider_names,
        "expiresAt": consent.expiry.at().unix_seconds(),
    }))
}
