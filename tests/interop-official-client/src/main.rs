//! Append latency of the official `kurrentdb` 1.2.0 client and of Ecohub's own client,
//! against the same in-process KurrentDB protocol double on loopback, sequential appends.

use std::time::{Duration, Instant};

use ecohub_eventstore::{EventStore, ExpectedRevision, NewEvent};
use ecohub_kernel::Timestamp;
use ecohub_kurrentdb::KurrentDbStore;
use ecohub_kurrentdb_double::DoubleCluster;

fn summary(name: &str, mut v: Vec<Duration>, total: Duration) {
    v.sort_unstable();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "| {name} | {} | {:.0} | {:.2} ms | {:.2} ms |",
        v.len(),
        v.len() as f64 / total.as_secs_f64(),
        ms(v[v.len() / 2]),
        ms(v[v.len() * 99 / 100]),
    );
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(200);
    let cluster = DoubleCluster::start(1).await;
    let url = cluster.connection_string();
    println!("| client | appends | appends/s | p50 | p99 |");
    println!("|---|---|---|---|---|");

    let settings = url.parse().expect("connection string");
    let official = kurrentdb::Client::new(settings).expect("official client");
    // warm up (connection, feature discovery)
    let warm = kurrentdb::EventData::json("Warm", &serde_json::json!({})).unwrap();
    official.append_to_stream("warm-official", &Default::default(), warm).await.unwrap();
    let mut lat = Vec::with_capacity(n);
    let start = Instant::now();
    for i in 0..n {
        let e = kurrentdb::EventData::json("ConsentAuthorised", &serde_json::json!({"i": i})).unwrap();
        let t = Instant::now();
        official.append_to_stream("official-1", &Default::default(), e).await.unwrap();
        lat.push(t.elapsed());
    }
    summary("kurrentdb 1.2.0 (official)", lat, start.elapsed());

    let ours = KurrentDbStore::connect(&url).await.expect("own client");
    let now = Timestamp::from_unix_seconds(1_800_000_000);
    let mut lat = Vec::with_capacity(n);
    let start = Instant::now();
    for i in 0..n {
        let e = NewEvent::raw("ConsentAuthorised", serde_json::json!({"i": i}), now);
        let t = Instant::now();
        ours.append("ecohub-1", ExpectedRevision::Any, vec![e]).await.unwrap();
        lat.push(t.elapsed());
    }
    summary("ecohub-kurrentdb (own tonic client, TCP_NODELAY)", lat, start.elapsed());
}
