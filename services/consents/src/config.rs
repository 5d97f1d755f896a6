//! Settings of the consent service: the one source of their defaults and validation. The hub
//! composes [`ConsentsConfig`] as its `[consents]` section (read from its layered
//! configuration through [`ConsentsSection`], the keys an operator writes).

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Settings of the consent service. Serialised as (and deserialised from) a
/// [`ConsentsSection`]; the receipts' `issuer` is not an operator's setting (the hub sets it to
/// its own issuer).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "ConsentsSection", into = "ConsentsSection")]
pub struct ConsentsConfig {
    /// How long a consent may await authorisation before it expires
    /// (`authorisation_timeout`). Default 1 hour.
    pub authorisation_timeout: Duration,
    /// How often the expiry job runs (one instance runs each slot). Default 30 s.
    pub expiry_check_period: Duration,
    /// The bank's name, as a data provider and receipt controller.
    pub bank_name: String,
    /// Receipt: jurisdiction (`GB`, `DE`, …).
    pub jurisdiction: String,
    /// Receipt: the controller's contact point.
    pub controller_contact: String,
    /// Receipt: the controller's e-mail.
    pub controller_email: String,
    /// Receipt: the controller's address.
    pub controller_address: String,
    /// Receipt: the controller's web site.
    pub controller_url: String,
    /// Receipt: the privacy policy.
    pub policy_url: String,
    /// Receipt: the `iss` of signed receipts (the hub's issuer).
    pub issuer: String,
}

impl Default for ConsentsConfig {
    fn default() -> Self {
        Self {
            authorisation_timeout: Duration::from_secs(3600),
            expiry_check_period: Duration::from_secs(30),
            bank_name: "Ecohub Bank".to_owned(),
            jurisdiction: "GB".to_owned(),
            controller_contact: "Data Protection Officer".to_owned(),
            controller_email: "dpo@bank.example".to_owned(),
            controller_address: "1 Bank Street, London".to_owned(),
            controller_url: "https://bank.example".to_owned(),
            policy_url: "https://bank.example/privacy".to_owned(),
            issuer: "https://hub.example".to_owned(),
        }
    }
}

impl ConsentsConfig {
    /// Checks the settings an operator can change; the message names the offending key.
    pub fn validate(&self) -> Result<(), String> {
        if !(60..=7 * 24 * 3600).contains(&self.authorisation_timeout.as_secs()) {
            return Err("consents.authorisation_timeout_secs must be between 60 and 604800".into());
        }
        if !(1..=3600).contains(&self.expiry_check_period.as_secs()) {
            return Err("consents.expiry_check_period_secs must be between 1 and 3600".into());
        }
        Ok(())
    }
}

/// The `[consents]` section as an operator writes it (TOML keys, `ECOHUB_CONSENTS__*`
/// variables): unknown keys are errors, missing ones take [`ConsentsConfig::default`]'s
/// values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsentsSection {
    /// Seconds a consent may await the customer's authorisation before it expires. Default
    /// 3600.
    pub authorisation_timeout_secs: u64,
    /// Seconds between two runs of the expiry job (one instance runs each slot). Default 30.
    pub expiry_check_period_secs: u64,
    /// The bank's name (data provider `bank`, receipt controller).
    pub bank_name: String,
    /// Receipt: jurisdiction (`GB`, `DE`, …).
    pub jurisdiction: String,
    /// Receipt: the controller's contact point.
    pub controller_contact: String,
    /// Receipt: the controller's e-mail.
    pub controller_email: String,
    /// Receipt: the controller's postal address.
    pub controller_address: String,
    /// Receipt: the controller's web site.
    pub controller_url: String,
    /// Receipt: the privacy policy's URL.
    pub policy_url: String,
}

impl Default for ConsentsSection {
    fn default() -> Self {
        ConsentsConfig::default().into()
    }
}

impl From<ConsentsConfig> for ConsentsSection {
    fn from(c: ConsentsConfig) -> Self {
        Self {
            authorisation_timeout_secs: c.authorisation_timeout.as_secs(),
            expiry_check_period_secs: c.expiry_check_period.as_secs(),
            bank_name: c.bank_name,
            jurisdiction: c.jurisdiction,
            controller_contact: c.controller_contact,
            controller_email: c.controller_email,
            controller_address: c.controller_address,
            controller_url: c.controller_url,
            policy_url: c.policy_url,
        }
    }
}

impl From<ConsentsSection> for ConsentsConfig {
    fn from(s: ConsentsSection) -> Self {
        Self {
            authorisation_timeout: Duration::from_secs(s.authorisation_timeout_secs),
            expiry_check_period: Duration::from_secs(s.expiry_check_period_secs),
            bank_name: s.bank_name,
            jurisdiction: s.jurisdiction,
            controller_contact: s.controller_contact,
            controller_email: s.controller_email,
            controller_address: s.controller_address,
            controller_url: s.controller_url,
            policy_url: s.policy_url,
            ..ConsentsConfig::default()
        }
    }
}
