//! The authorisation-code flow's single-use records, as pure folds and decisions:
//!
//! * [`PushedRequest`] (stream `par-<hash of the request_uri>`): a pushed authorisation
//!   request (RFC 9126), usable once, until it expires.
//! * [`AuthorizationCode`] (stream `authcode-<hash of the code>`): a code bound to client,
//!   redirect URI, PKCE challenge, consent, subject and scope; redeemed once, within its
//!   lifetime.
//! * [`RefreshFamily`] (stream `refresh-<family id>`): the refresh tokens issued from one code,
//!   rotated on every use, and the access token (`jti`, expiry) issued with each; presenting a
//!   rotated-out token revokes the family and the access tokens it issued.
//!
//! Only hashes of the request_uri, code and refresh tokens are ever stored; the application
//! layer computes them (and the PKCE S256 transform) and passes them in.

use ecohub_kernel::{DecodeError, DomainEvent, Timestamp};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

fn encode_payload(payload: &impl Serialize) -> serde_json::Value {
    serde_json::to_value(payload).expect("payloads of plain fields always serialise")
}

fn decode_payload<T: DeserializeOwned>(
    event_type: &str,
    data: &serde_json::Value,
) -> Result<T, DecodeError> {
    DecodeError::parse(event_type, data)
}

// ---------------------------------------------------------------------------------------
// Pushed authorisation requests
// ---------------------------------------------------------------------------------------

/// A validated pushed authorisation request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushedRequest {
    /// The client that pushed it.
    pub client_id: String,
    /// The client's partner.
    pub partner_id: String,
    /// One of the client's registered redirect URIs.
    pub redirect_uri: String,
    /// The requested scopes (a subset of the client's), space-separated.
    pub scope: String,
    /// The client's `state`, echoed in the response.
    pub state: Option<String>,
    /// The PKCE S256 challenge.
    pub code_challenge: String,
    /// The consent the customer is asked to authorise.
    pub consent_id: String,
    /// When it was pushed.
    pub pushed_at: Timestamp,
    /// When the `request_uri` stops working.
    pub expires_at: Timestamp,
}

/// Events of a pushed request's stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushedRequestEvent {
    /// `AuthorizationRequestPushed`.
    Pushed(PushedRequest),
    /// `AuthorizationRequestUsed`: the customer decided; the `request_uri` is spent.
    Used {
        /// When.
        at: Timestamp,
    },
}

#[derive(Serialize, Deserialize)]
struct AtV1 {
    at: Timestamp,
}

impl PushedRequestEvent {
    /// Every event type name.
    pub const TYPES: [&'static str; 2] = ["AuthorizationRequestPushed", "AuthorizationRequestUsed"];
}

impl DomainEvent for PushedRequestEvent {
    fn event_type(&self) -> &'static str {
        match self {
            Self::Pushed(_) => "AuthorizationRequestPushed",
            Self::Used { .. } => "AuthorizationRequestUsed",
        }
    }
    fn event_version(&self) -> u16 {
        1
    }
    fn encode(&self) -> serde_json::Value {
        match self {
            Self::Pushed(r) => encode_payload(r),
            Self::Used { at } => encode_payload(&AtV1 { at: *at }),
        }
    }
    fn decode(t: &str, v: u16, data: &serde_json::Value) -> Result<Self, DecodeError> {
        DecodeError::check_known(t, v, &Self::TYPES, 1)?;
        Ok(match t {
            "AuthorizationRequestPushed" => Self::Pushed(decode_payload(t, data)?),
            _ => Self::Used {
                at: decode_payload::<AtV1>(t, data)?.at,
            },
        })
    }
}

/// Why a `request_uri` cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestRefusal {
    /// Never pushed (or not by this hub).
    #[error("unknown request_uri")]
    Unknown,
    /// Pushed by another client.
    #[error("request_uri was pushed by another client")]
    OtherClient,
    /// Past its lifetime.
    #[error("request_uri has expired")]
    Expired,
    /// Already used for a decision.
    #[error("request_uri was already used")]
    Used,
}

