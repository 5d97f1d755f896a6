//! The staff directory's aggregate (stream `staff-<uuidv7>`): a person of the bank who signs
//! in to the console with a username, a password and — unless the hub allows otherwise — a
//! TOTP code (RFC 6238), and acts with the scopes of their roles.
//!
//! Pure: the application layer hashes the password (argon2id), draws the TOTP secret, seals it
//! (AEAD, bound to the person) and opens it again to check a code, and passes in the time step
//! it matched; only the hash, the sealed secret and the step reach the domain, which never
//! sees a key. A sign-in is recorded in the person's stream with the step its code used
//! ([`StaffCommand::RecordSignIn`]), so a code is accepted once (RFC 6238 §5.2), exactly
//! across instances (the append expects the revision read).
//!
//! [`StaffRole::scopes`] is the one table of what each role may do.

use std::collections::BTreeSet;
use std::fmt;

use ecohub_kernel::{Aggregate, DecodeError, DomainEvent, Timestamp};
use serde::{Deserialize, Serialize};

use super::customer::normalise_username;

ecohub_kernel::define_id!(
    /// Identifies a staff person (and their stream `staff-<uuid>`; the actor `staff:<uuid>`).
    StaffId,
    "staff"
);

/// A staff role. Stored by its [`StaffRole::as_str`] name (a public contract).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StaffRole {
    /// Reviews partner applications: records checks, approves or rejects as checker,
    /// suspends, reinstates and offboards.
    PartnershipManager,
    /// Designs attributes, personas and propositions; approves another's proposition version.
    ProductManager,
    /// Reads and exports the consent and data-access history; verifies it.
    ComplianceOfficer,
    /// Administers the hub: staff clients, the data catalogue, partners.
    Administrator,
}

/// The one table of what each role may do: role → the access-token scopes a signed-in person
/// holding it acts with (documented in docs/security.md and ADR 0023). A person's scopes are
/// the union over their roles.
///
/// | role | scopes | what the scopes open |
/// |---|---|---|
/// | `partnership_manager` | `admin` | `/admin/partners` (review, evidence, approval as checker, suspension), `/admin/clients`, `/admin/datasets` |
/// | `product_manager` | `offers:manage` | `/offers` (attributes, personas, propositions, approval of another's version, reports) |
/// | `compliance_officer` | `audit` | `/audit/consents`, `/audit/data-access` (lists, histories, exports) |
/// | `administrator` | `admin`, `audit` | everything above but `offers:manage` |
///
/// Never granted to a person: `offers:decide` (the bank's channels deciding offers) and
/// `data:publish` (the bank's data feeds) — machines' scopes, held by staff OAuth clients.
pub const ROLE_SCOPES: [(StaffRole, &[&str]); 4] = [
    (StaffRole::PartnershipManager, &["admin"]),
    (StaffRole::ProductManager, &["offers:manage"]),
    (StaffRole::ComplianceOfficer, &["audit"]),
    (StaffRole::Administrator, &["admin", "audit"]),
];

impl StaffRole {
    /// Every role, in the table's order.
    pub const ALL: [StaffRole; 4] = [
        StaffRole::PartnershipManager,
        StaffRole::ProductManager,
        StaffRole::ComplianceOfficer,
        StaffRole::Administrator,
    ];

    /// The stored and typed name (`partnership_manager`…).
    pub fn as_str(self) -> &'static str {
        match self {
            StaffRole::PartnershipManager => "partnership_manager",
            StaffRole::ProductManager => "product_manager",
            StaffRole::ComplianceOfficer => "compliance_officer",
            StaffRole::Administrator => "administrator",
        }
    }

    /// The name shown to people (`Partnership manager`…).
    pub fn label(self) -> &'static str {
        match self {
            StaffRole::PartnershipManager => "Partnership manager",
            StaffRole::ProductManager => "Product manager",
            StaffRole::ComplianceOfficer => "Compliance officer",
            StaffRole::Administrator => "Administrator",
        }
    }

    /// The scopes this role grants ([`ROLE_SCOPES`]).
    pub fn scopes(self) -> &'static [&'static str] {
        ROLE_SCOPES
            .iter()
            .find(|(role, _)| *role == self)
            .map_or(&[], |(_, scopes)| scopes)
    }

    /// Parses a role name (`partnership_manager`, also with `-` or spaces, any case).
    pub fn parse(name: &str) -> Result<Self, StaffError> {
        let normal = name.trim().to_lowercase().replace(['-', ' '], "_");
        StaffRole::ALL
            .into_iter()
            .find(|r| r.as_str() == normal)
            .ok_or_else(|| {
                StaffError::Invalid(format!(
                    "unknown role {name:?} (partnership_manager, product_manager, compliance_officer or administrator)"
                ))
            })
    }
}

