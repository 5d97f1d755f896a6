//! The permission catalogue (OBIE Account and Transaction API permissions, plus the
//! partner-data clusters of the ecosystem) and the combination rules a consent's
//! permission list must keep.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::values::Invalid;

/// A permission a partner may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Permission {
    /// `ReadAccountsBasic`.
    ReadAccountsBasic,
    /// `ReadAccountsDetail`.
    ReadAccountsDetail,
    /// `ReadBalances`.
    ReadBalances,
    /// `ReadTransactionsBasic`.
    ReadTransactionsBasic,
    /// `ReadTransactionsDetail`.
    ReadTransactionsDetail,
    /// `ReadTransactionsCredits`.
    ReadTransactionsCredits,
    /// `ReadTransactionsDebits`.
    ReadTransactionsDebits,
    /// `ReadParty`.
    ReadParty,
    /// `ReadOffers`.
    ReadOffers,
    /// `ReadTravelProfile` (partner data cluster).
    ReadTravelProfile,
    /// `ReadActivity` (partner data cluster).
    ReadActivity,
}

impl Permission {
    /// Every permission, in catalogue order.
    pub const ALL: [Permission; 11] = [
        Permission::ReadAccountsBasic,
        Permission::ReadAccountsDetail,
        Permission::ReadBalances,
        Permission::ReadTransactionsBasic,
        Permission::ReadTransactionsDetail,
        Permission::ReadTransactionsCredits,
        Permission::ReadTransactionsDebits,
        Permission::ReadParty,
        Permission::ReadOffers,
        Permission::ReadTravelProfile,
        Permission::ReadActivity,
    ];

    /// The partner-data cluster: what partners hold about the customer, which a customer may
    /// let the bank use for personalised offers (ADR 0021).
    pub const PARTNER_DATA: [Permission; 2] =
        [Permission::ReadTravelProfile, Permission::ReadActivity];

    /// The stable code (`ReadAccountsBasic`).
    pub const fn code(self) -> &'static str {
        match self {
            Permission::ReadAccountsBasic => "ReadAccountsBasic",
            Permission::ReadAccountsDetail => "ReadAccountsDetail",
            Permission::ReadBalances => "ReadBalances",
            Permission::ReadTransactionsBasic => "ReadTransactionsBasic",
            Permission::ReadTransactionsDetail => "ReadTransactionsDetail",
            Permission::ReadTransactionsCredits => "ReadTransactionsCredits",
            Permission::ReadTransactionsDebits => "ReadTransactionsDebits",
            Permission::ReadParty => "ReadParty",
            Permission::ReadOffers => "ReadOffers",
            Permission::ReadTravelProfile => "ReadTravelProfile",
            Permission::ReadActivity => "ReadActivity",
        }
    }

    /// What the permission lets the partner see, in words a customer understands.
    pub const fn description(self) -> &'static str {
        match self {
            Permission::ReadAccountsBasic => {
                "The list of your accounts and their type and currency"
            }
            Permission::ReadAccountsDetail => {
                "Your account names, numbers and sort codes, as well as the list of your accounts"
            }
            Permission::ReadBalances => "How much money is in your accounts",
            Permission::ReadTransactionsBasic => {
                "Your payments in and out: amounts, dates and status, without payee details"
            }
            Permission::ReadTransactionsDetail => {
                "Your payments in and out in full, including who paid you and whom you paid"
            }
            Permission::ReadTransactionsCredits => "The money paid into your accounts",
            Permission::ReadTransactionsDebits => "The money paid out of your accounts",
            Permission::ReadParty => "Your name, address and contact details held by the bank",
            Permission::ReadOffers => "Offers the bank has made to you, such as overdraft limits",
            Permission::ReadTravelProfile => {
                "Your travel preferences and bookings held by partners of the bank"
            }
            Permission::ReadActivity => {
                "Your activity with partners of the bank, such as visits and purchases"
            }
        }
    }

    /// Parses a permission code.
    pub fn parse(code: &str) -> Option<Permission> {
        Permission::ALL.into_iter().find(|p| p.code() == code)
    }

    fn is_transactions_level(self) -> bool {
        matches!(
            self,
            Permission::ReadTransactionsBasic | Permission::ReadTransactionsDetail
        )
    }

    fn is_transactions_direction(self) -> bool {
        matches!(
            self,
            Permission::ReadTransactionsCredits | Permission::ReadTransactionsDebits
        )
    }
}

