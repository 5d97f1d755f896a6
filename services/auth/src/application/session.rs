//! The customer session: a JWT signed by the key ring, set as the `ecohub_session` cookie by
//! the login page.

use ecohub_jose::jwt::verify_typed_jwt;
use ecohub_jose::{JwtError, KeyError, KeyRing, KeySource};
use ecohub_kernel::Timestamp;
use serde::{Deserialize, Serialize};

/// `typ` of the customer session JWTs the login page sets as a cookie.
pub const SESSION_TYPE: &str = "customer-session+jwt";
/// `typ` of the staff session JWTs the console's sign-in page sets as a cookie (a customer
/// session is never a staff session, nor the other way round).
pub const STAFF_SESSION_TYPE: &str = "staff-session+jwt";

/// The claims of a customer session (the `ecohub_session` cookie's value, signed by the ring).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionClaims {
    /// The hub's issuer.
    pub iss: String,
    /// The hub's internal customer id.
    pub sub: String,
    /// The session id (logout appends to `session-<sid>`).
    pub sid: String,
    /// The session's CSRF token.
    pub csrf: String,
    /// Issued at.
    pub iat: i64,
    /// Expires at.
    pub exp: i64,
}

/// Signs a customer session with the ring's current key.
pub fn sign_session(
    ring: &KeyRing,
    claims: &SessionClaims,
    now: Timestamp,
) -> Result<String, KeyError> {
    sign_session_of(ring, SESSION_TYPE, claims, now)
}

/// Signs a session of kind `typ` ([`SESSION_TYPE`], [`STAFF_SESSION_TYPE`]).
pub fn sign_session_of(
    ring: &KeyRing,
    typ: &str,
    claims: &SessionClaims,
    now: Timestamp,
) -> Result<String, KeyError> {
    ring.signing_key(now)?.sign_jwt(typ, claims)
}

/// Verifies a customer session JWT: signature by a key of `keys`, `typ`, `iss`, `exp` (no
/// skew: the hub set it itself).
pub fn verify_session<K: KeySource + ?Sized>(
    token: &str,
    keys: &K,
    expected_issuer: &str,
    now: Timestamp,
) -> Result<SessionClaims, JwtError> {
    verify_session_of(token, keys, SESSION_TYPE, expected_issuer, now)
}

/// Verifies a session JWT of kind `typ`, as [`verify_session`].
pub fn verify_session_of<K: KeySource + ?Sized>(
    token: &str,
    keys: &K,
    typ: &'static str,
    expected_issuer: &str,
    now: Timestamp,
) -> Result<SessionClaims, JwtError> {
    let claims: SessionClaims = verify_typed_jwt(token, keys, typ, now)?;
    if claims.iss != expected_issuer {
        return Err(JwtError::WrongIssuer);
    }
    if now.unix_seconds() >= claims.exp {
        return Err(JwtError::InvalidClaim("exp"));
    }
    Ok(claims)
}
