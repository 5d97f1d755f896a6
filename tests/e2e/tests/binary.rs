//! The real `ecohub` binary: start, serve, restart on the same data, shut down gracefully.

use std::process::Command;
use std::time::{Duration, Instant};

use ecohub_testkit::{HubProcess, ecohub_binary, loopback_client};
use serde_json::Value;

async fn wait_ready(client: &reqwest::Client, hub: &HubProcess) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let res = client.get(hub.url("/health/ready")).send().await.unwrap();
        let status = res.status();
        let body: Value = res.json().await.unwrap();
        if status == 200 {
            return body;
        }
        assert!(Instant::now() < deadline, "not ready after 30 s: {body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn serve_answers_health_docs_and_spec_then_stops_gracefully() {
    let hub = HubProcess::start();
    assert!(
        hub.data_dir.join("events.db").exists(),
        "the embedded store lives in the data dir"
    );
    serves_and_stops_gracefully(hub, true).await;
}

/// The same black-box checks with the hub on the EventStoreDB backend: the protocol double,
/// or a real server when `ECOHUB_EVENTSTOREDB_URL` is set.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_on_kurrentdb_answers_health_docs_and_spec_then_stops_gracefully() {
    let (url, _cluster) = match std::env::var("ECOHUB_EVENTSTOREDB_URL") {
        Ok(url) => (url, None),
        Err(_) => {
            let cluster = ecohub_kurrentdb_double::DoubleCluster::start(1).await;
            (cluster.connection_string(), Some(cluster))
        }
    };
    let dir = tempfile::tempdir().unwrap();
    let hub = HubProcess::start_in(dir.path(), &["--store", &url]);
    assert!(
        !dir.path().join("events.db").exists(),
        "no embedded store is opened"
    );
    serves_and_stops_gracefully(hub, false).await;
}

/// `embedded`: the hub runs on the embedded store (whose writer's counters it exports).
async fn serves_and_stops_gracefully(hub: HubProcess, embedded: bool) {
    let client = loopback_client();
    let ready = wait_ready(&client, &hub).await;
    assert_eq!(ready["status"], "ready");

    let live = client.get(hub.url("/health/live")).send().await.unwrap();
    assert_eq!(live.status(), 200);
    assert!(live.headers().contains_key("x-fapi-interaction-id"));

    let spec: Value = client
        .get(hub.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(spec["openapi"], "3.1.0");
    assert_eq!(spec["info"]["title"], "Ecohub API");

    let docs = client.get(hub.url("/docs")).send().await.unwrap();
    assert_eq!(docs.status(), 200, "the redirect leads to the UI");
    assert!(docs.text().await.unwrap().contains("swagger-ui"));

    let missing = client.get(hub.url("/nope")).send().await.unwrap();
    assert_eq!(missing.status(), 404);
    assert_eq!(
        missing.headers()["content-type"],
        "application/problem+json"
    );

    let metrics = client
        .get(hub.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("ecohub_http_requests_total"));
    // The embedded store's writer: commits ≤ appends ≤ events, none failed.
    let writer = |counter: &str| -> Option<u64> {
        let prefix = format!("ecohub_store_writer{{counter=\"{counter}\"}} ");
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(prefix.as_str()))
            .map(|v| v.parse().unwrap())
    };
    if embedded {
        assert!(writer("commits") <= writer("appends"), "{metrics}");
        assert!(writer("appends") <= writer("events"), "{metrics}");
        assert_eq!(writer("failed_commits"), Some(0), "{metrics}");
    } else {
        assert_eq!(writer("commits"), None, "{metrics}");
    }

    let (status, lines) = hub.terminate();
    assert!(status.success(), "SIGTERM is a clean exit: {status:?}");
    let stopped = lines
        .iter()
        .any(|l| serde_json::from_str::<Value>(l).is_ok_and(|j| j["message"] == "stopped"));
    assert!(stopped, "the store is closed before exit: {lines:?}");
    for line in &lines {
        let json: Value =
            serde_json::from_str(line).unwrap_or_else(|_| panic!("logs are JSON lines: {line}"));
        assert!(
            json["timestamp"].is_string() && json["level"].is_string(),
            "{line}"
        );
    }
}

