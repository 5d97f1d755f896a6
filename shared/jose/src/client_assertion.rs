//! `private_key_jwt` client authentication (RFC 7523 §2.2 and §3, OpenID Connect Core §9,
//! FAPI 2.0 security profile §5.3.2.1).

use std::time::Duration;

use ecohub_kernel::Timestamp;
use serde::{Deserialize, Serialize};

use crate::clock::CLOCK_SKEW;
use crate::error::JwtError;
use crate::jwk::Jwks;
use crate::jws::{self, check_exp, check_iat, check_nbf, required};
use crate::jwt::Audience;
use crate::replay::{JtiReplayGuard, ReplayGuardError};

/// How far in the future an assertion's `exp` may be: 5 minutes (plus
/// [`crate::CLOCK_SKEW`] for a client clock running ahead). Assertions are made for one
/// request; a longer one would only widen the window in which a stolen one is useful, and
/// bounds how long the replay store must remember its `jti`.
pub const MAX_CLIENT_ASSERTION_LIFETIME: Duration = Duration::from_secs(300);
/// Longest `jti` accepted (characters); bounds what the replay store keeps.
const MAX_JTI_LEN: usize = 256;

/// `typ` values accepted on an assertion: none (most clients send none), `JWT`, or
/// `client-authentication+jwt` (draft-ietf-oauth-rfc7523bis). Any other explicit type (an
/// access token, a DPoP proof) is refused.
const ACCEPTED_TYPES: &[&str] = &["JWT", "client-authentication+jwt"];

/// The claims of a verified client assertion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientAssertionClaims {
    /// The client id (`iss` = `sub`).
    pub iss: String,
    /// The client id.
    pub sub: String,
    /// Audiences named by the client.
    pub aud: Audience,
    /// Expiry (seconds since the epoch).
    pub exp: i64,
    /// Issue time, when given.
    pub iat: Option<i64>,
    /// Not-before, when given.
    pub nbf: Option<i64>,
    /// The one-time id.
    pub jti: String,
}

/// Why client authentication failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientAssertionError {
    /// Structure, algorithm, key, signature or standard claims are not acceptable.
    #[error(transparent)]
    Invalid(#[from] JwtError),
    /// `iss` or `sub` is not the client id.
    #[error("assertion issuer and subject must be the client id")]
    WrongClient,
    /// `exp` is further in the future than [`MAX_CLIENT_ASSERTION_LIFETIME`].
    #[error("assertion lifetime too long")]
    LifetimeTooLong,
    /// The `jti` was used before.
    #[error("assertion jti already used")]
    Replayed,
    /// The replay store is unavailable (the server's fault).
    #[error(transparent)]
    ReplayGuard(#[from] ReplayGuardError),
}

#[derive(Deserialize)]
struct RawClaims {
    iss: Option<String>,
    sub: Option<String>,
    aud: Option<Audience>,
    exp: Option<i64>,
    iat: Option<i64>,
    nbf: Option<i64>,
    jti: Option<String>,
}

/// Everything [`verify_client_assertion`] checks except the `jti` replay: the signature with a
/// key of `client_jwks` (matched by `kid` when the header has one, otherwise every key fit for
/// the `alg` is tried), `alg` ES256/PS256/EdDSA only, `iss` = `sub` = `client_id`, `aud`
/// containing one of `expected_audiences` (the token endpoint URL and the issuer identifier),
/// `exp` required, not past and at most [`MAX_CLIENT_ASSERTION_LIFETIME`] ahead, `iat`/`nbf`
/// at most [`crate::CLOCK_SKEW`] ahead, `jti` required.
pub fn decode_client_assertion(
    assertion: &str,
    client_jwks: &Jwks,
    client_id: &str,
    expected_audiences: &[&str],
    now: Timestamp,
) -> Result<ClientAssertionClaims, ClientAssertionError> {
    let jws = jws::parse(assertion)?;
    jws.check_type("JWT", ACCEPTED_TYPES, true)?;
    let kid = jws.header.kid.as_deref();
    let mut candidates = client_jwks.candidates(jws.alg, kid).peekable();
    if candidates.peek().is_none() {
        return Err(match kid {
            Some(kid) => JwtError::UnknownKeyId(kid.to_owned()),
            None => JwtError::KeyAlgorithmMismatch,
        }
        .into());
    }
    let verified = candidates
        .filter_map(|jwk| jwk.verifying_key().ok())
        .find_map(|key| jws.verify_with(&key).ok())
        .ok_or(JwtError::InvalidSignature)?;

    let raw: RawClaims = verified.claims()?;
    let iss = required(&raw.iss, "iss")?;
    let sub = required(&raw.sub, "sub")?;
    if iss != client_id || sub != client_id {
        return Err(ClientAssertionError::WrongClient);
    }
    let aud = raw.aud.ok_or(JwtError::MissingClaim("aud"))?;
    if !expected_audiences.iter().any(|a| aud.contains(a)) {
        return Err(JwtError::WrongAudience.into());
    }
    let exp = raw.exp.ok_or(JwtError::MissingClaim("exp"))?;
    check_exp(exp, now)?;
    let latest_exp = now.plus(MAX_CLIENT_ASSERTION_LIFETIME).plus(CLOCK_SKEW);
    if Timestamp::from_unix_seconds(exp) > latest_exp {
        return Err(ClientAssertionError::LifetimeTooLong);
    }
    if let Some(iat) = raw.iat {
        check_iat(iat, now)?;
    }
    if let Some(nbf) = raw.nbf {
        check_nbf(nbf, now)?;
    }
    let jti = required(&raw.jti, "jti")?;
    if jti.len() > MAX_JTI_LEN {
        return Err(JwtError::InvalidClaim("jti").into());
    }
    Ok(ClientAssertionClaims {
        iss: iss.to_owned(),
        sub: sub.to_owned(),
        aud,
        exp,
        iat: raw.iat,
        nbf: raw.nbf,
        jti: jti.to_owned(),
    })
}

/// Verifies a `private_key_jwt` client assertion (see [`decode_client_assertion`] for the
/// checks), then records its `jti` with `replay` in the namespace
/// `client_assertion:<client_id>` until `exp + CLOCK_SKEW`, refusing a `jti` seen before.
pub async fn verify_client_assertion(
    assertion: &str,
    client_jwks: &Jwks,
    client_id: &str,
    expected_audiences: &[&str],
    now: Timestamp,
    replay: &dyn JtiReplayGuard,
) -> Result<ClientAssertionClaims, ClientAssertionError> {
    let claims =
        decode_client_assertion(assertion, client_jwks, client_id, expected_audiences, now)?;
    let namespace = format!("client_assertion:{client_id}");
    let expires_at = Timestamp::from_unix_seconds(claims.exp).plus(CLOCK_SKEW);
    if replay
        .first_use(&namespace, &claims.jti, expires_at)
        .await?
    {
        Ok(claims)
    } else {
        Err(ClientAssertionError::Replayed)
    }
}