impl fmt::Display for StaffRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The scopes of a set of roles (the union of their rows in [`ROLE_SCOPES`]).
pub fn scopes_of(roles: &BTreeSet<StaffRole>) -> BTreeSet<String> {
    roles
        .iter()
        .flat_map(|r| r.scopes().iter().map(|s| (*s).to_owned()))
        .collect()
}

/// A TOTP secret (RFC 6238: at least 128 bits, RFC 4226 §4 recommends 160). Its `Debug`
/// never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpSecret(Vec<u8>);

impl TotpSecret {
    /// Shortest secret accepted, in bytes.
    pub const MIN_LEN: usize = 16;

    /// A secret of these bytes.
    pub fn new(bytes: Vec<u8>) -> Result<Self, StaffError> {
        if bytes.len() < Self::MIN_LEN {
            return Err(StaffError::Invalid(
                "the TOTP secret must have at least 128 bits".into(),
            ));
        }
        Ok(Self(bytes))
    }

    /// The secret's bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpSecret(…)")
    }
}

/// A TOTP secret sealed by the application layer (AES-256-GCM under a key of
/// `<data_dir>/totp-keys`, the person's id as associated data; see
/// `application::totp_keys`): opaque to the domain, which stores it and never opens it. Its
/// `Debug` shows the key id only.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedTotpSecret {
    key_id: String,
    nonce: Vec<u8>,
    ciphertext: Vec<u8>,
}

impl SealedTotpSecret {
    /// The AEAD that sealed it, as stored (`alg`).
    pub const ALG: &'static str = "A256GCM";
    /// Bytes of the nonce (96 bits, fresh for every secret).
    pub const NONCE_LEN: usize = 12;
    /// Bytes of the authentication tag at the end of the ciphertext.
    pub const TAG_LEN: usize = 16;

    /// A sealed secret: the id of the key that sealed it (1 to 64 of `A-Z a-z 0-9 _ -`), the
    /// nonce, and the ciphertext with its tag (at least a [`TotpSecret::MIN_LEN`] secret).
    pub fn new(key_id: String, nonce: Vec<u8>, ciphertext: Vec<u8>) -> Result<Self, StaffError> {
        if !Self::is_key_id(&key_id) {
            return Err(StaffError::Invalid(
                "the sealed TOTP secret's key id is malformed".into(),
            ));
        }
        if nonce.len() != Self::NONCE_LEN {
            return Err(StaffError::Invalid(
                "the sealed TOTP secret's nonce must have 96 bits".into(),
            ));
        }
        if ciphertext.len() < TotpSecret::MIN_LEN + Self::TAG_LEN {
            return Err(StaffError::Invalid(
                "the sealed TOTP secret is too short".into(),
            ));
        }
        Ok(Self {
            key_id,
            nonce,
            ciphertext,
        })
    }

    /// Whether `key_id` is a well-formed key id: 1 to 64 of `A-Z a-z 0-9 _ -`.
    pub fn is_key_id(key_id: &str) -> bool {
        !key_id.is_empty()
            && key_id.len() <= 64
            && key_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    }

    /// The id of the key that sealed it.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The nonce.
    pub fn nonce(&self) -> &[u8] {
        &self.nonce
    }

    /// The ciphertext followed by the tag.
    pub fn ciphertext(&self) -> &[u8] {
        &self.ciphertext
    }
}

impl fmt::Debug for SealedTotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealedTotpSecret")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

