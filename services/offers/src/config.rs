//! Settings of the offers service: the one source of their defaults and validation.

use serde::{Deserialize, Serialize};

/// Settings of the offers service (the hub's `[offers]` section).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OffersConfig {
    /// The provider id under which the bank publishes its own records (`bank`): attributes
    /// are read from its records only, until partner-provided attributes are admitted under
    /// a consent naming the bank as recipient (docs/offers.md).
    pub bank_provider: String,
}

impl Default for OffersConfig {
    fn default() -> Self {
        Self {
            bank_provider: "bank".into(),
        }
    }
}

impl OffersConfig {
    /// Checks the settings.
    pub fn validate(&self) -> Result<(), String> {
        if self.bank_provider.trim().is_empty() {
            return Err("offers.bank_provider must not be empty".into());
        }
        Ok(())
    }
}
