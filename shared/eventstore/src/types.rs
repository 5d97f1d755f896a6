use std::fmt;
use std::pin::Pin;

pub use ecohub_kernel::Position;
use ecohub_kernel::{DecodeError, DomainEvent, EventEnvelope, EventId, EventMetadata, Timestamp};
use serde::{Deserialize, Serialize};

/// What the writer expects the stream's revision to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ExpectedRevision {
    /// No check.
    Any,
    /// The stream must not exist yet.
    NoStream,
    /// The stream must exist (have at least one event).
    StreamExists,
    /// The stream's last event must have exactly this revision.
    Exact(u64),
}

impl ExpectedRevision {
    /// Whether `current` satisfies this expectation.
    pub fn accepts(self, current: CurrentRevision) -> bool {
        match (self, current) {
            (ExpectedRevision::Any, _) => true,
            (ExpectedRevision::NoStream, CurrentRevision::NoStream) => true,
            (ExpectedRevision::StreamExists, CurrentRevision::Current(_)) => true,
            (ExpectedRevision::Exact(e), CurrentRevision::Current(c)) => e == c,
            _ => false,
        }
    }
}

impl From<CurrentRevision> for ExpectedRevision {
    fn from(c: CurrentRevision) -> Self {
        match c {
            CurrentRevision::NoStream => ExpectedRevision::NoStream,
            CurrentRevision::Current(n) => ExpectedRevision::Exact(n),
        }
    }
}

impl fmt::Display for ExpectedRevision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExpectedRevision::Any => f.write_str("any"),
            ExpectedRevision::NoStream => f.write_str("no stream"),
            ExpectedRevision::StreamExists => f.write_str("stream exists"),
            ExpectedRevision::Exact(n) => write!(f, "revision {n}"),
        }
    }
}

/// A stream's actual revision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CurrentRevision {
    /// The stream has no events.
    NoStream,
    /// Revision of the stream's last event (the first event is revision 0).
    Current(u64),
}

impl CurrentRevision {
    /// The revision the next appended event will get.
    pub fn next(self) -> u64 {
        match self {
            CurrentRevision::NoStream => 0,
            CurrentRevision::Current(n) => n + 1,
        }
    }
}

impl fmt::Display for CurrentRevision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CurrentRevision::NoStream => f.write_str("no stream"),
            CurrentRevision::Current(n) => write!(f, "revision {n}"),
        }
    }
}

/// An event to append.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// Unique id; the key for idempotent retries.
    pub event_id: EventId,
    /// Stable type name (`ConsentRevoked`).
    pub event_type: String,
    /// Schema version of the payload.
    pub event_version: u16,
    /// JSON payload.
    pub data: serde_json::Value,
    /// Correlation, causation, actor, request id.
    pub metadata: EventMetadata,
    /// The time to record instead of the store's clock. Only migrations set it (to keep the
    /// original timestamps); everything else leaves it `None`.
    pub recorded_at: Option<Timestamp>,
}

impl NewEvent {
    /// Encodes a domain event with a fresh id stamped `now`.
    pub fn from_domain<E: DomainEvent>(event: &E, metadata: EventMetadata, now: Timestamp) -> Self {
        Self {
            event_id: EventId::generate(now),
            event_type: event.event_type().to_owned(),
            event_version: event.event_version(),
            data: event.encode(),
            metadata,
            recorded_at: None,
        }
    }

    /// A raw event (mostly for tests and tools).
    pub fn raw(event_type: &str, data: serde_json::Value, now: Timestamp) -> Self {
        Self {
            event_id: EventId::generate(now),
            event_type: event_type.to_owned(),
            event_version: 1,
            data,
            metadata: EventMetadata::default(),
            recorded_at: None,
        }
    }
}

/// An event as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedEvent {
    /// Unique id.
    pub event_id: EventId,
    /// Stream it belongs to.
    pub stream: String,
    /// Revision within the stream, from 0.
    pub revision: u64,
    /// Position in the global log.
    pub position: Position,
    /// Stable type name.
    pub event_type: String,
    /// Schema version of the payload.
    pub event_version: u16,
    /// JSON payload, as stored (decode lazily).
    pub data: Vec<u8>,
    /// Metadata.
    pub metadata: EventMetadata,
    /// Server timestamp of the append.
    pub recorded_at: Timestamp,
}

impl RecordedEvent {
    /// The event as it would be appended again elsewhere, keeping its id, payload, metadata
    /// and timestamp (for migrations between stores).
    pub fn to_new_event(&self) -> Result<NewEvent, serde_json::Error> {
        Ok(NewEvent {
            event_id: self.event_id,
            event_type: self.event_type.clone(),
            event_version: self.event_version,
            data: serde_json::from_slice(&self.data)?,
            metadata: self.metadata.clone(),
            recorded_at: Some(self.recorded_at),
        })
    }

    /// Decodes the payload into a domain event, wrapped in its envelope.
    pub fn decode<E: DomainEvent>(&self) -> Result<EventEnvelope<E>, DecodeError> {
        let value: serde_json::Value =
            serde_json::from_slice(&self.data).map_err(|e| DecodeError::Malformed {
                event_type: self.event_type.clone(),
                reason: e.to_string(),
            })?;
        let payload = E::decode(&self.event_type, self.event_version, &value)?;
        Ok(EventEnvelope {
            event_id: self.event_id,
            stream: self.stream.clone(),
            revision: self.revision,
            position: self.position,
            recorded_at: self.recorded_at,
            metadata: self.metadata.clone(),
            payload,
        })
    }

