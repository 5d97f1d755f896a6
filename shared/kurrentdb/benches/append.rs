//! Append latency and throughput through the KurrentDB backend against the in-process
//! protocol double (or a real server: `ECOHUB_EVENTSTOREDB_URL`), next to the embedded store,
//! with 1 and 64 concurrent single-event writers.
//!
//!     cargo bench -p ecohub-kurrentdb --bench append
//!
//! `ECOHUB_BENCH_QUICK=1` runs a smaller smoke version.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ecohub_eventstore::{EventStore, ExpectedRevision, NewEvent, SqliteStore, SqliteStoreOptions};
use ecohub_kernel::Timestamp;
use ecohub_kurrentdb::KurrentDbStore;
use ecohub_kurrentdb_double::DoubleCluster;
use serde_json::json;

struct Figures {
    events_per_sec: f64,
    p50: Duration,
    p99: Duration,
}

async fn run(store: Arc<dyn EventStore>, writers: usize, per_writer: usize) -> Figures {
    let now = Timestamp::from_unix_seconds(1_800_000_000);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..writers {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(per_writer);
            let stream = format!("bench-{}-{w}", uuid::Uuid::new_v4().simple());
            for i in 0..per_writer {
                let event = NewEvent::raw(
                    "ConsentAuthorised",
                    json!({"consent": i, "permissions": ["ReadAccountsBasic", "ReadBalances"], "purpose": "budgeting"}),
                    now,
                );
                let t = Instant::now();
                store.append(&stream, ExpectedRevision::Any, vec![event]).await.unwrap();
                latencies.push(t.elapsed());
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let elapsed = started.elapsed();
    all.sort_unstable();
    Figures {
        events_per_sec: all.len() as f64 / elapsed.as_secs_f64(),
        p50: all[all.len() / 2],
        p99: all[all.len() * 99 / 100],
    }
}

fn main() {
    let quick = std::env::var_os("ECOHUB_BENCH_QUICK").is_some();
    let (single, many) = if quick { (200, 20) } else { (2_000, 200) };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let (kurrent, _cluster, label): (Arc<dyn EventStore>, Option<DoubleCluster>, &str) =
            match std::env::var("ECOHUB_EVENTSTOREDB_URL") {
                Ok(url) => (
                    Arc::new(KurrentDbStore::connect(&url).await.unwrap()),
                    None,
                    "KurrentDB server",
                ),
                Err(_) => {
                    let cluster = DoubleCluster::start(1).await;
                    let store = KurrentDbStore::connect(&cluster.connection_string())
                        .await
                        .unwrap();
                    (
                        Arc::new(store),
                        Some(cluster),
                        "KurrentDB double (loopback gRPC)",
                    )
                }
            };
        let dir = tempfile::tempdir().unwrap();
        let sqlite: Arc<dyn EventStore> = Arc::new(
            SqliteStore::open(dir.path().join("events.db"), SqliteStoreOptions::default()).unwrap(),
        );
        println!("| store | writers | events/s | p50 | p99 |");
        println!("|---|---|---|---|---|");
        for (name, store) in [
            (label, kurrent.clone()),
            ("embedded SQLite", sqlite.clone()),
        ] {
            for (writers, per_writer) in [(1, single), (64, many)] {
                let f = run(store.clone(), writers, per_writer).await;
                println!(
                    "| {name} | {writers} | {:.0} | {:.2} ms | {:.2} ms |",
                    f.events_per_sec,
                    f.p50.as_secs_f64() * 1000.0,
                    f.p99.as_secs_f64() * 1000.0
                );
            }
        }
        sqlite.close().await.unwrap();
    });
}
