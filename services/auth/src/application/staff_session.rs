//! Staff sign-in and sessions (ADR 0023): the console's sign-in page's use case, and the
//! sessions it starts.
//!
//! Sign-in is throttled as customers' is ([`super::login`]), on an attempts stream of its own
//! (`loginattempts-<hex SHA-256 of "staff:" and the normalised username>`, so a customer and
//! a staff person with the same username never lock each other): a locked username is
//! refused before anything is checked and without writing; otherwise the password (argon2id,
//! a dummy verification for unknown usernames) and the TOTP code are checked, and the
//! outcome recorded at the revision read. The person's TOTP secret is opened with the hub's
//! TOTP keys ([`super::totp_keys`]) only after their password matched; a secret that does not
//! open (its key missing, the ciphertext altered or another person's) refuses the sign-in as
//! unavailable — nothing recorded, the cause logged — and never lets it through without the
//! code. A successful sign-in appends `StaffSignedIn` with the code's time step to the
//! person's stream at the revision read, so a code is accepted once, exactly across instances
//! (RFC 6238 §5.2); a replayed code is a failed attempt.
//!
//! Sessions are JWTs signed by the key ring (`typ` `staff-session+jwt`: session id, staff id,
//! CSRF token, 30-minute expiry) in the `ecohub_staff_session` cookie. Signing out appends
//! `StaffSignedOut` to `session-<sid>` (the customers' sign-out stream, another event type);
//! [`StaffSessionResolver`] checks that stream and the person's stream (not disabled, their
//! roles now) exactly on every request, so a sign-out or a disabling counts at once on every
//! instance.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use ecohub_eventstore::{CurrentRevision, EventStore, StoreError};
use ecohub_jose::keys::KeyRing;
use ecohub_jose::util::random_id;
use ecohub_kernel::{Clock, EventMetadata, Timestamp};
use ecohub_security::{SessionStaff, StaffSessionError, StaffSessions};

use super::customers::session_stream;
use super::login::{SignInFailure, attempts_stream, load_attempts, record};
use super::session::{STAFF_SESSION_TYPE, SessionClaims, sign_session_of, verify_session_of};
use super::staff::{StaffDirectory, StaffFailure, matching_step};
use super::state::AuthState;
use crate::domain::{
    LoginAttemptCommand, LoginAttemptEvent, LoginRefusal, Staff, StaffCommand, StaffError, StaffId,
    StaffMember, TotpFactor, normalise_username, scopes_of,
};

/// How long a staff session lasts.
pub const STAFF_SESSION_LIFETIME: Duration = Duration::from_secs(30 * 60);

/// The event type of a staff sign-out (in `session-<sid>`).
pub const STAFF_SIGNED_OUT: &str = "StaffSignedOut";

/// Why a staff sign-in did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum StaffSignInFailure {
    /// Wrong username, password or code (never says which).
    #[error("wrong username, password or code")]
    BadCredentials,
    /// The code was right but already used by an earlier sign-in.
    #[error("this code was already used")]
    CodeReused,
    /// The person has no second factor and the hub requires one.
    #[error("a second factor is required and this staff member has none")]
    SecondFactorMissing,
    /// The person's sealed TOTP secret cannot be opened (its key is missing, or the secret
    /// was altered or copied from another person): refused, never signed in without it.
    #[error("the second factor cannot be checked: {0}")]
    SecondFactorUnreadable(String),
    /// Too many failures: the username is locked until then.
    #[error("too many failed sign-in attempts")]
    Locked {
        /// When the lock ends.
        until: Timestamp,
    },
    /// The store failed; nothing was decided.
    #[error("sign-in unavailable: {0}")]
    Unavailable(String),
}

impl From<SignInFailure> for StaffSignInFailure {
    fn from(e: SignInFailure) -> Self {
        match e {
            SignInFailure::BadCredentials => Self::BadCredentials,
            SignInFailure::Locked { until } => Self::Locked { until },
            SignInFailure::Unavailable(m) => Self::Unavailable(m),
        }
    }
}

impl From<StaffFailure> for StaffSignInFailure {
    fn from(e: StaffFailure) -> Self {
        Self::Unavailable(e.to_string())
    }
}

/// The attempts stream of a staff username (apart from the customers' of the same name).
pub fn staff_attempts_stream(normalised: &str) -> String {
    attempts_stream(&format!("staff:{normalised}"))
}

