//! The real `ecohub` binary, started for black-box tests.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Path of the `ecohub` binary: `ECOHUB_BIN` if set, else the one Cargo built next to the
/// running test (building it first if it is missing).
pub fn ecohub_binary() -> PathBuf {
    if let Some(bin) = std::env::var_os("ECOHUB_BIN") {
        return PathBuf::from(bin);
    }
    // target/<profile>/deps/<test-exe> → target/<profile>/ecohub
    let exe = std::env::current_exe().expect("current exe");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test binary lives in target/<profile>/deps");
    let bin = profile_dir.join(format!("ecohub{}", std::env::consts::EXE_SUFFIX));
    if !bin.exists() {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.args(["build", "-p", "ecohub", "--bin", "ecohub"]);
        if profile_dir.file_name().is_some_and(|n| n == "release") {
            cmd.arg("--release");
        }
        let status = cmd.status().expect("run cargo build");
        assert!(status.success(), "cargo build -p ecohub failed");
    }
    bin
}

/// A running `ecohub serve` process with its own data directory. Killed on drop.
pub struct HubProcess {
    child: Child,
    /// The address it listens on.
    pub address: SocketAddr,
    /// `http://<address>`.
    pub base_url: String,
    /// Its data directory.
    pub data_dir: PathBuf,
    lines: mpsc::Receiver<String>,
    /// Lines printed before the address, not yet taken.
    early: std::sync::Mutex<Vec<String>>,
    _dir: Option<tempfile::TempDir>,
}

impl HubProcess {
    /// Starts `ecohub serve` on port 0 in a fresh temporary data directory.
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let data_dir = dir.path().to_path_buf();
        let mut p = Self::start_in(&data_dir, &[]);
        p._dir = Some(dir);
        p
    }

    /// Starts `ecohub serve` on port 0 with `data_dir` and extra arguments; waits until it
    /// logs the address it listens on.
    pub fn start_in(data_dir: &Path, extra_args: &[&str]) -> Self {
        let mut child = Command::new(ecohub_binary())
            .arg("serve")
            .args(["--bind", "127.0.0.1:0", "--log-format", "json"])
            .arg("--data-dir")
            .arg(data_dir)
            .args(extra_args)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start ecohub");
        let stdout = child.stdout.take().expect("stdout piped");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if std::env::var_os("TEST_LOG").is_some() {
                    eprintln!("[ecohub] {line}");
                }
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut early = Vec::new();
        let address = loop {
            let line = rx
                .recv_timeout(Duration::from_secs(60))
                .expect("ecohub logs its address within 60 s");
            let Ok(json) = serde_json::from_str::<serde_json::Value>(&line) else {
                early.push(line);
                continue;
            };
            if json["message"] == "listening" {
                break json["address"]
                    .as_str()
                    .and_then(|a| a.parse().ok())
                    .expect("listening line carries the address");
            }
        };
        Self {
            child,
            address,
            base_url: format!("http://{address}"),
            data_dir: data_dir.to_path_buf(),
            lines: rx,
            early: std::sync::Mutex::new(early),
            _dir: None,
        }
    }

    /// The process id (for benchmarks reading its CPU time).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `base_url` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path)
    }

    /// Waits up to `timeout` for a line `until` accepts; returns the lines read so far,
    /// ending with that one (panics with them when it does not come).
    pub fn lines_until(&self, timeout: Duration, until: impl Fn(&str) -> bool) -> Vec<String> {
        let deadline = std::time::Instant::now() + timeout;
        let mut seen = Vec::new();
        let early = std::mem::take(&mut *self.early.lock().unwrap_or_else(|e| e.into_inner()));
        for line in early {
            let done = until(&line);
            seen.push(line);
            if done {
                return seen;
            }
        }
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let done = until(&line);
                    seen.push(line);
                    if done {
                        return seen;
                    }
                }
                Err(_) => panic!(
                    "the awaited line did not come within {timeout:?}; saw:\n{}",
                    seen.join("\n")
                ),
            }
        }
    }

    /// Log lines printed so far and not yet taken.
    pub fn take_log_lines(&self) -> Vec<String> {
        let mut lines = std::mem::take(&mut *self.early.lock().unwrap_or_else(|e| e.into_inner()));
        lines.extend(self.lines.try_iter());
        lines
    }

    /// Sends SIGTERM, waits, and returns the exit status with every remaining log line.
    pub fn terminate(mut self) -> (std::process::ExitStatus, Vec<String>) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let status = wait_timeout(&mut self.child, Duration::from_secs(30))
            .expect("ecohub exits within 30 s of SIGTERM");
        let mut lines = Vec::new();
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            lines.push(line);
        }
        (status, lines)
    }

    /// Kills the process with SIGKILL.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_timeout(child: &mut Child, timeout: Duration) -> Option<std::process::ExitStatus> {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl Drop for HubProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
