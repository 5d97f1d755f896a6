//! The event store conformance suite against the KurrentDB backend: against a real server
//! when `ECOHUB_EVENTSTOREDB_URL` is set (e.g. `kurrentdb://localhost:2113?tls=false`),
//! otherwise against the in-process protocol double.

use ecohub_eventstore::conformance::TestStore;
use ecohub_kurrentdb::KurrentDbStore;
use ecohub_kurrentdb_double::DoubleCluster;

async fn make_store() -> TestStore {
    if let Ok(url) = std::env::var("ECOHUB_EVENTSTOREDB_URL") {
        let store = KurrentDbStore::connect(&url)
            .await
            .expect("connect to ECOHUB_EVENTSTOREDB_URL");
        return TestStore::new(store);
    }
    let cluster = DoubleCluster::start(1).await;
    let store = KurrentDbStore::connect(&cluster.connection_string())
        .await
        .expect("connect to the double");
    TestStore::new(store).with_guard(cluster)
}

ecohub_eventstore::conformance_tests!(make_store);
