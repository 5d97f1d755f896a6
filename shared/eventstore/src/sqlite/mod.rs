//! The embedded event store: one SQLite database in WAL mode with `synchronous = FULL`.
//!
//! * One writer thread owns the only read-write connection. Appends reach it over a channel
//!   and are answered over a oneshot after `COMMIT` returned; everything pending when the
//!   writer becomes free is committed in one transaction (group commit), so one fsync serves
//!   many appends while each append keeps its own expected-revision check and fails alone.
//! * Reads use a small pool of read-only connections on the blocking thread pool; WAL lets
//!   them run while the writer writes.
//! * Subscriptions are pulled from the database (see `subscription.rs`); the writer publishes
//!   the committed head on a `watch` and never waits for them.
//!
//! See docs/adr/0002-embedded-event-store-on-sqlite.md and docs/adr/0003-group-commit.md.

mod read;
mod schema;
mod subscription;
mod tail;
mod writer;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::Connection;
use tokio::sync::{oneshot, watch};

use self::read::{ReadPool, SqlFilter};
use self::writer::{Counters, EncodedEvent, WriteRequest, WriterConfig};
use crate::{
    AppendResult, CurrentRevision, EventFilter, EventStore, ExpectedRevision, NewEvent, Position,
    ReadStreamOptions, RecordedEvent, StoreError, Subscription,
};

pub use self::schema::SCHEMA_VERSION;

/// Tuning of [`SqliteStore`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqliteStoreOptions {
    /// Read-only connections used by reads and subscriptions (at least 1).
    pub read_pool_size: usize,
    /// Most events committed in one group-commit transaction (a single larger append is
    /// still committed whole). `1` commits every append on its own.
    pub max_batch_events: usize,
}

impl Default for SqliteStoreOptions {
    fn default() -> Self {
        Self {
            read_pool_size: 4,
            max_batch_events: 1024,
        }
    }
}

/// Counters of the writer since the store was opened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SqliteStoreStats {
    /// Transactions committed that wrote at least one event.
    pub commits: u64,
    /// Appends that wrote events (idempotent retries and empty appends excluded).
    pub appends: u64,
    /// Events written.
    pub events: u64,
    /// Group commits that failed (every append in them got an error).
    pub failed_commits: u64,
}

/// The embedded event store. Cheap to clone (all clones share one writer and one read pool);
/// usually used as an `Arc<dyn EventStore>`.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    /// `None` once closed.
    sender: Mutex<Option<mpsc::Sender<WriteRequest>>>,
    writer: Mutex<Option<std::thread::JoinHandle<Result<(), StoreError>>>>,
    writer_alive: Arc<AtomicBool>,
    pool: Arc<ReadPool>,
    head: watch::Receiver<u64>,
    categories: Arc<CategoryHeads>,
    counters: Arc<Counters>,
    tail: Arc<tail::Tail>,
}

/// The category of a stream: its name up to and including the first `-` (`consent-`), or the
/// whole name when it has none.
pub(crate) fn category_of(stream: &str) -> &str {
    match stream.find('-') {
        Some(i) => &stream[..=i],
        None => stream,
    }
}

/// Last committed position per stream category. The writer raises an entry after each COMMIT
/// and before answering, creating it if needed (its position is then the category's newest);
/// a category not written since the store opened is read from the database once. Both sides
/// only ever raise an entry, so whatever order they run in, an entry is at least the position
/// of every acknowledged append to its category.
#[derive(Debug, Default)]
pub(crate) struct CategoryHeads {
    heads: Mutex<HashMap<String, u64>>,
}

impl CategoryHeads {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, u64>> {
        self.heads.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn advance(&self, written: HashMap<String, u64>) {
        let mut heads = self.lock();
        for (category, position) in written {
            let entry = heads.entry(category).or_insert(0);
            *entry = (*entry).max(position);
        }
    }

    fn get(&self, category: &str) -> Option<u64> {
        self.lock().get(category).copied()
    }

    /// The category's head if this process has written it or read it since opening.
    pub(crate) fn known(&self, category: &str) -> Option<u64> {
        self.get(category)
    }

    fn raise(&self, category: &str, position: u64) -> u64 {
        let mut heads = self.lock();
        let entry = heads.entry(category.to_owned()).or_insert(0);
        *entry = (*entry).max(position);
        *entry
    }
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.inner.path)
            .field("head", &*self.inner.head.borrow())
            .field("stats", &self.stats())
            .finish()
    }
}

