//! The keys that seal staff TOTP secrets at rest (ADR 0023, "TOTP secrets at rest"): a
//! secret is stored in the person's stream only as AES-256-GCM ciphertext (aws-lc-rs, the
//! hub's one cryptography library) under a fresh 96-bit random nonce, with associated data
//! that names the person (`ecohub:staff-totp:<staff id>`), so a ciphertext copied onto
//! another person's stream does not open; the stored form names the key (`kid`), so keys can
//! rotate.
//!
//! The keys live beside the signing keys, in `<data_dir>/totp-keys/` (0700): one file per key,
//! `<kid>.json` (0600), `{"format": "ecohub-totp-key", "version": 1, "kid", "alg": "A256GCM",
//! "created_at", "key": <256 bits, base64url>}`. Every key opens what it sealed; the newest
//! seals. The first key is created on first use (the first person enrolled), under an
//! exclusive lock on `.lock` in the directory, so every process sharing the data directory
//! (hub instances, `ecohub staff`) uses the same key. The directory is read when opened and
//! again when a sealed secret names a key not in memory (a key another process created since).
//!
//! Keys come from files only, never from the configuration (see the ADR). A key that is
//! missing or does not open a secret fails closed: the sign-in is refused as unavailable, with
//! the key id and the directory in the log, and never proceeds without the second factor.

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use ecohub_jose::private_files::{FileError, lock_dir, write_private_atomic};
use ecohub_jose::util::{b64url, b64url_decode, random_bytes, random_id};
use ecohub_kernel::Timestamp;
use serde::{Deserialize, Serialize};

use crate::domain::{SealedTotpSecret, StaffId, TotpSecret};

/// Name of the directory under the data directory that holds the keys.
pub const TOTP_KEYS_DIR: &str = "totp-keys";
const KEY_FORMAT: &str = "ecohub-totp-key";
const FORMAT_VERSION: u32 = 1;
/// Bytes of a key (256 bits).
const KEY_LEN: usize = 32;
/// Bytes of the random part of a key id.
const KID_BYTES: usize = 12;
/// What the associated data starts with (then the staff id): binds a ciphertext to its
/// person and to this use.
const AAD_PREFIX: &str = "ecohub:staff-totp:";

/// Why a TOTP secret could not be sealed or opened, or the keys not read.
#[derive(Debug, thiserror::Error)]
pub enum TotpKeyError {
    /// A file or directory could not be read or written.
    #[error("cannot access {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A file in the directory is not a TOTP key of ours (corrupted or foreign).
    #[error("corrupted or foreign file {path} in the TOTP key directory: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A secret was sealed with a key this process cannot find.
    #[error(
        "a staff TOTP secret is sealed with key {kid}, which is not in {dir}: every hub instance and `ecohub staff` must share that directory (restore it from a backup; without the key the person must be given a new second factor with `ecohub staff reset-totp`)"
    )]
    UnknownKey {
        /// The key id the secret names.
        kid: String,
        /// Where it was looked for.
        dir: PathBuf,
    },
    /// The key is there but the secret does not open: altered, or sealed for another person.
    #[error(
        "a staff TOTP secret does not open with key {kid}: it was altered or sealed for another person"
    )]
    DoesNotOpen {
        /// The key id the secret names.
        kid: String,
    },
    /// The cryptography library refused (not expected with valid inputs).
    #[error("TOTP secret sealing failed")]
    Crypto,
}

impl From<FileError> for TotpKeyError {
    fn from(e: FileError) -> Self {
        TotpKeyError::Io {
            path: e.path,
            source: e.source,
        }
    }
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> TotpKeyError + '_ {
    move |source| TotpKeyError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The stored form of one key (`<kid>.json`).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    format: String,
    version: u32,
    kid: String,
    alg: String,
    created_at: Timestamp,
    /// 256 bits, base64url.
    key: String,
}

