//! The [`KeyRing`]: which key signs and which verify at an instant, rotation and pruning.

use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use ecohub_kernel::Timestamp;
use serde::{Deserialize, Serialize};

use super::file::{self, KEYS_DIR};
use super::signing::KeyPair;
use super::{KeyError, SigningAlgorithm, SigningKey};
use crate::clock::CLOCK_SKEW;
use crate::jwk::{Jwks, KeySource, VerifyingKey};
use crate::private_files;

/// Where a key is in its lifecycle at a given instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyState {
    /// Published in the JWKS, not signing yet (`now < activates_at`).
    Pending,
    /// The key that signs now.
    Active,
    /// Superseded: no longer signs, still published so its tokens verify.
    VerifyOnly,
    /// Past `retires_at`: no longer published nor trusted; its file is pruned.
    Retired,
}

/// A key's identity, state and times, without key material (for listings and logs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyInfo {
    /// Key id (RFC 7638 thumbprint).
    pub kid: String,
    /// Generation in the ring (higher is newer).
    pub generation: u64,
    /// Signing algorithm.
    pub alg: SigningAlgorithm,
    /// State at the instant the listing was made.
    pub state: KeyState,
    /// When the key was created and published.
    pub created_at: Timestamp,
    /// From when it may sign.
    pub activates_at: Timestamp,
    /// When it leaves the JWKS, once superseded.
    pub retires_at: Option<Timestamp>,
}

type KeySet = Arc<[Arc<SigningKey>]>;

/// The hub's signing keys, loaded from `<data_dir>/keys/` (see the module docs for the
/// lifecycle and the storage format). Cheap to share (`&self` everywhere); lookups take a read
/// lock for a few nanoseconds.
pub struct KeyRing {
    dir: PathBuf,
    keys: RwLock<KeySet>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing")
            .field("dir", &self.dir)
            .field("keys", &self.snapshot())
            .finish()
    }
}

impl KeyRing {
    /// Opens the key ring in `<data_dir>/keys/`. When the directory is absent or holds no key,
    /// it is created (0700) with a first ES256 key that signs at once.
    ///
    /// A corrupted or foreign file, or a directory of another format version, is an error that
    /// names the file.
    pub fn open(data_dir: impl AsRef<Path>, now: Timestamp) -> Result<Self, KeyError> {
        let dir = data_dir.as_ref().join(KEYS_DIR);
        let keys = file::load_dir(&dir)?;
        let ring = Self {
            dir,
            keys: RwLock::new(keys.into()),
        };
        if ring.snapshot().is_empty() {
            let _lock = private_files::lock_dir(&ring.dir)?;
            ring.reload()?;
            if ring.snapshot().is_empty() {
                let key = SigningKey::generate(SigningAlgorithm::default(), now, now)?;
                file::write_key(&ring.dir, &key)?;
                ring.reload()?;
            }
        }
        Ok(ring)
    }

    /// The key directory (`<data_dir>/keys`).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Re-reads the directory so this instance sees rotations made by another process. On
    /// error the keys in memory are kept unchanged.
    pub fn reload(&self) -> Result<(), KeyError> {
        let keys = file::load_dir(&self.dir)?;
        *self.keys.write().unwrap_or_else(PoisonError::into_inner) = keys.into();
        Ok(())
    }

    /// Rotates: creates and publishes a new `alg` key that signs from `now + publish_ahead`.
    /// Every key not yet superseded keeps signing until then and only verifies afterwards,
    /// until its `retires_at`, which is set to the new key's activation plus
    /// `max_token_lifetime` plus [`CLOCK_SKEW`]. Retired keys are pruned.
    ///
    /// `max_token_lifetime` must cover the longest-lived JWT the ring signs (access tokens and
    /// software statements). Returns the new key.
    pub fn rotate(
        &self,
        alg: SigningAlgorithm,
        now: Timestamp,
        publish_ahead: Duration,
        max_token_lifetime: Duration,
    ) -> Result<KeyInfo, KeyError> {
        let _lock = private_files::lock_dir(&self.dir)?;
        self.reload()?;
        let activates_at = now.plus(publish_ahead);
        let seq = self.snapshot().iter().map(|k| k.seq + 1).max().unwrap_or(0);
        let key = SigningKey::new(KeyPair::generate(alg)?, seq, alg, now, activates_at, None)?;
        // The new key is written first: a crash before the old keys get their retirement time
        // leaves them signing until the new key activates and verifying forever, never a ring
        // without a signing key.
        file::write_key(&self.dir, &key)?;
        let retires_at = activates_at.plus(max_token_lifetime).plus(CLOCK_SKEW);
        for old in self.snapshot().iter().filter(|k| k.retires_at.is_none()) {
            let superseded = SigningKey::new(
                KeyPair::from_pkcs8(old.alg, &old.pair.to_pkcs8()?)
                    .map_err(|_| KeyError::Crypto("private key re-encoding failed"))?,
                old.seq,
                old.alg,
                old.created_at,
                old.activates_at,
                Some(retires_at),
            )?;
            file::write_key(&self.dir, &superseded)?;
        }
        self.prune_locked(now)?;
        self.reload()?;
        Ok(key
            .info(KeyState::Pending)
            .with_state_at(&self.snapshot(), now))
    }

