//! The event store: the contract every backend keeps (EventStoreDB semantics), the embedded
//! SQLite backend, a backend-generic conformance suite (test support, behind the
//! `conformance` feature), the projection runner and the load → decide → append helper
//! services use.
//!
//! Architecture invariant: nothing here knows about HTTP or about any service's events; the
//! store moves opaque JSON payloads with a type name and a version.

pub mod aggregate;
#[cfg(feature = "conformance")]
pub mod conformance;
mod freshness;
pub mod jobs;
pub mod projection;
pub mod sqlite;
mod store;
mod types;

pub use aggregate::{
    ExecuteError, Executed, Remembered, RememberedStreams, execute, execute_on, load,
};
pub use freshness::{reads_cover_from, reads_must_cover};
pub use projection::{
    CheckpointStream, Projection, ProjectionError, ProjectionHandle, ProjectionStatus,
    StallReporter,
};
pub use sqlite::{SqliteStore, SqliteStoreOptions};
pub use store::{EventStore, SharedStore, read_stream_to_end};
pub use types::*;
