//! What the authorization server needs from the consent service, as a port the hub
//! implements (services never depend on each other). The consent stream is the legal
//! record; the authorization server only asks questions and records the customer's decision
//! through this port.

use async_trait::async_trait;
use ecohub_kernel::Timestamp;

/// A permission as the customer sees it on the consent page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermissionView {
    /// The permission code (`ReadAccountsBasic`).
    pub code: String,
    /// What it lets the partner see, in plain language.
    pub description: String,
}

/// A consent as shown to the customer asked to authorise it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentForAuthorisation {
    /// The consent id.
    pub consent_id: String,
    /// The partner (data recipient) that requested it.
    pub partner_id: String,
    /// The partner's legal name.
    pub partner_name: String,
    /// The partner's status (`active`, …), shown on the page.
    pub partner_status: String,
    /// The consent's status (`AwaitingAuthorisation`, `Authorised`, …).
    pub status: String,
    /// The permissions, in plain language.
    pub permissions: Vec<PermissionView>,
    /// Purpose code (`travel-offers`).
    pub purpose_code: String,
    /// Purpose, as the partner explains it.
    pub purpose_text: String,
    /// When the consent expires (never altered by the hub).
    pub expires_at: Timestamp,
    /// Optional transaction window.
    pub transaction_from: Option<Timestamp>,
    /// Optional transaction window end.
    pub transaction_to: Option<Timestamp>,
    /// The data providers concerned (names, for the page).
    pub data_providers: Vec<String>,
}

/// The customer deciding, as the consent service records them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerRef {
    /// The hub's internal customer id.
    pub customer_id: String,
    /// The customer's pairwise identifier for the consent's partner (the token `sub`).
    pub pairwise_id: String,
}

/// Who acts, in which request, when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionContext {
    /// `customer:<id>`, `client:<id>`, `system:<job>`.
    pub actor: String,
    /// The request's `x-fapi-interaction-id`.
    pub interaction_id: Option<String>,
    /// Now.
    pub now: Timestamp,
}

/// A consent's standing, read at its stream's latest revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsentStanding {
    /// Authorised and not expired at the time asked.
    Authorised {
        /// The partner it was granted to.
        partner_id: String,
        /// The customer's pairwise id for that partner.
        pairwise_id: String,
        /// When it expires.
        expires_at: Timestamp,
    },
    /// Any other status (`Revoked`, `Expired` — also when the expiry time has passed but no
    /// event records it yet —, `Rejected`, `AwaitingAuthorisation`).
    Inactive {
        /// The status.
        status: String,
    },
    /// No such consent.
    NotFound,
}

/// Why the consent service refused or failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConsentPortError {
    /// No such consent, or not the asking partner's.
    #[error("consent not found")]
    NotFound,
    /// The consent is not in a state that allows this (e.g. already authorised or revoked,
    /// or expired); a concurrent decision won.
    #[error("consent conflict: {0}")]
    Conflict(String),
    /// The consent service could not answer.
    #[error("consent service unavailable: {0}")]
    Unavailable(String),
}

/// The consent service, as the authorization server sees it.
#[async_trait(?Send)]
pub trait ConsentAuthority: Send + Sync + 'static {
    /// The consent a pushed authorisation request names, if `partner_id` owns it and it awaits
    /// authorisation and has not expired at `now`.
    async fn pending(
        &self,
        consent_id: &str,
        partner_id: &str,
        now: Timestamp,
    ) -> Result<ConsentForAuthorisation, ConsentPortError>;

    /// Records the customer's approval (exactly one of a racing approve/reject/revoke wins;
    /// the others get `Conflict`). Returns the authorised consent.
    async fn authorise(
        &self,
        consent_id: &str,
        customer: &CustomerRef,
        ctx: &ActionContext,
    ) -> Result<ConsentForAuthorisation, ConsentPortError>;

    /// Records the customer's refusal.
    async fn reject(
        &self,
        consent_id: &str,
        customer: &CustomerRef,
        ctx: &ActionContext,
    ) -> Result<(), ConsentPortError>;

    /// The consent's standing at `now`, read exactly (latest revision of its stream).
    async fn standing(
        &self,
        consent_id: &str,
        now: Timestamp,
    ) -> Result<ConsentStanding, ConsentPortError>;
}
