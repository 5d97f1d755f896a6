//! Key rotation for the CLI (`ecohub keys rotate|list`) and the reloader that lets running
//! instances pick rotations up.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use ecohub_kernel::{Clock, SystemClock, Timestamp};

use crate::settings::{AuthSettings, KEY_PUBLISH_AHEAD};
use ecohub_jose::keys::{KeyError, KeyInfo, KeyRing, SigningAlgorithm};

/// Rotates the ring in `<data_dir>/keys`: a new `alg` key, published now, signing from
/// `now + KEY_PUBLISH_AHEAD` (15 min: more than the reloader period plus the JWKS max-age);
/// the old keys verify until every token they signed has expired
/// ([`AuthSettings::max_token_lifetime`]). Returns the new key.
pub fn rotate_keys(
    data_dir: &Path,
    alg: SigningAlgorithm,
    now: Timestamp,
    settings: &AuthSettings,
) -> Result<KeyInfo, KeyError> {
    let ring = KeyRing::open(data_dir, now)?;
    ring.rotate(alg, now, KEY_PUBLISH_AHEAD, settings.max_token_lifetime())
}

/// Every key of the ring in `<data_dir>/keys` with its state at `now`, oldest first. (Opening
/// an empty directory creates its first key, as `serve` would.)
pub fn list_keys(data_dir: &Path, now: Timestamp) -> Result<Vec<KeyInfo>, KeyError> {
    Ok(KeyRing::open(data_dir, now)?.keys(now))
}

/// How often running instances should re-read the key directory.
pub const KEY_RELOAD_PERIOD: Duration = Duration::from_secs(60);

/// Re-reads the key directory every `every` (picking up rotations made by `ecohub keys
/// rotate` or another instance) and prunes retired keys. Errors are logged; the keys in
/// memory stay as they were. Abort the handle to stop it.
pub fn spawn_key_reloader(ring: Arc<KeyRing>, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticks.tick().await;
        loop {
            ticks.tick().await;
            let ring = ring.clone();
            let outcome = tokio::task::spawn_blocking(move || {
                ring.reload()?;
                ring.prune(SystemClock.now())
            })
            .await;
            match outcome {
                Ok(Ok(pruned)) if !pruned.is_empty() => {
                    tracing::info!(?pruned, "retired signing keys pruned");
                }
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "key reload failed"),
                Err(e) => tracing::warn!(error = %e, "key reload task failed"),
            }
        }
    })
}
