//! What the authorization server needs from the consent service, as a port the hub
//! implements (services never depend on each other). The consent stream is the legal
//! record; the authorization server only asks questions and records the customer's decision
//! through this port. The types it speaks are the kernel's (`ecohub_kernel::consent_port`),
//! the same the consent service answers in, so the hub only forwards calls.

use async_trait::async_trait;
use ecohub_kernel::Timestamp;
pub use ecohub_kernel::consent_port::{
    ActionContext, ConsentForAuthorisation, ConsentPortError, ConsentStanding, CustomerRef,
    PermissionView,
};

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
