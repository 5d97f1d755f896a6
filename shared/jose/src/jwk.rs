//! Public JSON Web Keys (RFC 7517), key sets, RFC 7638 thumbprints, and the keys a verifier
//! trusts ([`KeySource`]).

use std::sync::Arc;

use ecohub_kernel::Timestamp;
use jsonwebtoken::DecodingKey;
use serde::{Deserialize, Serialize};

use crate::algorithm::SigningAlgorithm;
use crate::util::{b64url, b64url_decode, sha256};

/// JWK members that only a private (or symmetric) key has. A key carrying any of them is
/// refused wherever a public key is expected (RFC 9449 §4.2, RFC 7591 `jwks`).
const PRIVATE_MEMBERS: &[&str] = &["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// The smallest RSA modulus accepted, in bits (FAPI 2.0 security profile §5.4.1).
pub const MIN_RSA_BITS: usize = 2048;

/// Why a JWK or JWK set was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwkError {
    /// Not a JSON object of the expected shape.
    #[error("malformed jwk: {0}")]
    Malformed(String),
    /// The key carries private or symmetric key material.
    #[error("jwk contains private key material")]
    PrivateKey,
    /// A key type or curve we do not accept (only EC P-256, RSA ≥ 2048 bits, OKP Ed25519).
    #[error("unsupported key type {0}")]
    Unsupported(String),
    /// An RSA modulus shorter than 2048 bits.
    #[error("rsa key shorter than 2048 bits")]
    RsaKeyTooShort,
    /// A required member (`x`, `n`, ...) is absent or not valid base64url of the right length.
    #[error("invalid jwk member {0}")]
    InvalidMember(&'static str),
}

/// A public JSON Web Key: EC (`crv`, `x`, `y`), RSA (`n`, `e`) or OKP (`crv`, `x`), with the
/// optional `use`, `alg` and `kid`.
///
/// Build one from untrusted JSON with [`PublicJwk::from_json`], which refuses private material
/// and unsupported keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicJwk {
    /// Key type: `EC`, `RSA` or `OKP`.
    pub kty: String,
    /// Curve (`P-256`, `Ed25519`) for EC and OKP keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    /// EC x coordinate or OKP public key, base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    /// EC y coordinate, base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    /// RSA modulus, base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    /// RSA public exponent, base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
    /// Intended use (`sig`).
    #[serde(rename = "use", default, skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
    /// The algorithm the key is meant for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    /// Key id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
}

impl PublicJwk {
    /// Parses and validates a public JWK from untrusted JSON: an object without private members
    /// (`d`, `p`, `q`, `dp`, `dq`, `qi`, `oth`, `k`), of a supported type (EC P-256, RSA with
    /// at least 2048 bits, OKP Ed25519) with well-formed key members.
    pub fn from_json(value: &serde_json::Value) -> Result<Self, JwkError> {
        let object = value
            .as_object()
            .ok_or_else(|| JwkError::Malformed("not a json object".into()))?;
        if PRIVATE_MEMBERS.iter().any(|m| object.contains_key(*m)) {
            return Err(JwkError::PrivateKey);
        }
        let jwk: PublicJwk = serde_json::from_value(value.clone())
            .map_err(|e| JwkError::Malformed(e.to_string()))?;
        jwk.key_algorithm()?;
        Ok(jwk)
    }

    /// The signing algorithm this key's material is used with (EC P-256 → ES256, RSA → PS256,
    /// OKP Ed25519 → EdDSA), after checking the key members.
    pub fn key_algorithm(&self) -> Result<SigningAlgorithm, JwkError> {
        match (self.kty.as_str(), self.crv.as_deref()) {
            ("EC", Some("P-256")) => {
                fixed_len(self.x.as_deref(), 32, "x")?;
                fixed_len(self.y.as_deref(), 32, "y")?;
                Ok(SigningAlgorithm::Es256)
            }
            ("OKP", Some("Ed25519")) => {
                fixed_len(self.x.as_deref(), 32, "x")?;
                Ok(SigningAlgorithm::EdDsa)
            }
            ("RSA", _) => {
                let n = decode_member(self.n.as_deref(), "n")?;
                let e = decode_member(self.e.as_deref(), "e")?;
                let significant = n.iter().skip_while(|b| **b == 0).count();
                if significant * 8 < MIN_RSA_BITS {
                    return Err(JwkError::RsaKeyTooShort);
                }
                if e.is_empty() || e.len() > 8 {
                    return Err(JwkError::InvalidMember("e"));
                }
                Ok(SigningAlgorithm::Ps256)
            }
            ("EC" | "OKP", crv) => Err(JwkError::Unsupported(format!(
                "{} {}",
                self.kty,
                crv.unwrap_or("without crv")
            ))),
            (kty, _) => Err(JwkError::Unsupported(kty.to_owned())),
        }
    }

    /// Whether this key may verify a signature made with `alg`: its material fits `alg`, and
    /// its `alg` member, when present, names `alg`.
    pub fn fits(&self, alg: SigningAlgorithm) -> bool {
        self.key_algorithm().is_ok_and(|a| a == alg)
            && self.alg.as_deref().is_none_or(|a| a == alg.as_str())
            && self.use_.as_deref().is_none_or(|u| u == "sig")
    }

