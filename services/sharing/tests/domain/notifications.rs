use std::time::Duration;

use ecohub_kernel::testing::{given, given_no_history};
use ecohub_kernel::{DomainEvent, Timestamp};
use ecohub_sharing::domain::notifications::{
    Attempt, EventSubscription, Notification, NotificationCommand, NotificationEvent,
    NotificationStatus, Queued, SubscriptionCommand, SubscriptionData, SubscriptionEvent, backoff,
    mapping_of, subject_fields,
};
use serde_json::json;

const NOW: Timestamp = Timestamp::from_unix_seconds(1_800_000_000);

fn queued() -> Queued {
    Queued {
        jti: "j1".into(),
        subscription_id: "s1".into(),
        partner_id: "p1".into(),
        url: "https://p1.example/hook".into(),
        event_type: "consent-revoked".into(),
        claims: json!({"jti": "j1"}),
        at: NOW,
    }
}

fn claim(instance: &str, at: Timestamp) -> NotificationCommand {
    NotificationCommand::Claim {
        instance: instance.into(),
        until: at.plus(Duration::from_secs(60)),
    }
}

fn outcome(instance: &str, status: Option<u16>, error: Option<&str>) -> NotificationCommand {
    NotificationCommand::RecordAttempt {
        instance: instance.into(),
        status,
        error: error.map(str::to_owned),
        max_retries: 2,
        initial_backoff: Duration::from_secs(10),
        max_backoff: Duration::from_secs(15),
    }
}

fn claimed(attempt: u32, instance: &str, at: Timestamp) -> NotificationEvent {
    NotificationEvent::Claimed {
        attempt,
        instance: instance.into(),
        until: at.plus(Duration::from_secs(60)),
    }
}

#[test]
fn backoff_doubles_up_to_the_maximum() {
    let (i, m) = (Duration::from_secs(1), Duration::from_secs(5));
    assert_eq!(backoff(1, i, m), Duration::from_secs(1));
    assert_eq!(backoff(2, i, m), Duration::from_secs(2));
    assert_eq!(backoff(3, i, m), Duration::from_secs(4));
    assert_eq!(backoff(4, i, m), Duration::from_secs(5));
    assert_eq!(backoff(60, i, m), Duration::from_secs(5));
}

#[test]
fn the_mapping_table_names_hub_events() {
    let none = json!({});
    let name = |stream: &str, event_type: &str| {
        mapping_of(stream, event_type, &none).map(|m| m.notification)
    };
    assert_eq!(name("consent-1", "ConsentRevoked"), Some("consent-revoked"));
    assert_eq!(
        name("partner-1", "PartnerSuspended"),
        Some("partner-status-changed")
    );
    assert_eq!(name("records-ab", "RecordsPublished"), Some("data-updated"));
    assert_eq!(
        name("offercontacts-c", "OfferAccepted"),
        Some("offer-accepted")
    );
    assert_eq!(
        name("partner-1", "ConsentRevoked"),
        None,
        "stream prefix matters"
    );
    assert_eq!(name("consent-1", "ConsentRequested"), None);
}

/// A row with a payload predicate maps only the events whose payload has the field, non-null:
/// an offer a financial moment triggered becomes `offer-available`, an ordinary decision's
/// offer nothing.
#[test]
fn offers_are_available_to_partners_only_when_a_moment_triggered_them() {
    let triggered = json!({"offer_id": "o1", "moment": {"moment_id": "m1"}});
    let mapping = mapping_of("offercontacts-c", "OfferPresented", &triggered).unwrap();
    assert_eq!(mapping.notification, "offer-available");
    for ordinary in [
        json!({"offer_id": "o1"}),
        json!({"offer_id": "o1", "moment": null}),
        json!(null),
    ] {
        assert!(
            mapping_of("offercontacts-c", "OfferPresented", &ordinary).is_none(),
            "{ordinary}"
        );
    }
    assert!(mapping_of("partner-1", "OfferPresented", &triggered).is_none());
}

