//! The JWS algorithms the hub signs and accepts: below both [`crate::keys`] (which signs
//! with them) and [`crate::jwk`] (which verifies with them).

use serde::{Deserialize, Serialize};

/// A JWS algorithm the hub signs and accepts. Nothing else is ever accepted (no `none`, HS*,
/// RS*, ES384...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum SigningAlgorithm {
    /// ECDSA P-256 with SHA-256 (the default).
    #[default]
    #[serde(rename = "ES256")]
    Es256,
    /// RSASSA-PSS with SHA-256 (RSA 2048 bits for the hub's own keys).
    #[serde(rename = "PS256")]
    Ps256,
    /// Ed25519.
    #[serde(rename = "EdDSA")]
    EdDsa,
}

impl SigningAlgorithm {
    /// Every accepted algorithm.
    pub const ALL: [SigningAlgorithm; 3] = [Self::Es256, Self::Ps256, Self::EdDsa];

    /// The JWS `alg` value (`ES256`, `PS256`, `EdDSA`).
    pub const fn as_str(&self) -> &'static str {
        match self {
            Self::Es256 => "ES256",
            Self::Ps256 => "PS256",
            Self::EdDsa => "EdDSA",
        }
    }

    /// Parses a JWS `alg` value, exactly (case-sensitive, RFC 7515 §4.1.1); `None` for anything
    /// not accepted.
    pub fn parse(alg: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == alg)
    }

    pub(crate) fn jwt_algorithm(&self) -> jsonwebtoken::Algorithm {
        match self {
            Self::Es256 => jsonwebtoken::Algorithm::ES256,
            Self::Ps256 => jsonwebtoken::Algorithm::PS256,
            Self::EdDsa => jsonwebtoken::Algorithm::EdDSA,
        }
    }
}

impl std::fmt::Display for SigningAlgorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
