//! The writer thread: the only connection that writes. It drains every pending append (up to
//! the batch cap) and commits them in one transaction (group commit), each request in its own
//! savepoint with its own expected-revision check, and answers only after `COMMIT` returned.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, ErrorCode, Statement, params};
use tokio::sync::{oneshot, watch};

use super::db_err;
use super::schema::category;
use crate::{AppendResult, CurrentRevision, ExpectedRevision, Position, RecordedEvent, StoreError};
use ecohub_kernel::{EventId, Timestamp};

/// The writer forgets cached stream revisions beyond this many streams (they are re-read
/// from the unique index on demand).
const REVISION_CACHE_LIMIT: usize = 100_000;

/// An event encoded by the caller, ready to insert.
pub(crate) struct EncodedEvent {
    pub(crate) id: [u8; 16],
    pub(crate) event_type: String,
    pub(crate) event_version: u16,
    /// Imported timestamp (nanoseconds), overriding the commit time.
    pub(crate) recorded_at: Option<i64>,
    pub(crate) data: Vec<u8>,
    pub(crate) metadata: Vec<u8>,
    /// The metadata as appended, for the tail (what `metadata` decodes to).
    pub(crate) meta: ecohub_kernel::EventMetadata,
}

/// One append waiting for the writer.
pub(crate) struct WriteRequest {
    pub(crate) stream: String,
    pub(crate) expected: ExpectedRevision,
    pub(crate) events: Vec<EncodedEvent>,
    pub(crate) reply: oneshot::Sender<Result<AppendResult, StoreError>>,
}

impl WriteRequest {
    fn weight(&self) -> usize {
        self.events.len().max(1)
    }
}

/// Counters shared with the store handle.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) commits: AtomicU64,
    pub(crate) appends: AtomicU64,
    pub(crate) events: AtomicU64,
    pub(crate) failed_commits: AtomicU64,
}

/// Sets the flag to false when the writer thread ends, however it ends.
struct AliveGuard(Arc<AtomicBool>);

impl Drop for AliveGuard {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

pub(crate) struct WriterConfig {
    /// Last committed position per stream category, updated after each COMMIT and before
    /// answering (see [`super::CategoryHeads`]).
    pub(crate) categories: Arc<super::CategoryHeads>,
    pub(crate) max_batch_events: usize,
    pub(crate) counters: Arc<Counters>,
    pub(crate) alive: Arc<AtomicBool>,
    pub(crate) head: watch::Sender<u64>,
    /// The last committed events, pushed after each COMMIT and before the head moves.
    pub(crate) tail: Arc<super::tail::Tail>,
}

/// Starts the writer thread. It ends when every sender of `requests` is gone and the queue
/// is drained; it then checkpoints the WAL and closes the connection.
pub(crate) fn spawn(
    conn: Connection,
    requests: mpsc::Receiver<WriteRequest>,
    config: WriterConfig,
) -> Result<std::thread::JoinHandle<Result<(), StoreError>>, StoreError> {
    config.alive.store(true, Ordering::Release);
    std::thread::Builder::new()
        .name("eventstore-writer".into())
        .spawn(move || {
            let _alive = AliveGuard(Arc::clone(&config.alive));
            run(conn, requests, config)
        })
        .map_err(|e| StoreError::Internal(format!("cannot start the writer thread: {e}")))
}

fn run(
    conn: Connection,
    requests: mpsc::Receiver<WriteRequest>,
    config: WriterConfig,
) -> Result<(), StoreError> {
    {
        let mut writer = Writer::new(&conn, &config)?;
        let max = config.max_batch_events.max(1);
        let mut batch: Vec<WriteRequest> = Vec::new();
        let mut carry: Option<WriteRequest> = None;
        loop {
            let first = match carry.take() {
                Some(r) => r,
                None => match requests.recv() {
                    Ok(r) => r,
                    Err(_) => break,
                },
            };
            let mut weight = first.weight();
            batch.push(first);
            while weight < max {
                match requests.try_recv() {
                    Ok(r) if weight + r.weight() > max => {
                        carry = Some(r);
                        break;
                    }
                    Ok(r) => {
                        weight += r.weight();
                        batch.push(r);
                    }
                    Err(_) => break,
                }
            }
            writer.commit_batch(&mut batch);
        }
    }
    // Every sender is gone and every accepted append has been answered: fold the WAL into
    // the database so that the files at rest are compact.
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .map_err(db_err)?;
    conn.close().map_err(|(_, e)| db_err(e))
}

struct Writer<'c> {
    conn: &'c Connection,
    config: &'c WriterConfig,
    begin: Statement<'c>,
    commit: Statement<'c>,
    rollback: Statement<'c>,
    savepoint: Statement<'c>,
    release: Statement<'c>,
    rollback_to: Statement<'c>,
    insert: Statement<'c>,
    find_id: Statement<'c>,
    run_ids: Statement<'c>,
    max_revision: Statement<'c>,
    /// Committed revision of recently written streams.
    revisions: HashMap<String, u64>,
    /// Revisions written by the open transaction, merged into `revisions` after COMMIT.
    staged: HashMap<String, u64>,
    /// What the open transaction wrote.
    written: Written,
    last_recorded_at: i64,
}

