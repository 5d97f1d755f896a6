//! Customer consents: the legal record of what a customer allowed a partner to read.
//!
//! * [`domain`] — the pure `Consent` aggregate, the permission catalogue and its rules.
//! * [`config`] — [`ConsentsConfig`]: the service's settings, their defaults and validation
//!   (the hub's `[consents]` section).
//! * [`chain`] — tamper evidence: every event's hash chain, [`verify_stream`], [`verify_all`].
//! * [`application`] — [`ConsentsState`] use cases (load → decide → seal → append with the
//!   revision read), including the operations behind the authorization server's port.
//! * [`grants`] — [`ConsentsState::grant`]: what a consent grants at a time, for data
//!   sharing, remembered exactly per `consent-` category head in a bounded cache.
//! * [`index`] — [`ConsentIndex`], the read model of lists, dashboard, audit and schedulers.
//! * [`jobs`] — the expiry scheduler and the partner-offboarding cascade.
//! * [`ports`] — partner look-ups and receipt signing, implemented by the hub.
//! * [`receipt`] — Kantara Consent Receipt v1.1 claims.
//! * [`http`] — [`configure`] mounts the routes; [`ConsentsApi`] documents them.

pub mod application;
pub mod chain;
pub mod config;
pub mod domain;
pub mod grants;
pub mod http;
pub mod index;
pub mod jobs;
pub mod ports;
pub mod receipt;

pub use application::{
    AppError, BankConsentInput, BankGrant, ConsentInput, ConsentsPorts, ConsentsState, ErrorKind,
};
pub use chain::{ChainBreak, VerifyReport, verify_all, verify_stream};
pub use config::{ConsentsConfig, ConsentsSection};
pub use ecohub_kernel::ActionContext;
pub use ecohub_kernel::consent_port::{
    ConsentForAuthorisation, ConsentPortError, ConsentStanding, CustomerRef, PermissionView,
};
pub use grants::{ConsentGrant, GrantCache};
pub use http::{ConsentsApi, configure};
pub use index::{ConsentFilter, ConsentIndex, ConsentIndexReader, ConsentSummary};
pub use jobs::{ExpiryRun, OffboardingCascade, run_expiry, spawn_expiry_scheduler};
pub use ports::{DataUse, DataUseLog, PartnerInfo, PartnerLookup, ReceiptSigner};
