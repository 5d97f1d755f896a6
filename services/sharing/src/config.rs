//! Settings of the sharing service: the one source of their defaults and validation. The hub
//! composes [`SharingConfig`] as its `[sharing]` section (read from its layered configuration
//! through [`SharingSection`], the keys an operator writes); every default is documented on
//! its field.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::ratelimit::Limit;

/// Settings of event-notification delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryConfig {
    /// Delay before the first retry; doubled after each failed attempt (default 1 s).
    pub initial_backoff: Duration,
    /// Longest delay between attempts (default 5 min).
    pub max_backoff: Duration,
    /// Failed attempts after which a notification is given up (default 10); it stays
    /// available to polling (RFC 8936) until acknowledged.
    pub max_retries: u32,
    /// Timeout of one push (default 10 s).
    pub request_timeout: Duration,
    /// How often the worker looks for due deliveries besides being woken (default 500 ms):
    /// retries, and notifications another instance queued. A notification queued through
    /// this instance's read model wakes the worker at once.
    pub tick: Duration,
    /// Most pushes one instance has in flight at once (default 32): a slow receiver holds
    /// one of them, not the others.
    pub concurrency: usize,
    /// How long a claimed attempt is reserved for its instance (default 60 s).
    pub claim_ttl: Duration,
    /// How long a poll without `returnImmediately` waits for a SET (default 10 s).
    pub long_poll: Duration,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        Self {
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(300),
            max_retries: 10,
            request_timeout: Duration::from_secs(10),
            tick: Duration::from_millis(500),
            concurrency: 32,
            claim_ttl: Duration::from_secs(60),
            long_poll: Duration::from_secs(10),
        }
    }
}

/// Settings of data sharing. Serialised as (and deserialised from) a [`SharingSection`]: the
/// fields an operator cannot set (`issuer`, `instance_id`, the worker's timings) keep their
/// defaults there, and the hub sets the issuer from its own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "SharingSection", into = "SharingSection")]
pub struct SharingConfig {
    /// Reads per partner and instance (default 5 000/s sustained, bursts of 10 000).
    pub read_limit: Limit,
    /// Publications per partner and instance (default 1 000/s sustained, bursts of 2 000).
    pub publish_limit: Limit,
    /// The `iss` of the hub's SETs (default `https://ecohub.example`).
    pub issuer: String,
    /// This instance's name in delivery claims (default `sharing-<pid>`).
    pub instance_id: String,
    /// Notification delivery.
    pub delivery: DeliveryConfig,
}

impl Default for SharingConfig {
    fn default() -> Self {
        Self {
            read_limit: Limit {
                per_second: 5_000.0,
                burst: 10_000.0,
            },
            publish_limit: Limit {
                per_second: 1_000.0,
                burst: 2_000.0,
            },
            issuer: "https://ecohub.example".to_owned(),
            instance_id: format!("sharing-{}", std::process::id()),
            delivery: DeliveryConfig::default(),
        }
    }
}

impl SharingConfig {
    /// Checks the settings an operator can change; the message names the offending keys.
    pub fn validate(&self) -> Result<(), String> {
        let rates = [
            self.read_limit.per_second,
            self.read_limit.burst,
            self.publish_limit.per_second,
            self.publish_limit.burst,
        ];
        if rates.iter().any(|r| !r.is_finite() || *r < 1.0) {
            return Err("sharing rate limits and bursts must be at least 1".into());
        }
        let d = &self.delivery;
        if d.initial_backoff.is_zero()
            || d.max_backoff.is_zero()
            || !(Duration::from_secs(1)..=Duration::from_secs(120)).contains(&d.request_timeout)
        {
            return Err(
                "sharing delivery backoffs must be positive and the timeout 1–120 s".into(),
            );
        }
        if !(1..=1024).contains(&d.concurrency) {
            return Err("sharing.delivery_concurrency must be 1 to 1024".into());
        }
        if d.long_poll > Duration::from_secs(60) {
            return Err("sharing.poll_wait_ms must be at most 60000".into());
        }
        Ok(())
    }
}

/// The `[sharing]` section as an operator writes it (TOML keys, `ECOHUB_SHARING__*`
/// variables): unknown keys are errors, missing ones take [`SharingConfig::default`]'s values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SharingSection {
    /// Sustained data reads per second per partner and instance (429 beyond). Default 5000.
    pub read_per_second: f64,
    /// Read burst per partner and instance. Default 10000.
    pub read_burst: f64,
    /// Sustained publications per second per partner and instance. Default 1000.
    pub publish_per_second: f64,
    /// Publication burst per partner and instance. Default 2000.
    pub publish_burst: f64,
    /// Failed push attempts after which a notification is left to polling. Default 10.
    pub delivery_max_retries: u32,
    /// Delay before the first retry, doubled after each failure, in ms. Default 1000.
    pub delivery_initial_backoff_ms: u64,
    /// Longest delay between two attempts, in seconds. Default 300.
    pub delivery_max_backoff_secs: u64,
    /// Timeout of one push, in seconds. Default 10.
    pub delivery_timeout_secs: u64,
    /// Most pushes in flight at once per instance (1 to 1024). Default 32.
    pub delivery_concurrency: usize,
    /// How long a poll (`POST /events`) without `returnImmediately` waits for a SET, in ms
    /// (0 to 60000). Default 10000.
    pub poll_wait_ms: u64,
}

impl Default for SharingSection {
    fn default() -> Self {
        SharingConfig::default().into()
    }
}

impl From<SharingConfig> for SharingSection {
    fn from(c: SharingConfig) -> Self {
        Self {
            read_per_second: c.read_limit.per_second,
            read_burst: c.read_limit.burst,
            publish_per_second: c.publish_limit.per_second,
            publish_burst: c.publish_limit.burst,
            delivery_max_retries: c.delivery.max_retries,
            delivery_initial_backoff_ms: c.delivery.initial_backoff.as_millis() as u64,
            delivery_max_backoff_secs: c.delivery.max_backoff.as_secs(),
            delivery_timeout_secs: c.delivery.request_timeout.as_secs(),
            delivery_concurrency: c.delivery.concurrency,
            poll_wait_ms: c.delivery.long_poll.as_millis() as u64,
        }
    }
}

impl From<SharingSection> for SharingConfig {
    fn from(s: SharingSection) -> Self {
        let defaults = SharingConfig::default();
        Self {
            read_limit: Limit {
                per_second: s.read_per_second,
                burst: s.read_burst,
            },
            publish_limit: Limit {
                per_second: s.publish_per_second,
                burst: s.publish_burst,
            },
            delivery: DeliveryConfig {
                initial_backoff: Duration::from_millis(s.delivery_initial_backoff_ms),
                max_backoff: Duration::from_secs(s.delivery_max_backoff_secs),
                max_retries: s.delivery_max_retries,
                request_timeout: Duration::from_secs(s.delivery_timeout_secs),
                concurrency: s.delivery_concurrency,
                long_poll: Duration::from_millis(s.poll_wait_ms),
                ..defaults.delivery
            },
            ..defaults
        }
    }
}
