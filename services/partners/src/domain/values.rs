//! Parse-don't-validate input types. Each `parse` either returns a value that satisfies its
//! type's rules or a [`ValidationError`] naming the field; code holding a value never checks
//! it again.
//!
//! Values rebuilt from stored events are trusted (`from_recorded`): events are facts, and a
//! rule tightened later must never make an old event undecodable.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::country;
use super::weburl::{self, WebUrl};

/// An input that breaks its type's rules. Displays as `"<field> <message>"`, lowercase, e.g.
/// `website must use https`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} {message}")]
pub struct ValidationError {
    /// The input field, as the API names it (`legal_name`, `contact.email`).
    pub field: &'static str,
    /// What is wrong, completing the sentence started by the field name.
    pub message: String,
}

impl ValidationError {
    /// A refusal of `field` because it `message` (`"must not be empty"`).
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

/// Defines a validated string newtype: `as_str`, `Display`, `AsRef<str>`, serialised as a
/// plain string, and `from_recorded` for event decoding. Each type writes its own `parse`.
macro_rules! string_value {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The value as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// Rebuilds a value validated when its event was recorded.
            pub(crate) fn from_recorded(value: String) -> Self {
                Self(value)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

/// Trimmed, non-empty, at most `max` characters, no control characters (line breaks and tabs
/// allowed when `multiline`).
fn text(
    field: &'static str,
    input: &str,
    max: usize,
    multiline: bool,
) -> Result<String, ValidationError> {
    let value = input.trim();
    if value.is_empty() {
        return Err(ValidationError::new(field, "must not be empty"));
    }
    if value.chars().count() > max {
        return Err(ValidationError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    let allowed = |c: char| !c.is_control() || (multiline && matches!(c, '\n' | '\r' | '\t'));
    if !value.chars().all(allowed) {
        return Err(ValidationError::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(value.to_owned())
}

string_value! {
    /// A bank staff member: the client id of a staff token, or `staff:<id>` for a person signed
    /// in to the console (an opaque id). Visible ASCII,
    /// 1 to 128 characters, not necessarily a UUID. Never personal data (it appears in events
    /// as compliance evidence and may appear in metadata).
    StaffId
}

impl StaffId {
    /// Parses a staff identifier (no surrounding whitespace allowed, not trimmed).
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        const FIELD: &str = "staff_id";
        if input.is_empty() {
            return Err(ValidationError::new(FIELD, "must not be empty"));
        }
        if input.len() > 128 {
            return Err(ValidationError::new(
                FIELD,
                "must be at most 128 characters",
            ));
        }
        if !input.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ValidationError::new(
                FIELD,
                "must be visible ascii without spaces",
            ));
        }
        Ok(Self(input.to_owned()))
    }
}

string_value! {
    /// The partner's registered legal name: trimmed, 1 to 200 characters.
    LegalName
}

impl LegalName {
    /// Parses a legal name.
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        text("legal_name", input, 200, false).map(Self)
    }
}

string_value! {
    /// The company registration number in the partner's national registry: trimmed, 1 to 64
    /// characters of ASCII letters, digits, spaces and `-` `/` `.`.
    RegistrationNumber
}

impl RegistrationNumber {
    /// Parses a registration number.
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        const FIELD: &str = "registration_number";
        let value = text(FIELD, input, 64, false)?;
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, ' ' | '-' | '/' | '.');
        if !value.chars().all(allowed) {
            return Err(ValidationError::new(
                FIELD,
                "may contain only letters, digits, spaces and - / .",
            ));
        }
        Ok(Self(value))
    }
}

string_value! {
    /// An ISO 3166-1 alpha-2 country code, uppercase, checked against the full list of
    /// officially assigned codes (user-assigned codes such as `XK` and reserved ones such as
    /// `UK` or `EU` are refused).
    CountryCode
}

impl CountryCode {
    /// Parses a country code (`"DE"`); lowercase input is refused, not corrected.
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        const FIELD: &str = "country";
        if input.len() != 2 || !input.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(ValidationError::new(
                FIELD,
                "must be an uppercase iso 3166-1 alpha-2 code",
            ));
        }
        if !country::is_assigned(input) {
            return Err(ValidationError::new(
                FIELD,
                "is not an assigned iso 3166-1 alpha-2 code",
            ));
        }
        Ok(Self(input.to_owned()))
    }
}

string_value! {
    /// The partner's public website: an absolute `https` URL whose host is a domain name
    /// (not an IP address or `localhost`), without user information or fragment.
    Website
}

impl Website {
    /// Parses a website URL.
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        const FIELD: &str = "website";
        let url = WebUrl::parse(FIELD, input)?;
        if !url.https {
            return Err(ValidationError::new(FIELD, "must use https"));
        }
        if !url.host_is_domain_name() {
            return Err(ValidationError::new(
                FIELD,
                "host must be a public domain name",
            ));
        }
        Ok(Self(input.to_owned()))
    }
}

string_value! {
    /// A contact's name: trimmed, 1 to 200 characters.
    ContactName
}

impl ContactName {
    /// Parses a contact name.
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        text("contact.name", input, 200, false).map(Self)
    }
}

