//! A customer's consent to the bank (ADR 0021): requested and authorised in one decision,
//! for personalised offers, with partners as providers; then revoked or expired as any other.

use ecohub_consents::domain::*;
use ecohub_kernel::testing::{given, given_no_history};
use std::time::Duration;

use crate::support::*;

fn grant(purpose: Purpose, providers: &[&str]) -> ConsentCommand {
    ConsentCommand::GrantToBank(GrantToBank {
        consent_id: consent_id(),
        customer_id: customer(),
        permissions: Permissions::parse(&["ReadTravelProfile"]).unwrap(),
        purpose,
        expiry: Expiry::parse(NOW.plus(days(180)), NOW).unwrap(),
        data_providers: DataProviders::parse(providers).unwrap(),
    })
}

fn offers() -> Purpose {
    Purpose::parse(PERSONALISED_OFFERS, "The bank may personalise its offers").unwrap()
}

fn granted() -> Vec<ConsentEvent> {
    let ConsentCommand::GrantToBank(g) = grant(offers(), &[&partner_id().to_string()]) else {
        unreachable!()
    };
    vec![
        ConsentEvent::Requested {
            consent_id: g.consent_id,
            recipient: Recipient::Bank,
            permissions: g.permissions,
            purpose: g.purpose,
            expiry: g.expiry,
            transaction_window: TransactionWindow::default(),
            data_providers: g.data_providers,
            authorisation_deadline: NOW,
            reason: reason("customer_request"),
            at: NOW,
        },
        ConsentEvent::Authorised {
            customer_id: customer(),
            pairwise_id: None,
            reason: reason("customer_authorised"),
            at: NOW,
        },
    ]
}

#[test]
fn the_customer_grants_the_bank_a_consent_requested_and_authorised_at_once() {
    let state = given_no_history::<Consent>()
        .at(NOW)
        .when(grant(offers(), &[&partner_id().to_string()]))
        .then(granted());
    let data = state.data().unwrap();
    assert_eq!(data.recipient, Recipient::Bank);
    assert_eq!(data.recipient.partner(), None);
    assert_eq!(data.status_at(NOW), ConsentStatus::Authorised);
    assert_eq!(data.customer_id, Some(customer()));
    assert_eq!(
        data.pairwise_id, None,
        "the bank knows its customer by the hub's id"
    );
    assert_eq!(data.history.len(), 2);
    // A second later it is still authorised: the deadline only applies while awaiting.
    assert_eq!(
        data.status_at(NOW.plus(Duration::from_secs(1))),
        ConsentStatus::Authorised
    );
}

#[test]
fn a_grant_to_the_bank_is_for_personalised_offers_only() {
    given_no_history::<Consent>()
        .at(NOW)
        .when(grant(
            Purpose::parse("marketing", "Anything").unwrap(),
            &[&partner_id().to_string()],
        ))
        .then_refused(
            "purpose breaks rule purpose_personalised_offers: a consent to the bank is for personalised_offers",
        );
}

#[test]
fn the_bank_needs_no_consent_for_its_own_data() {
    given_no_history::<Consent>()
        .at(NOW)
        .when(grant(offers(), &["bank", &partner_id().to_string()]))
        .then_refused(
            "data_providers breaks rule data_providers_partners: the bank needs no consent to use its own data: name partners only",
        );
}

#[test]
fn a_grant_whose_expiry_has_passed_is_refused_and_a_grant_happens_once() {
    given_no_history::<Consent>()
        .at(NOW.plus(days(181)))
        .when(grant(offers(), &[&partner_id().to_string()]))
        .then_refused("expiration breaks rule expiration_in_future: must be in the future");
    given::<Consent>(granted())
        .at(NOW)
        .when(grant(offers(), &[&partner_id().to_string()]))
        .then_refused("consent already exists");
}

#[test]
fn the_customer_revokes_a_consent_to_the_bank() {
    let state = given::<Consent>(granted())
        .at(NOW.plus(days(1)))
        .when(ConsentCommand::RevokeConsent {
            by: RevokedBy::Customer,
            reason: reason("customer_request"),
        })
        .then([ConsentEvent::Revoked {
            by: RevokedBy::Customer,
            reason: reason("customer_request"),
            at: NOW.plus(days(1)),
        }]);
    assert_eq!(state.data().unwrap().status, ConsentStatus::Revoked);
}

#[test]
fn a_consent_to_the_bank_expires_at_its_expiry() {
    let later = NOW.plus(days(180));
    let state = given::<Consent>(granted())
        .at(later)
        .when(ConsentCommand::ExpireConsent)
        .then([ConsentEvent::Expired {
            reason: reason("expired"),
            at: later,
        }]);
    assert_eq!(state.data().unwrap().status, ConsentStatus::Expired);
}
