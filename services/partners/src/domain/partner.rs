//! The `Partner` aggregate: its state, its refusals, and `decide` / `evolve`.

use std::collections::BTreeSet;
use std::fmt;

use ecohub_kernel::{Aggregate, Timestamp};
use serde::{Deserialize, Serialize};

use super::command::{
    ApplyForPartnership, ApprovePartner, OffboardPartner, PartnerCommand, RecordVerification,
    RegisterWebhook, ReinstatePartner, RejectPartner, RemoveWebhook, SuspendPartner,
};
use super::event::PartnerEvent;
use super::role::{Role, Scope};
use super::values::{
    Contact, CountryCode, EventTypeFilter, LegalName, Note, Reason, RedirectUri,
    RegistrationNumber, StaffId, ValidationError, WebhookUrl, Website,
};
use super::verification::{self, CheckKind, Shortfall, VerificationRecord};
use super::{PartnerId, WebhookId};

/// Most contacts an application may list.
pub const MAX_CONTACTS: usize = 10;
/// Most redirect URIs an approval may allow.
pub const MAX_REDIRECT_URIS: usize = 20;
/// Most active webhooks a partner may have.
pub const MAX_ACTIVE_WEBHOOKS: usize = 10;
/// Most event type filters one webhook may have.
pub const MAX_EVENT_TYPE_FILTERS: usize = 50;

/// Where a partner stands.
///
/// ```text
/// applied ──first verification──▶ under_review ──▶ approved ◀──▶ suspended
///    │                                 │              │              │
///    └──────────── rejected ◀──────────┘              └─▶ offboarded ◀┘
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartnerStatus {
    /// Applied; no verification evidence yet.
    Applied,
    /// At least one piece of verification evidence recorded; awaiting a decision.
    UnderReview,
    /// Approved and active: the only status in which the partner may act.
    Approved,
    /// Application rejected (terminal).
    Rejected,
    /// Approved, but temporarily barred.
    Suspended,
    /// Partnership ended (terminal).
    Offboarded,
}

impl PartnerStatus {
    /// The stable name used by the API (`under_review`).
    pub const fn as_str(self) -> &'static str {
        match self {
            PartnerStatus::Applied => "applied",
            PartnerStatus::UnderReview => "under_review",
            PartnerStatus::Approved => "approved",
            PartnerStatus::Rejected => "rejected",
            PartnerStatus::Suspended => "suspended",
            PartnerStatus::Offboarded => "offboarded",
        }
    }
}

/// In words, for refusal messages (`under review`).
impl fmt::Display for PartnerStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_str().replace('_', " "))
    }
}

/// A refusal. Messages are lowercase; each variant maps to one HTTP status: `NotFound` →
/// 404, `Invalid` → 400, every other variant → 409 (the request conflicts with the partner's
/// state).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PartnerError {
    /// A command other than applying, for a partner that never applied.
    #[error("partner not found")]
    NotFound,
    /// Applying twice with the same partner id.
    #[error("partner has already applied")]
    AlreadyApplied,
    /// The command would leave the status as it is (suspending a suspended partner).
    #[error("partner is already {0}")]
    AlreadyInStatus(PartnerStatus),
    /// The command is not allowed in the partner's status.
    #[error("cannot {command} a partner that is {from}")]
    InvalidTransition {
        /// The partner's status.
        from: PartnerStatus,
        /// What was attempted, as a verb phrase (`approve`, `register a webhook for`).
        command: &'static str,
    },
    /// Approval without a passed result of a required check.
    #[error("verification incomplete: no passed {0} recorded")]
    VerificationIncomplete(CheckKind),
    /// Approval while the latest conclusive result of a required check is a failure.
    #[error("verification failed: the latest {0} failed")]
    VerificationFailed(CheckKind),
    /// The approver recorded verification evidence for this partner (four-eyes principle).
    #[error(
        "maker-checker: {0} recorded verification evidence for this partner and cannot approve it"
    )]
    MakerChecker(StaffId),
    /// An input breaks a rule (a single value, or one spanning fields).
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// No active webhook has this id.
    #[error("webhook {0} not found")]
    WebhookNotFound(WebhookId),
    /// An active webhook already has this id.
    #[error("webhook {0} already exists")]
    WebhookExists(WebhookId),
    /// An active webhook already has this URL.
    #[error("a webhook is already registered for this url")]
    WebhookUrlTaken,
    /// The partner already has [`MAX_ACTIVE_WEBHOOKS`] active webhooks.
    #[error("a partner may have at most 10 active webhooks")]
    TooManyWebhooks,
}

