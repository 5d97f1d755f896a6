//! The backend-generic conformance suite: every backend of [`EventStore`] must pass it.
//!
//! Each check is a `pub async fn(SharedStore)` that panics on a violation. Checks use stream
//! names under a fresh random category and read the global log from the head taken when they
//! start, so they also run against a shared, non-empty server. [`conformance_tests!`] turns
//! the whole suite into `#[tokio::test]`s for one backend:
//!
//! ```text
//! use ecohub_eventstore::conformance::TestStore;
//! use ecohub_eventstore::{SqliteStore, SqliteStoreOptions};
//!
//! ecohub_eventstore::conformance_tests!(|| async {
//!     let dir = tempfile::tempdir().unwrap();
//!     let store =
//!         SqliteStore::open(dir.path().join("events.db"), SqliteStoreOptions::default()).unwrap();
//!     // The guard (here the temporary directory) lives until the check has finished.
//!     TestStore::new(store).with_guard(dir)
//! });
//! ```
//!
//! The calling crate needs `tokio` (macros, multi-thread runtime) as a (dev-)dependency.
//!
//! [`conformance_tests!`]: crate::conformance_tests

use std::any::Any;
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use ecohub_kernel::{EventId, EventMetadata, Timestamp};
use futures_util::StreamExt;
use serde_json::json;
use tokio::sync::Barrier;

use crate::{
    AppendResult, CurrentRevision, EventFilter, EventStore, ExpectedRevision, NewEvent, Position,
    ReadStreamOptions, RecordedEvent, SharedStore, StoreError, StreamPosition, Subscription,
    SubscriptionMessage, read_stream_to_end,
};

/// A store under test, with whatever must outlive the check (a temporary directory, a
/// server process…).
pub struct TestStore {
    store: SharedStore,
    _guard: Box<dyn Any + Send>,
}

impl std::fmt::Debug for TestStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestStore").finish_non_exhaustive()
    }
}

impl TestStore {
    /// Wraps a backend.
    pub fn new(store: impl EventStore) -> Self {
        Self::shared(Arc::new(store))
    }

    /// Wraps an already shared backend.
    pub fn shared(store: SharedStore) -> Self {
        Self {
            store,
            _guard: Box::new(()),
        }
    }

    /// Keeps `guard` alive until the check has finished and the store is closed.
    pub fn with_guard(mut self, guard: impl Any + Send) -> Self {
        self._guard = Box::new(guard);
        self
    }

    /// The store.
    pub fn store(&self) -> SharedStore {
        Arc::clone(&self.store)
    }
}

/// Runs one check against a store made by `factory`, then closes the store. Used by
/// [`crate::conformance_tests!`].
pub async fn run_check<F, Fut, C, CFut>(factory: F, check: C)
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = TestStore>,
    C: FnOnce(SharedStore) -> CFut,
    CFut: Future<Output = ()>,
{
    let test_store = factory().await;
    check(test_store.store()).await;
    // Some checks close the store themselves; a second close is harmless.
    let _ = test_store.store.close().await;
    drop(test_store);
}

/// Expands to one `#[tokio::test]` per conformance check, each run against a fresh store
/// made by the factory: an expression callable as `factory()` that returns a future of a
/// [`conformance::TestStore`](crate::conformance::TestStore).
#[macro_export]
macro_rules! conformance_tests {
    ($factory:expr $(,)?) => {
        $crate::conformance_tests!(@each ($factory) [
            expected_any_always_appends,
            expected_no_stream,
            expected_stream_exists,
            expected_exact_revision,
            empty_append_checks_the_expectation_only,
            revisions_and_positions_ascend,
            read_stream_forwards_and_backwards,
            missing_stream_reads_empty,
            read_all_from_a_position_with_filters,
            idempotent_retry_returns_the_original_result,
            partial_overlap_is_refused,
            invalid_requests_are_refused,
            data_and_metadata_round_trip,
            head_follows_the_log,
            category_head_moves_with_appends_to_the_category,
            racing_exact_appends_have_one_winner_per_revision,
            optimistic_writers_leave_no_holes,
            concurrent_writers_to_distinct_streams_all_succeed,
            subscription_delivers_history_then_live,
            subscription_handover_has_no_gaps_or_duplicates,
            subscription_resumes_after_a_checkpoint,
            filtered_subscription_delivers_only_matching_events,
            idle_subscriptions_do_not_block_writers,
            imported_timestamps_are_kept,
            close_refuses_further_appends,
        ]);
    };
    (@each ($factory:expr) [$($check:ident),* $(,)?]) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $check() {
                $crate::conformance::run_check($factory, $crate::conformance::$check).await;
            }
        )*
    };
}

// ---------------------------------------------------------------------------------------
// helpers

/// Upper bound for anything a check waits for; only there so that a broken backend fails
/// instead of hanging.
const PATIENCE: Duration = Duration::from_secs(60);

async fn within<T>(what: &str, fut: impl Future<Output = T>) -> T {
    match tokio::time::timeout(PATIENCE, fut).await {
        Ok(v) => v,
        Err(_) => panic!("{what}: nothing after {PATIENCE:?}"),
    }
}

fn now() -> Timestamp {
    Timestamp::from(time::OffsetDateTime::now_utc())
}

/// A category no other check (or run) uses: `c<uuid>`.
fn scope() -> String {
    format!("c{}", uuid::Uuid::new_v4().simple())
}

fn event(event_type: &str, n: u64) -> NewEvent {
    NewEvent::raw(event_type, json!({ "n": n }), now())
}

fn events(event_type: &str, range: std::ops::Range<u64>) -> Vec<NewEvent> {
    range.map(|n| event(event_type, n)).collect()
}

fn ids(events: &[RecordedEvent]) -> Vec<EventId> {
    events.iter().map(|e| e.event_id).collect()
}

fn new_ids(events: &[NewEvent]) -> Vec<EventId> {
    events.iter().map(|e| e.event_id).collect()
}

fn revisions(events: &[RecordedEvent]) -> Vec<u64> {
    events.iter().map(|e| e.revision).collect()
}

