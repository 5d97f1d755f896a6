//! What the consent service needs from elsewhere, as ports the hub implements: partner names,
//! status and roles (from the partners read model), and receipt signing (the hub's key ring).

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
