//! JWTs the hub signs: access tokens (RFC 9068) and software statements (RFC 7591 §2.3).
//!
//! Both carry an explicit `typ` (RFC 8725 §3.11) that verification insists on, so one kind can
//! never be accepted as the other even though the same keys sign both.

use std::time::Duration;

use ecohub_kernel::Timestamp;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::JwtError;
use crate::jwk::KeySource;
use crate::jws::{self, Verified, check_exp, check_iat, check_nbf, required};
use crate::keys::{KeyError, KeyRing};
use crate::util::{numeric_date, random_id};

/// `typ` of access tokens (RFC 9068 §2.1). `application/at+jwt` is accepted too.
pub const ACCESS_TOKEN_TYPE: &str = "at+jwt";
/// `typ` of the hub's software statements. An explicit type (RFC 8725 §3.11) rather than
/// `JWT`, so that no other JWT signed by the hub (an access token, a security event token) can
/// ever pass as a statement.
pub const SOFTWARE_STATEMENT_TYPE: &str = "software-statement+jwt";
/// Bytes of randomness in a `jti`: 160 bits (≥ 128 required), 27 base64url characters.
const JTI_BYTES: usize = 20;

/// The `aud` claim: one audience (serialised as a string) or several (an array).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Audience(Vec<String>);

impl Audience {
    /// A single audience.
    pub fn one(audience: impl Into<String>) -> Self {
        Self(vec![audience.into()])
    }

    /// The audiences, in order.
    pub fn values(&self) -> &[String] {
        &self.0
    }

    /// Whether `audience` is one of them (exact comparison).
    pub fn contains(&self, audience: &str) -> bool {
        self.0.iter().any(|a| a == audience)
    }
}

impl Serialize for Audience {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0.as_slice() {
            [one] => s.serialize_str(one),
            many => many.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for Audience {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum OneOrMany {
            One(String),
            Many(Vec<String>),
        }
        Ok(match OneOrMany::deserialize(d)? {
            OneOrMany::One(one) => Self(vec![one]),
            OneOrMany::Many(many) => Self(many),
        })
    }
}

/// The `cnf` claim of a DPoP-bound token (RFC 9449 §6.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confirmation {
    /// RFC 7638 thumbprint of the key the token is bound to.
    pub jkt: String,
}

/// The claims of an access token (RFC 9068 §2.2), as issued and as verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessTokenClaims {
    /// The hub's issuer identifier.
    pub iss: String,
    /// The resource server(s) the token is meant for.
    pub aud: Audience,
    /// The subject: the client itself for `client_credentials`, the customer otherwise.
    pub sub: String,
    /// The client the token was issued to.
    pub client_id: String,
    /// Granted scopes, space-separated (RFC 6749 §3.3).
    pub scope: String,
    /// Unique token id, ≥ 128 bits of randomness, base64url.
    pub jti: String,
    /// Issued at (seconds since the epoch).
    pub iat: i64,
    /// Expires at (seconds since the epoch).
    pub exp: i64,
    /// Not before (seconds since the epoch; equal to `iat`).
    pub nbf: i64,
    /// Key binding for DPoP-bound tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cnf: Option<Confirmation>,
    /// The partner the client belongs to, when it belongs to one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner_id: Option<String>,
    /// Roles of the client or partner (`data_recipient`, `admin`...), when useful.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    /// The consent the token was granted under (authorization-code tokens): the token works
    /// only while that consent is authorised.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent_id: Option<String>,
}

impl AccessTokenClaims {
    /// The granted scopes.
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.scope.split(' ').filter(|s| !s.is_empty())
    }

    /// Whether `scope` was granted.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes().any(|s| s == scope)
    }

    /// The thumbprint of the key the token is bound to, for DPoP-bound tokens.
    pub fn jkt(&self) -> Option<&str> {
        self.cnf.as_ref().map(|c| c.jkt.as_str())
    }

    /// `exp` as a timestamp.
    pub fn expires_at(&self) -> Timestamp {
        Timestamp::from_unix_seconds(self.exp)
    }
}

/// What to put in a new access token; the hub adds `jti`, `iat`, `nbf` and `exp`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAccessToken {
    /// `iss`: the hub's issuer identifier.
    pub issuer: String,
    /// `aud`: the resource server identifier.
    pub audience: String,
    /// `sub`.
    pub subject: String,
    /// `client_id`.
    pub client_id: String,
    /// Granted scopes (each a valid RFC 6749 §3.3 scope token).
    pub scopes: Vec<String>,
    /// Lifetime (the hub's default is 5 minutes); whole seconds, at least one.
    pub lifetime: Duration,
    /// Thumbprint of the DPoP key to bind the token to (`cnf.jkt`).
    pub dpop_jkt: Option<String>,
    /// `partner_id`.
    pub partner_id: Option<String>,
    /// `roles`.
    pub roles: Vec<String>,
    /// `consent_id`.
    pub consent_id: Option<String>,
}

