//! Sign-in throttling (stream `loginattempts-<hex SHA-256 of the normalised username>`): the
//! failed and successful sign-ins of one username, and the pure policy that locks the
//! username after too many failures.
//!
//! The policy ([`LoginPolicy`]): `max_failures` failures within `failure_window` (successes
//! reset the count) lock the username for `lockout`; every further lock within
//! [`LOCK_MEMORY`] before the next success doubles that, up to `max_lockout`. While locked,
//! nothing is recorded and the password is not checked (the application layer asks
//! [`LoginAttempts::locked_until`] first).
//!
//! The state depends only on the events since the last success that are younger than
//! [`LOCK_MEMORY`] (given `failure_window` and `max_lockout` ≤ [`LOCK_MEMORY`]), so the
//! application layer may read the stream backwards and stop there: the fold is the same.
//!
//! Pure: the stream name is the application layer's; the events hold times only — no
//! username, no password, no client address.

use std::time::Duration;

use ecohub_kernel::{Aggregate, DecodeError, DomainEvent, Timestamp};
use serde::{Deserialize, Serialize};

/// How long a lock counts towards the growth of the next one (and the longest allowed
/// failure window and lockout).
pub const LOCK_MEMORY: Duration = Duration::from_secs(24 * 3600);

/// When a username gets locked, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginPolicy {
    /// Failures within `failure_window` that lock the username (≥ 1).
    pub max_failures: u32,
    /// How far back failures count towards a lock (≤ [`LOCK_MEMORY`]).
    pub failure_window: Duration,
    /// The first lock's duration.
    pub lockout: Duration,
    /// The longest lock (≤ [`LOCK_MEMORY`]); each further lock doubles until then.
    pub max_lockout: Duration,
}

impl Default for LoginPolicy {
    /// 5 failures within 15 minutes lock for 1 minute, doubling up to 1 hour.
    fn default() -> Self {
        Self {
            max_failures: 5,
            failure_window: Duration::from_secs(15 * 60),
            lockout: Duration::from_secs(60),
            max_lockout: Duration::from_secs(3600),
        }
    }
}

impl LoginPolicy {
    /// The duration of a lock that follows `previous_locks` locks: `lockout` doubled that
    /// many times, at most `max_lockout`.
    pub fn lockout_after(&self, previous_locks: u32) -> Duration {
        let factor = 2u32.checked_pow(previous_locks).unwrap_or(u32::MAX);
        self.lockout
            .checked_mul(factor)
            .unwrap_or(self.max_lockout)
            .min(self.max_lockout)
    }
}

/// A failed sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginFailure {
    /// When.
    pub at: Timestamp,
    /// The lock this failure started, if it was the one too many.
    pub locked_until: Option<Timestamp>,
}

/// What happened to a username's sign-ins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginAttemptEvent {
    /// `LoginFailed`: wrong password, or unknown username.
    Failed(LoginFailure),
    /// `LoginSucceeded`: recorded only when it resets earlier failures.
    Succeeded {
        /// When.
        at: Timestamp,
    },
}

impl LoginAttemptEvent {
    /// Every event type name.
    pub const TYPES: [&'static str; 2] = ["LoginFailed", "LoginSucceeded"];
}

#[derive(Serialize, Deserialize)]
struct FailedV1 {
    at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    locked_until: Option<Timestamp>,
}

#[derive(Serialize, Deserialize)]
struct SucceededV1 {
    at: Timestamp,
}

impl DomainEvent for LoginAttemptEvent {
    fn event_type(&self) -> &'static str {
        match self {
            Self::Failed(_) => "LoginFailed",
            Self::Succeeded { .. } => "LoginSucceeded",
        }
    }

    fn event_version(&self) -> u16 {
        1
    }

    fn encode(&self) -> serde_json::Value {
        let value = match self {
            Self::Failed(f) => serde_json::to_value(FailedV1 {
                at: f.at,
                locked_until: f.locked_until,
            }),
            Self::Succeeded { at } => serde_json::to_value(SucceededV1 { at: *at }),
        };
        value.expect("payloads of plain fields always serialise")
    }