async fn append_ok(
    store: &dyn EventStore,
    stream: &str,
    expected: ExpectedRevision,
    events: Vec<NewEvent>,
) -> AppendResult {
    match store.append(stream, expected, events).await {
        Ok(r) => r,
        Err(e) => panic!("append to {stream} with {expected} failed: {e}"),
    }
}

#[track_caller]
fn assert_conflict(
    result: Result<AppendResult, StoreError>,
    stream: &str,
    expected: ExpectedRevision,
    actual: CurrentRevision,
) {
    assert_eq!(
        result,
        Err(StoreError::WrongExpectedVersion {
            stream: stream.to_owned(),
            expected,
            actual,
        }),
        "append to {stream} expecting {expected} must conflict with {actual}"
    );
}

async fn read_forwards(store: &dyn EventStore, stream: &str) -> Vec<RecordedEvent> {
    read_stream_to_end(store, stream)
        .await
        .unwrap_or_else(|e| panic!("reading {stream}: {e}"))
}

async fn read_all_after(
    store: &dyn EventStore,
    from: Option<Position>,
    filter: &EventFilter,
) -> Vec<RecordedEvent> {
    const PAGE: usize = 1_000;
    let mut all: Vec<RecordedEvent> = Vec::new();
    let mut from = from;
    loop {
        let page = store
            .read_all(from, filter, PAGE)
            .await
            .unwrap_or_else(|e| panic!("read_all: {e}"));
        let n = page.len();
        if let Some(last) = page.last() {
            from = Some(last.position);
        }
        all.extend(page);
        if n < PAGE {
            return all;
        }
    }
}

async fn head(store: &dyn EventStore) -> Option<Position> {
    store.head().await.unwrap_or_else(|e| panic!("head: {e}"))
}

async fn next_message(subscription: &mut Subscription) -> SubscriptionMessage {
    within("subscription", subscription.next())
        .await
        .expect("the subscription ended")
        .unwrap_or_else(|e| panic!("the subscription failed: {e}"))
}

/// What a subscription delivered, checked as it arrives: positions strictly increase, a
/// checkpoint never goes back before a delivered event, `CaughtUp` comes at most once.
#[derive(Debug, Default)]
struct Received {
    events: Vec<RecordedEvent>,
    /// Number of events received before `CaughtUp`.
    caught_up_after: Option<usize>,
    last_position: Option<Position>,
}

impl Received {
    fn take(&mut self, message: SubscriptionMessage) {
        match message {
            SubscriptionMessage::Event(e) => {
                assert!(
                    self.last_position.is_none_or(|p| e.position > p),
                    "subscription went back: {} after {:?}",
                    e.position,
                    self.last_position
                );
                self.last_position = Some(e.position);
                self.events.push(e);
            }
            SubscriptionMessage::CaughtUp { position } => {
                assert!(self.caught_up_after.is_none(), "CaughtUp sent twice");
                if let (Some(last), Some(p)) = (self.last_position, position) {
                    assert!(p >= last, "CaughtUp at {p} before delivered event {last}");
                }
                if let Some(p) = position {
                    self.last_position = self.last_position.max(Some(p));
                }
                self.caught_up_after = Some(self.events.len());
            }
            SubscriptionMessage::Checkpoint(p) => {
                assert!(
                    self.last_position.is_none_or(|last| p >= last),
                    "checkpoint {p} before delivered event {:?}",
                    self.last_position
                );
                self.last_position = Some(p);
            }
        }
    }

    async fn until_events(&mut self, subscription: &mut Subscription, n: usize) {
        while self.events.len() < n {
            self.take(next_message(subscription).await);
        }
    }

    async fn until_caught_up(&mut self, subscription: &mut Subscription) {
        while self.caught_up_after.is_none() {
            self.take(next_message(subscription).await);
        }
    }
}

fn assert_exactly_once_in_log_order(received: &[RecordedEvent], appended: &[EventId]) {
    let mut seen = HashSet::new();
    for e in received {
        assert!(
            seen.insert(e.event_id),
            "event {} delivered twice",
            e.event_id
        );
    }
    let expected: HashSet<EventId> = appended.iter().copied().collect();
    assert_eq!(
        seen, expected,
        "delivered events differ from the appended ones"
    );
    assert!(
        received.windows(2).all(|w| w[0].position < w[1].position),
        "events are not in log order"
    );
}

// ---------------------------------------------------------------------------------------
// expected revisions

/// `Any` appends whatever the stream's state.
pub async fn expected_any_always_appends(store: SharedStore) {
    let stream = format!("{}-any", scope());
    let r = append_ok(&*store, &stream, ExpectedRevision::Any, events("T", 0..1)).await;
    assert_eq!(r.next_expected, CurrentRevision::Current(0));
    let r = append_ok(&*store, &stream, ExpectedRevision::Any, events("T", 1..3)).await;
    assert_eq!(r.next_expected, CurrentRevision::Current(2));
    assert_eq!(revisions(&read_forwards(&*store, &stream).await), [0, 1, 2]);
}

/// `NoStream` creates a stream and refuses an existing one.
pub async fn expected_no_stream(store: SharedStore) {
    let stream = format!("{}-new", scope());
    let r = append_ok(
        &*store,
        &stream,
        ExpectedRevision::NoStream,
        events("T", 0..2),
    )
    .await;
    assert_eq!(r.next_expected, CurrentRevision::Current(1));
    let again = store
        .append(&stream, ExpectedRevision::NoStream, events("T", 2..3))
        .await;
    assert_conflict(
        again,
        &stream,
        ExpectedRevision::NoStream,
        CurrentRevision::Current(1),
    );
    assert_eq!(read_forwards(&*store, &stream).await.len(), 2);
}

