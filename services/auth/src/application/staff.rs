//! The staff directory: people of the bank who sign in to the console (ADR 0023).
//!
//! People are events in `staff-<uuidv7>` ([`crate::domain::Staff`]): username, display name,
//! argon2id password hash, roles, TOTP secret. Stream names and event metadata never hold a
//! username or a display name: usernames are claimed across instances by an append at
//! `NoStream` to `staffusername-<hex SHA-256 of the normalised username>` (a namespace apart
//! from the customers'), and the actor of what a person does is `staff:<uuid>`.
//!
//! The second factor is TOTP (RFC 6238: HMAC-SHA1, 6 digits, 30-second steps, one step of
//! clock drift either way) computed by the `totp-rs` crate. The secret (160 random bits) is
//! drawn here, sealed for the person ([`super::totp_keys`]: AES-256-GCM, the staff id as
//! associated data) and stored only sealed, in the `StaffAdded` payload (v2) — never in
//! metadata, never in a log line (the domain types' `Debug` hide it) — and shown once, as an
//! `otpauth://` provisioning URI, by [`StaffDirectory::add`]'s caller (`ecohub staff add`).
//! [`StaffDirectory::reset_totp`] gives a person a new secret the same way (`ecohub staff
//! reset-totp`): the remedy for a lost authenticator, and for people added by builds that
//! stored the secret in the clear (`StaffAdded` v1), whose old secret stays readable in the log
//! but stops working.

use std::collections::{BTreeMap, BTreeSet};

use ecohub_eventstore::{
    EventFilter, ExecuteError, ExpectedRevision, NewEvent, SharedStore, StoreError,
};
use ecohub_jose::util::{ct_eq, random_bytes, sha256};
use ecohub_kernel::{Aggregate, DomainEvent, EventMetadata, Timestamp};
use serde::{Deserialize, Serialize};
use totp_rs::{Algorithm, TOTP};

use super::customers::MIN_PASSWORD_LENGTH;
use super::secrets::{hash_secret, verify_secret};
use super::totp_keys::{TotpKeyError, TotpKeys};
use crate::domain::{
    AddStaff, Staff, StaffCommand, StaffError, StaffEvent, StaffId, StaffMember, StaffRole,
    TotpFactor, TotpSecret, normalise_username, scopes_of,
};

/// TOTP time step (RFC 6238 §4: the default X = 30 s).
pub const TOTP_STEP_SECS: u64 = 30;
/// Digits of a TOTP code.
pub const TOTP_DIGITS: usize = 6;
/// Steps of clock drift accepted either way (RFC 6238 §5.2 recommends at most one).
pub const TOTP_SKEW_STEPS: u64 = 1;
/// Bytes of a new TOTP secret (160 bits, RFC 4226 §4).
pub const TOTP_SECRET_BYTES: usize = 20;
/// The issuer named in provisioning URIs (what an authenticator app shows).
pub const TOTP_ISSUER: &str = "Ecohub";

/// The event type of a staff username claim.
pub const STAFF_USERNAME_CLAIMED: &str = "StaffUsernameClaimed";

#[derive(Serialize, Deserialize)]
struct StaffUsernameClaimedV1 {
    staff_id: String,
}

/// The username claim stream of a staff person:
/// `staffusername-<hex SHA-256 of the normalised username>`.
pub fn staff_username_stream(normalised: &str) -> String {
    format!("staffusername-{}", hex(&sha256(normalised.as_bytes())))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Why a staff directory operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StaffFailure {
    /// The username is taken.
    #[error("username is already taken")]
    UsernameTaken,
    /// No staff member with this username.
    #[error("no staff member with this username")]
    NotFound,
    /// A value was refused.
    #[error(transparent)]
    Refused(#[from] StaffError),
    /// The TOTP secret could not be sealed (the key directory).
    #[error(transparent)]
    Key(#[from] TotpKeyError),
    /// The store failed.
    #[error("store: {0}")]
    Store(String),
}

impl From<StoreError> for StaffFailure {
    fn from(e: StoreError) -> Self {
        Self::Store(e.to_string())
    }
}

impl From<ExecuteError<StaffError>> for StaffFailure {
    fn from(e: ExecuteError<StaffError>) -> Self {
        match e {
            ExecuteError::Refused(r) => Self::Refused(r),
            other => Self::Store(other.to_string()),
        }
    }
}

/// A staff person as listed (no password hash, no TOTP secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StaffSummary {
    /// The person's opaque id (the actor `staff:<id>`).
    pub staff_id: String,
    /// The username.
    pub username: String,
    /// The display name.
    pub display_name: String,
    /// The roles.
    pub roles: Vec<String>,
    /// The scopes the roles grant.
    pub scopes: Vec<String>,
    /// Whether the person signs in with a TOTP code.
    pub totp: bool,
    /// Whether their TOTP secret is stored in the clear (written by a build before secrets
    /// were sealed; `ecohub staff reset-totp` replaces it). Shown only when true.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub totp_in_clear: bool,
    /// `active` or `disabled`.
    pub status: &'static str,
    /// When they were added.
    pub added_at: Timestamp,
    /// When they were disabled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disabled_at: Option<Timestamp>,
}

/// A person just added, with the provisioning URI of their second factor — shown once, never
/// stored elsewhere or logged. Its `Debug` hides the URI.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct AddedStaff {
    /// The person.
    #[serde(flatten)]
    pub summary: StaffSummary,
    /// `otpauth://totp/…` for an authenticator app (none without a second factor).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub totp_provisioning_uri: Option<String>,
}

impl std::fmt::Debug for AddedStaff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AddedStaff")
            .field("summary", &self.summary)
            .finish_non_exhaustive()
    }
}

