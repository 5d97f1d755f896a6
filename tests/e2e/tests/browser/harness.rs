//! The browser harness (ADR 0024): headless Chromium driven over WebDriver by `fantoccini`
//! through Debian's `chromedriver`, on loopback only. Missing Chromium or its driver fails
//! the test with how to install them (never a skip). Each page a journey looks at is saved as
//! a PNG under `target/browser-screenshots/<journey>/` and checked with axe-core (vendored:
//! `tests/e2e/vendor/axe.min.js`, run inside the page): a `serious` or `critical` violation
//! of WCAG 2.0/2.1 A or AA rules fails the test.

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};

/// axe-core, pinned (see `tests/e2e/vendor/README.md`).
const AXE: &str = include_str!("../../vendor/axe.min.js");

/// How to get the browser when it is missing.
const INSTALL: &str = "install Debian's packages: `apt-get install -y chromium chromium-driver` \
(or point CHROMIUM and CHROMEDRIVER at a Chromium and its matching chromedriver)";

/// The first of `names` found as an executable on `PATH` (or the path in `env`, if set).
fn executable(env: &str, names: &[&str]) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(env) {
        return Some(PathBuf::from(path)).filter(|p| p.is_file());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
        .find(|p| p.is_file())
}

/// Where screenshots go: `target/browser-screenshots/<journey>/`.
fn screenshot_dir(journey: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"),
        PathBuf::from,
    );
    target.join("browser-screenshots").join(journey)
}

