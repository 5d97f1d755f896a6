//! The cryptographic core of the authorization server: signing keys and their rotation, JWT
//! access tokens (RFC 9068) and software statements, `private_key_jwt` client assertions
//! (RFC 7523) and DPoP proofs (RFC 9449).
//!
//! Everything here is pure functions over values plus one file-backed key ring: no HTTP, no
//! clock reads (`now` is always passed in), no network (keys are never fetched from URLs found
//! in tokens). The HTTP layer maps every error to its OAuth error with `oauth_error()`.
//!
//! On top of the core: the pure [`domain`] (the OAuth client aggregate, the partner standing
//! fold), the [`app`]lication layer (client authentication, grants, registration, the
//! [`TokenVerifier`], ports for the partners service, key rotation) and the [`http`] layer
//! ([`configure`], [`AuthApi`]).
//!
//! Signing algorithms are ES256 (default), PS256 and EdDSA (Ed25519) only; `none`, HS* and RS*
//! are refused everywhere. Cryptography is aws-lc-rs, directly for key generation, signing and
//! SHA-256, and through `jsonwebtoken`'s `aws_lc_rs` backend for signature verification.

pub mod app;
pub mod client_assertion;
pub mod domain;
pub mod dpop;
pub mod error;
pub mod http;
pub mod jwk;
mod jws;
pub mod jwt;
pub mod keys;
pub mod replay;
pub mod settings;
mod state;
mod util;

use std::time::Duration;

pub use app::EndpointError;
pub use app::authorize::{
    CODE_LIFETIME, CONSENT_DETAILS_TYPE, ParResponse, REFRESH_TOKEN_LIFETIME, REQUEST_URI_LIFETIME,
};
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
pub use app::ports::{issue_applicant_token, issue_partner_statement};
pub use app::registration::{StaffClientError, bootstrap_admin, create_staff_client};
pub use app::store::StoreReplayGuard;
pub use app::verifier::{APPLICANT_CLIENT_ID, TokenVerifier};
pub use client_assertion::{
    ClientAssertionClaims, ClientAssertionError, MAX_CLIENT_ASSERTION_LIFETIME,
    decode_client_assertion, verify_client_assertion,
};
pub use domain::{ClientId, CustomerId};
pub use dpop::{
    DPOP_PROOF_MAX_AGE, DPOP_PROOF_TYPE, DpopError, DpopRequest, VerifiedDpopProof,
    access_token_hash, decode_dpop_proof, normalize_htu, verify_dpop_proof,
};
pub use error::{JwtError, OAuthError};
pub use http::{AuthApi, configure};
pub use jwk::{JwkError, Jwks, KeySource, PublicJwk, VerifyingKey, jwk_thumbprint};
pub use jwt::{
    ACCESS_TOKEN_TYPE, AccessTokenClaims, Audience, CONSENT_RECEIPT_TYPE, Confirmation, IssueError,
    IssuedAccessToken, IssuedSoftwareStatement, NewAccessToken, NewSoftwareStatement, SESSION_TYPE,
    SOFTWARE_STATEMENT_TYPE, SessionClaims, SoftwareStatementClaims, SoftwareStatementError,
    TokenError, issue_access_token, issue_software_statement, sign_consent_receipt,
    verify_access_token, verify_software_statement,
};
pub use keys::{KeyError, KeyInfo, KeyRing, KeyState, SigningAlgorithm, SigningKey};
pub use replay::{
    InMemoryJtiReplayGuard, JtiReplayGuard, ReplayFuture, ReplayGuardError, replay_key,
};
pub use settings::AuthSettings;
pub use state::AuthState;

/// How far a peer's clock may be ahead of ours: `iat` and `nbf` may be this far in the future,
/// and `exp` is honoured this long after it passed (BRIEF §4: 10 s).
pub const CLOCK_SKEW: Duration = Duration::from_secs(10);
