//! The pairwise-id resolver (`PairwiseResolver`, the hub wires it behind the sharing
//! service's `Customers` port): exact for customers registered a moment ago (by this process
//! or by `ecohub customers add` beside it), and an unknown id never rescans the customer
//! directory.

use std::sync::Arc;

use ecohub_auth::{BuiltInDirectory, PairwiseLookup, PairwiseResolver, pairwise_id};
use ecohub_eventstore::{SharedStore, SqliteStore, SqliteStoreOptions};
use ecohub_kernel::Timestamp;
use ecohub_testkit::FaultyStore;

const TRAVELCO: &str = "0190f0c4-0000-7000-8000-00000000cccc";
const SHOPCO: &str = "0190f0c4-0000-7000-8000-00000000dddd";
const BANKCO: &str = "0190f0c4-0000-7000-8000-00000000eeee";

struct Hub {
    /// The store the resolver reads, counting.
    store: Arc<FaultyStore>,
    resolver: PairwiseResolver,
    db: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Hub {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("events.db");
        let sqlite: SharedStore =
            Arc::new(SqliteStore::open(&db, SqliteStoreOptions::default()).unwrap());
        let store = FaultyStore::new(sqlite);
        let resolver = PairwiseResolver::new(store.clone());
        Self {
            store,
            resolver,
            db,
            _dir: dir,
        }
    }

    /// Registers a customer through the hub's own store; returns its id and salt.
    async fn add(&self, username: &str) -> (String, String) {
        add_customer(self.store.inner().clone(), username).await
    }

    /// Registers a customer as `ecohub customers add` does beside a running hub: through
    /// another store on the same database, whose writes move no head the hub's store keeps.
    async fn add_elsewhere(&self, username: &str) -> (String, String) {
        let other: SharedStore =
            Arc::new(SqliteStore::open(&self.db, SqliteStoreOptions::default()).unwrap());
        let added = add_customer(other.clone(), username).await;
        other.close().await.unwrap();
        added
    }

    async fn resolve(&self, partner: &str, pairwise: &str) -> Option<String> {
        self.resolver.resolve(partner, pairwise).await.unwrap()
    }
}

/// Adds a customer; returns its id and pairwise salt.
async fn add_customer(store: SharedStore, username: &str) -> (String, String) {
    let directory = BuiltInDirectory::new(store);
    let now = Timestamp::from_unix_seconds(1_800_000_000);
    let added = directory
        .add(username, "A Customer", "correct horse battery", now, "test")
        .await
        .unwrap();
    let (salts, _) = directory.pairwise_salts_after(None).await.unwrap();
    let salt = salts
        .into_iter()
        .find(|s| s.customer_id == added.customer_id)
        .unwrap()
        .salt;
    (added.customer_id, salt)
}

#[tokio::test]
async fn a_customer_registered_a_moment_ago_resolves_on_the_next_call() {
    let hub = Hub::new();
    assert_eq!(hub.resolve(TRAVELCO, "nobody").await, None);

    let (alice, alice_salt) = hub.add("alice").await;
    assert_eq!(
        hub.resolve(TRAVELCO, &pairwise_id(&alice_salt, TRAVELCO))
            .await,
        Some(alice.clone())
    );

    // Added by another process on the same database: the hub's store saw no append.
    let (bob, bob_salt) = hub.add_elsewhere("bob").await;
    assert_eq!(
        hub.resolve(TRAVELCO, &pairwise_id(&bob_salt, TRAVELCO))
            .await,
        Some(bob)
    );
    assert_eq!(
        hub.resolve(TRAVELCO, &pairwise_id(&alice_salt, TRAVELCO))
            .await,
        Some(alice)
    );
}

