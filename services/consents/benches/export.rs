//! The audit export and `verify_all` over many consent events, on the embedded store:
//! `cargo bench -p ecohub-consents --bench export -- <events>` (default 1 000 000).
//!
//! Writes consents of three events each (requested, authorised, revoked; sealed into their
//! chains), then streams `GET /audit/consents/export?format=csv` through the real handler
//! chunk by chunk, sampling the process's resident memory, and verifies every chain.
//! Prints events/s and the growth of anonymous resident memory during the export (constant
//! memory means it does not grow with the number of events).

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::{App, test, web};
use async_trait::async_trait;
use ecohub_consents::chain::{GENESIS, seal_events};
use ecohub_consents::domain::*;
use ecohub_consents::{
    ConsentsConfig, ConsentsPorts, ConsentsState, DataUse, DataUseLog, PartnerInfo, PartnerLookup,
    ReceiptSigner, verify_all,
};
use ecohub_eventstore::{
    CurrentRevision, ExpectedRevision, SharedStore, SqliteStore, SqliteStoreOptions,
};
use ecohub_kernel::{EventMetadata, SystemClock, Timestamp};
use ecohub_security::{AccessTokenVerifier, AuthError, PresentedToken, Principal, SharedVerifier};

struct Auditor;

#[async_trait(?Send)]
impl AccessTokenVerifier for Auditor {
    async fn verify(&self, _: &PresentedToken) -> Result<Principal, AuthError> {
        Ok(Principal {
            client_id: "auditor".into(),
            subject: "auditor".into(),
            partner_id: None,
            scopes: ["audit".to_owned()].into(),
            token_id: "jti".into(),
            consent_id: None,
            staff_id: None,
        })
    }
}

struct NoPartners;

impl PartnerLookup for NoPartners {
    fn partner(&self, _: PartnerId) -> Option<PartnerInfo> {
        None
    }

    fn data_providers(&self) -> Vec<(PartnerId, PartnerInfo)> {
        Vec::new()
    }
}

struct NoSigner;

impl ReceiptSigner for NoSigner {
    fn sign(&self, _: &serde_json::Value) -> Result<String, String> {
        Err("not in this benchmark".into())
    }
}

struct NoDataUse;

#[async_trait::async_trait]
impl DataUseLog for NoDataUse {
    async fn uses(&self, _: &str, _: usize) -> Result<(Vec<DataUse>, bool), String> {
        Err("not in this benchmark".into())
    }
}

/// Anonymous resident memory (heap, stacks, SQLite's page cache), without the store file's
/// memory-mapped pages (the read connections map up to 256 MiB of it; those pages belong to
/// the OS page cache and are reclaimable).
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("RssAnon:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn history(i: usize, now: Timestamp) -> (ConsentId, Vec<ConsentEvent>) {
    let id = ConsentId::new_v7(now);
    let partner = PartnerId::new_v7(now);
    let events = vec![
        ConsentEvent::Requested {
            consent_id: id,
            recipient: Recipient::Partner(partner),
            permissions: Permissions::parse(&["ReadAccountsBasic", "ReadBalances"]).unwrap(),
            purpose: Purpose::parse("budget", "Budgeting, with \"tips\"").unwrap(),
            expiry: Expiry::parse(now.plus(Duration::from_secs(86_400 * 90)), now).unwrap(),
            transaction_window: TransactionWindow::default(),
            data_providers: DataProviders::parse(&["bank"]).unwrap(),
            authorisation_deadline: now.plus(Duration::from_secs(3600)),
            reason: ReasonCode::parse("consent_requested").unwrap(),
            at: now,
        },
        ConsentEvent::Authorised {
            customer_id: CustomerId::parse(&format!("cust-{i}")).unwrap(),
            pairwise_id: Some(PairwiseId::parse(&format!("pw-{i}")).unwrap()),
            reason: ReasonCode::parse("customer_authorised").unwrap(),
            at: now,
        },
        ConsentEvent::Revoked {
            by: RevokedBy::Customer,
            reason: ReasonCode::parse("customer_request").unwrap(),
            at: now,
        },
    ];
    (id, events)
}

