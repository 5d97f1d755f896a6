//! The conformance suite against the embedded SQLite backend.

use ecohub_eventstore::conformance::TestStore;
use ecohub_eventstore::{SqliteStore, SqliteStoreOptions};

ecohub_eventstore::conformance_tests!(|| async {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = SqliteStore::open(dir.path().join("events.db"), SqliteStoreOptions::default())
        .expect("open the store");
    TestStore::new(store).with_guard(dir)
});