string_value! {
    /// A contact's email address: `local@domain`, at most 254 characters; the local part is
    /// dot-atom text (no quoted strings), the domain a DNS name with at least one dot.
    ContactEmail
}

impl ContactEmail {
    /// Parses an email address (surrounding whitespace is trimmed).
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        const FIELD: &str = "contact.email";
        let value = input.trim();
        if value.is_empty() {
            return Err(ValidationError::new(FIELD, "must not be empty"));
        }
        if value.len() > 254 {
            return Err(ValidationError::new(
                FIELD,
                "must be at most 254 characters",
            ));
        }
        let Some((local, domain)) = value.split_once('@') else {
            return Err(ValidationError::new(FIELD, "must contain @"));
        };
        let atext = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c);
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && local
                .split('.')
                .all(|atom| !atom.is_empty() && atom.chars().all(atext));
        if !local_ok {
            return Err(ValidationError::new(FIELD, "has an invalid local part"));
        }
        if !(domain.contains('.') && weburl::is_dns_name(domain)) {
            return Err(ValidationError::new(FIELD, "has an invalid domain"));
        }
        Ok(Self(value.to_owned()))
    }
}

/// What a contact is responsible for at the partner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContactRole {
    /// Commercial relationship and legal notices.
    Business,
    /// Integration and incidents.
    Technical,
    /// Regulatory and audit questions.
    Compliance,
    /// Security incidents and key compromise.
    Security,
}

/// A person to contact at the partner. Personal data: it lives in event payloads only, never
/// in stream names or metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Contact {
    /// Full name.
    pub name: ContactName,
    /// Email address.
    pub email: ContactEmail,
    /// What the contact is responsible for.
    pub role: ContactRole,
}

string_value! {
    /// Why a status changed (rejection, suspension, reinstatement, offboarding): trimmed,
    /// 1 to 500 characters, line breaks allowed. Shown to the partner and to staff.
    Reason
}

impl Reason {
    /// Parses a reason.
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        text("reason", input, 500, true).map(Self)
    }
}

string_value! {
    /// An optional remark recorded with an approval: trimmed, 1 to 500 characters.
    Note
}

impl Note {
    /// Parses a note.
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        text("note", input, 500, true).map(Self)
    }
}

string_value! {
    /// Where the evidence of a verification is kept (a registry extract number, a screening
    /// case id, a document reference): trimmed, 1 to 500 characters.
    EvidenceReference
}

impl EvidenceReference {
    /// Parses an evidence reference.
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        text("evidence", input, 500, false).map(Self)
    }
}

string_value! {
    /// An OAuth redirect URI: absolute, no fragment, no user information, at most 2048
    /// characters, `https` — or `http` to a loopback host (`127.0.0.1`, `[::1]`,
    /// `localhost`), which only an approval in development mode accepts (see
    /// [`ApprovePartner::production`](super::ApprovePartner::production)). Kept exactly as
    /// given: OAuth compares redirect URIs as strings.
    RedirectUri
}

impl RedirectUri {
    /// Parses a redirect URI.
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        let url = WebUrl::parse("redirect_uri", input)?;
        url.require_https_or_loopback("redirect_uri")?;
        Ok(Self(input.to_owned()))
    }

    /// Whether this is a plain-`http` loopback URI, acceptable in development mode only.
    pub fn is_loopback_http(&self) -> bool {
        self.0.starts_with("http:")
    }
}

string_value! {
    /// A webhook endpoint: absolute, no fragment, no user information, at most 2048
    /// characters, `https` — or `http` to a loopback host, which only a registration outside
    /// production accepts (see [`RegisterWebhook::production`](super::RegisterWebhook::production)).
    WebhookUrl
}

impl WebhookUrl {
    /// Parses a webhook URL.
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        let url = WebUrl::parse("webhook_url", input)?;
        url.require_https_or_loopback("webhook_url")?;
        Ok(Self(input.to_owned()))
    }

    /// Whether the URL uses `https`.
    pub fn is_https(&self) -> bool {
        self.0.starts_with("https:")
    }
}

string_value! {
    /// Which event types a webhook receives: an exact type name (`ConsentRevoked`) or a
    /// prefix ending in `*` (`Consent*`). 1 to 100 characters of ASCII letters, digits and
    /// `_` `.` `:` `-`, plus the optional final `*`.
    EventTypeFilter
}

impl EventTypeFilter {
    /// Parses an event type filter.
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        const FIELD: &str = "event_types";
        let name = input.strip_suffix('*').unwrap_or(input);
        if input.is_empty() || input.len() > 100 {
            return Err(ValidationError::new(FIELD, "must be 1 to 100 characters"));
        }
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '-');
        if !name.chars().all(allowed) {
            return Err(ValidationError::new(
                FIELD,
                "may contain only letters, digits, _ . : - and a final *",
            ));
        }
        Ok(Self(input.to_owned()))
    }

    /// Whether an event of type `event_type` passes this filter.
    pub fn matches(&self, event_type: &str) -> bool {
        match self.0.strip_suffix('*') {
            Some(prefix) => event_type.starts_with(prefix),
            None => event_type == self.0,
        }
    }
}
