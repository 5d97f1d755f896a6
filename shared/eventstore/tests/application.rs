//! The application-side helpers over a real store: load → decide → append (`execute`) and
//! the projection runner (checkpoints, resume, rebuild from zero).

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use ecohub_eventstore::{
    CurrentRevision, EventFilter, EventStore, ExecuteError, ExpectedRevision, NewEvent, Position,
    Projection, ProjectionError, ProjectionHandle, RecordedEvent, Remembered, RememberedStreams,
    SqliteStore, SqliteStoreOptions, StoreError, execute, load,
};
use ecohub_kernel::testing::example::{Counter, CounterCommand, CounterError, CounterEvent};
use ecohub_kernel::{EventMetadata, Timestamp};

fn open(dir: &tempfile::TempDir) -> Arc<dyn EventStore> {
    Arc::new(
        SqliteStore::open(dir.path().join("events.db"), SqliteStoreOptions::default()).unwrap(),
    )
}

const NOW: Timestamp = Timestamp::from_unix_seconds(1_800_000_000);

#[tokio::test]
async fn execute_loads_decides_and_appends_with_the_read_revision() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let meta = EventMetadata {
        actor: Some("staff:7".into()),
        ..EventMetadata::default()
    };

    let first = execute::<Counter>(
        &*store,
        "counter-a",
        CounterCommand::Increment { by: 4 },
        NOW,
        meta.clone(),
    )
    .await
    .unwrap();
    assert_eq!(first.state.value, 4);
    assert_eq!(first.revision, CurrentRevision::Current(0));
    let second = execute::<Counter>(
        &*store,
        "counter-a",
        CounterCommand::Increment { by: 5 },
        NOW,
        meta,
    )
    .await
    .unwrap();
    assert_eq!(second.state.value, 9);
    assert_eq!(second.events, vec![CounterEvent::Incremented { by: 5 }]);

    let refused = execute::<Counter>(
        &*store,
        "counter-a",
        CounterCommand::Increment { by: 5 },
        NOW,
        EventMetadata::default(),
    )
    .await;
    assert!(matches!(
        refused,
        Err(ExecuteError::Refused(CounterError::Overflow))
    ));

    let (state, revision) = load::<Counter>(&*store, "counter-a").await.unwrap();
    assert_eq!(state.value, 9);
    assert_eq!(revision, CurrentRevision::Current(1));
    let stored = store
        .read_stream(
            "counter-a",
            ecohub_eventstore::ReadStreamOptions::forwards(),
        )
        .await
        .unwrap();
    assert_eq!(stored[0].metadata.actor.as_deref(), Some("staff:7"));
    assert_eq!(stored[0].event_type, "CounterIncremented");
}

#[tokio::test]
async fn a_remembered_state_is_folded_once_per_revision_and_sees_every_writer() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let remembered = Remembered::<Counter>::new("counter-r");
    let (empty, revision) = remembered.load(&*store).await.unwrap();
    assert_eq!((empty.value, revision), (0, CurrentRevision::NoStream));
    let increment = |store: Arc<dyn EventStore>, by| async move {
        execute::<Counter>(
            &*store,
            "counter-r",
            CounterCommand::Increment { by },
            NOW,
            EventMetadata::default(),
        )
        .await
        .unwrap()
    };
    increment(Arc::clone(&store), 2).await;
    let (first, _) = remembered.load(&*store).await.unwrap();
    let (again, revision) = remembered.load(&*store).await.unwrap();
    assert_eq!((again.value, revision), (2, CurrentRevision::Current(0)));
    assert!(Arc::ptr_eq(&first, &again), "not folded again");
    // Another stream of the category moves its head: read again, same state.
    append_n(&*store, "counter-other", 1).await;
    let (reread, _) = remembered.load(&*store).await.unwrap();
    assert_eq!(reread.value, 2);
    increment(Arc::clone(&store), 3).await;
    let (after, revision) = remembered.load(&*store).await.unwrap();
    assert_eq!((after.value, revision), (5, CurrentRevision::Current(1)));
}

