//! Embedded event store benchmark (no harness): durable append throughput with and without
//! group commit, read_all + decode throughput, subscription lag.
//!
//! `cargo bench -p ecohub-eventstore --bench store` (set `ECOHUB_BENCH_QUICK=1` for a smoke
//! run). Each scenario runs on a fresh store in a temporary directory on the local disk.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ecohub_eventstore::{
    EventFilter, EventStore, ExpectedRevision, NewEvent, SqliteStore, SqliteStoreOptions,
    SubscriptionMessage,
};
use ecohub_kernel::{EventId, EventMetadata, Timestamp};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

/// A payload of realistic size (~300 bytes of JSON).
#[derive(Debug, Serialize, Deserialize)]
struct ConsentAuthorised {
    consent_id: String,
    partner_id: String,
    customer_ref: String,
    permissions: Vec<String>,
    expires_at: String,
    amount_limit: f64,
    sequence: u64,
}

fn payload(sequence: u64) -> serde_json::Value {
    serde_json::to_value(ConsentAuthorised {
        consent_id: uuid::Uuid::new_v4().to_string(),
        partner_id: uuid::Uuid::new_v4().to_string(),
        customer_ref: format!("cust-{:08}", sequence % 100_000),
        permissions: vec![
            "ReadAccountsBasic".into(),
            "ReadBalances".into(),
            "ReadTransactionsCredits".into(),
        ],
        expires_at: "2027-03-01T00:00:00Z".into(),
        amount_limit: 5_000.5,
        sequence,
    })
    .unwrap()
}

fn now() -> Timestamp {
    Timestamp::from(time::OffsetDateTime::now_utc())
}

fn new_event(sequence: u64) -> NewEvent {
    NewEvent {
        event_id: EventId::generate(now()),
        event_type: "ConsentAuthorised".into(),
        event_version: 1,
        data: payload(sequence),
        metadata: EventMetadata {
            correlation_id: Some(uuid::Uuid::new_v4().to_string()),
            actor: Some("client:bench".into()),
            ..EventMetadata::default()
        },
        recorded_at: None,
    }
}

