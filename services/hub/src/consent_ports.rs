//! The consent service behind the authorization server's [`ConsentAuthority`] port, and the
//! partners read model, key ring and the sharing service's access records behind the consent
//! service's ports. Forwarding only: both services speak the kernel's `consent_port` types,
//! and every decision stays in them.

use std::sync::Arc;

use async_trait::async_trait;
use ecohub_auth::{
    ActionContext, ConsentAuthority, ConsentForAuthorisation, ConsentPortError, ConsentStanding,
    CustomerRef,
};
use ecohub_consents::{
    ConsentsState, DataUse, DataUseLog, PartnerInfo, PartnerLookup, ReceiptSigner,
};
use ecohub_jose::KeyRing;
use ecohub_kernel::{Clock, PartnerId, Timestamp};
use ecohub_partners::DirectoryReader;

/// [`ConsentAuthority`] on [`ConsentsState`].
pub struct ConsentsAuthority(pub ConsentsState);

#[async_trait(?Send)]
impl ConsentAuthority for ConsentsAuthority {
    async fn pending(
        &self,
        consent_id: &str,
        partner_id: &str,
        now: Timestamp,
    ) -> Result<ConsentForAuthorisation, ConsentPortError> {
        Ok(self.0.pending(consent_id, partner_id, now).await?)
    }

    async fn authorise(
        &self,
        consent_id: &str,
        customer: &CustomerRef,
        ctx: &ActionContext,
    ) -> Result<ConsentForAuthorisation, ConsentPortError> {
        Ok(self.0.authorise(consent_id, customer, ctx).await?)
    }

    async fn reject(
        &self,
        consent_id: &str,
        customer: &CustomerRef,
        ctx: &ActionContext,
    ) -> Result<(), ConsentPortError> {
        Ok(self.0.reject(consent_id, customer, ctx).await?)
    }

    async fn standing(
        &self,
        consent_id: &str,
        now: Timestamp,
    ) -> Result<ConsentStanding, ConsentPortError> {
        Ok(self.0.standing(consent_id, now).await?)
    }
}

/// [`PartnerLookup`] on the partners read model.
pub struct DirectoryLookup(pub DirectoryReader);

impl PartnerLookup for DirectoryLookup {
    fn partner(&self, id: PartnerId) -> Option<PartnerInfo> {
        let entry = self.0.get(id)?;
        Some(PartnerInfo {
            name: entry.legal_name.clone(),
            status: entry.status.as_str().to_owned(),
            active: entry.is_active(),
            data_provider: entry.is_data_provider(),
        })
    }

    fn data_providers(&self) -> Vec<(PartnerId, PartnerInfo)> {
        self.0
            .active_data_providers()
            .into_iter()
            .map(|e| {
                (
                    e.partner_id,
                    PartnerInfo {
                        name: e.legal_name.clone(),
                        status: e.status.as_str().to_owned(),
                        active: e.is_active(),
                        data_provider: e.is_data_provider(),
                    },
                )
            })
            .collect()
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

/// [`DataUseLog`] on the sharing service's access records (each consent's access stream).
pub struct SharingDataUse(pub ecohub_eventstore::SharedStore);

#[async_trait]
impl DataUseLog for SharingDataUse {
    async fn uses(&self, consent_id: &str, limit: usize) -> Result<(Vec<DataUse>, bool), String> {
        let (records, more) = ecohub_sharing::audit::latest_of_consent(&*self.0, consent_id, limit)
            .await
            .map_err(|e| e.to_string())?;
        Ok((
            records
                .into_iter()
                .map(|a| DataUse {
                    dataset: a.dataset,
                    fields: a.fields,
                    record_count: a.record_count,
                    at: a.at,
                })
                .collect(),
            more,
        ))
    }
}
