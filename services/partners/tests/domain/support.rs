//! Fixtures: fixed ids, staff members, times, and the events of a typical history.

use std::collections::BTreeSet;

use ecohub_kernel::Timestamp;
use ecohub_partners::domain::*;

/// The instant `given` decides at by default.
pub const NOW: Timestamp = Timestamp::from_unix_seconds(1_800_000_000);

/// An instant `minutes` before [`NOW`].
pub fn ago(minutes: i64) -> Timestamp {
    Timestamp::from_unix_seconds(1_800_000_000 - minutes * 60)
}

pub fn partner_id() -> PartnerId {
    PartnerId::parse("01890a5d-ac96-774b-bcce-b302099a8057").unwrap()
}

pub fn webhook_id(n: u8) -> WebhookId {
    WebhookId::parse(&format!("01890a5d-ac96-774b-bcce-b302099a80{n:02}")).unwrap()
}

/// The maker: records verification evidence.
pub fn maker() -> StaffId {
    StaffId::parse("staff-maker").unwrap()
}

/// The checker: approves.
pub fn checker() -> StaffId {
    StaffId::parse("staff-checker").unwrap()
}

pub fn reason(text: &str) -> Reason {
    Reason::parse(text).unwrap()
}

pub fn roles(list: &[Role]) -> BTreeSet<Role> {
    list.iter().copied().collect()
}

pub fn contact() -> Contact {
    Contact {
        name: ContactName::parse("Ada Lovelace").unwrap(),
        email: ContactEmail::parse("ada@travelco.example").unwrap(),
        role: ContactRole::Technical,
    }
}

pub fn apply() -> ApplyForPartnership {
    ApplyForPartnership {
        partner_id: partner_id(),
        legal_name: LegalName::parse("TravelCo GmbH").unwrap(),
        registration_number: RegistrationNumber::parse("HRB 123456").unwrap(),
        country: CountryCode::parse("DE").unwrap(),
        website: Website::parse("https://travelco.example").unwrap(),
        contacts: vec![contact()],
        requested_roles: roles(&[Role::DataRecipient, Role::OfferPartner]),
    }
}

pub fn applied() -> PartnerEvent {
    applied_at(ago(60))
}

/// The event `apply()` causes at `at`.
pub fn applied_at(at: Timestamp) -> PartnerEvent {
    let c = apply();
    PartnerEvent::Applied {
        partner_id: c.partner_id,
        legal_name: c.legal_name,
        registration_number: c.registration_number,
        country: c.country,
        website: c.website,
        contacts: c.contacts,
        requested_roles: c.requested_roles,
        at,
    }
}

pub fn verify(check: CheckKind, result: CheckResult, by: StaffId) -> RecordVerification {
    RecordVerification {
        check,
        result,
        evidence: EvidenceReference::parse("case 2026/0042").unwrap(),
        by,
    }
}

pub fn verified(check: CheckKind, result: CheckResult, by: StaffId) -> PartnerEvent {
    let c = verify(check, result, by);
    PartnerEvent::VerificationRecorded {
        check: c.check,
        result: c.result,
        evidence: c.evidence,
        by: c.by,
        at: ago(50),
    }
}

/// Applied, registry check and sanctions screening both passed, recorded by the maker.
pub fn verified_history() -> Vec<PartnerEvent> {
    vec![
        applied(),
        verified(CheckKind::RegistryCheck, CheckResult::Passed, maker()),
        verified(CheckKind::SanctionsScreening, CheckResult::Passed, maker()),
    ]
}

pub fn redirect(uri: &str) -> RedirectUri {
    RedirectUri::parse(uri).unwrap()
}

pub fn approve() -> ApprovePartner {
    ApprovePartner {
        by: checker(),
        roles: None,
        redirect_uris: vec![redirect("https://travelco.example/callback")],
        note: None,
        production: true,
    }
}

pub fn approved() -> PartnerEvent {
    approved_at(ago(40))
}

/// The event `approve()` causes at `at` after `verified_history()`.
pub fn approved_at(at: Timestamp) -> PartnerEvent {
    PartnerEvent::Approved {
        roles: roles(&[Role::DataRecipient, Role::OfferPartner]),
        redirect_uris: vec![redirect("https://travelco.example/callback")],
        note: None,
        by: checker(),
        at,
    }
}

pub fn approved_history() -> Vec<PartnerEvent> {
    let mut history = verified_history();
    history.push(approved());
    history
}

pub fn with(
    mut history: Vec<PartnerEvent>,
    more: impl IntoIterator<Item = PartnerEvent>,
) -> Vec<PartnerEvent> {
    history.extend(more);
    history
}

pub fn suspended() -> PartnerEvent {
    PartnerEvent::Suspended {
        reason: reason("unusual traffic"),
        by: checker(),
        at: ago(30),
    }
}

pub fn rejected() -> PartnerEvent {
    PartnerEvent::Rejected {
        reason: reason("not a regulated entity"),
        by: checker(),
        at: ago(30),
    }
}

pub fn offboarded() -> PartnerEvent {
    PartnerEvent::Offboarded {
        reason: reason("contract ended"),
        by: checker(),
        at: ago(20),
    }
}

pub fn hook_url(n: u8) -> WebhookUrl {
    WebhookUrl::parse(&format!("https://travelco.example/hooks/{n}")).unwrap()
}

pub fn register_webhook(n: u8) -> RegisterWebhook {
    RegisterWebhook {
        webhook_id: webhook_id(n),
        url: hook_url(n),
        event_types: BTreeSet::new(),
        production: true,
    }
}

pub fn webhook_registered(n: u8) -> PartnerEvent {
    PartnerEvent::WebhookRegistered {
        webhook_id: webhook_id(n),
        url: hook_url(n),
        event_types: BTreeSet::new(),
        at: ago(10),
    }
}
