//! [`FaultyStore`]: an [`EventStore`] that forwards every call to a real store and lets a test
//! break appends, run a hook before them, and count what was read.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use ecohub_eventstore::{
    AppendResult, CurrentRevision, EventFilter, EventStore, ExpectedRevision, NewEvent, Position,
    ReadStreamOptions, RecordedEvent, SharedStore, StoreError, Subscription,
};

/// What a hook returns: a future run before the append goes on.
pub type HookFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

type Hook = Arc<dyn Fn(&str) -> HookFuture + Send + Sync>;

/// Which appends fail, and how many more.
#[derive(Clone)]
struct Fault {
    /// Only streams whose name starts with this (all when `None`).
    prefix: Option<String>,
    /// How many more appends fail (unbounded when `None`).
    remaining: Option<u64>,
}

/// A store for tests: forwards every [`EventStore`] method (the defaulted ones too, so the
/// inner store's own `category_head` answers) to `inner`, and on request
///
/// * fails appends — all of them ([`Self::fail_appends`]), those to streams with a prefix
///   ([`Self::fail_appends_to`]) or the next `n` ([`Self::fail_next_appends`]) — with
///   [`StoreError::Unavailable`], writing nothing;
/// * runs a hook before each append ([`Self::before_append`]), for instance to make concurrent
///   commands load their state before any of them appends ([`Self::race_appends`]);
/// * counts calls and the events read ([`Self::counts`]).
///
/// [`Self::disarm`] stops the faults and the hook; the counters keep counting.
pub struct FaultyStore {
    inner: SharedStore,
    fault: Mutex<Option<Fault>>,
    hook: Mutex<Option<Hook>>,
    counters: Counters,
}

impl std::fmt::Debug for FaultyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultyStore")
            .field("counts", &self.counts())
            .finish_non_exhaustive()
    }
}

/// What a [`FaultyStore`] has been asked so far (calls, not successes, except where said).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreCounts {
    /// `append` calls, failed ones included.
    pub appends: u64,
    /// `append` calls failed by an injected fault.
    pub failed_appends: u64,
    /// `read_stream` calls.
    pub stream_reads: u64,
    /// `read_all` calls.
    pub all_reads: u64,
    /// Events returned by `read_stream` and `read_all` (not those delivered by
    /// subscriptions).
    pub events_read: u64,
    /// Events returned by `read_all` alone (reads of the global log).
    pub log_events_read: u64,
    /// `stream_revision` calls.
    pub revision_reads: u64,
    /// `subscribe_all` calls.
    pub subscriptions: u64,
    /// `head` calls.
    pub head_reads: u64,
    /// `category_head` calls, plus one per prefix of each `category_heads` call.
    pub category_head_reads: u64,
}

impl StoreCounts {
    /// Reads of the store's contents (`read_stream` and `read_all` calls).
    pub fn reads(&self) -> u64 {
        self.stream_reads + self.all_reads
    }
}

#[derive(Default)]
struct Counters {
    appends: AtomicU64,
    failed_appends: AtomicU64,
    stream_reads: AtomicU64,
    all_reads: AtomicU64,
    events_read: AtomicU64,
    log_events_read: AtomicU64,
    revision_reads: AtomicU64,
    subscriptions: AtomicU64,
    head_reads: AtomicU64,
    category_head_reads: AtomicU64,
}

fn bump(counter: &AtomicU64, by: u64) {
    counter.fetch_add(by, Ordering::SeqCst);
}

impl FaultyStore {
    /// Wraps `inner`; nothing is injected until asked.
    pub fn new(inner: SharedStore) -> Arc<Self> {
        Arc::new(Self {
            inner,
            fault: Mutex::new(None),
            hook: Mutex::new(None),
            counters: Counters::default(),
        })
    }

    /// The wrapped store (calls to it bypass faults, hooks and counters).
    pub fn inner(&self) -> &SharedStore {
        &self.inner
    }

    /// From now on every append fails.
    pub fn fail_appends(&self) {
        self.set_fault(None, None);
    }

    /// From now on appends to streams whose name starts with `prefix` fail.
    pub fn fail_appends_to(&self, prefix: &str) {
        self.set_fault(Some(prefix.to_owned()), None);
    }

    /// The next `n` appends fail; later ones go through.
    pub fn fail_next_appends(&self, n: u64) {
        self.set_fault(None, Some(n));
    }

    fn set_fault(&self, prefix: Option<String>, remaining: Option<u64>) {
        *lock(&self.fault) = Some(Fault { prefix, remaining });
    }

    /// Runs `hook(stream)` before every append and waits for the future it returns.
    pub fn before_append(&self, hook: impl Fn(&str) -> HookFuture + Send + Sync + 'static) {
        *lock(&self.hook) = Some(Arc::new(hook));
    }