/// The state of a pushed request, folded from its stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PushedRequestState {
    /// The request, once pushed.
    pub request: Option<PushedRequest>,
    /// Whether it was used.
    pub used: bool,
}

impl PushedRequestState {
    /// Folds the stream's events.
    pub fn fold<'a>(events: impl IntoIterator<Item = &'a PushedRequestEvent>) -> Self {
        events.into_iter().fold(Self::default(), |mut s, e| {
            match e {
                PushedRequestEvent::Pushed(r) => s.request = Some(r.clone()),
                PushedRequestEvent::Used { .. } => s.used = true,
            }
            s
        })
    }

    /// The request, if `client_id` may still use it at `now`.
    pub fn usable(
        &self,
        client_id: &str,
        now: Timestamp,
    ) -> Result<&PushedRequest, RequestRefusal> {
        let request = self.request.as_ref().ok_or(RequestRefusal::Unknown)?;
        if request.client_id != client_id {
            return Err(RequestRefusal::OtherClient);
        }
        if self.used {
            return Err(RequestRefusal::Used);
        }
        if now >= request.expires_at {
            return Err(RequestRefusal::Expired);
        }
        Ok(request)
    }

    /// Decides to spend the request (the caller appends at the revision it read, so one
    /// decision wins across instances).
    pub fn use_once(
        &self,
        client_id: &str,
        now: Timestamp,
    ) -> Result<PushedRequestEvent, RequestRefusal> {
        self.usable(client_id, now)?;
        Ok(PushedRequestEvent::Used { at: now })
    }
}

// ---------------------------------------------------------------------------------------
// Authorisation codes
// ---------------------------------------------------------------------------------------

/// What an authorisation code grants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeGrant {
    /// The client it was issued to.
    pub client_id: String,
    /// The redirect URI of the request (must be presented again, equal).
    pub redirect_uri: String,
    /// The PKCE S256 challenge.
    pub code_challenge: String,
    /// The consent authorised.
    pub consent_id: String,
    /// The hub's customer id.
    pub customer_id: String,
    /// The token subject: the customer's pairwise id for the partner.
    pub subject: String,
    /// Granted scopes, space-separated.
    pub scope: String,
    /// The refresh-token family the redemption starts (known in advance so that a reused
    /// code can revoke it).
    pub family_id: String,
    /// When it was issued.
    pub issued_at: Timestamp,
    /// When it expires (≤ 60 s after issue).
    pub expires_at: Timestamp,
}

/// Events of a code's stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeEvent {
    /// `AuthorizationCodeIssued`.
    Issued(CodeGrant),
    /// `AuthorizationCodeRedeemed`, with the access token it produced.
    Redeemed(Redemption),
    /// `AuthorizationCodeReused`: presented again; what it issued was revoked.
    Reused {
        /// When.
        at: Timestamp,
    },
}

/// A code's redemption.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Redemption {
    /// The access token's `jti`.
    pub access_token_jti: String,
    /// When that token expires.
    pub access_token_expires_at: Timestamp,
    /// When.
    pub at: Timestamp,
}

impl CodeEvent {
    /// Every event type name.
    pub const TYPES: [&'static str; 3] = [
        "AuthorizationCodeIssued",
        "AuthorizationCodeRedeemed",
        "AuthorizationCodeReused",
    ];
}

impl DomainEvent for CodeEvent {
    fn event_type(&self) -> &'static str {
        match self {
            Self::Issued(_) => "AuthorizationCodeIssued",
            Self::Redeemed(_) => "AuthorizationCodeRedeemed",
            Self::Reused { .. } => "AuthorizationCodeReused",
        }
    }
    fn event_version(&self) -> u16 {
        1
    }
    fn encode(&self) -> serde_json::Value {
        match self {
            Self::Issued(g) => encode_payload(g),
            Self::Redeemed(r) => encode_payload(r),
            Self::Reused { at } => encode_payload(&AtV1 { at: *at }),
        }
    }
    fn decode(t: &str, v: u16, data: &serde_json::Value) -> Result<Self, DecodeError> {
        DecodeError::check_known(t, v, &Self::TYPES, 1)?;
        Ok(match t {
            "AuthorizationCodeIssued" => Self::Issued(decode_payload(t, data)?),
            "AuthorizationCodeRedeemed" => Self::Redeemed(decode_payload(t, data)?),
            _ => Self::Reused {
                at: decode_payload::<AtV1>(t, data)?.at,
            },
        })
    }
}

