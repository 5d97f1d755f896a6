//! Time as a value. Domain code receives `now` as an argument; only the edges read a clock.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// An instant in UTC with nanosecond precision; serialised as RFC 3339.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i128);

impl Timestamp {
    /// The Unix epoch.
    pub const EPOCH: Timestamp = Timestamp(0);

    /// From nanoseconds since the Unix epoch.
    pub const fn from_unix_nanos(nanos: i128) -> Self {
        Self(nanos)
    }

    /// From milliseconds since the Unix epoch.
    pub const fn from_unix_millis(millis: i64) -> Self {
        Self(millis as i128 * 1_000_000)
    }

    /// From whole seconds since the Unix epoch.
    pub const fn from_unix_seconds(secs: i64) -> Self {
        Self(secs as i128 * 1_000_000_000)
    }

    /// Nanoseconds since the Unix epoch.
    pub const fn unix_nanos(&self) -> i128 {
        self.0
    }

    /// Milliseconds since the Unix epoch (truncated).
    pub const fn unix_millis(&self) -> i64 {
        (self.0.div_euclid(1_000_000)) as i64
    }

    /// Whole seconds since the Unix epoch (truncated).
    pub const fn unix_seconds(&self) -> i64 {
        (self.0.div_euclid(1_000_000_000)) as i64
    }

    /// Parses an RFC 3339 timestamp (`2026-11-23T09:18:44Z`).
    pub fn parse_rfc3339(s: &str) -> Result<Self, time::error::Parse> {
        OffsetDateTime::parse(s, &Rfc3339).map(Self::from)
    }

    /// Formats as RFC 3339 in UTC.
    pub fn to_rfc3339(&self) -> String {
        OffsetDateTime::from(*self)
            .format(&Rfc3339)
            .unwrap_or_else(|_| self.0.to_string())
    }

    /// For people: `3 December 2026, 16:02 UTC`.
    pub fn in_words(&self) -> String {
        let words = time::macros::format_description!(
            "[day padding:none] [month repr:long] [year], [hour]:[minute] UTC"
        );
        OffsetDateTime::from(*self)
            .format(&words)
            .unwrap_or_else(|_| self.to_rfc3339())
    }

    /// For tables, to the minute: `2026-12-03 13:38 UTC`.
    pub fn utc_minute(&self) -> String {
        let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
        OffsetDateTime::from(*self)
            .format(&format)
            .unwrap_or_else(|_| self.to_rfc3339())
    }

    /// For tables, to the second: `2026-12-03 13:38:05 UTC`.
    pub fn utc_second(&self) -> String {
        let format =
            time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
        OffsetDateTime::from(*self)
            .format(&format)
            .unwrap_or_else(|_| self.to_rfc3339())
    }

    /// This instant plus `d`, saturating at the representable range.
    pub fn plus(&self, d: Duration) -> Self {
        Self(self.0.saturating_add(d.as_nanos() as i128))
    }

    /// This instant minus `d`, saturating at the representable range.
    pub fn minus(&self, d: Duration) -> Self {
        Self(self.0.saturating_sub(d.as_nanos() as i128))
    }

    /// The time from `earlier` to `self`, zero when `earlier` is later.
    pub fn since(&self, earlier: Timestamp) -> Duration {
        let d = self.0 - earlier.0;
        if d <= 0 {
            Duration::ZERO
        } else {
            Duration::from_nanos(d.min(u64::MAX as i128) as u64)
        }
    }
}

impl From<OffsetDateTime> for Timestamp {
    fn from(t: OffsetDateTime) -> Self {
        Self(t.unix_timestamp_nanos())
    }
}

impl From<Timestamp> for OffsetDateTime {
    fn from(t: Timestamp) -> Self {
        OffsetDateTime::from_unix_timestamp_nanos(t.0).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }
}

impl std::fmt::Display for Timestamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl std::fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Timestamp({})", self.to_rfc3339())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_rfc3339())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Timestamp::parse_rfc3339(&s).map_err(serde::de::Error::custom)
    }
}

impl utoipa::PartialSchema for Timestamp {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                utoipa::openapi::KnownFormat::DateTime,
            )))
            .into()
    }
}

impl utoipa::ToSchema for Timestamp {}

/// Where the edges of the system get `now` from. Domain code never sees a clock, only values.
pub trait Clock: Send + Sync + 'static {
    /// The current instant.
    fn now(&self) -> Timestamp;
}

/// The operating system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::from(OffsetDateTime::now_utc())
    }
}

/// A clock that only moves when told to; for tests of time-dependent behaviour.
#[derive(Debug, Default)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    /// A clock standing at `t` (millisecond precision).
    pub fn at(t: Timestamp) -> Self {
        Self(AtomicI64::new(t.unix_millis()))
    }

    /// Moves the clock forward by `d`.
    pub fn advance(&self, d: Duration) {
        self.0.fetch_add(d.as_millis() as i64, Ordering::SeqCst);
    }

    /// Sets the clock to `t`.
    pub fn set(&self, t: Timestamp) {
        self.0.store(t.unix_millis(), Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_unix_millis(self.0.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_for_people_and_tables() {
        let t = Timestamp::parse_rfc3339("2026-12-03T09:05:07.123Z").unwrap();
        assert_eq!(t.in_words(), "3 December 2026, 09:05 UTC");
        assert_eq!(t.utc_minute(), "2026-12-03 09:05 UTC");
        assert_eq!(t.utc_second(), "2026-12-03 09:05:07 UTC");
    }

    #[test]
    fn rfc3339_round_trip_and_arithmetic() {
        let t = Timestamp::parse_rfc3339("2026-11-23T09:18:44.5Z").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-23T09:18:44.5Z");
        let later = t.plus(Duration::from_secs(90));
        assert_eq!(later.since(t), Duration::from_secs(90));
        assert_eq!(t.since(later), Duration::ZERO);
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(serde_json::from_str::<Timestamp>(&json).unwrap(), t);
    }

    #[test]
    fn manual_clock_moves_only_when_told() {
        let c = ManualClock::at(Timestamp::from_unix_seconds(10));
        assert_eq!(c.now(), Timestamp::from_unix_seconds(10));
        c.advance(Duration::from_secs(5));
        assert_eq!(c.now(), Timestamp::from_unix_seconds(15));
    }
}