struct TotpKey {
    kid: String,
    created_at: Timestamp,
    key: LessSafeKey,
}

/// The keys of `<data_dir>/totp-keys` (see the module documentation). Cheap to share; its
/// `Debug` shows the directory and the key ids, never a key.
pub struct TotpKeys {
    dir: PathBuf,
    keys: RwLock<Arc<[Arc<TotpKey>]>>,
}

impl std::fmt::Debug for TotpKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TotpKeys")
            .field("dir", &self.dir)
            .field("key_ids", &self.key_ids())
            .finish()
    }
}

impl TotpKeys {
    /// Reads the keys in `<data_dir>/totp-keys`. An absent directory holds no key yet (the
    /// first is created when a secret is first sealed); an unreadable directory or a
    /// corrupted or foreign file is an error that names it.
    pub fn open(data_dir: impl AsRef<Path>) -> Result<Self, TotpKeyError> {
        let dir = data_dir.as_ref().join(TOTP_KEYS_DIR);
        let keys = load_dir(&dir)?;
        Ok(Self {
            dir,
            keys: RwLock::new(keys.into()),
        })
    }

    /// The key directory (`<data_dir>/totp-keys`).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The ids of the keys in memory, oldest first.
    pub fn key_ids(&self) -> Vec<String> {
        self.snapshot().iter().map(|k| k.kid.clone()).collect()
    }

    /// Re-reads the directory (keys another process created). On error the keys in memory
    /// stay unchanged.
    pub fn reload(&self) -> Result<(), TotpKeyError> {
        let keys = load_dir(&self.dir)?;
        *self.keys.write().unwrap_or_else(PoisonError::into_inner) = keys.into();
        Ok(())
    }