#[derive(Debug, Default)]
struct Written {
    appends: u64,
    events: u64,
    last_position: Option<u64>,
    /// Last position written per stream category in the open transaction.
    categories: HashMap<String, u64>,
    /// The events inserted: (request in the batch, its first revision, their positions).
    inserted: Vec<(usize, u64, Vec<u64>)>,
}

type Outcome = Result<AppendResult, StoreError>;

impl<'c> Writer<'c> {
    fn new(conn: &'c Connection, config: &'c WriterConfig) -> Result<Self, StoreError> {
        let prepare = |sql: &str| conn.prepare(sql).map_err(db_err);
        Ok(Self {
            conn,
            config,
            begin: prepare("BEGIN IMMEDIATE")?,
            commit: prepare("COMMIT")?,
            rollback: prepare("ROLLBACK")?,
            savepoint: prepare("SAVEPOINT append")?,
            release: prepare("RELEASE append")?,
            rollback_to: prepare("ROLLBACK TO append")?,
            insert: prepare(
                "INSERT INTO events (event_id, stream, revision, category, event_type, \
                 event_version, data, metadata, recorded_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?,
            find_id: prepare("SELECT stream, revision FROM events WHERE event_id = ?1")?,
            run_ids: prepare(
                "SELECT event_id, position FROM events WHERE stream = ?1 AND revision >= ?2 \
                 ORDER BY revision LIMIT ?3",
            )?,
            max_revision: prepare("SELECT max(revision) FROM events WHERE stream = ?1")?,
            revisions: HashMap::new(),
            staged: HashMap::new(),
            written: Written::default(),
            last_recorded_at: 0,
        })
    }

    /// Commits `batch` (emptied) in one transaction and answers every request.
    fn commit_batch(&mut self, batch: &mut Vec<WriteRequest>) {
        let mut outcomes: Vec<Outcome> = Vec::with_capacity(batch.len());
        self.staged.clear();
        self.written = Written::default();
        match self.try_batch(batch, &mut outcomes) {
            Ok(()) => {
                let staged = std::mem::take(&mut self.staged);
                if self.revisions.len() + staged.len() > REVISION_CACHE_LIMIT {
                    self.revisions.clear();
                }
                self.revisions.extend(staged);
                if let Some(head) = self.written.last_position {
                    let counters = &self.config.counters;
                    counters.commits.fetch_add(1, Ordering::Relaxed);
                    counters
                        .appends
                        .fetch_add(self.written.appends, Ordering::Relaxed);
                    counters
                        .events
                        .fetch_add(self.written.events, Ordering::Relaxed);
                    self.config
                        .categories
                        .advance(std::mem::take(&mut self.written.categories));
                    self.config.tail.push(committed(
                        batch,
                        std::mem::take(&mut self.written.inserted),
                        self.last_recorded_at,
                    ));
                    self.config.head.send_replace(head);
                }
                for (request, outcome) in batch.drain(..).zip(outcomes) {
                    let _ = request.reply.send(outcome);
                }
            }
            Err(e) => {
                if !self.conn.is_autocommit() {
                    let _ = self.rollback.execute([]);
                }
                // The cache may hold revisions that were never committed.
                self.staged.clear();
                self.revisions.clear();
                self.config
                    .counters
                    .failed_commits
                    .fetch_add(1, Ordering::Relaxed);
                tracing::error!(error = %e, requests = batch.len(), "event store commit failed");
                let error = StoreError::Internal(format!("commit failed: {e}"));
                for request in batch.drain(..) {
                    let _ = request.reply.send(Err(error.clone()));
                }
            }
        }
    }

    /// Runs the batch's transaction. An error means nothing of the batch is durable.
    fn try_batch(
        &mut self,
        batch: &[WriteRequest],
        outcomes: &mut Vec<Outcome>,
    ) -> rusqlite::Result<()> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
        // Server timestamps never go backwards, even when the clock does.
        let recorded_at = now.max(self.last_recorded_at);
        self.begin.execute([])?;
        for (index, request) in batch.iter().enumerate() {
            let outcome = self.apply(index, request, recorded_at)?;
            outcomes.push(outcome);
        }
        self.commit.execute([])?;
        self.last_recorded_at = recorded_at;
        Ok(())
    }

