//! Sign-in with throttling: the login page's use case.
//!
//! Every username — registered or not — has an attempts stream
//! `loginattempts-<hex SHA-256 of the normalised username>` (no personal data in the name).
//! [`sign_in`] reads it (backwards, only as far as the policy can look: see
//! [`crate::domain::login`]); while the username is locked it refuses at once, without
//! checking the password (no argon2 cost, no oracle) and without writing. Otherwise it
//! checks the credentials through the [`super::customers::CustomerAuthenticator`], then
//! records the outcome — `LoginFailed` (which may start a lock) or, when there were failures
//! to reset, `LoginSucceeded` — appended at the revision read, re-read and re-decided on a
//! conflict, so concurrent failures on several instances are all counted.
//!
//! Unknown usernames go through exactly the same steps (read, dummy argon2 verification,
//! `LoginFailed`), so they are throttled the same way and answer the same. A username that
//! cannot be one (it fails normalisation) costs the same verification but records nothing.

use ecohub_eventstore::{
    CurrentRevision, Direction, EventStore, ExpectedRevision, NewEvent, ReadStreamOptions,
    StoreError, StreamPosition,
};
use ecohub_kernel::{Aggregate, EventMetadata, Timestamp};

use super::customers::{AuthenticatedCustomer, CustomerFailure};
use super::state::AuthState;
use crate::domain::{
    LOCK_MEMORY, LoginAttemptCommand, LoginAttemptEvent, LoginAttempts, LoginRefusal,
    normalise_username,
};
use ecohub_jose::util::sha256;

/// How often a conflicting append is re-read and re-decided before giving up.
const ATTEMPTS: usize = 5;
/// Events per backwards page.
const PAGE: usize = 64;

/// The attempts stream of a normalised username.
pub fn attempts_stream(normalised: &str) -> String {
    let hex: String = sha256(normalised.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{}-{hex}", LoginAttempts::CATEGORY)
}

/// Why a sign-in did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum SignInFailure {
    /// Wrong username or password (never says which).
    #[error("wrong username or password")]
    BadCredentials,
    /// Too many failures: the username is locked until then (whether this attempt's
    /// password was checked or not is not said).
    #[error("too many failed sign-in attempts")]
    Locked {
        /// When the lock ends.
        until: Timestamp,
    },
    /// The store or the authenticator failed; nothing was decided.
    #[error("sign-in unavailable: {0}")]
    Unavailable(String),
}

impl From<StoreError> for SignInFailure {
    fn from(e: StoreError) -> Self {
        Self::Unavailable(e.to_string())
    }
}

/// The attempts that matter at `now` and the stream's revision: read backwards until the
/// last success or an event older than [`LOCK_MEMORY`] (the fold of what is left is the
/// fold of the whole stream).
pub(crate) async fn load_attempts(
    store: &dyn EventStore,
    stream: &str,
    now: Timestamp,
) -> Result<(LoginAttempts, CurrentRevision), SignInFailure> {
    let horizon = now.minus(LOCK_MEMORY);
    let mut newest_first = Vec::new();
    let mut revision = CurrentRevision::NoStream;
    let mut from = StreamPosition::End;
    'pages: loop {
        let options = ReadStreamOptions {
            direction: Direction::Backwards,
            from,
            limit: PAGE,
        };
        let page = store.read_stream(stream, options).await?;
        for recorded in &page {
            if revision == CurrentRevision::NoStream {
                revision = CurrentRevision::Current(recorded.revision);
            }
            let event = recorded
                .decode::<LoginAttemptEvent>()
                .map_err(|e| SignInFailure::Unavailable(e.to_string()))?
                .payload;
            let at = match event {
                LoginAttemptEvent::Failed(f) => f.at,
                LoginAttemptEvent::Succeeded { .. } => break 'pages,
            };
            if at < horizon {
                break 'pages;
            }
            newest_first.push(event);
        }
        match page.last() {
            Some(last) if page.len() == PAGE && last.revision > 0 => {
                from = StreamPosition::Revision(last.revision - 1);
            }
            _ => break,
        }
    }
    Ok((LoginAttempts::replay(newest_first.iter().rev()), revision))
}

