//! The compliance list and export served from the consent's stream or the streams the
//! access index names: the same records, in the same order, as the scan of the log they
//! replaced, for every filter combination, across pages, whatever the index's lag, and
//! reading about what they return.

use std::sync::Arc;
use std::time::Duration;

use actix_web::test;
use ecohub_eventstore::{
    ExpectedRevision, NewEvent, Position, ProjectionHandle, SharedStore, SqliteStore,
    SqliteStoreOptions,
};
use ecohub_http::{IdempotencyConfig, InMemoryIdempotencyStore, SharedIdempotencyStore};
use ecohub_kernel::{EventMetadata, ManualClock, Timestamp};
use ecohub_sharing::application::AccessFilter;
use ecohub_sharing::audit::scan_access_records;
use ecohub_sharing::domain::access::{DataAccessed, access_stream};
use ecohub_sharing::{SharingConfig, SharingPorts, SharingState};
use serde_json::Value;

use crate::support::*;
use ecohub_testkit::FaultyStore;

const PARTNERS: [&str; 3] = [RECIPIENT, OTHER_RECIPIENT, TRAVELCO];
const NOBODY: &str = "0190f0c4-0000-7000-8000-00000000dddd";

/// Sharing over a counting wrapper of the embedded store, with the access index running.
struct Audit {
    sqlite: SharedStore,
    counting: Arc<FaultyStore>,
    state: SharingState,
    index: ProjectionHandle,
    idempotency: SharedIdempotencyStore,
    appended: usize,
    _dir: tempfile::TempDir,
}

impl Audit {
    async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let sqlite: SharedStore = Arc::new(
            SqliteStore::open(dir.path().join("events.db"), SqliteStoreOptions::default()).unwrap(),
        );
        let counting = FaultyStore::new(sqlite.clone());
        let ports = SharingPorts {
            grants: Arc::new(FakeGrants::default()),
            customers: Arc::new(FakeCustomers::default()),
            webhooks: Arc::new(FakeWebhooks::default()),
            signer: Arc::new(FakeSigner),
        };
        let (state, projections) = SharingState::new(
            counting.clone(),
            Arc::new(ManualClock::at(START)),
            SharingConfig::default(),
            ports,
        );
        let index = ProjectionHandle::spawn(sqlite.clone(), projections.access_index);
        Self {
            sqlite,
            counting,
            state,
            index,
            idempotency: Arc::new(InMemoryIdempotencyStore::new(IdempotencyConfig::default())),
            appended: 0,
            _dir: dir,
        }
    }

    /// Records accesses as reads do (one append to the consent's stream each).
    async fn record(&mut self, accesses: &[(&str, &str, &str, i64)]) {
        for &(consent, partner, dataset, second) in accesses {
            self.appended += 1;
            let at = START.plus(Duration::from_secs(second.unsigned_abs()));
            let a = DataAccessed {
                partner_id: partner.to_owned(),
                client_id: format!("client-{partner}"),
                consent_id: consent.to_owned(),
                customer: format!("pairwise-{consent}"),
                dataset: dataset.to_owned(),
                fields: vec!["account_id".into()],
                record_count: 1,
                interaction_id: format!("i-{}", self.appended),
                at,
            };
            self.sqlite
                .append(
                    &access_stream(consent),
                    ExpectedRevision::Any,
                    vec![NewEvent::from_domain(&a, EventMetadata::default(), at)],
                )
                .await
                .unwrap();
        }
    }

    /// Waits until the index has applied everything written so far.
    async fn indexed(&self) {
        let head = self.sqlite.head().await.unwrap();
        tokio::time::timeout(Duration::from_secs(10), self.index.wait_for(head))
            .await
            .expect("index caught up");
    }

    async fn get(&self, uri: &str) -> Res {
        let req = with_token(test::TestRequest::get().uri(uri), Some(AUDITOR_TOKEN));
        call(app(self.state.clone(), self.idempotency.clone()), req).await
    }

    /// Every page of the list, following `links.next`: the interaction ids, in order.
    async fn list_all(&self, query: &str, page_size: usize) -> Vec<String> {
        let mut uri = format!("/audit/data-access?page_size={page_size}{query}");
        let mut out = Vec::new();
        for _ in 0..10_000 {
            let res = self.get(&uri).await;
            assert_eq!(res.status, 200, "{uri}: {}", res.text);
            let page = ids(&res.body["data"]);
            assert!(page.len() <= page_size);
            out.extend(page);
            match res.body["links"]["next"].as_str() {
                Some(next) => {
                    assert_eq!(res.body["data"].as_array().unwrap().len(), page_size);
                    uri = next.to_owned();
                }
                None => return out,
            }
        }
        panic!("paging did not end");
    }

    /// What the scan of the log returns.
    async fn scanned(&self, filter: &AccessFilter, after: Option<Position>) -> Vec<String> {
        let (items, _) = scan_access_records(&*self.sqlite, after, filter, usize::MAX)
            .await
            .unwrap();
        items.into_iter().map(|(_, a)| a.interaction_id).collect()
    }
}

