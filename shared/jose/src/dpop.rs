//! DPoP proof verification (RFC 9449 §4.3) and the `ath` hash.
//!
//! The caller passes the request's method and its *public* URI (as the client addressed it:
//! the configured external base URL plus the request path, not the address behind a proxy),
//! and, at a protected resource, the access token and its `cnf.jkt`.

use std::time::Duration;

use ecohub_kernel::Timestamp;

use crate::clock::CLOCK_SKEW;
use crate::error::JwtError;
use crate::jwk::{JwkError, PublicJwk};
use crate::jws::{self, check_iat, required};
use crate::replay::{JtiReplayGuard, ReplayGuardError};
use crate::util::{b64url, ct_eq, sha256};

/// `typ` of a DPoP proof (RFC 9449 §4.2).
pub const DPOP_PROOF_TYPE: &str = "dpop+jwt";
/// How old a proof may be: `iat` no earlier than 60 s before `now` (and no later than
/// [`crate::CLOCK_SKEW`] after it). Proofs are made for one request; 60 s covers a slow
/// network and queueing without keeping `jti`s long. There is no server nonce (optional in
/// RFC 9449 §8), so this window and the replay store are what bound a captured proof.
pub const DPOP_PROOF_MAX_AGE: Duration = Duration::from_secs(60);
/// Longest `jti` accepted (characters).
const MAX_JTI_LEN: usize = 256;

/// The request a proof must match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DpopRequest<'a> {
    /// The HTTP method, compared exactly (`POST`).
    pub method: &'a str,
    /// The request's public URI; query and fragment are ignored, scheme and host compared
    /// case-insensitively, default ports dropped (see [`normalize_htu`]).
    pub uri: &'a str,
    /// The access token presented with the proof (at a protected resource): the proof must
    /// carry `ath` = base64url(SHA-256(token)). `None` at the token endpoint.
    pub access_token: Option<&'a str>,
    /// The thumbprint the proof key must have: the token's `cnf.jkt` at a resource, or the key
    /// a refresh token or authorization code is bound to. `None` when nothing is bound yet.
    pub expected_jkt: Option<&'a str>,
}

/// A proof that verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedDpopProof {
    /// RFC 7638 thumbprint of the proof's key: the `cnf.jkt` to bind a new token to.
    pub jkt: String,
    /// The proof's public key.
    pub jwk: PublicJwk,
    /// The proof's `jti`.
    pub jti: String,
    /// The proof's `iat`.
    pub iat: i64,
}

