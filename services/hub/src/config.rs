//! Settings: one struct, layered defaults → TOML file → `ECOHUB_*` environment → flags.
//! Unknown keys are an error at every layer. Secrets are masked when printed.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// Environment variables with the `ECOHUB_` prefix that are not settings.
const NON_SETTING_ENV: &[&str] = &["CONFIG", "EVENTSTOREDB_URL", "BIN"];
/// Prefixes of `ECOHUB_` variables reserved for tooling (tests, benchmarks).
const TOOLING_ENV_PREFIXES: &[&str] = &["TEST_", "BENCH_"];

/// Every setting of the hub, with its default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Directory for the embedded store, the signing keys and other local state. Default
    /// `./data`.
    pub data_dir: PathBuf,
    /// Production mode: redirect and webhook URLs must be https. Default false.
    pub production: bool,
    /// HTTP server.
    pub server: ServerSettings,
    /// Event store.
    pub store: StoreSettings,
    /// Logging.
    pub log: LogSettings,
    /// API conventions.
    pub http: HttpSettings,
    /// Authorization server.
    pub auth: ecohub_auth::AuthConfig,
    /// Consents: timeouts and the bank's details shown on consent receipts.
    pub consents: ecohub_consents::ConsentsConfig,
    /// Data sharing: rate limits and notification delivery.
    pub sharing: ecohub_sharing::SharingConfig,
    /// Bundled offers.
    pub offers: ecohub_offers::OffersConfig,
    /// The bank's branding on every customer and console page and in consent receipts.
    pub brand: BrandSettings,
}

/// The bank's branding (docs/adr/0025).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BrandSettings {
    /// The bank's name on every page and, unless `consents.bank_name` is set otherwise, in
    /// consent receipts. Default `Ecohub Bank`.
    pub name: String,
    /// A logo file (.png, .svg, .jpg or .webp, at most 512 KiB) shown before the name; read
    /// at start-up. Default: none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logo: Option<PathBuf>,
    /// The primary colour, `#rrggbb`, with at least 4.5:1 contrast against white (checked at
    /// start-up). Default `#1d4f91`.
    pub primary_colour: String,
    /// How customers reach support, shown at the foot of every customer page.
    pub support_contact: String,
}

impl Default for BrandSettings {
    fn default() -> Self {
        let brand = ecohub_http::Brand::default();
        Self {
            name: brand.name,
            logo: None,
            primary_colour: brand.primary,
            support_contact: brand.support,
        }
    }
}

impl BrandSettings {
    /// The brand, its logo read from disk; errors say what to change.
    pub fn load(&self) -> Result<ecohub_http::Brand, ConfigError> {
        let logo = match &self.logo {
            None => None,
            Some(path) => {
                let bytes = std::fs::read(path).map_err(|e| {
                    ConfigError::Invalid(format!("brand.logo {}: {e}", path.display()))
                })?;
                let name = path.display().to_string();
                Some(
                    ecohub_http::brand::Logo::from_file(&name, bytes)
                        .map_err(|e| ConfigError::Invalid(format!("brand.logo: {e}")))?,
                )
            }
        };
        ecohub_http::Brand::new(
            &self.name,
            &self.primary_colour,
            &self.support_contact,
            logo,
        )
        .map_err(|e| ConfigError::Invalid(format!("brand: {e}")))
    }
}

/// HTTP server settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSettings {
    /// Address to listen on. Default `127.0.0.1:8080`; port 0 picks a free port.
    pub bind: SocketAddr,
    /// Worker threads; 0 means one per core.
    pub workers: usize,
    /// Seconds to let in-flight requests finish on SIGTERM/SIGINT. Default 30.
    pub shutdown_timeout_secs: u64,
}

/// Event store settings.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreSettings {
    /// Store URL. Default (unset): the embedded store at `sqlite:<data_dir>/events.db`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// Log output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One JSON object per line (default).
    Json,
    /// Human-readable lines.
    Pretty,
}

/// Logging settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogSettings {
    /// `json` (default) or `pretty`.
    pub format: LogFormat,
    /// A tracing filter directive. Default `info`.
    pub level: String,
}

