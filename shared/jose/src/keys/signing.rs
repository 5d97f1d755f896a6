//! One signing key: its parsed private half (aws-lc-rs), public JWK, `kid` and lifecycle times.

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RSA_PSS_SHA256,
    RsaKeyPair, RsaPublicKeyComponents,
};
use ecohub_kernel::Timestamp;
use serde::Serialize;

use super::{KeyError, KeyInfo, KeyState, SigningAlgorithm};
use crate::jwk::{MIN_RSA_BITS, PublicJwk, VerifyingKey, jwk_thumbprint};
use crate::util::b64url;

/// The private half, kept parsed so signing does not re-parse PKCS#8 on every token.
pub(super) enum KeyPair {
    Ec(EcdsaKeyPair),
    Rsa(RsaKeyPair),
    Ed(Ed25519KeyPair),
}

impl KeyPair {
    pub(super) fn generate(alg: SigningAlgorithm) -> Result<Self, KeyError> {
        let failed = |_| KeyError::Crypto("key generation failed");
        Ok(match alg {
            SigningAlgorithm::Es256 => {
                Self::Ec(EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).map_err(failed)?)
            }
            SigningAlgorithm::Ps256 => {
                Self::Rsa(RsaKeyPair::generate(KeySize::Rsa2048).map_err(failed)?)
            }
            SigningAlgorithm::EdDsa => Self::Ed(Ed25519KeyPair::generate().map_err(failed)?),
        })
    }

    pub(super) fn from_pkcs8(alg: SigningAlgorithm, der: &[u8]) -> Result<Self, String> {
        let rejected = |e: aws_lc_rs::error::KeyRejected| format!("private key rejected: {e}");
        Ok(match alg {
            SigningAlgorithm::Es256 => Self::Ec(
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
                    .map_err(rejected)?,
            ),
            SigningAlgorithm::Ps256 => {
                let pair = RsaKeyPair::from_pkcs8(der).map_err(rejected)?;
                if pair.public_modulus_len() * 8 < MIN_RSA_BITS {
                    return Err("rsa key shorter than 2048 bits".into());
                }
                Self::Rsa(pair)
            }
            SigningAlgorithm::EdDsa => Self::Ed(Ed25519KeyPair::from_pkcs8(der).map_err(rejected)?),
        })
    }

    pub(super) fn to_pkcs8(&self) -> Result<Vec<u8>, KeyError> {
        let failed = |_| KeyError::Crypto("private key encoding failed");
        Ok(match self {
            Self::Ec(pair) => pair.to_pkcs8v1().map_err(failed)?.as_ref().to_vec(),
            Self::Rsa(pair) => AsDer::<Pkcs8V1Der<'static>>::as_der(pair)
                .map_err(failed)?
                .as_ref()
                .to_vec(),
            Self::Ed(pair) => pair.to_pkcs8().map_err(failed)?.as_ref().to_vec(),
        })
    }

    fn public_jwk(&self) -> Result<PublicJwk, KeyError> {
        let empty = PublicJwk {
            kty: String::new(),
            crv: None,
            x: None,
            y: None,
            n: None,
            e: None,
            use_: None,
            alg: None,
            kid: None,
        };
        Ok(match self {
            Self::Ec(pair) => {
                let point = pair.public_key().as_ref();
                if point.len() != 65 || point[0] != 0x04 {
                    return Err(KeyError::Crypto("unexpected ec public key encoding"));
                }
                PublicJwk {
                    kty: "EC".into(),
                    crv: Some("P-256".into()),
                    x: Some(b64url(&point[1..33])),
                    y: Some(b64url(&point[33..])),
                    ..empty
                }
            }
            Self::Rsa(pair) => {
                let components = RsaPublicKeyComponents::<Vec<u8>>::from(pair.public_key());
                let strip = |v: &[u8]| b64url(&v[v.iter().take_while(|b| **b == 0).count()..]);
                PublicJwk {
                    kty: "RSA".into(),
                    n: Some(strip(&components.n)),
                    e: Some(strip(&components.e)),
                    ..empty
                }
            }
            Self::Ed(pair) => PublicJwk {
                kty: "OKP".into(),
                crv: Some("Ed25519".into()),
                x: Some(b64url(pair.public_key().as_ref())),
                ..empty
            },
        })
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        let failed = |_| KeyError::Crypto("signing failed");
        Ok(match self {
            Self::Ec(pair) => pair
                .sign(&SystemRandom::new(), message)
                .map_err(failed)?
                .as_ref()
                .to_vec(),
            Self::Rsa(pair) => {
                let mut signature = vec![0u8; pair.public_modulus_len()];
                pair.sign(
                    &RSA_PSS_SHA256,
                    &SystemRandom::new(),
                    message,
                    &mut signature,
                )
                .map_err(failed)?;
                signature
            }
            Self::Ed(pair) => pair.sign(message).as_ref().to_vec(),
        })
    }
}

