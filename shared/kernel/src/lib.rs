//! Ecohub kernel: the types every service shares and nothing else.
//!
//! * [`id`] — typed identifiers on UUIDv7 (`ConsentId`, `PartnerId`, …) via [`define_id!`].
//! * [`time`] — [`Timestamp`] and the [`Clock`] that application code passes into the domain.
//! * [`event`] — the [`DomainEvent`] contract (stable `event_type()` / `event_version()`),
//!   [`EventMetadata`] and the [`EventEnvelope`] a decoded event travels in.
//! * [`aggregate`] — the decide/evolve pattern ([`Aggregate`]).
//! * [`context`] — [`RequestContext`]: who acts in which request, the metadata of the events
//!   it causes; [`ActionContext`] is that request acting at a time.
//! * [`consent_port`] — the types the authorization server and the consent service exchange.
//! * [`testing`] — the given/when/then harness for aggregates.
//! * [`schema`] — JSON Schema patterns of the text rules the services' parsers share
//!   (trimmed, 1 to n characters, control characters refused), so that the OpenAPI document
//!   states them; [`integer`] reads a JSON integer written as `1.0`, as JSON Schema allows.
//!
//! Architecture invariant: this crate does no IO and knows nothing about HTTP, storage or
//! async runtimes. It never reads the clock itself: time is passed in.

pub mod aggregate;
pub mod consent_port;
pub mod context;
pub mod event;
pub mod id;
pub mod integer;
pub mod schema;
pub mod testing;
pub mod time;

pub use aggregate::Aggregate;
pub use context::{ActionContext, RequestContext};
pub use event::{DecodeError, DomainEvent, EventEnvelope, EventMetadata, Position};
pub use id::{EventId, IdParseError, PartnerId};
pub use time::{Clock, ManualClock, SystemClock, Timestamp};
