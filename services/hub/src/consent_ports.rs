//! The consent service behind the authorization server's [`ConsentAuthority`] port, and the
//! partners read model and key ring behind the consent service's ports. Pure translation:
//! every decision stays in the service crates.

use std::sync::Arc;

use async_trait::async_trait;
use ecohub_auth::{
    ActionContext, ConsentAuthority, ConsentForAuthorisation, ConsentPortError, ConsentStanding,
    CustomerRef, PermissionView,
};
use ecohub_consents::{ConsentsState, ErrorKind, PartnerInfo, PartnerLookup, ReceiptSigner};
use ecohub_jose::KeyRing;
use ecohub_kernel::{Clock, Timestamp};
use ecohub_partners::DirectoryReader;
use ecohub_partners::domain::{PartnerId, PartnerStatus, Role};

/// [`ConsentAuthority`] on [`ConsentsState`].
pub struct ConsentsAuthority(pub ConsentsState);

fn port_error(e: ecohub_consents::AppError) -> ConsentPortError {
    match e.kind() {
        ErrorKind::NotFound => ConsentPortError::NotFound,
        // Only malformed customer or pairwise ids: the consent cannot take this decision.
        ErrorKind::Conflict | ErrorKind::Invalid => ConsentPortError::Conflict(e.to_string()),
        ErrorKind::Unavailable => ConsentPortError::Unavailable(e.to_string()),
    }
}

fn to_auth(c: ecohub_consents::ConsentForAuthorisation) -> ConsentForAuthorisation {
    ConsentForAuthorisation {
        consent_id: c.consent_id,
        partner_id: c.partner_id,
        partner_name: c.partner_name,
        partner_status: c.partner_status,
        status: c.status,
        permissions: c
            .permissions
            .into_iter()
            .map(|p| PermissionView {
                code: p.code,
                description: p.description,
            })
            .collect(),
        purpose_code: c.purpose_code,
        purpose_text: c.purpose_text,
        expires_at: c.expires_at,
        transaction_from: c.transaction_from,
        transaction_to: c.transaction_to,
        data_providers: c.data_providers,
    }
}

fn customer(c: &CustomerRef) -> ecohub_consents::CustomerRef {
    ecohub_consents::CustomerRef {
        customer_id: c.customer_id.clone(),
        pairwise_id: c.pairwise_id.clone(),
    }
}

fn context(ctx: &ActionContext) -> ecohub_consents::ActionContext {
    ecohub_consents::ActionContext {
        actor: ctx.actor.clone(),
        interaction_id: ctx.interaction_id.clone(),
        now: ctx.now,
    }
}

#[async_trait(?Send)]
impl ConsentAuthority for ConsentsAuthority {
    async fn pending(
        &self,
        consent_id: &str,
        partner_id: &str,
        now: Timestamp,
    ) -> Result<ConsentForAuthorisation, ConsentPortError> {
        self.0
            .pending(consent_id, partner_id, now)
            .await
            .map(to_auth)
            .map_err(port_error)
    }

    async fn authorise(
        &self,
        consent_id: &str,
        customer_ref: &CustomerRef,
        ctx: &ActionContext,
    ) -> Result<ConsentForAuthorisation, ConsentPortError> {
        self.0
            .authorise(consent_id, &customer(customer_ref), &context(ctx))
            .await
            .map(to_auth)
            .map_err(port_error)
    }

    async fn reject(
        &self,
        consent_id: &str,
        customer_ref: &CustomerRef,
        ctx: &ActionContext,
    ) -> Result<(), ConsentPortError> {
        self.0
            .reject(consent_id, &customer(customer_ref), &context(ctx))
            .await
            .map_err(port_error)
    }

    async fn standing(
        &self,
        consent_id: &str,
        now: Timestamp,
    ) -> Result<ConsentStanding, ConsentPortError> {
        Ok(match self.0.standing(consent_id, now).await {
            Ok(ecohub_consents::ConsentStanding::Authorised {
                partner_id,
                pairwise_id,
                expires_at,
            }) => ConsentStanding::Authorised {
                partner_id,
                pairwise_id,
                expires_at,
            },
            Ok(ecohub_consents::ConsentStanding::Inactive { status }) => {
                ConsentStanding::Inactive { status }
            }
            Ok(ecohub_consents::ConsentStanding::NotFound) => ConsentStanding::NotFound,
            Err(e) if e.kind() == ErrorKind::NotFound => ConsentStanding::NotFound,
            Err(e) => return Err(port_error(e)),
        })
    }
}

/// [`PartnerLookup`] on the partners read model.
pub struct DirectoryLookup(pub DirectoryReader);

impl PartnerLookup for DirectoryLookup {
    fn partner(&self, id: ecohub_consents::domain::PartnerId) -> Option<PartnerInfo> {
        let id = PartnerId::parse(&id.to_string()).ok()?;
        let entry = self.0.get(id)?;
        Some(PartnerInfo {
            name: entry.legal_name,
            status: entry.status.as_str().to_owned(),
            active: entry.status == PartnerStatus::Approved,
            data_provider: entry.granted_roles.contains(&Role::DataProvider),
        })
    }
}

/// [`ReceiptSigner`] with the hub's key ring: receipts verify with `/jwks`.
pub struct RingReceipts {
    /// The hub's keys.
    pub ring: Arc<KeyRing>,
    /// Issuer and audience.
    pub settings: ecohub_auth::AuthSettings,
    /// Where `now` comes from.
    pub clock: Arc<dyn Clock>,
}

impl ReceiptSigner for RingReceipts {
    fn sign(&self, claims: &serde_json::Value) -> Result<String, String> {
        ecohub_auth::sign_consent_receipt(&self.ring, &self.settings, claims, self.clock.now())
            .map_err(|e| e.to_string())
    }
}
