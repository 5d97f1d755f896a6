//! The language of the consent port: what the authorization server asks the consent service
//! and what it is answered. The authorization server owns the port trait
//! (`ecohub_auth::ConsentAuthority`); the consent service answers in these types; the hub only
//! forwards calls between them.

use crate::time::Timestamp;

pub use crate::context::ActionContext;

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
