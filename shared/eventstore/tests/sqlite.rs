//! Behaviour specific to the embedded SQLite backend: durability across reopen, schema,
//! group commit, per-request failure inside a batch, close.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Waker};

use ecohub_eventstore::sqlite::{SCHEMA_VERSION, SqliteStoreStats};
use ecohub_eventstore::{
    AppendResult, CurrentRevision, EventFilter, EventStore, ExpectedRevision, NewEvent, Position,
    ReadStreamOptions, RecordedEvent, SqliteStore, SqliteStoreOptions, StoreError,
    SubscriptionMessage, read_stream_to_end,
};
use ecohub_kernel::Timestamp;
use futures_util::StreamExt;
use serde_json::json;

fn event(n: u64) -> NewEvent {
    NewEvent::raw(
        "Test.Happened",
        json!({ "n": n }),
        Timestamp::from(time::OffsetDateTime::now_utc()),
    )
}

fn events(n: u64) -> Vec<NewEvent> {
    (0..n).map(event).collect()
}

fn open(path: &std::path::Path) -> SqliteStore {
    SqliteStore::open(path, SqliteStoreOptions::default()).unwrap()
}

async fn read_all(store: &dyn EventStore) -> Vec<RecordedEvent> {
    store
        .read_all(None, &EventFilter::all(), usize::MAX)
        .await
        .unwrap()
}

type Pending = Pin<Box<dyn Future<Output = Result<AppendResult, StoreError>> + Send>>;

/// Polls an append once: the request is validated and handed to the writer during the first
/// poll, so after this it is accepted (queued) but not answered while the writer is blocked.
fn submit(
    store: &SqliteStore,
    stream: &str,
    expected: ExpectedRevision,
    events: Vec<NewEvent>,
) -> Pending {
    let store = store.clone();
    let stream = stream.to_owned();
    let mut fut: Pending = Box::pin(async move { store.append(&stream, expected, events).await });
    let mut cx = Context::from_waker(Waker::noop());
    assert!(
        fut.as_mut().poll(&mut cx).is_pending(),
        "the writer is blocked: the append cannot be answered yet"
    );
    fut
}

/// Holds SQLite's write lock from another connection, so that the writer thread blocks on
/// its next `BEGIN IMMEDIATE` (its busy timeout is 5 s) and requests pile up in its queue.
struct WriteLock(rusqlite::Connection);

impl WriteLock {
    fn take(path: &std::path::Path) -> Self {
        let conn = rusqlite::Connection::open(path).unwrap();
        conn.execute_batch("BEGIN IMMEDIATE").unwrap();
        Self(conn)
    }