/// What a client presents to redeem a code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedeemCode<'a> {
    /// The authenticated client.
    pub client_id: &'a str,
    /// The `redirect_uri` parameter.
    pub redirect_uri: &'a str,
    /// S256 of the presented `code_verifier` (computed by the caller).
    pub verifier_challenge: &'a str,
}

/// Why a code cannot be redeemed (always `invalid_grant`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeRefusal {
    /// No such code.
    #[error("unknown authorization code")]
    Unknown,
    /// Already redeemed: what it issued must be revoked.
    #[error("authorization code was already used")]
    Reused(Option<Redemption>),
    /// Issued to another client.
    #[error("authorization code was issued to another client")]
    OtherClient,
    /// Expired.
    #[error("authorization code has expired")]
    Expired,
    /// The redirect URI differs from the request's.
    #[error("redirect_uri does not match the authorization request")]
    RedirectMismatch,
    /// The code verifier does not match the challenge.
    #[error("code_verifier does not match the code_challenge")]
    PkceMismatch,
}

/// A code's state, folded from its stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthorizationCode {
    /// The grant, once issued.
    pub grant: Option<CodeGrant>,
    /// The redemption, once redeemed.
    pub redemption: Option<Redemption>,
    /// Whether a reuse was recorded.
    pub reused: bool,
}

impl AuthorizationCode {
    /// Folds the stream's events.
    pub fn fold<'a>(events: impl IntoIterator<Item = &'a CodeEvent>) -> Self {
        events.into_iter().fold(Self::default(), |mut s, e| {
            match e {
                CodeEvent::Issued(g) => s.grant = Some(g.clone()),
                CodeEvent::Redeemed(r) => s.redemption = Some(r.clone()),
                CodeEvent::Reused { .. } => s.reused = true,
            }
            s
        })
    }

    /// Decides a redemption: the grant to honour, or why not. A second presentation is
    /// [`CodeRefusal::Reused`] whoever presents it (RFC 6749 §4.1.2).
    pub fn redeem(
        &self,
        request: &RedeemCode<'_>,
        now: Timestamp,
    ) -> Result<&CodeGrant, CodeRefusal> {
        let grant = self.grant.as_ref().ok_or(CodeRefusal::Unknown)?;
        if self.redemption.is_some() || self.reused {
            return Err(CodeRefusal::Reused(self.redemption.clone()));
        }
        if grant.client_id != request.client_id {
            return Err(CodeRefusal::OtherClient);
        }
        if now >= grant.expires_at {
            return Err(CodeRefusal::Expired);
        }
        if grant.redirect_uri != request.redirect_uri {
            return Err(CodeRefusal::RedirectMismatch);
        }
        if grant.code_challenge != request.verifier_challenge {
            return Err(CodeRefusal::PkceMismatch);
        }
        Ok(grant)
    }
}

// ---------------------------------------------------------------------------------------
// Refresh-token families
// ---------------------------------------------------------------------------------------

/// An access token a family issued (with its start or a rotation): what revoking the family
/// must revoke too (RFC 9700 §4.14.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FamilyAccessToken {
    /// The access token's `jti`.
    pub jti: String,
    /// When it expires.
    pub expires_at: Timestamp,
}

