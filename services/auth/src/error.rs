//! The OAuth error codes, and the one each error of the JOSE core ([`ecohub_jose`]) is
//! rendered as: the core says what was wrong with a JWT, this server decides what to answer.

use ecohub_jose::{ClientAssertionError, DpopError, SoftwareStatementError, TokenError};

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

/// Any refused access token is `invalid_token` (RFC 6750 §3.1).
impl From<&TokenError> for OAuthError {
    fn from(_: &TokenError) -> Self {
        Self::InvalidToken
    }
}

/// `invalid_client` (RFC 6749 §5.2), or `server_error` when the replay store failed.
impl From<&ClientAssertionError> for OAuthError {
    fn from(e: &ClientAssertionError) -> Self {
        match e {
            ClientAssertionError::ReplayGuard(_) => Self::ServerError,
            _ => Self::InvalidClient,
        }
    }
}

/// `invalid_dpop_proof` (RFC 9449 §5 at the token endpoint, §7.1 with `WWW-Authenticate: DPoP`
/// at a resource), or `server_error` when the replay store failed. A refresh token presented
/// with the wrong key is `invalid_grant` at the token endpoint (§5.0): the caller knows that
/// context.
impl From<&DpopError> for OAuthError {
    fn from(e: &DpopError) -> Self {
        match e {
            DpopError::ReplayGuard(_) => Self::ServerError,
            _ => Self::InvalidDpopProof,
        }
    }
}

/// Not signed by one of our keys or not issued by us: `unapproved_software_statement`;
/// anything else wrong: `invalid_software_statement` (RFC 7591 §3.2.2).
impl From<&SoftwareStatementError> for OAuthError {
    fn from(e: &SoftwareStatementError) -> Self {
        match e {
            SoftwareStatementError::Unapproved(_) => Self::UnapprovedSoftwareStatement,
            SoftwareStatementError::Invalid(_) => Self::InvalidSoftwareStatement,
        }
    }
}
