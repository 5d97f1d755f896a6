//! `ecohub migrate --from <store> --to <store>`: copies the whole log from one store to
//! another, preserving the global order, every event's id, stream, revision, payload,
//! metadata and timestamp. Positions are the target's own.
//!
//! Each event is appended with the expected revision it had at the source, so a re-run after
//! an interruption skips what was already copied (appends are idempotent by event id) and a
//! target stream that diverges stops the migration with a conflict instead of mixing logs.

use std::sync::Arc;

use anyhow::Context;
use ecohub_eventstore::{EventFilter, EventStore, ExpectedRevision, NewEvent, Position};

use crate::config::StoreLocation;
use crate::state::open_store;

/// What a migration copied.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct MigrationReport {
    /// Events read from the source (and present in the target afterwards).
    pub events: u64,
    /// Appends made (consecutive events of one stream travel together).
    pub appends: u64,
}

const PAGE: usize = 1_000;

/// Copies every event of `from` into `to`, in log order.
pub async fn migrate(from: &str, to: &str) -> anyhow::Result<MigrationReport> {
    let source = open_store(&StoreLocation::parse(from)?)
        .await
        .context("opening the source store")?;
    let target = open_store(&StoreLocation::parse(to)?)
        .await
        .context("opening the target store")?;
    let report = copy(source.clone(), target.clone()).await;
    let _ = source.close().await;
    target.close().await.context("closing the target store")?;
    report
}

/// Copies every event of `source` into `target` (both already open).
pub async fn copy(
    source: Arc<dyn EventStore>,
    target: Arc<dyn EventStore>,
) -> anyhow::Result<MigrationReport> {
    let mut report = MigrationReport::default();
    let mut cursor: Option<Position> = None;
    loop {
        let page = source
            .read_all(cursor, &EventFilter::all(), PAGE)
            .await
            .context("reading the source log")?;
        let Some(last) = page.last() else { break };
        cursor = Some(last.position);
        let n = page.len();
        // Group runs of consecutive events of one stream into one append.
        let mut i = 0;
        while i < page.len() {
            let stream = page[i].stream.clone();
            let first_revision = page[i].revision;
            let mut run: Vec<NewEvent> = Vec::new();
            while i < page.len() && page[i].stream == stream {
                run.push(page[i].to_new_event().with_context(|| {
                    format!("event {} has a payload that is not JSON", page[i].event_id)
                })?);
                i += 1;
            }
            let expected = match first_revision {
                0 => ExpectedRevision::NoStream,
                r => ExpectedRevision::Exact(r - 1),
            };
            let count = run.len() as u64;
            target
                .append(&stream, expected, run)
                .await
                .with_context(|| {
                    format!("copying stream {stream} from revision {first_revision}")
                })?;
            report.events += count;
            report.appends += 1;
        }
        if report.events % 10_000 < n as u64 {
            tracing::info!(events = report.events, "migration progress");
        }
        if n < PAGE {
            break;
        }
    }
    Ok(report)
}