/// Signs a staff person in with username, password and TOTP code (see the module
/// documentation). Returns the person.
pub async fn staff_sign_in(
    state: &AuthState,
    username: &str,
    password: &str,
    code: &str,
    interaction_id: Option<&str>,
) -> Result<StaffMember, StaffSignInFailure> {
    let directory = StaffDirectory::new(state.store.clone());
    let Ok(normalised) = normalise_username(username) else {
        // Cannot be anyone's username: the same verification cost, nothing to record.
        directory.password_matches(None, password).await?;
        return Err(StaffSignInFailure::BadCredentials);
    };
    let stream = staff_attempts_stream(&normalised);
    let now = state.clock.now();
    let (attempts, revision) = load_attempts(state.store.as_ref(), &stream, now).await?;
    if let Some(until) = attempts.locked_until(now) {
        return Err(StaffSignInFailure::Locked { until });
    }
    let read = Some((attempts, revision));
    let found = directory.find(&normalised).await?;
    let password_ok = directory.password_matches(found.as_ref(), password).await?;
    let outcome = match found.as_ref().filter(|_| password_ok) {
        None => Err(StaffSignInFailure::BadCredentials),
        Some(staff) => confirm(state, staff, code, now, interaction_id).await,
    };
    match outcome {
        Ok(member) => {
            record(
                state,
                &stream,
                read,
                LoginAttemptCommand::RecordLoginSuccess,
                interaction_id,
            )
            .await?
            .map_err(|LoginRefusal::Locked { until }| StaffSignInFailure::Locked { until })?;
            Ok(member)
        }
        Err(StaffSignInFailure::BadCredentials | StaffSignInFailure::CodeReused) => {
            let reused = matches!(outcome, Err(StaffSignInFailure::CodeReused));
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
                Err(LoginRefusal::Locked { until }) => Some(until),
            };
            Err(match locked {
                Some(until) => StaffSignInFailure::Locked { until },
                None if reused => StaffSignInFailure::CodeReused,
                None => StaffSignInFailure::BadCredentials,
            })
        }
        Err(other) => Err(other),
    }
}

/// The second factor of a person whose password matched, and the sign-in recorded in their
/// stream at the revision read (a code's step used once).
async fn confirm(
    state: &AuthState,
    staff: &Staff,
    code: &str,
    now: Timestamp,
    interaction_id: Option<&str>,
) -> Result<StaffMember, StaffSignInFailure> {
    let Some(member) = staff.member().filter(|_| staff.is_active()) else {
        return Err(StaffSignInFailure::BadCredentials);
    };
    let secret = match &member.totp {
        Some(TotpFactor::Sealed(sealed)) => {
            match state.totp_keys.unseal(&member.staff_id, sealed) {
                Ok(secret) => Some(secret),
                Err(e) => {
                    tracing::error!(
                        staff_id = %member.staff_id,
                        error = %e,
                        "staff sign-in refused: the TOTP secret cannot be opened"
                    );
                    return Err(StaffSignInFailure::SecondFactorUnreadable(e.to_string()));
                }
            }
        }
        Some(TotpFactor::Plain(secret)) => Some(secret.clone()),
        None => None,
    };
    let totp_step = match &secret {
        Some(secret) => match matching_step(secret, code, now) {
            Some(step) => Some(step),
            None => return Err(StaffSignInFailure::BadCredentials),
        },
        None if state.settings.staff_totp_required => {
            tracing::warn!(
                staff_id = %member.staff_id,
                "staff sign-in refused: a second factor is required and none is enrolled"
            );
            return Err(StaffSignInFailure::SecondFactorMissing);
        }
        None => None,
    };
    let metadata = EventMetadata {
        actor: Some(format!("staff:{}", member.staff_id)),
        request_id: interaction_id.map(str::to_owned),
        correlation_id: interaction_id.map(str::to_owned),
        ..EventMetadata::default()
    };
    match ecohub_eventstore::execute::<Staff>(
        state.store.as_ref(),
        &member.staff_id.stream_name(),
        StaffCommand::RecordSignIn { totp_step },
        now,
        metadata,
    )
    .await
    {
        Ok(_) => Ok(member.clone()),
        Err(ecohub_eventstore::ExecuteError::Refused(StaffError::CodeReused)) => {
            Err(StaffSignInFailure::CodeReused)
        }
        // A concurrent sign-in with the same code won the append.
        Err(ecohub_eventstore::ExecuteError::Store(StoreError::WrongExpectedVersion {
            ..
        })) => Err(StaffSignInFailure::CodeReused),
        Err(ecohub_eventstore::ExecuteError::Refused(_)) => Err(StaffSignInFailure::BadCredentials),
        Err(e) => Err(StaffSignInFailure::Unavailable(e.to_string())),
    }
}