/// A family's start: what every refresh token of the family grants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FamilyStart {
    /// The family id (a UUID; part of each token, not secret).
    pub family_id: String,
    /// The client.
    pub client_id: String,
    /// The client's partner.
    pub partner_id: Option<String>,
    /// The consent.
    pub consent_id: String,
    /// The pairwise subject.
    pub subject: String,
    /// Granted scopes, space-separated.
    pub scope: String,
    /// SHA-256 of the first refresh token.
    pub token_hash: String,
    /// When the family stops working (never after the consent's expiry).
    pub expires_at: Timestamp,
    /// When.
    pub at: Timestamp,
    /// The access token issued with the first refresh token (absent in events stored before
    /// it was recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token: Option<FamilyAccessToken>,
}

/// Events of a family's stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FamilyEvent {
    /// `RefreshFamilyStarted`.
    Started(FamilyStart),
    /// `RefreshTokenRotated`: the current token was used and replaced.
    Rotated {
        /// SHA-256 of the new current token.
        token_hash: String,
        /// The access token issued with it (absent in events stored before it was
        /// recorded).
        access_token: Option<FamilyAccessToken>,
        /// When.
        at: Timestamp,
    },
    /// `RefreshFamilyRevoked`: no token of the family works any more.
    Revoked {
        /// `reuse_detected`, `revoked_by_client`, `code_reused`.
        reason: String,
        /// When.
        at: Timestamp,
    },
}

/// Version 1 of `RefreshTokenRotated`; `access_token` was added later as an optional field
/// (older events decode without it), so the version did not change.
#[derive(Serialize, Deserialize)]
struct RotatedV1 {
    token_hash: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    access_token: Option<FamilyAccessToken>,
    at: Timestamp,
}

#[derive(Serialize, Deserialize)]
struct RevokedV1 {
    reason: String,
    at: Timestamp,
}

impl FamilyEvent {
    /// Every event type name.
    pub const TYPES: [&'static str; 3] = [
        "RefreshFamilyStarted",
        "RefreshTokenRotated",
        "RefreshFamilyRevoked",
    ];
}

impl DomainEvent for FamilyEvent {
    fn event_type(&self) -> &'static str {
        match self {
            Self::Started(_) => "RefreshFamilyStarted",
            Self::Rotated { .. } => "RefreshTokenRotated",
            Self::Revoked { .. } => "RefreshFamilyRevoked",
        }
    }
    fn event_version(&self) -> u16 {
        1
    }
    fn encode(&self) -> serde_json::Value {
        match self {
            Self::Started(s) => encode_payload(s),
            Self::Rotated {
                token_hash,
                access_token,
                at,
            } => encode_payload(&RotatedV1 {
                token_hash: token_hash.clone(),
                access_token: access_token.clone(),
                at: *at,
            }),
            Self::Revoked { reason, at } => encode_payload(&RevokedV1 {
                reason: reason.clone(),
                at: *at,
            }),
        }
    }
    fn decode(t: &str, v: u16, data: &serde_json::Value) -> Result<Self, DecodeError> {
        DecodeError::check_known(t, v, &Self::TYPES, 1)?;
        Ok(match t {
            "RefreshFamilyStarted" => Self::Started(decode_payload(t, data)?),
            "RefreshTokenRotated" => {
                let r: RotatedV1 = decode_payload(t, data)?;
                Self::Rotated {
                    token_hash: r.token_hash,
                    access_token: r.access_token,
                    at: r.at,
                }
            }
            _ => {
                let r: RevokedV1 = decode_payload(t, data)?;
                Self::Revoked {
                    reason: r.reason,
                    at: r.at,
                }
            }
        })
    }
}

/// A family's state, folded from its stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RefreshFamily {
    /// The family's start.
    pub start: Option<FamilyStart>,
    /// SHA-256 of the one token that works now.
    pub current_hash: Option<String>,
    /// Hashes of rotated-out tokens.
    pub retired: Vec<String>,
    /// Why it was revoked, if it was.
    pub revoked: Option<String>,
    /// The access tokens the family issued (those recorded), oldest first.
    pub access_tokens: Vec<FamilyAccessToken>,
}

