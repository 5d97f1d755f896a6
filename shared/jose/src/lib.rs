//! The JOSE core of the hub: signing keys and their rotation ([`keys`]), public JWKs and key
//! sets ([`jwk`]), JWT access tokens (RFC 9068) and software statements (RFC 7591 §2.3)
//! ([`jwt`]), `private_key_jwt` client assertions (RFC 7523, [`client_assertion`]), DPoP proofs
//! (RFC 9449, [`dpop`]) and one-time `jti` use ([`replay`]); hand-made JWTs for tests
//! ([`testing`]).
//!
//! Everything here is pure functions over values plus one file-backed key ring: no HTTP, no
//! event store, no clock reads (`now` is always passed in), no network (keys are never fetched
//! from URLs found in tokens). It knows nothing of the authorization server that uses it: each
//! error says what was wrong with the JWT, and the server decides which OAuth error to render.
//!
//! Signing algorithms are ES256 (default), PS256 and EdDSA (Ed25519) only; `none`, HS* and RS*
//! are refused everywhere. Cryptography is aws-lc-rs, directly for key generation, signing and
//! SHA-256, and through `jsonwebtoken`'s `aws_lc_rs` backend for signature verification.

mod algorithm;
pub mod client_assertion;
pub mod clock;
pub mod dpop;
pub mod error;
pub mod jwk;
mod jws;
pub mod jwt;
pub mod keys;
pub mod private_files;
pub mod replay;
pub mod testing;
pub mod util;

pub use client_assertion::{
    ClientAssertionClaims, ClientAssertionError, MAX_CLIENT_ASSERTION_LIFETIME,
    decode_client_assertion, verify_client_assertion,
};
pub use clock::CLOCK_SKEW;
pub use dpop::{
    DPOP_PROOF_MAX_AGE, DPOP_PROOF_TYPE, DpopError, DpopRequest, VerifiedDpopProof,
    access_token_hash, decode_dpop_proof, normalize_htu, verify_dpop_proof,
};
pub use error::JwtError;
pub use jwk::{JwkError, Jwks, KeySource, PublicJwk, VerifyingKey, jwk_thumbprint};
pub use jwt::{
    ACCESS_TOKEN_TYPE, AccessTokenClaims, Audience, Confirmation, IssueError, IssuedAccessToken,
    IssuedSoftwareStatement, NewAccessToken, NewSoftwareStatement, SOFTWARE_STATEMENT_TYPE,
    SoftwareStatementClaims, SoftwareStatementError, TokenError, issue_access_token,
    issue_software_statement, verify_access_token, verify_software_statement,
};
pub use keys::{KeyError, KeyInfo, KeyRing, KeyState, SigningAlgorithm, SigningKey};
pub use replay::{
    InMemoryJtiReplayGuard, JtiReplayGuard, ReplayFuture, ReplayGuardError, replay_key,
};