/// `StreamExists` refuses a missing stream and accepts an existing one.
pub async fn expected_stream_exists(store: SharedStore) {
    let stream = format!("{}-exists", scope());
    let refused = store
        .append(&stream, ExpectedRevision::StreamExists, events("T", 0..1))
        .await;
    assert_conflict(
        refused,
        &stream,
        ExpectedRevision::StreamExists,
        CurrentRevision::NoStream,
    );
    assert!(read_forwards(&*store, &stream).await.is_empty());
    assert_eq!(
        store.stream_revision(&stream).await.unwrap(),
        CurrentRevision::NoStream
    );
    append_ok(
        &*store,
        &stream,
        ExpectedRevision::NoStream,
        events("T", 0..1),
    )
    .await;
    let r = append_ok(
        &*store,
        &stream,
        ExpectedRevision::StreamExists,
        events("T", 1..2),
    )
    .await;
    assert_eq!(r.next_expected, CurrentRevision::Current(1));
}

/// `Exact(n)` accepts only a stream whose last revision is `n`.
pub async fn expected_exact_revision(store: SharedStore) {
    let stream = format!("{}-exact", scope());
    let refused = store
        .append(&stream, ExpectedRevision::Exact(0), events("T", 0..1))
        .await;
    assert_conflict(
        refused,
        &stream,
        ExpectedRevision::Exact(0),
        CurrentRevision::NoStream,
    );
    append_ok(
        &*store,
        &stream,
        ExpectedRevision::NoStream,
        events("T", 0..2),
    )
    .await;
    for stale in [0, 5] {
        let refused = store
            .append(&stream, ExpectedRevision::Exact(stale), events("T", 9..10))
            .await;
        assert_conflict(
            refused,
            &stream,
            ExpectedRevision::Exact(stale),
            CurrentRevision::Current(1),
        );
    }
    let r = append_ok(
        &*store,
        &stream,
        ExpectedRevision::Exact(1),
        events("T", 2..3),
    )
    .await;
    assert_eq!(r.next_expected, CurrentRevision::Current(2));
    assert_eq!(
        store.stream_revision(&stream).await.unwrap(),
        CurrentRevision::Current(2)
    );
    assert_eq!(revisions(&read_forwards(&*store, &stream).await), [0, 1, 2]);
}

/// An empty append checks the expectation, reports the current revision and writes nothing.
pub async fn empty_append_checks_the_expectation_only(store: SharedStore) {
    let stream = format!("{}-empty", scope());
    let none = AppendResult {
        next_expected: CurrentRevision::NoStream,
        position: None,
    };
    assert_eq!(
        append_ok(&*store, &stream, ExpectedRevision::NoStream, vec![]).await,
        none
    );
    assert_eq!(
        append_ok(&*store, &stream, ExpectedRevision::Any, vec![]).await,
        none
    );
    let refused = store
        .append(&stream, ExpectedRevision::Exact(0), vec![])
        .await;
    assert_conflict(
        refused,
        &stream,
        ExpectedRevision::Exact(0),
        CurrentRevision::NoStream,
    );
    assert!(read_forwards(&*store, &stream).await.is_empty());

    append_ok(
        &*store,
        &stream,
        ExpectedRevision::NoStream,
        events("T", 0..1),
    )
    .await;
    let at_zero = AppendResult {
        next_expected: CurrentRevision::Current(0),
        position: None,
    };
    for expected in [
        ExpectedRevision::Exact(0),
        ExpectedRevision::StreamExists,
        ExpectedRevision::Any,
    ] {
        assert_eq!(append_ok(&*store, &stream, expected, vec![]).await, at_zero);
    }
    let refused = store
        .append(&stream, ExpectedRevision::NoStream, vec![])
        .await;
    assert_conflict(
        refused,
        &stream,
        ExpectedRevision::NoStream,
        CurrentRevision::Current(0),
    );
    assert_eq!(read_forwards(&*store, &stream).await.len(), 1);
}

// ---------------------------------------------------------------------------------------
// ordering and reads

/// Revisions count from 0 per stream; positions strictly increase across streams; an
/// append reports the position of its last event.
pub async fn revisions_and_positions_ascend(store: SharedStore) {
    let scope = scope();
    let start = head(&*store).await;
    let (a, b) = (format!("{scope}-a"), format!("{scope}-b"));
    let mut last = start;
    for round in 0..3u64 {
        for stream in [&a, &b] {
            let r = append_ok(
                &*store,
                stream,
                ExpectedRevision::Any,
                events("T", round * 2..round * 2 + 2),
            )
            .await;
            assert_eq!(r.next_expected, CurrentRevision::Current(round * 2 + 1));
            let p = r.position.expect("a non-empty append has a position");
            assert!(last.is_none_or(|l| p > l), "position {p} after {last:?}");
            last = Some(p);
            let stored = read_forwards(&*store, stream).await;
            assert_eq!(stored.last().map(|e| e.position), Some(p));
        }
    }
    for stream in [&a, &b] {
        let stored = read_forwards(&*store, stream).await;
        assert_eq!(revisions(&stored), [0, 1, 2, 3, 4, 5]);
        assert!(stored.windows(2).all(|w| w[0].position < w[1].position));
        assert!(stored.iter().all(|e| start.is_none_or(|s| e.position > s)));
        assert!(stored.iter().all(|e| &e.stream == stream));
    }
    assert!(head(&*store).await >= last);
}