/// What the partner applied with.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Application {
    /// The partner's id.
    pub partner_id: PartnerId,
    /// Registered legal name.
    pub legal_name: LegalName,
    /// Number in the national company registry.
    pub registration_number: RegistrationNumber,
    /// Country of registration.
    pub country: CountryCode,
    /// Public website.
    pub website: Website,
    /// People to contact.
    pub contacts: Vec<Contact>,
    /// Roles asked for.
    pub requested_roles: BTreeSet<Role>,
    /// When the partner applied.
    pub applied_at: Timestamp,
}

/// One entry of the status history shown to the partner and to staff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusChange {
    /// The status entered.
    pub status: PartnerStatus,
    /// Why, for rejections, suspensions, reinstatements and offboardings.
    pub reason: Option<Reason>,
    /// The approver's remark, for approvals.
    pub note: Option<Note>,
    /// The staff member who caused it (`None` for the application itself).
    pub by: Option<StaffId>,
    /// When.
    pub at: Timestamp,
}

/// An active webhook endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Webhook {
    /// Its id.
    pub id: WebhookId,
    /// Where notifications go.
    pub url: WebhookUrl,
    /// Which event types (none means all).
    pub event_types: BTreeSet<EventTypeFilter>,
    /// When it was registered.
    pub registered_at: Timestamp,
}

impl Webhook {
    /// Whether an event of `event_type` is delivered to this webhook.
    pub fn wants(&self, event_type: &str) -> bool {
        self.event_types.is_empty() || self.event_types.iter().any(|f| f.matches(event_type))
    }
}

/// A partner of the ecosystem: a left fold of its `partner-<id>` stream.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Partner {
    application: Option<Application>,
    status: Option<PartnerStatus>,
    granted_roles: BTreeSet<Role>,
    redirect_uris: Vec<RedirectUri>,
    verifications: Vec<VerificationRecord>,
    status_history: Vec<StatusChange>,
    webhooks: Vec<Webhook>,
}

impl Partner {
    /// The partner's id (`None` if it never applied).
    pub fn id(&self) -> Option<PartnerId> {
        self.application.as_ref().map(|a| a.partner_id)
    }

    /// The current status (`None` if it never applied).
    pub fn status(&self) -> Option<PartnerStatus> {
        self.status
    }

    /// Whether the partner may act now (tokens, registrations, webhooks): approved only.
    pub fn is_active(&self) -> bool {
        self.status == Some(PartnerStatus::Approved)
    }

    /// What the partner applied with.
    pub fn application(&self) -> Option<&Application> {
        self.application.as_ref()
    }

    /// The registered legal name.
    pub fn legal_name(&self) -> Option<&LegalName> {
        self.application.as_ref().map(|a| &a.legal_name)
    }

    /// Roles granted at approval (empty before). Kept after suspension or offboarding as a
    /// record: check [`Partner::is_active`] before honouring them.
    pub fn granted_roles(&self) -> &BTreeSet<Role> {
        &self.granted_roles
    }

    /// The OAuth scopes the granted roles allow (empty before approval). Like the roles,
    /// meaningful only while [`Partner::is_active`].
    pub fn allowed_scopes(&self) -> BTreeSet<Scope> {
        if self.granted_roles.is_empty() {
            BTreeSet::new()
        } else {
            Scope::for_roles(&self.granted_roles)
        }
    }

    /// Redirect URIs allowed at approval.
    pub fn redirect_uris(&self) -> &[RedirectUri] {
        &self.redirect_uris
    }

