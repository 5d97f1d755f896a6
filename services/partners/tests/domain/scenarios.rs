//! Whole lifecycles, each step decided against the history so far.

use ecohub_kernel::testing::given;
use ecohub_kernel::{Aggregate, Timestamp};
use ecohub_partners::domain::*;

use crate::support::*;

/// Decides `command` at `at` against `history`, appends its events, and returns the state.
fn step(
    history: &mut Vec<PartnerEvent>,
    at: Timestamp,
    command: impl Into<PartnerCommand>,
) -> Partner {
    let state = Partner::replay(history.iter());
    let events = state
        .decide(command.into(), at)
        .unwrap_or_else(|e| panic!("step {} refused: {e}", history.len()));
    history.extend(events);
    Partner::replay(history.iter())
}

#[test]
fn apply_verify_approve_register_suspend_reinstate_offboard() {
    let mut history = Vec::new();
    let t = |minute: i64| ago(120 - minute);

    let s = step(&mut history, t(0), apply());
    assert_eq!(s.status(), Some(PartnerStatus::Applied));

    let s = step(
        &mut history,
        t(10),
        verify(CheckKind::RegistryCheck, CheckResult::Passed, maker()),
    );
    assert_eq!(s.status(), Some(PartnerStatus::UnderReview));
    let s = step(
        &mut history,
        t(11),
        verify(CheckKind::SanctionsScreening, CheckResult::Passed, maker()),
    );
    assert_eq!(s.verifications().len(), 2);

    // the maker may not approve; another staff member may
    let refused = s.decide(
        ApprovePartner {
            by: maker(),
            ..approve()
        }
        .into(),
        t(20),
    );
    assert!(matches!(refused, Err(PartnerError::MakerChecker(_))));
    let s = step(&mut history, t(20), approve());
    assert!(s.is_active());
    assert!(s.allowed_scopes().contains(&Scope::ConsentsWrite));

    let s = step(&mut history, t(30), register_webhook(1));
    assert_eq!(s.webhooks().len(), 1);

    let s = step(
        &mut history,
        t(40),
        SuspendPartner {
            by: checker(),
            reason: reason("unusual traffic"),
        },
    );
    assert!(!s.is_active());
    assert_eq!(
        s.webhooks().len(),
        1,
        "suspension keeps webhooks registered"
    );
    assert!(s.decide(register_webhook(2).into(), t(41)).is_err());

    let s = step(
        &mut history,
        t(50),
        ReinstatePartner {
            by: checker(),
            reason: reason("explained"),
        },
    );
    assert!(s.is_active());

    let s = step(
        &mut history,
        t(60),
        OffboardPartner {
            by: maker(),
            reason: reason("contract ended"),
        },
    );
    assert_eq!(s.status(), Some(PartnerStatus::Offboarded));
    assert!(!s.is_active() && s.webhooks().is_empty());

    let types: Vec<&str> = history
        .iter()
        .map(ecohub_kernel::DomainEvent::event_type)
        .collect();
    assert_eq!(
        types,
        [
            "PartnerApplied",
            "PartnerVerificationRecorded",
            "PartnerVerificationRecorded",
            "PartnerApproved",
            "PartnerWebhookRegistered",
            "PartnerSuspended",
            "PartnerReinstated",
            "PartnerOffboarded",
        ]
    );

    // the status history is the compliance record shown to the partner and to staff
    let record: Vec<(PartnerStatus, Option<&str>, Option<&str>, Timestamp)> = s
        .status_history()
        .iter()
        .map(|c| {
            (
                c.status,
                c.by.as_ref().map(StaffId::as_str),
                c.reason.as_ref().map(Reason::as_str),
                c.at,
            )
        })
        .collect();
    assert_eq!(
        record,
        [
            (PartnerStatus::Applied, None, None, t(0)),
            (PartnerStatus::UnderReview, Some("staff-maker"), None, t(10)),
            (PartnerStatus::Approved, Some("staff-checker"), None, t(20)),
            (
                PartnerStatus::Suspended,
                Some("staff-checker"),
                Some("unusual traffic"),
                t(40)
            ),
            (
                PartnerStatus::Approved,
                Some("staff-checker"),
                Some("explained"),
                t(50)
            ),
            (
                PartnerStatus::Offboarded,
                Some("staff-maker"),
                Some("contract ended"),
                t(60)
            ),
        ]
    );

    // and nothing happens after offboarding
    given::<Partner>(history)
        .when(
            ReinstatePartner {
                by: checker(),
                reason: reason("please"),
            }
            .into(),
        )
        .then_refused("cannot reinstate a partner that is offboarded");
}

#[test]
fn a_stored_history_replays_to_the_same_state() {
    use ecohub_kernel::DomainEvent;
    let history = with(approved_history(), [webhook_registered(1), suspended()]);
    let stored: Vec<(&str, u16, serde_json::Value)> = history
        .iter()
        .map(|e| (e.event_type(), e.event_version(), e.encode()))
        .collect();
    let decoded: Vec<PartnerEvent> = stored
        .iter()
        .map(|(t, v, data)| PartnerEvent::decode(t, *v, data).unwrap())
        .collect();
    assert_eq!(
        Partner::replay(decoded.iter()),
        Partner::replay(history.iter())
    );
    assert_eq!(Partner::CATEGORY, "partner");
}

#[test]
fn an_application_is_rejected_after_a_failed_screening() {
    let mut history = Vec::new();
    step(&mut history, ago(30), apply());
    step(
        &mut history,
        ago(20),
        verify(CheckKind::SanctionsScreening, CheckResult::Failed, maker()),
    );
    let s = step(
        &mut history,
        ago(10),
        RejectPartner {
            by: maker(),
            reason: reason("sanctions list match"),
        },
    );
    assert_eq!(s.status(), Some(PartnerStatus::Rejected));
    assert!(s.allowed_scopes().is_empty() && !s.is_active());
}