    fn decode(t: &str, v: u16, data: &serde_json::Value) -> Result<Self, DecodeError> {
        DecodeError::check_known(t, v, &Self::TYPES, 1)?;
        Ok(match t {
            "LoginFailed" => {
                let f: FailedV1 = DecodeError::parse(t, data)?;
                Self::Failed(LoginFailure {
                    at: f.at,
                    locked_until: f.locked_until,
                })
            }
            _ => Self::Succeeded {
                at: DecodeError::parse::<SucceededV1>(t, data)?.at,
            },
        })
    }
}

/// Commands of a username's sign-ins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginAttemptCommand {
    /// `RecordFailure`: the credentials were wrong (decided under this policy).
    RecordLoginFailure(LoginPolicy),
    /// `RecordSuccess`: the credentials were right.
    RecordLoginSuccess,
}

/// Why a sign-in is refused before its credentials are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LoginRefusal {
    /// Too many failures: locked until then.
    #[error("too many failed sign-in attempts")]
    Locked {
        /// When the lock ends.
        until: Timestamp,
    },
}

/// A username's sign-ins since its last recorded success.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoginAttempts {
    failures: Vec<LoginFailure>,
}

impl LoginAttempts {
    /// When the username's current lock ends, if it is locked at `now`.
    pub fn locked_until(&self, now: Timestamp) -> Option<Timestamp> {
        self.failures
            .iter()
            .filter_map(|f| f.locked_until)
            .max()
            .filter(|until| *until > now)
    }

    /// The failures since the last success (what a success resets).
    pub fn failures(&self) -> &[LoginFailure] {
        &self.failures
    }

    /// Failures since the last lock that are still within the window at `now`.
    fn streak(&self, policy: &LoginPolicy, now: Timestamp) -> usize {
        let since_lock = self
            .failures
            .iter()
            .rposition(|f| f.locked_until.is_some())
            .map_or(0, |i| i + 1);
        self.failures[since_lock..]
            .iter()
            .filter(|f| f.at.plus(policy.failure_window) > now)
            .count()
    }

    /// Locks within [`LOCK_MEMORY`] before `now`.
    fn recent_locks(&self, now: Timestamp) -> u32 {
        let n = self
            .failures
            .iter()
            .filter(|f| f.locked_until.is_some() && f.at.plus(LOCK_MEMORY) > now)
            .count();
        u32::try_from(n).unwrap_or(u32::MAX)
    }
}

impl Aggregate for LoginAttempts {
    type Command = LoginAttemptCommand;
    type Event = LoginAttemptEvent;
    type Error = LoginRefusal;

    const CATEGORY: &'static str = "loginattempts";

    fn decide(
        &self,
        command: LoginAttemptCommand,
        now: Timestamp,
    ) -> Result<Vec<LoginAttemptEvent>, LoginRefusal> {
        match command {
            LoginAttemptCommand::RecordLoginFailure(policy) => {
                if let Some(until) = self.locked_until(now) {
                    return Err(LoginRefusal::Locked { until });
                }
                let failures = self.streak(&policy, now) + 1;
                let locks = usize::try_from(policy.max_failures.max(1)).unwrap_or(usize::MAX);
                let locked_until = (failures >= locks)
                    .then(|| now.plus(policy.lockout_after(self.recent_locks(now))));
                Ok(vec![LoginAttemptEvent::Failed(LoginFailure {
                    at: now,
                    locked_until,
                })])
            }
            LoginAttemptCommand::RecordLoginSuccess => Ok(if self.failures.is_empty() {
                Vec::new()
            } else {
                vec![LoginAttemptEvent::Succeeded { at: now }]
            }),
        }
    }

    fn evolve(mut self, event: &LoginAttemptEvent) -> Self {
        match event {
            LoginAttemptEvent::Failed(f) => self.failures.push(*f),
            LoginAttemptEvent::Succeeded { .. } => self.failures.clear(),
        }
        self
    }
}