/// Stream reads forwards and backwards, from the start, the end or a revision, with limits.
pub async fn read_stream_forwards_and_backwards(store: SharedStore) {
    let stream = format!("{}-reads", scope());
    append_ok(
        &*store,
        &stream,
        ExpectedRevision::NoStream,
        events("T", 0..10),
    )
    .await;
    let read = |options: ReadStreamOptions| {
        let store = Arc::clone(&store);
        let stream = stream.clone();
        async move { revisions(&store.read_stream(&stream, options).await.unwrap()) }
    };
    use ReadStreamOptions as O;
    use StreamPosition::{End, Revision, Start};
    assert_eq!(read(O::forwards()).await, (0..10).collect::<Vec<_>>());
    assert_eq!(read(O::forwards().limit(3)).await, [0, 1, 2]);
    assert_eq!(read(O::forwards().from(Start).limit(2)).await, [0, 1]);
    assert_eq!(
        read(O::forwards().from(Revision(4)).limit(3)).await,
        [4, 5, 6]
    );
    assert_eq!(read(O::forwards().from(Revision(8))).await, [8, 9]);
    assert!(read(O::forwards().from(Revision(10))).await.is_empty());
    assert_eq!(read(O::forwards().from(End)).await, [9]);
    assert_eq!(
        read(O::backwards()).await,
        (0..10).rev().collect::<Vec<_>>()
    );
    assert_eq!(read(O::backwards().limit(3)).await, [9, 8, 7]);
    assert_eq!(
        read(O::backwards().from(Revision(4)).limit(2)).await,
        [4, 3]
    );
    assert_eq!(read(O::backwards().from(Revision(1))).await, [1, 0]);
    assert_eq!(read(O::backwards().from(Start)).await, [0]);
    assert_eq!(read(O::backwards().from(End).limit(1)).await, [9]);
}

/// A stream that does not exist reads as empty and has no revision.
pub async fn missing_stream_reads_empty(store: SharedStore) {
    let stream = format!("{}-missing", scope());
    assert!(
        store
            .read_stream(&stream, ReadStreamOptions::forwards())
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .read_stream(&stream, ReadStreamOptions::backwards())
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.stream_revision(&stream).await.unwrap(),
        CurrentRevision::NoStream
    );
}

/// `read_all` from a position (exclusive), filtered by stream and event-type prefixes, with
/// limits, in log order.
pub async fn read_all_from_a_position_with_filters(store: SharedStore) {
    let scope = scope();
    let start = head(&*store).await;
    let one = format!("{scope}One.Happened");
    let two = format!("{scope}Two.Happened");
    let one_other = format!("{scope}One.Other");
    let (a, b, x) = (
        format!("{scope}-a1"),
        format!("{scope}-b1"),
        format!("{scope}x-c1"),
    );
    append_ok(&*store, &a, ExpectedRevision::NoStream, events(&one, 0..2)).await;
    append_ok(&*store, &b, ExpectedRevision::NoStream, events(&two, 0..2)).await;
    append_ok(
        &*store,
        &x,
        ExpectedRevision::NoStream,
        events(&one_other, 0..2),
    )
    .await;
    append_ok(&*store, &a, ExpectedRevision::Exact(1), events(&one, 2..3)).await;

    let streams_of = |events: &[RecordedEvent]| -> Vec<String> {
        events.iter().map(|e| e.stream.clone()).collect()
    };
    let (a, b, x) = (a.as_str(), b.as_str(), x.as_str());
    // By category prefix (`<scope>-`), in log order.
    let category =
        read_all_after(&*store, start, &EventFilter::streams([format!("{scope}-")])).await;
    assert_eq!(streams_of(&category), [a, a, b, b, a]);
    assert!(category.windows(2).all(|w| w[0].position < w[1].position));
    assert!(
        category
            .iter()
            .all(|e| start.is_none_or(|s| e.position > s))
    );
    // From the beginning of the log too.
    let from_zero =
        read_all_after(&*store, None, &EventFilter::streams([format!("{scope}-")])).await;
    assert_eq!(ids(&from_zero), ids(&category));
    // By a plain name prefix (matches both categories), and several prefixes at once.
    let everything = read_all_after(&*store, start, &EventFilter::streams([scope.clone()])).await;
    assert_eq!(streams_of(&everything), [a, a, b, b, x, x, a]);
    let two_categories = read_all_after(
        &*store,
        start,
        &EventFilter::streams([format!("{scope}x-"), format!("{scope}-")]),
    )
    .await;
    assert_eq!(ids(&two_categories), ids(&everything));
    let two_streams = read_all_after(&*store, start, &EventFilter::streams([a, x])).await;
    assert_eq!(streams_of(&two_streams), [a, a, x, x, a]);
    // By event-type prefix, alone and combined with a stream prefix.
    let by_type = read_all_after(
        &*store,
        start,
        &EventFilter::event_types([format!("{scope}One.")]),
    )
    .await;
    assert_eq!(streams_of(&by_type), [a, a, x, x, a]);
    let both = EventFilter {
        stream_prefixes: vec![format!("{scope}-")],
        event_type_prefixes: vec![format!("{scope}One."), format!("{scope}Two.H")],
    };
    assert_eq!(
        ids(&read_all_after(&*store, start, &both).await),
        ids(&category)
    );
    let narrow = EventFilter {
        stream_prefixes: vec![format!("{scope}-")],
        event_type_prefixes: vec![one_other.clone()],
    };
    assert!(read_all_after(&*store, start, &narrow).await.is_empty());
    // Limits and exclusive starts.
    let filter = EventFilter::streams([format!("{scope}-")]);
    let first_two = store.read_all(start, &filter, 2).await.unwrap();
    assert_eq!(ids(&first_two), ids(&category[..2]));
    let rest = store
        .read_all(Some(first_two[1].position), &filter, 100)
        .await
        .unwrap();
    assert_eq!(ids(&rest), ids(&category[2..]));
    let after_last = store
        .read_all(Some(category[4].position), &filter, 100)
        .await
        .unwrap();
    assert!(after_last.is_empty());
    // Unfiltered: the log after `start` holds at least our seven events, in order.
    let all = read_all_after(&*store, start, &EventFilter::all()).await;
    assert!(all.windows(2).all(|w| w[0].position < w[1].position));
    let ours: Vec<EventId> = all
        .iter()
        .filter(|e| e.stream.starts_with(&scope))
        .map(|e| e.event_id)
        .collect();
    assert_eq!(ours, ids(&everything));
}

// ---------------------------------------------------------------------------------------
// idempotence and validation