#[tokio::test]
async fn repeated_unknown_ids_do_not_read_the_directory_again() {
    let hub = Hub::new();
    let mut customers = Vec::new();
    for name in ["alice", "bob", "carol"] {
        customers.push(hub.add(name).await);
    }
    let (alice, alice_salt) = &customers[0];
    let alice_at_travelco = pairwise_id(alice_salt, TRAVELCO);
    assert_eq!(
        hub.resolve(TRAVELCO, &alice_at_travelco).await.as_ref(),
        Some(alice)
    );
    let loaded = hub.store.counts();
    assert_eq!(
        loaded.events_read, 3,
        "the directory is read once: {loaded:?}"
    );

    // Unknown ids, again and again: at most one read of the (empty) tail each, no event of
    // the directory read again.
    for i in 0..50 {
        let unknown = format!("unknown-{}", i % 3);
        assert_eq!(hub.resolve(TRAVELCO, &unknown).await, None);
    }
    let after = hub.store.counts();
    assert_eq!(after.events_read, loaded.events_read, "{after:?}");
    assert!(after.all_reads - loaded.all_reads <= 50, "{after:?}");
    assert_eq!(after.stream_reads, loaded.stream_reads, "{after:?}");

    // Known ids cost no read at all.
    for (customer, salt) in &customers {
        assert_eq!(
            hub.resolve(TRAVELCO, &pairwise_id(salt, TRAVELCO))
                .await
                .as_ref(),
            Some(customer)
        );
    }
    assert_eq!(hub.store.counts().reads(), after.reads());

    // A new customer: the next miss reads just the new tail (its one event).
    let (dave, dave_salt) = hub.add("dave").await;
    let before = hub.store.counts();
    assert_eq!(
        hub.resolve(TRAVELCO, &pairwise_id(&dave_salt, TRAVELCO))
            .await,
        Some(dave)
    );
    let tail = hub.store.counts();
    assert_eq!(tail.events_read - before.events_read, 1, "{tail:?}");
    assert_eq!(tail.all_reads - before.all_reads, 1, "{tail:?}");
}

#[tokio::test]
async fn each_partner_resolves_its_own_pairwise_ids_only() {
    let hub = Hub::new();
    let mut customers = Vec::new();
    for name in ["alice", "bob", "carol"] {
        customers.push(hub.add(name).await);
    }
    let partners = [TRAVELCO, SHOPCO, BANKCO];
    // The first partner loads the directory; the others compute from memory.
    let (first, first_salt) = &customers[0];
    assert_eq!(
        hub.resolve(TRAVELCO, &pairwise_id(first_salt, TRAVELCO))
            .await
            .as_ref(),
        Some(first)
    );
    let loaded = hub.store.counts();
    for partner in partners {
        for (customer, salt) in &customers {
            let id = pairwise_id(salt, partner);
            assert_eq!(hub.resolve(partner, &id).await.as_ref(), Some(customer));
            // Unlinkable: another partner's id of the same customer resolves to no one.
            for other in partners.iter().filter(|p| **p != partner) {
                assert_eq!(hub.resolve(other, &id).await, None, "{partner} → {other}");
            }
        }
    }
    assert_eq!(
        hub.store.counts().events_read,
        loaded.events_read,
        "the directory was read once for every partner"
    );

    // A customer added later resolves at every partner.
    let (erin, erin_salt) = hub.add_elsewhere("erin").await;
    for partner in partners {
        assert_eq!(
            hub.resolve(partner, &pairwise_id(&erin_salt, partner))
                .await
                .as_ref(),
            Some(&erin)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_misses_read_no_directory_event_again() {
    let hub = Arc::new(Hub::new());
    let (alice, alice_salt) = hub.add("alice").await;
    assert_eq!(hub.resolve(TRAVELCO, "warm-up").await, None);
    let before = hub.store.counts();
    let mut tasks = Vec::new();
    for i in 0..32 {
        let hub = hub.clone();
        tasks.push(tokio::spawn(async move {
            hub.resolve(TRAVELCO, &format!("unknown-{i}")).await
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), None);
    }
    let after = hub.store.counts();
    assert_eq!(after.events_read, before.events_read, "{after:?}");
    assert!(after.all_reads - before.all_reads <= 32, "{after:?}");
    assert_eq!(
        hub.resolve(TRAVELCO, &pairwise_id(&alice_salt, TRAVELCO))
            .await,
        Some(alice)
    );
}
