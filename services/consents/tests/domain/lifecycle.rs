//! The lifecycle as given/when/then scenarios.

use ecohub_consents::domain::*;
use ecohub_kernel::testing::{given, given_no_history};
use std::time::Duration;

use crate::support::*;

fn authorise() -> ConsentCommand {
    ConsentCommand::AuthoriseConsent {
        customer_id: customer(),
        pairwise_id: pairwise(),
    }
}

fn revoke(by: RevokedBy, code: &str) -> ConsentCommand {
    ConsentCommand::RevokeConsent {
        by,
        reason: reason(code),
    }
}

#[test]
fn a_partner_requests_a_consent() {
    let at = NOW.minus(Duration::from_secs(3600));
    let state = given_no_history::<Consent>()
        .at(at)
        .when(ConsentCommand::RequestConsent(request()))
        .then([requested()]);
    let data = state.data().unwrap();
    assert_eq!(data.status, ConsentStatus::AwaitingAuthorisation);
    assert_eq!(data.created_at, at);
    assert_eq!(data.history.len(), 1);
}

#[test]
fn a_request_whose_expiry_has_passed_by_decision_time_is_refused() {
    given_no_history::<Consent>()
        .at(expiry())
        .when(ConsentCommand::RequestConsent(request()))
        .then_refused("expiration breaks rule expiration_in_future: must be in the future");
}

#[test]
fn a_consent_is_requested_once() {
    given::<Consent>([requested()])
        .when(ConsentCommand::RequestConsent(request()))
        .then_refused("consent already exists");
}

#[test]
fn commands_on_a_missing_consent_are_not_found() {
    given_no_history::<Consent>()
        .when(authorise())
        .then_refused("consent not found");
}

#[test]
fn the_customer_authorises_with_their_ids() {
    let state =
        given::<Consent>([requested()])
            .when(authorise())
            .then([ConsentEvent::Authorised {
                customer_id: customer(),
                pairwise_id: Some(pairwise()),
                reason: reason("customer_authorised"),
                at: NOW,
            }]);
    let data = state.data().unwrap();
    assert_eq!(data.status, ConsentStatus::Authorised);
    assert_eq!(data.customer_id, Some(customer()));
    assert_eq!(data.pairwise_id, Some(pairwise()));
}

#[test]
fn the_customer_rejects() {
    let state = given::<Consent>([requested()])
        .when(ConsentCommand::RejectConsent {
            customer_id: customer(),
            reason: reason("customer_rejected"),
        })
        .then([ConsentEvent::Rejected {
            customer_id: customer(),
            reason: reason("customer_rejected"),
            at: NOW,
        }]);
    assert_eq!(state.data().unwrap().status, ConsentStatus::Rejected);
    given::<Consent>([
        requested(),
        ConsentEvent::Rejected {
            customer_id: customer(),
            reason: reason("customer_rejected"),
            at: NOW,
        },
    ])
    .when(authorise())
    .then_refused("cannot authorise a consent that is Rejected");
}

#[test]
fn authorisation_after_the_deadline_is_refused() {
    given::<Consent>([requested()])
        .at(deadline())
        .when(authorise())
        .then_refused("cannot authorise a consent that is Expired");
}

#[test]
fn an_authorised_consent_cannot_be_authorised_or_rejected_again() {
    given::<Consent>([requested(), authorised()])
        .when(authorise())
        .then_refused("cannot authorise a consent that is Authorised");
    given::<Consent>([requested(), authorised()])
        .when(ConsentCommand::RejectConsent {
            customer_id: customer(),
            reason: reason("customer_rejected"),
        })
        .then_refused("cannot reject a consent that is Authorised");
}

#[test]
fn revocation_records_who_how_and_why() {
    for (by, code) in [
        (RevokedBy::Customer, "customer_request"),
        (RevokedBy::Partner, "partner_request"),
        (RevokedBy::PartnerOffboarded, "partner_offboarded"),
    ] {
        let state = given::<Consent>([requested(), authorised()])
            .when(revoke(by, code))
            .then([ConsentEvent::Revoked {
                by,
                reason: reason(code),
                at: NOW,
            }]);
        let data = state.data().unwrap();
        assert_eq!(data.status, ConsentStatus::Revoked);
        let last = data.history.last().unwrap();
        assert_eq!(last.revoked_by, Some(by));
        assert_eq!(last.reason, Some(reason(code)));
        assert_eq!(last.at, NOW);
    }
}

