//! Latency of the compliance audit list (`/audit/data-access` without HTTP) on the embedded
//! store holding many access records: the scan of the log every query used to make
//! ("before") against the queries served from the consent's stream or the streams the
//! access index names ("after"), on the same data in the same run.
//!
//! `cargo run --release -p ecohub-sharing --example audit_bench -- [records]` (default
//! 200 000 records over 20 000 consents of 200 partners, in a temporary directory).

use std::sync::Arc;
use std::time::{Duration, Instant};

use ecohub_eventstore::{
    ExpectedRevision, NewEvent, Position, ProjectionHandle, SharedStore, SqliteStore,
    SqliteStoreOptions,
};
use ecohub_kernel::{EventMetadata, Timestamp};
use ecohub_sharing::application::AccessFilter;
use ecohub_sharing::audit::{
    AccessIndex, AccessIndexProjection, AccessPage, access_records, scan_access_records,
};
use ecohub_sharing::domain::access::{DataAccessed, access_stream};
use futures_util::StreamExt;

const START: Timestamp = Timestamp::from_unix_seconds(1_800_000_000);
const CONSENTS: usize = 20_000;
const PARTNERS: usize = 200;
const DATASETS: [&str; 4] = ["accounts", "balances", "transactions", "travel_profile"];

/// The n-th access record: mostly spread over the ordinary consents, with a selective
/// consent (`bench-consent`, 20 records), a selective partner (`bench-partner`, 5 consents,
/// 40 records) and a rare dataset (`activity`, 25 records) spread across the whole log.
fn access(n: usize, total: usize) -> DataAccessed {
    let (consent, partner, dataset) = if n % (total / 20) == 7 {
        ("bench-consent".to_owned(), "p-0".to_owned(), "accounts")
    } else if n % (total / 40) == 11 {
        let c = (n / (total / 40)) % 5;
        (format!("bp-{c}"), "bench-partner".to_owned(), "balances")
    } else if n % (total / 25) == 13 {
        ("c-0".to_owned(), "p-0".to_owned(), "activity")
    } else {
        let c = (n * 7_919) % CONSENTS;
        (
            format!("c-{c}"),
            format!("p-{}", c % PARTNERS),
            DATASETS[n % 4],
        )
    };
    DataAccessed {
        client_id: format!("client-{partner}"),
        partner_id: partner,
        customer: format!("pairwise-{consent}"),
        consent_id: consent,
        dataset: dataset.to_owned(),
        fields: vec!["account_id".into(), "currency".into()],
        record_count: 20,
        interaction_id: format!("00000000-0000-4000-8000-{n:012}"),
        at: START.plus(Duration::from_millis(n as u64)),
    }
}

async fn load(store: &SharedStore, total: usize) {
    let started = Instant::now();
    futures_util::stream::iter(0..total)
        .map(|n| {
            let store = store.clone();
            async move {
                let a = access(n, total);
                store
                    .append(
                        &access_stream(&a.consent_id),
                        ExpectedRevision::Any,
                        vec![NewEvent::from_domain(&a, EventMetadata::default(), a.at)],
                    )
                    .await
                    .expect("append");
            }
        })
        .buffer_unordered(512)
        .collect::<Vec<()>>()
        .await;
    println!(
        "loaded {total} access records in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// Median and worst latency of `runs` calls.
async fn time<F, Fut>(runs: usize, mut f: F) -> (Duration, Duration, usize)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = AccessPage>,
{
    let mut times = Vec::with_capacity(runs);
    let mut returned = 0;
    for _ in 0..runs {
        let t = Instant::now();
        let (items, _) = f().await;
        times.push(t.elapsed());
        returned = items.len();
    }
    times.sort();
    (times[times.len() / 2], times[times.len() - 1], returned)
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

#[tokio::main]
async fn main() {
    let total: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(200_000)
        .max(1_000);
    let dir = tempfile::tempdir().expect("temporary directory");
    let store: SharedStore = Arc::new(
        SqliteStore::open(dir.path().join("events.db"), SqliteStoreOptions::default())
            .expect("store"),
    );
    load(&store, total).await;
    let index = AccessIndex::default();
    let started = Instant::now();
    let handle = ProjectionHandle::spawn(store.clone(), AccessIndexProjection::new(index.clone()));
    handle.wait_for(store.head().await.expect("head")).await;
    println!(
        "access index built from zero in {:.2} s ({} streams)",
        started.elapsed().as_secs_f64(),
        index.streams()
    );

    // A mid-log cursor: the position of the selective consent's 10th record.
    let consent = AccessFilter {
        consent_id: Some("bench-consent".into()),
        ..AccessFilter::default()
    };
    let (first, _) = scan_access_records(&*store, None, &consent, 10)
        .await
        .expect("scan");
    let cursor: Option<Position> = first.last().map(|(p, _)| *p);
    let cases: Vec<(&str, AccessFilter, Option<Position>)> = vec![
        ("consent_id (20 records)", consent.clone(), None),
        ("consent_id, after a mid-log cursor", consent, cursor),
        (
            "partner_id (5 consents, 40 records)",
            AccessFilter {
                partner_id: Some("bench-partner".into()),
                ..AccessFilter::default()
            },
            None,
        ),
        (
            "partner_id, after a mid-log cursor",
            AccessFilter {
                partner_id: Some("bench-partner".into()),
                ..AccessFilter::default()
            },
            cursor,
        ),
        (
            "dataset=activity (25 records)",
            AccessFilter {
                dataset: Some("activity".into()),
                ..AccessFilter::default()
            },
            None,
        ),
        (
            "partner_id=p-7 (≈ 1 000 records, 100 consents)",
            AccessFilter {
                partner_id: Some("p-7".into()),
                ..AccessFilter::default()
            },
            None,
        ),
        ("no filter", AccessFilter::default(), None),
    ];
    println!();
    println!(
        "| query (page of 50) | before: scan (median / max) | after (median / max) | records |"
    );
    println!("|---|---|---|---|");
    for (name, filter, after) in cases {
        let (scan_median, scan_max, scanned) = time(5, || async {
            scan_access_records(&*store, after, &filter, 51)
                .await
                .expect("scan")
        })
        .await;
        let (median, max, returned) = time(50, || async {
            access_records(&*store, &index, after, &filter, 51)
                .await
                .expect("query")
        })
        .await;
        assert_eq!(scanned, returned, "{name}: same records");
        println!(
            "| {name} | {} / {} | {} / {} | {returned} |",
            ms(scan_median),
            ms(scan_max),
            ms(median),
            ms(max)
        );
    }
    handle.stop();
    store.close().await.expect("close");
}
