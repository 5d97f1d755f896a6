//! An in-memory but honest `ConsentAuthority`: only pending consents of the asking partner
//! can be authorised or rejected (anything else is `Conflict`), expiry by time is seen at
//! once, and every status change is also appended to `consent-<id>` in the hub's store, as
//! the consents service does (so that head-guarded caches see it).

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use ecohub_auth::{
    ActionContext, ConsentAuthority, ConsentForAuthorisation, ConsentPortError, ConsentStanding,
    CustomerRef, PermissionView,
};
use ecohub_eventstore::{ExpectedRevision, NewEvent, SharedStore};
use ecohub_kernel::Timestamp;
use serde_json::json;

#[derive(Debug, Clone)]
pub struct FakeConsent {
    pub view: ConsentForAuthorisation,
    pub customer: Option<CustomerRef>,
    pub actor: Option<String>,
}

pub struct FakeConsents {
    store: SharedStore,
    consents: Mutex<HashMap<String, FakeConsent>>,
}

impl FakeConsents {
    pub fn new(store: SharedStore) -> Self {
        Self {
            store,
            consents: Mutex::new(HashMap::new()),
        }
    }

    /// A consent of `partner_id` awaiting authorisation, expiring at `expires_at`.
    pub fn add_pending(&self, partner_id: &str, expires_at: Timestamp) -> String {
        let id = uuid::Uuid::now_v7().to_string();
        let view = ConsentForAuthorisation {
            consent_id: id.clone(),
            partner_id: partner_id.to_owned(),
            partner_name: "TravelCo <GmbH>".into(),
            partner_status: "active".into(),
            status: "AwaitingAuthorisation".into(),
            permissions: vec![PermissionView {
                code: "ReadAccountsBasic".into(),
                description: "Your account names & types".into(),
            }],
            purpose_code: "travel-offers".into(),
            purpose_text: "Travel offers that fit your budget".into(),
            expires_at,
            transaction_from: None,
            transaction_to: None,
            data_providers: vec!["Ecobank".into()],
        };
        self.consents.lock().unwrap().insert(
            id.clone(),
            FakeConsent {
                view,
                customer: None,
                actor: None,
            },
        );
        id
    }

    pub fn get(&self, id: &str) -> FakeConsent {
        self.consents.lock().unwrap()[id].clone()
    }

    async fn record(&self, id: &str, event_type: &str, now: Timestamp) {
        self.store
            .append(
                &format!("consent-{id}"),
                ExpectedRevision::Any,
                vec![NewEvent::raw(event_type, json!({ "at": now }), now)],
            )
            .await
            .unwrap();
    }

    /// Revokes an authorised consent (as the customer would on the dashboard).
    pub async fn revoke(&self, id: &str, now: Timestamp) {
        self.consents
            .lock()
            .unwrap()
            .get_mut(id)
            .unwrap()
            .view
            .status = "Revoked".into();
        self.record(id, "ConsentRevoked", now).await;
    }

    /// Sets the status without writing anything (to show what the store head guards).
    pub fn set_status_silently(&self, id: &str, status: &str) {
        self.consents
            .lock()
            .unwrap()
            .get_mut(id)
            .unwrap()
            .view
            .status = status.into();
    }

    fn decide(
        &self,
        id: &str,
        status: &str,
        customer: &CustomerRef,
        ctx: &ActionContext,
    ) -> Result<ConsentForAuthorisation, ConsentPortError> {
        let mut all = self.consents.lock().unwrap();
        let c = all.get_mut(id).ok_or(ConsentPortError::NotFound)?;
        if c.view.status != "AwaitingAuthorisation" {
            return Err(ConsentPortError::Conflict(format!(
                "consent is {}",
                c.view.status
            )));
        }
        if ctx.now >= c.view.expires_at {
            return Err(ConsentPortError::Conflict("consent expired".into()));
        }
        c.view.status = status.into();
        c.customer = Some(customer.clone());
        c.actor = Some(ctx.request.actor.clone());
        Ok(c.view.clone())
    }
}

#[async_trait(?Send)]
impl ConsentAuthority for FakeConsents {
    async fn pending(
        &self,
        consent_id: &str,
        partner_id: &str,
        now: Timestamp,
    ) -> Result<ConsentForAuthorisation, ConsentPortError> {
        let all = self.consents.lock().unwrap();
        let c = all.get(consent_id).ok_or(ConsentPortError::NotFound)?;
        if c.view.partner_id != partner_id {
            return Err(ConsentPortError::NotFound);
        }
        if c.view.status != "AwaitingAuthorisation" || now >= c.view.expires_at {
            return Err(ConsentPortError::Conflict(format!(
                "consent is {}",
                c.view.status
            )));
        }
        Ok(c.view.clone())
    }

    async fn authorise(
        &self,
        consent_id: &str,
        customer: &CustomerRef,
        ctx: &ActionContext,
    ) -> Result<ConsentForAuthorisation, ConsentPortError> {
        let view = self.decide(consent_id, "Authorised", customer, ctx)?;
        self.record(consent_id, "ConsentAuthorised", ctx.now).await;
        Ok(view)
    }

    async fn reject(
        &self,
        consent_id: &str,
        customer: &CustomerRef,
        ctx: &ActionContext,
    ) -> Result<(), ConsentPortError> {
        self.decide(consent_id, "Rejected", customer, ctx)?;
        self.record(consent_id, "ConsentRejected", ctx.now).await;
        Ok(())
    }

    async fn standing(
        &self,
        consent_id: &str,
        now: Timestamp,
    ) -> Result<ConsentStanding, ConsentPortError> {
        let all = self.consents.lock().unwrap();
        let Some(c) = all.get(consent_id) else {
            return Ok(ConsentStanding::NotFound);
        };
        if c.view.status == "Authorised" && now >= c.view.expires_at {
            return Ok(ConsentStanding::Inactive {
                status: "Expired".into(),
            });
        }
        match (&c.view.status[..], &c.customer) {
            ("Authorised", Some(customer)) => Ok(ConsentStanding::Authorised {
                partner_id: c.view.partner_id.clone(),
                pairwise_id: customer.pairwise_id.clone(),
                expires_at: c.view.expires_at,
            }),
            (status, _) => Ok(ConsentStanding::Inactive {
                status: status.to_owned(),
            }),
        }
    }
}
