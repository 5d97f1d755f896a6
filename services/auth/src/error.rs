//! Errors shared by every JWT this crate verifies, and the OAuth error codes they map to.

/// The OAuth error code an error must be rendered as.
///
/// The HTTP layer chooses the status and the header from the endpoint that failed:
/// RFC 6749 §5.2 at the token endpoint (`invalid_client` → 401 with `WWW-Authenticate`),
/// RFC 6750 §3.1 at protected resources (`invalid_token` → 401, `WWW-Authenticate: Bearer` or
/// `DPoP`), RFC 9449 §7.1 for proofs (`invalid_dpop_proof`: 400 at the token endpoint, 401 with
/// `WWW-Authenticate: DPoP` at a resource), RFC 7591 §3.2.2 at registration (400).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OAuthError {
    /// RFC 6750 §3.1: the access token is expired, revoked, malformed or invalid.
    InvalidToken,
    /// RFC 6749 §5.2: client authentication failed.
    InvalidClient,
    /// RFC 9449 §7.1 / §5: the DPoP proof is missing or invalid.
    InvalidDpopProof,
    /// RFC 7591 §3.2.2: the software statement is invalid.
    InvalidSoftwareStatement,
    /// RFC 7591 §3.2.2: the software statement is not approved for this server (not signed by
    /// one of our keys, or not issued by us).
    UnapprovedSoftwareStatement,
    /// RFC 6749 §4.1.2.1: the server failed (e.g. the replay store is unavailable); never the
    /// client's fault, rendered as a 5xx without its cause.
    ServerError,
}

impl OAuthError {
    /// The `error` value, e.g. `invalid_token`.
    pub const fn code(&self) -> &'static str {
        match self {
            Self::InvalidToken => "invalid_token",
            Self::InvalidClient => "invalid_client",
            Self::InvalidDpopProof => "invalid_dpop_proof",
            Self::InvalidSoftwareStatement => "invalid_software_statement",
            Self::UnapprovedSoftwareStatement => "unapproved_software_statement",
            Self::ServerError => "server_error",
        }
    }
}

impl std::fmt::Display for OAuthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// Why a JWT (of any kind) was refused: its structure, header, signature or standard claims.
///
/// Each concern wraps it in its own error ([`crate::TokenError`],
/// [`crate::ClientAssertionError`], ...) which knows the OAuth error to render.
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
