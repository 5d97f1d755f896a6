//! The consent service, the customer directory, the partners service and the key ring behind
//! the sharing service's ports. Translation only: every answer is computed by the service
//! that owns it (`ConsentsState::grant`, `PairwiseLookup`, `PartnersState::webhook_urls`, the
//! key ring); this module only converts types and errors.

use std::sync::Arc;

use async_trait::async_trait;
use ecohub_auth::PairwiseLookup;
use ecohub_consents::ConsentsState;
use ecohub_jose::KeyRing;
use ecohub_kernel::{Clock, Timestamp};
use ecohub_partners::PartnersState;
use ecohub_sharing::{
    ConsentGrant, ConsentGrants, Customers, PartnerWebhooks, PortError, SetSigner,
};

fn port_error(e: impl std::fmt::Display) -> PortError {
    PortError(e.to_string())
}

/// [`ConsentGrants`] answered by the consent service ([`ConsentsState::grant`]).
pub struct ConsentStreams(pub ConsentsState);

#[async_trait]
impl ConsentGrants for ConsentStreams {
    async fn grant(
        &self,
        consent_id: &str,
        now: Timestamp,
    ) -> Result<Option<ConsentGrant>, PortError> {
        let grant = self.0.grant(consent_id, now).await.map_err(port_error)?;
        Ok(grant.map(|g| ConsentGrant {
            consent_id: g.consent_id,
            partner_id: g.partner_id,
            customer_id: g.customer_id,
            permissions: g.permissions.into_iter().collect(),
            transaction_from: g.transaction_from,
            transaction_to: g.transaction_to,
            data_providers: g.data_providers,
            expires_at: g.expires_at,
        }))
    }
}

/// [`Customers`] answered by the authorization server's pairwise look-up
/// (`ecohub_auth::PairwiseResolver` over the built-in directory).
pub struct PairwiseCustomers(pub Arc<dyn PairwiseLookup>);

#[async_trait]
impl Customers for PairwiseCustomers {
    async fn resolve(
        &self,
        partner_id: &str,
        pairwise_id: &str,
    ) -> Result<Option<String>, PortError> {
        self.0
            .resolve(partner_id, pairwise_id)
            .await
            .map_err(port_error)
    }

    async fn pairwise_of(
        &self,
        partner_id: &str,
        customer_id: &str,
    ) -> Result<Option<String>, PortError> {
        self.0
            .pairwise_of(partner_id, customer_id)
            .await
            .map_err(port_error)
    }
}

/// [`PartnerWebhooks`] answered by the partners service ([`PartnersState::webhook_urls`]).
pub struct PartnerStreams(pub PartnersState);

#[async_trait]
impl PartnerWebhooks for PartnerStreams {
    async fn webhooks(&self, partner_id: &str) -> Result<Vec<String>, PortError> {
        self.0.webhook_urls(partner_id).await.map_err(port_error)
    }
}

/// [`SetSigner`] with the hub's key ring: SETs verify with `/jwks`.
pub struct RingSets {
    /// The hub's keys.
    pub ring: Arc<KeyRing>,
    /// Where `now` comes from (the key in use changes with rotation).
    pub clock: Arc<dyn Clock>,
}

impl SetSigner for RingSets {
    fn sign(&self, claims: &serde_json::Value) -> Result<String, PortError> {
        let key = self
            .ring
            .signing_key(self.clock.now())
            .map_err(port_error)?;
        key.sign_jwt("secevent+jwt", claims).map_err(port_error)
    }
}
