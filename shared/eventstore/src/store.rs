//! The store contract: the [`EventStore`] trait every backend implements, the shared handle
//! and helpers over any backend.

use std::sync::Arc;

use async_trait::async_trait;

use crate::types::*;

/// A shared handle to any backend.
pub type SharedStore = Arc<dyn EventStore>;

/// The event store contract (../shared/BRIEF.md §3). Both the embedded store and the
/// EventStoreDB backend implement it and pass the conformance suite (`conformance`, feature
/// `conformance`).
#[async_trait]
pub trait EventStore: Send + Sync + 'static {
    /// Appends `events` to `stream` if its current revision satisfies `expected`.
    ///
    /// * Conflict → [`StoreError::WrongExpectedVersion`] with the actual revision; nothing is
    ///   written.
    /// * Idempotent retries: when every event id of the request is already stored as a
    ///   contiguous run in `stream`, the call succeeds without writing and returns the
    ///   original result. When only some of them are stored, it fails with
    ///   `WrongExpectedVersion`. (Backend-specific edges — never rely on either: ids already
    ///   used in *another* stream, or repeated in a request at the stream's current revision,
    ///   are refused by the embedded store; EventStoreDB deduplicates only retries whose
    ///   expected revision is behind the stream's.)
    /// * An empty `events` only checks `expected` and returns the current revision.
    /// * Returning `Ok` means durable: the events survive a crash of the process or machine.
    async fn append(
        &self,
        stream: &str,
        expected: ExpectedRevision,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult, StoreError>;

    /// Reads up to `options.limit` events of one stream. A stream that does not exist reads
    /// as empty.
    async fn read_stream(
        &self,
        stream: &str,
        options: ReadStreamOptions,
    ) -> Result<Vec<RecordedEvent>, StoreError>;

    /// The stream's latest revision, read from the leader/writer (never a stale replica).
    async fn stream_revision(&self, stream: &str) -> Result<CurrentRevision, StoreError>;

    /// Reads up to `limit` events of the global log after `from` (exclusive; `None` means
    /// from the beginning), in log order, keeping only those `filter` accepts.
    async fn read_all(
        &self,
        from: Option<Position>,
        filter: &EventFilter,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError>;

    /// A catch-up subscription to the global log after `from` (exclusive): history, then one
    /// [`SubscriptionMessage::CaughtUp`], then live events, in order, with no gaps and no
    /// duplicates. A slow consumer never stalls writers and never makes the store buffer
    /// without bound.
    async fn subscribe_all(
        &self,
        from: Option<Position>,
        filter: EventFilter,
    ) -> Result<Subscription, StoreError>;

    /// Position of the last event in the global log, `None` when the log is empty.
    async fn head(&self) -> Result<Option<Position>, StoreError>;

    /// A position that moves whenever an event is appended to a stream whose name starts with
    /// `prefix` (`consent-`), and covers every acknowledged append (read after an append was
    /// acknowledged, it reflects that append). Callers compare two readings for equality to
    /// know that no stream of the category changed in between; the value means nothing else.
    /// The default is the global [`EventStore::head`], which moves on every append: exact,
    /// only coarser. The embedded store tracks categories (streams named `<category>-<id>`)
    /// in memory; the KurrentDB backend follows `$all` per instance and answers once it has
    /// passed the leader's head.
    ///
    /// Within a [`crate::reads_cover_from`] scope (an HTTP request), a backend may answer with
    /// a reading taken after the scope began rather than after the call (every check of one
    /// request then shares one leader round trip), but never one that misses an append this
    /// store acknowledged before the call.
    async fn category_head(&self, prefix: &str) -> Result<Option<Position>, StoreError> {
        let _ = prefix;
        self.head().await
    }

    /// [`EventStore::category_head`] of each prefix, in order (the default reads the global
    /// head once).
    async fn category_heads(&self, prefixes: &[&str]) -> Result<Vec<Option<Position>>, StoreError> {
        let head = self.head().await?;
        Ok(vec![head; prefixes.len()])
    }

    /// Whether the store can serve requests right now (connected, writer alive).
    async fn is_healthy(&self) -> bool;

    /// Completes every accepted append, makes it durable and releases resources. Appends
    /// after `close` fail with [`StoreError::Closed`].
    async fn close(&self) -> Result<(), StoreError>;
}

/// Reads a whole stream forwards, page by page.
pub async fn read_stream_to_end(
    store: &dyn EventStore,
    stream: &str,
) -> Result<Vec<RecordedEvent>, StoreError> {
    const PAGE: usize = 1_000;
    let mut all = Vec::new();
    let mut from = StreamPosition::Start;
    loop {
        let page = store
            .read_stream(stream, ReadStreamOptions::forwards().from(from).limit(PAGE))
            .await?;
        let n = page.len();
        if let Some(last) = page.last() {
            from = StreamPosition::Revision(last.revision + 1);
        }
        if all.is_empty() {
            all = page;
        } else {
            all.extend(page);
        }
        if n < PAGE {
            return Ok(all);
        }
    }
}
