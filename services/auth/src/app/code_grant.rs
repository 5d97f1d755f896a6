//! The `authorization_code` grant (RFC 6749 §4.1.3, PKCE S256 per RFC 7636): the code is
//! redeemed once, at the exact revision of its `authcode-<hash>` stream; a reuse revokes the
//! access token and the refresh-token family the redemption produced. The consent must be
//! authorised; the token carries `consent_id` and `sub` = the customer's pairwise id. Clients
//! registered for `refresh_token` also get the first token of a new refresh family.

use std::time::Duration;

use ecohub_eventstore::{ExpectedRevision, StoreError};
use ecohub_kernel::Timestamp;

use super::code_flow::{
    TOKEN_BYTES, append_one, consents, pkce_shaped, read_events, require_authorised,
};
use super::issuance::{AccessGrant, TokenResponse, issue_consent_token, token_response};
use super::refresh::{REFRESH_TOKEN_LIFETIME, family_access_token, family_stream, revoke_family};
use super::secrets::token_hash;
use super::state::AuthState;
use super::store::record_revocation;
use super::{EndpointError, Params};
use crate::domain::authorization::{
    AuthorizationCode, CodeEvent, CodeGrant, CodeRefusal, FamilyEvent, FamilyStart, RedeemCode,
    Redemption,
};
use crate::domain::{AuthMethod, GrantType, RegisteredClient};
use ecohub_jose::util::{b64url, random_id, sha256};

/// How long an authorisation code works (FAPI 2.0: ≤ 60 s).
pub const CODE_LIFETIME: Duration = Duration::from_secs(60);

/// The S256 transform of a code verifier (RFC 7636 §4.2).
pub fn s256(verifier: &str) -> String {
    b64url(sha256(verifier.as_bytes()))
}

/// The `authcode-` stream of a code.
pub fn code_stream(code: &str) -> String {
    format!("authcode-{}", token_hash(code))
}

/// The `authorization_code` grant (the client is already authenticated).
pub async fn redeem_code(
    state: &AuthState,
    client: &RegisteredClient,
    params: &Params,
    dpop_jkt: Option<String>,
    now: Timestamp,
) -> Result<TokenResponse, EndpointError> {
    let consents = consents(state)?.clone();
    let code = params.required("code")?;
    let redirect_uri = params.required("redirect_uri")?;
    let verifier = params.required("code_verifier")?;
    if !pkce_shaped(verifier) {
        return Err(EndpointError::InvalidGrant(
            "code_verifier does not match the code_challenge".into(),
        ));
    }
    if client.metadata.token_endpoint_auth_method == AuthMethod::ClientSecretBasic
        && state.settings.production
    {
        return Err(EndpointError::invalid_client(
            "client_secret_basic is not allowed in production",
        ));
    }
    let stream = code_stream(code);
    let (events, revision) = read_events::<CodeEvent>(state.store.as_ref(), &stream).await?;
    let folded = AuthorizationCode::fold(&events);
    let client_id = client.client_id.to_string();
    let challenge = s256(verifier);
    let request = RedeemCode {
        client_id: &client_id,
        redirect_uri,
        verifier_challenge: &challenge,
    };
    let grant = match folded.redeem(&request, now) {
        Ok(grant) => grant.clone(),
        Err(CodeRefusal::Reused(redemption)) => {
            if let Some(grant) = &folded.grant {
                revoke_code_issue(state, &stream, grant, redemption.as_ref(), now).await?;
            }
            return Err(EndpointError::InvalidGrant(
                "authorization code was already used".into(),
            ));
        }
        Err(refusal) => return Err(EndpointError::InvalidGrant(refusal.to_string())),
    };
    let consent_expires_at = require_authorised(consents.as_ref(), &grant.consent_id, now).await?;
    let issued = issue_consent_token(
        state,
        AccessGrant {
            client,
            subject: &grant.subject,
            scope: &grant.scope,
            consent_id: &grant.consent_id,
            consent_expires_at,
            dpop_jkt,
        },
        now,
    )?;
    let redeemed = CodeEvent::Redeemed(Redemption {
        access_token_jti: issued.claims.jti.clone(),
        access_token_expires_at: issued.claims.expires_at(),
        at: now,
    });
    let actor = format!("client:{client_id}");
    match append_one(
        state,
        &stream,
        ExpectedRevision::from(revision),
        &redeemed,
        &actor,
        now,
    )
    .await
    {
        Ok(_) => {}
        Err(StoreError::WrongExpectedVersion { .. }) => {
            // A concurrent redemption won: this is a reuse too.
            let (events, _) = read_events::<CodeEvent>(state.store.as_ref(), &stream).await?;
            let folded = AuthorizationCode::fold(&events);
            revoke_code_issue(state, &stream, &grant, folded.redemption.as_ref(), now).await?;
            return Err(EndpointError::InvalidGrant(
                "authorization code was already used".into(),
            ));
        }
        Err(e) => return Err(EndpointError::store(e)),
    }
    let refresh_token = if client
        .metadata
        .grant_types
        .contains(&GrantType::RefreshToken)
    {
        let token = format!("{}.{}", grant.family_id, random_id(TOKEN_BYTES));
        let start = FamilyStart {
            family_id: grant.family_id.clone(),
            client_id: client_id.clone(),
            partner_id: client.kind.partner_id().map(str::to_owned),
            consent_id: grant.consent_id.clone(),
            subject: grant.subject.clone(),
            scope: grant.scope.clone(),
            token_hash: token_hash(&token),
            expires_at: consent_expires_at.min(now.plus(REFRESH_TOKEN_LIFETIME)),
            at: now,
            access_token: Some(family_access_token(&issued)),
        };
        append_one(
            state,
            &family_stream(&grant.family_id),
            ExpectedRevision::NoStream,
            &FamilyEvent::Started(start),
            &actor,
            now,
        )
        .await
        .map_err(EndpointError::store)?;
        Some(token)
    } else {
        None
    };
    Ok(token_response(&issued, refresh_token))
}

/// A reused code: records the reuse and revokes what its redemption issued (the access token,
/// the refresh-token family and every access token the family issued; RFC 6749 §4.1.2).
async fn revoke_code_issue(
    state: &AuthState,
    stream: &str,
    grant: &CodeGrant,
    redemption: Option<&Redemption>,
    now: Timestamp,
) -> Result<(), EndpointError> {
    let actor = "system:code-reuse";
    append_one(
        state,
        stream,
        ExpectedRevision::Any,
        &CodeEvent::Reused { at: now },
        actor,
        now,
    )
    .await
    .map_err(EndpointError::store)?;
    if let Some(r) = redemption {
        record_revocation(
            state.store.as_ref(),
            &r.access_token_jti,
            &grant.client_id,
            r.access_token_expires_at,
            now,
        )
        .await
        .map_err(EndpointError::store)?;
    }
    revoke_family(state, &grant.family_id, "code_reused", actor, now).await
}
