//! `FaultyStore`: with nothing injected it is the store it wraps (the whole conformance suite
//! passes through it), and each injection does what it says and nothing more.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use ecohub_eventstore::conformance::TestStore;
use ecohub_eventstore::{
    EventFilter, EventStore, ExpectedRevision, NewEvent, ReadStreamOptions, SharedStore,
    SqliteStore, SqliteStoreOptions, StoreError,
};
use ecohub_kernel::Timestamp;
use ecohub_testkit::{FaultyStore, StoreCounts};
use serde_json::json;

fn sqlite() -> (SharedStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store =
        SqliteStore::open(dir.path().join("events.db"), SqliteStoreOptions::default()).unwrap();
    (Arc::new(store), dir)
}

fn event() -> NewEvent {
    NewEvent::raw(
        "Happened",
        json!({"n": 1}),
        Timestamp::from_unix_seconds(1_800_000_000),
    )
}

async fn append(store: &dyn EventStore, stream: &str) -> Result<(), StoreError> {
    store
        .append(stream, ExpectedRevision::Any, vec![event()])
        .await
        .map(|_| ())
}

mod conformance {
    use super::*;

    ecohub_eventstore::conformance_tests!(|| async {
        let (inner, dir) = sqlite();
        let faulty: SharedStore = FaultyStore::new(inner);
        TestStore::shared(faulty).with_guard(dir)
    });
}

#[tokio::test]
async fn category_heads_are_the_inner_stores_not_the_global_head() {
    let (inner, _dir) = sqlite();
    let store = FaultyStore::new(inner.clone());
    append(&*store, "a-1").await.unwrap();
    append(&*store, "b-1").await.unwrap();
    let a = store.category_head("a-").await.unwrap();
    assert_eq!(a, inner.category_head("a-").await.unwrap());
    assert_ne!(
        a,
        store.head().await.unwrap(),
        "the default would answer the global head"
    );
    assert_eq!(
        store.category_heads(&["a-", "b-"]).await.unwrap(),
        inner.category_heads(&["a-", "b-"]).await.unwrap()
    );
    assert_eq!(store.counts().category_head_reads, 3);
}

#[tokio::test]
async fn appends_fail_until_disarmed_and_nothing_is_written() {
    let (inner, _dir) = sqlite();
    let store = FaultyStore::new(inner);
    store.fail_appends();
    for stream in ["a-1", "b-1"] {
        let err = append(&*store, stream).await.unwrap_err();
        assert!(matches!(err, StoreError::Unavailable(_)), "{err}");
    }
    assert_eq!(store.head().await.unwrap(), None);
    store.disarm();
    append(&*store, "a-1").await.unwrap();
    let counts = store.counts();
    assert_eq!((counts.appends, counts.failed_appends), (3, 2));
}

#[tokio::test]
async fn appends_to_a_prefix_fail_and_others_go_through() {
    let (inner, _dir) = sqlite();
    let store = FaultyStore::new(inner.clone());
    store.fail_appends_to("audit-");
    assert!(append(&*store, "audit-1").await.is_err());
    append(&*store, "records-1").await.unwrap();
    assert!(append(&*store, "audit-2").await.is_err());
    let written = inner.read_all(None, &EventFilter::all(), 10).await.unwrap();
    assert_eq!(written.len(), 1);
    assert_eq!(written[0].stream, "records-1");
}

#[tokio::test]
async fn only_the_next_n_appends_fail() {
    let (inner, _dir) = sqlite();
    let store = FaultyStore::new(inner);
    store.fail_next_appends(2);
    assert!(append(&*store, "a-1").await.is_err());
    assert!(append(&*store, "b-1").await.is_err());
    append(&*store, "a-1").await.unwrap();
    append(&*store, "a-1").await.unwrap();
    assert_eq!(store.counts().failed_appends, 2);
}

#[tokio::test]
async fn the_hook_runs_before_each_append_with_its_stream() {
    let (inner, _dir) = sqlite();
    let store = FaultyStore::new(inner.clone());
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = seen.clone();
    let inner_for_hook = inner.clone();
    store.before_append(move |stream| {
        let record = record.clone();
        let inner = inner_for_hook.clone();
        let stream = stream.to_owned();
        Box::pin(async move {
            // Before: the append has not happened yet.
            let revision = inner.stream_revision(&stream).await.unwrap();
            record.lock().unwrap().push((stream, revision));
        })
    });
    append(&*store, "a-1").await.unwrap();
    append(&*store, "a-1").await.unwrap();
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].0, "a-1");
    assert_ne!(
        seen[0].1, seen[1].1,
        "each hook saw the stream before its own append"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_appends_wait_for_each_other() {
    let (inner, _dir) = sqlite();
    let store = FaultyStore::new(inner);
    store.race_appends(3);
    let arrived = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for i in 0..2 {
        let store = store.clone();
        let arrived = arrived.clone();
        tasks.push(tokio::spawn(async move {
            append(&*store, &format!("a-{i}")).await.unwrap();
            arrived.fetch_add(1, Ordering::SeqCst);
        }));
    }
    // Two of three racers: neither may append yet.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(arrived.load(Ordering::SeqCst), 0);
    assert_eq!(store.head().await.unwrap(), None);
    append(&*store, "a-2").await.unwrap();
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(arrived.load(Ordering::SeqCst), 2);
    store.disarm();
    append(&*store, "a-3").await.unwrap();
}

#[tokio::test]
async fn reads_and_events_read_are_counted() {
    let (inner, _dir) = sqlite();
    let store = FaultyStore::new(inner);
    append(&*store, "a-1").await.unwrap();
    append(&*store, "a-1").await.unwrap();
    append(&*store, "b-1").await.unwrap();
    let before = store.counts();
    assert_eq!(before.reads(), 0);
    store
        .read_stream("a-1", ReadStreamOptions::forwards())
        .await
        .unwrap();
    store
        .read_all(None, &EventFilter::streams(["b-"]), 10)
        .await
        .unwrap();
    store.stream_revision("a-1").await.unwrap();
    store.head().await.unwrap();
    let _subscription = store.subscribe_all(None, EventFilter::all()).await.unwrap();
    assert_eq!(
        store.counts(),
        StoreCounts {
            appends: 3,
            failed_appends: 0,
            stream_reads: 1,
            all_reads: 1,
            events_read: 3,
            log_events_read: 1,
            revision_reads: 1,
            subscriptions: 1,
            head_reads: 1,
            category_head_reads: 0,
        }
    );
    assert_eq!(store.counts().reads(), 2);
    store.reset_counts();
    assert_eq!(store.counts(), StoreCounts::default());
}
