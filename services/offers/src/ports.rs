//! What the offers service asks of other services; the hub implements each port.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;

use ecohub_kernel::Timestamp;

use crate::domain::PartnerId;

/// A port failed (the store behind it is unavailable).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct PortError(pub String);

/// Co-brand partners' standing, read exactly (from the partner's stream, not a projection):
/// a suspended or offboarded partner takes its propositions out of every evaluation at once.
#[async_trait]
pub trait PartnerStandings: Send + Sync {
    /// The partners among `partners` that are not active `offer_partner`s now.
    async fn inactive(&self, partners: &[PartnerId]) -> Result<Vec<PartnerId>, PortError>;
}

/// Names staff people for the console's pages (who drafted, submitted, approved): the
/// authorization server's staff directory knows them, this service only their ids.
#[async_trait]
pub trait StaffNames: Send + Sync {
    /// The display names of the people among `staff_ids` (bare ids, without `staff:`), as
    /// `(id, name)` pairs; an unknown id is left out.
    async fn display_names(&self, staff_ids: &[String])
    -> Result<Vec<(String, String)>, PortError>;
}

/// Names co-brand partners and moment providers for the console's pages: the partners
/// service holds their registered legal names, this service only their ids.
#[async_trait]
pub trait PartnerNames: Send + Sync {
    /// The names of the partners among `partners`, as `(id, name)` pairs; a partner the
    /// partners service does not know is left out.
    async fn names(&self, partners: &[PartnerId]) -> Result<Vec<(PartnerId, String)>, PortError>;
}

/// One published record of a customer.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileRecord {
    /// Who published it (`bank` or a partner id).
    pub provider: String,
    /// Its data.
    pub data: Arc<Value>,
}

/// Customers' published records (the sharing service's catalogue and records).
pub trait CustomerRecords: Send + Sync {
    /// Whether `dataset` is in the sharing catalogue.
    fn dataset_exists(&self, dataset: &str) -> bool;

    /// The records of `dataset` published for the bank's customer `customer_id`.
    fn records(&self, customer_id: &str, dataset: &str) -> Vec<ProfileRecord>;

    /// The records of `dataset` that `partner` published for the customer, reduced to the
    /// fields `permissions` unlock in the sharing catalogue (the minimisation data recipients
    /// get); none when they unlock nothing of it.
    fn partner_records(
        &self,
        customer_id: &str,
        dataset: &str,
        partner: PartnerId,
        permissions: &[String],
    ) -> Vec<ProfileRecord>;
}

/// What one of the customer's consents to the bank lets it use for personalised offers
/// (ADR 0021): a partner's data, as far as the permissions unlock it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderGrant {
    /// The partner (data provider).
    pub partner: PartnerId,
    /// The permission codes granted.
    pub permissions: Vec<String>,
}

/// The customer's consents whose recipient is the bank and whose purpose is personalised
/// offers, read exactly (the consent service answers): a revocation or expiry acknowledged on
/// any instance is seen by the next evaluation on every instance.
#[async_trait]
pub trait ProfileConsents: Send + Sync {
    /// The partners whose data may be used for the customer at `now`, one entry per consent
    /// and partner.
    async fn providers(
        &self,
        customer_id: &str,
        now: Timestamp,
    ) -> Result<Vec<ProviderGrant>, PortError>;
}

/// Consents that let a co-brand partner decide offers for a customer (permission
/// `ReadOffers`), read exactly: a revocation acknowledged on any instance is seen by the next
/// request.
#[async_trait]
pub trait OfferConsents: Send + Sync {
    /// The bank's customer id behind consent `consent_id` if it is authorised at `now`, belongs
    /// to `partner` and grants `ReadOffers`; `None` otherwise.
    async fn customer(
        &self,
        consent_id: &str,
        partner: PartnerId,
        now: Timestamp,
    ) -> Result<Option<String>, PortError>;

    /// The partners the customer lets receive offers at `now` (an authorised consent granting
    /// `ReadOffers`): a triggered offer is sent to a co-brand partner's webhook only then.
    async fn offer_partners(
        &self,
        customer_id: &str,
        now: Timestamp,
    ) -> Result<Vec<PartnerId>, PortError>;
}

/// Moment providers (ADR 0026): the partners service says who is an active data provider, the
/// customer directory resolves the pairwise ids partners know customers by. Both exact.
#[async_trait]
pub trait MomentProviders: Send + Sync {
    /// Whether `partner` holds the active `data_provider` role now.
    async fn is_data_provider(&self, partner: PartnerId) -> Result<bool, PortError>;

    /// The bank's customer id behind `pairwise_id`, as `partner` knows the customer; `None`
    /// when it names nobody.
    async fn customer(
        &self,
        partner: PartnerId,
        pairwise_id: &str,
    ) -> Result<Option<String>, PortError>;
}
