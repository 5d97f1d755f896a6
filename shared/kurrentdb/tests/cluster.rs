//! The backend against a 3-node cluster of doubles: leader discovery over gossip, following a
//! leader change without losing or duplicating an acknowledged append, subscriptions that
//! survive it, readiness while the cluster is unreachable, and clear startup errors.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use ecohub_eventstore::{
    EventFilter, EventStore, ExpectedRevision, NewEvent, ReadStreamOptions, StoreError,
    SubscriptionMessage,
};
use ecohub_kernel::{EventId, Timestamp};
use ecohub_kurrentdb::KurrentDbStore;
use ecohub_kurrentdb_double::DoubleCluster;
use futures_util::StreamExt;
use serde_json::json;

fn now() -> Timestamp {
    Timestamp::from_unix_seconds(1_800_000_000)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn discovers_the_leader_through_any_seed() {
    let cluster = DoubleCluster::start(3).await;
    cluster.elect(2);
    let store = KurrentDbStore::connect(&cluster.connection_string())
        .await
        .unwrap();
    store
        .append(
            "thing-1",
            ExpectedRevision::NoStream,
            vec![NewEvent::raw("Made", json!({}), now())],
        )
        .await
        .unwrap();
    assert_eq!(cluster.leader(), 2);
    assert!(store.is_healthy().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_leader_change_loses_and_duplicates_no_acknowledged_append() {
    let cluster = Arc::new(DoubleCluster::start(3).await);
    let store: Arc<dyn EventStore> = Arc::new(
        KurrentDbStore::connect(&cluster.connection_string())
            .await
            .unwrap(),
    );

    // A live subscription that must see every event exactly once across the failovers.
    let mut subscription = store
        .subscribe_all(None, EventFilter::streams(["order-"]))
        .await
        .unwrap();

    let writers = 8;
    let per_writer = 60;
    let mut tasks = Vec::new();
    for w in 0..writers {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            for i in 0..per_writer {
                let event = NewEvent::raw("OrderPlaced", json!({"w": w, "i": i}), now());
                let id = event.event_id;
                match store
                    .append(&format!("order-{w}"), ExpectedRevision::Any, vec![event])
                    .await
                {
                    Ok(_) => acked.push(id),
                    Err(StoreError::Unavailable(_)) => {} // not acknowledged: allowed to be missing
                    Err(e) => panic!("unexpected {e}"),
                }
                tokio::task::yield_now().await;
            }
            acked
        }));
    }
    // Move the leadership around while the writers run.
    for leader in [1, 2, 0, 1] {
        tokio::time::sleep(Duration::from_millis(40)).await;
        cluster.elect(leader);
    }
    let mut acked: Vec<EventId> = Vec::new();
    for t in tasks {
        acked.extend(t.await.unwrap());
    }
    assert!(
        acked.len() >= writers * per_writer * 9 / 10,
        "most appends succeed: {}",
        acked.len()
    );

    // Every acknowledged event is stored exactly once.
    let mut stored: Vec<EventId> = Vec::new();
    for w in 0..writers {
        let events = store
            .read_stream(&format!("order-{w}"), ReadStreamOptions::forwards())
            .await
            .unwrap();
        for (i, e) in events.iter().enumerate() {
            assert_eq!(e.revision, i as u64, "no holes in order-{w}");
        }
        stored.extend(events.iter().map(|e| e.event_id));
    }
    let unique: HashSet<EventId> = stored.iter().copied().collect();
    assert_eq!(unique.len(), stored.len(), "no event stored twice");
    for id in &acked {
        assert!(unique.contains(id), "acknowledged event {id} is missing");
    }

    // The subscription followed the leader changes and saw each stored event once, in order.
    let mut seen = Vec::new();
    while seen.len() < stored.len() {
        let message = tokio::time::timeout(Duration::from_secs(20), subscription.next())
            .await
            .expect("subscription keeps delivering after failovers")
            .unwrap()
            .unwrap();
        if let SubscriptionMessage::Event(e) = message {
            if let Some(prev) = seen.last() {
                let prev: &ecohub_eventstore::RecordedEvent = prev;
                assert!(e.position > prev.position, "in order");
            }
            seen.push(e);
        }
    }
    let seen_ids: HashSet<EventId> = seen.iter().map(|e| e.event_id).collect();
    assert_eq!(seen_ids.len(), seen.len(), "no duplicate delivery");
    assert_eq!(seen_ids, unique);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn health_follows_reachability_and_writes_resume() {
    let cluster = DoubleCluster::start(1).await;
    let store = KurrentDbStore::connect(&cluster.connection_string())
        .await
        .unwrap();
    assert!(store.is_healthy().await);
    cluster.stop_node(0).await;
    let mut unhealthy = false;
    for _ in 0..100 {
        if !store.is_healthy().await {
            unhealthy = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(unhealthy, "readiness drops while the store is unreachable");
    cluster.restart_node(0).await;
    store
        .append(
            "thing-2",
            ExpectedRevision::Any,
            vec![NewEvent::raw("Made", json!({}), now())],
        )
        .await
        .expect("the append reconnects");
    assert!(store.is_healthy().await);
}

#[tokio::test]
async fn startup_errors_are_clear() {
    let err = KurrentDbStore::connect("kurrentdb://127.0.0.1:1?tls=false&defaultDeadline=500")
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("127.0.0.1:1"), "{err}");
    let err = KurrentDbStore::connect("kurrentdb://h?tls=maybe")
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("tls"), "{err}");
    let err = KurrentDbStore::connect(
        "kurrentdb://127.0.0.1:1,127.0.0.1:2?tls=false&maxDiscoverAttempts=2&discoveryInterval=10",
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(err.contains("no KurrentDB leader found"), "{err}");
}

/// Two hub instances (two clients) claiming the same job slots: each slot runs once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn scheduled_job_slots_run_once_across_instances() {
    let cluster = DoubleCluster::start(3).await;
    let a: Arc<dyn EventStore> = Arc::new(
        KurrentDbStore::connect(&cluster.connection_string())
            .await
            .unwrap(),
    );
    let b: Arc<dyn EventStore> = Arc::new(
        KurrentDbStore::connect(&cluster.connection_string())
            .await
            .unwrap(),
    );
    let job = format!("expiry{}", uuid::Uuid::new_v4().simple());
    let mut tasks = Vec::new();
    for (name, store) in [("a", a), ("b", b)] {
        let job = job.clone();
        tasks.push(tokio::spawn(async move {
            let mut won = Vec::new();
            for slot in 1..=30u64 {
                if ecohub_eventstore::jobs::claim_slot(&*store, &job, slot, name, now())
                    .await
                    .unwrap()
                {
                    won.push(slot);
                }
            }
            won
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort_unstable();
    assert_eq!(all, (1..=30).collect::<Vec<u64>>());
}

async fn append(store: &KurrentDbStore, stream: String) -> ecohub_eventstore::AppendResult {
    let event = NewEvent::raw("Happened", json!({}), now());
    store
        .append(&stream, ExpectedRevision::Any, vec![event])
        .await
        .unwrap()
}

/// Category heads are exact across instances: what another instance appended a moment ago is
/// in this instance's head on the very next call, and appends to other categories leave it
/// alone (so checks remembered against it survive them) — also across a leader change.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn category_heads_follow_every_instance_and_only_their_category() {
    let cluster = DoubleCluster::start(3).await;
    let url = cluster.connection_string();
    let one = KurrentDbStore::connect(&url).await.unwrap();
    let two = KurrentDbStore::connect(&url).await.unwrap();
    assert_eq!(one.category_head("consent-").await.unwrap(), None);
    append(&two, "consent-1".into()).await;
    let first = one.category_head("consent-").await.unwrap();
    assert!(first.is_some());
    for round in 0..50 {
        // Other categories, through either instance: the head stays.
        append(&two, format!("dataaccess-{round}")).await;
        append(&one, format!("dataaccess-{round}")).await;
        let [consent, access] = one
            .category_heads(&["consent-", "dataaccess-"])
            .await
            .unwrap()[..]
        else {
            unreachable!()
        };
        assert_eq!(consent, first, "round {round}");
        assert!(access > first, "round {round}");
    }
    // The category, through the other instance: moved on the very next call.
    let appended = append(&two, "consent-2".into()).await.position;
    assert_eq!(one.category_head("consent-").await.unwrap(), appended);
    // Across a leader change too.
    cluster.elect(1);
    let appended = append(&two, "consent-3".into()).await.position;
    assert_eq!(one.category_head("consent-").await.unwrap(), appended);
    // A prefix that is not a `<category>-` gets the global head.
    let head = one.head().await.unwrap();
    assert_eq!(one.category_head("consent").await.unwrap(), head);
}

/// Within a request's scope (`reads_cover_from`) every check may share one head read taken
/// after the request began, yet none misses what it must see: a write another instance
/// acknowledged before the request began, this instance's own writes, and a write that beat
/// one of its appends.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_request_scope_shares_head_reads_but_misses_nothing_it_must_see() {
    let cluster = DoubleCluster::start(1).await;
    let url = cluster.connection_string();
    let one = KurrentDbStore::connect(&url).await.unwrap();
    let two = KurrentDbStore::connect(&url).await.unwrap();
    append(&one, "consent-0".into()).await;
    let before = one.category_head("consent-").await.unwrap();

    // Acknowledged by the other instance before the request began: seen by its first check.
    let theirs = append(&two, "consent-1".into()).await.position;
    let began = std::time::Instant::now();
    let seen = ecohub_eventstore::reads_cover_from(began, async {
        let first = one.category_head("consent-").await.unwrap();
        // A second check in the same request may reuse that reading; it never goes back.
        let second = one.category_head("consent-").await.unwrap();
        assert!(second >= first);
        first
    })
    .await;
    assert_eq!(seen, theirs);
    assert!(seen > before);

    // Its own write, acknowledged within the request after the first check: seen at once.
    let began = std::time::Instant::now();
    ecohub_eventstore::reads_cover_from(began, async {
        let first = one.category_head("consent-").await.unwrap();
        let mine = append(&one, "consent-2".into()).await.position;
        assert!(mine > first);
        assert_eq!(one.category_head("consent-").await.unwrap(), mine);
    })
    .await;

    // A write that beat one of its appends within the request: the next check reads afresh.
    append(&one, "consent-3".into()).await;
    let began = std::time::Instant::now();
    ecohub_eventstore::reads_cover_from(began, async {
        let first = one.category_head("consent-").await.unwrap();
        let revision = match one.stream_revision("consent-3").await.unwrap() {
            ecohub_eventstore::CurrentRevision::Current(n) => n,
            ecohub_eventstore::CurrentRevision::NoStream => panic!("consent-3 is empty"),
        };
        let winner = two
            .append(
                "consent-3",
                ExpectedRevision::Exact(revision),
                vec![NewEvent::raw("Happened", json!({}), now())],
            )
            .await
            .unwrap()
            .position;
        let lost = one
            .append(
                "consent-3",
                ExpectedRevision::Exact(revision),
                vec![NewEvent::raw("Happened", json!({}), now())],
            )
            .await;
        assert!(matches!(lost, Err(StoreError::WrongExpectedVersion { .. })));
        assert!(winner > first);
        assert_eq!(one.category_head("consent-").await.unwrap(), winner);
    })
    .await;
}