/// A person's second factor as their stream holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TotpFactor {
    /// The secret in the clear: only people added by builds before secrets were sealed
    /// (`StaffAdded` v1). Still accepted; `ecohub staff reset-totp` replaces it by a sealed one.
    Plain(TotpSecret),
    /// The secret sealed by the application (`StaffAdded` v2, `StaffTotpEnrolled`).
    Sealed(SealedTotpSecret),
}

impl TotpFactor {
    /// Whether the secret is sealed (not readable from the store).
    pub fn is_sealed(&self) -> bool {
        matches!(self, TotpFactor::Sealed(_))
    }
}

/// A staff person as the directory knows them.
#[derive(Clone, PartialEq, Eq)]
pub struct StaffMember {
    /// The person's id.
    pub staff_id: StaffId,
    /// The normalised username (see [`normalise_username`]).
    pub username: String,
    /// The name shown on pages.
    pub display_name: String,
    /// Argon2id PHC string of the password.
    pub password_hash: String,
    /// The roles (at least one).
    pub roles: BTreeSet<StaffRole>,
    /// The second factor's secret (sealed, or in the clear when written by an earlier build),
    /// when the person has one.
    pub totp: Option<TotpFactor>,
    /// When they were added.
    pub added_at: Timestamp,
}

impl fmt::Debug for StaffMember {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaffMember")
            .field("staff_id", &self.staff_id)
            .field("roles", &self.roles)
            .field("totp", &self.totp.is_some())
            .finish_non_exhaustive()
    }
}

/// The staff aggregate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Staff {
    member: Option<StaffMember>,
    disabled_at: Option<Timestamp>,
    last_totp_step: Option<u64>,
}

impl Staff {
    /// The person, once added.
    pub fn member(&self) -> Option<&StaffMember> {
        self.member.as_ref()
    }

    /// When the person was disabled (they can no longer sign in; their sessions end).
    pub fn disabled_at(&self) -> Option<Timestamp> {
        self.disabled_at
    }

    /// Whether the person exists and is not disabled.
    pub fn is_active(&self) -> bool {
        self.member.is_some() && self.disabled_at.is_none()
    }

    /// The last TOTP time step a sign-in used.
    pub fn last_totp_step(&self) -> Option<u64> {
        self.last_totp_step
    }
}

/// `AddStaff`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddStaff {
    /// The new person's id (generated by the caller).
    pub staff_id: StaffId,
    /// The username as typed (normalised by the decision).
    pub username: String,
    /// The display name.
    pub display_name: String,
    /// Argon2id PHC string of the password.
    pub password_hash: String,
    /// The roles (at least one).
    pub roles: BTreeSet<StaffRole>,
    /// The TOTP secret, sealed by the application for this person (none: no second factor;
    /// the application refuses that when the hub requires one). The domain takes no secret in
    /// the clear: a new person's stream never holds one.
    pub totp: Option<SealedTotpSecret>,
}

/// Commands of the staff aggregate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StaffCommand {
    /// Adds the person.
    AddStaff(AddStaff),
    /// Disables the person: no further sign-in, every session ends at once.
    DisableStaff,
    /// Gives the person a new second factor (a new secret, sealed by the application for
    /// them) in place of the one they had, if any: the old secret's codes stop working.
    EnrolTotp(SealedTotpSecret),
    /// Records a sign-in whose password (and code, at `totp_step`, when the person has a
    /// second factor) the application checked.
    RecordSignIn {
        /// The TOTP time step the code matched (none: no second factor).
        totp_step: Option<u64>,
    },
}

/// Why a staff command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StaffError {
    /// The stream already holds a person.
    #[error("staff member already exists")]
    AlreadyAdded,
    /// No such person.
    #[error("no such staff member")]
    Unknown,
    /// Disabled people do nothing.
    #[error("staff member is disabled")]
    Disabled,
    /// The code's time step was used by an earlier sign-in (RFC 6238 §5.2).
    #[error("this code was already used; wait for the next one")]
    CodeReused,
    /// The person has a second factor and no code was checked.
    #[error("a TOTP code is required")]
    CodeRequired,
    /// A value is not acceptable.
    #[error("invalid staff member: {0}")]
    Invalid(String),
}