/// A signed access token and its claims (for introspection and revocation records).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedAccessToken {
    /// The compact JWT.
    pub token: String,
    /// What it says.
    pub claims: AccessTokenClaims,
}

/// Why a JWT could not be issued. Always the server's fault (`server_error`), except
/// [`IssueError::InvalidScope`], which the caller should have prevented.
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    /// No key can sign, or signing failed.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// A scope is empty or has characters RFC 6749 §3.3 forbids (space, `"`, `\`, controls).
    #[error("invalid scope token {0:?}")]
    InvalidScope(String),
    /// A required value (issuer, subject, client id, software id) is empty.
    #[error("missing value {0}")]
    MissingValue(&'static str),
}

/// Why an access token was refused: always `invalid_token` (RFC 6750 §3.1).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Structure, type, key, signature or claims are not acceptable.
    #[error(transparent)]
    Invalid(#[from] JwtError),
}

fn scope_string(scopes: &[String]) -> Result<String, IssueError> {
    for scope in scopes {
        let valid = !scope.is_empty()
            && scope
                .bytes()
                .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b));
        if !valid {
            return Err(IssueError::InvalidScope(scope.clone()));
        }
    }
    Ok(scopes.join(" "))
}

fn non_empty(value: &str, name: &'static str) -> Result<(), IssueError> {
    if value.is_empty() {
        Err(IssueError::MissingValue(name))
    } else {
        Ok(())
    }
}

fn lifetime_secs(lifetime: Duration) -> i64 {
    i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX).max(1)
}

/// Issues an access token signed by the ring's signing key at `now`, with header
/// `{"alg", "typ": "at+jwt", "kid"}` and a fresh 160-bit `jti`.
pub fn issue_access_token(
    ring: &KeyRing,
    request: NewAccessToken,
    now: Timestamp,
) -> Result<IssuedAccessToken, IssueError> {
    non_empty(&request.issuer, "issuer")?;
    non_empty(&request.audience, "audience")?;
    non_empty(&request.subject, "subject")?;
    non_empty(&request.client_id, "client_id")?;
    let scope = scope_string(&request.scopes)?;
    let key = ring.signing_key(now)?;
    let iat = numeric_date(now);
    let claims = AccessTokenClaims {
        iss: request.issuer,
        aud: Audience::one(request.audience),
        sub: request.subject,
        client_id: request.client_id,
        scope,
        jti: random_id(JTI_BYTES),
        iat,
        exp: iat.saturating_add(lifetime_secs(request.lifetime)),
        nbf: iat,
        cnf: request.dpop_jkt.map(|jkt| Confirmation { jkt }),
        partner_id: request.partner_id,
        roles: request.roles,
        consent_id: request.consent_id,
    };
    let token = key.sign_jwt(ACCESS_TOKEN_TYPE, &claims)?;
    Ok(IssuedAccessToken { token, claims })
}

/// Parses, checks the type, finds the `kid` among `keys` and verifies the signature.
fn verify_signed<K: KeySource + ?Sized>(
    token: &str,
    keys: &K,
    expected_type: &'static str,
    accepted_types: &[&str],
    now: Timestamp,
) -> Result<Verified, JwtError> {
    let jws = jws::parse(token)?;
    jws.check_type(expected_type, accepted_types, false)?;
    let kid = jws.header.kid.as_deref().ok_or(JwtError::MissingKeyId)?;
    let key = keys
        .verifying_key(kid, now)
        .ok_or_else(|| JwtError::UnknownKeyId(kid.to_owned()))?;
    jws.verify_with(&key)
}

#[derive(Deserialize)]
struct RawAccessClaims {
    iss: Option<String>,
    aud: Option<Audience>,
    sub: Option<String>,
    client_id: Option<String>,
    scope: Option<String>,
    jti: Option<String>,
    iat: Option<i64>,
    exp: Option<i64>,
    nbf: Option<i64>,
    #[serde(default)]
    cnf: Option<Confirmation>,
    #[serde(default)]
    partner_id: Option<String>,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    consent_id: Option<String>,
}

