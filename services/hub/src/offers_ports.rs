//! The partners, sharing and consents services behind the offers service's ports.
//! Translation only: partner standing is decided by `PartnersState::not_active_in_role`
//! (exact, from the partners' streams), records, their minimisation and the catalogue are the
//! sharing service's, the consents to the bank are `ConsentsState::bank_grants` and the partners
//! a customer lets receive offers `ConsentsState::offer_partners` (exact); this
//! module only converts types and errors. Staff names are the authorization server's staff
//! directory's; pairwise ids are resolved by its pairwise look-up; partners' names are the
//! partners service's (`PartnersState::legal_names`).

use async_trait::async_trait;
use ecohub_consents::ConsentsState;
use ecohub_kernel::{PartnerId, Timestamp};
use ecohub_offers::{
    CustomerRecords, MomentProviders, OfferConsents, PartnerNames, PartnerStandings, PortError,
    ProfileConsents, ProfileRecord, ProviderGrant, StaffNames,
};
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

/// [`PartnerNames`] answered by the partners service (their registered legal names).
pub struct PartnerLegalNames(pub PartnersState);

#[async_trait]
impl PartnerNames for PartnerLegalNames {
    async fn names(&self, partners: &[PartnerId]) -> Result<Vec<(PartnerId, String)>, PortError> {
        self.0
            .legal_names(partners.iter().copied())
            .await
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

    fn partner_records(
        &self,
        customer_id: &str,
        dataset: &str,
        partner: PartnerId,
        permissions: &[String],
    ) -> Vec<ProfileRecord> {
        self.0
            .minimised_records(
                customer_id,
                dataset,
                &partner.to_string(),
                permissions,
                RECORDS_PER_DATASET,
            )
            .into_iter()
            .map(|r| ProfileRecord {
                provider: r.provider,
                data: r.data,
            })
            .collect()
    }
}

/// [`ProfileConsents`] answered by the consents service.
pub struct BankConsents(pub ConsentsState);

#[async_trait]
impl ProfileConsents for BankConsents {
    async fn providers(
        &self,
        customer_id: &str,
        now: Timestamp,
    ) -> Result<Vec<ProviderGrant>, PortError> {
        let grants = self
            .0
            .bank_grants(customer_id, now)
            .await
            .map_err(|e| PortError(e.to_string()))?;
        Ok(grants
            .into_iter()
            .flat_map(|g| {
                let permissions = g.permissions;
                g.providers.into_iter().map(move |partner| ProviderGrant {
                    partner,
                    permissions: permissions.clone(),
                })
            })
            .collect())
    }
}

/// [`OfferConsents`] answered by the consents service (`ConsentsState::offers_customer`).
pub struct PartnerOfferConsents(pub ConsentsState);

#[async_trait]
impl OfferConsents for PartnerOfferConsents {
    async fn customer(
        &self,
        consent_id: &str,
        partner: PartnerId,
        now: Timestamp,
    ) -> Result<Option<String>, PortError> {
        self.0
            .offers_customer(consent_id, &partner.to_string(), now)
            .await
            .map_err(|e| PortError(e.to_string()))
    }

    async fn offer_partners(
        &self,
        customer_id: &str,
        now: Timestamp,
    ) -> Result<Vec<PartnerId>, PortError> {
        self.0
            .offer_partners(customer_id, now)
            .await
            .map_err(|e| PortError(e.to_string()))
    }
}

/// [`StaffNames`] answered by the authorization server's staff directory.
pub struct StaffDirectoryNames(pub ecohub_auth::StaffDirectory);

#[async_trait]
impl StaffNames for StaffDirectoryNames {
    async fn display_names(
        &self,
        staff_ids: &[String],
    ) -> Result<Vec<(String, String)>, PortError> {
        self.0
            .display_names(staff_ids)
            .await
            .map_err(|e| PortError(e.to_string()))
    }
}

/// [`MomentProviders`] answered by the partners service (the `data_provider` role, exact) and
/// the authorization server's pairwise look-up.
pub struct MomentSources {
    /// The partners service.
    pub partners: PartnersState,
    /// The pairwise look-up.
    pub pairwise: std::sync::Arc<dyn ecohub_auth::PairwiseLookup>,
}

#[async_trait]
impl MomentProviders for MomentSources {
    async fn is_data_provider(&self, partner: PartnerId) -> Result<bool, PortError> {
        self.partners
            .not_active_in_role([partner], Role::DataProvider)
            .await
            .map(|inactive| inactive.is_empty())
            .map_err(|e| PortError(e.to_string()))
    }

    async fn customer(
        &self,
        partner: PartnerId,
        pairwise_id: &str,
    ) -> Result<Option<String>, PortError> {
        self.pairwise
            .resolve(&partner.to_string(), pairwise_id)
            .await
            .map_err(|e| PortError(e.to_string()))
    }
}
