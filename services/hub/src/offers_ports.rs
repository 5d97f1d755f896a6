//! The partners service and the sharing service behind the offers service's ports.
//! Translation only: partner standing is decided by `PartnersState::not_active_in_role`
//! (exact, from the partners' streams), records and the catalogue are the sharing
//! service's read models; this module only converts types and errors.

use async_trait::async_trait;
use ecohub_kernel::PartnerId;
use ecohub_offers::{CustomerRecords, PartnerStandings, PortError, ProfileRecord};
use ecohub_partners::PartnersState;
use ecohub_partners::domain::Role;
use ecohub_sharing::SharingState;

/// At most this many records of one dataset are read per customer for attributes.
const RECORDS_PER_DATASET: usize = 100;

/// [`PartnerStandings`] answered by the partners service.
pub struct PartnerRoles(pub PartnersState);

#[async_trait]
impl PartnerStandings for PartnerRoles {
    async fn inactive(&self, partners: &[PartnerId]) -> Result<Vec<PartnerId>, PortError> {
        self.0
            .not_active_in_role(partners.iter().copied(), Role::OfferPartner)
            .await
            .map(Vec::from_iter)
            .map_err(|e| PortError(e.to_string()))
    }
}

/// [`CustomerRecords`] answered by the sharing service's catalogue and records.
pub struct SharedRecords(pub SharingState);

impl CustomerRecords for SharedRecords {
    fn dataset_exists(&self, dataset: &str) -> bool {
        self.0.catalogue.get(dataset).is_some()
    }

    fn records(&self, customer_id: &str, dataset: &str) -> Vec<ProfileRecord> {
        self.0
            .records
            .page(customer_id, dataset, None, RECORDS_PER_DATASET, |_, _| true)
            .into_iter()
            .map(|r| ProfileRecord {
                provider: r.provider,
                data: r.data,
            })
            .collect()
    }
}
