use ecohub_kernel::testing::{given, given_no_history};
use ecohub_kernel::{DomainEvent, Timestamp};
use ecohub_sharing::domain::records::{
    CustomerRecords, Record, RecordsCommand, RecordsEvent, records_stream,
};
use serde_json::json;

const NOW: Timestamp = Timestamp::from_unix_seconds(1_800_000_000);

fn record(id: &str, n: i64) -> Record {
    Record {
        id: id.into(),
        data: json!({"n": n}),
    }
}

fn publish(records: Vec<Record>) -> RecordsCommand {
    RecordsCommand::PublishRecords {
        dataset: "accounts".into(),
        provider: "bank".into(),
        customer_id: "cust-1".into(),
        records,
    }
}

fn published(records: Vec<Record>) -> RecordsEvent {
    RecordsEvent::RecordsPublished {
        dataset: "accounts".into(),
        provider: "bank".into(),
        customer_id: "cust-1".into(),
        records,
        at: NOW,
    }
}

#[test]
fn new_and_changed_records_are_published_unchanged_ones_skipped() {
    given_no_history::<CustomerRecords>()
        .at(NOW)
        .when(publish(vec![record("r1", 1), record("r2", 2)]))
        .then([published(vec![record("r1", 1), record("r2", 2)])]);
    given::<CustomerRecords>([published(vec![record("r1", 1), record("r2", 2)])])
        .at(NOW)
        .when(publish(vec![
            record("r1", 1),
            record("r2", 3),
            record("r3", 1),
        ]))
        .then([published(vec![record("r2", 3), record("r3", 1)])]);
    let state = given::<CustomerRecords>([published(vec![record("r1", 1)])])
        .when(publish(vec![record("r1", 1)]))
        .then([]);
    assert_eq!(state.len(), 1);
}

#[test]
fn malformed_publications_are_refused() {
    given_no_history::<CustomerRecords>()
        .when(publish(vec![]))
        .then_refused("/records: must not be empty");
    given_no_history::<CustomerRecords>()
        .when(publish(vec![record("r1", 1), record("r1", 2)]))
        .then_refused("/records/1/id: is repeated in this publication");
    given_no_history::<CustomerRecords>()
        .when(publish(vec![record(" ", 1)]))
        .then_refused("/records/0/id: must be 1 to 128 characters");
    given_no_history::<CustomerRecords>()
        .when(publish(
            (0..501).map(|i| record(&i.to_string(), i)).collect(),
        ))
        .then_refused("/records: must hold at most 500 records");
}

#[test]
fn streams_hide_the_customer_and_events_round_trip() {
    let stream = records_stream("accounts", "bank", "cust-1");
    assert!(stream.starts_with("records-") && !stream.contains("cust-1"));
    assert_eq!(stream, records_stream("accounts", "bank", "cust-1"));
    assert_ne!(stream, records_stream("accounts", "bank", "cust-2"));
    let e = published(vec![record("r1", 1)]);
    assert_eq!(
        RecordsEvent::decode(e.event_type(), e.event_version(), &e.encode()).unwrap(),
        e
    );
    assert!(RecordsEvent::decode("RecordsDeleted", 1, &e.encode()).is_err());
}