fn ids(data: &Value) -> Vec<String> {
    data.as_array()
        .unwrap()
        .iter()
        .map(|r| r["interaction_id"].as_str().unwrap().to_owned())
        .collect()
}

fn at(second: i64) -> Timestamp {
    START.plus(Duration::from_secs(second.unsigned_abs()))
}

/// 40 consents over three partners, 600 accesses interleaved across them, the `activity`
/// dataset rare, times a little out of order (as concurrent readers append them).
async fn busy_log(audit: &mut Audit) {
    let consents: Vec<String> = (0..40).map(|i| format!("c{i}")).collect();
    let datasets = ["accounts", "balances", "transactions", "travel_profile"];
    let mut accesses = Vec::new();
    for n in 0..600usize {
        let consent = &consents[(n * 7 + n / 40) % 40];
        let i: usize = consent[1..].parse().unwrap();
        let dataset = if n % 97 == 13 {
            "activity"
        } else {
            datasets[(n + i) % 4]
        };
        let second = 100 + n as i64 - if n % 5 == 0 { 3 } else { 0 };
        accesses.push((consent.clone(), PARTNERS[i % 3], dataset, second));
    }
    let borrowed: Vec<(&str, &str, &str, i64)> = accesses
        .iter()
        .map(|(c, p, d, s)| (c.as_str(), *p, *d, *s))
        .collect();
    audit.record(&borrowed).await;
}

#[actix_web::test]
async fn every_filter_combination_returns_what_the_scan_returned_across_pages() {
    let mut audit = Audit::new().await;
    busy_log(&mut audit).await;
    audit.indexed().await;
    let windows: [(Option<i64>, Option<i64>); 4] = [
        (None, None),
        (Some(300), None),
        (None, Some(250)),
        (Some(180), Some(420)),
    ];
    let mut checked = 0;
    for consent in [None, Some("c5"), Some("c-unknown")] {
        for partner in [None, Some(RECIPIENT), Some(TRAVELCO), Some(NOBODY)] {
            for dataset in [None, Some("accounts"), Some("activity")] {
                for (from, to) in windows {
                    let filter = AccessFilter {
                        consent_id: consent.map(str::to_owned),
                        partner_id: partner.map(str::to_owned),
                        dataset: dataset.map(str::to_owned),
                        from: from.map(at),
                        to: to.map(at),
                    };
                    let mut query = String::new();
                    for (name, value) in [
                        ("consent_id", consent.map(str::to_owned)),
                        ("partner_id", partner.map(str::to_owned)),
                        ("dataset", dataset.map(str::to_owned)),
                        ("from", from.map(|s| at(s).to_rfc3339())),
                        ("to", to.map(|s| at(s).to_rfc3339())),
                    ] {
                        if let Some(v) = value {
                            query.push_str(&format!("&{name}={v}"));
                        }
                    }
                    let expected = audit.scanned(&filter, None).await;
                    let page_size = if expected.len() > 200 { 97 } else { 7 };
                    let got = audit.list_all(&query, page_size).await;
                    assert_eq!(got, expected, "{query}");
                    checked += usize::from(!expected.is_empty());
                }
            }
        }
    }
    assert!(checked > 30, "most combinations match something");
    let rare = audit.list_all("&dataset=activity", 2).await;
    assert_eq!(rare.len(), 7);
}

#[actix_web::test]
async fn a_partner_page_merges_many_streams_by_position_without_gaps_or_duplicates() {
    let mut audit = Audit::new().await;
    busy_log(&mut audit).await;
    audit.indexed().await;
    let filter = AccessFilter {
        partner_id: Some(RECIPIENT.to_owned()),
        ..AccessFilter::default()
    };
    let expected = audit.scanned(&filter, None).await;
    assert_eq!(expected.len(), 210, "14 consents of RECIPIENT, interleaved");
    for page_size in [1, 3, 50] {
        let got = audit
            .list_all(&format!("&partner_id={RECIPIENT}"), page_size)
            .await;
        assert_eq!(got, expected, "page size {page_size}");
    }
    // The export (chunks of 500) and the list agree too.
    let req = with_token(
        test::TestRequest::get().uri(&format!(
            "/audit/data-access/export?format=jsonl&partner_id={RECIPIENT}&dataset=accounts"
        )),
        Some(AUDITOR_TOKEN),
    );
    let res = call(app(audit.state.clone(), audit.idempotency.clone()), req).await;
    assert_eq!(res.status, 200);
    let exported: Vec<String> = res
        .text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["interaction_id"].to_string())
        .map(|s| s.trim_matches('"').to_owned())
        .collect();
    let accounts = AccessFilter {
        partner_id: Some(RECIPIENT.to_owned()),
        dataset: Some("accounts".into()),
        ..AccessFilter::default()
    };
    assert_eq!(exported, audit.scanned(&accounts, None).await);
}