/// Why a DPoP proof was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DpopError {
    /// Structure, type, algorithm, signature or standard claims are not acceptable.
    #[error(transparent)]
    Invalid(#[from] JwtError),
    /// The header has no `jwk`.
    #[error("dpop proof has no jwk header")]
    MissingJwk,
    /// The `jwk` header holds private or symmetric key material.
    #[error("dpop proof jwk contains private key material")]
    PrivateKeyInJwk,
    /// The `jwk` header is not an acceptable public key.
    #[error("dpop proof jwk is invalid: {0}")]
    InvalidJwk(JwkError),
    /// `htm` is not the request's method.
    #[error("dpop proof htm does not match the request method")]
    MethodMismatch,
    /// `htu` is not the request's URI.
    #[error("dpop proof htu does not match the request uri")]
    UriMismatch,
    /// `iat` is older than [`DPOP_PROOF_MAX_AGE`].
    #[error("dpop proof is too old")]
    Stale,
    /// An access token was presented but the proof has no `ath`.
    #[error("dpop proof has no ath")]
    MissingAth,
    /// `ath` is not the hash of the presented access token.
    #[error("dpop proof ath does not match the access token")]
    AthMismatch,
    /// The proof key is not the key the token (or grant) is bound to.
    #[error("dpop proof key does not match the bound key")]
    ThumbprintMismatch,
    /// The `jti` was used before.
    #[error("dpop proof jti already used")]
    Replayed,
    /// The replay store is unavailable (the server's fault).
    #[error(transparent)]
    ReplayGuard(#[from] ReplayGuardError),
}

/// The `ath` value for `access_token`: base64url(SHA-256(ASCII token)) (RFC 9449 §4.2).
pub fn access_token_hash(access_token: &str) -> String {
    b64url(sha256(access_token.as_bytes()))
}

/// Normalises an `htu` or request URI for comparison (RFC 9449 §4.3 item 9, RFC 3986 §6.2.2
/// and §6.2.3): scheme and host lowercased, the default port (80 for http, 443 for https)
/// dropped, an empty path made `/`, percent-encoding hex digits uppercased, query and fragment
/// removed. `None` for a URI that is not absolute `scheme://authority...` or has userinfo.
pub fn normalize_htu(uri: &str) -> Option<String> {
    let (scheme, rest) = uri.split_once("://")?;
    let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !scheme_ok {
        return None;
    }
    let scheme = scheme.to_ascii_lowercase();
    let rest = rest.split(['?', '#']).next().unwrap_or_default();
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    let (host, port) = if authority.starts_with('[') {
        let end = authority.find(']')?;
        let (host, after) = authority.split_at(end + 1);
        match after {
            "" => (host, None),
            p => (host, Some(p.strip_prefix(':')?)),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    // Outside brackets a host has no `:` (RFC 3986 §3.2.2): `a:b:80` is not host `a:b`.
    if host.is_empty() || (!host.starts_with('[') && host.contains([':', '[', ']'])) {
        return None;
    }
    let port = match port {
        None | Some("") => None,
        Some(p) if p.bytes().all(|b| b.is_ascii_digit()) => {
            let n: u32 = p.parse().ok()?;
            let default = matches!((scheme.as_str(), n), ("http", 80) | ("https", 443));
            (!default).then_some(n)
        }
        Some(_) => return None,
    };
    let mut normalized = format!("{scheme}://{}", host.to_ascii_lowercase());
    if let Some(port) = port {
        normalized.push_str(&format!(":{port}"));
    }
    if path.is_empty() {
        normalized.push('/');
    } else {
        let mut chars = path.chars();
        while let Some(c) = chars.next() {
            normalized.push(c);
            if c == '%' {
                for _ in 0..2 {
                    match chars.next() {
                        Some(h) => normalized.push(h.to_ascii_uppercase()),
                        None => break,
                    }
                }
            }
        }
    }
    Some(normalized)
}

#[derive(serde::Deserialize)]
struct RawClaims {
    jti: Option<String>,
    htm: Option<String>,
    htu: Option<String>,
    iat: Option<i64>,
    #[serde(default)]
    ath: Option<String>,
}

/// Everything [`verify_dpop_proof`] checks except the `jti` replay: `typ` `dpop+jwt`, `alg`
/// ES256/PS256/EdDSA, a public `jwk` header that fits `alg`, the signature with that key,
/// `jti`, `htm` equal to the method, `htu` equal to the URI after [`normalize_htu`], `iat`
/// within [`DPOP_PROOF_MAX_AGE`] before and [`crate::CLOCK_SKEW`] after `now`, `ath` when an
/// access token is presented, and the key's thumbprint when one is expected.
pub fn decode_dpop_proof(
    proof: &str,
    request: &DpopRequest<'_>,
    now: Timestamp,
) -> Result<VerifiedDpopProof, DpopError> {
    let jws = jws::parse(proof)?;
    jws.check_type(DPOP_PROOF_TYPE, &[DPOP_PROOF_TYPE], false)?;
    let jwk_value = jws.header.jwk.as_ref().ok_or(DpopError::MissingJwk)?;
    let jwk = PublicJwk::from_json(jwk_value).map_err(|e| match e {
        JwkError::PrivateKey => DpopError::PrivateKeyInJwk,
        other => DpopError::InvalidJwk(other),
    })?;
    if !jwk.fits(jws.alg) {
        return Err(JwtError::KeyAlgorithmMismatch.into());
    }
    let key = jwk.verifying_key().map_err(DpopError::InvalidJwk)?;
    let verified = jws.verify_with(&key)?;

    let raw: RawClaims = verified.claims()?;
    let jti = required(&raw.jti, "jti")?;
    if jti.len() > MAX_JTI_LEN {
        return Err(JwtError::InvalidClaim("jti").into());
    }
    if required(&raw.htm, "htm")? != request.method {
        return Err(DpopError::MethodMismatch);
    }
    let htu = normalize_htu(required(&raw.htu, "htu")?);
    if htu.is_none() || htu != normalize_htu(request.uri) {
        return Err(DpopError::UriMismatch);
    }
    let iat = raw.iat.ok_or(JwtError::MissingClaim("iat"))?;
    check_iat(iat, now)?;
    if Timestamp::from_unix_seconds(iat) < now.minus(DPOP_PROOF_MAX_AGE) {
        return Err(DpopError::Stale);
    }
    if let Some(token) = request.access_token {
        let ath = raw.ath.as_deref().ok_or(DpopError::MissingAth)?;
        if !ct_eq(ath.as_bytes(), access_token_hash(token).as_bytes()) {
            return Err(DpopError::AthMismatch);
        }
    }
    let jkt = jwk.thumbprint().map_err(DpopError::InvalidJwk)?;
    if let Some(expected) = request.expected_jkt
        && !ct_eq(expected.as_bytes(), jkt.as_bytes())
    {
        return Err(DpopError::ThumbprintMismatch);
    }
    Ok(VerifiedDpopProof {
        jkt,
        jwk,
        jti: jti.to_owned(),
        iat,
    })
}

/// Verifies a DPoP proof (see [`decode_dpop_proof`] for the checks), then records its `jti`
/// with `replay` in the namespace `dpop:<jkt>` until `iat + DPOP_PROOF_MAX_AGE + CLOCK_SKEW`,
/// refusing a `jti` seen before. Returns the key's thumbprint for binding (`cnf.jkt`).
pub async fn verify_dpop_proof(
    proof: &str,
    request: &DpopRequest<'_>,
    now: Timestamp,
    replay: &dyn JtiReplayGuard,
) -> Result<VerifiedDpopProof, DpopError> {
    let verified = decode_dpop_proof(proof, request, now)?;
    let namespace = format!("dpop:{}", verified.jkt);
    let expires_at = Timestamp::from_unix_seconds(verified.iat)
        .plus(DPOP_PROOF_MAX_AGE)
        .plus(CLOCK_SKEW);
    if replay
        .first_use(&namespace, &verified.jti, expires_at)
        .await?
    {
        Ok(verified)
    } else {
        Err(DpopError::Replayed)
    }
}

#[cfg(test)]
mod tests {
    use super::normalize_htu;

    #[test]
    fn htu_normalisation() {
        let cases = [
            (
                "https://Hub.Example.com/token",
                Some("https://hub.example.com/token"),
            ),
            (
                "HTTPS://hub.example.com:443/token?x=1#f",
                Some("https://hub.example.com/token"),
            ),
            ("http://hub.example.com:80", Some("http://hub.example.com/")),
            (
                "https://hub.example.com:8443/a%2fb",
                Some("https://hub.example.com:8443/a%2Fb"),
            ),
            ("https://[::1]:443/x", Some("https://[::1]/x")),
            ("https://[::1]:9000/x", Some("https://[::1]:9000/x")),
            ("https://user@hub.example.com/", None),
            ("/token", None),
            ("https://hub.example.com:x/", None),
            ("https:///path", None),
            // Found by the property tests: normalised, these were no longer valid URIs.
            ("https://::?", None),
            ("http://a:b:80/x", None),
            ("https://a]:443/", None),
        ];
        for (input, expected) in cases {
            assert_eq!(normalize_htu(input).as_deref(), expected, "{input}");
        }
    }
}