/// Verifies an access token: `alg` ES256/PS256/EdDSA only, `typ` `at+jwt`, a `kid` known to
/// `keys` (whose algorithm must be the header's), the signature, then `iss` exactly
/// `expected_issuer`, `aud` containing `expected_audience`, `exp`/`nbf`/`iat` with
/// [`crate::CLOCK_SKEW`], and the presence of `sub`, `client_id`, `scope` and `jti`.
///
/// Whether the token was revoked, or its client or partner is still active, is the caller's
/// check (it needs the server's records); so is the DPoP binding (`cnf.jkt`, see [`crate::dpop`]).
pub fn verify_access_token<K: KeySource + ?Sized>(
    token: &str,
    keys: &K,
    expected_issuer: &str,
    expected_audience: &str,
    now: Timestamp,
) -> Result<AccessTokenClaims, TokenError> {
    let verified = verify_signed(token, keys, ACCESS_TOKEN_TYPE, &[ACCESS_TOKEN_TYPE], now)?;
    let raw: RawAccessClaims = verified.claims()?;
    let exp = raw.exp.ok_or(JwtError::MissingClaim("exp"))?;
    let iat = raw.iat.ok_or(JwtError::MissingClaim("iat"))?;
    check_exp(exp, now)?;
    if let Some(nbf) = raw.nbf {
        check_nbf(nbf, now)?;
    }
    check_iat(iat, now)?;
    if required(&raw.iss, "iss")? != expected_issuer {
        return Err(JwtError::WrongIssuer.into());
    }
    let aud = raw.aud.ok_or(JwtError::MissingClaim("aud"))?;
    if !aud.contains(expected_audience) {
        return Err(JwtError::WrongAudience.into());
    }
    required(&raw.sub, "sub")?;
    required(&raw.client_id, "client_id")?;
    required(&raw.jti, "jti")?;
    let scope = raw.scope.ok_or(JwtError::MissingClaim("scope"))?;
    if raw.cnf.as_ref().is_some_and(|c| c.jkt.is_empty()) {
        return Err(JwtError::InvalidClaim("cnf").into());
    }
    Ok(AccessTokenClaims {
        iss: raw.iss.unwrap_or_default(),
        aud,
        sub: raw.sub.unwrap_or_default(),
        client_id: raw.client_id.unwrap_or_default(),
        scope,
        jti: raw.jti.unwrap_or_default(),
        iat,
        exp,
        nbf: raw.nbf.unwrap_or(iat),
        cnf: raw.cnf,
        partner_id: raw.partner_id,
        roles: raw.roles,
        consent_id: raw.consent_id,
    })
}

/// The time-dependent part of [`verify_access_token`]: `exp`, `nbf` and `iat` at `now`, for
/// claims whose signature and static checks already passed (a remembered verification).
pub fn check_access_token_times(
    claims: &AccessTokenClaims,
    now: Timestamp,
) -> Result<(), TokenError> {
    check_exp(claims.exp, now)?;
    check_nbf(claims.nbf, now)?;
    check_iat(claims.iat, now)?;
    Ok(())
}

/// The `kid` of a compact JWS's protected header, without verifying anything.
pub fn header_kid(token: &str) -> Option<String> {
    jws::parse(token).ok()?.header.kid
}

/// The claims of a software statement the hub issues to an approved partner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SoftwareStatementClaims {
    /// The hub's issuer identifier.
    pub iss: String,
    /// Issued at (seconds since the epoch).
    pub iat: i64,
    /// Expires at (seconds since the epoch). Statements are short-lived and re-issued on
    /// request from the partner's approved state, so that key rotation can retire old keys.
    pub exp: i64,
    /// Unique id, ≥ 128 bits of randomness.
    pub jti: String,
    /// The partner id.
    pub software_id: String,
    /// The partner's legal name.
    pub org_name: String,
    /// The partner's approved roles.
    pub roles: Vec<String>,
    /// The scopes the partner's clients may be granted, space-separated.
    pub scope: String,
    /// The redirect URIs the partner's clients may register (a superset of any registration's).
    pub redirect_uris: Vec<String>,
}

/// What to put in a software statement; the hub adds `jti`, `iat` and `exp`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSoftwareStatement {
    /// `iss`: the hub's issuer identifier.
    pub issuer: String,
    /// `software_id`: the partner id.
    pub software_id: String,
    /// `org_name`.
    pub org_name: String,
    /// `roles`.
    pub roles: Vec<String>,
    /// Allowed scopes.
    pub scopes: Vec<String>,
    /// Allowed redirect URIs.
    pub redirect_uris: Vec<String>,
    /// Lifetime; the key ring's `max_token_lifetime` on rotation must cover it.
    pub lifetime: Duration,
}

/// A signed software statement and its claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedSoftwareStatement {
    /// The compact JWT.
    pub statement: String,
    /// What it says.
    pub claims: SoftwareStatementClaims,
}

