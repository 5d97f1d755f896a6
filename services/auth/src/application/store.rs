//! Exact reads and run-once writes on the event store: clients, partner standing and
//! revocations (the `jti` replay guard is [`super::replay_log`]).

use ecohub_eventstore::{
    CurrentRevision, EventFilter, EventStore, ExpectedRevision, NewEvent, StoreError,
    read_stream_to_end,
};
use ecohub_kernel::{EventMetadata, Timestamp};
use serde::{Deserialize, Serialize};

use crate::domain::{Client, ClientEvent, ClientId, PartnerStanding, RegisteredClient};

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

/// The OAuth clients registered for `partner_id`, deleted ones too, in the order they were
/// registered, each as its stream says now (exact). Scans the `client-` streams'
/// registrations: for the console's page of one partner, not for a request path.
pub async fn partner_clients(
    store: &dyn EventStore,
    partner_id: &str,
) -> Result<Vec<RegisteredClient>, ReadError> {
    const BATCH: usize = 1_000;
    let filter = EventFilter::streams(["client-"]);
    let mut from = None;
    let mut ids = Vec::new();
    loop {
        let batch = store.read_all(from, &filter, BATCH).await?;
        for e in &batch {
            from = Some(e.position);
            if e.event_type != "ClientRegistered" {
                continue;
            }
            if let ClientEvent::Registered {
                client_id, kind, ..
            } = e.decode::<ClientEvent>()?.payload
                && kind.partner_id() == Some(partner_id)
            {
                ids.push(client_id);
            }
        }
        if batch.len() < BATCH {
            break;
        }
    }
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(client) = load_client(store, &id).await?.0.registered {
            out.push(client);
        }
    }
    Ok(out)
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