/// A loopback port nobody listens on now.
fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// `chromedriver` as a child process, stopped when dropped.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts chromedriver on a free port and opens a headless Chromium session through it.
async fn start_session(
    driver_bin: &std::path::Path,
    chromium: &std::path::Path,
    profile: &std::path::Path,
) -> Result<(Client, Driver), String> {
    let port = free_port();
    let child = Command::new(driver_bin)
        .arg(format!("--port={port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}; {INSTALL}", driver_bin.display()));
    let driver = Driver(child);
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_err() {
        if Instant::now() >= deadline {
            return Err(format!(
                "chromedriver did not listen on {address} within 20 s"
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".to_owned(),
        json!({
            "binary": chromium,
            "args": [
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-proxy-server",
                "--window-size=1280,900",
                format!("--user-data-dir={}", profile.display()),
            ],
        }),
    );
    let client = ClientBuilder::new(HttpConnector::new())
        .capabilities(capabilities)
        .connect(&format!("http://{address}"))
        .await
        .map_err(|e| e.to_string())?;
    Ok((client, driver))
}

/// A headless Chromium session for one journey.
pub struct Chrome {
    client: Client,
    _driver: Driver,
    _profile: tempfile::TempDir,
    shots: PathBuf,
    taken: usize,
}

impl Chrome {
    /// Starts chromedriver and a headless Chromium; panics with how to install them if either
    /// is missing.
    pub async fn start(journey: &str) -> Chrome {
        let chromium = executable(
            "CHROMIUM",
            &["chromium", "chromium-browser", "google-chrome"],
        )
        .unwrap_or_else(|| panic!("Chromium is not installed: {INSTALL}"));
        let driver_bin = executable("CHROMEDRIVER", &["chromedriver"])
            .unwrap_or_else(|| panic!("chromedriver is not installed: {INSTALL}"));
        // A port picked free may be taken again before chromedriver binds it (tests run in
        // parallel), and a loaded machine may answer the first session request late: start
        // again on a fresh port, at most three times, before failing with the last error.
        let mut attempt = 0;
        let (client, driver, profile) = loop {
            attempt += 1;
            // A fresh profile each time: a browser that failed to start may leave its lock.
            let profile = tempfile::tempdir().unwrap();
            match start_session(&driver_bin, &chromium, profile.path()).await {
                Ok((client, driver)) => break (client, driver, profile),
                Err(e) if attempt < 3 => {
                    eprintln!("chromedriver attempt {attempt} failed ({e}); starting it again");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                Err(e) => panic!(
                    "chromedriver could not start {}: {e}; {INSTALL}",
                    chromium.display()
                ),
            }
        };
        let shots = screenshot_dir(journey);
        let _ = std::fs::remove_dir_all(&shots);
        std::fs::create_dir_all(&shots).unwrap();
        Chrome {
            client,
            _driver: driver,
            _profile: profile,
            shots,
            taken: 0,
        }
    }

    /// Opens `url`.
    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.unwrap();
    }

    /// The path (and query) of the page shown.
    pub async fn path(&self) -> String {
        let url = self.client.current_url().await.unwrap();
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        }
    }

    /// Waits (up to 10 s) until the page shown is `expected` (path and query): a click on a
    /// submit button may return before the next page has replaced the current one.
    pub async fn expect_path(&self, expected: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let path = self.path().await;
            if path == expected {
                return;
            }
            if Instant::now() > deadline {
                let text = self.text("body").await;
                panic!("expected the page {expected}, still on {path}: {text}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits (up to 10 s) until the first element matching `css` shows `needle`.
    pub async fn expect_text(&self, css: &str, needle: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let found = match self.client.find(Locator::Css(css)).await {
                Ok(e) => e.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            if found.contains(needle) {
                return;
            }
            if Instant::now() > deadline {
                panic!(
                    "{css} does not show {needle:?} on {}: {found}",
                    self.path().await
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The visible text of the first element matching `css`.
    pub async fn text(&self, css: &str) -> String {
        let path = self.path().await;
        self.client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css} on {path}: {e}"))
            .text()
            .await
            .unwrap()
    }

    /// Types `value` into the field labelled by `css`.
    pub async fn fill(&self, css: &str, value: &str) {
        let field = self.client.find(Locator::Css(css)).await.unwrap();
        field.clear().await.unwrap();
        field.send_keys(value).await.unwrap();
    }

    /// Chooses `value` in the `<select>` matching `css`.
    pub async fn select(&self, css: &str, value: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap()
            .select_by_value(value)
            .await
            .unwrap();
    }

    /// Clicks the first element matching `css` (a link or a submit button: the click returns
    /// once the next page has loaded).
    pub async fn click(&self, css: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("nothing to click at {css}: {e}"))
            .click()
            .await
            .unwrap();
    }

    /// Follows the link whose text is exactly `text`.
    pub async fn follow(&self, text: &str) {
        self.client
            .find(Locator::LinkText(text))
            .await
            .unwrap_or_else(|e| panic!("no link {text:?}: {e}"))
            .click()
            .await
            .unwrap();
    }

    /// Saves the whole page as `NN-<name>.png` and runs axe-core in it: a `serious` or
    /// `critical` violation fails the test.
    pub async fn look(&mut self, name: &str) {
        self.taken += 1;
        let height = self
            .client
            .execute(
                "return Math.ceil(document.documentElement.scrollHeight);",
                vec![],
            )
            .await
            .unwrap()
            .as_u64()
            .unwrap_or(900);
        let height = u32::try_from(height.clamp(900, 4000)).unwrap_or(900);
        self.client
            .set_window_size(1280, height + 140)
            .await
            .unwrap();
        let png = self.client.screenshot().await.unwrap();
        let file = self.shots.join(format!("{:02}-{name}.png", self.taken));
        std::fs::write(&file, png).unwrap();
        self.client.set_window_size(1280, 900).await.unwrap();
        self.accessibility(name).await;
    }

    async fn accessibility(&self, name: &str) {
        let (blocking, others) = self.axe(name).await;
        assert!(
            blocking.is_empty(),
            "accessibility violations (serious or critical) on {name} ({}): {blocking:#?}",
            self.path().await
        );
        for v in &others {
            eprintln!(
                "axe on {name}: {} ({}): {}",
                v["id"], v["impact"], v["help"]
            );
        }
    }

    /// Runs axe-core (WCAG 2.0/2.1 A and AA rules) in the page shown: its `serious` or
    /// `critical` violations, and the others.
    pub async fn axe(&self, name: &str) -> (Vec<Value>, Vec<Value>) {
        let loaded = self
            .client
            .execute(&format!("{AXE}\n;return typeof window.axe;"), vec![])
            .await
            .unwrap();
        assert_eq!(loaded, json!("object"), "axe-core did not load on {name}");
        let report = self
            .client
            .execute_async(
                r"const done = arguments[arguments.length - 1];
window.axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})
  .then(r => done({violations: r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.map(n => n.target.join(' '))})), passes: r.passes.length}))
  .catch(e => done({error: String(e)}));",
                vec![],
            )
            .await
            .unwrap();
        assert!(
            report.get("error").is_none(),
            "axe-core failed on {name}: {report}"
        );
        assert!(
            report["passes"].as_u64().unwrap_or(0) > 0,
            "axe-core checked nothing on {name}: {report}"
        );
        report["violations"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .partition(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
    }

    /// Ends the browser session.
    pub async fn close(self) {
        self.client.close().await.unwrap();
    }
}