#[test]
fn a_subject_copies_the_named_fields_and_nothing_else() {
    let payload = json!({"offer_id": "o1", "version": 2, "secret": "x",
                         "moment": {"moment_id": "m1", "customer_id": "cust-1"}});
    assert_eq!(
        subject_fields(
            &["/offer_id", "/version", "/moment/moment_id", "/expires_at"],
            &payload
        ),
        json!({"offer_id": "o1", "version": 2, "moment": {"moment_id": "m1"},
               "expires_at": null})
    );
}

/// The `offer-available` subject never carries the hub's customer id nor the moment's
/// provider (another partner, perhaps).
#[test]
fn an_available_offer_names_the_moment_but_not_the_customer() {
    let payload = json!({"offer_id": "o1", "proposition_id": "p1", "version": 1,
        "product_code": "TRAVEL-INS", "expires_at": "2027-02-01T00:00:00Z", "partners": ["a"],
        "moment": {"moment_id": "m1", "moment_type": "travel_booked", "provider": "airline",
                   "rule": "r", "reason": "You booked a trip abroad", "customer_id": "cust-1"}});
    let mapping = mapping_of("offercontacts-c", "OfferPresented", &payload).unwrap();
    let ecohub_sharing::domain::notifications::Audience::PayloadPartners {
        partners,
        customer,
        fields,
    } = mapping.audience
    else {
        panic!("co-brand partners are told")
    };
    assert_eq!(partners, "/moment/notify", "only those the customer allows");
    assert_eq!(payload.pointer(customer), Some(&json!("cust-1")));
    let subject = subject_fields(fields, &payload);
    assert_eq!(
        subject,
        json!({"offer_id": "o1", "proposition_id": "p1", "version": 1,
               "product_code": "TRAVEL-INS", "expires_at": "2027-02-01T00:00:00Z",
               "moment": {"moment_id": "m1", "moment_type": "travel_booked", "rule": "r",
                          "reason": "You booked a trip abroad"}})
    );
}

#[test]
fn a_notification_is_queued_once_claimed_once_and_retried_with_backoff() {
    given_no_history::<Notification>()
        .when(NotificationCommand::Queue(queued()))
        .then([NotificationEvent::Queued(queued())]);
    given::<Notification>([NotificationEvent::Queued(queued())])
        .when(NotificationCommand::Queue(queued()))
        .then([]);
    given::<Notification>([NotificationEvent::Queued(queued())])
        .at(NOW)
        .when(claim("a", NOW))
        .then([claimed(1, "a", NOW)]);
    given::<Notification>([NotificationEvent::Queued(queued()), claimed(1, "a", NOW)])
        .at(NOW)
        .when(claim("b", NOW))
        .then_refused("attempt already claimed");
    given::<Notification>([NotificationEvent::Queued(queued()), claimed(1, "a", NOW)])
        .at(NOW)
        .when(outcome("b", Some(202), None))
        .then_refused("attempt not claimed by this instance");
    let failed = Attempt {
        attempt: 1,
        status: Some(500),
        acknowledged: false,
        error: Some("receiver answered 500".into()),
        next_attempt_at: Some(NOW.plus(Duration::from_secs(10))),
        at: NOW,
    };
    let state = given::<Notification>([NotificationEvent::Queued(queued()), claimed(1, "a", NOW)])
        .at(NOW)
        .when(outcome("a", Some(500), Some("receiver answered 500")))
        .then([NotificationEvent::Attempted(failed.clone())]);
    assert_eq!(state.due_at(), Some(NOW.plus(Duration::from_secs(10))));
    let history = [
        NotificationEvent::Queued(queued()),
        claimed(1, "a", NOW),
        NotificationEvent::Attempted(failed.clone()),
    ];
    given::<Notification>(history.clone())
        .at(NOW.plus(Duration::from_secs(5)))
        .when(claim("a", NOW))
        .then_refused("notification is not due");
    // The last allowed attempt fails: given up, nothing more is due.
    let later = NOW.plus(Duration::from_secs(30));
    let mut second = failed.clone();
    second.attempt = 2;
    second.next_attempt_at = Some(later);
    let state = given::<Notification>([
        NotificationEvent::Queued(queued()),
        claimed(1, "a", NOW),
        NotificationEvent::Attempted(failed),
        claimed(2, "a", NOW),
        NotificationEvent::Attempted(second),
        claimed(3, "a", later),
    ])
    .at(later)
    .when(outcome("a", None, Some("timed out")));
    let state = state.then([NotificationEvent::Attempted(Attempt {
        attempt: 3,
        status: None,
        acknowledged: false,
        error: Some("timed out".into()),
        next_attempt_at: None,
        at: later,
    })]);
    assert_eq!(state.due_at(), None);
    assert_eq!(
        state.status,
        Some(NotificationStatus::Pending),
        "still pollable"
    );
}

