//! The OAuth 2.0 / FAPI 2.0 authorization server, built on the JOSE core ([`ecohub_jose`]:
//! keys and their rotation, access tokens, software statements, client assertions, DPoP proofs).
//!
//! The pure [`domain`] (the OAuth client aggregate, the partner standing fold), the
//! [`app`]lication layer (client authentication, grants, registration, the [`TokenVerifier`],
//! customer sessions, ports for the partners and consents services, key rotation) and the
//! [`http`] layer ([`configure`], [`AuthApi`]). [`OAuthError`] is the OAuth error each error of
//! the core is rendered as.

pub mod app;
pub mod domain;
pub mod error;
pub mod http;
pub mod settings;

pub use app::EndpointError;
pub use app::code_grant::CODE_LIFETIME;
pub use app::consent_port::{
    ActionContext, ConsentAuthority, ConsentForAuthorisation, ConsentPortError, ConsentStanding,
    CustomerRef, PermissionView,
};
pub use app::customers::{
    AuthenticatedCustomer, BuiltInDirectory, CustomerAuthenticator, CustomerFailure,
    CustomerSessionResolver, CustomerSummary, PairwiseSalt, SESSION_LIFETIME,
    SharedCustomerAuthenticator, pairwise_id,
};
pub use app::keys::{KEY_RELOAD_PERIOD, list_keys, rotate_keys, spawn_key_reloader};
pub use app::pairwise::{PairwiseLookup, PairwiseResolver};
pub use app::par::{CONSENT_DETAILS_TYPE, ParResponse, REQUEST_URI_LIFETIME};
pub use app::ports::{
    CONSENT_RECEIPT_TYPE, issue_applicant_token, issue_partner_statement, sign_consent_receipt,
};
pub use app::refresh::REFRESH_TOKEN_LIFETIME;
pub use app::registration::{StaffClientError, bootstrap_admin, create_staff_client};
pub use app::replay_log::{MAX_REMEMBER as REPLAY_MAX_REMEMBER, StoreReplayGuard};
pub use app::session::{SESSION_TYPE, SessionClaims};
pub use app::state::AuthState;
pub use app::verifier::{APPLICANT_CLIENT_ID, TokenVerifier};
pub use domain::{ClientId, CustomerId};
pub use error::OAuthError;
pub use http::{AuthApi, configure};
pub use settings::{AuthConfig, AuthSettings};
