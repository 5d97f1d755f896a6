//! Per-partner rate limits: one token bucket per (partner, operation), in memory, per
//! instance. With N instances behind a balancer a partner gets up to N times the configured
//! rate; the limit protects each instance, it is not a global quota.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use ecohub_kernel::Timestamp;

/// A bucket's size and refill rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limit {
    /// Requests per second, sustained.
    pub per_second: f64,
    /// Requests allowed at once after a quiet period.
    pub burst: f64,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Timestamp,
}

/// The buckets of one operation, keyed by partner (or client).
#[derive(Debug)]
pub struct RateLimiter {
    limit: Limit,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl RateLimiter {
    /// Buckets with this limit.
    pub fn new(limit: Limit) -> Self {
        Self {
            limit,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token of `key`'s bucket at `now`; `Err(wait)` when empty, with how long
    /// until a token is available.
    pub fn check(&self, key: &str, now: Timestamp) -> Result<(), Duration> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let limit = self.limit;
        let bucket = buckets.entry(key.to_owned()).or_insert(Bucket {
            tokens: limit.burst,
            at: now,
        });
        let elapsed = now.since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * limit.per_second).min(limit.burst);
        bucket.at = now.max(bucket.at);
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let missing = 1.0 - bucket.tokens;
            Err(Duration::from_secs_f64(
                missing / limit.per_second.max(1e-9),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_then_refills() {
        let l = RateLimiter::new(Limit {
            per_second: 1.0,
            burst: 2.0,
        });
        let t = Timestamp::from_unix_seconds(100);
        assert!(l.check("p", t).is_ok());
        assert!(l.check("p", t).is_ok());
        let wait = l.check("p", t).unwrap_err();
        assert!(wait <= Duration::from_secs(1) && wait > Duration::ZERO);
        assert!(l.check("q", t).is_ok(), "buckets are per key");
        assert!(l.check("p", t.plus(Duration::from_secs(1))).is_ok());
    }
}