/// API convention settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpSettings {
    /// How long `x-idempotency-key`s are remembered, in seconds. Default 86400 (24 h).
    pub idempotency_window_secs: u64,
    /// Largest JSON request body, in bytes. Default 262144.
    pub max_body_bytes: usize,
    /// Seconds a request body may take, all of it, after the request head. Default 30.
    pub body_timeout_secs: u64,
    /// After `body_grace_secs`, the least average rate a request body must arrive at, in
    /// bytes per second (0: no rate rule). Default 1024.
    pub body_min_bytes_per_sec: u64,
    /// Seconds a request body may take before the rate rule applies. Default 5.
    pub body_grace_secs: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./data"),
            production: false,
            server: ServerSettings::default(),
            store: StoreSettings::default(),
            log: LogSettings::default(),
            http: HttpSettings::default(),
            auth: ecohub_auth::AuthConfig::default(),
            consents: ecohub_consents::ConsentsConfig::default(),
            sharing: ecohub_sharing::SharingConfig::default(),
            offers: ecohub_offers::OffersConfig::default(),
            brand: BrandSettings::default(),
        }
    }
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            workers: 0,
            shutdown_timeout_secs: 30,
        }
    }
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            format: LogFormat::Json,
            level: "info".into(),
        }
    }
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            idempotency_window_secs: 24 * 3600,
            max_body_bytes: 256 * 1024,
            body_timeout_secs: 30,
            body_min_bytes_per_sec: 1024,
            body_grace_secs: 5,
        }
    }
}

/// Which store a URL names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// The embedded SQLite store at this path.
    Sqlite(PathBuf),
    /// An EventStoreDB / KurrentDB node or cluster (the whole connection string).
    KurrentDb(String),
}

impl StoreLocation {
    /// Parses a store URL: `sqlite:<path>`, `kurrentdb://…`, `esdb://…` (and `+discover`).
    pub fn parse(url: &str) -> Result<Self, ConfigError> {
        if let Some(path) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            if path.is_empty() {
                return Err(ConfigError::Invalid(
                    "store.url sqlite: needs a path".into(),
                ));
            }
            return Ok(StoreLocation::Sqlite(PathBuf::from(path)));
        }
        let scheme = url
            .split_once(':')
            .map_or(url, |(s, _)| s)
            .to_ascii_lowercase();
        if matches!(
            scheme.as_str(),
            "kurrentdb"
                | "kurrent"
                | "esdb"
                | "kurrentdb+discover"
                | "kurrent+discover"
                | "esdb+discover"
        ) {
            ecohub_kurrentdb::ConnectionSettings::parse(url)
                .map_err(|e| ConfigError::Invalid(format!("store.url: {e}")))?;
            return Ok(StoreLocation::KurrentDb(url.to_owned()));
        }
        Err(ConfigError::Invalid(format!(
            "store.url scheme {scheme:?} is not supported (supported: sqlite:<path>, kurrentdb://…, esdb://…)"
        )))
    }
}

/// Settings that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A layer could not be read or has unknown/invalid keys.
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

impl From<figment::Error> for ConfigError {
    fn from(e: figment::Error) -> Self {
        let all: Vec<String> = e.into_iter().map(|e| e.to_string()).collect();
        ConfigError::Invalid(all.join("; "))
    }
}

/// Flags that override every other layer (unset flags leave the layers below alone).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Overrides {
    /// Address to listen on [default: 127.0.0.1:8080]. Not a flag of every command: only
    /// `serve` (and `config`, which prints what `serve` would use) offer `--bind`.
    #[arg(skip)]
    pub bind: Option<SocketAddr>,
    /// Directory for local state [default: ./data].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Event store URL [default: sqlite:<data-dir>/events.db].
    #[arg(long = "store", value_name = "URL")]
    pub store_url: Option<String>,
    /// Log format.
    #[arg(long, value_enum)]
    pub log_format: Option<LogFormat>,
    /// Log filter, e.g. `info` or `ecohub=debug,info`.
    #[arg(long, value_name = "FILTER")]
    pub log_level: Option<String>,
}