    fn snapshot(&self) -> Arc<[Arc<TotpKey>]> {
        self.keys
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The key that seals: the newest; the first one is created (under the directory's lock,
    /// so processes sharing it agree) when there is none.
    fn sealing_key(&self, now: Timestamp) -> Result<Arc<TotpKey>, TotpKeyError> {
        if let Some(key) = self.snapshot().last() {
            return Ok(key.clone());
        }
        let _lock = lock_dir(&self.dir)?;
        self.reload()?;
        if self.snapshot().is_empty() {
            let material = random_bytes(KEY_LEN);
            let kid = random_id(KID_BYTES);
            let file = KeyFile {
                format: KEY_FORMAT.into(),
                version: FORMAT_VERSION,
                kid: kid.clone(),
                alg: SealedTotpSecret::ALG.into(),
                created_at: now,
                key: b64url(&material),
            };
            let mut bytes = serde_json::to_vec_pretty(&file).map_err(|_| TotpKeyError::Crypto)?;
            bytes.push(b'\n');
            write_private_atomic(&self.dir, &format!("{kid}.json"), &bytes)?;
            tracing::info!(kid = %kid, dir = %self.dir.display(), "TOTP key created");
            self.reload()?;
        }
        self.snapshot().last().cloned().ok_or(TotpKeyError::Crypto)
    }

    /// Seals `secret` for `staff_id` with the newest key (created if there is none), under a
    /// fresh random nonce.
    pub fn seal(
        &self,
        staff_id: &StaffId,
        secret: &TotpSecret,
        now: Timestamp,
    ) -> Result<SealedTotpSecret, TotpKeyError> {
        let key = self.sealing_key(now)?;
        let nonce = random_bytes(SealedTotpSecret::NONCE_LEN);
        let mut in_out = secret.bytes().to_vec();
        key.key
            .seal_in_place_append_tag(
                Nonce::try_assume_unique_for_key(&nonce).map_err(|_| TotpKeyError::Crypto)?,
                Aad::from(aad(staff_id)),
                &mut in_out,
            )
            .map_err(|_| TotpKeyError::Crypto)?;
        SealedTotpSecret::new(key.kid.clone(), nonce, in_out).map_err(|_| TotpKeyError::Crypto)
    }

    /// Opens `sealed`, the secret of `staff_id`: fails when its key cannot be found (after
    /// re-reading the directory once) or it does not open (altered, or another person's).
    pub fn unseal(
        &self,
        staff_id: &StaffId,
        sealed: &SealedTotpSecret,
    ) -> Result<TotpSecret, TotpKeyError> {
        let find = |keys: &[Arc<TotpKey>]| keys.iter().find(|k| k.kid == sealed.key_id()).cloned();
        let key = match find(&self.snapshot()) {
            Some(key) => key,
            None => {
                self.reload()?;
                find(&self.snapshot()).ok_or_else(|| TotpKeyError::UnknownKey {
                    kid: sealed.key_id().to_owned(),
                    dir: self.dir.clone(),
                })?
            }
        };
        let does_not_open = || TotpKeyError::DoesNotOpen {
            kid: sealed.key_id().to_owned(),
        };
        let nonce =
            Nonce::try_assume_unique_for_key(sealed.nonce()).map_err(|_| does_not_open())?;
        let mut in_out = sealed.ciphertext().to_vec();
        let plain = key
            .key
            .open_in_place(nonce, Aad::from(aad(staff_id)), &mut in_out)
            .map_err(|_| does_not_open())?;
        TotpSecret::new(plain.to_vec()).map_err(|_| does_not_open())
    }
}

fn aad(staff_id: &StaffId) -> Vec<u8> {
    format!("{AAD_PREFIX}{staff_id}").into_bytes()
}

/// Reads every key in `dir` (absent directory: none), oldest first.
fn load_dir(dir: &Path) -> Result<Vec<Arc<TotpKey>>, TotpKeyError> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_error(dir)(e)),
    };
    let mut keys = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io_error(dir))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        // Hidden entries: the lock and temporary files, Kubernetes' `..data` links.
        if name.starts_with('.') {
            continue;
        }
        let path = entry.path();
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            // Removed by an operator between the listing and the read.
            Err(e) if e.kind() == ErrorKind::NotFound => continue,
            Err(e) => return Err(io_error(&path)(e)),
        };
        keys.push(Arc::new(parse_key_file(&path, &name, &bytes)?));
    }
    keys.sort_by(|a, b| (a.created_at, &a.kid).cmp(&(b.created_at, &b.kid)));
    Ok(keys)
}

fn parse_key_file(path: &Path, name: &str, bytes: &[u8]) -> Result<TotpKey, TotpKeyError> {
    let corrupt = |reason: &str| TotpKeyError::Corrupt {
        path: path.to_path_buf(),
        reason: reason.to_owned(),
    };
    let file: KeyFile =
        serde_json::from_slice(bytes).map_err(|e| corrupt(&format!("not a TOTP key file: {e}")))?;
    if file.format != KEY_FORMAT {
        return Err(corrupt("not an ecohub TOTP key"));
    }
    if file.version != FORMAT_VERSION {
        return Err(corrupt(&format!(
            "format version {}, this build reads version {FORMAT_VERSION}",
            file.version
        )));
    }
    if file.alg != SealedTotpSecret::ALG {
        return Err(corrupt(&format!("unsupported algorithm {}", file.alg)));
    }
    if !SealedTotpSecret::is_key_id(&file.kid) || name != format!("{}.json", file.kid) {
        return Err(corrupt(
            "the key id does not match the file name (<kid>.json)",
        ));
    }
    let material = b64url_decode(&file.key)
        .filter(|k| k.len() == KEY_LEN)
        .ok_or_else(|| corrupt("the key is not 256 bits of base64url"))?;
    let key = UnboundKey::new(&AES_256_GCM, &material).map_err(|_| corrupt("key rejected"))?;
    Ok(TotpKey {
        kid: file.kid,
        created_at: file.created_at,
        key: LessSafeKey::new(key),
    })
}