#[actix_web::test]
async fn a_record_appended_just_before_a_query_is_in_it_though_the_index_has_not_seen_it() {
    let mut audit = Audit::new().await;
    busy_log(&mut audit).await;
    audit.indexed().await;
    let before = audit.state.access_index.checkpoint();
    audit.index.stop();
    // A new consent of RECIPIENT, and more under an indexed one, after the index stopped.
    audit
        .record(&[
            ("c-new", RECIPIENT, "activity", 900),
            ("c0", RECIPIENT, "activity", 901),
            ("c-new", RECIPIENT, "accounts", 902),
            ("c-other", NOBODY, "activity", 903),
        ])
        .await;
    assert_eq!(audit.state.access_index.checkpoint(), before, "index lags");
    for query in [
        format!("&partner_id={RECIPIENT}"),
        format!("&partner_id={RECIPIENT}&dataset=activity"),
        "&dataset=activity".to_owned(),
        format!("&partner_id={NOBODY}"),
        format!("&from={}", at(900).to_rfc3339()),
    ] {
        let got = audit.list_all(&query, 5).await;
        let filter = AccessFilter {
            partner_id: query
                .contains("partner_id")
                .then(|| query.split("partner_id=").nth(1).unwrap()[..36].to_owned()),
            dataset: query.contains("activity").then(|| "activity".to_owned()),
            from: query.contains("from").then(|| at(900)),
            ..AccessFilter::default()
        };
        let expected = audit.scanned(&filter, None).await;
        assert_eq!(got, expected, "{query}");
    }
    let fresh = audit
        .list_all(&format!("&partner_id={RECIPIENT}&dataset=activity"), 50)
        .await;
    let n = audit.appended;
    assert!(fresh.ends_with(&[format!("i-{}", n - 3), format!("i-{}", n - 2)]));
    assert!(fresh.len() >= 3);
}

#[actix_web::test]
async fn selective_queries_read_what_they_return_not_the_log() {
    let mut audit = Audit::new().await;
    let mut accesses = Vec::new();
    let others: Vec<String> = (0..500).map(|i| format!("other-{i}")).collect();
    for n in 0..5_000usize {
        if n % 1_700 == 850 {
            accesses.push(("target", NOBODY, "accounts", n as i64));
        }
        let partner = PARTNERS[n % 3];
        accesses.push((others[n % 500].as_str(), partner, "accounts", n as i64));
    }
    audit.record(&accesses).await;
    audit.indexed().await;

    audit.counting.reset_counts();
    let page = audit.list_all("&consent_id=target", 50).await;
    assert_eq!(page.len(), 3);
    let read = audit.counting.counts().events_read;
    assert!(read <= 6, "consent query read {read} events");

    audit.counting.reset_counts();
    let page = audit.list_all(&format!("&partner_id={NOBODY}"), 50).await;
    assert_eq!(page.len(), 3);
    let read = audit.counting.counts().events_read;
    assert!(read <= 6, "partner query read {read} events");
    assert_eq!(
        audit.counting.counts().log_events_read,
        0,
        "the index was current"
    );

    // Paging one record at a time: a binary search per page, still nothing like the log.
    audit.counting.reset_counts();
    let paged = audit.list_all(&format!("&partner_id={NOBODY}"), 1).await;
    assert_eq!(paged, page);
    let read = audit.counting.counts().events_read;
    assert!(read <= 30, "paged partner query read {read} events");

    audit.counting.reset_counts();
    let paged = audit.list_all("&consent_id=target", 1).await;
    assert_eq!(paged, page);
    let read = audit.counting.counts().events_read;
    assert!(read <= 30, "paged consent query read {read} events");

    // Deep in a long consent, the cursor is found by a binary search, not by reading the
    // records before it.
    let long: Vec<(&str, &str, &str, i64)> = (0..300)
        .map(|n| ("long", OTHER_RECIPIENT, "balances", 6_000 + n))
        .collect();
    audit.record(&long).await;
    let mut uri = "/audit/data-access?consent_id=long&page_size=50".to_owned();
    for _ in 0..4 {
        let res = audit.get(&uri).await;
        uri = res.body["links"]["next"].as_str().unwrap().to_owned();
    }
    audit.counting.reset_counts();
    let fifth = audit.get(&uri).await;
    let expected: Vec<String> = (200..250)
        .map(|n| format!("i-{}", audit.appended - 300 + n + 1))
        .collect();
    assert_eq!(ids(&fifth.body["data"]), expected);
    let read = audit.counting.counts().events_read;
    assert!(
        read <= 51 + 12,
        "fifth page of 300 records read {read} events"
    );

    // The scan it replaced reads the whole category for the same answer.
    audit.counting.reset_counts();
    let filter = AccessFilter {
        partner_id: Some(NOBODY.to_owned()),
        ..AccessFilter::default()
    };
    let (items, _) = scan_access_records(&*audit.counting, None, &filter, 51)
        .await
        .unwrap();
    assert_eq!(items.len(), 3);
    assert!(audit.counting.counts().events_read >= 5_000);
}