/// What `ecohub staff add` asks for.
#[derive(Clone)]
pub struct NewStaff<'a> {
    /// The username (3 to 64 of `a-z 0-9 . _ @ -`).
    pub username: &'a str,
    /// The name shown on pages.
    pub display_name: &'a str,
    /// The password (at least [`MIN_PASSWORD_LENGTH`] characters).
    pub password: &'a str,
    /// Role names (`partnership_manager`…), at least one.
    pub roles: &'a [String],
    /// Whether to enrol a TOTP second factor.
    pub totp: bool,
}

/// A TOTP generator for `secret` (account `username`, for the provisioning URI).
pub fn totp(secret: &TotpSecret, username: &str) -> Option<TOTP> {
    TOTP::new(
        Algorithm::SHA1,
        TOTP_DIGITS,
        0,
        TOTP_STEP_SECS,
        secret.bytes().to_vec(),
        Some(TOTP_ISSUER.to_owned()),
        username.to_owned(),
    )
    .ok()
}

/// The time step whose code `code` is, within [`TOTP_SKEW_STEPS`] of `now` (constant-time
/// comparison of each candidate), if any.
pub fn matching_step(secret: &TotpSecret, code: &str, now: Timestamp) -> Option<u64> {
    let code = code.trim();
    if code.len() != TOTP_DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let totp = totp(secret, "check")?;
    let current = u64::try_from(now.unix_seconds()).ok()? / TOTP_STEP_SECS;
    let mut matched = None;
    for step in current.saturating_sub(TOTP_SKEW_STEPS)..=current + TOTP_SKEW_STEPS {
        let expected = totp.generate(step * TOTP_STEP_SECS);
        if ct_eq(expected.as_bytes(), code.as_bytes()) {
            matched = Some(step);
        }
    }
    matched
}

fn summary(member: &StaffMember, disabled_at: Option<Timestamp>) -> StaffSummary {
    StaffSummary {
        staff_id: member.staff_id.to_string(),
        username: member.username.clone(),
        display_name: member.display_name.clone(),
        roles: member.roles.iter().map(|r| r.as_str().to_owned()).collect(),
        scopes: scopes_of(&member.roles).into_iter().collect(),
        totp: member.totp.is_some(),
        totp_in_clear: matches!(member.totp, Some(TotpFactor::Plain(_))),
        status: if disabled_at.is_some() {
            "disabled"
        } else {
            "active"
        },
        added_at: member.added_at,
        disabled_at,
    }
}

fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_secret("dummy password for unknown staff").unwrap_or_default())
}

/// The built-in staff directory on the event store.
#[derive(Clone)]
pub struct StaffDirectory {
    store: SharedStore,
}

impl std::fmt::Debug for StaffDirectory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaffDirectory").finish_non_exhaustive()
    }
}

impl StaffDirectory {
    /// A directory on `store`.
    pub fn new(store: SharedStore) -> Self {
        Self { store }
    }

