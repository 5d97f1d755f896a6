//! The store-backed `jti` replay guard (`StoreReplayGuard`): a key is accepted once, whichever
//! guard on the store sees it first — the same instance, another one appending beside it, or
//! one started later — and a failing store never turns into an acceptance.

use std::sync::Arc;

use ecohub_auth::StoreReplayGuard;
use ecohub_eventstore::{ExpectedRevision, NewEvent, SharedStore, SqliteStore};
use ecohub_jose::{JtiReplayGuard, replay_key};
use ecohub_kernel::{Clock, ManualClock};
use ecohub_testkit::FaultyStore;

use crate::support::{at, t0};

fn store() -> (tempfile::TempDir, SharedStore) {
    let dir = tempfile::tempdir().unwrap();
    let store: SharedStore =
        Arc::new(SqliteStore::open(dir.path().join("events.db"), Default::default()).unwrap());
    (dir, store)
}

fn guard(store: &SharedStore, clock: &Arc<ManualClock>) -> StoreReplayGuard {
    StoreReplayGuard::new(store.clone(), clock.clone() as Arc<dyn Clock>)
}

async fn first(guard: &StoreReplayGuard, jti: &str) -> bool {
    guard
        .first_use("client_assertion:c", jti, at(60))
        .await
        .unwrap()
}

#[tokio::test]
async fn a_jti_is_accepted_once_by_the_same_guard() {
    let (_dir, store) = store();
    let clock = Arc::new(ManualClock::at(t0()));
    let one = guard(&store, &clock);
    assert!(first(&one, "a").await);
    assert!(!first(&one, "a").await);
    // Namespaces are apart: the same jti of another client is its own.
    assert!(
        one.first_use("client_assertion:d", "a", at(60))
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn a_jti_used_through_one_guard_is_refused_by_another_on_the_same_store() {
    let (_dir, store) = store();
    let clock = Arc::new(ManualClock::at(t0()));
    let (one, two) = (guard(&store, &clock), guard(&store, &clock));
    assert!(first(&one, "a").await);
    // `two` loads the shard and finds it.
    assert!(!first(&two, "a").await);
    // Both have loaded the shard now; `two` appends, `one` still holds the older revision:
    // its append is refused by the store, it reads what `two` wrote and refuses the jti.
    for jti in ["b", "c", "d", "e", "f", "g", "h", "i", "j"] {
        assert!(first(&two, jti).await, "{jti}");
        assert!(!first(&one, jti).await, "{jti}");
    }
    // A guard started later (a restart) refuses them all.
    let three = guard(&store, &clock);
    for jti in ["a", "b", "c", "j"] {
        assert!(!first(&three, jti).await, "{jti}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_uses_through_two_guards_are_accepted_exactly_once() {
    let (_dir, store) = store();
    let clock = Arc::new(ManualClock::at(t0()));
    let guards = Arc::new([guard(&store, &clock), guard(&store, &clock)]);
    let mut tasks = Vec::new();
    for n in 0..400 {
        let guards = Arc::clone(&guards);
        // 100 distinct jtis, each presented 4 times, twice through each guard.
        tasks.push(tokio::spawn(async move {
            let jti = format!("jti-{}", n % 100);
            (jti.clone(), first(&guards[n % 2], &jti).await)
        }));
    }
    let mut accepted = std::collections::HashMap::new();
    for task in tasks {
        let (jti, first) = task.await.unwrap();
        *accepted.entry(jti).or_insert(0) += usize::from(first);
    }
    assert_eq!(accepted.len(), 100);
    assert!(accepted.values().all(|n| *n == 1), "{accepted:?}");
    // Group commit: far fewer events than first uses.
    let events = store
        .read_all(
            None,
            &ecohub_eventstore::EventFilter::streams(["jtis-"]),
            10_000,
        )
        .await
        .unwrap();
    assert!(events.len() < 100, "{} events", events.len());
}

#[tokio::test]
async fn a_failing_store_is_an_error_never_an_acceptance_and_nothing_is_remembered() {
    let (_dir, inner) = store();
    let faulty = FaultyStore::new(inner);
    let store: SharedStore = faulty.clone();
    let clock = Arc::new(ManualClock::at(t0()));
    let one = guard(&store, &clock);
    faulty.fail_appends();
    assert!(one.first_use("ns", "a", at(60)).await.is_err());
    faulty.disarm();
    // Never recorded: the retry is its first use.
    assert!(first(&one, "a").await);
    assert!(!first(&one, "a").await);
}

#[tokio::test]
async fn an_expiry_beyond_what_is_remembered_is_an_error() {
    let (_dir, store) = store();
    let clock = Arc::new(ManualClock::at(t0()));
    let one = guard(&store, &clock);
    let far = at(i64::try_from(ecohub_auth::REPLAY_MAX_REMEMBER.as_secs()).unwrap() + 1);
    assert!(one.first_use("ns", "a", far).await.is_err());
}

#[tokio::test]
async fn keys_recorded_by_the_previous_one_stream_per_jti_guard_are_honoured() {
    let (_dir, store) = store();
    let clock = Arc::new(ManualClock::at(t0()));
    let stream = format!("jti-{}", replay_key("client_assertion:c", "old"));
    store
        .append(
            &stream,
            ExpectedRevision::NoStream,
            vec![NewEvent::raw(
                "JtiUsed",
                serde_json::json!({"expires_at": at(60)}),
                t0(),
            )],
        )
        .await
        .unwrap();
    let one = guard(&store, &clock);
    assert!(!first(&one, "old").await);
    assert!(first(&one, "new").await);
}

#[tokio::test]
async fn expired_records_are_not_loaded_again() {
    let (_dir, store) = store();
    let clock = Arc::new(ManualClock::at(t0()));
    let one = guard(&store, &clock);
    assert!(first(&one, "a").await);
    // Long after every key of that event expired, a new guard does not need it; a new use of
    // the same jti (a new JWT: the old one is refused by its `exp`) is its first.
    clock.set(at(3_600));
    let two = guard(&store, &clock);
    assert!(
        two.first_use("client_assertion:c", "a", at(3_660))
            .await
            .unwrap()
    );
}

#[test]
fn requests_after_a_shard_task_died_are_answered_not_left_waiting() {
    let (_dir, store) = store();
    let clock = Arc::new(ManualClock::at(t0()));
    let one = guard(&store, &clock);
    let runtime = || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    };
    // A request starts its shard's task in a runtime that goes away before the task ran:
    // the task is dropped with the runtime.
    let doomed = runtime();
    doomed.block_on(async {
        let mut request = std::pin::pin!(one.first_use("ns", "a", at(60)));
        let waiting = std::future::poll_fn(|cx| {
            std::task::Poll::Ready(request.as_mut().poll(cx).is_pending())
        })
        .await;
        assert!(waiting);
    });
    drop(doomed);
    runtime().block_on(async {
        let answer = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            one.first_use("ns", "a", at(60)),
        )
        .await
        .expect("answered, not left waiting on the dead task");
        // "a" was never appended: its retry is its first use, and only that.
        assert!(answer.unwrap());
        assert!(!one.first_use("ns", "a", at(60)).await.unwrap());
    });
}
