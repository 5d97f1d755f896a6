//! Settings of the sharing service. The hub fills them from its layered configuration; every
//! default is documented on its field.

use std::time::Duration;

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
    /// How often the worker looks for due deliveries (default 500 ms).
    pub tick: Duration,
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
            claim_ttl: Duration::from_secs(60),
            long_poll: Duration::from_secs(10),
        }
    }
}

/// Settings of data sharing.
#[derive(Debug, Clone, PartialEq)]
pub struct SharingConfig {
    /// Reads per partner and instance (default 500/s sustained, bursts of 1 000).
    pub read_limit: Limit,
    /// Publications per partner and instance (default 100/s sustained, bursts of 200).
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
                per_second: 500.0,
                burst: 1_000.0,
            },
            publish_limit: Limit {
                per_second: 100.0,
                burst: 200.0,
            },
            issuer: "https://ecohub.example".to_owned(),
            instance_id: format!("sharing-{}", std::process::id()),
            delivery: DeliveryConfig::default(),
        }
    }
}