    /// Deletes the files of keys retired at `now` and drops them from memory. Returns their
    /// ids. [`KeyRing::rotate`] calls it; call it on a schedule from one writer.
    pub fn prune(&self, now: Timestamp) -> Result<Vec<String>, KeyError> {
        let _lock = private_files::lock_dir(&self.dir)?;
        self.reload()?;
        let pruned = self.prune_locked(now)?;
        self.reload()?;
        Ok(pruned)
    }

    fn prune_locked(&self, now: Timestamp) -> Result<Vec<String>, KeyError> {
        let mut pruned = Vec::new();
        for key in self.snapshot().iter().filter(|k| k.is_retired(now)) {
            if file::remove_key(&self.dir, &key.kid)? {
                pruned.push(key.kid.clone());
            }
        }
        if !pruned.is_empty() {
            private_files::sync_dir(&self.dir)?;
        }
        Ok(pruned)
    }

    /// The key that signs at `now`: the newest (highest generation) key that has activated
    /// and is not retired. A superseded key therefore never signs again once a newer key is
    /// active, even if its own activation comes later.
    pub fn signing_key(&self, now: Timestamp) -> Result<Arc<SigningKey>, KeyError> {
        select_signing(&self.snapshot(), now)
            .cloned()
            .ok_or(KeyError::NoSigningKey)
    }

    /// The public JWK set at `now`: every published, not retired key, newest first.
    pub fn jwks(&self, now: Timestamp) -> Jwks {
        Jwks {
            keys: self
                .snapshot()
                .iter()
                .rev()
                .filter(|k| !k.is_retired(now))
                .map(|k| k.jwk.clone())
                .collect(),
        }
    }

    /// Every key in memory with its state at `now`, oldest generation first.
    pub fn keys(&self, now: Timestamp) -> Vec<KeyInfo> {
        let keys = self.snapshot();
        keys.iter()
            .map(|k| k.info(KeyState::Pending).with_state_at(&keys, now))
            .collect()
    }

    fn snapshot(&self) -> KeySet {
        self.keys
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl KeyInfo {
    fn with_state_at(mut self, keys: &[Arc<SigningKey>], now: Timestamp) -> Self {
        let signing = select_signing(keys, now).map(|k| k.kid.as_str());
        self.state = if self.retires_at.is_some_and(|r| r <= now) {
            KeyState::Retired
        } else if now < self.activates_at {
            KeyState::Pending
        } else if signing == Some(self.kid.as_str()) {
            KeyState::Active
        } else {
            KeyState::VerifyOnly
        };
        self
    }
}

impl KeyRing {
    /// Whether a key with this `kid` still verifies at `now` (published and not retired):
    /// what [`KeySource::verifying_key`] finds, without copying the key.
    pub fn trusts(&self, kid: &str, now: Timestamp) -> bool {
        self.snapshot()
            .iter()
            .any(|k| k.kid == kid && !k.is_retired(now))
    }
}

impl KeySource for KeyRing {
    /// Any published, unretired key verifies (a pending key too: it is already in the JWKS).
    fn verifying_key(&self, kid: &str, now: Timestamp) -> Option<VerifyingKey> {
        self.snapshot()
            .iter()
            .find(|k| k.kid == kid && !k.is_retired(now))
            .map(|k| k.verifying.clone())
    }
}

fn select_signing(keys: &[Arc<SigningKey>], now: Timestamp) -> Option<&Arc<SigningKey>> {
    keys.iter()
        .filter(|k| k.activates_at <= now && !k.is_retired(now))
        .max_by(|a, b| (a.seq, &a.kid).cmp(&(b.seq, &b.kid)))
}