/// Decides `command` on the latest state and appends its events at the revision read,
/// re-reading on a conflict. Returns the events recorded.
pub(crate) async fn record(
    state: &AuthState,
    stream: &str,
    mut read: Option<(LoginAttempts, CurrentRevision)>,
    command: LoginAttemptCommand,
    interaction_id: Option<&str>,
) -> Result<Result<Vec<LoginAttemptEvent>, LoginRefusal>, SignInFailure> {
    let metadata = EventMetadata {
        actor: Some("system:login".into()),
        request_id: interaction_id.map(str::to_owned),
        ..EventMetadata::default()
    };
    for _ in 0..ATTEMPTS {
        let now = state.clock.now();
        let (attempts, revision) = match read.take() {
            Some(read) => read,
            None => load_attempts(state.store.as_ref(), stream, now).await?,
        };
        let events = match attempts.decide(command, now) {
            Ok(events) => events,
            Err(refusal) => return Ok(Err(refusal)),
        };
        if events.is_empty() {
            return Ok(Ok(events));
        }
        let new_events = events
            .iter()
            .map(|e| NewEvent::from_domain(e, metadata.clone(), now))
            .collect();
        match state
            .store
            .append(stream, ExpectedRevision::from(revision), new_events)
            .await
        {
            Ok(_) => return Ok(Ok(events)),
            Err(StoreError::WrongExpectedVersion { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Err(SignInFailure::Unavailable(
        "sign-in attempts of this username are busy".into(),
    ))
}

/// Signs a customer in with `username` and `password` under the state's
/// [`crate::domain::LoginPolicy`] (see the module documentation). `interaction_id` goes
/// into the recorded events' metadata.
pub async fn sign_in(
    state: &AuthState,
    username: &str,
    password: &str,
    interaction_id: Option<&str>,
) -> Result<AuthenticatedCustomer, SignInFailure> {
    let Ok(normalised) = normalise_username(username) else {
        // Cannot be anyone's username: the same verification cost, nothing to record.
        return match state.customers.authenticate(username, password).await {
            Ok(customer) => Ok(customer),
            Err(CustomerFailure::BadCredentials | CustomerFailure::Refused(_)) => {
                Err(SignInFailure::BadCredentials)
            }
            Err(e) => Err(SignInFailure::Unavailable(e.to_string())),
        };
    };
    let stream = attempts_stream(&normalised);
    let now = state.clock.now();
    let (attempts, revision) = load_attempts(state.store.as_ref(), &stream, now).await?;
    if let Some(until) = attempts.locked_until(now) {
        return Err(SignInFailure::Locked { until });
    }
    let read = Some((attempts, revision));
    match state.customers.authenticate(username, password).await {
        Ok(customer) => {
            record(
                state,
                &stream,
                read,
                LoginAttemptCommand::RecordLoginSuccess,
                interaction_id,
            )
            .await?
            .map_err(|LoginRefusal::Locked { until }| SignInFailure::Locked { until })?;
            Ok(customer)
        }
        Err(CustomerFailure::BadCredentials | CustomerFailure::Refused(_)) => {
            let recorded = record(
                state,
                &stream,
                read,
                LoginAttemptCommand::RecordLoginFailure(state.settings.login),
                interaction_id,
            )
            .await?;
            let locked = match recorded {
                Ok(events) => events.iter().find_map(|e| match e {
                    LoginAttemptEvent::Failed(f) => f.locked_until,
                    LoginAttemptEvent::Succeeded { .. } => None,
                }),
                // Locked meanwhile by concurrent failures (on any instance).
                Err(LoginRefusal::Locked { until }) => Some(until),
            };
            Err(locked.map_or(SignInFailure::BadCredentials, |until| {
                SignInFailure::Locked { until }
            }))
        }
        Err(e) => Err(SignInFailure::Unavailable(e.to_string())),
    }
}
