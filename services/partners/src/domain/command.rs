//! What callers ask of a partner, in the imperative. Every input is already a parsed value;
//! `decide` checks only the rules that span fields or depend on the partner's state.

use std::collections::BTreeSet;

use super::role::Role;
use super::values::{
    Contact, CountryCode, EventTypeFilter, EvidenceReference, LegalName, Note, Reason, RedirectUri,
    RegistrationNumber, StaffId, WebhookUrl, Website,
};
use super::verification::{CheckKind, CheckResult};
use super::{PartnerId, WebhookId};

/// A command for the [`Partner`](super::Partner) aggregate.
#[derive(Debug, Clone, PartialEq)]
pub enum PartnerCommand {
    /// See [`ApplyForPartnership`].
    ApplyForPartnership(ApplyForPartnership),
    /// See [`RecordVerification`].
    RecordVerification(RecordVerification),
    /// See [`ApprovePartner`].
    ApprovePartner(ApprovePartner),
    /// See [`RejectPartner`].
    RejectPartner(RejectPartner),
    /// See [`SuspendPartner`].
    SuspendPartner(SuspendPartner),
    /// See [`ReinstatePartner`].
    ReinstatePartner(ReinstatePartner),
    /// See [`OffboardPartner`].
    OffboardPartner(OffboardPartner),
    /// See [`RegisterWebhook`].
    RegisterWebhook(RegisterWebhook),
    /// See [`RemoveWebhook`].
    RemoveWebhook(RemoveWebhook),
}

/// A company applies to join the ecosystem. The caller generates the partner id (it names
/// the stream), so a retried request cannot create a second partner.
#[derive(Debug, Clone, PartialEq)]
pub struct ApplyForPartnership {
    /// The new partner's id.
    pub partner_id: PartnerId,
    /// Registered legal name.
    pub legal_name: LegalName,
    /// Number in the national company registry.
    pub registration_number: RegistrationNumber,
    /// Country of registration.
    pub country: CountryCode,
    /// Public website.
    pub website: Website,
    /// People to contact: 1 to 10.
    pub contacts: Vec<Contact>,
    /// Roles asked for: at least one.
    pub requested_roles: BTreeSet<Role>,
}

/// Bank staff record one piece of verification evidence. Allowed until the partner is
/// rejected or offboarded (ongoing due diligence continues after approval). The first record
/// moves an `applied` partner to `under_review`.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordVerification {
    /// What was checked.
    pub check: CheckKind,
    /// With what outcome.
    pub result: CheckResult,
    /// Where the evidence is kept.
    pub evidence: EvidenceReference,
    /// Who records it.
    pub by: StaffId,
}

/// Bank staff approve an application (the checker of maker-checker).
#[derive(Debug, Clone, PartialEq)]
pub struct ApprovePartner {
    /// The approver; must not have recorded any verification evidence for this partner.
    pub by: StaffId,
    /// Roles granted, a non-empty subset of those requested; `None` grants all requested.
    pub roles: Option<BTreeSet<Role>>,
    /// Redirect URIs the partner's OAuth clients may register (0 to 20, no duplicates).
    pub redirect_uris: Vec<RedirectUri>,
    /// Optional remark for the record.
    pub note: Option<Note>,
    /// The hub's deployment mode, set by the application layer from configuration, never from
    /// the request: in production every redirect URI must use `https`; otherwise `http` to a
    /// loopback host is accepted too.
    pub production: bool,
}

/// Bank staff reject an application that is not yet decided.
#[derive(Debug, Clone, PartialEq)]
pub struct RejectPartner {
    /// Who rejects.
    pub by: StaffId,
    /// Why; shown to the partner.
    pub reason: Reason,
}

/// Bank staff suspend an approved partner: its tokens and registrations stop working.
#[derive(Debug, Clone, PartialEq)]
pub struct SuspendPartner {
    /// Who suspends.
    pub by: StaffId,
    /// Why; shown to the partner.
    pub reason: Reason,
}

/// Bank staff lift a suspension.
#[derive(Debug, Clone, PartialEq)]
pub struct ReinstatePartner {
    /// Who reinstates.
    pub by: StaffId,
    /// Why; shown to the partner.
    pub reason: Reason,
}

/// Bank staff end the partnership for good (from approved or suspended).
#[derive(Debug, Clone, PartialEq)]
pub struct OffboardPartner {
    /// Who offboards.
    pub by: StaffId,
    /// Why; shown to the partner.
    pub reason: Reason,
}

/// An approved partner registers a webhook endpoint. The caller generates the webhook id.
#[derive(Debug, Clone, PartialEq)]
pub struct RegisterWebhook {
    /// The new webhook's id.
    pub webhook_id: WebhookId,
    /// Where notifications are delivered; unique among the partner's active webhooks.
    pub url: WebhookUrl,
    /// Which event types to deliver (0 to 50; none means every type).
    pub event_types: BTreeSet<EventTypeFilter>,
    /// The hub's deployment mode, set by the application layer from configuration: in
    /// production the URL must use `https`; otherwise `http` to a loopback host is accepted.
    pub production: bool,
}

/// A partner (or staff) removes one of the partner's webhooks. Allowed while approved or
/// suspended.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoveWebhook {
    /// The webhook to remove.
    pub webhook_id: WebhookId,
}

macro_rules! into_command {
    ($($name:ident),* $(,)?) => {
        $(
            impl From<$name> for PartnerCommand {
                fn from(command: $name) -> Self {
                    PartnerCommand::$name(command)
                }
            }
        )*
    };
}

into_command!(
    ApplyForPartnership,
    RecordVerification,
    ApprovePartner,
    RejectPartner,
    SuspendPartner,
    ReinstatePartner,
    OffboardPartner,
    RegisterWebhook,
    RemoveWebhook,
);
