//! Compact JWS parsing and verification shared by every kind of JWT in this crate.
//!
//! The order is fixed so no caller can get it wrong: parse the header (refusing `crit`), map
//! `alg` onto the allowed set, let the caller pick a key it trusts, verify the signature with
//! jsonwebtoken's aws-lc backend, and only then hand out the claims.

use ecohub_kernel::Timestamp;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::clock::CLOCK_SKEW;
use crate::error::JwtError;
use crate::jwk::VerifyingKey;
use crate::keys::SigningAlgorithm;
use crate::util::b64url_decode;

/// Longest JWT accepted, in bytes; bounds the work an attacker can ask for.
pub(crate) const MAX_JWT_LEN: usize = 16 * 1024;

/// The JOSE header members this crate reads. Others are ignored: in particular `jku`, `x5u`
/// and `x5c` are never followed, keys only ever come from the caller's trusted set (or, for
/// DPoP, from `jwk`, which is the point of a proof of possession).
#[derive(Debug, Deserialize)]
pub(crate) struct Header {
    pub alg: String,
    #[serde(default)]
    pub typ: Option<String>,
    #[serde(default)]
    pub kid: Option<String>,
    #[serde(default)]
    pub jwk: Option<serde_json::Value>,
    #[serde(default)]
    pub crit: Option<serde_json::Value>,
}

/// A parsed, not yet verified JWS.
#[derive(Debug)]
pub(crate) struct Jws<'a> {
    pub header: Header,
    pub alg: SigningAlgorithm,
    signing_input: &'a str,
    signature: &'a str,
    payload: &'a str,
}

/// The payload of a JWS whose signature verified.
#[derive(Debug)]
pub(crate) struct Verified {
    payload: Vec<u8>,
}

impl Verified {
    /// The claims as `T`; a claim of the wrong JSON type makes the JWT malformed.
    pub fn claims<T: DeserializeOwned>(&self) -> Result<T, JwtError> {
        serde_json::from_slice(&self.payload)
            .map_err(|_| JwtError::Malformed("claims are not the expected json object"))
    }
}

/// Parses the compact serialization and its header; refuses `crit` and any `alg` outside
/// ES256, PS256 and EdDSA (so `none`, HS* and RS* never reach a verifier).
pub(crate) fn parse(token: &str) -> Result<Jws<'_>, JwtError> {
    if token.len() > MAX_JWT_LEN {
        return Err(JwtError::Malformed("too long"));
    }
    let mut parts = token.split('.');
    let (Some(header_b64), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Malformed("not three dot-separated parts"));
    };
    let header_json =
        b64url_decode(header_b64).ok_or(JwtError::Malformed("header is not base64url"))?;
    let header: Header = serde_json::from_slice(&header_json)
        .map_err(|_| JwtError::Malformed("header is not a valid json object"))?;
    if header.crit.is_some() {
        return Err(JwtError::CriticalHeader);
    }
    let alg = SigningAlgorithm::parse(&header.alg)
        .ok_or_else(|| JwtError::AlgorithmNotAllowed(header.alg.clone()))?;
    let signing_input = &token[..header_b64.len() + 1 + payload.len()];
    Ok(Jws {
        header,
        alg,
        signing_input,
        signature,
        payload,
    })
}

impl Jws<'_> {
    /// Checks the `typ` header against `accepted` (compared ignoring ASCII case and an
    /// `application/` prefix, RFC 7515 §4.1.9); `expected` names the type in the error.
    pub fn check_type(
        &self,
        expected: &'static str,
        accepted: &[&str],
        allow_missing: bool,
    ) -> Result<(), JwtError> {
        let ok = match self.header.typ.as_deref() {
            None => allow_missing,
            Some(typ) => {
                let lower = typ.to_ascii_lowercase();
                let bare = lower.strip_prefix("application/").unwrap_or(&lower);
                accepted.iter().any(|a| a.eq_ignore_ascii_case(bare))
            }
        };
        if ok {
            Ok(())
        } else {
            Err(JwtError::WrongType {
                expected,
                found: self.header.typ.clone(),
            })
        }
    }

    /// Verifies the signature with `key`, which must be a key for the header's `alg`.
    pub fn verify_with(&self, key: &VerifyingKey) -> Result<Verified, JwtError> {
        if key.algorithm() != self.alg {
            return Err(JwtError::KeyAlgorithmMismatch);
        }
        if self.signature.is_empty() || !key.verify(self.signing_input.as_bytes(), self.signature) {
            return Err(JwtError::InvalidSignature);
        }
        let payload =
            b64url_decode(self.payload).ok_or(JwtError::Malformed("payload is not base64url"))?;
        Ok(Verified { payload })
    }
}

fn seconds(t: i64) -> Timestamp {
    Timestamp::from_unix_seconds(t)
}

/// `exp` (RFC 7519 §4.1.4): refused from `exp + CLOCK_SKEW` on.
pub(crate) fn check_exp(exp: i64, now: Timestamp) -> Result<(), JwtError> {
    if now >= seconds(exp).plus(CLOCK_SKEW) {
        Err(JwtError::Expired)
    } else {
        Ok(())
    }
}

/// `nbf` (RFC 7519 §4.1.5): accepted up to `CLOCK_SKEW` in the future.
pub(crate) fn check_nbf(nbf: i64, now: Timestamp) -> Result<(), JwtError> {
    if seconds(nbf) > now.plus(CLOCK_SKEW) {
        Err(JwtError::NotYetValid)
    } else {
        Ok(())
    }
}

/// `iat` (RFC 7519 §4.1.6): accepted up to `CLOCK_SKEW` in the future.
pub(crate) fn check_iat(iat: i64, now: Timestamp) -> Result<(), JwtError> {
    if seconds(iat) > now.plus(CLOCK_SKEW) {
        Err(JwtError::IssuedInFuture)
    } else {
        Ok(())
    }
}

/// A required, non-empty string claim.
pub(crate) fn required<'a>(
    value: &'a Option<String>,
    name: &'static str,
) -> Result<&'a str, JwtError> {
    match value.as_deref() {
        None => Err(JwtError::MissingClaim(name)),
        Some("") => Err(JwtError::InvalidClaim(name)),
        Some(v) => Ok(v),
    }
}
