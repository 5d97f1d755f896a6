//! One subscription to the server per instance (ADR 0028): every subscription of an instance
//! is served from the category tracker's subscription to `$all`, catches up from the log on
//! its own, and misses nothing when it falls behind.

use std::time::Duration;

use ecohub_eventstore::{
    EventFilter, EventStore, ExpectedRevision, NewEvent, Position, Subscription,
    SubscriptionMessage,
};
use ecohub_kernel::Timestamp;
use ecohub_kurrentdb::KurrentDbStore;
use ecohub_kurrentdb_double::DoubleCluster;
use futures_util::StreamExt;
use serde_json::json;

fn now() -> Timestamp {
    Timestamp::from_unix_seconds(1_800_000_000)
}

fn events(kind: &str, n: usize) -> Vec<NewEvent> {
    (0..n)
        .map(|i| NewEvent::raw(kind, json!({ "i": i }), now()))
        .collect()
}

/// The stream names and types of what `subscription` delivers until it has `n` events;
/// checks that positions only go up, checkpoints included.
async fn take(subscription: &mut Subscription, n: usize) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut last: Option<Position> = None;
    while out.len() < n {
        let message = tokio::time::timeout(Duration::from_secs(10), subscription.next())
            .await
            .unwrap_or_else(|_| panic!("only {} of {n} events arrived", out.len()))
            .expect("the subscription ended")
            .expect("the subscription failed");
        let position = match message {
            SubscriptionMessage::Event(e) => {
                out.push((e.stream.clone(), e.event_type.clone()));
                Some(e.position)
            }
            SubscriptionMessage::Checkpoint(p) => Some(p),
            SubscriptionMessage::CaughtUp { position } => position,
        };
        if let Some(p) = position {
            assert!(last.is_none_or(|l| p >= l), "{p:?} came after {last:?}");
            last = Some(p);
        }
    }
    out
}

async fn until_subscriptions(cluster: &DoubleCluster, n: usize) {
    for _ in 0..200 {
        if cluster.live_subscriptions() == n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!(
        "the double serves {} subscriptions, not {n}",
        cluster.live_subscriptions()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_instance_holds_one_subscription_to_the_server_whatever_it_follows() {
    let cluster = DoubleCluster::start(1).await;
    let store = KurrentDbStore::connect(&cluster.connection_string())
        .await
        .unwrap();
    // History before the subscriptions, so they catch up from the log first.
    for (stream, kind) in [("order-1", "Placed"), ("invoice-1", "Raised")] {
        store
            .append(stream, ExpectedRevision::NoStream, events(kind, 3))
            .await
            .unwrap();
    }
    let mut orders = store
        .subscribe_all(None, EventFilter::streams(["order-"]))
        .await
        .unwrap();
    let mut raised = store
        .subscribe_all(None, EventFilter::event_types(["Raised"]))
        .await
        .unwrap();
    let mut everything = store.subscribe_all(None, EventFilter::all()).await.unwrap();
    assert_eq!(take(&mut orders, 3).await.len(), 3);
    assert_eq!(take(&mut raised, 3).await.len(), 3);
    assert_eq!(take(&mut everything, 6).await.len(), 6);
    // The tracker's subscription is the only one the server serves.
    until_subscriptions(&cluster, 1).await;

    // Live: each gets what its filter accepts, once, in order.
    for i in 0..40 {
        let (stream, kind) = if i % 4 == 0 {
            ("order-2", "Placed")
        } else {
            ("invoice-2", "Raised")
        };
        store
            .append(stream, ExpectedRevision::Any, events(kind, 1))
            .await
            .unwrap();
    }
    let live_orders = take(&mut orders, 10).await;
    assert!(live_orders.iter().all(|(s, _)| s == "order-2"));
    let live_raised = take(&mut raised, 30).await;
    assert!(live_raised.iter().all(|(_, t)| t == "Raised"));
    let live = take(&mut everything, 40).await;
    assert_eq!(live.iter().filter(|(s, _)| s == "order-2").count(), 10);
    // Nothing more than that was delivered.
    store
        .append("marker-1", ExpectedRevision::NoStream, events("Marked", 1))
        .await
        .unwrap();
    assert_eq!(take(&mut everything, 1).await[0].0, "marker-1");
    until_subscriptions(&cluster, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_subscription_that_falls_behind_catches_up_from_the_log_and_misses_nothing() {
    let cluster = DoubleCluster::start(1).await;
    let store = KurrentDbStore::connect(&cluster.connection_string())
        .await
        .unwrap();
    let start = store.head().await.unwrap();
    let mut idle = store
        .subscribe_all(start, EventFilter::streams(["batch-"]))
        .await
        .unwrap();
    let mut unrelated = store
        .subscribe_all(start, EventFilter::streams(["other-"]))
        .await
        .unwrap();
    // Registered and caught up (nothing to read yet), then never polled while the tail
    // delivers more than a subscriber's queue holds.
    assert!(matches!(
        idle.next().await,
        Some(Ok(SubscriptionMessage::CaughtUp { .. }))
    ));
    let total = 6_000;
    for b in 0..(total / 100) {
        store
            .append(
                &format!("batch-{b}"),
                ExpectedRevision::NoStream,
                events("Loaded", 100),
            )
            .await
            .unwrap();
    }
    // The unrelated subscription saw checkpoints only, and the writers were never held back.
    store
        .append("other-1", ExpectedRevision::NoStream, events("Other", 1))
        .await
        .unwrap();
    assert_eq!(take(&mut unrelated, 1).await[0].0, "other-1");
    let got = take(&mut idle, total).await;
    let mut expected = Vec::new();
    for b in 0..(total / 100) {
        expected.extend((0..100).map(|_| (format!("batch-{b}"), "Loaded".to_owned())));
    }
    assert_eq!(got, expected);
    // And it is live again afterwards.
    store
        .append(
            "batch-last",
            ExpectedRevision::NoStream,
            events("Loaded", 1),
        )
        .await
        .unwrap();
    assert_eq!(take(&mut idle, 1).await[0].0, "batch-last");
    until_subscriptions(&cluster, 1).await;
}
