//! The hub in-process for one test: the real app on port 0 with a fresh embedded store in a
//! temporary directory.

use std::net::SocketAddr;

use ecohub::config::{LogFormat, LogSettings, Settings};
use ecohub::startup::Application;
use ecohub::state::AppState;

/// A hub running in-process for one test.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub base_url: String,
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
    ecohub_testkit::init_test_logs();
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
        client: ecohub_testkit::loopback_client(),
        state,
        handle,
        _dir: dir,
    }
}
