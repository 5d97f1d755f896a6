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

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RSA_PSS_SHA256,
    RsaKeyPair, RsaPublicKeyComponents,
};
use ecohub_kernel::Timestamp;
use serde::{Deserialize, Serialize};

use crate::CLOCK_SKEW;
use crate::jwk::{KeySource, PublicJwk, VerifyingKey, jwk_thumbprint};
use crate::util::{b64url, b64url_decode, random_id};

/// Name of the directory under the data directory that holds the keys.
pub const KEYS_DIR: &str = "keys";
const MARKER_FILE: &str = "keyring.json";
const LOCK_FILE: &str = ".lock";
const MARKER_FORMAT: &str = "ecohub-keyring";
const KEY_FORMAT: &str = "ecohub-signing-key";
/// Version of the key directory format (the marker file and every key file).
pub const FORMAT_VERSION: u32 = 1;

/// A JWS algorithm the hub signs and accepts. Nothing else is ever accepted (no `none`, HS*,
/// RS*, ES384...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum SigningAlgorithm {
    /// ECDSA P-256 with SHA-256 (the default).
    #[default]
    #[serde(rename = "ES256")]
    Es256,
    /// RSASSA-PSS with SHA-256 (RSA 2048 bits for the hub's own keys).
    #[serde(rename = "PS256")]
    Ps256,
    /// Ed25519.
    #[serde(rename = "EdDSA")]
    EdDsa,
}

impl SigningAlgorithm {
    /// Every accepted algorithm.
    pub const ALL: [SigningAlgorithm; 3] = [Self::Es256, Self::Ps256, Self::EdDsa];

    /// The JWS `alg` value (`ES256`, `PS256`, `EdDSA`).
    pub const fn as_str(&self) -> &'static str {
        match self {
            Self::Es256 => "ES256",
            Self::Ps256 => "PS256",
            Self::EdDsa => "EdDSA",
        }
    }

    /// Parses a JWS `alg` value, exactly (case-sensitive, RFC 7515 §4.1.1); `None` for anything
    /// not accepted.
    pub fn parse(alg: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == alg)
    }

    pub(crate) fn jwt_algorithm(&self) -> jsonwebtoken::Algorithm {
        match self {
            Self::Es256 => jsonwebtoken::Algorithm::ES256,
            Self::Ps256 => jsonwebtoken::Algorithm::PS256,
            Self::EdDsa => jsonwebtoken::Algorithm::EdDSA,
        }
    }
}

impl std::fmt::Display for SigningAlgorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for SigningAlgorithm {
    type Err = KeyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s).ok_or_else(|| KeyError::UnsupportedAlgorithm(s.to_owned()))
    }
}

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

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> KeyError + '_ {
    move |source| KeyError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The private half, kept parsed so signing does not re-parse PKCS#8 on every token.
enum KeyPair {
    Ec(EcdsaKeyPair),
    Rsa(RsaKeyPair),
    Ed(Ed25519KeyPair),
}

impl KeyPair {
    fn generate(alg: SigningAlgorithm) -> Result<Self, KeyError> {
        let failed = |_| KeyError::Crypto("key generation failed");
        Ok(match alg {
            SigningAlgorithm::Es256 => {
                Self::Ec(EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).map_err(failed)?)
            }
            SigningAlgorithm::Ps256 => {
                Self::Rsa(RsaKeyPair::generate(KeySize::Rsa2048).map_err(failed)?)
            }
            SigningAlgorithm::EdDsa => Self::Ed(Ed25519KeyPair::generate().map_err(failed)?),
        })
    }

    fn from_pkcs8(alg: SigningAlgorithm, der: &[u8]) -> Result<Self, String> {
        let rejected = |e: aws_lc_rs::error::KeyRejected| format!("private key rejected: {e}");
        Ok(match alg {
            SigningAlgorithm::Es256 => Self::Ec(
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
                    .map_err(rejected)?,
            ),
            SigningAlgorithm::Ps256 => {
                let pair = RsaKeyPair::from_pkcs8(der).map_err(rejected)?;
                if pair.public_modulus_len() * 8 < crate::jwk::MIN_RSA_BITS {
                    return Err("rsa key shorter than 2048 bits".into());
                }
                Self::Rsa(pair)
            }
            SigningAlgorithm::EdDsa => Self::Ed(Ed25519KeyPair::from_pkcs8(der).map_err(rejected)?),
        })
    }

    fn to_pkcs8(&self) -> Result<Vec<u8>, KeyError> {
        let failed = |_| KeyError::Crypto("private key encoding failed");
        Ok(match self {
            Self::Ec(pair) => pair.to_pkcs8v1().map_err(failed)?.as_ref().to_vec(),
            Self::Rsa(pair) => AsDer::<Pkcs8V1Der<'static>>::as_der(pair)
                .map_err(failed)?
                .as_ref()
                .to_vec(),
            Self::Ed(pair) => pair.to_pkcs8().map_err(failed)?.as_ref().to_vec(),
        })
    }

    fn public_jwk(&self) -> Result<PublicJwk, KeyError> {
        let empty = PublicJwk {
            kty: String::new(),
            crv: None,
            x: None,
            y: None,
            n: None,
            e: None,
            use_: None,
            alg: None,
            kid: None,
        };
        Ok(match self {
            Self::Ec(pair) => {
                let point = pair.public_key().as_ref();
                if point.len() != 65 || point[0] != 0x04 {
                    return Err(KeyError::Crypto("unexpected ec public key encoding"));
                }
                PublicJwk {
                    kty: "EC".into(),
                    crv: Some("P-256".into()),
                    x: Some(b64url(&point[1..33])),
                    y: Some(b64url(&point[33..])),
                    ..empty
                }
            }
            Self::Rsa(pair) => {
                let components = RsaPublicKeyComponents::<Vec<u8>>::from(pair.public_key());
                let strip = |v: &[u8]| b64url(&v[v.iter().take_while(|b| **b == 0).count()..]);
                PublicJwk {
                    kty: "RSA".into(),
                    n: Some(strip(&components.n)),
                    e: Some(strip(&components.e)),
                    ..empty
                }
            }
            Self::Ed(pair) => PublicJwk {
                kty: "OKP".into(),
                crv: Some("Ed25519".into()),
                x: Some(b64url(pair.public_key().as_ref())),
                ..empty
            },
        })
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        let failed = |_| KeyError::Crypto("signing failed");
        Ok(match self {
            Self::Ec(pair) => pair
                .sign(&SystemRandom::new(), message)
                .map_err(failed)?
                .as_ref()
                .to_vec(),
            Self::Rsa(pair) => {
                let mut signature = vec![0u8; pair.public_modulus_len()];
                pair.sign(
                    &RSA_PSS_SHA256,
                    &SystemRandom::new(),
                    message,
                    &mut signature,
                )
                .map_err(failed)?;
                signature
            }
            Self::Ed(pair) => pair.sign(message).as_ref().to_vec(),
        })
    }
}