    /// Every piece of verification evidence, in the order recorded.
    pub fn verifications(&self) -> &[VerificationRecord] {
        &self.verifications
    }

    /// Every status the partner went through, oldest first.
    pub fn status_history(&self) -> &[StatusChange] {
        &self.status_history
    }

    /// Active webhooks, in the order registered (none after offboarding).
    pub fn webhooks(&self) -> &[Webhook] {
        &self.webhooks
    }

    /// Checks that the command is allowed in the current status: `allowed` lists the statuses
    /// it may start from and `target` the status it leads to (so that repeating a command is
    /// refused as "already …" rather than as an invalid transition).
    fn require(
        &self,
        command: &'static str,
        allowed: &[PartnerStatus],
        target: Option<PartnerStatus>,
    ) -> Result<PartnerStatus, PartnerError> {
        let from = self.status.ok_or(PartnerError::NotFound)?;
        if allowed.contains(&from) {
            Ok(from)
        } else if target == Some(from) {
            Err(PartnerError::AlreadyInStatus(from))
        } else {
            Err(PartnerError::InvalidTransition { from, command })
        }
    }

    fn apply(&self, c: ApplyForPartnership, now: Timestamp) -> Result<PartnerEvent, PartnerError> {
        if self.status.is_some() {
            return Err(PartnerError::AlreadyApplied);
        }
        if c.requested_roles.is_empty() {
            return Err(invalid("requested_roles", "must not be empty"));
        }
        if c.contacts.is_empty() {
            return Err(invalid("contacts", "must list at least one contact"));
        }
        if c.contacts.len() > MAX_CONTACTS {
            return Err(invalid(
                "contacts",
                format!("must list at most {MAX_CONTACTS} contacts"),
            ));
        }
        Ok(PartnerEvent::Applied {
            partner_id: c.partner_id,
            legal_name: c.legal_name,
            registration_number: c.registration_number,
            country: c.country,
            website: c.website,
            contacts: c.contacts,
            requested_roles: c.requested_roles,
            at: now,
        })
    }

    fn record_verification(
        &self,
        c: RecordVerification,
        now: Timestamp,
    ) -> Result<PartnerEvent, PartnerError> {
        use PartnerStatus::*;
        self.require(
            "record verification for",
            &[Applied, UnderReview, Approved, Suspended],
            None,
        )?;
        c.check.validate()?;
        Ok(PartnerEvent::VerificationRecorded {
            check: c.check,
            result: c.result,
            evidence: c.evidence,
            by: c.by,
            at: now,
        })
    }

    fn approve(&self, c: ApprovePartner, now: Timestamp) -> Result<PartnerEvent, PartnerError> {
        use PartnerStatus::*;
        self.require("approve", &[Applied, UnderReview], Some(Approved))?;
        let requested = self
            .application
            .as_ref()
            .map(|a| &a.requested_roles)
            .ok_or(PartnerError::NotFound)?;
        let roles = c.roles.unwrap_or_else(|| requested.clone());
        if roles.is_empty() {
            return Err(invalid("roles", "must not be empty"));
        }
        if let Some(role) = roles.difference(requested).next() {
            return Err(invalid("roles", format!("{role} was not requested")));
        }
        check_redirect_uris(&c.redirect_uris, c.production)?;
        match verification::shortfall(&self.verifications) {
            Some(Shortfall::Missing(kind)) => {
                return Err(PartnerError::VerificationIncomplete(kind));
            }
            Some(Shortfall::Failed(kind)) => return Err(PartnerError::VerificationFailed(kind)),
            None => {}
        }
        if self.verifications.iter().any(|v| v.by == c.by) {
            return Err(PartnerError::MakerChecker(c.by));
        }
        Ok(PartnerEvent::Approved {
            roles,
            redirect_uris: c.redirect_uris,
            note: c.note,
            by: c.by,
            at: now,
        })
    }

