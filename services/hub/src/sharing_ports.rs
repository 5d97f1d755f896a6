//! The consent service, the customer directory, the partners service and the key ring behind
//! the sharing service's ports. Pure translation: every decision stays in the service crates.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use ecohub_auth::{BuiltInDirectory, KeyRing};
use ecohub_consents::ConsentsState;
use ecohub_consents::domain::{ConsentData, ConsentId, ConsentStatus};
use ecohub_eventstore::Position;
use ecohub_kernel::{Clock, Timestamp};
use ecohub_partners::PartnersState;
use ecohub_partners::domain::PartnerId;
use ecohub_sharing::{
    ConsentGrant, ConsentGrants, Customers, PartnerWebhooks, PortError, SetSigner,
};

/// [`ConsentGrants`] on the consent streams, read at their latest revision. A consent read is
/// remembered with the head of the `consent-` category read before it, and used again only
/// while that head is unchanged (no consent stream has changed since: exact); the status is
/// evaluated at the time asked, so an expiry needs no event to take effect.
pub struct ConsentStreams {
    state: ConsentsState,
    seen: Mutex<HashMap<String, SeenConsent>>,
}

/// A consent as read, with the `consent-` category head read before it.
type SeenConsent = (Option<Position>, Option<ConsentData>);

impl ConsentStreams {
    /// Grants read from `state`'s store.
    pub fn new(state: ConsentsState) -> Self {
        Self {
            state,
            seen: Mutex::new(HashMap::new()),
        }
    }

    fn remembered(&self, consent_id: &str, head: Option<Position>) -> Option<Option<ConsentData>> {
        let seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        seen.get(consent_id)
            .filter(|(at, _)| *at == head)
            .map(|(_, data)| data.clone())
    }

    fn remember(&self, consent_id: &str, head: Option<Position>, data: Option<ConsentData>) {
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        if seen.len() >= 100_000 {
            seen.clear();
        }
        seen.insert(consent_id.to_owned(), (head, data));
    }
}

#[async_trait]
impl ConsentGrants for ConsentStreams {
    async fn grant(
        &self,
        consent_id: &str,
        now: Timestamp,
    ) -> Result<Option<ConsentGrant>, PortError> {
        let Ok(id) = ConsentId::parse(consent_id) else {
            return Ok(None);
        };
        let store = self.state.store.clone();
        let head = store
            .category_head("consent-")
            .await
            .map_err(|e| PortError(e.to_string()))?;
        let data = match self.remembered(consent_id, head) {
            Some(data) => data,
            None => {
                let loaded = self
                    .state
                    .load(id)
                    .await
                    .map_err(|e| PortError(e.to_string()))?;
                let data = loaded.consent.data().cloned();
                self.remember(consent_id, head, data.clone());
                data
            }
        };
        let Some(data) = data else {
            return Ok(None);
        };
        if data.status_at(now) != ConsentStatus::Authorised {
            return Ok(None);
        }
        let Some(customer) = &data.customer_id else {
            return Ok(None);
        };
        Ok(Some(ConsentGrant {
            consent_id: data.id.to_string(),
            partner_id: data.partner_id.to_string(),
            customer_id: customer.as_str().to_owned(),
            permissions: data
                .permissions
                .iter()
                .map(|p| p.code().to_owned())
                .collect(),
            transaction_from: data.transaction_window.from,
            transaction_to: data.transaction_window.to,
            data_providers: data.data_providers.iter().map(|p| p.to_string()).collect(),
            expires_at: data.expiry.at(),
        }))
    }
}

/// [`Customers`]: a provider's pairwise id back to the hub's customer id. Pairwise ids are
/// one-way (a hash of the customer's secret salt and the partner id), so the resolver computes
/// the partner's pairwise id of every customer once and remembers the mapping; a miss (a
/// customer registered since) recomputes it. Customers are never deleted, so a remembered
/// mapping stays true.
pub struct PairwiseResolver {
    directory: BuiltInDirectory,
    known: Mutex<HashMap<(String, String), String>>,
}

impl PairwiseResolver {
    /// A resolver over the built-in customer directory on `store`.
    pub fn new(store: ecohub_eventstore::SharedStore) -> Self {
        Self {
            directory: BuiltInDirectory::new(store),
            known: Mutex::new(HashMap::new()),
        }
    }

    fn lookup(&self, partner_id: &str, pairwise_id: &str) -> Option<String> {
        self.known
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&(partner_id.to_owned(), pairwise_id.to_owned()))
            .cloned()
    }
}

#[async_trait]
impl Customers for PairwiseResolver {
    async fn resolve(
        &self,
        partner_id: &str,
        pairwise_id: &str,
    ) -> Result<Option<String>, PortError> {
        if let Some(found) = self.lookup(partner_id, pairwise_id) {
            return Ok(Some(found));
        }
        let mapping = self
            .directory
            .pairwise_ids(partner_id)
            .await
            .map_err(|e| PortError(e.to_string()))?;
        let mut known = self.known.lock().unwrap_or_else(PoisonError::into_inner);
        if known.len() > 1_000_000 {
            known.clear();
        }
        for (pairwise, customer) in mapping {
            known.insert((partner_id.to_owned(), pairwise), customer);
        }
        Ok(known
            .get(&(partner_id.to_owned(), pairwise_id.to_owned()))
            .cloned())
    }
}

/// [`PartnerWebhooks`] from the partner's stream (exact).
pub struct PartnerStreams(pub PartnersState);

#[async_trait]
impl PartnerWebhooks for PartnerStreams {
    async fn webhooks(&self, partner_id: &str) -> Result<Vec<String>, PortError> {
        let Ok(id) = PartnerId::parse(partner_id) else {
            return Ok(Vec::new());
        };
        match self.0.partner(id).await {
            Ok(partner) => Ok(partner
                .webhooks()
                .iter()
                .map(|w| w.url.to_string())
                .collect()),
            Err(ecohub_partners::AppError::Refused(
                ecohub_partners::domain::PartnerError::NotFound,
            )) => Ok(Vec::new()),
            Err(e) => Err(PortError(e.to_string())),
        }
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
            .map_err(|e| PortError(e.to_string()))?;
        key.sign_jwt("secevent+jwt", claims)
            .map_err(|e| PortError(e.to_string()))
    }
}