fn check_display_name(name: &str) -> Result<(), StaffError> {
    let len = name.trim().chars().count();
    if len == 0 || len > 100 || name.chars().any(char::is_control) {
        return Err(StaffError::Invalid(
            "display name must have 1 to 100 printable characters".into(),
        ));
    }
    Ok(())
}

/// What happened to a staff person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StaffEvent {
    /// `StaffAdded`.
    Added(StaffMember),
    /// `StaffDisabled`.
    Disabled {
        /// When.
        at: Timestamp,
    },
    /// `StaffTotpEnrolled`: a new second factor replaces the person's previous one.
    TotpEnrolled {
        /// The new secret, sealed.
        totp: SealedTotpSecret,
        /// When.
        at: Timestamp,
    },
    /// `StaffSignedIn`.
    SignedIn {
        /// The TOTP time step the code used.
        totp_step: Option<u64>,
        /// When.
        at: Timestamp,
    },
}

impl StaffEvent {
    /// Every event type name this aggregate stores.
    pub const TYPES: [&'static str; 4] = [
        "StaffAdded",
        "StaffDisabled",
        "StaffSignedIn",
        "StaffTotpEnrolled",
    ];

    /// The version `StaffAdded` is written in (v2: the secret sealed).
    pub const ADDED_VERSION: u16 = 2;
}

/// `StaffAdded` v1, as stored by builds before secrets were sealed: the TOTP secret in the
/// clear, base64url (no padding). Read (as [`TotpFactor::Plain`]), never written for a new
/// person.
#[derive(Serialize, Deserialize)]
struct AddedV1 {
    staff_id: StaffId,
    username: String,
    display_name: String,
    password_hash: String,
    roles: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    totp_secret: Option<String>,
    at: Timestamp,
}

/// `StaffAdded` v2, as stored: the TOTP secret only sealed.
#[derive(Serialize, Deserialize)]
struct AddedV2 {
    staff_id: StaffId,
    username: String,
    display_name: String,
    password_hash: String,
    roles: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    totp_secret_sealed: Option<SealedSecretV1>,
    at: Timestamp,
}

/// A sealed TOTP secret, as stored (in `StaffAdded` v2 and `StaffTotpEnrolled` v1): the AEAD
/// (`A256GCM`), the key's id, the nonce and the ciphertext with its tag (base64url).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SealedSecretV1 {
    alg: String,
    kid: String,
    nonce: String,
    ciphertext: String,
}

impl SealedSecretV1 {
    fn of(sealed: &SealedTotpSecret) -> Self {
        Self {
            alg: SealedTotpSecret::ALG.to_owned(),
            kid: sealed.key_id.clone(),
            nonce: b64(&sealed.nonce),
            ciphertext: b64(&sealed.ciphertext),
        }
    }

    fn parse(self) -> Option<SealedTotpSecret> {
        if self.alg != SealedTotpSecret::ALG {
            return None;
        }
        SealedTotpSecret::new(self.kid, unb64(&self.nonce)?, unb64(&self.ciphertext)?).ok()
    }
}

/// `StaffTotpEnrolled` v1, as stored.
#[derive(Serialize, Deserialize)]
struct TotpEnrolledV1 {
    totp_secret_sealed: SealedSecretV1,
    at: Timestamp,
}

/// `StaffDisabled` v1, as stored.
#[derive(Serialize, Deserialize)]
struct DisabledV1 {
    at: Timestamp,
}

/// `StaffSignedIn` v1, as stored.
#[derive(Serialize, Deserialize)]
struct SignedInV1 {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    totp_step: Option<u64>,
    at: Timestamp,
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(text: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .ok()
}

fn to_value(value: impl Serialize) -> serde_json::Value {
    serde_json::to_value(value).expect("payloads of plain fields always serialise")
}

impl DomainEvent for StaffEvent {
    fn event_type(&self) -> &'static str {
        match self {
            StaffEvent::Added(_) => "StaffAdded",
            StaffEvent::Disabled { .. } => "StaffDisabled",
            StaffEvent::TotpEnrolled { .. } => "StaffTotpEnrolled",
            StaffEvent::SignedIn { .. } => "StaffSignedIn",
        }
    }

