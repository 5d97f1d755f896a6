//! Parse-don't-validate input types of a consent.

use std::collections::BTreeSet;

use ecohub_kernel::Timestamp;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::permission::printable;
use super::{ConsentId, PartnerId, Permissions};

/// An input that breaks a rule: the field, the rule's stable name and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} breaks rule {rule}: {message}")]
pub struct Invalid {
    /// The offending field (`permissions`, `expiration`, …).
    pub field: &'static str,
    /// The rule's stable name (`transactions_need_credits_or_debits`).
    pub rule: &'static str,
    /// What is wrong, in lowercase.
    pub message: String,
}

impl Invalid {
    /// A broken rule.
    pub fn new(field: &'static str, rule: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            rule,
            message: message.into(),
        }
    }
}

fn text(field: &'static str, rule: &'static str, s: &str, max: usize) -> Result<String, Invalid> {
    let t = s.trim();
    if t.is_empty() {
        return Err(Invalid::new(field, rule, "must not be empty"));
    }
    if t.chars().count() > max {
        return Err(Invalid::new(
            field,
            rule,
            format!("must be at most {max} characters"),
        ));
    }
    if t.chars().any(char::is_control) {
        return Err(Invalid::new(
            field,
            rule,
            "must not contain control characters",
        ));
    }
    Ok(t.to_owned())
}

/// Why the customer's data is wanted: a code and the partner's explanation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Purpose {
    code: String,
    text: String,
}

impl Purpose {
    /// A purpose code (`[a-z0-9-]`, 1 to 64) and a text (1 to 500 characters).
    pub fn parse(code: &str, text_: &str) -> Result<Purpose, Invalid> {
        let ok = !code.is_empty()
            && code.len() <= 64
            && code
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if !ok {
            return Err(Invalid::new(
                "purpose.code",
                "purpose_code_format",
                "must be 1 to 64 lowercase letters, digits, '-' or '_'",
            ));
        }
        Ok(Purpose {
            code: code.to_owned(),
            text: text("purpose.text", "purpose_text_format", text_, 500)?,
        })
    }

    /// The code.
    pub fn code(&self) -> &str {
        &self.code
    }

    /// The explanation.
    pub fn text(&self) -> &str {
        &self.text
    }
}

/// The instant twelve calendar months after `now` (29 February maps to 28 February).
pub fn twelve_months_after(now: Timestamp) -> Timestamp {
    let t = OffsetDateTime::from(now);
    let year = t.year() + 1;
    let shifted = t
        .replace_year(year)
        .or_else(|_| t.replace_day(28).and_then(|d| d.replace_year(year)))
        .unwrap_or(t);
    Timestamp::from(shifted)
}

/// When a consent expires: in the future and at most twelve months after its creation.
/// Never altered by the hub.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Expiry(Timestamp);

impl Expiry {
    /// Parses an expiry requested at `now`.
    pub fn parse(at: Timestamp, now: Timestamp) -> Result<Expiry, Invalid> {
        if at <= now {
            return Err(Invalid::new(
                "expiration",
                "expiration_in_future",
                "must be in the future",
            ));
        }
        if at > twelve_months_after(now) {
            return Err(Invalid::new(
                "expiration",
                "expiration_within_12_months",
                "must be at most 12 months from now",
            ));
        }
        Ok(Expiry(at))
    }

    /// The instant.
    pub fn at(&self) -> Timestamp {
        self.0
    }
}

/// The window of transactions the partner may read (`from` < `to` when both are given).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TransactionWindow {
    /// First instant (inclusive).
    pub from: Option<Timestamp>,
    /// Last instant (inclusive).
    pub to: Option<Timestamp>,
}

impl TransactionWindow {
    /// Parses a window.
    pub fn parse(from: Option<Timestamp>, to: Option<Timestamp>) -> Result<Self, Invalid> {
        if let (Some(f), Some(t)) = (from, to)
            && f >= t
        {
            return Err(Invalid::new(
                "transaction_window",
                "transaction_window_ordered",
                "transaction_from must be before transaction_to",
            ));
        }
        Ok(Self { from, to })
    }
}

/// A data provider a consent concerns: the bank itself or a partner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DataProvider {
    /// The bank.
    Bank,
    /// A partner with the `data_provider` role.
    Partner(PartnerId),
}

impl DataProvider {
    /// Parses `bank` or a partner id.
    pub fn parse(s: &str) -> Result<DataProvider, Invalid> {
        if s == "bank" {
            return Ok(DataProvider::Bank);
        }
        PartnerId::parse(s).map(DataProvider::Partner).map_err(|_| {
            Invalid::new(
                "data_providers",
                "data_provider_format",
                format!("{} is neither bank nor a partner id", printable(s)),
            )
        })
    }
}

impl std::fmt::Display for DataProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DataProvider::Bank => f.write_str("bank"),
            DataProvider::Partner(id) => id.fmt(f),
        }
    }
}

impl Serialize for DataProvider {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for DataProvider {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        DataProvider::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// The data providers a consent concerns: at least one, no duplicates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DataProviders(BTreeSet<DataProvider>);

impl DataProviders {
    /// Parses a non-empty list without duplicates.
    pub fn parse<S: AsRef<str>>(ids: &[S]) -> Result<DataProviders, Invalid> {
        if ids.is_empty() {
            return Err(Invalid::new(
                "data_providers",
                "data_providers_not_empty",
                "at least one data provider is required",
            ));
        }
        let mut set = BTreeSet::new();
        for id in ids {
            let p = DataProvider::parse(id.as_ref())?;
            if !set.insert(p) {
                return Err(Invalid::new(
                    "data_providers",
                    "data_providers_no_duplicates",
                    format!("{p} is listed more than once"),
                ));
            }
        }
        Ok(DataProviders(set))
    }

