//! What the consent service needs from elsewhere, as ports the hub implements: partner names,
//! status and roles (from the partners read model), receipt signing (the hub's key ring), and
//! the record of who used the data a consent let through (the sharing service's access
//! records), which the customer's dashboard shows.

use crate::domain::PartnerId;

/// A partner, as the consent service needs to know it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartnerInfo {
    /// Legal name, shown to customers.
    pub name: String,
    /// Status name (`approved`, `suspended`, …), shown to customers.
    pub status: String,
    /// Whether the partner is active (approved and not suspended or offboarded).
    pub active: bool,
    /// Whether it holds the `data_provider` role.
    pub data_provider: bool,
}

/// Partner look-ups (implemented by the hub from the partners read model).
pub trait PartnerLookup: Send + Sync + 'static {
    /// The partner, if known.
    fn partner(&self, id: PartnerId) -> Option<PartnerInfo>;

    /// The active partners with the `data_provider` role, with their names, in id order: the
    /// providers a customer may let the bank use data from (ADR 0021).
    fn data_providers(&self) -> Vec<(PartnerId, PartnerInfo)>;
}

/// Signs consent receipts as JWTs (implemented by the hub with its key ring, so that the
/// receipt verifies with the hub's JWKS).
pub trait ReceiptSigner: Send + Sync + 'static {
    /// Signs `claims` as a compact JWS.
    fn sign(&self, claims: &serde_json::Value) -> Result<String, String>;
}

/// One recorded use of a consent: a partner read a dataset under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataUse {
    /// The dataset read (`accounts`).
    pub dataset: String,
    /// The fields the answer could hold.
    pub fields: Vec<String>,
    /// How many records it held.
    pub record_count: u64,
    /// When.
    pub at: ecohub_kernel::Timestamp,
}

/// The data accesses made under a consent (implemented by the hub from the sharing service's
/// access records, which are written before each answer).
#[async_trait::async_trait]
pub trait DataUseLog: Send + Sync + 'static {
    /// Up to `limit` uses of `consent_id`, newest first, and whether there are more.
    async fn uses(&self, consent_id: &str, limit: usize) -> Result<(Vec<DataUse>, bool), String>;
}
