//! The access-token verifier for protected routes ([`TokenVerifier`]), and the token checks
//! introspection and revocation share.

use std::collections::BTreeSet;
use std::sync::Arc;

use async_trait::async_trait;
use ecohub_eventstore::SharedStore;
use ecohub_kernel::{Clock, Timestamp};
use ecohub_security::{AccessTokenVerifier, AuthError, PresentedToken, Principal};

use super::consent_port::{ConsentAuthority, ConsentPortError, ConsentStanding};
use super::state::AuthState;
use super::store::{is_revoked, load_client, partner_standing};
use crate::domain::ClientId;
use crate::settings::AuthSettings;
use ecohub_jose::dpop::{DpopError, DpopRequest, verify_dpop_proof};
use ecohub_jose::jwt::{
    AccessTokenClaims, check_access_token_times, header_kid, verify_access_token,
};
use ecohub_jose::keys::KeyRing;
use ecohub_jose::replay::InMemoryJtiReplayGuard;

/// The `client_id` of applicant tokens (see [`crate::issue_applicant_token`]).
pub const APPLICANT_CLIENT_ID: &str = "applicant";

/// Why a signature-valid token is not usable now.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Inactive {
    /// Revoked, or its client was deleted, or its partner is not active.
    #[error("{0}")]
    Refused(String),
    /// The store could not answer.
    #[error("store unavailable: {0}")]
    Unavailable(String),
}

/// Checks, exactly (latest revisions), that a token whose signature and claims verified is
/// still usable: not revoked; its client registered and not deleted; its partner active for
/// partner clients; for consent-bound tokens (`consent_id`), the consent authorised at `now`
/// for the token's partner and subject. Applicant tokens (`client_id` `applicant`) have no
/// client stream and follow their application whatever its status.
///
/// Returns the consent's expiry for consent-bound tokens: a verdict must not be trusted
/// beyond it, since a consent expires by time without any append.
pub async fn check_current(
    store: &dyn ecohub_eventstore::EventStore,
    consents: Option<&dyn ConsentAuthority>,
    claims: &AccessTokenClaims,
    now: Timestamp,
) -> Result<Option<Timestamp>, Inactive> {
    let unavailable = |e: String| Inactive::Unavailable(e);
    if is_revoked(store, &claims.jti)
        .await
        .map_err(|e| unavailable(e.to_string()))?
    {
        return Err(Inactive::Refused("token revoked".into()));
    }
    if claims.client_id == APPLICANT_CLIENT_ID {
        let partner = claims.partner_id.as_deref().unwrap_or_default();
        let well_formed = !partner.is_empty()
            && claims.sub == format!("applicant:{partner}")
            && claims.scopes().all(|s| s == "partner:read");
        return if well_formed && claims.consent_id.is_none() {
            Ok(None)
        } else {
            Err(Inactive::Refused("malformed applicant token".into()))
        };
    }
    let Ok(client_id) = ClientId::parse(&claims.client_id) else {
        return Err(Inactive::Refused("unknown client".into()));
    };
    let (client, _) = load_client(store, &client_id)
        .await
        .map_err(|e| unavailable(e.to_string()))?;
    let Some(client) = client.active() else {
        return Err(Inactive::Refused("client unknown or deleted".into()));
    };
    if let Some(partner_id) = client.kind.partner_id() {
        let standing = partner_standing(store, partner_id)
            .await
            .map_err(|e| unavailable(e.to_string()))?;
        if !standing.is_active() {
            return Err(Inactive::Refused(format!("partner is {standing:?}")));
        }
    }
    let Some(consent_id) = &claims.consent_id else {
        return Ok(None);
    };
    let Some(consents) = consents else {
        return Err(Inactive::Unavailable(
            "consent-bound token but no consent service".into(),
        ));
    };
    match consents.standing(consent_id, now).await {
        Ok(ConsentStanding::Authorised {
            partner_id,
            pairwise_id,
            expires_at,
        }) if now < expires_at
            && Some(partner_id.as_str()) == claims.partner_id.as_deref()
            && pairwise_id == claims.sub =>
        {
            Ok(Some(expires_at))
        }
        Ok(other) => Err(Inactive::Refused(format!("consent is {other:?}"))),
        Err(ConsentPortError::Unavailable(m)) => Err(Inactive::Unavailable(m)),
        Err(e) => Err(Inactive::Refused(e.to_string())),
    }
}