pub(crate) fn db_err(e: rusqlite::Error) -> StoreError {
    StoreError::Internal(format!("sqlite: {e}"))
}

impl SqliteStore {
    /// Opens (creating it, its parent directories and its schema if needed) the store at
    /// `path` and starts its writer thread.
    pub fn open(path: impl AsRef<Path>, options: SqliteStoreOptions) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        if let Some(parent) = path.parent()
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(parent).map_err(|e| {
                StoreError::Internal(format!("cannot create {}: {e}", parent.display()))
            })?;
        }
        let conn = Connection::open(&path).map_err(db_err)?;
        conn.busy_timeout(Duration::from_secs(5)).map_err(db_err)?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(db_err)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Internal(format!(
                "{} cannot use WAL (journal mode {mode})",
                path.display()
            )));
        }
        // FULL: every commit fsyncs the WAL, so an acknowledged append survives power loss.
        conn.execute_batch(
            "PRAGMA synchronous = FULL;
             PRAGMA temp_store = MEMORY;
             PRAGMA cache_size = -32768;
             PRAGMA journal_size_limit = 67108864;",
        )
        .map_err(db_err)?;
        read::stable_plans(&conn)?;
        schema::migrate(&conn)?;
        let head = read::head(&conn)?;

        let (sender, requests) = mpsc::channel();
        let (head_tx, head_rx) = watch::channel(head);
        let counters = Arc::new(Counters::default());
        let categories = Arc::new(CategoryHeads::default());
        let writer_alive = Arc::new(AtomicBool::new(false));
        let tail = Arc::new(tail::Tail::new(head));
        let writer = writer::spawn(
            conn,
            requests,
            WriterConfig {
                max_batch_events: options.max_batch_events,
                counters: Arc::clone(&counters),
                alive: Arc::clone(&writer_alive),
                head: head_tx,
                categories: Arc::clone(&categories),
                tail: Arc::clone(&tail),
            },
        )?;
        Ok(Self {
            inner: Arc::new(Inner {
                pool: Arc::new(ReadPool::new(path.clone(), options.read_pool_size)),
                path,
                sender: Mutex::new(Some(sender)),
                writer: Mutex::new(Some(writer)),
                writer_alive,
                head: head_rx,
                categories,
                counters,
                tail,
            }),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The writer's counters: `commits < appends` shows group commit at work.
    pub fn stats(&self) -> SqliteStoreStats {
        let c = &self.inner.counters;
        SqliteStoreStats {
            commits: c.commits.load(Ordering::Relaxed),
            appends: c.appends.load(Ordering::Relaxed),
            events: c.events.load(Ordering::Relaxed),
            failed_commits: c.failed_commits.load(Ordering::Relaxed),
        }
    }

    fn is_closed(&self) -> bool {
        self.inner
            .sender
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_none()
    }
}

fn validate(stream: &str, events: &[NewEvent]) -> Result<(), StoreError> {
    if stream.is_empty() {
        return Err(StoreError::InvalidRequest("empty stream name".into()));
    }
    if stream.starts_with('$') {
        return Err(StoreError::InvalidRequest(format!(
            "stream names starting with `$` are reserved: {stream}"
        )));
    }
    if events.iter().any(|e| e.event_type.is_empty()) {
        return Err(StoreError::InvalidRequest("empty event type".into()));
    }
    let mut seen = HashSet::with_capacity(events.len());
    if let Some(dup) = events.iter().find(|e| !seen.insert(e.event_id)) {
        return Err(StoreError::InvalidRequest(format!(
            "event id {} appears twice in one append",
            dup.event_id
        )));
    }
    Ok(())
}

fn encode(events: Vec<NewEvent>) -> Result<Vec<EncodedEvent>, StoreError> {
    events
        .into_iter()
        .map(|e| {
            let data = serde_json::to_vec(&e.data)
                .map_err(|err| StoreError::InvalidRequest(format!("event data: {err}")))?;
            let metadata = serde_json::to_vec(&e.metadata)
                .map_err(|err| StoreError::InvalidRequest(format!("event metadata: {err}")))?;
            Ok(EncodedEvent {
                id: *e.event_id.as_uuid().as_bytes(),
                event_type: e.event_type,
                event_version: e.event_version,
                recorded_at: e
                    .recorded_at
                    .map(|t| i64::try_from(t.unix_nanos()).unwrap_or(i64::MAX)),
                data,
                metadata,
                meta: e.metadata,
            })
        })
        .collect()
}

#[async_trait]
impl EventStore for SqliteStore {
    async fn append(
        &self,
        stream: &str,
        expected: ExpectedRevision,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult, StoreError> {
        validate(stream, &events)?;
        let events = encode(events)?;
        let (reply, answer) = oneshot::channel();
        let request = WriteRequest {
            stream: stream.to_owned(),
            expected,
            events,
            reply,
        };
        {
            let sender = self
                .inner
                .sender
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let Some(sender) = sender.as_ref() else {
                return Err(StoreError::Closed);
            };
            sender
                .send(request)
                .map_err(|_| StoreError::Internal("the writer thread has stopped".into()))?;
        }
        answer.await.map_err(|_| {
            StoreError::Internal("the writer thread stopped before answering".into())
        })?
    }

    async fn read_stream(
        &self,
        stream: &str,
        options: ReadStreamOptions,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let stream = stream.to_owned();
        self.inner
            .pool
            .run(move |conn| read::read_stream(conn, &stream, options))
            .await
    }

    async fn stream_revision(&self, stream: &str) -> Result<CurrentRevision, StoreError> {
        let stream = stream.to_owned();
        self.inner
            .pool
            .run(move |conn| read::stream_revision(conn, &stream))
            .await
    }

    async fn read_all(
        &self,
        from: Option<Position>,
        filter: &EventFilter,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let filter = SqlFilter::new(filter);
        let after = from.map_or(0, |p| p.commit);
        self.inner
            .pool
            .run(move |conn| read::read_page(conn, after, &filter, limit, None).map(|p| p.events))
            .await
    }

    async fn subscribe_all(
        &self,
        from: Option<Position>,
        filter: EventFilter,
    ) -> Result<Subscription, StoreError> {
        if self.is_closed() {
            return Err(StoreError::Closed);
        }
        Ok(subscription::subscribe(
            Arc::clone(&self.inner.pool),
            self.inner.head.clone(),
            Arc::clone(&self.inner.categories),
            Arc::clone(&self.inner.tail),
            from,
            SqlFilter::new(&filter),
        ))
    }

    async fn head(&self) -> Result<Option<Position>, StoreError> {
        if self.is_closed() {
            return Err(StoreError::Closed);
        }
        // The writer publishes the head after each COMMIT and before answering, so this
        // covers every acknowledged append without a database round trip.
        let head = *self.inner.head.borrow();
        Ok((head > 0).then(|| Position::new(head)))
    }

    async fn category_head(&self, prefix: &str) -> Result<Option<Position>, StoreError> {
        if self.is_closed() {
            return Err(StoreError::Closed);
        }
        let category = category_of(prefix);
        if category.len() != prefix.len() || !category.ends_with('-') {
            // Not a `<category>-` prefix: fall back to the global head (exact, coarser).
            return self.head().await;
        }
        let known = match self.inner.categories.get(category) {
            Some(known) => known,
            None => {
                let owned = category.to_owned();
                let stored = self
                    .inner
                    .pool
                    .run(move |conn| read::category_head(conn, &owned))
                    .await?;
                self.inner.categories.raise(category, stored)
            }
        };
        Ok((known > 0).then(|| Position::new(known)))
    }

    async fn category_heads(&self, prefixes: &[&str]) -> Result<Vec<Option<Position>>, StoreError> {
        let mut heads = Vec::with_capacity(prefixes.len());
        for prefix in prefixes {
            heads.push(self.category_head(prefix).await?);
        }
        Ok(heads)
    }

    async fn is_healthy(&self) -> bool {
        !self.is_closed() && self.inner.writer_alive.load(Ordering::Acquire)
    }

    async fn close(&self) -> Result<(), StoreError> {
        let sender = self
            .inner
            .sender
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let writer = self
            .inner
            .writer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        // Idle readers go first so that the final checkpoint can truncate the WAL.
        self.inner.pool.close();
        // The writer drains what was accepted, answers it, checkpoints and stops.
        drop(sender);
        let Some(writer) = writer else {
            return Ok(());
        };
        tokio::task::spawn_blocking(move || writer.join())
            .await
            .map_err(|e| StoreError::Internal(format!("joining the writer: {e}")))?
            .map_err(|_| StoreError::Internal("the writer thread panicked".into()))?
    }
}
