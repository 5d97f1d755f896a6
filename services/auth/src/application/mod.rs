//! The application layer: load → decide → append for clients, client authentication, the
//! token grants, registration, the access-token verifier, and the ports and key-rotation
//! helpers the hub wires. Randomness, hashing and clock reads happen here, never in
//! [`crate::domain`].

pub mod client_auth;
pub(crate) mod client_cache;
pub(crate) mod code_flow;
pub mod code_grant;
pub mod consent_port;
pub mod customers;
pub mod decision;
pub mod introspection;
pub mod issuance;
pub mod keys;
pub mod login;
pub mod pairwise;
pub mod par;
pub mod ports;
pub mod refresh;
pub mod registration;
pub(crate) mod replay_log;
pub mod secrets;
pub mod session;
pub mod staff;
pub mod staff_session;
pub(crate) mod stamp;
pub mod state;
pub mod store;
pub mod token;
pub mod totp_keys;
pub mod verifier;

use std::collections::BTreeMap;

use ecohub_eventstore::StoreError;

/// A refusal or failure at an OAuth endpoint, rendered as `{error, error_description}` with
/// the status its RFC prescribes (RFC 6749 §5.2, RFC 7591 §3.2.2, RFC 7592, RFC 6750 §3.1).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    /// `invalid_request` (400).
    #[error("invalid_request: {0}")]
    InvalidRequest(String),
    /// `invalid_client` (401; `WWW-Authenticate: Basic` when `challenge`).
    #[error("invalid_client: {reason}")]
    InvalidClient {
        /// Why (logged, and said vaguely to the client).
        reason: String,
        /// Whether to send a Basic challenge (the client used Basic or no authentication).
        challenge: bool,
    },
    /// `invalid_grant` (400).
    #[error("invalid_grant: {0}")]
    InvalidGrant(String),
    /// `unauthorized_client` (400).
    #[error("unauthorized_client: {0}")]
    UnauthorizedClient(String),
    /// `unsupported_grant_type` (400).
    #[error("unsupported_grant_type: {0}")]
    UnsupportedGrantType(String),
    /// `invalid_scope` (400).
    #[error("invalid_scope: {0}")]
    InvalidScope(String),
    /// `invalid_dpop_proof` (400 at the token endpoint, RFC 9449 §5).
    #[error("invalid_dpop_proof: {0}")]
    InvalidDpopProof(String),
    /// `invalid_redirect_uri` (400, RFC 7591).
    #[error("invalid_redirect_uri: {0}")]
    InvalidRedirectUri(String),
    /// `invalid_client_metadata` (400, RFC 7591).
    #[error("invalid_client_metadata: {0}")]
    InvalidClientMetadata(String),
    /// `invalid_software_statement` (400, RFC 7591).
    #[error("invalid_software_statement: {0}")]
    InvalidSoftwareStatement(String),
    /// `unapproved_software_statement` (400, RFC 7591).
    #[error("unapproved_software_statement: {0}")]
    UnapprovedSoftwareStatement(String),
    /// `invalid_token` (401, RFC 6750; the RFC 7592 registration access token).
    #[error("invalid_token: {0}")]
    InvalidToken(String),
    /// `server_error` (500; the cause is logged, never returned).
    #[error("server_error: {0}")]
    ServerError(String),
    /// `unsupported_response_type` (400, RFC 6749 §4.1.2.1).
    #[error("unsupported_response_type: {0}")]
    UnsupportedResponseType(String),
    /// `invalid_authorization_details` (400, RFC 9396 §5).
    #[error("invalid_authorization_details: {0}")]
    InvalidAuthorizationDetails(String),
    /// `temporarily_unavailable` (503; the store is unreachable).
    #[error("temporarily_unavailable: {0}")]
    TemporarilyUnavailable(String),
}

impl EndpointError {
    /// The RFC `error` code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidRequest(_) => "invalid_request",
            Self::InvalidClient { .. } => "invalid_client",
            Self::InvalidGrant(_) => "invalid_grant",
            Self::UnauthorizedClient(_) => "unauthorized_client",
            Self::UnsupportedGrantType(_) => "unsupported_grant_type",
            Self::InvalidScope(_) => "invalid_scope",
            Self::InvalidDpopProof(_) => "invalid_dpop_proof",
            Self::InvalidRedirectUri(_) => "invalid_redirect_uri",
            Self::InvalidClientMetadata(_) => "invalid_client_metadata",
            Self::InvalidSoftwareStatement(_) => "invalid_software_statement",
            Self::UnapprovedSoftwareStatement(_) => "unapproved_software_statement",
            Self::InvalidToken(_) => "invalid_token",
            Self::ServerError(_) => "server_error",
            Self::UnsupportedResponseType(_) => "unsupported_response_type",
            Self::InvalidAuthorizationDetails(_) => "invalid_authorization_details",
            Self::TemporarilyUnavailable(_) => "temporarily_unavailable",
        }
    }

    /// `invalid_client` with a Basic challenge.
    pub fn invalid_client(reason: impl Into<String>) -> Self {
        Self::InvalidClient {
            reason: reason.into(),
            challenge: true,
        }
    }

    /// A store failure: unavailable (retry) or a server error.
    pub fn store(e: impl Into<StoreFailure>) -> Self {
        match e.into() {
            StoreFailure::Unavailable(m) => Self::TemporarilyUnavailable(m),
            StoreFailure::Other(m) => Self::ServerError(m),
        }
    }
}

/// A store failure, classified for [`EndpointError::store`].
#[derive(Debug)]
pub enum StoreFailure {
    /// The store cannot be reached now.
    Unavailable(String),
    /// Anything else.
    Other(String),
}

impl From<StoreError> for StoreFailure {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(_) | StoreError::Closed => Self::Unavailable(e.to_string()),
            other => Self::Other(other.to_string()),
        }
    }
}

impl From<store::ReadError> for StoreFailure {
    fn from(e: store::ReadError) -> Self {
        match e {
            store::ReadError::Store(s) => s.into(),
            store::ReadError::Decode(d) => Self::Other(d.to_string()),
        }
    }
}

/// Form parameters of an OAuth request (`application/x-www-form-urlencoded`), each present
/// at most once (RFC 6749 §3.1, §3.2).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(BTreeMap<String, String>);

impl Params {
    /// Parses a form body; a repeated parameter is `invalid_request`.
    pub fn parse(body: &str) -> Result<Self, EndpointError> {
        let pairs = actix_web::web::Query::<Vec<(String, String)>>::from_query(body)
            .map_err(|_| EndpointError::InvalidRequest("malformed form body".into()))?
            .into_inner();
        let mut map = BTreeMap::new();
        for (name, value) in pairs {
            if map.insert(name.clone(), value).is_some() {
                return Err(EndpointError::InvalidRequest(format!(
                    "parameter {name} is repeated"
                )));
            }
        }
        Ok(Self(map))
    }

    /// A parameter; an empty value counts as absent (RFC 6749 §3.1).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// The names of the parameters present (empty values included).
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    /// A required parameter.
    pub fn required(&self, name: &str) -> Result<&str, EndpointError> {
        self.get(name)
            .ok_or_else(|| EndpointError::InvalidRequest(format!("{name} is required")))
    }
}