/// Implements [`AccessTokenVerifier`]: the signature against the ring's current keys,
/// `typ`, `iss`, `aud`, `exp`/`nbf`/`iat` with 10 s skew; for DPoP-bound tokens
/// (`cnf.jkt`) the `DPoP` scheme and a valid proof for this request (method, URI, `ath`,
/// key thumbprint); then [`check_current`].
///
/// DPoP proof `jti`s are remembered in memory per instance (a proof is also bound to one
/// method and URI and expires 60 s after its `iat`): a proof replayed against *another*
/// instance within that minute is not detected. The token endpoint, where a replay would mint
/// tokens, uses the store-backed guard.
pub struct TokenVerifier {
    store: SharedStore,
    clock: Arc<dyn Clock>,
    ring: Arc<KeyRing>,
    issuer: String,
    audience: String,
    dpop_replay: InMemoryJtiReplayGuard,
    current: CurrentCache,
    signatures: SignatureCache,
    consents: Option<Arc<dyn ConsentAuthority>>,
}

/// Access tokens whose signature and static claims (`typ`, `alg`, `iss`, `aud`, required
/// claims) verified, by the SHA-256 of the token's exact bytes, with the `kid` that signed
/// them. The same bytes always verify the same way, so a remembered verification is exact
/// as long as the signing key is still trusted, which every use checks against the ring at
/// `now` (a retired or pruned key refuses its tokens at once); the time claims (`exp`,
/// `nbf`, `iat`) are checked at every use too. Only tokens that verified are remembered, so
/// presenting forged or garbage tokens cannot fill it. An ES256 verification costs about as
/// much as the rest of a consent-checked read; a digest and a map lookup cost ~1 µs.
#[derive(Default)]
struct SignatureCache {
    verified: std::sync::Mutex<std::collections::HashMap<[u8; 32], RememberedSignature>>,
}

struct RememberedSignature {
    kid: String,
    claims: Arc<AccessTokenClaims>,
}

/// Bound on remembered signatures (a full cache is simply cleared). Access tokens live
/// minutes, so the active set of a busy hub fits many times over.
const SIGNATURE_CACHE_LIMIT: usize = 50_000;

impl SignatureCache {
    fn get(&self, digest: &[u8; 32]) -> Option<(String, Arc<AccessTokenClaims>)> {
        let verified = self.verified.lock().unwrap_or_else(|p| p.into_inner());
        verified
            .get(digest)
            .map(|r| (r.kid.clone(), Arc::clone(&r.claims)))
    }

    fn remember(&self, digest: [u8; 32], kid: String, claims: Arc<AccessTokenClaims>) {
        let mut verified = self.verified.lock().unwrap_or_else(|p| p.into_inner());
        if verified.len() >= SIGNATURE_CACHE_LIMIT {
            verified.clear();
        }
        verified.insert(digest, RememberedSignature { kid, claims });
    }
}

/// Tokens that passed [`check_current`], each with the [`super::stamp::Stamp`] (heads of the
/// revocation, client, partner and consent categories) read *before* the check. While the
/// stamp is unchanged, no stream the check read has changed, so the verdict is still exact.
/// Any such append (a suspension, a revocation, a deletion, a consent revocation — the consent
/// service writes to the same store) changes the stamp, and the next request re-checks;
/// appends elsewhere (data access records) do not. A consent also expires by
/// time without any append, so a consent-bound verdict carries the consent's expiry and is
/// never used at or after it. On the embedded store reading the head costs no IO; on
/// EventStoreDB it is one call instead of three.
#[derive(Default)]
struct CurrentCache {
    /// Keyed by the SHA-256 of the token's exact bytes (as [`SignatureCache`] is), never by
    /// its `jti`: a verdict belongs to the token that earned it, and another token that
    /// reuses a live `jti` (only a key holder could sign one) is checked on its own.
    passed: std::sync::Mutex<std::collections::HashMap<[u8; 32], CachedVerdict>>,
}

#[derive(Clone)]
struct CachedVerdict {
    head: super::stamp::Stamp,
    valid_until: Option<Timestamp>,
}

/// Bound on remembered verdicts (a full cache is simply cleared).
const CURRENT_CACHE_LIMIT: usize = 100_000;

impl CurrentCache {
    fn still_current(&self, digest: &[u8; 32], head: &super::stamp::Stamp, now: Timestamp) -> bool {
        let passed = self.passed.lock().unwrap_or_else(|p| p.into_inner());
        passed.get(digest).is_some_and(|seen| {
            seen.head == *head && seen.valid_until.is_none_or(|until| now < until)
        })
    }

    fn remember(
        &self,
        digest: [u8; 32],
        head: super::stamp::Stamp,
        valid_until: Option<Timestamp>,
    ) {
        let mut passed = self.passed.lock().unwrap_or_else(|p| p.into_inner());
        if passed.len() >= CURRENT_CACHE_LIMIT {
            passed.clear();
        }
        passed.insert(digest, CachedVerdict { head, valid_until });
    }
}

impl std::fmt::Debug for TokenVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenVerifier")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