impl std::fmt::Display for Permission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// The rules a permission list must keep, each with a stable name reported in errors.
pub mod rules {
    /// The list is empty.
    pub const EMPTY: &str = "permissions_not_empty";
    /// A permission appears twice.
    pub const DUPLICATE: &str = "permissions_no_duplicates";
    /// A code is not in the catalogue.
    pub const UNKNOWN: &str = "permission_known";
    /// `ReadTransactionsBasic`/`Detail` need `ReadTransactionsCredits` and/or `Debits`.
    pub const TRANSACTIONS_NEED_DIRECTION: &str = "transactions_need_credits_or_debits";
    /// `ReadTransactionsCredits`/`Debits` need `ReadTransactionsBasic` or `Detail`.
    pub const DIRECTION_NEEDS_TRANSACTIONS: &str = "credits_or_debits_need_transactions";
}

/// A valid, non-empty set of permissions (parse, don't validate).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Permissions(BTreeSet<Permission>);

impl Permissions {
    /// Parses permission codes, applying the catalogue's combination rules.
    pub fn parse<S: AsRef<str>>(codes: &[S]) -> Result<Permissions, Invalid> {
        const FIELD: &str = "permissions";
        if codes.is_empty() {
            return Err(Invalid::new(
                FIELD,
                rules::EMPTY,
                "at least one permission is required",
            ));
        }
        let mut set = BTreeSet::new();
        for code in codes {
            let code = code.as_ref();
            let p = Permission::parse(code).ok_or_else(|| {
                Invalid::new(
                    FIELD,
                    rules::UNKNOWN,
                    format!("{} is not a known permission", printable(code)),
                )
            })?;
            if !set.insert(p) {
                return Err(Invalid::new(
                    FIELD,
                    rules::DUPLICATE,
                    format!("{p} is listed more than once"),
                ));
            }
        }
        Self::from_set(set)
    }

    /// Checks the combination rules on a set.
    pub fn from_set(set: BTreeSet<Permission>) -> Result<Permissions, Invalid> {
        const FIELD: &str = "permissions";
        if set.is_empty() {
            return Err(Invalid::new(
                FIELD,
                rules::EMPTY,
                "at least one permission is required",
            ));
        }
        let level = set.iter().any(|p| p.is_transactions_level());
        let direction = set.iter().any(|p| p.is_transactions_direction());
        if level && !direction {
            return Err(Invalid::new(
                FIELD,
                rules::TRANSACTIONS_NEED_DIRECTION,
                "ReadTransactionsBasic or ReadTransactionsDetail needs ReadTransactionsCredits and/or ReadTransactionsDebits",
            ));
        }
        if direction && !level {
            return Err(Invalid::new(
                FIELD,
                rules::DIRECTION_NEEDS_TRANSACTIONS,
                "ReadTransactionsCredits or ReadTransactionsDebits needs ReadTransactionsBasic or ReadTransactionsDetail",
            ));
        }
        Ok(Permissions(set))
    }

    /// The permissions, in catalogue order.
    pub fn iter(&self) -> impl Iterator<Item = Permission> + '_ {
        self.0.iter().copied()
    }

    /// Whether `p` is granted.
    pub fn contains(&self, p: Permission) -> bool {
        self.0.contains(&p)
    }

    /// Whether any transaction permission is included.
    pub fn has_transactions(&self) -> bool {
        self.0.iter().any(|p| p.is_transactions_level())
    }
}

/// A user-supplied string, shortened and stripped of control characters, for messages.
pub(crate) fn printable(s: &str) -> String {
    let cleaned: String = s.chars().filter(|c| !c.is_control()).take(64).collect();
    format!("{cleaned:?}")
}
