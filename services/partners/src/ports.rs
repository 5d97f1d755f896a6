//! What partner onboarding needs from the outside and does not do itself: minting the
//! applicant's token, signing software statements and naming staff people on the console's
//! pages. All belong to the authorization server, which implements these traits; the hub wires them into [`PartnersState`]
//! (services never depend on each other).
//!
//! [`PartnersState`]: crate::PartnersState

use ecohub_kernel::Timestamp;

use crate::domain::{PartnerId, Role};

/// A port could not do its job (a signing key is unavailable, the key store is unreachable).
/// Answered as 503 with the cause logged, never returned to the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PortError(pub String);

/// An access token minted for a caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedToken {
    /// The token itself (a JWT access token).
    pub access_token: String,
    /// Seconds until it expires.
    pub expires_in: u64,
}

/// Mints the token an applicant uses to follow its own application: scope `partner:read`,
/// carrying the partner id, so applicants use the same bearer flow as approved partners.
pub trait ApplicantTokens: Send + Sync + 'static {
    /// A token for the applicant `partner`, issued at `now`.
    fn issue(&self, partner: PartnerId, now: Timestamp) -> Result<IssuedToken, PortError>;
}

/// What a software statement asserts about an approved partner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoftwareStatementClaims {
    /// The partner.
    pub partner_id: PartnerId,
    /// Its registered legal name.
    pub org_name: String,
    /// The roles granted at approval.
    pub roles: Vec<Role>,
    /// The OAuth scopes those roles allow (`partner:read`, `consents:write`, …).
    pub scopes: Vec<String>,
    /// The redirect URIs its OAuth clients may register.
    pub redirect_uris: Vec<String>,
}

/// Signs software statements with the hub's directory key.
pub trait SoftwareStatements: Send + Sync + 'static {
    /// A signed statement (a compact JWS) of `claims`, issued at `now`.
    fn issue(&self, claims: &SoftwareStatementClaims, now: Timestamp) -> Result<String, PortError>;
}

/// Names staff people for the console's pages (the history says who did what): the
/// authorization server's staff directory knows them, this service only their ids.
#[async_trait::async_trait]
pub trait StaffNames: Send + Sync + 'static {
    /// The display names of the people among `staff_ids` (bare ids, without `staff:`), as
    /// `(id, name)` pairs; an unknown id is left out.
    async fn display_names(&self, staff_ids: &[String])
    -> Result<Vec<(String, String)>, PortError>;
}
