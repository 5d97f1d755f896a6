//! Domain events: the stable contract between a service's decisions and the event store.

use serde::{Deserialize, Serialize};

use crate::{EventId, Timestamp};

/// A fact that happened in a domain, named in the past tense (`ConsentRevoked`).
///
/// The stored form is decoupled from the Rust type: `event_type()` and `event_version()` are a
/// public contract (never rename a type, add a version and upcast in [`DomainEvent::decode`]),
/// and `encode`/`decode` map between the enum and its JSON payload.
pub trait DomainEvent: Sized + Send + Sync + 'static {
    /// Stable name of the event type, e.g. `ConsentRevoked`.
    fn event_type(&self) -> &'static str;

    /// Schema version of this event type's payload, starting at 1.
    fn event_version(&self) -> u16;

    /// The JSON payload stored for this event.
    fn encode(&self) -> serde_json::Value;

    /// Rebuilds an event from its stored form, upcasting older versions.
    fn decode(
        event_type: &str,
        event_version: u16,
        data: &serde_json::Value,
    ) -> Result<Self, DecodeError>;
}

/// A stored event could not be turned back into a domain event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The event type is not one this decoder knows.
    #[error("unknown event type {event_type}")]
    UnknownType {
        /// The stored type.
        event_type: String,
    },
    /// The event type is known but this version is not.
    #[error("unsupported version {version} of event type {event_type}")]
    UnsupportedVersion {
        /// The stored type.
        event_type: String,
        /// The stored version.
        version: u16,
    },
    /// The payload does not match the type's schema.
    #[error("malformed payload for event type {event_type}: {reason}")]
    Malformed {
        /// The stored type.
        event_type: String,
        /// What serde reported.
        reason: String,
    },
}

impl DecodeError {
    /// Helper for `decode` implementations: refuses a type outside `known` and a version
    /// outside `1..=latest`, so that `decode` only has to dispatch on known pairs.
    pub fn check_known(
        event_type: &str,
        event_version: u16,
        known: &[&str],
        latest: u16,
    ) -> Result<(), DecodeError> {
        if !known.contains(&event_type) {
            return Err(DecodeError::UnknownType {
                event_type: event_type.to_owned(),
            });
        }
        if event_version == 0 || event_version > latest {
            return Err(DecodeError::UnsupportedVersion {
                event_type: event_type.to_owned(),
                version: event_version,
            });
        }
        Ok(())
    }

    /// Helper for `decode` implementations: deserialises `data` or reports a malformed payload.
    pub fn parse<T: serde::de::DeserializeOwned>(
        event_type: &str,
        data: &serde_json::Value,
    ) -> Result<T, DecodeError> {
        T::deserialize(data).map_err(|e| DecodeError::Malformed {
            event_type: event_type.to_owned(),
            reason: e.to_string(),
        })
    }
}

/// Who caused an event and in answer to what. Never personal data: it ends up in every
/// event's metadata, which cannot be crypto-shredded.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventMetadata {
    /// Id shared by every event caused, directly or not, by one original request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    /// Id of the message (request or event) that directly caused this event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub causation_id: Option<String>,
    /// Pseudonymous actor (`client:<id>`, `staff:<id>`, `system:<job>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// The `x-fapi-interaction-id` of the request that caused this event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl EventMetadata {
    /// Metadata for an event caused by a system job rather than a request.
    pub fn system(job: &str) -> Self {
        Self {
            actor: Some(format!("system:{job}")),
            ..Self::default()
        }
    }
}

/// A decoded domain event with everything the store knows about it.
#[derive(Debug, Clone, PartialEq)]
pub struct EventEnvelope<E> {
    /// Unique id of the event (idempotency key for appends).
    pub event_id: EventId,
    /// The stream it belongs to (`<category>-<id>`).
    pub stream: String,
    /// Its revision within the stream, from 0.
    pub revision: u64,
    /// Its position in the global log.
    pub position: Position,
    /// When the store recorded it.
    pub recorded_at: Timestamp,
    /// Correlation, causation, actor and request id.
    pub metadata: EventMetadata,
    /// The domain event itself.
    pub payload: E,
}

/// A position in the global log. EventStoreDB positions are (commit, prepare) pairs (events
/// of one transaction share a commit position); the embedded store uses its log sequence
/// number for both. Positions are totally ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Position {
    /// Commit position.
    pub commit: u64,
    /// Prepare position.
    pub prepare: u64,
}

impl Position {
    /// A position whose commit and prepare parts are both `n`.
    pub const fn new(n: u64) -> Self {
        Self {
            commit: n,
            prepare: n,
        }
    }
}

impl std::fmt::Display for Position {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.commit, self.prepare)
    }
}