#[tokio::test]
async fn remembered_streams_are_folded_once_while_their_category_is_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let streams = RememberedStreams::<Counter>::new("counter-", 2);
    let increment = |store: Arc<dyn EventStore>, stream: &'static str, by| async move {
        execute::<Counter>(
            &*store,
            stream,
            CounterCommand::Increment { by },
            NOW,
            EventMetadata::default(),
        )
        .await
        .unwrap()
    };
    let (none, revision) = streams.load(&*store, "counter-a").await.unwrap();
    assert_eq!((none.value, revision), (0, CurrentRevision::NoStream));
    increment(Arc::clone(&store), "counter-a", 2).await;
    increment(Arc::clone(&store), "counter-b", 7).await;
    let (a, revision) = streams.load(&*store, "counter-a").await.unwrap();
    assert_eq!(
        (a.value, revision),
        (2, CurrentRevision::Current(0)),
        "the append is seen"
    );
    let (b, _) = streams.load(&*store, "counter-b").await.unwrap();
    assert_eq!(b.value, 7);
    let (a_again, _) = streams.load(&*store, "counter-a").await.unwrap();
    assert!(Arc::ptr_eq(&a, &a_again), "not folded again");
    // Any append to the category moves its head: every stream is read again, exactly.
    increment(Arc::clone(&store), "counter-b", 1).await;
    let (a_reread, _) = streams.load(&*store, "counter-a").await.unwrap();
    assert!(!Arc::ptr_eq(&a, &a_reread));
    assert_eq!(a_reread.value, 2);
    let (b, revision) = streams.load(&*store, "counter-b").await.unwrap();
    assert_eq!((b.value, revision), (8, CurrentRevision::Current(1)));
    // A third stream over the capacity of two: still exact.
    increment(Arc::clone(&store), "counter-c", 3).await;
    let mut last = None;
    for (stream, value) in [("counter-c", 3), ("counter-a", 2), ("counter-b", 8)] {
        let (state, _) = streams.load(&*store, stream).await.unwrap();
        assert_eq!(state.value, value);
        last = Some(state);
    }
    // Another category does not move this one's head.
    append_n(&*store, "other-x", 1).await;
    let (b_again, _) = streams.load(&*store, "counter-b").await.unwrap();
    assert!(Arc::ptr_eq(&last.unwrap(), &b_again), "not folded again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_commands_on_one_aggregate_have_exactly_one_winner() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    execute::<Counter>(
        &*store,
        "counter-race",
        CounterCommand::Increment { by: 1 },
        NOW,
        EventMetadata::default(),
    )
    .await
    .unwrap();
    // Every racer reads revision 0, then tries to append after it: one wins, the others
    // see a concurrent writer rather than overwrite its decision.
    let (state, revision) = load::<Counter>(&*store, "counter-race").await.unwrap();
    let barrier = Arc::new(tokio::sync::Barrier::new(8));
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let store = store.clone();
        let barrier = barrier.clone();
        let state = state.clone();
        tasks.push(tokio::spawn(async move {
            use ecohub_kernel::Aggregate;
            let events = state
                .decide(CounterCommand::Increment { by: 1 }, NOW)
                .unwrap();
            let new = events
                .iter()
                .map(|e| NewEvent::from_domain(e, EventMetadata::default(), NOW))
                .collect();
            barrier.wait().await;
            store
                .append("counter-race", ExpectedRevision::from(revision), new)
                .await
        }));
    }
    let mut wins = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => wins += 1,
            Err(StoreError::WrongExpectedVersion { actual, .. }) => {
                assert_eq!(actual, CurrentRevision::Current(1));
            }
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert_eq!(wins, 1);
    let (state, _) = load::<Counter>(&*store, "counter-race").await.unwrap();
    assert_eq!(state.value, 2);
}

/// Counts events per stream; persists its state and checkpoint "durably" in a shared cell so
/// a restarted runner can resume from it.
#[derive(Clone, Default)]
struct Durable(Arc<Mutex<(Vec<String>, Option<Position>)>>);

struct StreamLog {
    durable: Durable,
    filter: EventFilter,
}