/// A new session for `staff_id` at `now`: the cookie value and its claims.
pub fn start_staff_session(
    ring: &KeyRing,
    issuer: &str,
    staff_id: &StaffId,
    now: Timestamp,
) -> Result<(String, SessionClaims), ecohub_jose::keys::KeyError> {
    let iat = now.unix_seconds();
    let claims = SessionClaims {
        iss: issuer.to_owned(),
        sub: staff_id.to_string(),
        sid: uuid::Uuid::now_v7().to_string(),
        csrf: random_id(32),
        iat,
        exp: iat + i64::try_from(STAFF_SESSION_LIFETIME.as_secs()).unwrap_or(1800),
    };
    let token = sign_session_of(ring, STAFF_SESSION_TYPE, &claims, now)?;
    Ok((token, claims))
}

/// Records the sign-out of staff session `sid` (effective on every instance at once);
/// signing out twice is fine.
pub async fn end_staff_session(
    store: &dyn EventStore,
    claims: &SessionClaims,
    now: Timestamp,
) -> Result<(), StoreError> {
    super::customers::record_sign_out(
        store,
        STAFF_SIGNED_OUT,
        &claims.sid,
        format!("staff:{}", claims.sub),
        now,
    )
    .await
}

/// Resolves `ecohub_staff_session` cookies: the JWT's signature (the ring's keys), `typ`,
/// issuer and expiry, then — exactly — that the session was not signed out and the person
/// exists and is not disabled; their roles and scopes as they are now. Register it in app
/// data as `web::Data<SharedStaffSessions>`.
pub struct StaffSessionResolver {
    directory: StaffDirectory,
    clock: Arc<dyn Clock>,
    ring: Arc<KeyRing>,
    issuer: String,
}

impl std::fmt::Debug for StaffSessionResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaffSessionResolver")
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

impl StaffSessionResolver {
    /// A resolver sharing the authorization server's store, clock and keys.
    pub fn from_state(state: &AuthState) -> Self {
        Self {
            directory: StaffDirectory::new(state.store.clone()),
            clock: state.clock.clone(),
            ring: state.ring.clone(),
            issuer: state.settings.issuer.clone(),
        }
    }

    /// Resolves at `now`, returning the claims too.
    pub async fn resolve_at(
        &self,
        cookie: &str,
        now: Timestamp,
    ) -> Result<(SessionStaff, SessionClaims), StaffSessionError> {
        let claims = verify_session_of(
            cookie,
            self.ring.as_ref(),
            STAFF_SESSION_TYPE,
            &self.issuer,
            now,
        )
        .map_err(|e| StaffSessionError::Invalid(e.to_string()))?;
        let revision = self
            .directory
            .store()
            .stream_revision(&session_stream(&claims.sid))
            .await
            .map_err(|_| StaffSessionError::Unavailable)?;
        if revision != CurrentRevision::NoStream {
            return Err(StaffSessionError::Invalid("signed out".into()));
        }
        let id = StaffId::parse(&claims.sub)
            .map_err(|_| StaffSessionError::Invalid("not a staff id".into()))?;
        let staff = self
            .directory
            .load(&id)
            .await
            .map_err(|_| StaffSessionError::Unavailable)?;
        let member = staff
            .member()
            .filter(|_| staff.is_active())
            .ok_or_else(|| StaffSessionError::Invalid("unknown or disabled staff member".into()))?;
        Ok((
            SessionStaff {
                staff_id: claims.sub.clone(),
                display_name: member.display_name.clone(),
                roles: member.roles.iter().map(|r| r.as_str().to_owned()).collect(),
                scopes: scopes_of(&member.roles),
                session_id: claims.sid.clone(),
                csrf_token: claims.csrf.clone(),
            },
            claims,
        ))
    }
}

#[async_trait(?Send)]
impl StaffSessions for StaffSessionResolver {
    async fn resolve(&self, cookie: &str) -> Result<SessionStaff, StaffSessionError> {
        let now = self.clock.now();
        self.resolve_at(cookie, now).await.map(|(s, _)| s)
    }
}