/// One of the hub's signing keys: the private key (never printed, never serialised except
/// to its file), its public JWK and its lifecycle times.
pub struct SigningKey {
    pub(super) kid: String,
    pub(super) seq: u64,
    pub(super) alg: SigningAlgorithm,
    pub(super) created_at: Timestamp,
    pub(super) activates_at: Timestamp,
    pub(super) retires_at: Option<Timestamp>,
    pub(super) jwk: PublicJwk,
    pub(super) verifying: VerifyingKey,
    pub(super) pair: KeyPair,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("seq", &self.seq)
            .field("alg", &self.alg)
            .field("created_at", &self.created_at)
            .field("activates_at", &self.activates_at)
            .field("retires_at", &self.retires_at)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize)]
struct JwsHeader<'a> {
    alg: &'static str,
    typ: &'a str,
    kid: &'a str,
}

impl SigningKey {
    pub(super) fn new(
        pair: KeyPair,
        seq: u64,
        alg: SigningAlgorithm,
        created_at: Timestamp,
        activates_at: Timestamp,
        retires_at: Option<Timestamp>,
    ) -> Result<Self, KeyError> {
        let mut jwk = pair.public_jwk()?;
        let kid = jwk_thumbprint(&jwk).map_err(|_| KeyError::Crypto("thumbprint failed"))?;
        jwk.use_ = Some("sig".into());
        jwk.alg = Some(alg.as_str().into());
        jwk.kid = Some(kid.clone());
        let verifying = jwk
            .verifying_key()
            .map_err(|_| KeyError::Crypto("public key unusable"))?;
        Ok(Self {
            kid,
            seq,
            alg,
            created_at,
            activates_at,
            retires_at,
            jwk,
            verifying,
            pair,
        })
    }

    /// Generates a new key with aws-lc-rs (P-256, RSA 2048 or Ed25519), outside any ring.
    pub fn generate(
        alg: SigningAlgorithm,
        created_at: Timestamp,
        activates_at: Timestamp,
    ) -> Result<Self, KeyError> {
        Self::new(
            KeyPair::generate(alg)?,
            0,
            alg,
            created_at,
            activates_at,
            None,
        )
    }

    /// The key's generation in its ring: each rotation's key has a higher one. Among the keys
    /// activated at an instant, the highest generation signs.
    pub fn generation(&self) -> u64 {
        self.seq
    }

    /// The key id: the RFC 7638 thumbprint of the public key.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The one algorithm this key signs with.
    pub fn algorithm(&self) -> SigningAlgorithm {
        self.alg
    }

    /// When the key was created (and published).
    pub fn created_at(&self) -> Timestamp {
        self.created_at
    }

    /// From when the key may sign.
    pub fn activates_at(&self) -> Timestamp {
        self.activates_at
    }

    /// When the key leaves the JWKS (set when a newer key supersedes it).
    pub fn retires_at(&self) -> Option<Timestamp> {
        self.retires_at
    }

    /// The public key as published (`kty`, key members, `use: sig`, `alg`, `kid`).
    pub fn public_jwk(&self) -> &PublicJwk {
        &self.jwk
    }

    /// A verifier for this key's signatures.
    pub fn verifying_key(&self) -> VerifyingKey {
        self.verifying.clone()
    }

    /// Signs `message` (raw JWS signature bytes: fixed-size r‖s for ES256).
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        self.pair.sign(message)
    }

    /// Signs `claims` as a compact JWS with header `{"alg", "typ", "kid"}`: the building
    /// block for every JWT the hub issues (access tokens, software statements, and later
    /// security event tokens and consent receipts, each with its own explicit `typ`).
    pub fn sign_jwt<T: Serialize>(&self, typ: &str, claims: &T) -> Result<String, KeyError> {
        let header = JwsHeader {
            alg: self.alg.as_str(),
            typ,
            kid: &self.kid,
        };
        let encoding_failed = |_| KeyError::Crypto("claims encoding failed");
        let mut token = b64url(serde_json::to_vec(&header).map_err(encoding_failed)?);
        token.push('.');
        token.push_str(&b64url(
            serde_json::to_vec(claims).map_err(encoding_failed)?,
        ));
        let signature = self.sign(token.as_bytes())?;
        token.push('.');
        token.push_str(&b64url(signature));
        Ok(token)
    }

    pub(super) fn is_retired(&self, now: Timestamp) -> bool {
        self.retires_at.is_some_and(|r| r <= now)
    }

    pub(super) fn info(&self, state: KeyState) -> KeyInfo {
        KeyInfo {
            kid: self.kid.clone(),
            generation: self.seq,
            alg: self.alg,
            state,
            created_at: self.created_at,
            activates_at: self.activates_at,
            retires_at: self.retires_at,
        }
    }
}
