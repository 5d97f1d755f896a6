//! The OAuth 2.0 / FAPI 2.0 authorization server, built on the JOSE core ([`ecohub_jose`]:
//! keys and their rotation, access tokens, software statements, client assertions, DPoP proofs).
//!
//! The pure [`domain`] (the OAuth client aggregate, the partner standing fold), the
//! [`application`] layer (client authentication, grants, registration, the [`TokenVerifier`],
//! customer sessions, the staff directory and staff sessions, ports for the partners and consents services, key rotation) and the
//! [`http`] layer ([`configure`], [`AuthApi`]). [`OAuthError`] is the OAuth error each error of
//! the core is rendered as.

pub mod application;
pub mod domain;
pub mod error;
pub mod http;
pub mod settings;

pub use application::EndpointError;
pub use application::code_grant::CODE_LIFETIME;
pub use application::consent_port::{
    ActionContext, ConsentAuthority, ConsentForAuthorisation, ConsentPortError, ConsentStanding,
    CustomerRef, PermissionView,
};
pub use application::customers::{
    AuthenticatedCustomer, BuiltInDirectory, CustomerAuthenticator, CustomerFailure,
    CustomerSessionResolver, CustomerSummary, PairwiseSalt, SESSION_LIFETIME,
    SharedCustomerAuthenticator, pairwise_id,
};
pub use application::keys::{KEY_RELOAD_PERIOD, list_keys, rotate_keys, spawn_key_reloader};
pub use application::pairwise::{PairwiseLookup, PairwiseResolver};
pub use application::par::{CONSENT_DETAILS_TYPE, ParResponse, REQUEST_URI_LIFETIME};
pub use application::ports::{
    CONSENT_RECEIPT_TYPE, issue_applicant_token, issue_partner_statement, sign_consent_receipt,
};
pub use application::refresh::REFRESH_TOKEN_LIFETIME;
pub use application::registration::{StaffClientError, bootstrap_admin, create_staff_client};
pub use application::replay_log::{MAX_REMEMBER as REPLAY_MAX_REMEMBER, StoreReplayGuard};
pub use application::session::{SESSION_TYPE, SessionClaims};
pub use application::staff::{AddedStaff, NewStaff, StaffDirectory, StaffFailure, StaffSummary};
pub use application::staff_session::{STAFF_SESSION_LIFETIME, StaffSessionResolver};
pub use application::state::{AuthPorts, AuthState};
pub use application::totp_keys::{TOTP_KEYS_DIR, TotpKeyError, TotpKeys};
pub use application::verifier::{APPLICANT_CLIENT_ID, TokenVerifier};
pub use domain::{ClientId, CustomerId, ROLE_SCOPES, StaffId, StaffRole};
pub use error::OAuthError;
pub use http::{AuthApi, configure};
pub use settings::{AuthConfig, AuthSettings};