/// Re-appending the same events at the same expectation returns the original result and
/// writes nothing.
pub async fn idempotent_retry_returns_the_original_result(store: SharedStore) {
    let stream = format!("{}-retry", scope());
    let first = events("T", 0..2);
    let original = append_ok(&*store, &stream, ExpectedRevision::NoStream, first.clone()).await;
    let retried = append_ok(&*store, &stream, ExpectedRevision::NoStream, first.clone()).await;
    assert_eq!(retried, original);
    let second = events("T", 2..3);
    let next = append_ok(&*store, &stream, ExpectedRevision::Exact(1), second.clone()).await;
    assert_eq!(
        append_ok(&*store, &stream, ExpectedRevision::Exact(1), second.clone()).await,
        next
    );
    // An older request retried after the stream moved on is still recognised.
    assert_eq!(
        append_ok(&*store, &stream, ExpectedRevision::NoStream, first.clone()).await,
        original
    );
    let stored = read_forwards(&*store, &stream).await;
    assert_eq!(
        ids(&stored),
        [new_ids(&first), new_ids(&second)].concat(),
        "a retry must not duplicate events"
    );
}

/// A request whose ids are only partly stored (or stored out of order) is refused, and
/// nothing of it is written.
pub async fn partial_overlap_is_refused(store: SharedStore) {
    let stream = format!("{}-overlap", scope());
    let first = events("T", 0..2);
    append_ok(&*store, &stream, ExpectedRevision::NoStream, first.clone()).await;
    let fresh = event("T", 9);
    // (A request at the stream's *current* revision, or with `Any`, mixing stored and new ids
    // is a backend-specific case: see `overlap_at_the_current_revision_is_refused`.)
    let attempts = [
        (
            ExpectedRevision::NoStream,
            vec![first[0].clone(), first[1].clone(), fresh.clone()],
        ),
        (
            ExpectedRevision::NoStream,
            vec![first[1].clone(), first[0].clone()],
        ),
    ];
    for (expected, attempt) in attempts {
        let refused = store.append(&stream, expected, attempt).await;
        assert_conflict(refused, &stream, expected, CurrentRevision::Current(1));
    }
    assert_eq!(ids(&read_forwards(&*store, &stream).await), new_ids(&first));
    // The fresh event was never written: it can still be appended.
    append_ok(&*store, &stream, ExpectedRevision::Exact(1), vec![fresh]).await;
}

/// Event ids are unique in the whole store: re-appending ids that belong to another stream
/// is refused.
/// Backend-specific (not in [`crate::conformance_tests!`]): the embedded store refuses an event
/// id already used in another stream; EventStoreDB only deduplicates within a stream.
pub async fn event_ids_are_unique_across_streams(store: SharedStore) {
    let scope = scope();
    let (a, b) = (format!("{scope}-a"), format!("{scope}-b"));
    let first = events("T", 0..2);
    append_ok(&*store, &a, ExpectedRevision::NoStream, first.clone()).await;
    let refused = store
        .append(&b, ExpectedRevision::NoStream, first.clone())
        .await;
    assert_conflict(
        refused,
        &b,
        ExpectedRevision::NoStream,
        CurrentRevision::NoStream,
    );
    assert!(read_forwards(&*store, &b).await.is_empty());
}

/// Empty or reserved stream names and duplicate ids in one request are invalid.
pub async fn invalid_requests_are_refused(store: SharedStore) {
    let stream = format!("{}-invalid", scope());
    let invalid =
        |r: Result<AppendResult, StoreError>| matches!(r, Err(StoreError::InvalidRequest(_)));
    assert!(invalid(
        store
            .append("", ExpectedRevision::Any, events("T", 0..1))
            .await
    ));
    assert!(invalid(
        store
            .append(
                &format!("${stream}"),
                ExpectedRevision::Any,
                events("T", 0..1)
            )
            .await
    ));
    let e = event("T", 0);
    assert!(invalid(
        store
            .append(
                &stream,
                ExpectedRevision::Any,
                vec![e.clone(), event("T", 1), e]
            )
            .await
    ));
    assert!(read_forwards(&*store, &stream).await.is_empty());
}

/// Type, version, data, metadata and a server timestamp come back as appended, from stream
/// reads, global reads and subscriptions alike.
pub async fn data_and_metadata_round_trip(store: SharedStore) {
    let scope = scope();
    let stream = format!("{scope}-roundtrip");
    let start = head(&*store).await;
    let data = json!({
        "text": "Zürich → 東京 \"quoted\" \\ back",
        "int": -42,
        "big": 9_007_199_254_740_993u64,
        "float": 1.5,
        "null": null,
        "list": [1, "two", {"three": [3]}],
        "nested": {"a": {"b": {"c": true}}},
    });
    let metadata = EventMetadata {
        correlation_id: Some("corr-1".into()),
        causation_id: Some("cause-2".into()),
        actor: Some("client:abc".into()),
        request_id: Some("req-3".into()),
    };
    let new = NewEvent {
        event_id: EventId::generate(now()),
        event_type: "Conformance.RoundTripped".into(),
        event_version: 7,
        data: data.clone(),
        metadata: metadata.clone(),
        recorded_at: None,
    };
    let plain = NewEvent::raw("Conformance.Plain", json!([]), now());
    let before = now();
    append_ok(
        &*store,
        &stream,
        ExpectedRevision::NoStream,
        vec![new.clone(), plain.clone()],
    )
    .await;
    let after = now();
    let stored = read_forwards(&*store, &stream).await;
    assert_eq!(stored.len(), 2);
    let check = |e: &RecordedEvent, n: &NewEvent| {
        assert_eq!(e.event_id, n.event_id);
        assert_eq!(e.stream, stream);
        assert_eq!(e.event_type, n.event_type);
        assert_eq!(e.event_version, n.event_version);
        assert_eq!(e.data_json().unwrap(), n.data);
        assert_eq!(e.metadata, n.metadata);
        // The server's clock, allowing for a server on another machine.
        let skew = Duration::from_secs(300);
        assert!(
            e.recorded_at >= before.minus(skew) && e.recorded_at <= after.plus(skew),
            "recorded_at {} not around {before}..{after}",
            e.recorded_at
        );
    };
    check(&stored[0], &new);
    check(&stored[1], &plain);
    assert_eq!(stored[0].category(), scope);
    let global = read_all_after(&*store, start, &EventFilter::streams([stream.clone()])).await;
    assert_eq!(global, stored);
    let mut subscription = store
        .subscribe_all(start, EventFilter::streams([stream.clone()]))
        .await
        .unwrap();
    let mut received = Received::default();
    received.until_events(&mut subscription, 2).await;
    assert_eq!(received.events, stored);
}

