//! Ecohub kernel: the types every service shares and nothing else.
//!
//! * [`id`] — typed identifiers on UUIDv7 (`ConsentId`, `PartnerId`, …) via [`define_id!`].
//! * [`time`] — [`Timestamp`] and the [`Clock`] that application code passes into the domain.
//! * [`event`] — the [`DomainEvent`] contract (stable `event_type()` / `event_version()`),
//!   [`EventMetadata`] and the [`EventEnvelope`] a decoded event travels in.
//! * [`aggregate`] — the decide/evolve pattern ([`Aggregate`]).
//! * [`testing`] — the given/when/then harness for aggregates.
//!
//! Architecture invariant: this crate does no IO and knows nothing about HTTP, storage or
//! async runtimes. It never reads the clock itself: time is passed in.

pub mod aggregate;
pub mod event;
pub mod id;
pub mod testing;
pub mod time;

pub use aggregate::Aggregate;
pub use event::{DecodeError, DomainEvent, EventEnvelope, EventMetadata, Position};
pub use id::{EventId, IdParseError};
pub use time::{Clock, ManualClock, SystemClock, Timestamp};
