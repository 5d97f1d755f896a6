//! The stored schema is a public contract: payloads written by earlier builds (one example of
//! every sharing event type, copied from what the store holds today) still decode, and the
//! events encode back to the very same bytes.

use std::collections::BTreeMap;

use ecohub_kernel::{DomainEvent, Timestamp};
use ecohub_sharing::domain::access::DataAccessed;
use ecohub_sharing::domain::catalogue::{DatasetDefinition, DatasetEvent, DirectionRule};
use ecohub_sharing::domain::notifications::{
    Attempt, NotificationEvent, Queued, SubscriptionData, SubscriptionEvent,
};
use ecohub_sharing::domain::records::{Record, RecordsEvent};
use serde_json::{Value, json};

const AT: Timestamp = Timestamp::from_unix_seconds(1_800_000_000);
const LATER: Timestamp = Timestamp::from_unix_seconds(1_800_000_060);

/// `stored` (as the store holds it, compact JSON) decodes to `expected`, which encodes back
/// to exactly `stored`.
fn check<E: DomainEvent + PartialEq + std::fmt::Debug>(
    event_type: &str,
    stored: &str,
    expected: E,
) {
    let data: Value = serde_json::from_str(stored).expect("stored payload is JSON");
    let decoded = E::decode(event_type, 1, &data)
        .unwrap_or_else(|e| panic!("{event_type} v1 no longer decodes: {e}"));
    assert_eq!(decoded, expected, "{event_type}");
    assert_eq!(expected.event_type(), event_type);
    assert_eq!(expected.event_version(), 1);
    assert_eq!(
        serde_json::to_string(&expected.encode()).unwrap(),
        stored,
        "{event_type} encodes differently"
    );
}

#[test]
fn data_accessed_v1() {
    check(
        "DataAccessed",
        r#"{"at":"2027-01-15T08:00:00Z","client_id":"client-1","consent_id":"consent-1","customer":"pw-1","dataset":"accounts","fields":["account_id","nickname"],"interaction_id":"i-1","partner_id":"p-1","record_count":2}"#,
        DataAccessed {
            partner_id: "p-1".into(),
            client_id: "client-1".into(),
            consent_id: "consent-1".into(),
            customer: "pw-1".into(),
            dataset: "accounts".into(),
            fields: vec!["account_id".into(), "nickname".into()],
            record_count: 2,
            interaction_id: "i-1".into(),
            at: AT,
        },
    );
}

#[test]
fn records_published_v1() {
    check(
        "RecordsPublished",
        r#"{"at":"2027-01-15T08:00:00Z","customer_id":"cust-1","dataset":"accounts","provider":"bank","records":[{"data":{"n":1,"s":"x"},"id":"r-1"}]}"#,
        RecordsEvent::RecordsPublished {
            dataset: "accounts".into(),
            provider: "bank".into(),
            customer_id: "cust-1".into(),
            records: vec![Record {
                id: "r-1".into(),
                data: json!({"n": 1, "s": "x"}),
            }],
            at: AT,
        },
    );
}

fn definition(direction: bool) -> DatasetDefinition {
    DatasetDefinition {
        name: "transactions".into(),
        description: "what moved".into(),
        providers: vec!["bank".into(), "*".into()],
        schema: json!({"type": "object"}),
        fields: BTreeMap::from([("amount".into(), vec!["ReadTransactionsBasic".into()])]),
        direction: direction.then(|| DirectionRule {
            field: "credit_debit_indicator".into(),
            values: BTreeMap::from([("Credit".into(), vec!["ReadTransactionsCredits".into()])]),
        }),
        time_field: direction.then(|| "booked_at".into()),
    }
}