#[async_trait]
impl Projection for StreamLog {
    fn name(&self) -> &str {
        "stream_log"
    }
    fn filter(&self) -> EventFilter {
        self.filter.clone()
    }
    async fn checkpoint(&mut self) -> Result<Option<Position>, ProjectionError> {
        Ok(self.durable.0.lock().unwrap().1)
    }
    async fn apply(
        &mut self,
        events: &[RecordedEvent],
        checkpoint: Position,
    ) -> Result<(), ProjectionError> {
        let mut d = self.durable.0.lock().unwrap();
        if let Some(last) = d.1 {
            assert!(
                events.iter().all(|e| e.position > last),
                "no event is applied twice"
            );
        }
        d.0.extend(
            events
                .iter()
                .map(|e| format!("{}@{}", e.stream, e.revision)),
        );
        d.1 = Some(checkpoint);
        Ok(())
    }
    async fn reset(&mut self) -> Result<(), ProjectionError> {
        *self.durable.0.lock().unwrap() = (Vec::new(), None);
        Ok(())
    }
}

async fn append_n(store: &dyn EventStore, stream: &str, n: usize) -> Position {
    let mut last = None;
    for i in 0..n {
        let r = store
            .append(
                stream,
                ExpectedRevision::Any,
                vec![NewEvent::raw("Thing", serde_json::json!({"i": i}), NOW)],
            )
            .await
            .unwrap();
        last = r.position;
    }
    last.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn projections_catch_up_follow_live_resume_and_rebuild() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    append_n(&*store, "thing-1", 300).await;
    append_n(&*store, "other-1", 50).await;

    let durable = Durable::default();
    let handle = ProjectionHandle::spawn(
        store.clone(),
        StreamLog {
            durable: durable.clone(),
            filter: EventFilter::streams(["thing-"]),
        },
    );
    handle.wait_for(None).await;
    assert!(handle.status().caught_up);
    assert_eq!(
        durable.0.lock().unwrap().0.len(),
        300,
        "history applied, filtered"
    );

    // Live events arrive after the catch-up.
    let last = append_n(&*store, "thing-2", 700).await;
    handle.wait_for(Some(last)).await;
    assert_eq!(durable.0.lock().unwrap().0.len(), 1_000);
    assert_eq!(handle.status().checkpoint, Some(last));
    handle.stop();

    // A new runner resumes from the persisted checkpoint: nothing is applied twice
    // (the projection asserts it) and new events are picked up.
    let last = append_n(&*store, "thing-3", 10).await;
    let resumed = ProjectionHandle::spawn(
        store.clone(),
        StreamLog {
            durable: durable.clone(),
            filter: EventFilter::streams(["thing-"]),
        },
    );
    resumed.wait_for(Some(last)).await;
    assert_eq!(
        resumed.status().events_applied,
        10,
        "only the events after the checkpoint"
    );
    assert_eq!(durable.0.lock().unwrap().0.len(), 1_010);

    // Rebuild from zero replays everything exactly once, in log order.
    resumed.rebuild().await.unwrap();
    resumed.wait_for(Some(last)).await;
    let applied = durable.0.lock().unwrap().0.clone();
    assert_eq!(applied.len(), 1_010);
    assert_eq!(applied[0], "thing-1@0");
    assert_eq!(applied[299], "thing-1@299");
    assert_eq!(applied[300], "thing-2@0");
    assert_eq!(applied.last().unwrap(), "thing-3@9");
    resumed.stop();
}

#[tokio::test]
async fn a_projection_on_an_empty_log_is_caught_up_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let handle = ProjectionHandle::spawn(
        store.clone(),
        StreamLog {
            durable: Durable::default(),
            filter: EventFilter::all(),
        },
    );
    handle.wait_for(None).await;
    let status = handle.status();
    assert!(status.caught_up);
    assert_eq!(status.events_applied, 0);
    assert_eq!(status.last_error, None);
    handle.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn each_job_slot_is_claimed_by_exactly_one_instance() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let mut tasks = Vec::new();
    for instance in 0..6 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut won = Vec::new();
            for slot in 1..=40u64 {
                if ecohub_eventstore::jobs::claim_slot(
                    &*store,
                    "expiry",
                    slot,
                    &format!("i{instance}"),
                    NOW,
                )
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
    assert_eq!(
        all,
        (1..=40).collect::<Vec<u64>>(),
        "every slot runs once, none twice"
    );
    // An old slot can never be claimed again.
    assert!(
        !ecohub_eventstore::jobs::claim_slot(&*store, "expiry", 7, "late", NOW)
            .await
            .unwrap()
    );
}
