//! The hub's wiring of the sharing service's `Customers` port: the authorization server's
//! pairwise look-up, answered as sharing asks it (the resolver itself is tested in
//! `ecohub-auth`).

use std::sync::Arc;

use ecohub::sharing_ports::PairwiseCustomers;
use ecohub_auth::{BuiltInDirectory, PairwiseResolver, pairwise_id};
use ecohub_eventstore::{SharedStore, SqliteStore, SqliteStoreOptions};
use ecohub_kernel::Timestamp;
use ecohub_sharing::Customers;

const TRAVELCO: &str = "0190f0c4-0000-7000-8000-00000000cccc";
const SHOPCO: &str = "0190f0c4-0000-7000-8000-00000000dddd";

#[tokio::test]
async fn sharing_resolves_a_partners_pairwise_id_through_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    let store: SharedStore = Arc::new(
        SqliteStore::open(dir.path().join("events.db"), SqliteStoreOptions::default()).unwrap(),
    );
    let customers: Arc<dyn Customers> = Arc::new(PairwiseCustomers(Arc::new(
        PairwiseResolver::new(store.clone()),
    )));
    assert_eq!(customers.resolve(TRAVELCO, "nobody").await.unwrap(), None);

    let directory = BuiltInDirectory::new(store);
    let added = directory
        .add(
            "alice",
            "A Customer",
            "correct horse battery",
            Timestamp::from_unix_seconds(1_800_000_000),
            "test",
        )
        .await
        .unwrap();
    let (salts, _) = directory.pairwise_salts_after(None).await.unwrap();
    let salt = &salts[0].salt;
    assert_eq!(
        customers
            .resolve(TRAVELCO, &pairwise_id(salt, TRAVELCO))
            .await
            .unwrap(),
        Some(added.customer_id)
    );
    assert_eq!(
        customers
            .resolve(SHOPCO, &pairwise_id(salt, TRAVELCO))
            .await
            .unwrap(),
        None
    );
}
