//! The authorization server's settings (fed by the hub's `[auth]` configuration).

use std::time::Duration;

use crate::domain::LoginPolicy;

/// How long an applicant's `partner:read` token lives (see [`crate::issue_applicant_token`]).
pub const APPLICANT_TOKEN_LIFETIME: Duration = Duration::from_secs(30 * 24 * 3600);
/// How long a software statement lives (see [`crate::issue_partner_statement`]).
pub const SOFTWARE_STATEMENT_LIFETIME: Duration = Duration::from_secs(30 * 24 * 3600);
/// How far ahead of use a rotated key is published (longer than the key reloader's period
/// plus the JWKS `Cache-Control` max-age, so every verifier knows a key before it signs).
pub const KEY_PUBLISH_AHEAD: Duration = Duration::from_secs(15 * 60);

/// Settings of the authorization server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthSettings {
    /// The issuer identifier: the hub's public base URL as clients see it, without a trailing
    /// slash (`https://hub.bank.example`). Endpoint URLs are built from it (`<issuer>/token`).
    pub issuer: String,
    /// The `aud` of access tokens (default: the issuer).
    pub audience: String,
    /// Lifetime of access tokens (default 5 minutes).
    pub access_token_lifetime: Duration,
    /// Production mode: https-only redirect URIs, no `client_secret_basic` for partners.
    pub production: bool,
    /// When repeated failed sign-ins lock a username (default: 5 failures within 15 minutes
    /// lock it for 1 minute, doubling up to 1 hour).
    pub login: LoginPolicy,
}

impl AuthSettings {
    /// Settings for `issuer` with the defaults: audience = issuer, 5-minute tokens, not
    /// production, the default sign-in throttling.
    pub fn new(issuer: impl Into<String>) -> Self {
        let issuer = issuer.into().trim_end_matches('/').to_owned();
        Self {
            audience: issuer.clone(),
            issuer,
            access_token_lifetime: Duration::from_secs(300),
            production: false,
            login: LoginPolicy::default(),
        }
    }

    /// An endpoint URL: `<issuer><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.issuer, path)
    }

    /// The token endpoint URL (the `aud` of client assertions, the `htu` of DPoP proofs).
    pub fn token_endpoint(&self) -> String {
        self.url("/token")
    }

    /// The longest lifetime of any JWT the ring signs: what a rotated-out key must stay
    /// verifiable for.
    pub fn max_token_lifetime(&self) -> Duration {
        self.access_token_lifetime
            .max(APPLICANT_TOKEN_LIFETIME)
            .max(SOFTWARE_STATEMENT_LIFETIME)
    }
}
