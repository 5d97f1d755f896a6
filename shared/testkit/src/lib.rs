//! Test kit: start the hub for a test, in-process ([`spawn_app`]) or as the real binary
//! ([`HubProcess`]), each on port 0 with a fresh store in its own temporary directory.
//!
//! Logs are silent unless `TEST_LOG` is set.

mod browser;
mod process;

pub use browser::{Browser, Page, input_value};
pub use process::{HubProcess, ecohub_binary};

use std::net::SocketAddr;
use std::sync::Once;

use ecohub::config::{LogFormat, LogSettings, Settings};
use ecohub::startup::{AppState, Application};

/// A hub running in-process for one test.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub base_url: String,
    /// The listening address.
    pub address: SocketAddr,
    /// A client for it (no proxy, loopback only).
    pub client: reqwest::Client,
    /// Shared state, for white-box assertions (store, projections).
    pub state: AppState,
    handle: ecohub::startup::ServerHandle,
    _dir: tempfile::TempDir,
}

impl TestApp {
    /// `base_url` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path)
    }

    /// Stops the server gracefully and closes the store.
    pub async fn stop(self) {
        self.handle.stop(true).await;
        let _ = self.state.shutdown().await;
    }
}

/// Settings for a test: port 0, data in `dir`, quiet logs.
pub fn test_settings(dir: &std::path::Path) -> Settings {
    let mut settings = Settings::default();
    settings.server.bind = SocketAddr::from(([127, 0, 0, 1], 0));
    settings.server.workers = 2;
    settings.server.shutdown_timeout_secs = 5;
    settings.data_dir = dir.to_path_buf();
    settings.log = LogSettings {
        format: LogFormat::Pretty,
        level: "info".into(),
    };
    settings
}

/// Starts the hub in-process on port 0 with a fresh embedded store.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Like [`spawn_app`], with a chance to adjust the settings first.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Settings)) -> TestApp {
    init_test_logs();
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut settings = test_settings(dir.path());
    adjust(&mut settings);
    let app = Application::build(settings).await.expect("hub starts");
    let address = app.address();
    let state = app.state().clone();
    let handle = app.handle();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        base_url: format!("http://{address}"),
        address,
        client: loopback_client(),
        state,
        handle,
        _dir: dir,
    }
}

/// A reqwest client that never uses a proxy (tests touch loopback only).
pub fn loopback_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .expect("http client")
}

/// Turns on logs for tests when `TEST_LOG` is set.
pub fn init_test_logs() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            let _ = tracing_subscriber::fmt().with_test_writer().try_init();
        }
    });
}