    /// A verifier for signatures made with this key's algorithm.
    pub fn verifying_key(&self) -> Result<VerifyingKey, JwkError> {
        let alg = self.key_algorithm()?;
        let missing = |m| JwkError::InvalidMember(m);
        let key = match alg {
            SigningAlgorithm::Es256 => DecodingKey::from_ec_components(
                self.x.as_deref().ok_or(missing("x"))?,
                self.y.as_deref().ok_or(missing("y"))?,
            ),
            SigningAlgorithm::EdDsa => {
                DecodingKey::from_ed_components(self.x.as_deref().ok_or(missing("x"))?)
            }
            SigningAlgorithm::Ps256 => DecodingKey::from_rsa_components(
                self.n.as_deref().ok_or(missing("n"))?,
                self.e.as_deref().ok_or(missing("e"))?,
            ),
        }
        .map_err(|e| JwkError::Malformed(e.to_string()))?;
        Ok(VerifyingKey {
            alg,
            key: Arc::new(key),
        })
    }

    /// The RFC 7638 thumbprint of this key (see [`jwk_thumbprint`]).
    pub fn thumbprint(&self) -> Result<String, JwkError> {
        jwk_thumbprint(self)
    }
}

fn decode_member(value: Option<&str>, name: &'static str) -> Result<Vec<u8>, JwkError> {
    value
        .and_then(b64url_decode)
        .filter(|v| !v.is_empty())
        .ok_or(JwkError::InvalidMember(name))
}

fn fixed_len(value: Option<&str>, len: usize, name: &'static str) -> Result<(), JwkError> {
    match decode_member(value, name)? {
        v if v.len() == len => Ok(()),
        _ => Err(JwkError::InvalidMember(name)),
    }
}

/// The RFC 7638 JWK thumbprint: SHA-256 over the JSON object of the key type's required
/// members only (EC: `crv`, `kty`, `x`, `y`; RSA: `e`, `kty`, `n`; OKP: `crv`, `kty`, `x`) in
/// lexicographic order without whitespace, base64url-encoded.
///
/// This is the `kid` of the hub's keys and the `jkt` of DPoP-bound tokens (RFC 9449 §6.1).
pub fn jwk_thumbprint(jwk: &PublicJwk) -> Result<String, JwkError> {
    fn member(name: &'static str, value: Option<&str>) -> Result<String, JwkError> {
        let value = value.ok_or(JwkError::InvalidMember(name))?;
        let quoted =
            serde_json::to_string(value).map_err(|e| JwkError::Malformed(e.to_string()))?;
        Ok(format!("\"{name}\":{quoted}"))
    }
    let kty = Some(jwk.kty.as_str());
    let members = match jwk.kty.as_str() {
        "EC" => vec![
            member("crv", jwk.crv.as_deref())?,
            member("kty", kty)?,
            member("x", jwk.x.as_deref())?,
            member("y", jwk.y.as_deref())?,
        ],
        "RSA" => vec![
            member("e", jwk.e.as_deref())?,
            member("kty", kty)?,
            member("n", jwk.n.as_deref())?,
        ],
        "OKP" => vec![
            member("crv", jwk.crv.as_deref())?,
            member("kty", kty)?,
            member("x", jwk.x.as_deref())?,
        ],
        other => return Err(JwkError::Unsupported(other.to_owned())),
    };
    let canonical = format!("{{{}}}", members.join(","));
    Ok(b64url(sha256(canonical.as_bytes())))
}

/// A JWK set (RFC 7517 §5): the hub's published keys, or a client's registered keys.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwks {
    /// The keys.
    pub keys: Vec<PublicJwk>,
}

impl Jwks {
    /// Parses a client's JWK set from untrusted JSON (RFC 7591 `jwks`): every key must be
    /// public and well-formed (an error names the first bad key); keys meant for encryption
    /// (`use: enc`) or for an algorithm we do not accept (e.g. `alg: RS256`) are dropped, as
    /// they can never verify a signature here.
    pub fn from_json(value: &serde_json::Value) -> Result<Self, JwkError> {
        let keys = value
            .get("keys")
            .and_then(|k| k.as_array())
            .ok_or_else(|| JwkError::Malformed("a jwk set needs a keys array".into()))?;
        let mut parsed = Vec::with_capacity(keys.len());
        for key in keys {
            let object = key
                .as_object()
                .ok_or_else(|| JwkError::Malformed("not a json object".into()))?;
            if PRIVATE_MEMBERS.iter().any(|m| object.contains_key(*m)) {
                return Err(JwkError::PrivateKey);
            }
            let use_enc = object.get("use").and_then(|u| u.as_str()) == Some("enc");
            let foreign_alg = object
                .get("alg")
                .and_then(|a| a.as_str())
                .is_some_and(|a| SigningAlgorithm::parse(a).is_none());
            if use_enc || foreign_alg {
                continue;
            }
            parsed.push(PublicJwk::from_json(key)?);
        }
        Ok(Self { keys: parsed })
    }