#[test]
fn acknowledged_notifications_are_final() {
    let ack = Attempt {
        attempt: 1,
        status: Some(202),
        acknowledged: true,
        error: None,
        next_attempt_at: None,
        at: NOW,
    };
    let state = given::<Notification>([NotificationEvent::Queued(queued()), claimed(1, "a", NOW)])
        .at(NOW)
        .when(outcome("a", Some(202), None))
        .then([NotificationEvent::Attempted(ack.clone())]);
    assert_eq!(state.status, Some(NotificationStatus::Acknowledged));
    assert_eq!(state.due_at(), None);
    given::<Notification>([
        NotificationEvent::Queued(queued()),
        claimed(1, "a", NOW),
        NotificationEvent::Attempted(ack.clone()),
    ])
    .when(NotificationCommand::AcknowledgeByPoll)
    .then([]);
    given::<Notification>([NotificationEvent::Queued(queued())])
        .at(NOW)
        .when(NotificationCommand::RejectByPoll {
            err: "invalid_key".into(),
            description: "unknown kid".into(),
        })
        .then([NotificationEvent::Rejected {
            err: "invalid_key".into(),
            description: "unknown kid".into(),
            at: NOW,
        }]);
    given_no_history::<Notification>()
        .when(NotificationCommand::AcknowledgeByPoll)
        .then_refused("no such notification");
    for e in [
        NotificationEvent::Queued(queued()),
        claimed(1, "a", NOW),
        NotificationEvent::Attempted(ack),
        NotificationEvent::AcknowledgedByPoll { at: NOW },
    ] {
        assert_eq!(
            NotificationEvent::decode(e.event_type(), 1, &e.encode()).unwrap(),
            e
        );
    }
}

#[test]
fn subscriptions_validate_types_and_delete_once() {
    let created = SubscriptionData {
        subscription_id: "s1".into(),
        partner_id: "p1".into(),
        url: "https://p1.example/hook".into(),
        event_types: vec!["consent-revoked".into(), "data-updated".into()],
        created_at: NOW,
    };
    given_no_history::<EventSubscription>()
        .at(NOW)
        .when(SubscriptionCommand::CreateSubscription {
            subscription_id: "s1".into(),
            partner_id: "p1".into(),
            url: "https://p1.example/hook".into(),
            event_types: vec![
                "data-updated".into(),
                "consent-revoked".into(),
                "data-updated".into(),
            ],
        })
        .then([SubscriptionEvent::Created(created.clone())]);
    given_no_history::<EventSubscription>()
        .when(SubscriptionCommand::CreateSubscription {
            subscription_id: "s1".into(),
            partner_id: "p1".into(),
            url: "u".into(),
            event_types: vec!["consent-revoked".into(), "everything".into()],
        })
        .then_refused("/event_types/1: unknown event type everything");
    let deleted = SubscriptionEvent::Deleted {
        subscription_id: "s1".into(),
        partner_id: "p1".into(),
        at: NOW,
    };
    given::<EventSubscription>([SubscriptionEvent::Created(created.clone())])
        .at(NOW)
        .when(SubscriptionCommand::DeleteSubscription)
        .then([deleted.clone()]);
    given::<EventSubscription>([SubscriptionEvent::Created(created), deleted.clone()])
        .when(SubscriptionCommand::DeleteSubscription)
        .then_refused("subscription not found");
    assert_eq!(
        SubscriptionEvent::decode(deleted.event_type(), 1, &deleted.encode()).unwrap(),
        deleted
    );
}
