//! The hub's signing keys and the file-backed [`KeyRing`] that rotates them.
//!
//! # Lifecycle
//!
//! A key is *published* (in the JWKS) from its creation, *signs* from `activates_at` until a
//! newer key activates, then *verifies only* until `retires_at`, after which it leaves the
//! JWKS and [`KeyRing::prune`] deletes its file:
//!
//! ```text
//! rotate at t ──► new key published ─ t + publish_ahead ─► new key signs, old key stops signing
//!                                                             └─ + max_token_lifetime + skew ─► old key retired, pruned
//! ```
//!
//! `publish_ahead` lets every verifier (other hub instances, resource servers caching the JWKS)
//! learn the new key before any token uses it; `retires_at` keeps the old key verifiable until
//! the last token it signed has expired. An emergency rotation uses `publish_ahead = 0`.
//!
//! # Storage
//!
//! `<data_dir>/keys/` (mode 0700) holds `keyring.json` (the directory format and its version)
//! and one `<kid>.json` per key (mode 0600) with the PKCS#8 private key and the key's times.
//! Every file is written atomically (temporary file, fsync, rename, fsync of the directory), so
//! a reader sees the old or the new file, never a torn one. Writers (first start, rotation,
//! pruning) take an exclusive lock on `keys/.lock`; readers take none.
//!
//! In a multi-instance deployment every instance must see the same directory (a shared volume,
//! or a Kubernetes Secret volume updated by `ecohub keys rotate`), and each calls
//! [`KeyRing::reload`] periodically; `publish_ahead` must exceed that period plus any JWKS cache
//! lifetime of external verifiers. A read-only directory works as long as it already holds a
//! key: loading never writes.
//!
//! # Layout
//!
//! [`SigningAlgorithm`] (the accepted algorithms), [`SigningKey`] (one key and how it signs),
//! [`KeyRing`] (which key signs when, rotation, pruning) and the private `file` module (the
//! directory format above, atomic writes, the writers' lock).

mod algorithm;
mod file;
mod ring;
mod signing;

use std::path::{Path, PathBuf};

pub use crate::algorithm::SigningAlgorithm;
pub use file::{FORMAT_VERSION, KEYS_DIR};
pub use ring::{KeyInfo, KeyRing, KeyState};
pub use signing::SigningKey;

/// Why the key ring could not load, store or use a key.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// A file or directory could not be read or written.
    #[error("cannot access {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A file in the key directory is not a valid key file of ours (corrupted or foreign).
    #[error("corrupted or foreign file {path} in the key directory: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The directory or a key file has a format version this build does not know.
    #[error("{path} has format version {version}, this build reads version {FORMAT_VERSION}")]
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// The version found.
        version: u64,
    },
    /// An algorithm name that is not ES256, PS256 or EdDSA.
    #[error("unsupported signing algorithm {0}")]
    UnsupportedAlgorithm(String),
    /// No key may sign at this instant.
    #[error("no active signing key")]
    NoSigningKey,
    /// aws-lc failed to generate, encode or use a key.
    #[error("key operation failed: {0}")]
    Crypto(&'static str),
}

impl From<crate::private_files::FileError> for KeyError {
    fn from(e: crate::private_files::FileError) -> Self {
        KeyError::Io {
            path: e.path,
            source: e.source,
        }
    }
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> KeyError + '_ {
    move |source| KeyError::Io {
        path: path.to_path_buf(),
        source,
    }
}