    fn current(&mut self, stream: &str) -> rusqlite::Result<CurrentRevision> {
        if let Some(r) = self
            .staged
            .get(stream)
            .or_else(|| self.revisions.get(stream))
        {
            return Ok(CurrentRevision::Current(*r));
        }
        let max: Option<i64> = self.max_revision.query_row([stream], |r| r.get(0))?;
        Ok(match max {
            Some(r) => {
                let r = u64::try_from(r).unwrap_or(0);
                // Committed state (nothing of this stream is staged): safe to cache.
                self.revisions.insert(stream.to_owned(), r);
                CurrentRevision::Current(r)
            }
            None => CurrentRevision::NoStream,
        })
    }

    /// Applies one request inside the batch's transaction. The outer error aborts the whole
    /// batch; the inner one is this request's own answer.
    ///
    /// The common case costs the inserts only: whether the ids are already stored (an
    /// idempotent retry or a partial overlap) is looked up only when the expectation fails
    /// or an insert hits the unique index.
    fn apply(
        &mut self,
        index: usize,
        request: &WriteRequest,
        recorded_at: i64,
    ) -> rusqlite::Result<Result<AppendResult, StoreError>> {
        let stream = request.stream.as_str();
        let current = self.current(stream)?;
        if request.events.is_empty() {
            return Ok(if request.expected.accepts(current) {
                Ok(AppendResult {
                    next_expected: current,
                    position: None,
                })
            } else {
                self.conflict(request, current)
            });
        }
        if !request.expected.accepts(current) {
            return Ok(match self.stored_run(request)? {
                Some(original) => Ok(original),
                None => self.conflict(request, current),
            });
        }
        let category = category(stream);
        let first_revision = current.next();
        let mut revision = first_revision;
        let mut position = 0;
        let mut positions = Vec::with_capacity(request.events.len());
        // A single-event request needs no savepoint: a failed INSERT undoes itself.
        let savepoint = request.events.len() > 1;
        if savepoint {
            self.savepoint.execute([])?;
        }
        for event in &request.events {
            let inserted = self.insert.execute(params![
                &event.id[..],
                stream,
                i64::try_from(revision).unwrap_or(i64::MAX),
                category,
                event.event_type,
                event.event_version,
                event.data,
                event.metadata,
                event.recorded_at.unwrap_or(recorded_at),
            ]);
            match inserted {
                Ok(_) => {
                    position = self.conn.last_insert_rowid();
                    positions.push(u64::try_from(position).unwrap_or(0));
                    revision += 1;
                }
                Err(e) if e.sqlite_error_code() == Some(ErrorCode::ConstraintViolation) => {
                    // An id is already stored (a retry, or a partial overlap with another
                    // append, possibly of another stream), or the cached revision is stale.
                    if savepoint {
                        self.rollback_to.execute([])?;
                        self.release.execute([])?;
                    }
                    if let Some(original) = self.stored_run(request)? {
                        return Ok(Ok(original));
                    }
                    self.revisions.remove(stream);
                    let actual = self.current(stream)?;
                    return Ok(self.conflict(request, actual));
                }
                Err(e) => return Err(e),
            }
        }
        if savepoint {
            self.release.execute([])?;
        }
        let last = revision - 1;
        self.staged.insert(stream.to_owned(), last);
        let position = u64::try_from(position).unwrap_or(0);
        self.written.appends += 1;
        self.written.events += request.events.len() as u64;
        self.written
            .inserted
            .push((index, first_revision, positions));
        self.written.last_position = Some(position);
        let category = super::category_of(stream);
        match self.written.categories.get_mut(category) {
            Some(p) => *p = position,
            None => {
                self.written
                    .categories
                    .insert(category.to_owned(), position);
            }
        }
        Ok(Ok(AppendResult {
            next_expected: CurrentRevision::Current(last),
            position: Some(Position::new(position)),
        }))
    }