/// `head` is the position of the last event of the log.
pub async fn head_follows_the_log(store: SharedStore) {
    let stream = format!("{}-head", scope());
    let start = head(&*store).await;
    let r = append_ok(&*store, &stream, ExpectedRevision::Any, events("T", 0..3)).await;
    let p = r.position.unwrap();
    assert!(start.is_none_or(|s| p > s));
    assert!(head(&*store).await >= Some(p));
    assert_eq!(
        store.stream_revision(&stream).await.unwrap(),
        CurrentRevision::Current(2)
    );
}

/// `category_head` changes once an append to a stream of the category is acknowledged
/// (whatever else it does: the default follows the global head).
pub async fn category_head_moves_with_appends_to_the_category(store: SharedStore) {
    let category = format!("{}-", scope());
    let before = store.category_head(&category).await.unwrap();
    let stream = format!("{category}1");
    append_ok(
        &*store,
        &stream,
        ExpectedRevision::NoStream,
        events("T", 0..1),
    )
    .await;
    let after = store.category_head(&category).await.unwrap();
    assert_ne!(before, after);
    assert_eq!(store.category_head(&category).await.unwrap(), after);
    let other = format!("{category}2");
    append_ok(
        &*store,
        &other,
        ExpectedRevision::NoStream,
        events("T", 0..1),
    )
    .await;
    assert_ne!(store.category_head(&category).await.unwrap(), after);
    let now = store.category_head(&category).await.unwrap();
    assert_eq!(
        store.category_heads(&[&category, &category]).await.unwrap(),
        vec![now, now]
    );
}

// ---------------------------------------------------------------------------------------
// concurrency

/// N writers race an `Exact(k)` append on one stream, round after round: exactly one wins
/// each revision, the others see the winner's revision, and the stream has no holes.
pub async fn racing_exact_appends_have_one_winner_per_revision(store: SharedStore) {
    const WRITERS: usize = 8;
    const ROUNDS: u64 = 12;
    let stream = format!("{}-race", scope());
    for round in 0..ROUNDS {
        let expected = match round {
            0 => ExpectedRevision::NoStream,
            k => ExpectedRevision::Exact(k - 1),
        };
        let barrier = Arc::new(Barrier::new(WRITERS));
        let tasks: Vec<_> = (0..WRITERS)
            .map(|w| {
                let (store, stream, barrier) =
                    (Arc::clone(&store), stream.clone(), Arc::clone(&barrier));
                tokio::spawn(async move {
                    barrier.wait().await;
                    store
                        .append(&stream, expected, vec![event("T", w as u64)])
                        .await
                })
            })
            .collect();
        let mut winners = 0;
        for task in tasks {
            match within("racing append", task).await.unwrap() {
                Ok(r) => {
                    winners += 1;
                    assert_eq!(r.next_expected, CurrentRevision::Current(round));
                }
                Err(e) => assert_eq!(
                    e,
                    StoreError::WrongExpectedVersion {
                        stream: stream.clone(),
                        expected,
                        actual: CurrentRevision::Current(round),
                    }
                ),
            }
        }
        assert_eq!(winners, 1, "round {round}: exactly one writer must win");
    }
    let stored = read_forwards(&*store, &stream).await;
    assert_eq!(revisions(&stored), (0..ROUNDS).collect::<Vec<_>>());
}

/// Writers that read the revision and retry on conflict all get their events in, with
/// contiguous revisions and each event exactly once.
pub async fn optimistic_writers_leave_no_holes(store: SharedStore) {
    const WRITERS: usize = 8;
    const EACH: usize = 12;
    let stream = format!("{}-occ", scope());
    let tasks: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (store, stream) = (Arc::clone(&store), stream.clone());
            tokio::spawn(async move {
                let mut mine = Vec::new();
                let mut conflicts = 0u32;
                while mine.len() < EACH {
                    let current = store.stream_revision(&stream).await.unwrap();
                    let e = event("T", (w * EACH + mine.len()) as u64);
                    let id = e.event_id;
                    match store
                        .append(&stream, ExpectedRevision::from(current), vec![e])
                        .await
                    {
                        Ok(_) => mine.push(id),
                        Err(StoreError::WrongExpectedVersion { .. }) => conflicts += 1,
                        Err(other) => panic!("unexpected error: {other}"),
                    }
                    assert!(conflicts < 10_000, "writer {w} starves");
                }
                mine
            })
        })
        .collect();
    let mut appended = Vec::new();
    for task in tasks {
        appended.extend(within("optimistic writer", task).await.unwrap());
    }
    let stored = read_forwards(&*store, &stream).await;
    assert_eq!(
        revisions(&stored),
        (0..(WRITERS * EACH) as u64).collect::<Vec<_>>()
    );
    assert_exactly_once_in_log_order(&stored, &appended);
}

/// Many concurrent writers to different streams all succeed; the global log has every event
/// exactly once, in strictly increasing positions, each stream's revisions in log order.
pub async fn concurrent_writers_to_distinct_streams_all_succeed(store: SharedStore) {
    const WRITERS: u64 = 32;
    const APPENDS: u64 = 15;
    let scope = scope();
    let start = head(&*store).await;
    let tasks: Vec<_> = (0..WRITERS)
        .map(|w| {
            let store = Arc::clone(&store);
            let stream = format!("{scope}-w{w}");
            tokio::spawn(async move {
                let mut mine = Vec::new();
                let mut expected = ExpectedRevision::NoStream;
                for i in 0..APPENDS {
                    let batch = events("T", 0..(i % 3) + 1);
                    mine.extend(new_ids(&batch));
                    let r = store.append(&stream, expected, batch).await.unwrap();
                    expected = r.next_expected.into();
                }
                mine
            })
        })
        .collect();
    let mut appended = Vec::new();
    for task in tasks {
        appended.extend(within("concurrent writer", task).await.unwrap());
    }
    let log = read_all_after(&*store, start, &EventFilter::streams([format!("{scope}-")])).await;
    assert_exactly_once_in_log_order(&log, &appended);
    let mut next_revision: HashMap<&str, u64> = HashMap::new();
    for e in &log {
        let next = next_revision.entry(e.stream.as_str()).or_default();
        assert_eq!(
            e.revision, *next,
            "stream {} out of order in the log",
            e.stream
        );
        *next += 1;
    }
    assert_eq!(next_revision.len(), WRITERS as usize);
}

