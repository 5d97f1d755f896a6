//! The authorization server's settings: [`AuthConfig`], what an operator writes (the hub's
//! `[auth]` section: the one source of its defaults and validation), and [`AuthSettings`],
//! what the server runs with once the hub knows its address.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::domain::{LOCK_MEMORY, LoginPolicy};

/// Lifetime of access tokens unless configured.
pub const DEFAULT_ACCESS_TOKEN_LIFETIME: Duration = Duration::from_secs(300);

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
    /// Whether staff people must have a second factor (TOTP): adding one without it is
    /// refused and such a person cannot sign in. Default: in production mode.
    pub staff_totp_required: bool,
}

impl AuthSettings {
    /// Settings for `issuer` with the defaults: audience = issuer, 5-minute tokens, not
    /// production, the default sign-in throttling.
    pub fn new(issuer: impl Into<String>) -> Self {
        let issuer = issuer.into().trim_end_matches('/').to_owned();
        Self {
            audience: issuer.clone(),
            issuer,
            access_token_lifetime: DEFAULT_ACCESS_TOKEN_LIFETIME,
            production: false,
            login: LoginPolicy::default(),
            staff_totp_required: false,
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

/// The `[auth]` section as an operator writes it (TOML keys, `ECOHUB_AUTH__*` variables):
/// unknown keys are errors, missing ones take their defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// The issuer: the hub's public base URL as clients see it (e.g. `https://hub.bank.example`).
    /// Default (unset): `http://<the address the server listens on>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// Access-token lifetime in seconds. Default 300.
    pub access_token_lifetime_secs: u64,
    /// Failed sign-ins of one username (within `login_failure_window_secs`) that lock it.
    /// Default 5.
    pub login_max_failures: u32,
    /// How far back failed sign-ins count towards a lock, in seconds. Default 900.
    pub login_failure_window_secs: u64,
    /// The first lock's duration in seconds; each further lock (within 24 h, before a
    /// successful sign-in) doubles it. Default 60.
    pub login_lockout_secs: u64,
    /// The longest lock in seconds. Default 3600.
    pub login_max_lockout_secs: u64,
    /// Whether staff people must sign in with a TOTP code (RFC 6238) besides their password.
    /// Default (unset): required in production mode, optional otherwise (a person who has a
    /// second factor always uses it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub staff_totp_required: Option<bool>,
}

impl Default for AuthConfig {
    fn default() -> Self {
        let login = LoginPolicy::default();
        Self {
            issuer: None,
            access_token_lifetime_secs: DEFAULT_ACCESS_TOKEN_LIFETIME.as_secs(),
            login_max_failures: login.max_failures,
            login_failure_window_secs: login.failure_window.as_secs(),
            login_lockout_secs: login.lockout.as_secs(),
            login_max_lockout_secs: login.max_lockout.as_secs(),
            staff_totp_required: None,
        }
    }
}

impl AuthConfig {
    /// Checks the section (`production` asks for an https issuer); the message names the
    /// offending keys.
    pub fn validate(&self, production: bool) -> Result<(), String> {
        if let Some(issuer) = &self.issuer {
            let ok = (issuer.starts_with("https://")
                || (!production && issuer.starts_with("http://")))
                && !issuer.ends_with('/')
                && !issuer.contains(['?', '#']);
            if !ok {
                return Err(format!(
                    "auth.issuer {issuer:?} must be an absolute {} URL without a trailing slash, query or fragment",
                    if production { "https" } else { "http(s)" }
                ));
            }
        }
        if !(10..=3600).contains(&self.access_token_lifetime_secs) {
            return Err("auth.access_token_lifetime_secs must be between 10 and 3600".into());
        }
        let day = LOCK_MEMORY.as_secs();
        if !(1..=1000).contains(&self.login_max_failures) {
            return Err("auth.login_max_failures must be between 1 and 1000".into());
        }
        if !(1..=day).contains(&self.login_failure_window_secs) {
            return Err(format!(
                "auth.login_failure_window_secs must be between 1 and {day}"
            ));
        }
        if !(1..=day).contains(&self.login_lockout_secs)
            || !(self.login_lockout_secs..=day).contains(&self.login_max_lockout_secs)
        {
            return Err(format!(
                "auth.login_lockout_secs and auth.login_max_lockout_secs must be between 1 and {day}, the maximum not below the first"
            ));
        }
        Ok(())
    }

    /// The server's settings: the configured issuer or else `default_issuer` (the hub's
    /// `http://<listen address>`), in production mode or not.
    pub fn settings(&self, default_issuer: impl Into<String>, production: bool) -> AuthSettings {
        let issuer = self.issuer.clone().unwrap_or_else(|| default_issuer.into());
        let mut auth = AuthSettings::new(issuer);
        auth.access_token_lifetime = Duration::from_secs(self.access_token_lifetime_secs);
        auth.production = production;
        auth.staff_totp_required = self.staff_totp_required.unwrap_or(production);
        auth.login = LoginPolicy {
            max_failures: self.login_max_failures,
            failure_window: Duration::from_secs(self.login_failure_window_secs),
            lockout: Duration::from_secs(self.login_lockout_secs),
            max_lockout: Duration::from_secs(self.login_max_lockout_secs),
        };
        auth
    }
}