/// One of the hub's signing keys: the private key (never printed, never serialised except
/// to its file), its public JWK and its lifecycle times.
pub struct SigningKey {
    kid: String,
    seq: u64,
    alg: SigningAlgorithm,
    created_at: Timestamp,
    activates_at: Timestamp,
    retires_at: Option<Timestamp>,
    jwk: PublicJwk,
    verifying: VerifyingKey,
    pair: KeyPair,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("seq", &self.seq)
            .field("alg", &self.alg)
            .field("created_at", &self.created_at)
            .field("activates_at", &self.activates_at)
            .field("retires_at", &self.retires_at)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize)]
struct JwsHeader<'a> {
    alg: &'static str,
    typ: &'a str,
    kid: &'a str,
}

impl SigningKey {
    fn new(
        pair: KeyPair,
        seq: u64,
        alg: SigningAlgorithm,
        created_at: Timestamp,
        activates_at: Timestamp,
        retires_at: Option<Timestamp>,
    ) -> Result<Self, KeyError> {
        let mut jwk = pair.public_jwk()?;
        let kid = jwk_thumbprint(&jwk).map_err(|_| KeyError::Crypto("thumbprint failed"))?;
        jwk.use_ = Some("sig".into());
        jwk.alg = Some(alg.as_str().into());
        jwk.kid = Some(kid.clone());
        let verifying = jwk
            .verifying_key()
            .map_err(|_| KeyError::Crypto("public key unusable"))?;
        Ok(Self {
            kid,
            seq,
            alg,
            created_at,
            activates_at,
            retires_at,
            jwk,
            verifying,
            pair,
        })
    }

    /// Generates a new key with aws-lc-rs (P-256, RSA 2048 or Ed25519), outside any ring.
    pub fn generate(
        alg: SigningAlgorithm,
        created_at: Timestamp,
        activates_at: Timestamp,
    ) -> Result<Self, KeyError> {
        Self::new(
            KeyPair::generate(alg)?,
            0,
            alg,
            created_at,
            activates_at,
            None,
        )
    }

    /// The key's generation in its ring: each rotation's key has a higher one. Among the keys
    /// activated at an instant, the highest generation signs.
    pub fn generation(&self) -> u64 {
        self.seq
    }

    /// The key id: the RFC 7638 thumbprint of the public key.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The one algorithm this key signs with.
    pub fn algorithm(&self) -> SigningAlgorithm {
        self.alg
    }

    /// When the key was created (and published).
    pub fn created_at(&self) -> Timestamp {
        self.created_at
    }

    /// From when the key may sign.
    pub fn activates_at(&self) -> Timestamp {
        self.activates_at
    }

    /// When the key leaves the JWKS (set when a newer key supersedes it).
    pub fn retires_at(&self) -> Option<Timestamp> {
        self.retires_at
    }

    /// The public key as published (`kty`, key members, `use: sig`, `alg`, `kid`).
    pub fn public_jwk(&self) -> &PublicJwk {
        &self.jwk
    }

    /// A verifier for this key's signatures.
    pub fn verifying_key(&self) -> VerifyingKey {
        self.verifying.clone()
    }

