//! What the offers service asks of other services; the hub implements each port.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;

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
}