impl TokenVerifier {
    /// A verifier for tokens of `settings.issuer` meant for `settings.audience`.
    pub fn new(
        store: SharedStore,
        clock: Arc<dyn Clock>,
        ring: Arc<KeyRing>,
        settings: &AuthSettings,
    ) -> Self {
        Self {
            store,
            clock,
            ring,
            issuer: settings.issuer.clone(),
            audience: settings.audience.clone(),
            dpop_replay: InMemoryJtiReplayGuard::new(),
            current: CurrentCache::default(),
            signatures: SignatureCache::default(),
            consents: None,
        }
    }

    /// The same verifier checking consent-bound tokens with `consents`.
    pub fn with_consents(mut self, consents: Arc<dyn ConsentAuthority>) -> Self {
        self.consents = Some(consents);
        self
    }

    /// A verifier sharing the authorization server's store, clock, keys, settings and consent
    /// port.
    pub fn from_state(state: &AuthState) -> Self {
        let verifier = Self::new(
            state.store.clone(),
            state.clock.clone(),
            state.ring.clone(),
            &state.settings,
        );
        match &state.consents {
            Some(c) => verifier.with_consents(c.clone()),
            None => verifier,
        }
    }

    /// The token's claims after the signature, static and time checks at `now`, with the
    /// SHA-256 of its exact bytes; the signature and static checks are remembered (see
    /// [`SignatureCache`]).
    fn verified_claims(
        &self,
        token: &str,
        now: Timestamp,
    ) -> Result<([u8; 32], Arc<AccessTokenClaims>), AuthError> {
        let invalid = |e: ecohub_jose::jwt::TokenError| AuthError::InvalidToken(e.to_string());
        let digest: [u8; 32] =
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes())
                .as_ref()
                .try_into()
                .map_err(|_| AuthError::Unavailable)?;
        if let Some((kid, claims)) = self.signatures.get(&digest)
            && self.ring.trusts(&kid, now)
        {
            check_access_token_times(&claims, now).map_err(invalid)?;
            return Ok((digest, claims));
        }
        let claims = Arc::new(
            verify_access_token(token, self.ring.as_ref(), &self.issuer, &self.audience, now)
                .map_err(invalid)?,
        );
        if let Some(kid) = header_kid(token) {
            self.signatures.remember(digest, kid, Arc::clone(&claims));
        }
        Ok((digest, claims))
    }

    /// Verifies at `now` (see the type's documentation).
    pub async fn verify_at(
        &self,
        presented: &PresentedToken,
        now: Timestamp,
    ) -> Result<Principal, AuthError> {
        let (digest, claims) = self.verified_claims(&presented.token, now)?;
        match claims.jkt() {
            Some(jkt) => {
                if !presented.dpop_scheme {
                    return Err(AuthError::InvalidToken(
                        "a DPoP-bound token was presented as a bearer token".into(),
                    ));
                }
                let proof = presented
                    .dpop_proof
                    .as_deref()
                    .ok_or_else(|| AuthError::InvalidDpopProof("no DPoP proof".into()))?;
                let request = DpopRequest {
                    method: &presented.method,
                    uri: &presented.uri,
                    access_token: Some(&presented.token),
                    expected_jkt: Some(jkt),
                };
                self.dpop_replay.purge(now);
                verify_dpop_proof(proof, &request, now, &self.dpop_replay)
                    .await
                    .map_err(|e| match e {
                        DpopError::ReplayGuard(_) => AuthError::Unavailable,
                        other => AuthError::InvalidDpopProof(other.to_string()),
                    })?;
            }
            None if presented.dpop_scheme => {
                return Err(AuthError::InvalidToken(
                    "a bearer token was presented with the DPoP scheme".into(),
                ));
            }
            None => {}
        }
        // The stamp is read before the check, so a verdict never outlives an append to a
        // stream the check reads.
        let head = super::stamp::read_stamp(self.store.as_ref())
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, "token check unavailable");
                AuthError::Unavailable
            })?;
        if !self.current.still_current(&digest, &head, now) {
            let valid_until =
                check_current(self.store.as_ref(), self.consents.as_deref(), &claims, now)
                    .await
                    .map_err(|e| match e {
                        Inactive::Refused(reason) => AuthError::InvalidToken(reason),
                        Inactive::Unavailable(reason) => {
                            tracing::warn!(%reason, "token check unavailable");
                            AuthError::Unavailable
                        }
                    })?;
            self.current.remember(digest, head, valid_until);
        }
        Ok(Principal {
            client_id: claims.client_id.clone(),
            subject: claims.sub.clone(),
            partner_id: claims.partner_id.clone(),
            scopes: claims.scopes().map(str::to_owned).collect::<BTreeSet<_>>(),
            token_id: claims.jti.clone(),
            consent_id: claims.consent_id.clone(),
            staff_id: None,
        })
    }
}

#[async_trait(?Send)]
impl AccessTokenVerifier for TokenVerifier {
    async fn verify(&self, presented: &PresentedToken) -> Result<Principal, AuthError> {
        let now = self.clock.now();
        self.verify_at(presented, now).await
    }
}