    fn release(self) {
        self.0.execute_batch("COMMIT").unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reopen_after_close_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/dirs/events.db");
    let store = open(&path);
    for s in 0..5u64 {
        for _ in 0..4 {
            store
                .append(&format!("thing-{s}"), ExpectedRevision::Any, events(3))
                .await
                .unwrap();
        }
    }
    let before = read_all(&store).await;
    let head = store.head().await.unwrap();
    store.close().await.unwrap();
    // The final checkpoint folded the WAL into the database.
    let wal = path.with_file_name("events.db-wal");
    assert!(std::fs::metadata(&wal).map_or(0, |m| m.len()) == 0);

    let store = open(&path);
    assert_eq!(read_all(&store).await, before);
    assert_eq!(store.head().await.unwrap(), head);
    assert_eq!(before.len(), 60);
    assert!(
        before
            .windows(2)
            .all(|w| w[0].position < w[1].position && w[0].recorded_at <= w[1].recorded_at)
    );
    assert_eq!(before[0].position, Position::new(1));
    // Revisions and positions continue where they were.
    let r = store
        .append("thing-0", ExpectedRevision::Exact(11), events(1))
        .await
        .unwrap();
    assert_eq!(r.next_expected, CurrentRevision::Current(12));
    assert_eq!(r.position, Some(Position::new(61)));
    store.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drop_without_close_keeps_acknowledged_appends() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.db");
    let store = open(&path);
    let mut acked = Vec::new();
    for i in 0..20 {
        let batch = events(2);
        acked.extend(batch.iter().map(|e| e.event_id));
        store
            .append(&format!("s-{}", i % 3), ExpectedRevision::Any, batch)
            .await
            .unwrap();
    }
    drop(store);
    let store = open(&path);
    let stored: Vec<_> = read_all(&store).await.iter().map(|e| e.event_id).collect();
    assert_eq!(stored, acked);
    store.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schema_is_created_and_versioned() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a/b/events.db");
    let store = open(&path);
    store
        .append("s-1", ExpectedRevision::NoStream, events(1))
        .await
        .unwrap();
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, SCHEMA_VERSION);
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let mut stmt = conn
            .prepare("SELECT name FROM sqlite_master WHERE tbl_name = 'events' ORDER BY name")
            .unwrap();
        let names: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(
            names,
            [
                "events",
                "events_category_position",
                "events_event_id",
                "events_stream_revision"
            ]
        );
        let (category, stream): (String, String) = conn
            .query_row("SELECT category, stream FROM events", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!((category.as_str(), stream.as_str()), ("s", "s-1"));
        // A global read filtered by category walks the category index.
        let plan: String = conn
            .query_row(
                "EXPLAIN QUERY PLAN SELECT * FROM events WHERE category = 's' \
                 AND position > 0 AND position <= 10 ORDER BY position LIMIT 10",
                [],
                |r| r.get(3),
            )
            .unwrap();
        assert!(plan.contains("events_category_position"), "{plan}");
    }
    store.close().await.unwrap();
    // Reopening an up-to-date schema is fine; a newer one is refused.
    open(&path).close().await.unwrap();
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(&format!("PRAGMA user_version = {}", SCHEMA_VERSION + 1))
            .unwrap();
    }
    let err = SqliteStore::open(&path, SqliteStoreOptions::default()).unwrap_err();
    assert!(
        matches!(err, StoreError::Internal(ref m) if m.contains("newer")),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn group_commit_batches_concurrent_appends() {
    const WRITERS: u64 = 64;
    const EACH: u64 = 20;
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("events.db"));
    let tasks: Vec<_> = (0..WRITERS)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                for i in 0..EACH {
                    store
                        .append(&format!("w-{w}"), ExpectedRevision::Any, vec![event(i)])
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let stats = store.stats();
    assert_eq!(stats.appends, WRITERS * EACH);
    assert_eq!(stats.events, WRITERS * EACH);
    assert_eq!(stats.failed_commits, 0);
    assert!(
        stats.commits < stats.appends,
        "64 concurrent writers must share commits: {stats:?}"
    );
    store.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_appends_share_one_commit_and_batch_size_one_does_not() {
    for (max_batch_events, expected_commits) in [(1024, 1..=2), (1, 40..=40)] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.db");
        let store = SqliteStore::open(
            &path,
            SqliteStoreOptions {
                max_batch_events,
                ..SqliteStoreOptions::default()
            },
        )
        .unwrap();
        let lock = WriteLock::take(&path);
        let pending: Vec<_> = (0..40)
            .map(|i| {
                submit(
                    &store,
                    &format!("q-{i}"),
                    ExpectedRevision::NoStream,
                    events(1),
                )
            })
            .collect();
        lock.release();
        for p in pending {
            p.await.unwrap();
        }
        let SqliteStoreStats {
            commits, appends, ..
        } = store.stats();
        assert_eq!(appends, 40);
        assert!(
            expected_commits.contains(&commits),
            "max batch {max_batch_events}: {commits} commits"
        );
        store.close().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_request_does_not_fail_the_rest_of_its_batch() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.db");
    let store = open(&path);
    let existing = events(2);
    let original = store
        .append("acct-1", ExpectedRevision::NoStream, existing.clone())
        .await
        .unwrap();

    let lock = WriteLock::take(&path);
    let shared = event(100);
    let lone = event(101);
    let ok_a = submit(
        &store,
        "acct-2",
        ExpectedRevision::NoStream,
        vec![shared.clone()],
    );
    let conflict = submit(&store, "acct-1", ExpectedRevision::NoStream, events(1));
    let retry = submit(
        &store,
        "acct-1",
        ExpectedRevision::NoStream,
        existing.clone(),
    );
    let partial = submit(
        &store,
        "acct-1",
        ExpectedRevision::Exact(1),
        vec![existing[1].clone(), event(102)],
    );
    // Reuses an id written by an earlier request of the same batch: its savepoint is rolled
    // back, so `lone` must not be written.
    let same_batch_dup = submit(
        &store,
        "acct-3",
        ExpectedRevision::NoStream,
        vec![lone.clone(), shared.clone()],
    );
    // Sees the revision staged by `ok_a` in the same (uncommitted) transaction.
    let ok_b = submit(&store, "acct-2", ExpectedRevision::Exact(0), events(2));
    let ok_c = submit(&store, "acct-1", ExpectedRevision::Exact(1), events(1));
    lock.release();

    assert_eq!(
        ok_a.await.unwrap().next_expected,
        CurrentRevision::Current(0)
    );
    assert_eq!(
        conflict.await,
        Err(StoreError::WrongExpectedVersion {
            stream: "acct-1".into(),
            expected: ExpectedRevision::NoStream,
            actual: CurrentRevision::Current(1),
        })
    );
    assert_eq!(retry.await.unwrap(), original);
    assert!(matches!(
        partial.await,
        Err(StoreError::WrongExpectedVersion { .. })
    ));
    assert_eq!(
        same_batch_dup.await,
        Err(StoreError::WrongExpectedVersion {
            stream: "acct-3".into(),
            expected: ExpectedRevision::NoStream,
            actual: CurrentRevision::NoStream,
        })
    );
    assert_eq!(
        ok_b.await.unwrap().next_expected,
        CurrentRevision::Current(2)
    );
    assert_eq!(
        ok_c.await.unwrap().next_expected,
        CurrentRevision::Current(2)
    );

    assert!(
        read_stream_to_end(&store, "acct-3")
            .await
            .unwrap()
            .is_empty()
    );
    let log = read_all(&store).await;
    assert_eq!(log.len(), 2 + 1 + 2 + 1);
    assert!(log.iter().all(|e| e.event_id != lone.event_id));
    assert!(
        log.windows(2)
            .all(|w| w[1].position.commit == w[0].position.commit + 1)
    );
    let stats = store.stats();
    assert_eq!(stats.failed_commits, 0);
    assert!(stats.commits <= 3, "{stats:?}");
    // The revision cache agrees with the database afterwards.
    assert_eq!(
        store
            .append("acct-3", ExpectedRevision::NoStream, vec![lone])
            .await
            .unwrap()
            .next_expected,
        CurrentRevision::Current(0)
    );
    store.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_completes_accepted_appends_and_refuses_new_ones() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.db");
    let store = open(&path);
    let lock = WriteLock::take(&path);
    let pending: Vec<_> = (0..50)
        .map(|i| {
            submit(
                &store,
                &format!("c-{}", i % 5),
                ExpectedRevision::Any,
                events(2),
            )
        })
        .collect();
    let closing = {
        let store = store.clone();
        tokio::spawn(async move { store.close().await })
    };
    // Once close has begun, nothing new is accepted.
    while store.is_healthy().await {
        tokio::task::yield_now().await;
    }
    assert_eq!(
        store.append("c-0", ExpectedRevision::Any, events(1)).await,
        Err(StoreError::Closed)
    );
    lock.release();
    for p in pending {
        p.await.unwrap();
    }
    closing.await.unwrap().unwrap();
    assert!(matches!(
        store
            .read_stream("c-0", ReadStreamOptions::forwards())
            .await,
        Err(StoreError::Closed)
    ));
    let store = open(&path);
    assert_eq!(read_all(&store).await.len(), 100);
    store.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_end_with_closed_after_delivering_everything() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("events.db"));
    store
        .append("s-1", ExpectedRevision::Any, events(3))
        .await
        .unwrap();
    let mut sub = store.subscribe_all(None, EventFilter::all()).await.unwrap();
    for _ in 0..3 {
        assert!(matches!(
            sub.next().await,
            Some(Ok(SubscriptionMessage::Event(_)))
        ));
    }
    assert_eq!(
        sub.next().await,
        Some(Ok(SubscriptionMessage::CaughtUp {
            position: Some(Position::new(3))
        }))
    );
    store.close().await.unwrap();
    assert_eq!(sub.next().await, Some(Err(StoreError::Closed)));
    assert_eq!(sub.next().await, None);
    assert!(matches!(
        store.subscribe_all(None, EventFilter::all()).await,
        Err(StoreError::Closed)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filtered_subscriptions_checkpoint_past_skipped_events() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(open(&dir.path().join("events.db")));
    // 20 000 events no filter below matches, then one that two of them match.
    for i in 0..20u64 {
        store
            .append(
                &format!("other-{i}"),
                ExpectedRevision::NoStream,
                events(1_000),
            )
            .await
            .unwrap();
    }
    store
        .append("wanted-1", ExpectedRevision::NoStream, events(1))
        .await
        .unwrap();
    assert_eq!(store.head().await.unwrap(), Some(Position::new(20_001)));
    for (filter, scans) in [
        // A category prefix walks the category index: no scan, no checkpoint needed.
        (EventFilter::streams(["wanted-"]), false),
        // Any other prefix scans the log in bounded windows, checkpointing as it goes.
        (EventFilter::streams(["wanted"]), true),
    ] {
        let head = store.head().await.unwrap().unwrap();
        let mut sub = store.subscribe_all(None, filter.clone()).await.unwrap();
        let mut checkpoints = Vec::new();
        let mut delivered = Vec::new();
        loop {
            match sub.next().await.unwrap().unwrap() {
                SubscriptionMessage::Event(e) => delivered.push(e.stream),
                SubscriptionMessage::Checkpoint(p) => checkpoints.push(p),
                SubscriptionMessage::CaughtUp { position } => {
                    assert_eq!(position, Some(head));
                    break;
                }
            }
        }
        assert_eq!(delivered, ["wanted-1"], "{filter:?}");
        assert_eq!(
            !checkpoints.is_empty(),
            scans,
            "{filter:?}: {checkpoints:?}"
        );
        assert!(checkpoints.windows(2).all(|w| w[0] < w[1]));
        assert!(checkpoints.iter().all(|p| *p < head));
        // Live: events the filter skips still move the checkpoint.
        let r = store
            .append("other-0", ExpectedRevision::Any, events(5))
            .await
            .unwrap();
        assert_eq!(
            sub.next().await,
            Some(Ok(SubscriptionMessage::Checkpoint(r.position.unwrap())))
        );
    }
    store.close().await.unwrap();
}

/// Live subscriptions take new events from the tail in memory; one that falls further
/// behind than the tail holds reads the database. Either way: every matching event once, in
/// order, exactly as a read of the log returns it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_subscriptions_get_every_event_from_the_tail_or_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(open(&dir.path().join("events.db")));
    store
        .append("wanted-0", ExpectedRevision::NoStream, events(3))
        .await
        .unwrap();
    let filter = EventFilter::streams(["wanted-"]);
    let mut near = store.subscribe_all(None, filter.clone()).await.unwrap();
    let mut far = store.subscribe_all(None, filter.clone()).await.unwrap();
    async fn until_caught_up(sub: &mut ecohub_eventstore::Subscription) -> Vec<RecordedEvent> {
        let mut got = Vec::new();
        loop {
            match sub.next().await.unwrap().unwrap() {
                SubscriptionMessage::Event(e) => got.push(e),
                SubscriptionMessage::CaughtUp { .. } => return got,
                SubscriptionMessage::Checkpoint(_) => {}
            }
        }
    }
    async fn events_until(
        sub: &mut ecohub_eventstore::Subscription,
        n: usize,
    ) -> Vec<RecordedEvent> {
        let mut got = Vec::new();
        while got.len() < n {
            match sub.next().await.unwrap().unwrap() {
                SubscriptionMessage::Event(e) => got.push(e),
                SubscriptionMessage::Checkpoint(_) => {}
                m @ SubscriptionMessage::CaughtUp { .. } => panic!("{m:?}"),
            }
        }
        got
    }
    assert_eq!(until_caught_up(&mut near).await.len(), 3);
    assert_eq!(until_caught_up(&mut far).await.len(), 3);
    // Commit i appends `others` events the filter skips, then `wanted` it takes.
    let commit = |i: u64, others: u64, wanted: u64| {
        let store = Arc::clone(&store);
        async move {
            for (stream, n) in [
                (format!("other-{i}"), others),
                (format!("wanted-{i}"), wanted),
            ] {
                store
                    .append(&stream, ExpectedRevision::NoStream, events(n))
                    .await
                    .unwrap();
            }
        }
    };
    // A few commits: the near subscriber follows them from the tail.
    for i in 1..=5u64 {
        commit(i, 2, 2).await;
    }
    let live = events_until(&mut near, 10).await;
    // Then far more than the tail holds (16,384 events) while neither subscriber reads.
    for i in 6..=45u64 {
        commit(i, 500, 1).await;
    }
    let far_got = events_until(&mut far, 10 + 40).await;
    let near_got: Vec<RecordedEvent> = live
        .into_iter()
        .chain(events_until(&mut near, 40).await)
        .collect();
    let expected: Vec<RecordedEvent> = read_all(&*store)
        .await
        .into_iter()
        .filter(|e| e.stream.starts_with("wanted-") && e.stream != "wanted-0")
        .collect();
    assert_eq!(expected.len(), 50);
    assert_eq!(near_got, expected, "as the log reads them");
    assert_eq!(far_got, expected, "as the log reads them");
    store.close().await.unwrap();
}

/// The embedded store refuses an event id already used in another stream (EventStoreDB does
/// not check this, so it is not part of the generic suite).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_ids_are_unique_across_streams() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn EventStore> = Arc::new(open(&dir.path().join("events.db")));
    ecohub_eventstore::conformance::event_ids_are_unique_across_streams(store.clone()).await;
    store.close().await.unwrap();
}

/// Embedded-only: a request at the current revision repeating stored ids is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overlap_at_the_current_revision_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn EventStore> = Arc::new(open(&dir.path().join("events.db")));
    ecohub_eventstore::conformance::overlap_at_the_current_revision_is_refused(store.clone()).await;
    store.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn category_heads_move_only_with_their_category_and_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.db");
    let store = open(&path);
    let alpha = store
        .append("alpha-1", ExpectedRevision::NoStream, events(2))
        .await
        .unwrap()
        .position;
    assert_eq!(store.category_head("alpha-").await.unwrap(), alpha);
    // Appends to another category leave it alone; the global head moves.
    let beta = store
        .append("beta-1", ExpectedRevision::NoStream, events(1))
        .await
        .unwrap()
        .position;
    assert_eq!(store.category_head("alpha-").await.unwrap(), alpha);
    assert_eq!(store.category_head("beta-").await.unwrap(), beta);
    assert_eq!(store.head().await.unwrap(), beta);
    // A name sharing the prefix's first letters is another category.
    store
        .append("alphabet-1", ExpectedRevision::NoStream, events(1))
        .await
        .unwrap();
    assert_eq!(store.category_head("alpha-").await.unwrap(), alpha);
    assert_eq!(store.category_head("gamma-").await.unwrap(), None);
    store.close().await.unwrap();

    // Reopened: categories not written since are read from the database.
    let store = open(&path);
    assert_eq!(store.category_head("alpha-").await.unwrap(), alpha);
    assert_eq!(store.category_head("beta-").await.unwrap(), beta);
    let next = store
        .append("alpha-2", ExpectedRevision::NoStream, events(1))
        .await
        .unwrap()
        .position;
    assert_eq!(store.category_head("alpha-").await.unwrap(), next);
    store.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_category_subscription_skips_other_categories_without_missing_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("events.db"));
    store
        .append("alpha-0", ExpectedRevision::NoStream, events(1))
        .await
        .unwrap();
    let mut sub = store
        .subscribe_all(None, EventFilter::streams(["alpha-"]))
        .await
        .unwrap();
    assert!(matches!(
        sub.next().await,
        Some(Ok(SubscriptionMessage::Event(_)))
    ));
    assert!(matches!(
        sub.next().await,
        Some(Ok(SubscriptionMessage::CaughtUp { .. }))
    ));
    // Live: many appends elsewhere, then one of its own, then more elsewhere and another.
    let mut expected = Vec::new();
    for round in 0..3u64 {
        for i in 0..20 {
            store
                .append(
                    &format!("beta-{round}-{i}"),
                    ExpectedRevision::Any,
                    events(1),
                )
                .await
                .unwrap();
        }
        let own = store
            .append(
                &format!("alpha-{}", round + 1),
                ExpectedRevision::NoStream,
                events(1),
            )
            .await
            .unwrap();
        expected.push(own.position.unwrap());
    }
    let mut delivered = Vec::new();
    let mut last_checkpoint = None;
    while delivered.len() < expected.len() {
        match tokio::time::timeout(std::time::Duration::from_secs(10), sub.next())
            .await
            .expect("the subscription keeps up")
        {
            Some(Ok(SubscriptionMessage::Event(e))) => {
                assert!(e.stream.starts_with("alpha-"), "{}", e.stream);
                assert!(last_checkpoint.is_none_or(|c| c < e.position));
                delivered.push(e.position);
            }
            Some(Ok(SubscriptionMessage::Checkpoint(p))) => last_checkpoint = Some(p),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(delivered, expected);
    store.close().await.unwrap();
}