async fn write(store: SharedStore, consents: usize) {
    const WRITERS: usize = 64;
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let metadata = EventMetadata {
                actor: Some("client:bench".into()),
                request_id: Some("bench".into()),
                ..EventMetadata::default()
            };
            for i in (w..consents).step_by(WRITERS) {
                let now = Timestamp::from_unix_millis(1_800_000_000_000 + i as i64);
                let (id, events) = history(i, now);
                let stream = id.stream_name();
                let sealed = seal_events(
                    &stream,
                    CurrentRevision::NoStream,
                    GENESIS,
                    &events,
                    &metadata,
                    now,
                );
                store
                    .append(&stream, ExpectedRevision::NoStream, sealed)
                    .await
                    .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}

fn main() {
    let events: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run(events));
}

async fn run(events: usize) {
    let consents = events / 3;
    let dir = tempfile::tempdir().unwrap();
    let store: SharedStore = Arc::new(
        SqliteStore::open(dir.path().join("events.db"), SqliteStoreOptions::default()).unwrap(),
    );
    let started = Instant::now();
    write(store.clone(), consents).await;
    let took = started.elapsed();
    let total = consents * 3;
    println!(
        "write: {total} events ({consents} consents) in {:.1} s ({:.0} events/s)",
        took.as_secs_f64(),
        total as f64 / took.as_secs_f64()
    );

    let (state, _) = ConsentsState::new(
        store.clone(),
        Arc::new(SystemClock),
        ConsentsConfig::default(),
        ConsentsPorts {
            partners: Arc::new(NoPartners),
            receipts: Arc::new(NoSigner),
            data_use: Arc::new(NoDataUse),
        },
    );
    let verifier: SharedVerifier = Arc::new(Auditor);
    let app = test::init_service(
        App::new()
            .app_data(web::Data::new(state))
            .app_data(web::Data::new(verifier))
            .app_data(ecohub_http::query_config())
            .configure(ecohub_consents::configure),
    )
    .await;
    let req = test::TestRequest::get()
        .uri("/audit/consents/export?format=csv")
        .insert_header(("authorization", "Bearer auditor"))
        .to_request();
    let rss_before = rss_kib();
    let mut rss_peak = rss_before;
    let started = Instant::now();
    let res = test::call_service(&app, req).await;
    assert!(res.status().is_success());
    let body = res.into_body();
    let mut body = std::pin::pin!(body);
    let (mut bytes, mut rows, mut chunks) = (0usize, 0usize, 0usize);
    while let Some(chunk) = std::future::poll_fn(|cx| body.as_mut().poll_next(cx)).await {
        let chunk = chunk.unwrap();
        bytes += chunk.len();
        rows += chunk.iter().filter(|b| **b == b'\n').count();
        chunks += 1;
        if chunks % 16 == 0 {
            rss_peak = rss_peak.max(rss_kib());
        }
    }
    let took = started.elapsed();
    assert_eq!(rows, total + 1, "header and one row per event");
    println!(
        "export csv: {total} events, {:.1} MiB in {:.1} s ({:.0} events/s); anonymous resident memory {} MiB before, peak {} MiB during (+{} MiB)",
        bytes as f64 / 1_048_576.0,
        took.as_secs_f64(),
        total as f64 / took.as_secs_f64(),
        rss_before / 1024,
        rss_peak / 1024,
        rss_peak.saturating_sub(rss_before) / 1024,
    );

    let started = Instant::now();
    let report = verify_all(&*store).await.unwrap();
    let took = started.elapsed();
    assert_eq!(report.events as usize, total);
    assert!(report.first_break.is_none());
    println!(
        "verify_all: {} streams, {} events in {:.1} s ({:.0} events/s)",
        report.streams,
        report.events,
        took.as_secs_f64(),
        report.events as f64 / took.as_secs_f64()
    );
    store.close().await.unwrap();
}