    fn event_version(&self) -> u16 {
        match self {
            // Only a v1 event read back holds a secret in the clear; it keeps its version.
            StaffEvent::Added(m) if matches!(m.totp, Some(TotpFactor::Plain(_))) => 1,
            StaffEvent::Added(_) => Self::ADDED_VERSION,
            _ => 1,
        }
    }

    fn encode(&self) -> serde_json::Value {
        match self {
            StaffEvent::Added(m) => {
                let roles = m.roles.iter().map(|r| r.as_str().to_owned()).collect();
                match &m.totp {
                    Some(TotpFactor::Plain(secret)) => to_value(AddedV1 {
                        staff_id: m.staff_id,
                        username: m.username.clone(),
                        display_name: m.display_name.clone(),
                        password_hash: m.password_hash.clone(),
                        roles,
                        totp_secret: Some(b64(secret.bytes())),
                        at: m.added_at,
                    }),
                    sealed => to_value(AddedV2 {
                        staff_id: m.staff_id,
                        username: m.username.clone(),
                        display_name: m.display_name.clone(),
                        password_hash: m.password_hash.clone(),
                        roles,
                        totp_secret_sealed: match sealed {
                            Some(TotpFactor::Sealed(s)) => Some(SealedSecretV1::of(s)),
                            _ => None,
                        },
                        at: m.added_at,
                    }),
                }
            }
            StaffEvent::Disabled { at } => to_value(DisabledV1 { at: *at }),
            StaffEvent::TotpEnrolled { totp, at } => to_value(TotpEnrolledV1 {
                totp_secret_sealed: SealedSecretV1::of(totp),
                at: *at,
            }),
            StaffEvent::SignedIn { totp_step, at } => to_value(SignedInV1 {
                totp_step: *totp_step,
                at: *at,
            }),
        }
    }

    fn decode(
        event_type: &str,
        event_version: u16,
        data: &serde_json::Value,
    ) -> Result<Self, DecodeError> {
        let latest = match event_type {
            "StaffAdded" => Self::ADDED_VERSION,
            _ => 1,
        };
        DecodeError::check_known(event_type, event_version, &StaffEvent::TYPES, latest)?;
        let bad = |what: &str| DecodeError::Malformed {
            event_type: event_type.to_owned(),
            reason: what.to_owned(),
        };
        let sealed = |stored: SealedSecretV1| {
            stored
                .parse()
                .ok_or_else(|| bad("totp_secret_sealed is not an A256GCM sealed secret"))
        };
        Ok(match event_type {
            // v1, written before secrets were sealed: the secret in the clear.
            "StaffAdded" if event_version == 1 => {
                let v: AddedV1 = DecodeError::parse(event_type, data)?;
                let totp = match v.totp_secret {
                    None => None,
                    Some(text) => Some(TotpFactor::Plain(
                        unb64(&text)
                            .and_then(|b| TotpSecret::new(b).ok())
                            .ok_or_else(|| bad("totp_secret is not a base64url secret"))?,
                    )),
                };
                StaffEvent::Added(StaffMember {
                    staff_id: v.staff_id,
                    username: v.username,
                    display_name: v.display_name,
                    password_hash: v.password_hash,
                    roles: parse_roles(&v.roles).map_err(|e| bad(&e))?,
                    totp,
                    added_at: v.at,
                })
            }
            "StaffAdded" => {
                let v: AddedV2 = DecodeError::parse(event_type, data)?;
                let totp = match v.totp_secret_sealed {
                    None => None,
                    Some(stored) => Some(TotpFactor::Sealed(sealed(stored)?)),
                };
                StaffEvent::Added(StaffMember {
                    staff_id: v.staff_id,
                    username: v.username,
                    display_name: v.display_name,
                    password_hash: v.password_hash,
                    roles: parse_roles(&v.roles).map_err(|e| bad(&e))?,
                    totp,
                    added_at: v.at,
                })
            }
            "StaffDisabled" => {
                let v: DisabledV1 = DecodeError::parse(event_type, data)?;
                StaffEvent::Disabled { at: v.at }
            }
            "StaffTotpEnrolled" => {
                let v: TotpEnrolledV1 = DecodeError::parse(event_type, data)?;
                StaffEvent::TotpEnrolled {
                    totp: sealed(v.totp_secret_sealed)?,
                    at: v.at,
                }
            }
            _ => {
                let v: SignedInV1 = DecodeError::parse(event_type, data)?;
                StaffEvent::SignedIn {
                    totp_step: v.totp_step,
                    at: v.at,
                }
            }
        })
    }
}