/// Why a software statement was refused at registration (RFC 7591 §3.2.2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SoftwareStatementError {
    /// Not signed by one of the hub's keys, or not issued by the hub:
    /// `unapproved_software_statement`.
    #[error("software statement not issued by this hub: {0}")]
    Unapproved(JwtError),
    /// Malformed, badly signed, expired, or missing claims: `invalid_software_statement`.
    #[error(transparent)]
    Invalid(JwtError),
}

impl From<JwtError> for SoftwareStatementError {
    fn from(e: JwtError) -> Self {
        match e {
            JwtError::MissingKeyId | JwtError::UnknownKeyId(_) | JwtError::WrongIssuer => {
                Self::Unapproved(e)
            }
            other => Self::Invalid(other),
        }
    }
}

/// Issues a software statement signed by the ring's signing key at `now`, with header
/// `{"alg", "typ": "software-statement+jwt", "kid"}`.
pub fn issue_software_statement(
    ring: &KeyRing,
    request: NewSoftwareStatement,
    now: Timestamp,
) -> Result<IssuedSoftwareStatement, IssueError> {
    non_empty(&request.issuer, "issuer")?;
    non_empty(&request.software_id, "software_id")?;
    let scope = scope_string(&request.scopes)?;
    let key = ring.signing_key(now)?;
    let iat = numeric_date(now);
    let claims = SoftwareStatementClaims {
        iss: request.issuer,
        iat,
        exp: iat.saturating_add(lifetime_secs(request.lifetime)),
        jti: random_id(JTI_BYTES),
        software_id: request.software_id,
        org_name: request.org_name,
        roles: request.roles,
        scope,
        redirect_uris: request.redirect_uris,
    };
    let statement = key.sign_jwt(SOFTWARE_STATEMENT_TYPE, &claims)?;
    Ok(IssuedSoftwareStatement { statement, claims })
}

#[derive(Deserialize)]
struct RawStatementClaims {
    iss: Option<String>,
    iat: Option<i64>,
    exp: Option<i64>,
    jti: Option<String>,
    software_id: Option<String>,
    org_name: Option<String>,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    scope: String,
    #[serde(default)]
    redirect_uris: Vec<String>,
}

/// Verifies a software statement against the hub's own key ring only — never a key, `jku` or
/// URL named by the statement: `typ` `software-statement+jwt`, a `kid` of the ring, the
/// signature, `iss` exactly `expected_issuer`, `exp` and `iat` with [`crate::CLOCK_SKEW`],
/// and `jti` and `software_id` present.
pub fn verify_software_statement(
    statement: &str,
    ring: &KeyRing,
    expected_issuer: &str,
    now: Timestamp,
) -> Result<SoftwareStatementClaims, SoftwareStatementError> {
    let verified = verify_signed(
        statement,
        ring,
        SOFTWARE_STATEMENT_TYPE,
        &[SOFTWARE_STATEMENT_TYPE],
        now,
    )?;
    let raw: RawStatementClaims = verified.claims()?;
    if required(&raw.iss, "iss")? != expected_issuer {
        return Err(JwtError::WrongIssuer.into());
    }
    let exp = raw.exp.ok_or(JwtError::MissingClaim("exp"))?;
    let iat = raw.iat.ok_or(JwtError::MissingClaim("iat"))?;
    check_exp(exp, now)?;
    check_iat(iat, now)?;
    required(&raw.jti, "jti")?;
    required(&raw.software_id, "software_id")?;
    Ok(SoftwareStatementClaims {
        iss: raw.iss.unwrap_or_default(),
        iat,
        exp,
        jti: raw.jti.unwrap_or_default(),
        software_id: raw.software_id.unwrap_or_default(),
        org_name: raw.org_name.unwrap_or_default(),
        roles: raw.roles,
        scope: raw.scope,
        redirect_uris: raw.redirect_uris,
    })
}

/// Verifies a JWT of one explicit type signed by one of `keys` and returns its claims as `T`:
/// `alg` ES256/PS256/EdDSA only, `typ` exactly `typ` (RFC 8725 §3.11), a `kid` known to `keys`
/// (whose algorithm must be the header's) and the signature. No claim is checked: that is the
/// caller's, for JWT kinds this module does not define (a server's own sessions, say).
pub fn verify_typed_jwt<K: KeySource + ?Sized, T: DeserializeOwned>(
    token: &str,
    keys: &K,
    typ: &'static str,
    now: Timestamp,
) -> Result<T, JwtError> {
    verify_signed(token, keys, typ, &[typ], now)?.claims()
}
