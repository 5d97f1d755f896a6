//! A store wrapper that counts the events reads return (stream reads and global-log reads),
//! to prove that a query reads what it returns, not the log.

use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use ecohub_eventstore::{
    AppendResult, CurrentRevision, EventFilter, EventStore, ExpectedRevision, NewEvent, Position,
    ReadStreamOptions, RecordedEvent, SharedStore, StoreError, Subscription,
};

/// Delegates everything to `inner`, counting the events returned by reads.
pub struct CountingStore {
    inner: SharedStore,
    stream_events: AtomicU64,
    log_events: AtomicU64,
}

impl CountingStore {
    pub fn new(inner: SharedStore) -> Self {
        Self {
            inner,
            stream_events: AtomicU64::new(0),
            log_events: AtomicU64::new(0),
        }
    }

    /// Events returned by `read_stream` and `read_all` since the last reset.
    pub fn events_read(&self) -> u64 {
        self.stream_events.load(Ordering::SeqCst) + self.log_events.load(Ordering::SeqCst)
    }

    /// Events returned by `read_all` since the last reset.
    pub fn log_events_read(&self) -> u64 {
        self.log_events.load(Ordering::SeqCst)
    }

    pub fn reset(&self) {
        self.stream_events.store(0, Ordering::SeqCst);
        self.log_events.store(0, Ordering::SeqCst);
    }
}

#[async_trait]
impl EventStore for CountingStore {
    async fn append(
        &self,
        stream: &str,
        expected: ExpectedRevision,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult, StoreError> {
        self.inner.append(stream, expected, events).await
    }
    async fn read_stream(
        &self,
        stream: &str,
        options: ReadStreamOptions,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let events = self.inner.read_stream(stream, options).await?;
        self.stream_events
            .fetch_add(events.len() as u64, Ordering::SeqCst);
        Ok(events)
    }
    async fn stream_revision(&self, stream: &str) -> Result<CurrentRevision, StoreError> {
        self.inner.stream_revision(stream).await
    }
    async fn read_all(
        &self,
        from: Option<Position>,
        filter: &EventFilter,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let events = self.inner.read_all(from, filter, limit).await?;
        self.log_events
            .fetch_add(events.len() as u64, Ordering::SeqCst);
        Ok(events)
    }
    async fn subscribe_all(
        &self,
        from: Option<Position>,
        filter: EventFilter,
    ) -> Result<Subscription, StoreError> {
        self.inner.subscribe_all(from, filter).await
    }
    async fn head(&self) -> Result<Option<Position>, StoreError> {
        self.inner.head().await
    }
    async fn category_head(&self, prefix: &str) -> Result<Option<Position>, StoreError> {
        self.inner.category_head(prefix).await
    }
    async fn category_heads(&self, prefixes: &[&str]) -> Result<Vec<Option<Position>>, StoreError> {
        self.inner.category_heads(prefixes).await
    }
    async fn is_healthy(&self) -> bool {
        self.inner.is_healthy().await
    }
    async fn close(&self) -> Result<(), StoreError> {
        self.inner.close().await
    }
}