    /// Adds a person: validates, hashes the password (argon2id), draws the TOTP secret and
    /// seals it with `keys` (creating the first key if there is none), claims the username
    /// across instances, appends `StaffAdded`. `totp_required` refuses a person without a
    /// second factor. Returns the person and, once, the provisioning URI.
    pub async fn add(
        &self,
        new: NewStaff<'_>,
        keys: &TotpKeys,
        totp_required: bool,
        now: Timestamp,
        actor: &str,
    ) -> Result<AddedStaff, StaffFailure> {
        let normalised =
            normalise_username(new.username).map_err(|e| StaffError::Invalid(e.to_string()))?;
        if new.password.chars().count() < MIN_PASSWORD_LENGTH {
            return Err(StaffError::Invalid(format!(
                "password must have at least {MIN_PASSWORD_LENGTH} characters"
            ))
            .into());
        }
        if !new.totp && totp_required {
            return Err(StaffError::Invalid(
                "this hub requires a second factor (TOTP) for every staff member".into(),
            )
            .into());
        }
        let roles = new
            .roles
            .iter()
            .map(|r| StaffRole::parse(r))
            .collect::<Result<BTreeSet<_>, _>>()?;
        let secret = if new.totp {
            Some(TotpSecret::new(random_bytes(TOTP_SECRET_BYTES))?)
        } else {
            None
        };
        let staff_id = StaffId::new_v7(now);
        let sealed = match &secret {
            Some(secret) => Some(keys.seal(&staff_id, secret, now)?),
            None => None,
        };
        let password = new.password.to_owned();
        let password_hash = tokio::task::spawn_blocking(move || hash_secret(&password))
            .await
            .map_err(|e| StaffFailure::Store(e.to_string()))?
            .map_err(StaffFailure::Store)?;
        let command = AddStaff {
            staff_id,
            username: normalised.clone(),
            display_name: new.display_name.to_owned(),
            password_hash,
            roles,
            totp: sealed,
        };
        // Decide first (nothing written for an invalid person), then claim, then append.
        let events = Staff::default().decide(StaffCommand::AddStaff(command), now)?;
        let metadata = EventMetadata {
            actor: Some(actor.to_owned()),
            ..EventMetadata::default()
        };
        let mut claim = NewEvent::raw(
            STAFF_USERNAME_CLAIMED,
            serde_json::json!(StaffUsernameClaimedV1 {
                staff_id: staff_id.to_string()
            }),
            now,
        );
        claim.metadata = metadata.clone();
        match self
            .store
            .append(
                &staff_username_stream(&normalised),
                ExpectedRevision::NoStream,
                vec![claim],
            )
            .await
        {
            Ok(_) => {}
            Err(StoreError::WrongExpectedVersion { .. }) => {
                return Err(StaffFailure::UsernameTaken);
            }
            Err(e) => return Err(e.into()),
        }
        let new_events = events
            .iter()
            .map(|e| NewEvent::from_domain(e, metadata.clone(), now))
            .collect();
        self.store
            .append(
                &staff_id.stream_name(),
                ExpectedRevision::NoStream,
                new_events,
            )
            .await?;
        let StaffEvent::Added(member) = &events[0] else {
            return Err(StaffFailure::Store("StaffAdded expected".into()));
        };
        let uri = secret
            .as_ref()
            .and_then(|s| totp(s, &member.username))
            .map(|t| t.get_url());
        Ok(AddedStaff {
            summary: summary(member, None),
            totp_provisioning_uri: uri,
        })
    }

    /// Gives the person with this username a new second factor: draws a new secret, seals it
    /// with `keys` for them, appends `StaffTotpEnrolled` at the revision read (their previous
    /// secret's codes stop working at once, on every instance). Returns the person and, once,
    /// the new provisioning URI. Refused for a disabled person.
    pub async fn reset_totp(
        &self,
        username: &str,
        keys: &TotpKeys,
        now: Timestamp,
        actor: &str,
    ) -> Result<AddedStaff, StaffFailure> {
        let member = self
            .find(username)
            .await?
            .and_then(|s| s.member().cloned())
            .ok_or(StaffFailure::NotFound)?;
        let secret = TotpSecret::new(random_bytes(TOTP_SECRET_BYTES))?;
        let sealed = keys.seal(&member.staff_id, &secret, now)?;
        let metadata = EventMetadata {
            actor: Some(actor.to_owned()),
            ..EventMetadata::default()
        };
        let executed = ecohub_eventstore::execute::<Staff>(
            self.store.as_ref(),
            &member.staff_id.stream_name(),
            StaffCommand::EnrolTotp(sealed),
            now,
            metadata,
        )
        .await?;
        let member = executed
            .state
            .member()
            .ok_or_else(|| StaffFailure::Store("StaffTotpEnrolled without the person".into()))?;
        Ok(AddedStaff {
            summary: summary(member, executed.state.disabled_at()),
            totp_provisioning_uri: totp(&secret, &member.username).map(|t| t.get_url()),
        })
    }

