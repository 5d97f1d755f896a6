//! Settings of the offers service: the one source of their defaults and validation.

use serde::{Deserialize, Serialize};

use crate::domain::{ContactPolicy, Prior};

/// Settings of the offers service (the hub's `[offers]` section).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OffersConfig {
    /// The provider id under which the bank publishes its own records (`bank`): attributes
    /// read its records first, then partners' under the customer's consent to the bank
    /// (docs/offers.md).
    pub bank_provider: String,
    /// The contact policy of every proposition that does not set its own limits
    /// (`[offers.policy]`).
    pub policy: ContactPolicy,
    /// The prior of acceptance propensities (`[offers.prior]`, Beta(α, β)).
    pub prior: Prior,
    /// The most offers one decision may ask for.
    pub max_offers_per_decision: u32,
    /// The attribute (a set of product codes) naming the products a customer holds: a
    /// proposition for one of them is never offered.
    pub held_products_attribute: String,
    /// How often the expiry job records `OfferExpired` (seconds; one instance per period).
    pub expiry_check_period_secs: u64,
    /// How old the outcome counts a decision ranks with may be, in milliseconds: decisions
    /// share one snapshot of the propensity evidence (and the screening order built from
    /// it) until it is this old and an outcome has been counted since. 0: every decision
    /// sees every outcome counted so far.
    pub propensity_refresh_ms: u64,
    /// The most offers one financial moment triggers (the next-best offers of the matched
    /// rules' propositions, ADR 0026).
    pub max_offers_per_moment: u32,
    /// Whether this instance triggers the financial moments it sees. `false`: moments are
    /// still accepted and recorded, and wait; an instance with `true` catches up from the
    /// durable checkpoint (to pause triggering, or to dedicate instances to it).
    pub trigger_moments: bool,
}

impl Default for OffersConfig {
    fn default() -> Self {
        Self {
            bank_provider: "bank".into(),
            policy: ContactPolicy::default(),
            prior: Prior::default(),
            max_offers_per_decision: 10,
            held_products_attribute: "products_held".into(),
            expiry_check_period_secs: 60,
            propensity_refresh_ms: 100,
            max_offers_per_moment: 1,
            trigger_moments: true,
        }
    }
}

impl OffersConfig {
    /// Checks the settings.
    pub fn validate(&self) -> Result<(), String> {
        if self.bank_provider.trim().is_empty() {
            return Err("offers.bank_provider must not be empty".into());
        }
        self.policy
            .validate()
            .map_err(|e| format!("offers.policy{}: {}", e.field.replace('/', "."), e.message))?;
        self.prior.validate()?;
        if !(1..=86_400).contains(&self.expiry_check_period_secs) {
            return Err("offers.expiry_check_period_secs must be 1 to 86400".into());
        }
        if self.propensity_refresh_ms > 60_000 {
            return Err("offers.propensity_refresh_ms must be 0 to 60000".into());
        }
        if !(1..=10).contains(&self.max_offers_per_moment) {
            return Err("offers.max_offers_per_moment must be 1 to 10".into());
        }
        if !(1..=100).contains(&self.max_offers_per_decision) {
            return Err("offers.max_offers_per_decision must be 1 to 100".into());
        }
        Ok(())
    }
}