fn open(dir: &tempfile::TempDir, max_batch_events: usize) -> SqliteStore {
    SqliteStore::open(
        dir.path().join("events.db"),
        SqliteStoreOptions {
            max_batch_events,
            ..SqliteStoreOptions::default()
        },
    )
    .unwrap()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

struct Row {
    name: String,
    value: String,
    detail: String,
}

/// `writers` tasks each append `per_writer` single-event appends to their own stream.
async fn appends(
    writers: usize,
    per_writer: usize,
    max_batch_events: usize,
) -> (
    f64,
    Vec<Duration>,
    ecohub_eventstore::sqlite::SqliteStoreStats,
) {
    let dir = tempfile::tempdir_in(std::env::temp_dir()).unwrap();
    let store = open(&dir, max_batch_events);
    // Pre-build the events so that only the store is measured.
    let prepared: Vec<Vec<NewEvent>> = (0..writers)
        .map(|w| {
            (0..per_writer)
                .map(|i| new_event((w * per_writer + i) as u64))
                .collect()
        })
        .collect();
    let started = Instant::now();
    let tasks: Vec<_> = prepared
        .into_iter()
        .enumerate()
        .map(|(w, events)| {
            let store = store.clone();
            tokio::spawn(async move {
                let stream = format!("bench-{w}");
                let mut expected = ExpectedRevision::NoStream;
                let mut latencies = Vec::with_capacity(events.len());
                for e in events {
                    let t = Instant::now();
                    let r = store.append(&stream, expected, vec![e]).await.unwrap();
                    latencies.push(t.elapsed());
                    expected = r.next_expected.into();
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await.unwrap());
    }
    let elapsed = started.elapsed();
    let stats = store.stats();
    store.close().await.unwrap();
    latencies.sort_unstable();
    (
        (writers * per_writer) as f64 / elapsed.as_secs_f64(),
        latencies,
        stats,
    )
}

async fn append_rows(rows: &mut Vec<Row>, quick: bool) -> (f64, f64) {
    let scale = if quick { 1 } else { 5 };
    let (one, lat, stats) = appends(1, 400 * scale, 1024).await;
    rows.push(Row {
        name: "durable appends, 1 writer (1 event each)".into(),
        value: format!("{one:.0} events/s"),
        detail: format!(
            "p50 {} p99 {}; {} commits",
            ms(percentile(&lat, 0.5)),
            ms(percentile(&lat, 0.99)),
            stats.commits
        ),
    });
    let (grouped, lat, stats) = appends(64, 200 * scale, 1024).await;
    rows.push(Row {
        name: "durable appends, 64 concurrent writers, group commit".into(),
        value: format!("{grouped:.0} events/s"),
        detail: format!(
            "p50 {} p99 {}; {} appends in {} commits ({:.1} per commit)",
            ms(percentile(&lat, 0.5)),
            ms(percentile(&lat, 0.99)),
            stats.appends,
            stats.commits,
            stats.appends as f64 / stats.commits.max(1) as f64
        ),
    });
    let (single, lat, stats) = appends(64, 20 * scale, 1).await;
    rows.push(Row {
        name: "durable appends, 64 concurrent writers, max batch 1 (baseline)".into(),
        value: format!("{single:.0} events/s"),
        detail: format!(
            "p50 {} p99 {}; {} commits",
            ms(percentile(&lat, 0.5)),
            ms(percentile(&lat, 0.99)),
            stats.commits
        ),
    });
    rows.push(Row {
        name: "group commit gain (64 writers)".into(),
        value: format!("{:.1}x", grouped / single),
        detail: "group commit / one transaction per append".into(),
    });
    (grouped, single)
}

async fn read_decode_rows(rows: &mut Vec<Row>, quick: bool) -> f64 {
    let total: usize = if quick { 20_000 } else { 250_000 };
    let dir = tempfile::tempdir_in(std::env::temp_dir()).unwrap();
    let store = open(&dir, 1024);
    // Fill: 1 000-event appends over 1 000 streams.
    let mut sequence = 0u64;
    while (sequence as usize) < total {
        let batch: Vec<NewEvent> = (0..1_000).map(|i| new_event(sequence + i)).collect();
        store
            .append(
                &format!("consent-{}", sequence % 1_000_000 / 1_000),
                ExpectedRevision::Any,
                batch,
            )
            .await
            .unwrap();
        sequence += 1_000;
    }
    let mut best = 0f64;
    for _ in 0..3 {
        let started = Instant::now();
        let mut from = None;
        let mut n = 0usize;
        let mut checksum = 0u64;
        loop {
            let page = store
                .read_all(from, &EventFilter::all(), 1_000)
                .await
                .unwrap();
            for e in &page {
                let decoded: ConsentAuthorised = serde_json::from_slice(&e.data).unwrap();
                checksum = checksum.wrapping_add(decoded.sequence);
            }
            n += page.len();
            match page.last() {
                Some(last) => from = Some(last.position),
                None => break,
            }
        }
        assert_eq!(n, total);
        assert!(checksum > 0);
        best = best.max(n as f64 / started.elapsed().as_secs_f64());
    }
    rows.push(Row {
        name: format!("read_all + decode, {total} events (pages of 1 000, best of 3)"),
        value: format!("{best:.0} events/s"),
        detail: "serde_json into a typed struct; metadata parsed too".into(),
    });
    store.close().await.unwrap();
    best
}

async fn lag_rows(rows: &mut Vec<Row>, quick: bool) -> (Duration, Duration) {
    let per_writer: usize = if quick { 100 } else { 1_000 };
    const WRITERS: usize = 8;
    let dir = tempfile::tempdir_in(std::env::temp_dir()).unwrap();
    let store = open(&dir, 1024);
    let acked: Arc<Mutex<HashMap<EventId, Instant>>> = Arc::default();
    let mut subscription = store.subscribe_all(None, EventFilter::all()).await.unwrap();
    let total = WRITERS * per_writer;
    let receiver = tokio::spawn(async move {
        let mut received = Vec::with_capacity(total);
        while received.len() < total {
            match subscription.next().await {
                Some(Ok(SubscriptionMessage::Event(e))) => {
                    received.push((e.event_id, Instant::now()));
                }
                Some(Ok(_)) => {}
                other => panic!("subscription: {other:?}"),
            }
        }
        received
    });
    let started = Instant::now();
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let store = store.clone();
            let acked = Arc::clone(&acked);
            tokio::spawn(async move {
                let mut interval = tokio::time::interval(Duration::from_millis(2));
                for i in 0..per_writer {
                    interval.tick().await;
                    let e = new_event(i as u64);
                    let id = e.event_id;
                    store
                        .append(&format!("lag-{w}"), ExpectedRevision::Any, vec![e])
                        .await
                        .unwrap();
                    acked.lock().unwrap().insert(id, Instant::now());
                }
            })
        })
        .collect();
    for w in writers {
        w.await.unwrap();
    }
    let rate = total as f64 / started.elapsed().as_secs_f64();
    let received = receiver.await.unwrap();
    // Time from the append's acknowledgement to its delivery (zero when the subscriber
    // got it before the appending task saw its ack).
    let mut lags: Vec<Duration> = {
        let acked = acked.lock().unwrap();
        received
            .iter()
            .map(|(id, at)| at.saturating_duration_since(acked[id]))
            .collect()
    };
    lags.sort_unstable();
    let (p50, p99) = (percentile(&lags, 0.5), percentile(&lags, 0.99));
    rows.push(Row {
        name: format!("subscription lag, {WRITERS} writers at ~{rate:.0} events/s"),
        value: format!("p50 {} / p99 {}", ms(p50), ms(p99)),
        detail: format!(
            "ack → subscriber, {} events, max {}",
            lags.len(),
            ms(*lags.last().unwrap())
        ),
    });
    store.close().await.unwrap();
    (p50, p99)
}

fn main() {
    let quick = std::env::var_os("ECOHUB_BENCH_QUICK").is_some_and(|v| v != "0");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut rows = Vec::new();
        let (grouped, single) = append_rows(&mut rows, quick).await;
        let read = read_decode_rows(&mut rows, quick).await;
        let (_, p99) = lag_rows(&mut rows, quick).await;

        println!(
            "\nEvent store (embedded SQLite){}\n",
            if quick { " — QUICK MODE" } else { "" }
        );
        println!("| scenario | result | detail |");
        println!("|---|---|---|");
        for r in &rows {
            println!("| {} | {} | {} |", r.name, r.value, r.detail);
        }
        println!();
        let verdict = |ok: bool| if ok { "met" } else { "NOT met" };
        println!(
            "target ≥ 20 000 events/s with 64 writers: {} ({grouped:.0}); baseline one transaction per append {single:.0}",
            verdict(grouped >= 20_000.0)
        );
        println!(
            "target ≥ 300 000 events/s read + decode: {} ({read:.0})",
            verdict(read >= 300_000.0)
        );
        println!("subscription lag p99: {}", ms(p99));
    });
}