#[test]
fn dataset_defined_v1() {
    check(
        "DatasetDefined",
        r#"{"at":"2027-01-15T08:00:00Z","by":"client:admin","definition":{"description":"what moved","direction":{"field":"credit_debit_indicator","values":{"Credit":["ReadTransactionsCredits"]}},"fields":{"amount":["ReadTransactionsBasic"]},"name":"transactions","providers":["bank","*"],"schema":{"type":"object"},"time_field":"booked_at"}}"#,
        DatasetEvent::DatasetDefined {
            definition: definition(true),
            by: "client:admin".into(),
            at: AT,
        },
    );
    // Optional parts absent: not written, and read back as absent.
    check(
        "DatasetDefined",
        r#"{"at":"2027-01-15T08:00:00Z","by":"client:admin","definition":{"description":"what moved","fields":{"amount":["ReadTransactionsBasic"]},"name":"transactions","providers":["bank","*"],"schema":{"type":"object"}}}"#,
        DatasetEvent::DatasetDefined {
            definition: definition(false),
            by: "client:admin".into(),
            at: AT,
        },
    );
}

#[test]
fn event_subscription_v1() {
    check(
        "EventSubscriptionCreated",
        r#"{"created_at":"2027-01-15T08:00:00Z","event_types":["consent-revoked","data-updated"],"partner_id":"p-1","subscription_id":"s-1","url":"https://p.example/hook"}"#,
        SubscriptionEvent::Created(SubscriptionData {
            subscription_id: "s-1".into(),
            partner_id: "p-1".into(),
            url: "https://p.example/hook".into(),
            event_types: vec!["consent-revoked".into(), "data-updated".into()],
            created_at: AT,
        }),
    );
    check(
        "EventSubscriptionDeleted",
        r#"{"at":"2027-01-15T08:00:00Z","partner_id":"p-1","subscription_id":"s-1"}"#,
        SubscriptionEvent::Deleted {
            subscription_id: "s-1".into(),
            partner_id: "p-1".into(),
            at: AT,
        },
    );
}

#[test]
fn notification_v1() {
    check(
        "NotificationQueued",
        r#"{"at":"2027-01-15T08:00:00Z","claims":{"aud":"p-1","jti":"j-1"},"event_type":"consent-revoked","jti":"j-1","partner_id":"p-1","subscription_id":"s-1","url":"https://p.example/hook"}"#,
        NotificationEvent::Queued(Queued {
            jti: "j-1".into(),
            subscription_id: "s-1".into(),
            partner_id: "p-1".into(),
            url: "https://p.example/hook".into(),
            event_type: "consent-revoked".into(),
            claims: json!({"jti": "j-1", "aud": "p-1"}),
            at: AT,
        }),
    );
    check(
        "NotificationDeliveryClaimed",
        r#"{"attempt":1,"instance":"sharing-1","until":"2027-01-15T08:01:00Z"}"#,
        NotificationEvent::Claimed {
            attempt: 1,
            instance: "sharing-1".into(),
            until: LATER,
        },
    );
    check(
        "NotificationDeliveryAttempted",
        r#"{"acknowledged":false,"at":"2027-01-15T08:00:00Z","attempt":1,"error":"receiver answered 500","next_attempt_at":"2027-01-15T08:01:00Z","status":500}"#,
        NotificationEvent::Attempted(Attempt {
            attempt: 1,
            status: Some(500),
            acknowledged: false,
            error: Some("receiver answered 500".into()),
            next_attempt_at: Some(LATER),
            at: AT,
        }),
    );
    check(
        "NotificationDeliveryAttempted",
        r#"{"acknowledged":false,"at":"2027-01-15T08:00:00Z","attempt":2,"error":"timed out","next_attempt_at":null,"status":null}"#,
        NotificationEvent::Attempted(Attempt {
            attempt: 2,
            status: None,
            acknowledged: false,
            error: Some("timed out".into()),
            next_attempt_at: None,
            at: AT,
        }),
    );
    check(
        "NotificationAcknowledged",
        r#"{"at":"2027-01-15T08:00:00Z"}"#,
        NotificationEvent::AcknowledgedByPoll { at: AT },
    );
    check(
        "NotificationRejected",
        r#"{"at":"2027-01-15T08:00:00Z","description":"bad audience","err":"invalid_audience"}"#,
        NotificationEvent::Rejected {
            err: "invalid_audience".into(),
            description: "bad audience".into(),
            at: AT,
        },
    );
}
