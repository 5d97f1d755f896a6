//! What the modules of the authorisation-code flow share ([`super::par`],
//! [`super::decision`], [`super::code_grant`], [`super::refresh`]): encoding their events,
//! reading a single-use stream with its revision, the consent port and its `standing` check,
//! and the shape of PKCE values.
//!
//! Every single-use thing is an event stream claimed with an exact expected revision, so it
//! is single-use across every instance: `par-<hash>` (spent when the customer decides),
//! `authcode-<hash>` (redeemed once), `refresh-<family>` (each token rotated once). Only
//! SHA-256 hashes of the request_uri, code and refresh tokens are stored.

use std::sync::Arc;

use ecohub_eventstore::{
    AppendResult, CurrentRevision, EventStore, ExpectedRevision, NewEvent, StoreError,
    read_stream_to_end,
};
use ecohub_kernel::{DomainEvent, EventMetadata, Timestamp};

use super::EndpointError;
use super::consent_port::{ConsentAuthority, ConsentPortError, ConsentStanding};
use super::state::AuthState;

/// Bytes of randomness in request_uris, codes and refresh tokens (256 bits).
pub(crate) const TOKEN_BYTES: usize = 32;

/// The consent service's port; without one, the code flow is `temporarily_unavailable`.
pub(crate) fn consents(state: &AuthState) -> Result<&Arc<dyn ConsentAuthority>, EndpointError> {
    state.consents.as_ref().ok_or_else(|| {
        EndpointError::TemporarilyUnavailable("no consent service is configured".into())
    })
}

/// An event of the flow with its actor (`client:<id>`, `customer:<id>`, `system:…`).
fn encode(event: &impl DomainEvent, actor: &str, now: Timestamp) -> NewEvent {
    NewEvent::from_domain(
        event,
        EventMetadata {
            actor: Some(actor.to_owned()),
            ..EventMetadata::default()
        },
        now,
    )
}

/// Appends one event of the flow to `stream` at `expected`.
pub(crate) async fn append_one(
    state: &AuthState,
    stream: &str,
    expected: ExpectedRevision,
    event: &impl DomainEvent,
    actor: &str,
    now: Timestamp,
) -> Result<AppendResult, StoreError> {
    state
        .store
        .append(stream, expected, vec![encode(event, actor, now)])
        .await
}

/// Every event of `stream`, decoded, and the revision read (`NoStream` for none).
pub(crate) async fn read_events<E: DomainEvent>(
    store: &dyn EventStore,
    stream: &str,
) -> Result<(Vec<E>, CurrentRevision), EndpointError> {
    let recorded = read_stream_to_end(store, stream)
        .await
        .map_err(EndpointError::store)?;
    let mut events = Vec::with_capacity(recorded.len());
    let mut revision = CurrentRevision::NoStream;
    for r in &recorded {
        let envelope = r
            .decode::<E>()
            .map_err(|e| EndpointError::ServerError(e.to_string()))?;
        events.push(envelope.payload);
        revision = CurrentRevision::Current(r.revision);
    }
    Ok((events, revision))
}

/// Whether `s` is a PKCE challenge or verifier shape: 43–128 unreserved characters.
pub(crate) fn pkce_shaped(s: &str) -> bool {
    (43..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// The consent's expiry while it is authorised at `now`; `invalid_grant` otherwise.
pub(crate) async fn require_authorised(
    consents: &dyn ConsentAuthority,
    consent_id: &str,
    now: Timestamp,
) -> Result<Timestamp, EndpointError> {
    match consents.standing(consent_id, now).await {
        Ok(ConsentStanding::Authorised { expires_at, .. }) if now < expires_at => Ok(expires_at),
        Ok(_) => Err(EndpointError::InvalidGrant(
            "the consent is not authorised".into(),
        )),
        Err(ConsentPortError::Unavailable(m)) => Err(EndpointError::TemporarilyUnavailable(m)),
        Err(e) => Err(EndpointError::InvalidGrant(e.to_string())),
    }
}
