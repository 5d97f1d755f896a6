use std::sync::Arc;

use ecohub_eventstore::{
    EventFilter, EventStore, ExpectedRevision, NewEvent, SqliteStore, SqliteStoreOptions,
};
use ecohub_kernel::{EventMetadata, Timestamp};
use serde_json::json;

fn store(dir: &tempfile::TempDir, name: &str) -> Arc<dyn EventStore> {
    Arc::new(SqliteStore::open(dir.path().join(name), SqliteStoreOptions::default()).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migration_keeps_order_ids_revisions_metadata_and_timestamps_and_can_be_rerun() {
    let dir = tempfile::tempdir().unwrap();
    let source = store(&dir, "source.db");
    let now = Timestamp::from_unix_seconds(1_700_000_000);
    // Interleaved streams, multi-event appends, metadata.
    for i in 0..300u64 {
        let stream = format!("consent-{}", i % 7);
        let meta = EventMetadata {
            actor: Some(format!("client:{i}")),
            ..EventMetadata::default()
        };
        let events: Vec<NewEvent> = (0..(1 + i % 3))
            .map(|k| {
                let mut e = NewEvent::raw("ConsentThing", json!({"i": i, "k": k}), now);
                e.metadata = meta.clone();
                e
            })
            .collect();
        source
            .append(&stream, ExpectedRevision::Any, events)
            .await
            .unwrap();
    }
    let original = source
        .read_all(None, &EventFilter::all(), 10_000)
        .await
        .unwrap();
    assert_eq!(original.len(), 600);

    let target = store(&dir, "target.db");
    let report = ecohub::migrate::copy(source.clone(), target.clone())
        .await
        .unwrap();
    assert_eq!(report.events, 600);
    let copied = target
        .read_all(None, &EventFilter::all(), 10_000)
        .await
        .unwrap();
    assert_eq!(copied.len(), original.len());
    for (a, b) in original.iter().zip(&copied) {
        assert_eq!(
            (
                a.event_id,
                &a.stream,
                a.revision,
                &a.event_type,
                a.event_version,
                &a.metadata,
                a.recorded_at
            ),
            (
                b.event_id,
                &b.stream,
                b.revision,
                &b.event_type,
                b.event_version,
                &b.metadata,
                b.recorded_at
            ),
        );
        assert_eq!(a.data_json().unwrap(), b.data_json().unwrap());
    }

    // Re-running (e.g. after an interruption) copies nothing twice.
    let again = ecohub::migrate::copy(source.clone(), target.clone())
        .await
        .unwrap();
    assert_eq!(again.events, 600);
    assert_eq!(
        target
            .read_all(None, &EventFilter::all(), 10_000)
            .await
            .unwrap()
            .len(),
        600
    );

    // A target that diverged is refused rather than mixed.
    let diverged = store(&dir, "diverged.db");
    diverged
        .append(
            "consent-0",
            ExpectedRevision::NoStream,
            vec![NewEvent::raw("Other", json!({}), now)],
        )
        .await
        .unwrap();
    let err = ecohub::migrate::copy(source, diverged).await.unwrap_err();
    assert!(format!("{err:#}").contains("consent-0"), "{err:#}");
}
