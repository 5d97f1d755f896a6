//! Exact reads and run-once writes on the event store: clients, partner standing, revocations
//! and the cross-instance `jti` replay guard.

use ecohub_eventstore::{
    CurrentRevision, EventStore, ExpectedRevision, NewEvent, StoreError, read_stream_to_end,
};
use ecohub_kernel::{EventMetadata, Timestamp};
use serde::{Deserialize, Serialize};

use crate::domain::{Client, ClientId, PartnerStanding};
use ecohub_jose::replay::{JtiReplayGuard, ReplayFuture, ReplayGuardError, replay_key};

/// Why an exact read failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored event could not be decoded.
    #[error(transparent)]
    Decode(#[from] ecohub_kernel::DecodeError),
}

/// The client's stream name.
pub fn client_stream(client_id: &ClientId) -> String {
    client_id.stream_name()
}

/// Loads a client from its stream (exact: the stream's latest revision).
pub async fn load_client(
    store: &dyn EventStore,
    client_id: &ClientId,
) -> Result<(Client, CurrentRevision), ReadError> {
    ecohub_eventstore::load::<Client>(store, &client_stream(client_id))
        .await
        .map_err(|e| match e {
            ecohub_eventstore::ExecuteError::Store(s) => ReadError::Store(s),
            ecohub_eventstore::ExecuteError::Decode(d) => ReadError::Decode(d),
            ecohub_eventstore::ExecuteError::Refused(r) => {
                ReadError::Store(StoreError::Internal(r.to_string()))
            }
        })
}

/// The partner's standing, folded from its stream `partner-<id>` by event type names, at the
/// stream's latest revision (never a projection).
pub async fn partner_standing(
    store: &dyn EventStore,
    partner_id: &str,
) -> Result<PartnerStanding, StoreError> {
    let Ok(id) = uuid::Uuid::try_parse(partner_id) else {
        return Ok(PartnerStanding::Unknown);
    };
    let events = read_stream_to_end(store, &format!("partner-{id}")).await?;
    Ok(PartnerStanding::fold(
        events.iter().map(|e| e.event_type.as_str()),
    ))
}

/// The stream recording that the access token `jti` was revoked.
pub fn revocation_stream(jti: &str) -> String {
    format!("revocation-{jti}")
}

/// The event type of a revocation.
pub const ACCESS_TOKEN_REVOKED: &str = "AccessTokenRevoked";

#[derive(Debug, Serialize, Deserialize)]
struct RevokedV1 {
    jti: String,
    client_id: String,
    expires_at: Timestamp,
    at: Timestamp,
}

/// Whether the token `jti` was revoked (exact).
pub async fn is_revoked(store: &dyn EventStore, jti: &str) -> Result<bool, StoreError> {
    Ok(store.stream_revision(&revocation_stream(jti)).await? != CurrentRevision::NoStream)
}

/// Records `AccessTokenRevoked` in `revocation-<jti>`; revoking twice is fine.
pub async fn record_revocation(
    store: &dyn EventStore,
    jti: &str,
    client_id: &str,
    expires_at: Timestamp,
    now: Timestamp,
) -> Result<(), StoreError> {
    let data = serde_json::to_value(RevokedV1 {
        jti: jti.to_owned(),
        client_id: client_id.to_owned(),
        expires_at,
        at: now,
    })
    .map_err(|e| StoreError::Internal(e.to_string()))?;
    let mut event = NewEvent::raw(ACCESS_TOKEN_REVOKED, data, now);
    event.metadata = EventMetadata {
        actor: Some(format!("client:{client_id}")),
        ..EventMetadata::default()
    };
    match store
        .append(
            &revocation_stream(jti),
            ExpectedRevision::NoStream,
            vec![event],
        )
        .await
    {
        Ok(_) | Err(StoreError::WrongExpectedVersion { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}

/// The event type of a used `jti`.
pub const JTI_USED: &str = "JtiUsed";

#[derive(Debug, Serialize, Deserialize)]
struct JtiUsedV1 {
    expires_at: Timestamp,
}

/// A [`JtiReplayGuard`] on the event store, exact across every instance: the first use of
/// `(namespace, jti)` appends `JtiUsed` to `jti-<replay_key>` with
/// `ExpectedRevision::NoStream`; a `WrongExpectedVersion` means the stream exists, i.e. a
/// replay. The key is an opaque hash, so no client data reaches the stream name.
///
/// The streams are never deleted by this guard (their `expires_at` says when they could be,
/// e.g. by a scavenging job or EventStoreDB `$maxAge` on the `jti-` category).
pub struct StoreReplayGuard {
    store: ecohub_eventstore::SharedStore,
}

impl StoreReplayGuard {
    /// A guard appending to `store`.
    pub fn new(store: ecohub_eventstore::SharedStore) -> Self {
        Self { store }
    }
}

impl std::fmt::Debug for StoreReplayGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreReplayGuard").finish_non_exhaustive()
    }
}

impl JtiReplayGuard for StoreReplayGuard {
    fn first_use<'a>(
        &'a self,
        namespace: &'a str,
        jti: &'a str,
        expires_at: Timestamp,
    ) -> ReplayFuture<'a> {
        Box::pin(async move {
            let stream = format!("jti-{}", replay_key(namespace, jti));
            let data = serde_json::json!(JtiUsedV1 { expires_at });
            // The event's own timestamp only orders ids; `expires_at` bounds its relevance.
            let mut event = NewEvent::raw(JTI_USED, data, expires_at);
            event.metadata = EventMetadata::system("replay-guard");
            match self
                .store
                .append(&stream, ExpectedRevision::NoStream, vec![event])
                .await
            {
                Ok(_) => Ok(true),
                Err(StoreError::WrongExpectedVersion { .. }) => Ok(false),
                Err(e) => Err(ReplayGuardError(e.to_string())),
            }
        })
    }
}
