//! A partner's standing as the authorization server needs it, folded from the partner
//! stream's public event type names (the partners service's stable contract) — never from a
//! projection, and without depending on the partners crate.

/// The partner event types that change its standing.
pub const PARTNER_STATUS_EVENTS: [&str; 6] = [
    "PartnerApplied",
    "PartnerApproved",
    "PartnerReinstated",
    "PartnerSuspended",
    "PartnerOffboarded",
    "PartnerRejected",
];

/// Where a partner stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PartnerStanding {
    /// The stream holds no status event (no such partner).
    #[default]
    Unknown,
    /// Applied, not decided yet.
    Applied,
    /// Approved (or reinstated): its clients may work.
    Active,
    /// Suspended.
    Suspended,
    /// Offboarded.
    Offboarded,
    /// Its application was rejected.
    Rejected,
}

impl PartnerStanding {
    /// Applies one event, by its public type name; other types leave the standing unchanged.
    pub fn evolve(self, event_type: &str) -> Self {
        match event_type {
            "PartnerApplied" if self == PartnerStanding::Unknown => PartnerStanding::Applied,
            "PartnerApproved" | "PartnerReinstated" => PartnerStanding::Active,
            "PartnerSuspended" => PartnerStanding::Suspended,
            "PartnerOffboarded" => PartnerStanding::Offboarded,
            "PartnerRejected" => PartnerStanding::Rejected,
            _ => self,
        }
    }

    /// Folds a stream's event type names, oldest first.
    pub fn fold<'a>(event_types: impl IntoIterator<Item = &'a str>) -> Self {
        event_types
            .into_iter()
            .fold(PartnerStanding::Unknown, PartnerStanding::evolve)
    }

    /// Whether the partner's clients may register and obtain and use tokens.
    pub fn is_active(self) -> bool {
        self == PartnerStanding::Active
    }
}