    fn reject(&self, c: RejectPartner, now: Timestamp) -> Result<PartnerEvent, PartnerError> {
        use PartnerStatus::*;
        self.require("reject", &[Applied, UnderReview], Some(Rejected))?;
        Ok(PartnerEvent::Rejected {
            reason: c.reason,
            by: c.by,
            at: now,
        })
    }

    fn suspend(&self, c: SuspendPartner, now: Timestamp) -> Result<PartnerEvent, PartnerError> {
        use PartnerStatus::*;
        self.require("suspend", &[Approved], Some(Suspended))?;
        Ok(PartnerEvent::Suspended {
            reason: c.reason,
            by: c.by,
            at: now,
        })
    }

    fn reinstate(&self, c: ReinstatePartner, now: Timestamp) -> Result<PartnerEvent, PartnerError> {
        use PartnerStatus::*;
        self.require("reinstate", &[Suspended], Some(Approved))?;
        Ok(PartnerEvent::Reinstated {
            reason: c.reason,
            by: c.by,
            at: now,
        })
    }

    fn offboard(&self, c: OffboardPartner, now: Timestamp) -> Result<PartnerEvent, PartnerError> {
        use PartnerStatus::*;
        self.require("offboard", &[Approved, Suspended], Some(Offboarded))?;
        Ok(PartnerEvent::Offboarded {
            reason: c.reason,
            by: c.by,
            at: now,
        })
    }

    fn register_webhook(
        &self,
        c: RegisterWebhook,
        now: Timestamp,
    ) -> Result<PartnerEvent, PartnerError> {
        self.require("register a webhook for", &[PartnerStatus::Approved], None)?;
        if c.production && !c.url.is_https() {
            return Err(invalid("webhook_url", "must use https in production"));
        }
        if c.event_types.len() > MAX_EVENT_TYPE_FILTERS {
            return Err(invalid(
                "event_types",
                format!("must list at most {MAX_EVENT_TYPE_FILTERS} filters"),
            ));
        }
        if self.webhooks.iter().any(|w| w.id == c.webhook_id) {
            return Err(PartnerError::WebhookExists(c.webhook_id));
        }
        if self.webhooks.iter().any(|w| w.url == c.url) {
            return Err(PartnerError::WebhookUrlTaken);
        }
        if self.webhooks.len() >= MAX_ACTIVE_WEBHOOKS {
            return Err(PartnerError::TooManyWebhooks);
        }
        Ok(PartnerEvent::WebhookRegistered {
            webhook_id: c.webhook_id,
            url: c.url,
            event_types: c.event_types,
            at: now,
        })
    }

    fn remove_webhook(
        &self,
        c: RemoveWebhook,
        now: Timestamp,
    ) -> Result<PartnerEvent, PartnerError> {
        use PartnerStatus::*;
        self.require("remove a webhook of", &[Approved, Suspended], None)?;
        if !self.webhooks.iter().any(|w| w.id == c.webhook_id) {
            return Err(PartnerError::WebhookNotFound(c.webhook_id));
        }
        Ok(PartnerEvent::WebhookRemoved {
            webhook_id: c.webhook_id,
            at: now,
        })
    }

    fn enter(
        &mut self,
        status: PartnerStatus,
        by: Option<&StaffId>,
        at: Timestamp,
    ) -> &mut StatusChange {
        self.status = Some(status);
        self.status_history.push(StatusChange {
            status,
            reason: None,
            note: None,
            by: by.cloned(),
            at,
        });
        self.status_history.last_mut().expect("just pushed")
    }
}

fn invalid(field: &'static str, message: impl Into<String>) -> PartnerError {
    PartnerError::Invalid(ValidationError::new(field, message))
}

/// At most [`MAX_REDIRECT_URIS`], no duplicates, and plain-`http` loopback URIs only outside
/// production.
fn check_redirect_uris(uris: &[RedirectUri], production: bool) -> Result<(), PartnerError> {
    if uris.len() > MAX_REDIRECT_URIS {
        return Err(invalid(
            "redirect_uris",
            format!("must list at most {MAX_REDIRECT_URIS} uris"),
        ));
    }
    if uris.iter().collect::<BTreeSet<_>>().len() != uris.len() {
        return Err(invalid("redirect_uris", "must not contain duplicates"));
    }
    if production && uris.iter().any(RedirectUri::is_loopback_http) {
        return Err(invalid("redirect_uri", "must use https in production"));
    }
    Ok(())
}

