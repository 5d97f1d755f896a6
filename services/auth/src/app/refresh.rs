//! The `refresh_token` grant (RFC 6749 §6) with rotation and reuse detection (RFC 9700
//! §4.14.2), and the revocation of a refresh token's family (RFC 7009). A refresh token is
//! opaque, `<family>.<256-bit secret>`; its family (`refresh-<family>`) records every access
//! token it hands out before it is handed out, so revoking the family revokes them through
//! `revocation-<jti>` (ADR 0011).

use std::collections::BTreeSet;
use std::time::Duration;

use ecohub_eventstore::{ExpectedRevision, StoreError};
use ecohub_kernel::Timestamp;

use super::code_flow::{TOKEN_BYTES, append_one, consents, read_events, require_authorised};
use super::issuance::{
    AccessGrant, TokenResponse, issue_consent_token, parse_scope, token_response,
};
use super::secrets::token_hash;
use super::state::AuthState;
use super::store::{is_revoked, record_revocation};
use super::{EndpointError, Params};
use crate::domain::RegisteredClient;
use crate::domain::authorization::{FamilyAccessToken, FamilyEvent, RefreshFamily, Rotation};
use ecohub_jose::jwt::IssuedAccessToken;
use ecohub_jose::util::random_id;

/// The longest a refresh-token family works (never beyond the consent's expiry).
pub const REFRESH_TOKEN_LIFETIME: Duration = Duration::from_secs(90 * 24 * 3600);

/// The `refresh-` stream of a family.
pub fn family_stream(family_id: &str) -> String {
    format!("refresh-{family_id}")
}

/// The family id of a token of this hub's refresh-token shape (`<uuid>.<secret>`).
pub(crate) fn family_of(token: &str) -> Option<&str> {
    let (family, secret) = token.split_once('.')?;
    (uuid::Uuid::try_parse(family).is_ok() && secret.len() >= 43).then_some(family)
}

/// What a family records of an access token it hands out.
pub(crate) fn family_access_token(issued: &IssuedAccessToken) -> FamilyAccessToken {
    FamilyAccessToken {
        jti: issued.claims.jti.clone(),
        expires_at: issued.claims.expires_at(),
    }
}

/// Revokes the family (unless it already is), then every unexpired access token it issued.
pub(crate) async fn revoke_family(
    state: &AuthState,
    family_id: &str,
    reason: &str,
    actor: &str,
    now: Timestamp,
) -> Result<(), EndpointError> {
    let stream = family_stream(family_id);
    let (events, _) = read_events::<FamilyEvent>(state.store.as_ref(), &stream).await?;
    if let Some(event) = RefreshFamily::fold(&events).revoke(reason, now) {
        append_one(state, &stream, ExpectedRevision::Any, &event, actor, now)
            .await
            .map_err(EndpointError::store)?;
    }
    revoke_family_access_tokens(state, &stream, now).await
}

/// Appends `AccessTokenRevoked` to `revocation-<jti>` for every unexpired access token the
/// family in `stream` issued — read *after* the family's revocation was appended, so no
/// rotation can add one later (a rotation appends at the exact revision it read, and every
/// access token is recorded in the family before it is handed out). Idempotent: tokens
/// already revoked are skipped, so running it again finishes an interrupted run.
async fn revoke_family_access_tokens(
    state: &AuthState,
    stream: &str,
    now: Timestamp,
) -> Result<(), EndpointError> {
    let store = state.store.as_ref();
    let (events, _) = read_events::<FamilyEvent>(store, stream).await?;
    let family = RefreshFamily::fold(&events);
    let Some(start) = &family.start else {
        return Ok(());
    };
    for token in family.live_access_tokens(now) {
        if is_revoked(store, &token.jti)
            .await
            .map_err(EndpointError::store)?
        {
            continue;
        }
        record_revocation(store, &token.jti, &start.client_id, token.expires_at, now)
            .await
            .map_err(EndpointError::store)?;
    }
    Ok(())
}

