//! The on-disk schema, versioned with `PRAGMA user_version`.

use rusqlite::Connection;

use super::db_err;
use crate::StoreError;

/// Schema version this build writes and reads.
pub const SCHEMA_VERSION: i64 = 1;

/// Version 1: one global log. `position` is the rowid (first event is 1), so reading the log
/// in order is a scan of the table b-tree. `(stream, revision)` is unique and serves stream
/// reads and the writer's revision look-ups; `event_id` is unique and serves idempotent
/// retries. `category` (the stream name before its first `-`, NULL without one) is indexed
/// with the position so that a global read filtered by category prefixes (`consent-`), the
/// usual projection filter, walks only the matching events instead of the whole log.
const V1: &str = "
CREATE TABLE events (
    position      INTEGER PRIMARY KEY,
    event_id      BLOB    NOT NULL,
    stream        TEXT    NOT NULL,
    revision      INTEGER NOT NULL,
    category      TEXT,
    event_type    TEXT    NOT NULL,
    event_version INTEGER NOT NULL,
    data          BLOB    NOT NULL,
    metadata      BLOB    NOT NULL,
    recorded_at   INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX events_event_id ON events (event_id);
CREATE UNIQUE INDEX events_stream_revision ON events (stream, revision);
CREATE INDEX events_category_position ON events (category, position);
";

/// Creates the schema in an empty database, accepts the current version, refuses newer ones.
pub(crate) fn migrate(conn: &Connection) -> Result<(), StoreError> {
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(db_err)?;
    match version {
        0 => conn
            .execute_batch(&format!(
                "BEGIN IMMEDIATE; {V1} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
            ))
            .map_err(|e| {
                let _ = conn.execute_batch("ROLLBACK");
                db_err(e)
            }),
        SCHEMA_VERSION => Ok(()),
        other => Err(StoreError::Internal(format!(
            "event store schema version {other} is newer than this build supports ({SCHEMA_VERSION})"
        ))),
    }
}

/// The category column of a stream: the part before the first `-`, none without one.
pub(crate) fn category(stream: &str) -> Option<&str> {
    stream.split_once('-').map(|(c, _)| c)
}
