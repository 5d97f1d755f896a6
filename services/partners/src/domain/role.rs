//! Partner roles and the OAuth scope vocabulary they map to.
//!
//! | scope | who gets it | allows |
//! |---|---|---|
//! | `partner:read` | every approved partner | reading its own application and status |
//! | `webhooks:manage` | every approved partner | registering and removing its webhooks |
//! | `consents:write` | `data_recipient` | creating consents for customers to authorise |
//! | `consents:read` | `data_recipient`, `data_provider` | reading consents that name the partner |
//! | `data:read` | `data_recipient` | reading customer data within a consent |
//! | `data:publish` | `data_provider` | publishing customer data within a consent |
//! | `offers:read` | `offer_partner` | reading propositions it co-brands |
//! | `offers:write` | `offer_partner` | accepting co-branding, publishing its benefits |
//! | `admin` | bank staff only | staff administration (never a partner scope) |
//! | `audit` | compliance officers only | audit queries and exports (never a partner scope) |

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

/// What a partner does in the ecosystem. The serialised names are part of the stored event
/// schema and of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Reads customer data under consent (an account information service provider).
    DataRecipient,
    /// Publishes customer data under consent (e.g. a travel or insurance platform).
    DataProvider,
    /// Co-brands bundled propositions with the bank.
    OfferPartner,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 3] = [Role::DataRecipient, Role::DataProvider, Role::OfferPartner];

    /// The stable name (`data_recipient`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::DataRecipient => "data_recipient",
            Role::DataProvider => "data_provider",
            Role::OfferPartner => "offer_partner",
        }
    }

    /// Parses a stable name.
    pub fn parse(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == name)
    }

    /// The scopes this role adds to [`Scope::PARTNER_BASE`].
    pub const fn allowed_scopes(self) -> &'static [Scope] {
        match self {
            Role::DataRecipient => &[Scope::ConsentsWrite, Scope::ConsentsRead, Scope::DataRead],
            Role::DataProvider => &[Scope::ConsentsRead, Scope::DataPublish],
            Role::OfferPartner => &[Scope::OffersRead, Scope::OffersWrite],
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An OAuth scope of the hub (see the table in this module's documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Scope {
    /// `partner:read`
    #[serde(rename = "partner:read")]
    PartnerRead,
    /// `webhooks:manage`
    #[serde(rename = "webhooks:manage")]
    WebhooksManage,
    /// `consents:write`
    #[serde(rename = "consents:write")]
    ConsentsWrite,
    /// `consents:read`
    #[serde(rename = "consents:read")]
    ConsentsRead,
    /// `data:read`
    #[serde(rename = "data:read")]
    DataRead,
    /// `data:publish`
    #[serde(rename = "data:publish")]
    DataPublish,
    /// `offers:read`
    #[serde(rename = "offers:read")]
    OffersRead,
    /// `offers:write`
    #[serde(rename = "offers:write")]
    OffersWrite,
    /// `admin` — bank staff only.
    #[serde(rename = "admin")]
    Admin,
    /// `audit` — compliance officers only.
    #[serde(rename = "audit")]
    Audit,
}

impl Scope {
    /// Every scope.
    pub const ALL: [Scope; 10] = [
        Scope::PartnerRead,
        Scope::WebhooksManage,
        Scope::ConsentsWrite,
        Scope::ConsentsRead,
        Scope::DataRead,
        Scope::DataPublish,
        Scope::OffersRead,
        Scope::OffersWrite,
        Scope::Admin,
        Scope::Audit,
    ];

    /// What every approved partner gets, whatever its roles.
    pub const PARTNER_BASE: [Scope; 2] = [Scope::PartnerRead, Scope::WebhooksManage];

    /// The scope string (`consents:write`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Scope::PartnerRead => "partner:read",
            Scope::WebhooksManage => "webhooks:manage",
            Scope::ConsentsWrite => "consents:write",
            Scope::ConsentsRead => "consents:read",
            Scope::DataRead => "data:read",
            Scope::DataPublish => "data:publish",
            Scope::OffersRead => "offers:read",
            Scope::OffersWrite => "offers:write",
            Scope::Admin => "admin",
            Scope::Audit => "audit",
        }
    }

    /// Parses a scope string.
    pub fn parse(s: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|scope| scope.as_str() == s)
    }

    /// Whether this scope belongs to bank staff and can never be granted to a partner.
    pub const fn is_staff_only(self) -> bool {
        matches!(self, Scope::Admin | Scope::Audit)
    }

    /// The scopes a partner holding `roles` may be granted: [`Scope::PARTNER_BASE`] plus each
    /// role's [`Role::allowed_scopes`].
    pub fn for_roles<'a>(roles: impl IntoIterator<Item = &'a Role>) -> BTreeSet<Scope> {
        let mut scopes: BTreeSet<Scope> = Scope::PARTNER_BASE.into_iter().collect();
        for role in roles {
            scopes.extend(role.allowed_scopes());
        }
        scopes
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