// ---------------------------------------------------------------------------------------
// subscriptions

/// History, then one `CaughtUp`, then live events, in order.
pub async fn subscription_delivers_history_then_live(store: SharedStore) {
    let scope = scope();
    let start = head(&*store).await;
    let stream = format!("{scope}-sub");
    let history = events("T", 0..5);
    append_ok(
        &*store,
        &stream,
        ExpectedRevision::NoStream,
        history.clone(),
    )
    .await;
    let mut subscription = store
        .subscribe_all(start, EventFilter::streams([format!("{scope}-")]))
        .await
        .unwrap();
    let mut received = Received::default();
    received.until_caught_up(&mut subscription).await;
    assert_eq!(ids(&received.events), new_ids(&history));
    let live = events("T", 5..8);
    append_ok(&*store, &stream, ExpectedRevision::Exact(4), live.clone()).await;
    received.until_events(&mut subscription, 8).await;
    assert_eq!(received.caught_up_after, Some(5));
    assert_eq!(
        ids(&received.events),
        [new_ids(&history), new_ids(&live)].concat()
    );
    assert_eq!(revisions(&received.events), (0..8).collect::<Vec<_>>());
}

/// Events appended while the subscription catches up (history → live handover) arrive
/// exactly once, in log order.
pub async fn subscription_handover_has_no_gaps_or_duplicates(store: SharedStore) {
    const WRITERS: u64 = 4;
    const APPENDS: u64 = 60;
    let scope = scope();
    let start = head(&*store).await;
    let (started_tx, started_rx) = tokio::sync::oneshot::channel::<()>();
    let started_tx = Arc::new(std::sync::Mutex::new(Some(started_tx)));
    let tasks: Vec<_> = (0..WRITERS)
        .map(|w| {
            let store = Arc::clone(&store);
            let stream = format!("{scope}-h{w}");
            let started_tx = Arc::clone(&started_tx);
            tokio::spawn(async move {
                let mut mine = Vec::new();
                for i in 0..APPENDS {
                    let batch = events("T", 0..(i % 2) + 1);
                    mine.extend(new_ids(&batch));
                    store
                        .append(&stream, ExpectedRevision::Any, batch)
                        .await
                        .unwrap();
                    if i == 10
                        && let Some(tx) = started_tx.lock().unwrap().take()
                    {
                        let _ = tx.send(());
                    }
                    if i % 8 == 0 {
                        tokio::task::yield_now().await;
                    }
                }
                mine
            })
        })
        .collect();
    within("writers start", started_rx).await.unwrap();
    let mut subscription = store
        .subscribe_all(start, EventFilter::streams([format!("{scope}-")]))
        .await
        .unwrap();
    let mut appended = Vec::new();
    for task in tasks {
        appended.extend(within("handover writer", task).await.unwrap());
    }
    let mut received = Received::default();
    received
        .until_events(&mut subscription, appended.len())
        .await;
    received.until_caught_up(&mut subscription).await;
    // Nothing more than what was appended.
    let extra = event("T", 0);
    append_ok(
        &*store,
        &format!("{scope}-h0"),
        ExpectedRevision::Any,
        vec![extra.clone()],
    )
    .await;
    received
        .until_events(&mut subscription, appended.len() + 1)
        .await;
    appended.push(extra.event_id);
    assert_exactly_once_in_log_order(&received.events, &appended);
    let log = read_all_after(&*store, start, &EventFilter::streams([format!("{scope}-")])).await;
    assert_eq!(ids(&received.events), ids(&log));
}

/// A subscription from a position delivers exactly the events after it.
pub async fn subscription_resumes_after_a_checkpoint(store: SharedStore) {
    let scope = scope();
    let stream = format!("{scope}-resume");
    let appended = events("T", 0..10);
    append_ok(
        &*store,
        &stream,
        ExpectedRevision::NoStream,
        appended.clone(),
    )
    .await;
    let stored = read_forwards(&*store, &stream).await;
    let checkpoint = stored[3].position;
    let mut subscription = store
        .subscribe_all(
            Some(checkpoint),
            EventFilter::streams([format!("{scope}-")]),
        )
        .await
        .unwrap();
    let mut received = Received::default();
    received.until_caught_up(&mut subscription).await;
    assert_eq!(ids(&received.events), new_ids(&appended[4..]));
    // Resuming from the last event: nothing but live events.
    let mut subscription = store
        .subscribe_all(
            Some(stored[9].position),
            EventFilter::streams([format!("{scope}-")]),
        )
        .await
        .unwrap();
    let mut received = Received::default();
    received.until_caught_up(&mut subscription).await;
    assert!(received.events.is_empty());
    let live = event("T", 10);
    append_ok(
        &*store,
        &stream,
        ExpectedRevision::Exact(9),
        vec![live.clone()],
    )
    .await;
    received.until_events(&mut subscription, 1).await;
    assert_eq!(received.events[0].event_id, live.event_id);
}