    /// Signs `message` (raw JWS signature bytes: fixed-size r‖s for ES256).
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        self.pair.sign(message)
    }

    /// Signs `claims` as a compact JWS with header `{"alg", "typ", "kid"}`: the building
    /// block for every JWT the hub issues (access tokens, software statements, and later
    /// security event tokens and consent receipts, each with its own explicit `typ`).
    pub fn sign_jwt<T: Serialize>(&self, typ: &str, claims: &T) -> Result<String, KeyError> {
        let header = JwsHeader {
            alg: self.alg.as_str(),
            typ,
            kid: &self.kid,
        };
        let encoding_failed = |_| KeyError::Crypto("claims encoding failed");
        let mut token = b64url(serde_json::to_vec(&header).map_err(encoding_failed)?);
        token.push('.');
        token.push_str(&b64url(
            serde_json::to_vec(claims).map_err(encoding_failed)?,
        ));
        let signature = self.sign(token.as_bytes())?;
        token.push('.');
        token.push_str(&b64url(signature));
        Ok(token)
    }

    fn is_retired(&self, now: Timestamp) -> bool {
        self.retires_at.is_some_and(|r| r <= now)
    }

    fn info(&self, state: KeyState) -> KeyInfo {
        KeyInfo {
            kid: self.kid.clone(),
            generation: self.seq,
            alg: self.alg,
            state,
            created_at: self.created_at,
            activates_at: self.activates_at,
            retires_at: self.retires_at,
        }
    }
}

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
        let keys = load_dir(&dir)?;
        let ring = Self {
            dir,
            keys: RwLock::new(keys.into()),
        };
        if ring.snapshot().is_empty() {
            let _lock = ring.lock()?;
            ring.reload()?;
            if ring.snapshot().is_empty() {
                let key = SigningKey::generate(SigningAlgorithm::default(), now, now)?;
                ring.write_key(&key)?;
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
        let keys = load_dir(&self.dir)?;
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
        let _lock = self.lock()?;
        self.reload()?;
        let activates_at = now.plus(publish_ahead);
        let seq = self.snapshot().iter().map(|k| k.seq + 1).max().unwrap_or(0);
        let key = SigningKey::new(KeyPair::generate(alg)?, seq, alg, now, activates_at, None)?;
        // The new key is written first: a crash before the old keys get their retirement time
        // leaves them signing until the new key activates and verifying forever, never a ring
        // without a signing key.
        self.write_key(&key)?;
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
            self.write_key(&superseded)?;
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
        let _lock = self.lock()?;
        self.reload()?;
        let pruned = self.prune_locked(now)?;
        self.reload()?;
        Ok(pruned)
    }

    fn prune_locked(&self, now: Timestamp) -> Result<Vec<String>, KeyError> {
        let mut pruned = Vec::new();
        for key in self.snapshot().iter().filter(|k| k.is_retired(now)) {
            let path = self.dir.join(format!("{}.json", key.kid));
            match fs::remove_file(&path) {
                Ok(()) => pruned.push(key.kid.clone()),
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => return Err(io_error(&path)(e)),
            }
        }
        if !pruned.is_empty() {
            sync_dir(&self.dir)?;
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
    pub fn jwks(&self, now: Timestamp) -> crate::jwk::Jwks {
        crate::jwk::Jwks {
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

    fn ensure_dir(&self) -> Result<(), KeyError> {
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)
            .map_err(io_error(&self.dir))?;
        fs::set_permissions(&self.dir, fs::Permissions::from_mode(0o700))
            .map_err(io_error(&self.dir))
    }

    fn lock(&self) -> Result<File, KeyError> {
        self.ensure_dir()?;
        let path = self.dir.join(LOCK_FILE);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(io_error(&path))?;
        file.lock().map_err(io_error(&path))?;
        Ok(file)
    }

    /// Writes the marker when absent, then the key's file.
    fn write_key(&self, key: &SigningKey) -> Result<(), KeyError> {
        self.ensure_dir()?;
        if !self.dir.join(MARKER_FILE).exists() {
            let marker = MarkerFile {
                format: MARKER_FORMAT.into(),
                version: FORMAT_VERSION,
            };
            write_atomic(&self.dir, MARKER_FILE, &to_json(&marker)?)?;
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
        write_atomic(&self.dir, &format!("{}.json", key.kid), &to_json(&file)?)
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

fn to_json<T: Serialize>(value: &T) -> Result<Vec<u8>, KeyError> {
    let mut bytes = serde_json::to_vec_pretty(value)
        .map_err(|_| KeyError::Crypto("key file encoding failed"))?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// Writes `name` in `dir` atomically with mode 0600: temporary file, fsync, rename, fsync of
/// the directory.
fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), KeyError> {
    let tmp = dir.join(format!(".{name}.{}.tmp", random_id(9)));
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, dir.join(name))
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(io_error(&dir.join(name))(e));
    }
    sync_dir(dir)
}

fn sync_dir(dir: &Path) -> Result<(), KeyError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_error(dir))
}

/// Reads every key in `dir` (absent directory: none), oldest generation first.
fn load_dir(dir: &Path) -> Result<Vec<Arc<SigningKey>>, KeyError> {
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