/// What presenting a refresh token leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// The current token: rotate to the new one (the caller records the access token it
    /// issues with [`FamilyEvent::with_access_token`]).
    Rotate(FamilyEvent),
    /// A rotated-out token (stolen, or replayed): revoke the whole family (the event), then
    /// every access token it issued that has not expired ([`RefreshFamily::live_access_tokens`]
    /// after the revocation), and refuse. `None`: the family is revoked already — revoking its
    /// access tokens again finishes a revocation that was interrupted (idempotent).
    RevokeFamily(Option<FamilyEvent>),
    /// Refuse without writing (unknown token, other client, expired).
    Refuse(&'static str),
}

impl FamilyEvent {
    /// The same start or rotation, recording the access token issued with it (other events
    /// are returned unchanged).
    pub fn with_access_token(self, token: FamilyAccessToken) -> Self {
        match self {
            Self::Started(start) => Self::Started(FamilyStart {
                access_token: Some(token),
                ..start
            }),
            Self::Rotated { token_hash, at, .. } => Self::Rotated {
                token_hash,
                access_token: Some(token),
                at,
            },
            other => other,
        }
    }
}

impl RefreshFamily {
    /// Folds the stream's events.
    pub fn fold<'a>(events: impl IntoIterator<Item = &'a FamilyEvent>) -> Self {
        events.into_iter().fold(Self::default(), |mut s, e| {
            match e {
                FamilyEvent::Started(start) => {
                    s.current_hash = Some(start.token_hash.clone());
                    s.access_tokens.extend(start.access_token.clone());
                    s.start = Some(start.clone());
                }
                FamilyEvent::Rotated {
                    token_hash,
                    access_token,
                    ..
                } => {
                    if let Some(old) = s.current_hash.replace(token_hash.clone()) {
                        s.retired.push(old);
                    }
                    s.access_tokens.extend(access_token.clone());
                }
                FamilyEvent::Revoked { reason, .. } => s.revoked = Some(reason.clone()),
            }
            s
        })
    }

    /// Decides what presenting the token hashing to `presented_hash` by `client_id` at `now`
    /// does; `new_hash` is the hash of the replacement token the caller drew.
    pub fn rotate(
        &self,
        presented_hash: &str,
        client_id: &str,
        new_hash: &str,
        now: Timestamp,
    ) -> Rotation {
        let Some(start) = &self.start else {
            return Rotation::Refuse("unknown refresh token");
        };
        if start.client_id != client_id {
            return Rotation::Refuse("refresh token was issued to another client");
        }
        let known = self.current_hash.as_deref() == Some(presented_hash)
            || self.retired.iter().any(|h| h == presented_hash);
        if self.revoked.is_some() {
            return if known {
                Rotation::RevokeFamily(None)
            } else {
                Rotation::Refuse("unknown refresh token")
            };
        }
        if self.retired.iter().any(|h| h == presented_hash) {
            return Rotation::RevokeFamily(Some(FamilyEvent::Revoked {
                reason: "reuse_detected".into(),
                at: now,
            }));
        }
        if self.current_hash.as_deref() != Some(presented_hash) {
            return Rotation::Refuse("unknown refresh token");
        }
        if now >= start.expires_at {
            return Rotation::Refuse("refresh token has expired");
        }
        Rotation::Rotate(FamilyEvent::Rotated {
            token_hash: new_hash.to_owned(),
            access_token: None,
            at: now,
        })
    }

    /// The access tokens the family issued that have not expired at `now`: what a revocation
    /// of the family must revoke too (the expired ones are refused anyway).
    pub fn live_access_tokens(&self, now: Timestamp) -> impl Iterator<Item = &FamilyAccessToken> {
        self.access_tokens
            .iter()
            .filter(move |t| t.expires_at > now)
    }

    /// Decides a revocation (RFC 7009 or a reused code): nothing when already revoked.
    pub fn revoke(&self, reason: &str, now: Timestamp) -> Option<FamilyEvent> {
        (self.start.is_some() && self.revoked.is_none()).then(|| FamilyEvent::Revoked {
            reason: reason.to_owned(),
            at: now,
        })
    }
}
