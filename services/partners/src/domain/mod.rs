//! The partner aggregate: commands, events, decide/evolve.
//!
//! Pure: no IO, no clock (time arrives as `now`), no configuration (the deployment mode
//! arrives on the commands that need it). The application layer parses request fields into
//! the value types of this module, builds a [`PartnerCommand`], loads the [`Partner`] from
//! its `partner-<id>` stream, calls `decide`, and appends the events with the revision it
//! read.
//!
//! Lifecycle: `applied` → `under_review` (first verification record) → `approved` |
//! `rejected`; `approved` ⇄ `suspended`; `approved` | `suspended` → `offboarded`. Approval
//! needs a passed registry check and a passed sanctions screening (the latest conclusive
//! result of each, see [`CheckKind::REQUIRED`]) and an approver who recorded no evidence for
//! the partner (maker-checker). Roles map to OAuth scopes as tabled on [`Scope`].

mod command;
mod country;
mod event;
mod partner;
mod role;
mod values;
mod verification;
mod weburl;

pub use command::{
    ApplyForPartnership, ApprovePartner, OffboardPartner, PartnerCommand, RecordVerification,
    RegisterWebhook, ReinstatePartner, RejectPartner, RemoveWebhook, SuspendPartner,
};
pub(crate) use country::ASSIGNED as ASSIGNED_COUNTRIES;
pub use event::PartnerEvent;
pub use partner::{
    Application, MAX_ACTIVE_WEBHOOKS, MAX_CONTACTS, MAX_EVENT_TYPE_FILTERS, MAX_REDIRECT_URIS,
    Partner, PartnerError, PartnerStatus, StatusChange, Webhook,
};
pub use role::{Role, Scope};
pub use values::{
    Contact, ContactEmail, ContactName, ContactRole, CountryCode, EventTypeFilter,
    EvidenceReference, LegalName, Note, Reason, RedirectUri, RegistrationNumber, StaffId,
    ValidationError, WebhookUrl, Website,
};
pub use verification::{CheckKind, CheckResult, VerificationRecord};
pub(crate) use verification::{Shortfall, shortfall};

/// A partner's id: the kernel's, shared with the services that name partners.
pub use ecohub_kernel::PartnerId;
ecohub_kernel::define_id!(
    /// Identifies one of a partner's webhook endpoints.
    WebhookId,
    "webhook"
);