impl Aggregate for Partner {
    type Command = PartnerCommand;
    type Event = PartnerEvent;
    type Error = PartnerError;
    const CATEGORY: &'static str = PartnerId::CATEGORY;

    fn decide(
        &self,
        command: PartnerCommand,
        now: Timestamp,
    ) -> Result<Vec<PartnerEvent>, PartnerError> {
        let event = match command {
            PartnerCommand::ApplyForPartnership(c) => self.apply(c, now),
            PartnerCommand::RecordVerification(c) => self.record_verification(c, now),
            PartnerCommand::ApprovePartner(c) => self.approve(c, now),
            PartnerCommand::RejectPartner(c) => self.reject(c, now),
            PartnerCommand::SuspendPartner(c) => self.suspend(c, now),
            PartnerCommand::ReinstatePartner(c) => self.reinstate(c, now),
            PartnerCommand::OffboardPartner(c) => self.offboard(c, now),
            PartnerCommand::RegisterWebhook(c) => self.register_webhook(c, now),
            PartnerCommand::RemoveWebhook(c) => self.remove_webhook(c, now),
        }?;
        Ok(vec![event])
    }

    fn evolve(mut self, event: &PartnerEvent) -> Self {
        match event {
            PartnerEvent::Applied {
                partner_id,
                legal_name,
                registration_number,
                country,
                website,
                contacts,
                requested_roles,
                at,
            } => {
                self.application = Some(Application {
                    partner_id: *partner_id,
                    legal_name: legal_name.clone(),
                    registration_number: registration_number.clone(),
                    country: country.clone(),
                    website: website.clone(),
                    contacts: contacts.clone(),
                    requested_roles: requested_roles.clone(),
                    applied_at: *at,
                });
                self.enter(PartnerStatus::Applied, None, *at);
            }
            PartnerEvent::VerificationRecorded {
                check,
                result,
                evidence,
                by,
                at,
            } => {
                self.verifications.push(VerificationRecord {
                    check: check.clone(),
                    result: *result,
                    evidence: evidence.clone(),
                    by: by.clone(),
                    at: *at,
                });
                if self.status == Some(PartnerStatus::Applied) {
                    self.enter(PartnerStatus::UnderReview, Some(by), *at);
                }
            }
            PartnerEvent::Approved {
                roles,
                redirect_uris,
                note,
                by,
                at,
            } => {
                self.granted_roles = roles.clone();
                self.redirect_uris = redirect_uris.clone();
                self.enter(PartnerStatus::Approved, Some(by), *at).note = note.clone();
            }
            PartnerEvent::Rejected { reason, by, at } => {
                self.enter(PartnerStatus::Rejected, Some(by), *at).reason = Some(reason.clone());
            }
            PartnerEvent::Suspended { reason, by, at } => {
                self.enter(PartnerStatus::Suspended, Some(by), *at).reason = Some(reason.clone());
            }
            PartnerEvent::Reinstated { reason, by, at } => {
                self.enter(PartnerStatus::Approved, Some(by), *at).reason = Some(reason.clone());
            }
            PartnerEvent::Offboarded { reason, by, at } => {
                self.enter(PartnerStatus::Offboarded, Some(by), *at).reason = Some(reason.clone());
                self.webhooks.clear();
            }
            PartnerEvent::WebhookRegistered {
                webhook_id,
                url,
                event_types,
                at,
            } => self.webhooks.push(Webhook {
                id: *webhook_id,
                url: url.clone(),
                event_types: event_types.clone(),
                registered_at: *at,
            }),
            PartnerEvent::WebhookRemoved { webhook_id, .. } => {
                self.webhooks.retain(|w| w.id != *webhook_id);
            }
        }
        self
    }
}
