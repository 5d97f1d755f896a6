//! The real binary on the EventStoreDB backend (the in-process protocol double, or a real
//! server when `ECOHUB_EVENTSTOREDB_URL` is set): two instances against one store behave as
//! one system, readiness follows the store, and `ecohub migrate` moves an embedded log there.

use std::process::Command;
use std::time::{Duration, Instant};

use ecohub_eventstore::{EventFilter, EventStore, ExpectedRevision, NewEvent};
use ecohub_kernel::Timestamp;
use ecohub_kurrentdb::KurrentDbStore;
use ecohub_kurrentdb_double::DoubleCluster;
use ecohub_testkit::{HubProcess, ecohub_binary, loopback_client};
use serde_json::json;

async fn status(client: &reqwest::Client, hub: &HubProcess, path: &str) -> u16 {
    match client.get(hub.url(path)).send().await {
        Ok(r) => r.status().as_u16(),
        Err(_) => 0,
    }
}

async fn wait_for_status(client: &reqwest::Client, hub: &HubProcess, path: &str, want: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while status(client, hub, path).await != want {
        assert!(Instant::now() < deadline, "{path} never answered {want}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn category_count(client: &reqwest::Client, hub: &HubProcess, category: &str) -> Option<u64> {
    let text = client
        .get(hub.url("/metrics"))
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    let prefix = format!("ecohub_events_by_category{{category=\"{category}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|n| n.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_on_one_store_converge_and_follow_its_health() {
    let cluster = DoubleCluster::start(1).await;
    let url = cluster.connection_string();
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let hubs: Vec<HubProcess> = dirs
        .iter()
        .map(|d| HubProcess::start_in(d.path(), &["--store", &url]))
        .collect();
    let client = loopback_client();
    for hub in &hubs {
        wait_for_status(&client, hub, "/health/ready", 200).await;
    }

    // A writer (standing in for a request served by either instance) appends to the shared log.
    let writer = KurrentDbStore::connect(&url).await.unwrap();
    let now = Timestamp::from_unix_seconds(1_800_000_000);
    for i in 0..25 {
        writer
            .append(
                &format!("widget-{i}"),
                ExpectedRevision::NoStream,
                vec![NewEvent::raw("WidgetMade", json!({"i": i}), now)],
            )
            .await
            .unwrap();
    }
    // Both instances' projections converge on the same figures.
    for hub in &hubs {
        let deadline = Instant::now() + Duration::from_secs(30);
        while category_count(&client, hub, "widget").await != Some(25) {
            assert!(
                Instant::now() < deadline,
                "projection on {} did not converge",
                hub.base_url
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    // When the store goes away both stop being ready (and stay alive); when it is back, both
    // are ready again and keep following the log.
    cluster.stop_node(0).await;
    for hub in &hubs {
        wait_for_status(&client, hub, "/health/ready", 503).await;
        assert_eq!(status(&client, hub, "/health/live").await, 200);
    }
    cluster.restart_node(0).await;
    for hub in &hubs {
        wait_for_status(&client, hub, "/health/ready", 200).await;
    }
    writer
        .append(
            "widget-99",
            ExpectedRevision::NoStream,
            vec![NewEvent::raw("WidgetMade", json!({}), now)],
        )
        .await
        .unwrap();
    for hub in &hubs {
        let deadline = Instant::now() + Duration::from_secs(30);
        while category_count(&client, hub, "widget").await != Some(26) {
            assert!(
                Instant::now() < deadline,
                "projection on {} stalled after reconnection",
                hub.base_url
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    for hub in hubs {
        let (exit, _) = hub.terminate();
        assert!(exit.success());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_store_is_a_clear_startup_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(ecohub_binary())
        .args(["serve", "--log-format", "pretty", "--data-dir"])
        .arg(dir.path())
        .args([
            "--store",
            "kurrentdb://admin:hunter2@127.0.0.1:1?tls=false&defaultDeadline=500",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot connect to the event store"), "{err}");
    assert!(err.contains("127.0.0.1:1"), "{err}");
    assert!(!err.contains("hunter2"), "the password is masked: {err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn migrate_moves_an_embedded_log_to_the_cluster() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("events.db");
    {
        let sqlite = ecohub_eventstore::SqliteStore::open(&db, Default::default()).unwrap();
        let now = Timestamp::from_unix_seconds(1_700_000_000);
        for i in 0..120u64 {
            sqlite
                .append(
                    &format!("consent-{}", i % 9),
                    ExpectedRevision::Any,
                    vec![NewEvent::raw("ConsentThing", json!({"i": i}), now)],
                )
                .await
                .unwrap();
        }
        sqlite.close().await.unwrap();
    }
    let cluster = DoubleCluster::start(3).await;
    let url = cluster.connection_string();
    for _ in 0..2 {
        // the second run finds everything copied and changes nothing
        let (from, to) = (format!("sqlite:{}", db.display()), url.clone());
        let out = tokio::task::spawn_blocking(move || {
            Command::new(ecohub_binary())
                .args(["migrate", "--from", &from, "--to", &to])
                .output()
                .unwrap()
        })
        .await
        .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["events"], 120);
    }
    let sqlite = ecohub_eventstore::SqliteStore::open(&db, Default::default()).unwrap();
    let source = sqlite
        .read_all(None, &EventFilter::all(), 1_000)
        .await
        .unwrap();
    let target = KurrentDbStore::connect(&url).await.unwrap();
    let copied = target
        .read_all(None, &EventFilter::streams(["consent-"]), 1_000)
        .await
        .unwrap();
    assert_eq!(copied.len(), 120);
    for (a, b) in source.iter().zip(&copied) {
        assert_eq!(
            (a.event_id, &a.stream, a.revision, a.recorded_at),
            (b.event_id, &b.stream, b.revision, b.recorded_at)
        );
    }
}