impl Settings {
    /// Loads the layers: defaults, then `file` (if any; it must exist), then the
    /// environment, then `overrides`.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Self, ConfigError> {
        Self::load_from(file, std::env::vars(), overrides)
    }

    /// [`Settings::load`] with an explicit environment (for tests).
    pub fn load_from(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
        overrides: &Overrides,
    ) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(path) = file {
            if !path.is_file() {
                return Err(ConfigError::Invalid(format!(
                    "configuration file {} does not exist",
                    path.display()
                )));
            }
            figment = figment.merge(Toml::file_exact(path));
        }
        let env: Vec<(String, String)> = env
            .into_iter()
            .filter_map(|(k, v)| {
                let rest = k.strip_prefix("ECOHUB_")?;
                let reserved = NON_SETTING_ENV.contains(&rest)
                    || TOOLING_ENV_PREFIXES.iter().any(|p| rest.starts_with(p));
                (!reserved).then(|| (rest.to_owned(), v))
            })
            .collect();
        let mut env_toml = toml::Table::new();
        for (key, value) in env {
            insert_env(&mut env_toml, &key, &value);
        }
        figment = figment.merge(Serialized::defaults(env_toml));
        let mut settings: Settings = figment.extract()?;
        if let Some(dir) = &overrides.data_dir {
            settings.data_dir = dir.clone();
        }
        if let Some(bind) = overrides.bind {
            settings.server.bind = bind;
        }
        if let Some(url) = &overrides.store_url {
            settings.store.url = Some(url.clone());
        }
        if let Some(format) = overrides.log_format {
            settings.log.format = format;
        }
        if let Some(level) = &overrides.log_level {
            settings.log.level = level.clone();
        }
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        self.store_location()?;
        tracing_subscriber::EnvFilter::try_new(&self.log.level)
            .map_err(|e| ConfigError::Invalid(format!("log.level {:?}: {e}", self.log.level)))?;
        self.auth
            .validate(self.production)
            .map_err(ConfigError::Invalid)?;
        self.consents.validate().map_err(ConfigError::Invalid)?;
        self.sharing.validate().map_err(ConfigError::Invalid)?;
        self.offers.validate().map_err(ConfigError::Invalid)?;
        self.brand.load()?;
        if self.http.max_body_bytes == 0 {
            return Err(ConfigError::Invalid(
                "http.max_body_bytes must be positive".into(),
            ));
        }
        if self.http.body_timeout_secs == 0 {
            return Err(ConfigError::Invalid(
                "http.body_timeout_secs must be positive".into(),
            ));
        }
        Ok(())
    }

    /// The store the settings name.
    pub fn store_location(&self) -> Result<StoreLocation, ConfigError> {
        match &self.store.url {
            None => Ok(StoreLocation::Sqlite(self.data_dir.join("events.db"))),
            Some(url) => StoreLocation::parse(url),
        }
    }

    /// The settings as TOML with secrets masked (passwords in URLs).
    pub fn to_masked_toml(&self) -> String {
        let mut masked = self.clone();
        masked.store.url = masked.store.url.as_deref().map(mask_url_password);
        toml::to_string_pretty(&masked).unwrap_or_else(|e| format!("# cannot render: {e}\n"))
    }
}