    fn conflict(&self, request: &WriteRequest, actual: CurrentRevision) -> Outcome {
        Err(StoreError::WrongExpectedVersion {
            stream: request.stream.clone(),
            expected: request.expected,
            actual,
        })
    }

    /// The original result when every id of `request` is stored, in order, as a contiguous
    /// run of `request.stream`.
    fn stored_run(&mut self, request: &WriteRequest) -> rusqlite::Result<Option<AppendResult>> {
        let Some(first) = request.events.first() else {
            return Ok(None);
        };
        let found = self
            .find_id
            .query_row([&first.id[..]], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
            })
            .map(Some)
            .or_else(|e| match e {
                rusqlite::Error::QueryReturnedNoRows => Ok(None),
                e => Err(e),
            })?;
        let Some((found_stream, first_revision)) = found else {
            return Ok(None);
        };
        if found_stream != request.stream {
            return Ok(None);
        }
        let n = request.events.len();
        let mut rows = self.run_ids.query(params![
            &found_stream,
            first_revision,
            i64::try_from(n).unwrap_or(i64::MAX)
        ])?;
        let mut matched = 0;
        let mut last_position = 0i64;
        while let Some(row) = rows.next()? {
            let id = row.get_ref(0)?.as_blob()?;
            if request.events.get(matched).is_none_or(|e| e.id[..] != *id) {
                return Ok(None);
            }
            last_position = row.get(1)?;
            matched += 1;
        }
        if matched != n {
            return Ok(None);
        }
        let last_revision = u64::try_from(first_revision).unwrap_or(0) + n as u64 - 1;
        Ok(Some(AppendResult {
            next_expected: CurrentRevision::Current(last_revision),
            position: Some(Position::new(u64::try_from(last_position).unwrap_or(0))),
        }))
    }
}

/// The events a commit inserted, as they will read back (their payloads moved out of the
/// batch, which is answered next), in position order.
fn committed(
    batch: &mut [WriteRequest],
    inserted: Vec<(usize, u64, Vec<u64>)>,
    recorded_at: i64,
) -> Vec<RecordedEvent> {
    let mut out = Vec::with_capacity(inserted.iter().map(|(_, _, p)| p.len()).sum());
    for (index, first_revision, positions) in inserted {
        let request = &mut batch[index];
        for ((event, position), revision) in request
            .events
            .iter_mut()
            .zip(positions)
            .zip(first_revision..)
        {
            out.push(RecordedEvent {
                event_id: EventId::from_uuid(uuid::Uuid::from_bytes(event.id)),
                stream: request.stream.clone(),
                revision,
                position: Position::new(position),
                event_type: event.event_type.clone(),
                event_version: event.event_version,
                data: std::mem::take(&mut event.data),
                metadata: std::mem::take(&mut event.meta),
                recorded_at: Timestamp::from_unix_nanos(i128::from(
                    event.recorded_at.unwrap_or(recorded_at),
                )),
            });
        }
    }
    out.sort_unstable_by_key(|e| e.position);
    out
}