fn parse_roles(names: &[String]) -> Result<BTreeSet<StaffRole>, String> {
    names
        .iter()
        .map(|r| StaffRole::parse(r).map_err(|e| e.to_string()))
        .collect()
}

impl Aggregate for Staff {
    type Command = StaffCommand;
    type Event = StaffEvent;
    type Error = StaffError;

    const CATEGORY: &'static str = "staff";

    fn decide(&self, command: StaffCommand, now: Timestamp) -> Result<Vec<StaffEvent>, StaffError> {
        match command {
            StaffCommand::AddStaff(cmd) => {
                if self.member.is_some() {
                    return Err(StaffError::AlreadyAdded);
                }
                let username = normalise_username(&cmd.username).map_err(|e| match e {
                    super::CustomerError::Invalid(m) => StaffError::Invalid(m),
                    other => StaffError::Invalid(other.to_string()),
                })?;
                check_display_name(&cmd.display_name)?;
                if !cmd.password_hash.starts_with("$argon2id$") {
                    return Err(StaffError::Invalid("password hash must be argon2id".into()));
                }
                if cmd.roles.is_empty() {
                    return Err(StaffError::Invalid(
                        "a staff member needs at least one role".into(),
                    ));
                }
                Ok(vec![StaffEvent::Added(StaffMember {
                    staff_id: cmd.staff_id,
                    username,
                    display_name: cmd.display_name.trim().to_owned(),
                    password_hash: cmd.password_hash,
                    roles: cmd.roles,
                    totp: cmd.totp.map(TotpFactor::Sealed),
                    added_at: now,
                })])
            }
            StaffCommand::DisableStaff => {
                if self.member.is_none() {
                    return Err(StaffError::Unknown);
                }
                if self.disabled_at.is_some() {
                    // Disabling twice changes nothing.
                    return Ok(Vec::new());
                }
                Ok(vec![StaffEvent::Disabled { at: now }])
            }
            StaffCommand::EnrolTotp(totp) => {
                if self.member.is_none() {
                    return Err(StaffError::Unknown);
                }
                if self.disabled_at.is_some() {
                    return Err(StaffError::Disabled);
                }
                Ok(vec![StaffEvent::TotpEnrolled { totp, at: now }])
            }
            StaffCommand::RecordSignIn { totp_step } => {
                let Some(member) = &self.member else {
                    return Err(StaffError::Unknown);
                };
                if self.disabled_at.is_some() {
                    return Err(StaffError::Disabled);
                }
                match (member.totp.is_some(), totp_step) {
                    (true, None) => return Err(StaffError::CodeRequired),
                    (false, Some(_)) => {
                        return Err(StaffError::Invalid(
                            "this staff member has no second factor".into(),
                        ));
                    }
                    _ => {}
                }
                if let (Some(step), Some(last)) = (totp_step, self.last_totp_step)
                    && step <= last
                {
                    return Err(StaffError::CodeReused);
                }
                Ok(vec![StaffEvent::SignedIn { totp_step, at: now }])
            }
        }
    }

    fn evolve(mut self, event: &StaffEvent) -> Self {
        match event {
            StaffEvent::Added(m) => self.member = Some(m.clone()),
            StaffEvent::Disabled { at } => self.disabled_at = Some(*at),
            StaffEvent::TotpEnrolled { totp, .. } => {
                // The time steps of signed-in codes stay: steps are time, so the new secret's
                // codes follow them.
                if let Some(member) = &mut self.member {
                    member.totp = Some(TotpFactor::Sealed(totp.clone()));
                }
            }
            StaffEvent::SignedIn { totp_step, .. } => {
                if totp_step.is_some() {
                    self.last_totp_step = *totp_step;
                }
            }
        }
        self
    }
}