/// Places `ECOHUB_A__B_C=value` at `a.b_c`, parsing the value as a TOML scalar when it is
/// one (numbers, booleans) and as a string otherwise.
fn insert_env(table: &mut toml::Table, key: &str, value: &str) {
    let parts: Vec<String> = key.split("__").map(|p| p.to_ascii_lowercase()).collect();
    let parsed = format!("v = {value}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .filter(|v| !v.is_table() && !v.is_array())
        .unwrap_or_else(|| toml::Value::String(value.to_owned()));
    let mut current = table;
    for (i, part) in parts.iter().enumerate() {
        if i + 1 == parts.len() {
            current.insert(part.clone(), parsed);
            return;
        }
        let entry = current
            .entry(part.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if !entry.is_table() {
            *entry = toml::Value::Table(toml::Table::new());
        }
        let toml::Value::Table(next) = entry else {
            return;
        };
        current = next;
    }
}

/// `scheme://user:secret@host/...` → `scheme://user:****@host/...`; also masks `password=`
/// query parameters.
pub fn mask_url_password(url: &str) -> String {
    let mut out = url.to_owned();
    if let Some(scheme_end) = out.find("://") {
        let rest_start = scheme_end + 3;
        let authority_end = out[rest_start..]
            .find(['/', '?', '#'])
            .map_or(out.len(), |i| rest_start + i);
        if let Some(at) = out[rest_start..authority_end].rfind('@') {
            let userinfo = &out[rest_start..rest_start + at];
            if let Some(colon) = userinfo.find(':') {
                let start = rest_start + colon + 1;
                out.replace_range(start..rest_start + at, "****");
            }
        }
    }
    if let Some(q) = out.find('?') {
        let (head, query) = out.split_at(q + 1);
        let masked: Vec<String> = query
            .split('&')
            .map(|kv| match kv.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=****"),
                _ => kv.to_owned(),
            })
            .collect();
        out = format!("{head}{}", masked.join("&"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_need_no_configuration() {
        let s = Settings::load_from(None, env(&[]), &Overrides::default()).unwrap();
        assert_eq!(s.server.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(s.data_dir, PathBuf::from("./data"));
        assert_eq!(
            s.store_location().unwrap(),
            StoreLocation::Sqlite(PathBuf::from("./data/events.db"))
        );
        assert_eq!(s.log.format, LogFormat::Json);
    }

    #[test]
    fn layers_apply_in_order_file_env_flags() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("ecohub.toml");
        std::fs::write(
            &file,
            "data_dir = \"/srv/ecohub\"\n[server]\nbind = \"127.0.0.1:9000\"\nworkers = 3\n[log]\nlevel = \"debug\"\n",
        )
        .unwrap();
        let s = Settings::load_from(
            Some(&file),
            env(&[
                ("ECOHUB_SERVER__WORKERS", "5"),
                ("ECOHUB_LOG__LEVEL", "warn"),
                ("HOME", "/x"),
            ]),
            &Overrides {
                log_level: Some("error".into()),
                ..Overrides::default()
            },
        )
        .unwrap();
        assert_eq!(s.data_dir, PathBuf::from("/srv/ecohub"), "file");
        assert_eq!(s.server.bind.port(), 9000, "file");
        assert_eq!(s.server.workers, 5, "env over file");
        assert_eq!(s.log.level, "error", "flag over env");
    }

    #[test]
    fn unknown_keys_are_errors_in_file_and_env() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("ecohub.toml");
        std::fs::write(&file, "[server]\nbnid = \"127.0.0.1:1\"\n").unwrap();
        let err = Settings::load_from(Some(&file), env(&[]), &Overrides::default()).unwrap_err();
        assert!(err.to_string().contains("bnid"), "{err}");
        let err = Settings::load_from(
            None,
            env(&[("ECOHUB_SERVER_BIND", "x")]),
            &Overrides::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("server_bind"), "{err}");
        // variables reserved for tooling are not settings
        Settings::load_from(
            None,
            env(&[
                ("ECOHUB_CONFIG", "x"),
                ("ECOHUB_EVENTSTOREDB_URL", "y"),
                ("ECOHUB_TEST_LOG", "1"),
            ]),
            &Overrides::default(),
        )
        .unwrap();
    }

    #[test]
    fn invalid_values_are_reported() {
        let err = Settings::load_from(
            None,
            env(&[("ECOHUB_SERVER__BIND", "nope")]),
            &Overrides::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("bind"), "{err}");
        let err = Settings::load_from(
            None,
            env(&[("ECOHUB_STORE__URL", "mysql://x")]),
            &Overrides::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("not supported"), "{err}");
        let missing = Settings::load_from(
            Some(Path::new("/nonexistent.toml")),
            env(&[]),
            &Overrides::default(),
        );
        assert!(missing.is_err());
    }

    #[test]
    fn the_poll_wait_is_a_sharing_setting() {
        let s = Settings::load_from(None, env(&[]), &Overrides::default()).unwrap();
        assert_eq!(
            s.sharing.delivery.long_poll,
            std::time::Duration::from_secs(10)
        );
        let s = Settings::load_from(
            None,
            env(&[("ECOHUB_SHARING__POLL_WAIT_MS", "100")]),
            &Overrides::default(),
        )
        .unwrap();
        assert_eq!(
            s.sharing.delivery.long_poll,
            std::time::Duration::from_millis(100)
        );
        let err = Settings::load_from(
            None,
            env(&[("ECOHUB_SHARING__POLL_WAIT_MS", "60001")]),
            &Overrides::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("poll_wait_ms"), "{err}");
    }

    #[test]
    fn the_example_production_config_is_valid() {
        let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../infra/config/production.toml");
        let s = Settings::load_from(
            Some(&file),
            env(&[(
                "ECOHUB_STORE__URL",
                "kurrentdb://ecohub:pw@n1:2113,n2:2113,n3:2113",
            )]),
            &Overrides::default(),
        )
        .unwrap();
        assert_eq!(s.server.bind.to_string(), "0.0.0.0:8080");
        assert!(matches!(
            s.store_location().unwrap(),
            StoreLocation::KurrentDb(_)
        ));
    }

    #[test]
    fn auth_settings_are_validated() {
        let ok = Settings::load_from(
            None,
            env(&[
                ("ECOHUB_AUTH__ISSUER", "https://hub.bank.example"),
                ("ECOHUB_PRODUCTION", "true"),
            ]),
            &Overrides::default(),
        )
        .unwrap();
        assert_eq!(ok.auth.issuer.as_deref(), Some("https://hub.bank.example"));
        assert!(ok.production);
        for bad in ["http://hub.example", "https://hub.example/", "hub.example"] {
            let err = Settings::load_from(
                None,
                env(&[("ECOHUB_AUTH__ISSUER", bad), ("ECOHUB_PRODUCTION", "true")]),
                &Overrides::default(),
            );
            assert!(err.is_err(), "{bad}");
        }
        let err = Settings::load_from(
            None,
            env(&[("ECOHUB_AUTH__ACCESS_TOKEN_LIFETIME_SECS", "0")]),
            &Overrides::default(),
        );
        assert!(err.is_err());
    }

    #[test]
    fn login_throttling_settings_have_defaults_and_are_validated() {
        let defaults = Settings::load_from(None, env(&[]), &Overrides::default()).unwrap();
        assert_eq!(
            (
                defaults.auth.login_max_failures,
                defaults.auth.login_failure_window_secs,
                defaults.auth.login_lockout_secs,
                defaults.auth.login_max_lockout_secs
            ),
            (5, 900, 60, 3600)
        );
        let ok = Settings::load_from(
            None,
            env(&[
                ("ECOHUB_AUTH__LOGIN_MAX_FAILURES", "3"),
                ("ECOHUB_AUTH__LOGIN_LOCKOUT_SECS", "30"),
            ]),
            &Overrides::default(),
        )
        .unwrap();
        assert_eq!(
            (ok.auth.login_max_failures, ok.auth.login_lockout_secs),
            (3, 30)
        );
        for bad in [
            ("ECOHUB_AUTH__LOGIN_MAX_FAILURES", "0"),
            ("ECOHUB_AUTH__LOGIN_FAILURE_WINDOW_SECS", "0"),
            ("ECOHUB_AUTH__LOGIN_FAILURE_WINDOW_SECS", "86401"),
            ("ECOHUB_AUTH__LOGIN_LOCKOUT_SECS", "7200"),
            ("ECOHUB_AUTH__LOGIN_MAX_LOCKOUT_SECS", "86401"),
        ] {
            let err = Settings::load_from(None, env(&[bad]), &Overrides::default());
            assert!(err.is_err(), "{bad:?}");
        }
    }

    #[test]
    fn secrets_are_masked() {
        assert_eq!(
            mask_url_password("kurrentdb://admin:changeit@db:2113?tls=false"),
            "kurrentdb://admin:****@db:2113?tls=false"
        );
        assert_eq!(
            mask_url_password("esdb://h:1?password=abc&tls=true"),
            "esdb://h:1?password=****&tls=true"
        );
        let s = Settings {
            store: StoreSettings {
                url: Some("sqlite://u:secret@/x".into()),
            },
            ..Settings::default()
        };
        let out = s.to_masked_toml();
        assert!(!out.contains("secret"), "{out}");
        assert!(out.contains("****"));
    }
}
