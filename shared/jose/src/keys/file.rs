//! The key directory on disk: a format marker, one file per key, atomic writes, a writers'
//! lock (see the [module docs](super) for the format).

use std::fs;
use std::io::ErrorKind;
use std::path::Path;
use std::sync::Arc;

use ecohub_kernel::Timestamp;
use serde::{Deserialize, Serialize};

use super::signing::KeyPair;
use super::{KeyError, SigningAlgorithm, SigningKey, io_error};
use crate::private_files;
use crate::util::{b64url, b64url_decode};

/// Name of the directory under the data directory that holds the keys.
pub const KEYS_DIR: &str = "keys";
const MARKER_FILE: &str = "keyring.json";
const MARKER_FORMAT: &str = "ecohub-keyring";
const KEY_FORMAT: &str = "ecohub-signing-key";
/// Version of the key directory format (the marker file and every key file).
pub const FORMAT_VERSION: u32 = 1;

/// The stored form of one key (`<kid>.json`).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    format: String,
    version: u32,
    kid: String,
    /// Generation: one more than the newest key's when created by a rotation.
    seq: u64,
    alg: SigningAlgorithm,
    created_at: Timestamp,
    activates_at: Timestamp,
    retires_at: Option<Timestamp>,
    /// PKCS#8 DER, base64url.
    private_key_pkcs8: String,
}

#[derive(Serialize, Deserialize)]
struct MarkerFile {
    format: String,
    version: u32,
}

/// Writes the marker when absent, then the key's file.
pub(super) fn write_key(dir: &Path, key: &SigningKey) -> Result<(), KeyError> {
    private_files::ensure_private_dir(dir)?;
    if !dir.join(MARKER_FILE).exists() {
        let marker = MarkerFile {
            format: MARKER_FORMAT.into(),
            version: FORMAT_VERSION,
        };
        private_files::write_private_atomic(dir, MARKER_FILE, &to_json(&marker)?)?;
    }
    let file = KeyFile {
        format: KEY_FORMAT.into(),
        version: FORMAT_VERSION,
        kid: key.kid.clone(),
        seq: key.seq,
        alg: key.alg,
        created_at: key.created_at,
        activates_at: key.activates_at,
        retires_at: key.retires_at,
        private_key_pkcs8: b64url(key.pair.to_pkcs8()?),
    };
    Ok(private_files::write_private_atomic(
        dir,
        &format!("{}.json", key.kid),
        &to_json(&file)?,
    )?)
}

/// Deletes the file of key `kid`; `false` when it was already gone (pruned by another
/// process). The caller syncs the directory once it is done.
pub(super) fn remove_key(dir: &Path, kid: &str) -> Result<bool, KeyError> {
    let path = dir.join(format!("{kid}.json"));
    match fs::remove_file(&path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
        Err(e) => Err(io_error(&path)(e)),
    }
}

fn to_json<T: Serialize>(value: &T) -> Result<Vec<u8>, KeyError> {
    let mut bytes = serde_json::to_vec_pretty(value)
        .map_err(|_| KeyError::Crypto("key file encoding failed"))?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// Reads every key in `dir` (absent directory: none), oldest generation first.
pub(super) fn load_dir(dir: &Path) -> Result<Vec<Arc<SigningKey>>, KeyError> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_error(dir)(e)),
    };
    let marker_path = dir.join(MARKER_FILE);
    let has_marker = match fs::read(&marker_path) {
        Ok(bytes) => {
            check_marker(&marker_path, &bytes)?;
            true
        }
        Err(e) if e.kind() == ErrorKind::NotFound => false,
        Err(e) => return Err(io_error(&marker_path)(e)),
    };
    let mut keys = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io_error(dir))?;
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        // Hidden entries: our lock and temporary files, Kubernetes' `..data` links.
        if name.starts_with('.') || name == MARKER_FILE {
            continue;
        }
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            // Pruned by another process between the listing and the read.
            Err(e) if e.kind() == ErrorKind::NotFound => continue,
            Err(e) => return Err(io_error(&path)(e)),
        };
        keys.push(Arc::new(parse_key_file(&path, &name, &bytes)?));
    }
    if !keys.is_empty() && !has_marker {
        return Err(KeyError::Corrupt {
            path: marker_path,
            reason: "missing: the directory holds keys but no format marker".into(),
        });
    }
    keys.sort_by(|a, b| (a.seq, &a.kid).cmp(&(b.seq, &b.kid)));
    Ok(keys)
}

fn check_marker(path: &Path, bytes: &[u8]) -> Result<(), KeyError> {
    let corrupt = |reason: &str| KeyError::Corrupt {
        path: path.to_path_buf(),
        reason: reason.into(),
    };
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|_| corrupt("not json"))?;
    if value.get("format").and_then(|f| f.as_str()) != Some(MARKER_FORMAT) {
        return Err(corrupt("not an ecohub key directory marker"));
    }
    match value.get("version").and_then(|v| v.as_u64()) {
        Some(v) if v == u64::from(FORMAT_VERSION) => Ok(()),
        Some(version) => Err(KeyError::UnsupportedVersion {
            path: path.to_path_buf(),
            version,
        }),
        None => Err(corrupt("no version")),
    }
}

fn parse_key_file(path: &Path, name: &str, bytes: &[u8]) -> Result<SigningKey, KeyError> {
    let corrupt = |reason: String| KeyError::Corrupt {
        path: path.to_path_buf(),
        reason,
    };
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| corrupt(format!("not json: {e}")))?;
    if value.get("format").and_then(|f| f.as_str()) != Some(KEY_FORMAT) {
        return Err(corrupt("not an ecohub signing key".into()));
    }
    match value.get("version").and_then(|v| v.as_u64()) {
        Some(v) if v == u64::from(FORMAT_VERSION) => {}
        Some(version) => {
            return Err(KeyError::UnsupportedVersion {
                path: path.to_path_buf(),
                version,
            });
        }
        None => return Err(corrupt("no version".into())),
    }
    let file: KeyFile =
        serde_json::from_value(value).map_err(|e| corrupt(format!("invalid key file: {e}")))?;
    let der = b64url_decode(&file.private_key_pkcs8)
        .ok_or_else(|| corrupt("private key is not base64url".into()))?;
    let pair = KeyPair::from_pkcs8(file.alg, &der).map_err(corrupt)?;
    let key = SigningKey::new(
        pair,
        file.seq,
        file.alg,
        file.created_at,
        file.activates_at,
        file.retires_at,
    )?;
    if key.kid != file.kid || name != format!("{}.json", key.kid) {
        return Err(corrupt(
            "key id does not match the key (expected <thumbprint>.json)".into(),
        ));
    }
    Ok(key)
}