/// Filtered subscriptions deliver only matching events, in history and live; checkpoints
/// never go back before a delivered event.
pub async fn filtered_subscription_delivers_only_matching_events(store: SharedStore) {
    let scope = scope();
    let start = head(&*store).await;
    let keep_type = format!("{scope}Keep.Happened");
    let skip_type = format!("{scope}Skip.Happened");
    let (keep_stream, skip_stream) = (format!("{scope}-keep"), format!("{scope}-skip"));
    let mut kept = Vec::new();
    for i in 0..10u64 {
        let k = event(&keep_type, i);
        kept.push(k.event_id);
        append_ok(&*store, &keep_stream, ExpectedRevision::Any, vec![k]).await;
        append_ok(
            &*store,
            &skip_stream,
            ExpectedRevision::Any,
            events(&skip_type, 0..2),
        )
        .await;
    }
    let by_type = EventFilter::event_types([format!("{scope}Keep.")]);
    let by_stream = EventFilter::streams([keep_stream.clone()]);
    let mut subscriptions = Vec::new();
    for filter in [by_type, by_stream] {
        let mut subscription = store.subscribe_all(start, filter).await.unwrap();
        let mut received = Received::default();
        received.until_caught_up(&mut subscription).await;
        assert_eq!(ids(&received.events), kept);
        subscriptions.push((subscription, received));
    }
    for i in 10..13u64 {
        append_ok(
            &*store,
            &skip_stream,
            ExpectedRevision::Any,
            events(&skip_type, 0..3),
        )
        .await;
        let k = event(&keep_type, i);
        kept.push(k.event_id);
        append_ok(&*store, &keep_stream, ExpectedRevision::Any, vec![k]).await;
    }
    append_ok(
        &*store,
        &skip_stream,
        ExpectedRevision::Any,
        events(&skip_type, 0..3),
    )
    .await;
    for (mut subscription, mut received) in subscriptions {
        received.until_events(&mut subscription, kept.len()).await;
        assert_eq!(ids(&received.events), kept);
        assert!(
            received
                .events
                .iter()
                .all(|e| e.event_type == keep_type && e.stream == keep_stream)
        );
    }
}

/// Subscriptions that nobody polls (before or after catching up) never hold writers back,
/// and deliver everything once polled again.
pub async fn idle_subscriptions_do_not_block_writers(store: SharedStore) {
    const APPENDS: u64 = 300;
    const EACH: u64 = 4;
    let scope = scope();
    let start = head(&*store).await;
    let filter = EventFilter::streams([format!("{scope}-")]);
    let stream = format!("{scope}-idle");
    append_ok(
        &*store,
        &stream,
        ExpectedRevision::NoStream,
        events("T", 0..1),
    )
    .await;
    let mut never_polled = store.subscribe_all(start, filter.clone()).await.unwrap();
    let mut live = store.subscribe_all(start, filter.clone()).await.unwrap();
    let mut live_received = Received::default();
    live_received.until_caught_up(&mut live).await;
    let mut unfiltered = store
        .subscribe_all(start, EventFilter::all())
        .await
        .unwrap();
    let _ = within("first message", unfiltered.next()).await;
    within("appends while subscriptions idle", async {
        for i in 0..APPENDS {
            append_ok(
                &*store,
                &stream,
                ExpectedRevision::Exact(i * EACH),
                events("T", 0..EACH),
            )
            .await;
        }
    })
    .await;
    let total = (1 + APPENDS * EACH) as usize;
    let log = read_all_after(&*store, start, &filter).await;
    assert_eq!(log.len(), total);
    let mut received = Received::default();
    received.until_events(&mut never_polled, total).await;
    assert_eq!(ids(&received.events), ids(&log));
    live_received.until_events(&mut live, total).await;
    assert_eq!(ids(&live_received.events), ids(&log));
}

/// After `close`, appends fail with `Closed` and the store reports itself unhealthy.
pub async fn close_refuses_further_appends(store: SharedStore) {
    let stream = format!("{}-close", scope());
    assert!(store.is_healthy().await);
    append_ok(
        &*store,
        &stream,
        ExpectedRevision::NoStream,
        events("T", 0..1),
    )
    .await;
    store.close().await.unwrap();
    assert_eq!(
        store
            .append(&stream, ExpectedRevision::Any, events("T", 1..2))
            .await,
        Err(StoreError::Closed)
    );
    assert!(!store.is_healthy().await);
}

/// A migration keeps each event's original timestamp (`NewEvent::recorded_at`), and an
/// event re-created from a recorded one (`to_new_event`) is identical but for its position.
pub async fn imported_timestamps_are_kept(store: SharedStore) {
    let stream = format!("{}-imported", scope());
    let original = Timestamp::parse_rfc3339("2021-03-04T05:06:07.123456789Z").unwrap();
    let mut imported = event("Conformance.Imported", 1);
    imported.recorded_at = Some(original);
    append_ok(&*store, &stream, ExpectedRevision::NoStream, vec![imported]).await;
    let stored = read_forwards(&*store, &stream).await;
    assert_eq!(stored[0].recorded_at, original);
    let again = stored[0].to_new_event().unwrap();
    assert_eq!(again.recorded_at, Some(original));
    assert_eq!(again.event_id, stored[0].event_id);
    assert_eq!(again.data, stored[0].data_json().unwrap());
}

/// Backend-specific (not in [`crate::conformance_tests!`]): the embedded store also refuses a
/// request at the current revision (or with `Any`) that mixes stored and new ids;
/// EventStoreDB checks ids only when the expected revision is behind the stream's.
pub async fn overlap_at_the_current_revision_is_refused(store: SharedStore) {
    let stream = format!("{}-overlap-current", scope());
    let first = events("T", 0..2);
    append_ok(&*store, &stream, ExpectedRevision::NoStream, first.clone()).await;
    let fresh = event("T", 9);
    for (expected, attempt) in [
        (
            ExpectedRevision::Exact(1),
            vec![first[1].clone(), fresh.clone()],
        ),
        (ExpectedRevision::Any, vec![fresh.clone(), first[0].clone()]),
    ] {
        let refused = store.append(&stream, expected, attempt).await;
        assert_conflict(refused, &stream, expected, CurrentRevision::Current(1));
    }
    assert_eq!(ids(&read_forwards(&*store, &stream).await), new_ids(&first));
}