    /// The keys that may verify a signature made with `alg` and, when `kid` is given, carry
    /// that key id.
    pub fn candidates<'a>(
        &'a self,
        alg: SigningAlgorithm,
        kid: Option<&'a str>,
    ) -> impl Iterator<Item = &'a PublicJwk> + 'a {
        self.keys
            .iter()
            .filter(move |k| kid.is_none_or(|kid| k.kid.as_deref() == Some(kid)))
            .filter(move |k| k.fits(alg))
    }
}

/// A public key ready to verify signatures of one algorithm.
#[derive(Debug, Clone)]
pub struct VerifyingKey {
    alg: SigningAlgorithm,
    key: Arc<DecodingKey>,
}

impl VerifyingKey {
    /// The one algorithm this key verifies.
    pub fn algorithm(&self) -> SigningAlgorithm {
        self.alg
    }

    /// Whether `signature` (raw bytes, JWS encoding) over `message` verifies with this key.
    pub(crate) fn verify(&self, message: &[u8], signature_b64: &str) -> bool {
        jsonwebtoken::crypto::verify(signature_b64, message, &self.key, self.alg.jwt_algorithm())
            .unwrap_or(false)
    }
}

/// The keys a verifier trusts, looked up by `kid`: the hub's [`crate::KeyRing`] (its published,
/// unretired keys at `now`) or a fixed [`Jwks`] (e.g. the hub's JWKS as fetched by a separate
/// resource server).
pub trait KeySource {
    /// The trusted key with this `kid` at `now`, if any.
    fn verifying_key(&self, kid: &str, now: Timestamp) -> Option<VerifyingKey>;
}

impl KeySource for Jwks {
    /// Keys without a supported algorithm or with a conflicting `alg` member are not trusted.
    fn verifying_key(&self, kid: &str, _now: Timestamp) -> Option<VerifyingKey> {
        let key = self.keys.iter().find(|k| k.kid.as_deref() == Some(kid))?;
        let verifying = key.verifying_key().ok()?;
        key.fits(verifying.algorithm()).then_some(verifying)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// RFC 7638 §3.1: the example RSA key and its thumbprint.
    #[test]
    fn thumbprint_matches_rfc7638_example() {
        let jwk = PublicJwk::from_json(&json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        }))
        .unwrap();
        assert_eq!(
            jwk_thumbprint(&jwk).unwrap(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    /// Optional members (`alg`, `kid`, `use`) do not change the thumbprint.
    #[test]
    fn thumbprint_ignores_optional_members() {
        let x = b64url([7u8; 32]);
        let bare = PublicJwk::from_json(&json!({"kty": "OKP", "crv": "Ed25519", "x": x})).unwrap();
        let full = PublicJwk::from_json(
            &json!({"kty": "OKP", "crv": "Ed25519", "x": x, "kid": "k", "use": "sig", "alg": "EdDSA"}),
        )
        .unwrap();
        assert_eq!(bare.thumbprint().unwrap(), full.thumbprint().unwrap());
    }

    #[test]
    fn private_and_symmetric_keys_are_refused() {
        let x = b64url([1u8; 32]);
        let y = b64url([2u8; 32]);
        let private = json!({"kty": "EC", "crv": "P-256", "x": x, "y": y, "d": x});
        assert_eq!(PublicJwk::from_json(&private), Err(JwkError::PrivateKey));
        let oct = json!({"kty": "oct", "k": "c2VjcmV0"});
        assert_eq!(PublicJwk::from_json(&oct), Err(JwkError::PrivateKey));
        let set = json!({"keys": [private]});
        assert_eq!(Jwks::from_json(&set), Err(JwkError::PrivateKey));
    }

    #[test]
    fn unsupported_and_weak_keys_are_refused() {
        let x = b64url([1u8; 48]);
        let p384 = json!({"kty": "EC", "crv": "P-384", "x": x, "y": x});
        assert!(matches!(
            PublicJwk::from_json(&p384),
            Err(JwkError::Unsupported(_))
        ));
        let short_rsa = json!({"kty": "RSA", "n": b64url([0xffu8; 128]), "e": "AQAB"});
        assert_eq!(
            PublicJwk::from_json(&short_rsa),
            Err(JwkError::RsaKeyTooShort)
        );
        let bad_x = json!({"kty": "OKP", "crv": "Ed25519", "x": b64url([1u8; 31])});
        assert_eq!(
            PublicJwk::from_json(&bad_x),
            Err(JwkError::InvalidMember("x"))
        );
    }

    #[test]
    fn client_jwks_drops_encryption_and_foreign_algorithm_keys() {
        let x = b64url([1u8; 32]);
        let set = Jwks::from_json(&json!({"keys": [
            {"kty": "OKP", "crv": "Ed25519", "x": x, "use": "enc"},
            {"kty": "RSA", "n": b64url([0xffu8; 256]), "e": "AQAB", "alg": "RS256"},
            {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": "sig"},
        ]}))
        .unwrap();
        assert_eq!(set.keys.len(), 1);
        assert_eq!(set.keys[0].kid.as_deref(), Some("sig"));
    }
}