    /// From now on appends wait for each other in groups of `n` (so every racer has loaded
    /// its state before any of them appends): concurrent commands really race.
    pub fn race_appends(&self, n: usize) {
        let barrier = Arc::new(tokio::sync::Barrier::new(n));
        self.before_append(move |_| {
            let barrier = Arc::clone(&barrier);
            Box::pin(async move {
                barrier.wait().await;
            })
        });
    }

    /// Stops every injected fault and the hook (the counters go on).
    pub fn disarm(&self) {
        *lock(&self.fault) = None;
        *lock(&self.hook) = None;
    }

    /// What has been asked so far.
    pub fn counts(&self) -> StoreCounts {
        let c = &self.counters;
        let get = |a: &AtomicU64| a.load(Ordering::SeqCst);
        StoreCounts {
            appends: get(&c.appends),
            failed_appends: get(&c.failed_appends),
            stream_reads: get(&c.stream_reads),
            all_reads: get(&c.all_reads),
            events_read: get(&c.events_read),
            log_events_read: get(&c.log_events_read),
            revision_reads: get(&c.revision_reads),
            subscriptions: get(&c.subscriptions),
            head_reads: get(&c.head_reads),
            category_head_reads: get(&c.category_head_reads),
        }
    }

    /// Sets every count back to zero (to count what one step of a test asks).
    pub fn reset_counts(&self) {
        let c = &self.counters;
        for counter in [
            &c.appends,
            &c.failed_appends,
            &c.stream_reads,
            &c.all_reads,
            &c.events_read,
            &c.log_events_read,
            &c.revision_reads,
            &c.subscriptions,
            &c.head_reads,
            &c.category_head_reads,
        ] {
            counter.store(0, Ordering::SeqCst);
        }
    }

    /// Whether an append to `stream` fails now (counting it against `fail_next_appends`).
    fn faulted(&self, stream: &str) -> bool {
        let mut fault = lock(&self.fault);
        let Some(f) = fault.as_mut() else {
            return false;
        };
        if f.prefix.as_deref().is_some_and(|p| !stream.starts_with(p)) {
            return false;
        }
        match &mut f.remaining {
            None => true,
            Some(0) => {
                *fault = None;
                false
            }
            Some(n) => {
                *n -= 1;
                if *n == 0 {
                    *fault = None;
                }
                true
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

#[async_trait]
impl EventStore for FaultyStore {
    async fn append(
        &self,
        stream: &str,
        expected: ExpectedRevision,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult, StoreError> {
        bump(&self.counters.appends, 1);
        let hook = lock(&self.hook).clone();
        if let Some(hook) = hook {
            hook(stream).await;
        }
        if self.faulted(stream) {
            bump(&self.counters.failed_appends, 1);
            return Err(StoreError::Unavailable("injected fault".into()));
        }
        self.inner.append(stream, expected, events).await
    }

    async fn read_stream(
        &self,
        stream: &str,
        options: ReadStreamOptions,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        bump(&self.counters.stream_reads, 1);
        let events = self.inner.read_stream(stream, options).await?;
        bump(&self.counters.events_read, events.len() as u64);
        Ok(events)
    }

    async fn stream_revision(&self, stream: &str) -> Result<CurrentRevision, StoreError> {
        bump(&self.counters.revision_reads, 1);
        self.inner.stream_revision(stream).await
    }

    async fn read_all(
        &self,
        from: Option<Position>,
        filter: &EventFilter,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        bump(&self.counters.all_reads, 1);
        let events = self.inner.read_all(from, filter, limit).await?;
        bump(&self.counters.events_read, events.len() as u64);
        bump(&self.counters.log_events_read, events.len() as u64);
        Ok(events)
    }

    async fn subscribe_all(
        &self,
        from: Option<Position>,
        filter: EventFilter,
    ) -> Result<Subscription, StoreError> {
        bump(&self.counters.subscriptions, 1);
        self.inner.subscribe_all(from, filter).await
    }

    async fn head(&self) -> Result<Option<Position>, StoreError> {
        bump(&self.counters.head_reads, 1);
        self.inner.head().await
    }

    async fn category_head(&self, prefix: &str) -> Result<Option<Position>, StoreError> {
        bump(&self.counters.category_head_reads, 1);
        self.inner.category_head(prefix).await
    }

    async fn category_heads(&self, prefixes: &[&str]) -> Result<Vec<Option<Position>>, StoreError> {
        bump(&self.counters.category_head_reads, prefixes.len() as u64);
        self.inner.category_heads(prefixes).await
    }

    async fn is_healthy(&self) -> bool {
        self.inner.is_healthy().await
    }

    async fn close(&self) -> Result<(), StoreError> {
        self.inner.close().await
    }
}