    /// Every person, in the order they were added (reads the `staff-` streams of the log).
    pub async fn list(&self) -> Result<Vec<StaffSummary>, StaffFailure> {
        const PAGE: usize = 1000;
        let filter = EventFilter::streams(["staff-"]);
        let mut order = Vec::new();
        let mut people: BTreeMap<String, (StaffMember, Option<Timestamp>)> = BTreeMap::new();
        let mut from = None;
        loop {
            let page = self.store.read_all(from, &filter, PAGE).await?;
            for recorded in &page {
                if recorded.event_type == "StaffSignedIn" {
                    continue;
                }
                let data: serde_json::Value = serde_json::from_slice(&recorded.data)
                    .map_err(|e| StaffFailure::Store(e.to_string()))?;
                match StaffEvent::decode(&recorded.event_type, recorded.event_version, &data)
                    .map_err(|e| StaffFailure::Store(e.to_string()))?
                {
                    StaffEvent::Added(member) => {
                        order.push(recorded.stream.clone());
                        people.insert(recorded.stream.clone(), (member, None));
                    }
                    StaffEvent::Disabled { at } => {
                        if let Some((_, disabled)) = people.get_mut(&recorded.stream) {
                            disabled.get_or_insert(at);
                        }
                    }
                    StaffEvent::TotpEnrolled { totp, .. } => {
                        if let Some((member, _)) = people.get_mut(&recorded.stream) {
                            member.totp = Some(TotpFactor::Sealed(totp));
                        }
                    }
                    StaffEvent::SignedIn { .. } => {}
                }
            }
            if let Some(last) = page.last() {
                from = Some(last.position);
            }
            if page.len() < PAGE {
                break;
            }
        }
        Ok(order
            .iter()
            .filter_map(|stream| people.get(stream))
            .map(|(member, disabled)| summary(member, *disabled))
            .collect())
    }

    /// The person with this username, read exactly, with their state.
    pub async fn find(&self, username: &str) -> Result<Option<Staff>, StaffFailure> {
        let Ok(normalised) = normalise_username(username) else {
            return Ok(None);
        };
        let events = ecohub_eventstore::read_stream_to_end(
            self.store.as_ref(),
            &staff_username_stream(&normalised),
        )
        .await?;
        let Some(first) = events.first() else {
            return Ok(None);
        };
        let claim: StaffUsernameClaimedV1 =
            serde_json::from_slice(&first.data).map_err(|e| StaffFailure::Store(e.to_string()))?;
        let Ok(id) = StaffId::parse(&claim.staff_id) else {
            return Ok(None);
        };
        self.load(&id).await.map(Some)
    }

    /// The person `id`, read exactly (a default state when there is none).
    pub async fn load(&self, id: &StaffId) -> Result<Staff, StaffFailure> {
        let (staff, _) =
            ecohub_eventstore::load::<Staff>(self.store.as_ref(), &id.stream_name()).await?;
        Ok(staff)
    }

    /// The display names of the people among `staff_ids` (each read exactly), as
    /// `(id, name)` pairs in the order asked; a malformed or unknown id is left out. For the
    /// console's pages of other services (who did what), through their ports.
    pub async fn display_names(
        &self,
        staff_ids: &[String],
    ) -> Result<Vec<(String, String)>, StaffFailure> {
        let mut out = Vec::with_capacity(staff_ids.len());
        for raw in staff_ids {
            let Ok(id) = StaffId::parse(raw) else {
                continue;
            };
            if let Some(member) = self.load(&id).await?.member() {
                out.push((raw.clone(), member.display_name.clone()));
            }
        }
        Ok(out)
    }

    /// Disables the person with this username: no further sign-in, and every session of
    /// theirs is refused from the next request on, on every instance. Disabling twice is fine.
    pub async fn disable(
        &self,
        username: &str,
        now: Timestamp,
        actor: &str,
    ) -> Result<StaffSummary, StaffFailure> {
        let member = self
            .find(username)
            .await?
            .and_then(|s| s.member().cloned())
            .ok_or(StaffFailure::NotFound)?;
        let metadata = EventMetadata {
            actor: Some(actor.to_owned()),
            ..EventMetadata::default()
        };
        let executed = ecohub_eventstore::execute::<Staff>(
            self.store.as_ref(),
            &member.staff_id.stream_name(),
            StaffCommand::DisableStaff,
            now,
            metadata,
        )
        .await?;
        Ok(summary(&member, executed.state.disabled_at()))
    }

    /// Checks a password against the person (a dummy argon2 verification when there is
    /// none, so unknown usernames cost the same).
    pub(crate) async fn password_matches(
        &self,
        staff: Option<&Staff>,
        password: &str,
    ) -> Result<bool, StaffFailure> {
        let hash = staff
            .and_then(Staff::member)
            .map_or_else(|| dummy_hash().to_owned(), |m| m.password_hash.clone());
        let password = password.to_owned();
        let matched = tokio::task::spawn_blocking(move || verify_secret(&hash, &password))
            .await
            .map_err(|e| StaffFailure::Store(e.to_string()))?;
        Ok(matched && staff.is_some_and(|s| s.member().is_some()))
    }

    /// The store this directory is on.
    pub(crate) fn store(&self) -> &SharedStore {
        &self.store
    }
}