#[test]
fn a_pending_consent_can_be_withdrawn_by_the_partner_but_not_revoked_by_the_customer() {
    given::<Consent>([requested()])
        .when(revoke(RevokedBy::Partner, "partner_withdrawn"))
        .then([ConsentEvent::Revoked {
            by: RevokedBy::Partner,
            reason: reason("partner_withdrawn"),
            at: NOW,
        }]);
    given::<Consent>([requested()])
        .when(revoke(RevokedBy::PartnerOffboarded, "partner_offboarded"))
        .then([ConsentEvent::Revoked {
            by: RevokedBy::PartnerOffboarded,
            reason: reason("partner_offboarded"),
            at: NOW,
        }]);
    given::<Consent>([requested()])
        .when(revoke(RevokedBy::Customer, "customer_request"))
        .then_refused("cannot revoke a consent that is AwaitingAuthorisation");
}

#[test]
fn a_revoked_consent_stays_revoked() {
    let history = [
        requested(),
        authorised(),
        ConsentEvent::Revoked {
            by: RevokedBy::Customer,
            reason: reason("customer_request"),
            at: NOW,
        },
    ];
    given::<Consent>(history.clone())
        .when(revoke(RevokedBy::Partner, "partner_request"))
        .then_refused("cannot revoke a consent that is Revoked");
    given::<Consent>(history)
        .at(expiry())
        .when(ConsentCommand::ExpireConsent)
        .then_refused("cannot expire a consent that is Revoked");
}

#[test]
fn an_authorised_consent_expires_when_its_expiry_passes() {
    given::<Consent>([requested(), authorised()])
        .at(expiry().minus(Duration::from_secs(1)))
        .when(ConsentCommand::ExpireConsent)
        .then_refused("consent is not due to expire");
    let state = given::<Consent>([requested(), authorised()])
        .at(expiry())
        .when(ConsentCommand::ExpireConsent)
        .then([ConsentEvent::Expired {
            reason: reason("expired"),
            at: expiry(),
        }]);
    assert_eq!(state.data().unwrap().status, ConsentStatus::Expired);
}

#[test]
fn a_pending_consent_times_out() {
    given::<Consent>([requested()])
        .at(deadline().minus(Duration::from_secs(1)))
        .when(ConsentCommand::ExpireConsent)
        .then_refused("consent is not due to expire");
    given::<Consent>([requested()])
        .at(deadline())
        .when(ConsentCommand::ExpireConsent)
        .then([ConsentEvent::Expired {
            reason: reason("authorisation_timeout"),
            at: deadline(),
        }]);
}

#[test]
fn status_at_counts_time_expiry_before_the_event() {
    let g = given::<Consent>([requested(), authorised()]);
    let data = g.state().data().unwrap();
    assert_eq!(data.status, ConsentStatus::Authorised);
    assert_eq!(data.status_at(NOW), ConsentStatus::Authorised);
    assert_eq!(data.status_at(expiry()), ConsentStatus::Expired);
    let g = given::<Consent>([requested()]);
    let data = g.state().data().unwrap();
    assert_eq!(data.status_at(NOW), ConsentStatus::AwaitingAuthorisation);
    assert_eq!(data.status_at(deadline()), ConsentStatus::Expired);
}

#[test]
fn revoking_after_expiry_is_refused() {
    given::<Consent>([requested(), authorised()])
        .at(expiry())
        .when(revoke(RevokedBy::Customer, "customer_request"))
        .then_refused("cannot revoke a consent that is Expired");
}

#[test]
fn the_state_is_derivable_from_the_stream() {
    let events = [
        requested(),
        authorised(),
        ConsentEvent::Expired {
            reason: reason("expired"),
            at: expiry(),
        },
    ];
    let g = given::<Consent>(events);
    let data = g.state().data().unwrap();
    let statuses: Vec<_> = data.history.iter().map(|h| h.status).collect();
    let reasons: Vec<_> = data
        .history
        .iter()
        .map(|h| h.reason.as_ref().unwrap().as_str())
        .collect();
    assert_eq!(
        reasons,
        ["consent_requested", "customer_authorised", "expired"],
        "every status change has a reason"
    );
    assert_eq!(
        statuses,
        [
            ConsentStatus::AwaitingAuthorisation,
            ConsentStatus::Authorised,
            ConsentStatus::Expired
        ]
    );
    assert_eq!(data.status_changed_at, expiry());
}
