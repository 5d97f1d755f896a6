//! The error shared by every JWT this crate verifies.

/// Why a JWT (of any kind) was refused: its structure, header, signature or standard claims.
///
/// Each concern wraps it in its own error ([`crate::TokenError`],
/// [`crate::ClientAssertionError`], ...); the server using the core decides which protocol
/// error each is rendered as.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    /// Not three base64url parts, bad JSON, oversized, a claim of the wrong JSON type.
    #[error("malformed jwt: {0}")]
    Malformed(&'static str),
    /// `alg` is not ES256, PS256 or EdDSA (this covers `none`, HS*, RS*).
    #[error("algorithm {0} is not allowed")]
    AlgorithmNotAllowed(String),
    /// The `typ` header is missing or not the one this kind of JWT must carry.
    #[error("unexpected jwt type {found:?}, expected {expected}")]
    WrongType {
        /// The type this kind of JWT must have.
        expected: &'static str,
        /// The type the header carried.
        found: Option<String>,
    },
    /// The header lists critical extensions (`crit`); we understand none.
    #[error("critical header parameters are not supported")]
    CriticalHeader,
    /// The header has no `kid` where one is required.
    #[error("missing key id")]
    MissingKeyId,
    /// No trusted key has this `kid`.
    #[error("unknown key id {0}")]
    UnknownKeyId(String),
    /// The key found cannot be used with the header's `alg`.
    #[error("key does not match the algorithm")]
    KeyAlgorithmMismatch,
    /// The signature does not verify.
    #[error("invalid signature")]
    InvalidSignature,
    /// A required claim is absent.
    #[error("missing claim {0}")]
    MissingClaim(&'static str),
    /// A claim is present but unusable (empty, wrong format).
    #[error("invalid claim {0}")]
    InvalidClaim(&'static str),
    /// `exp` has passed (beyond the allowed skew).
    #[error("jwt expired")]
    Expired,
    /// `nbf` is in the future (beyond the allowed skew).
    #[error("jwt not valid yet")]
    NotYetValid,
    /// `iat` is in the future (beyond the allowed skew).
    #[error("jwt issued in the future")]
    IssuedInFuture,
    /// `iss` is not the expected issuer.
    #[error("wrong issuer")]
    WrongIssuer,
    /// `aud` does not contain an expected audience.
    #[error("wrong audience")]
    WrongAudience,
}
