//! The pure consent domain: the permission catalogue and its rules, parse-don't-validate
//! inputs, the `Consent` aggregate (decide/evolve), its events and refusals. No IO, no clock:
//! time is passed in.

mod consent;
mod event;
mod permission;
mod values;

pub use consent::{
    Consent, ConsentCommand, ConsentData, ConsentError, ConsentStatus, StatusChange,
};
pub use event::ConsentEvent;
pub use permission::{Permission, Permissions, rules};
pub use values::{
    CustomerId, DataProvider, DataProviders, Expiry, GrantToBank, Invalid, PERSONALISED_OFFERS,
    PairwiseId, Purpose, ReasonCode, Recipient, RequestConsent, RevokedBy, TransactionWindow,
    twelve_months_after,
};

ecohub_kernel::define_id!(
    /// A consent's id; its stream is `consent-<uuidv7>`.
    ConsentId,
    "consent"
);

/// A partner's id: the kernel's, shared with the services that name partners.
pub use ecohub_kernel::PartnerId;