    /// The payload as a JSON value.
    pub fn data_json(&self) -> Result<serde_json::Value, serde_json::Error> {
        serde_json::from_slice(&self.data)
    }

    /// The stream's category: the part of the stream name before the first `-`.
    pub fn category(&self) -> &str {
        self.stream.split_once('-').map_or(&self.stream, |(c, _)| c)
    }
}

/// Result of a successful append.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendResult {
    /// The stream's revision after the append (the revision of its last event).
    pub next_expected: CurrentRevision,
    /// Position of the last appended event (`None` for an empty append).
    pub position: Option<Position>,
}

/// Direction of a read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Oldest first.
    Forwards,
    /// Newest first.
    Backwards,
}

/// Where a stream read starts (inclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamPosition {
    /// The first event (for a backwards read: nothing precedes it, so the read is empty
    /// unless the stream has an event 0).
    Start,
    /// The last event (a forwards read from `End` returns just the last event).
    End,
    /// This revision.
    Revision(u64),
}

/// Options of [`crate::EventStore::read_stream`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadStreamOptions {
    /// Read direction.
    pub direction: Direction,
    /// Start, inclusive.
    pub from: StreamPosition,
    /// Maximum number of events.
    pub limit: usize,
}

impl ReadStreamOptions {
    /// Forwards from the start, up to `usize::MAX` events.
    pub fn forwards() -> Self {
        Self {
            direction: Direction::Forwards,
            from: StreamPosition::Start,
            limit: usize::MAX,
        }
    }

    /// Backwards from the end, up to `usize::MAX` events.
    pub fn backwards() -> Self {
        Self {
            direction: Direction::Backwards,
            from: StreamPosition::End,
            limit: usize::MAX,
        }
    }

    /// Sets the start.
    pub fn from(mut self, from: StreamPosition) -> Self {
        self.from = from;
        self
    }

    /// Sets the limit.
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }
}

/// Server-side filter of global-log reads and subscriptions. An event passes when its stream
/// starts with one of `stream_prefixes` (or that list is empty) and its type starts with one
/// of `event_type_prefixes` (or that list is empty).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    /// Accepted stream-name prefixes.
    pub stream_prefixes: Vec<String>,
    /// Accepted event-type prefixes.
    pub event_type_prefixes: Vec<String>,
}

impl EventFilter {
    /// Accepts every event.
    pub fn all() -> Self {
        Self::default()
    }

    /// Accepts events of streams starting with any of `prefixes`.
    pub fn streams<S: Into<String>>(prefixes: impl IntoIterator<Item = S>) -> Self {
        Self {
            stream_prefixes: prefixes.into_iter().map(Into::into).collect(),
            event_type_prefixes: Vec::new(),
        }
    }

    /// Accepts events whose type starts with any of `prefixes`.
    pub fn event_types<S: Into<String>>(prefixes: impl IntoIterator<Item = S>) -> Self {
        Self {
            stream_prefixes: Vec::new(),
            event_type_prefixes: prefixes.into_iter().map(Into::into).collect(),
        }
    }

    /// Whether the filter accepts everything.
    pub fn is_all(&self) -> bool {
        self.stream_prefixes.is_empty() && self.event_type_prefixes.is_empty()
    }

    /// Whether an event of `stream` and `event_type` passes.
    pub fn matches(&self, stream: &str, event_type: &str) -> bool {
        (self.stream_prefixes.is_empty()
            || self
                .stream_prefixes
                .iter()
                .any(|p| stream.starts_with(p.as_str())))
            && (self.event_type_prefixes.is_empty()
                || self
                    .event_type_prefixes
                    .iter()
                    .any(|p| event_type.starts_with(p.as_str())))
    }
}

/// A message of a catch-up subscription.
// Nearly every message is an event: boxing it would add an allocation per event delivered.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum SubscriptionMessage {
    /// The next event.
    Event(RecordedEvent),
    /// History has been delivered; what follows is live. Sent once.
    CaughtUp {
        /// The position up to which everything has been delivered.
        position: Option<Position>,
    },
    /// Every event up to this position has been considered (filtered subscriptions send it so
    /// that a consumer can checkpoint past events it does not see).
    Checkpoint(Position),
}

/// A catch-up subscription: a stream of messages that ends only on error or drop.
pub type Subscription = Pin<
    Box<dyn futures_util::Stream<Item = Result<SubscriptionMessage, StoreError>> + Send + 'static>,
>;

/// Why a store operation failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StoreError {
    /// Optimistic concurrency conflict; nothing was written.
    #[error("wrong expected version for stream {stream}: expected {expected}, actual {actual}")]
    WrongExpectedVersion {
        /// The stream.
        stream: String,
        /// What the writer expected.
        expected: ExpectedRevision,
        /// What the stream's revision actually is.
        actual: CurrentRevision,
    },
    /// The request itself is invalid (empty stream name, duplicate event ids, …).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The store cannot be reached right now; the operation may be retried.
    #[error("event store unavailable: {0}")]
    Unavailable(String),
    /// The store has been closed.
    #[error("event store is closed")]
    Closed,
    /// Anything else (corruption, IO error); not retryable by the caller.
    #[error("event store failure: {0}")]
    Internal(String),
}