#[tokio::test]
async fn restart_on_the_same_data_dir_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let client = loopback_client();
    for _ in 0..2 {
        let hub = HubProcess::start_in(dir.path(), &[]);
        wait_ready(&client, &hub).await;
        let (status, _) = hub.terminate();
        assert!(status.success());
    }
}

#[test]
fn config_prints_effective_settings_with_secrets_masked() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ecohub.toml");
    std::fs::write(&file, "[server]\nworkers = 3\n").unwrap();
    let out = Command::new(ecohub_binary())
        .args(["--config"])
        .arg(&file)
        .args(["config", "--bind", "127.0.0.1:9999"])
        .env("ECOHUB_LOG__LEVEL", "debug")
        .env("ECOHUB_STORE__URL", "sqlite://admin:hunter2@/tmp/x.db")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let parsed: toml::Table = text
        .parse()
        .unwrap_or_else(|e| panic!("config prints TOML: {e}\n{text}"));
    assert_eq!(
        parsed["server"]["workers"].as_integer(),
        Some(3),
        "file layer"
    );
    assert_eq!(parsed["log"]["level"].as_str(), Some("debug"), "env layer");
    assert_eq!(
        parsed["server"]["bind"].as_str(),
        Some("127.0.0.1:9999"),
        "flag layer"
    );
    assert!(!text.contains("hunter2"), "secrets are masked: {text}");
}

#[test]
fn unknown_configuration_keys_stop_the_hub_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ecohub.toml");
    std::fs::write(&file, "[server]\nbnid = \"127.0.0.1:1\"\n").unwrap();
    let out = Command::new(ecohub_binary())
        .args(["--config"])
        .arg(&file)
        .args(["serve", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bnid"), "{err}");

    let out = Command::new(ecohub_binary())
        .args(["serve", "--data-dir"])
        .arg(dir.path())
        .env("ECOHUB_SERVER_BIND", "127.0.0.1:1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("server_bind"));
}

#[test]
fn a_port_in_use_is_a_clear_startup_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(ecohub_binary())
        .args([
            "serve",
            "--log-format",
            "pretty",
            "--bind",
            &addr,
            "--data-dir",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot listen on"), "{err}");
}

/// Request heads actix-http refuses in its codec (too many headers: 431; a head not complete
/// in time: 408) are client mistakes: logged at INFO, never at ERROR (issue 11).
#[tokio::test]
async fn refused_request_heads_are_not_logged_as_errors() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let hub = HubProcess::start();
    let client = loopback_client();
    wait_ready(&client, &hub).await;
    let address = hub.base_url.trim_start_matches("http://").to_owned();

    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    let mut head = String::from("GET /health/live HTTP/1.1\r\nhost: x\r\n");
    for i in 0..1000 {
        head.push_str(&format!("x-h{i}: v\r\n"));
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes()).await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");

    let mut slow = tokio::net::TcpStream::connect(&address).await.unwrap();
    slow.write_all(b"GET /health/live HTTP/1.1\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), slow.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer}"
    );

    let (_, lines) = hub.terminate();
    let errors: Vec<&String> = lines
        .iter()
        .filter(|l| {
            serde_json::from_str::<Value>(l).is_ok_and(|j| {
                j["level"] == "ERROR"
                    && j["target"].as_str().is_some_and(|t| t.starts_with("actix"))
            })
        })
        .collect();
    assert!(
        errors.is_empty(),
        "client mistakes logged at ERROR: {errors:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("connection closed by the HTTP codec")),
        "logged at INFO instead: {lines:?}"
    );
}
