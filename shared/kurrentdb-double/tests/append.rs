//! Streams.Append: round trip, expected revisions, conflicts as successful responses,
//! idempotent retries, validation, serialized concurrent writers.

mod common;

use common::*;
use ecohub_kurrentdb_double::DoubleCluster;
use ecohub_kurrentdb_proto::shared::{self as proto, Empty};
use ecohub_kurrentdb_proto::streams::append_resp::{
    Result as R,
    success::CurrentRevisionOption,
    success::PositionOption,
    wrong_expected_version::{CurrentRevisionOption as Current, ExpectedRevisionOption as Exp},
};
use ecohub_kurrentdb_proto::streams::read_req::options::stream_options::RevisionOption;
use tonic::Code;
use uuid::Uuid;

#[tokio::test]
async fn append_then_read_round_trips_data_and_metadata() {
    let cluster = DoubleCluster::start(1).await;
    let mut client = streams(cluster.endpoints()[0]).await;
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
        / 100;
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    let result = append(
        &mut client,
        "order-1",
        no_stream(),
        vec![
            proposed(a, "OrderPlaced", r#"{"n":1}"#),
            proposed(b, "OrderPaid", r#"{"n":2}"#),
        ],
    )
    .await;
    let R::Success(s) = result else {
        panic!("{result:?}")
    };
    assert_eq!(revision(&s), 1);
    let last_position = position(&s);

    let events = read_events(
        &mut client,
        read_options(
            stream_option("order-1", RevisionOption::Start(Empty {})),
            true,
            count(10),
            no_filter(),
        ),
    )
    .await;
    assert_eq!(events.len(), 2);
    assert_eq!(events.iter().map(id_of).collect::<Vec<_>>(), vec![a, b]);
    assert_eq!(
        events.iter().map(|e| e.stream_revision).collect::<Vec<_>>(),
        vec![0, 1]
    );
    assert_eq!(type_of(&events[0]), "OrderPlaced");
    assert_eq!(type_of(&events[1]), "OrderPaid");
    for e in &events {
        assert_eq!(e.metadata["content-type"], "application/json");
        let created: u128 = e.metadata["created"].parse().unwrap();
        assert!(
            created >= before,
            "created is 100 ns ticks since the Unix epoch"
        );
        assert_eq!(e.custom_metadata, br#"{"$correlationId":"c"}"#);
        assert_eq!(e.commit_position, e.prepare_position);
        assert_eq!(stream_of(e), "order-1");
    }
    assert_eq!(events[0].data, br#"{"n":1}"#);
    assert_eq!(events[1].commit_position, last_position);
    assert_eq!(cluster.event_count(), 2 + 2);
}

#[tokio::test]
async fn every_expected_revision_case() {
    let cluster = DoubleCluster::start(1).await;
    let mut client = streams(cluster.endpoints()[0]).await;
    let ev = || vec![proposed(Uuid::new_v4(), "T", "{}")];

    // Missing stream.
    match append(&mut client, "s", stream_exists(), ev()).await {
        R::WrongExpectedVersion(w) => {
            assert_eq!(
                w.current_revision_option,
                Some(Current::CurrentNoStream(Empty {}))
            );
            assert_eq!(
                w.expected_revision_option,
                Some(Exp::ExpectedStreamExists(Empty {}))
            );
        }
        other => panic!("{other:?}"),
    }
    match append(&mut client, "s", exact(0), ev()).await {
        R::WrongExpectedVersion(w) => {
            assert_eq!(
                w.current_revision_option,
                Some(Current::CurrentNoStream(Empty {}))
            );
            assert_eq!(w.expected_revision_option, Some(Exp::ExpectedRevision(0)));
        }
        other => panic!("{other:?}"),
    }
    // Empty append to a missing stream: success, no stream, no position.
    match append(&mut client, "s", no_stream(), vec![]).await {
        R::Success(s) => {
            assert_eq!(
                s.current_revision_option,
                Some(CurrentRevisionOption::NoStream(Empty {}))
            );
            assert_eq!(
                s.position_option,
                Some(PositionOption::NoPosition(Empty {}))
            );
        }
        other => panic!("{other:?}"),
    }
    let R::Success(s) = append(&mut client, "s", no_stream(), ev()).await else {
        panic!()
    };
    assert_eq!(revision(&s), 0);
    let R::Success(s) = append(&mut client, "s", exact(0), ev()).await else {
        panic!()
    };
    assert_eq!(revision(&s), 1);
    let R::Success(s) = append(&mut client, "s", stream_exists(), ev()).await else {
        panic!()
    };
    assert_eq!(revision(&s), 2);
    let R::Success(s) = append(&mut client, "s", any(), ev()).await else {
        panic!()
    };
    assert_eq!(revision(&s), 3);

    // Conflicts are successful responses carrying the current revision.
    match append(&mut client, "s", no_stream(), ev()).await {
        R::WrongExpectedVersion(w) => {
            assert_eq!(w.current_revision_option, Some(Current::CurrentRevision(3)));
            assert_eq!(
                w.expected_revision_option,
                Some(Exp::ExpectedNoStream(Empty {}))
            );
        }
        other => panic!("{other:?}"),
    }
    for stale in [0, 2, 4, 99] {
        match append(&mut client, "s", exact(stale), ev()).await {
            R::WrongExpectedVersion(w) => {
                assert_eq!(w.current_revision_option, Some(Current::CurrentRevision(3)));
                assert_eq!(
                    w.expected_revision_option,
                    Some(Exp::ExpectedRevision(stale))
                );
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(cluster.event_count(), 2 + 4);
}

#[tokio::test]
async fn retries_of_the_same_ids_are_idempotent() {
    let cluster = DoubleCluster::start(1).await;
    let mut client = streams(cluster.endpoints()[0]).await;
    append_one(&mut client, "acc-1", "Opened").await;
    let ids = [Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4()];
    let batch = || {
        ids.iter()
            .map(|&id| proposed(id, "Deposited", "{}"))
            .collect::<Vec<_>>()
    };

    let R::Success(first) = append(&mut client, "acc-1", exact(0), batch()).await else {
        panic!()
    };
    assert_eq!(revision(&first), 3);
    let count_after = cluster.event_count();

    // Same ids, same expected revision: the original answer, nothing written.
    let R::Success(retry) = append(&mut client, "acc-1", exact(0), batch()).await else {
        panic!()
    };
    assert_eq!(retry, first);
    // With `any`: found in order in the stream.
    let R::Success(retry) = append(&mut client, "acc-1", any(), batch()).await else {
        panic!()
    };
    assert_eq!(retry, first);
    // A tail of the batch at its own revision.
    let R::Success(tail) = append(
        &mut client,
        "acc-1",
        exact(2),
        vec![proposed(ids[2], "Deposited", "{}")],
    )
    .await
    else {
        panic!()
    };
    assert_eq!(tail, first);
    assert_eq!(cluster.event_count(), count_after);

    // Partial overlap: a conflict, nothing written.
    let overlap = vec![
        proposed(ids[0], "Deposited", "{}"),
        proposed(Uuid::new_v4(), "Deposited", "{}"),
    ];
    match append(&mut client, "acc-1", exact(0), overlap.clone()).await {
        R::WrongExpectedVersion(w) => {
            assert_eq!(w.current_revision_option, Some(Current::CurrentRevision(3)));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        append(&mut client, "acc-1", any(), overlap).await,
        R::WrongExpectedVersion(_)
    ));
    assert_eq!(cluster.event_count(), count_after);
}

#[tokio::test]
async fn invalid_proposals_are_rejected() {
    let cluster = DoubleCluster::start(1).await;
    let mut client = streams(cluster.endpoints()[0]).await;
    let mut no_type = proposed(Uuid::new_v4(), "T", "{}");
    no_type.metadata.remove("type");
    let mut no_content_type = proposed(Uuid::new_v4(), "T", "{}");
    no_content_type.metadata.remove("content-type");
    let mut no_id = proposed(Uuid::new_v4(), "T", "{}");
    no_id.id = None;
    for bad in [no_type, no_content_type, no_id] {
        let status = try_append_raw(&mut client, append_messages("s", any(), vec![bad]))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    }
    // Events before the options.
    let mut messages = append_messages("s", any(), vec![proposed(Uuid::new_v4(), "T", "{}")]);
    messages.reverse();
    let status = try_append_raw(&mut client, messages).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(cluster.event_count(), 2);
}

#[tokio::test]
async fn structured_ids_are_accepted_and_returned_on_request() {
    use ecohub_kurrentdb_proto::streams::read_req::options::{UuidOption, uuid_option};
    let cluster = DoubleCluster::start(1).await;
    let mut client = streams(cluster.endpoints()[0]).await;
    let id = Uuid::new_v4();
    let (hi, lo) = id.as_u64_pair();
    let mut event = proposed(id, "T", "{}");
    event.id = Some(proto::Uuid {
        value: Some(proto::uuid::Value::Structured(proto::uuid::Structured {
            most_significant_bits: hi as i64,
            least_significant_bits: lo as i64,
        })),
    });
    assert!(matches!(
        append(&mut client, "s", no_stream(), vec![event]).await,
        R::Success(_)
    ));

    let mut request = read_options(
        stream_option("s", RevisionOption::Start(Empty {})),
        true,
        count(1),
        no_filter(),
    );
    let events = read_events(&mut client, request.clone()).await;
    assert!(matches!(
        events[0].id.as_ref().unwrap().value,
        Some(proto::uuid::Value::String(_))
    ));
    assert_eq!(id_of(&events[0]), id);
    request.options.as_mut().unwrap().uuid_option = Some(UuidOption {
        content: Some(uuid_option::Content::Structured(Empty {})),
    });
    let events = read_events(&mut client, request).await;
    assert!(matches!(
        events[0].id.as_ref().unwrap().value,
        Some(proto::uuid::Value::Structured(_))
    ));
    assert_eq!(id_of(&events[0]), id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_at_the_same_revision_serialize() {
    let cluster = DoubleCluster::start(1).await;
    let addr = cluster.endpoints()[0];
    let mut client = streams(addr).await;
    append_one(&mut client, "race", "Start").await;
    let mut tasks = Vec::new();
    for _ in 0..16 {
        tasks.push(tokio::spawn(async move {
            let mut client = streams(addr).await;
            append(
                &mut client,
                "race",
                exact(0),
                vec![proposed(Uuid::new_v4(), "Go", "{}")],
            )
            .await
        }));
    }
    let mut winners = 0;
    for t in tasks {
        match t.await.unwrap() {
            R::Success(s) => {
                assert_eq!(revision(&s), 1);
                winners += 1;
            }
            R::WrongExpectedVersion(w) => {
                assert_eq!(w.current_revision_option, Some(Current::CurrentRevision(1)));
            }
        }
    }
    assert_eq!(winners, 1);
    assert_eq!(cluster.event_count(), 2 + 2);
}