    /// The providers.
    pub fn iter(&self) -> impl Iterator<Item = DataProvider> + '_ {
        self.0.iter().copied()
    }

    /// The partners among the providers.
    pub fn partners(&self) -> impl Iterator<Item = PartnerId> + '_ {
        self.0.iter().filter_map(|p| match p {
            DataProvider::Partner(id) => Some(*id),
            DataProvider::Bank => None,
        })
    }
}

fn opaque(field: &'static str, rule: &'static str, s: &str) -> Result<String, Invalid> {
    let ok = !s.is_empty() && s.len() <= 128 && s.bytes().all(|b| b.is_ascii_graphic());
    if ok {
        Ok(s.to_owned())
    } else {
        Err(Invalid::new(
            field,
            rule,
            "must be 1 to 128 visible ASCII characters",
        ))
    }
}

/// The hub's internal id of a customer.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CustomerId(String);

impl CustomerId {
    /// Parses an opaque customer id.
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        opaque("customer_id", "customer_id_format", s).map(Self)
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The customer's pairwise identifier for the consent's partner.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PairwiseId(String);

impl PairwiseId {
    /// Parses an opaque pairwise id.
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        opaque("pairwise_id", "pairwise_id_format", s).map(Self)
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A machine-readable reason of a status change (`customer_request`): lowercase letters,
/// digits and `_`, 1 to 64.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ReasonCode(String);

impl ReasonCode {
    /// The partner requested the consent (creation).
    pub const CONSENT_REQUESTED: &'static str = "consent_requested";
    /// The customer approved at the consent page.
    pub const CUSTOMER_AUTHORISED: &'static str = "customer_authorised";
    /// The customer asked (dashboard or API).
    pub const CUSTOMER_REQUEST: &'static str = "customer_request";
    /// The partner asked (DELETE of an authorised consent).
    pub const PARTNER_REQUEST: &'static str = "partner_request";
    /// The partner withdrew a consent awaiting authorisation.
    pub const PARTNER_WITHDRAWN: &'static str = "partner_withdrawn";
    /// The partner left the ecosystem.
    pub const PARTNER_OFFBOARDED: &'static str = "partner_offboarded";
    /// The customer refused at the consent page.
    pub const CUSTOMER_REJECTED: &'static str = "customer_rejected";
    /// The expiry passed.
    pub const EXPIRED: &'static str = "expired";
    /// Nobody authorised it in time.
    pub const AUTHORISATION_TIMEOUT: &'static str = "authorisation_timeout";

    /// Parses a reason code.
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        let ok = !s.is_empty()
            && s.len() <= 64
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(Invalid::new(
                "reason",
                "reason_code_format",
                "must be 1 to 64 lowercase letters, digits or '_'",
            ))
        }
    }

    /// One of the built-in codes.
    pub fn known(code: &'static str) -> Self {
        Self(code.to_owned())
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ReasonCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// How a revocation was requested.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RevokedBy {
    /// The customer (dashboard, API).
    Customer,
    /// The partner (DELETE).
    Partner,
    /// Cascaded by the partner's offboarding.
    PartnerOffboarded,
}

impl RevokedBy {
    /// The stable name (`customer`, `partner`, `partner_offboarded`).
    pub const fn as_str(self) -> &'static str {
        match self {
            RevokedBy::Customer => "customer",
            RevokedBy::Partner => "partner",
            RevokedBy::PartnerOffboarded => "partner_offboarded",
        }
    }
}

/// Who receives the data a consent lets flow: a partner (a data recipient, through its OAuth
/// clients) or the bank itself (ADR 0021: partners' data used to personalise offers). The bank
/// is not a partner: it has no clients, no standing and no pairwise ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Recipient {
    /// A partner with the `data_recipient` role.
    Partner(PartnerId),
    /// The bank.
    Bank,
}

impl Recipient {
    /// The partner, if the recipient is one.
    pub fn partner(self) -> Option<PartnerId> {
        match self {
            Recipient::Partner(p) => Some(p),
            Recipient::Bank => None,
        }
    }

    /// The stable kind name (`partner`, `bank`).
    pub const fn kind(self) -> &'static str {
        match self {
            Recipient::Partner(_) => "partner",
            Recipient::Bank => "bank",
        }
    }
}

/// The purpose code of a consent that lets the bank personalise offers with partners' data.
pub const PERSONALISED_OFFERS: &str = "personalised_offers";

/// A customer's grant to the bank, parsed at `now` (ADR 0021): the customer is both the one
/// asking and the one authorising, so the consent is requested and authorised at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantToBank {
    /// The new consent's id.
    pub consent_id: ConsentId,
    /// The customer granting it.
    pub customer_id: CustomerId,
    /// What the bank may read.
    pub permissions: Permissions,
    /// Why (code `personalised_offers`).
    pub purpose: Purpose,
    /// Until when.
    pub expiry: Expiry,
    /// From which partners (never `bank`: the bank needs no consent for its own data).
    pub data_providers: DataProviders,
}

/// A validated request for a consent: what the partner submitted, parsed at `now`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestConsent {
    /// The new consent's id.
    pub consent_id: ConsentId,
    /// The partner (data recipient) asking.
    pub partner_id: PartnerId,
    /// What it may read.
    pub permissions: Permissions,
    /// Why.
    pub purpose: Purpose,
    /// Until when.
    pub expiry: Expiry,
    /// Which transactions.
    pub transaction_window: TransactionWindow,
    /// From whom.
    pub data_providers: DataProviders,
    /// By when the customer must authorise it (the configured authorisation timeout after
    /// creation).
    pub authorisation_deadline: Timestamp,
}
