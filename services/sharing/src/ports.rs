//! What sharing needs from the rest of the hub and does not do itself. The hub implements
//! these traits (consents, customers, partners, the key ring) and wires them into
//! [`SharingState`](crate::SharingState); services never depend on each other.

use std::collections::BTreeSet;

use async_trait::async_trait;
use ecohub_kernel::Timestamp;

/// A port could not do its job (its store is unreachable, a key is unavailable). Answered as
/// 503 with the cause logged, never returned to the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PortError(pub String);

/// What an authorised, unexpired consent lets its recipient read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentGrant {
    /// The consent.
    pub consent_id: String,
    /// The recipient partner.
    pub partner_id: String,
    /// The hub-internal customer id.
    pub customer_id: String,
    /// Granted permissions (`ReadAccountsBasic`, `ReadTransactionsDetail`, …).
    pub permissions: BTreeSet<String>,
    /// Start of the transaction window, inclusive.
    pub transaction_from: Option<Timestamp>,
    /// End of the transaction window, inclusive.
    pub transaction_to: Option<Timestamp>,
    /// Whose data: `bank` and/or partner ids.
    pub data_providers: Vec<String>,
    /// When the consent expires.
    pub expires_at: Timestamp,
}

/// The consents' authority on what a consent grants.
#[async_trait]
pub trait ConsentGrants: Send + Sync + 'static {
    /// The consent's latest revision, read exactly (never a projection); `None` when it does
    /// not exist, is not authorised, or has expired at `now`.
    async fn grant(
        &self,
        consent_id: &str,
        now: Timestamp,
    ) -> Result<Option<ConsentGrant>, PortError>;
}

/// Customer identities.
#[async_trait]
pub trait Customers: Send + Sync + 'static {
    /// The hub-internal customer id behind `pairwise_id`, the id `partner_id` knows the
    /// customer by; `None` when there is no such customer for that partner.
    async fn resolve(
        &self,
        partner_id: &str,
        pairwise_id: &str,
    ) -> Result<Option<String>, PortError>;

    /// The pairwise id `partner_id` knows the hub's customer `customer_id` by; `None` when the
    /// customer is not in the directory.
    async fn pairwise_of(
        &self,
        partner_id: &str,
        customer_id: &str,
    ) -> Result<Option<String>, PortError>;
}

/// Partners' registered webhook endpoints.
#[async_trait]
pub trait PartnerWebhooks: Send + Sync + 'static {
    /// The URLs of the partner's active webhooks (empty for an unknown partner).
    async fn webhooks(&self, partner_id: &str) -> Result<Vec<String>, PortError>;
}

/// Signs Security Event Tokens (RFC 8417) with the hub's key.
pub trait SetSigner: Send + Sync + 'static {
    /// A compact JWS of `claims` with header `typ: secevent+jwt`.
    fn sign(&self, claims: &serde_json::Value) -> Result<String, PortError>;
}
