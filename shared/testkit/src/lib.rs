//! Test kit, for every crate's tests (it depends on shared crates only, never on a service):
//!
//! * [`FaultyStore`]: an event store wrapper that fails appends, runs a hook before them and
//!   counts reads;
//! * [`FakeVerifier`]: tokens a test chooses, mapped to the principals it chooses;
//! * [`http`]: a service's routes wired as the hub wires them, and responses read once;
//! * [`HubProcess`]: the real `ecohub` binary on port 0 with a fresh store in its own
//!   temporary directory, for black-box tests, and [`Browser`] for its customer pages.
//!
//! Logs are silent unless `TEST_LOG` is set.

mod browser;
pub mod http;
mod process;
pub mod properties;
mod store;
mod verifier;

pub use browser::{Browser, Page, input_value};
pub use process::{HubProcess, ecohub_binary};
pub use store::{FaultyStore, HookFuture, StoreCounts};
pub use verifier::{
    FakeSessions, FakeStaffSessions, FakeVerifier, PrincipalExt, fake_csrf, fake_staff_id,
    principal,
};

use std::sync::Once;

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