/// The `refresh_token` grant: rotation on every use, each rotation recording the access token
/// it issues; a rotated-out token revokes its family and the family's unexpired access
/// tokens.
pub async fn refresh(
    state: &AuthState,
    client: &RegisteredClient,
    params: &Params,
    dpop_jkt: Option<String>,
    now: Timestamp,
) -> Result<TokenResponse, EndpointError> {
    let consents = consents(state)?.clone();
    let presented = params.required("refresh_token")?;
    let unknown = || EndpointError::InvalidGrant("unknown refresh token".into());
    let family_id = family_of(presented).ok_or_else(unknown)?;
    let stream = family_stream(family_id);
    let presented_hash = token_hash(presented);
    let client_id = client.client_id.to_string();
    let actor = format!("client:{client_id}");
    // A lost race against a concurrent rotation re-reads and decides again (and then sees
    // the presented token rotated out: a reuse).
    for _ in 0..3 {
        let (events, revision) = read_events::<FamilyEvent>(state.store.as_ref(), &stream).await?;
        let family = RefreshFamily::fold(&events);
        let new_token = format!("{family_id}.{}", random_id(TOKEN_BYTES));
        let new_hash = token_hash(&new_token);
        match family.rotate(&presented_hash, &client_id, &new_hash, now) {
            Rotation::Refuse(reason) => return Err(EndpointError::InvalidGrant(reason.into())),
            Rotation::RevokeFamily(event) => {
                // Reuse (RFC 9700 §4.14.2): the family first, so that no rotation can issue
                // another access token, then every access token it issued. A family already
                // revoked (`None`) gets its access tokens revoked again: that finishes a
                // revocation a crash interrupted, and is a no-op otherwise.
                let already = event.is_none();
                if let Some(event) = event {
                    append_one(state, &stream, ExpectedRevision::Any, &event, &actor, now)
                        .await
                        .map_err(EndpointError::store)?;
                }
                revoke_family_access_tokens(state, &stream, now).await?;
                return Err(EndpointError::InvalidGrant(
                    if already {
                        "refresh token family was revoked"
                    } else {
                        "refresh token was already used: its family is revoked"
                    }
                    .into(),
                ));
            }
            Rotation::Rotate(event) => {
                let start = family.start.as_ref().ok_or_else(unknown)?;
                let consent_expires_at =
                    require_authorised(consents.as_ref(), &start.consent_id, now).await?;
                let scope = match params.get("scope") {
                    None => start.scope.clone(),
                    Some(requested) => {
                        let granted = parse_scope(&start.scope);
                        let requested: BTreeSet<String> = parse_scope(requested);
                        if let Some(extra) = requested.iter().find(|s| !granted.contains(*s)) {
                            return Err(EndpointError::InvalidScope(format!(
                                "scope {extra} was not granted"
                            )));
                        }
                        requested.into_iter().collect::<Vec<_>>().join(" ")
                    }
                };
                // Signed first, recorded with the rotation, handed out only once that append
                // succeeded: every access token of the family is in its stream (what a
                // revocation of the family revokes). A lost race discards it unseen.
                let issued = issue_consent_token(
                    state,
                    AccessGrant {
                        client,
                        subject: &start.subject,
                        scope: &scope,
                        consent_id: &start.consent_id,
                        consent_expires_at: consent_expires_at.min(start.expires_at),
                        dpop_jkt: dpop_jkt.clone(),
                    },
                    now,
                )?;
                let event = event.with_access_token(family_access_token(&issued));
                match append_one(
                    state,
                    &stream,
                    ExpectedRevision::from(revision),
                    &event,
                    &actor,
                    now,
                )
                .await
                {
                    Ok(_) => {}
                    Err(StoreError::WrongExpectedVersion { .. }) => continue,
                    Err(e) => return Err(EndpointError::store(e)),
                }
                return Ok(token_response(&issued, Some(new_token)));
            }
        }
    }
    Err(EndpointError::TemporarilyUnavailable(
        "refresh token family is busy".into(),
    ))
}

/// RFC 7009 for refresh tokens: revokes the token's family and the access tokens it issued
/// when `client_id` owns it. Returns
/// whether the token was a refresh token of this hub.
pub async fn revoke_refresh_token(
    state: &AuthState,
    client_id: &str,
    token: &str,
    now: Timestamp,
) -> Result<bool, EndpointError> {
    let Some(family_id) = family_of(token) else {
        return Ok(false);
    };
    let stream = family_stream(family_id);
    let (events, _) = read_events::<FamilyEvent>(state.store.as_ref(), &stream).await?;
    let family = RefreshFamily::fold(&events);
    let Some(start) = &family.start else {
        return Ok(false);
    };
    let hash = token_hash(token);
    let known =
        family.current_hash.as_deref() == Some(hash.as_str()) || family.retired.contains(&hash);
    if !known || start.client_id != client_id {
        return Ok(true);
    }
    // RFC 7009 §2.1: the access tokens of the same grant go with it.
    revoke_family(
        state,
        family_id,
        "revoked_by_client",
        &format!("client:{client_id}"),
        now,
    )
    .await?;
    Ok(true)
}
