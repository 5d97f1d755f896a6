//! Streams.BatchAppend (what the official clients use for several events) and
//! ServerFeatures.GetSupportedMethods (how they find it): one atomic append per correlation id,
//! possibly over several requests, answered in the response stream with the server's
//! `google.rpc.Status` errors (wrong expected version, bad request, timeout).

mod common;

use std::time::{Duration, SystemTime};

use common::*;
use ecohub_kurrentdb_double::DoubleCluster;
use ecohub_kurrentdb_proto::google::rpc;
use ecohub_kurrentdb_proto::server_features::server_features_client::ServerFeaturesClient;
use ecohub_kurrentdb_proto::shared::{self as proto, Empty};
use ecohub_kurrentdb_proto::streams::batch_append_req::{
    self, ProposedMessage,
    options::{DeadlineOption, ExpectedStreamPosition as P},
};
use ecohub_kurrentdb_proto::streams::batch_append_resp::{
    self, success::CurrentRevisionOption, success::PositionOption,
};
use ecohub_kurrentdb_proto::streams::read_req::options::stream_options::RevisionOption;
use ecohub_kurrentdb_proto::streams::{BatchAppendReq, BatchAppendResp};
use prost::Message;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Code, Streaming};
use uuid::Uuid;

type Client =
    ecohub_kurrentdb_proto::streams::streams_client::StreamsClient<tonic::transport::Channel>;

fn uuid(id: Uuid) -> Option<proto::Uuid> {
    Some(proto::Uuid {
        value: Some(proto::uuid::Value::String(id.to_string())),
    })
}

fn event(id: Uuid, event_type: &str) -> ProposedMessage {
    let p = proposed(id, event_type, "{}");
    ProposedMessage {
        id: p.id,
        metadata: p.metadata,
        custom_metadata: p.custom_metadata,
        data: p.data,
    }
}

fn options(stream: &str, expected: P) -> batch_append_req::Options {
    batch_append_req::Options {
        stream_identifier: Some(stream_id(stream)),
        expected_stream_position: Some(expected),
        deadline_option: Some(DeadlineOption::Deadline(prost_types::Duration {
            seconds: 10,
            nanos: 0,
        })),
    }
}

fn request(
    correlation: Uuid,
    options: Option<batch_append_req::Options>,
    events: Vec<ProposedMessage>,
    is_final: bool,
) -> BatchAppendReq {
    BatchAppendReq {
        correlation_id: uuid(correlation),
        options,
        proposed_messages: events,
        is_final,
    }
}

/// An open BatchAppend call: requests go in through `tx`, answers come out of `rx`.
struct Call {
    tx: mpsc::Sender<BatchAppendReq>,
    rx: Streaming<BatchAppendResp>,
}

impl Call {
    async fn open(client: &mut Client) -> Call {
        let (tx, requests) = mpsc::channel(16);
        let rx = client
            .batch_append(leader_request(ReceiverStream::new(requests)))
            .await
            .unwrap()
            .into_inner();
        Call { tx, rx }
    }

    async fn send(&self, request: BatchAppendReq) {
        self.tx.send(request).await.unwrap();
    }

    async fn answer(&mut self) -> BatchAppendResp {
        self.rx.message().await.unwrap().expect("an answer")
    }
}

/// One complete batch in one request, its answer.
async fn batch(
    client: &mut Client,
    stream: &str,
    expected: P,
    events: Vec<ProposedMessage>,
) -> BatchAppendResp {
    let mut call = Call::open(client).await;
    call.send(request(
        Uuid::new_v4(),
        Some(options(stream, expected)),
        events,
        true,
    ))
    .await;
    call.answer().await
}

fn success(answer: &BatchAppendResp) -> (Option<u64>, Option<u64>) {
    match &answer.result {
        Some(batch_append_resp::Result::Success(s)) => (
            match s.current_revision_option {
                Some(CurrentRevisionOption::CurrentRevision(r)) => Some(r),
                Some(CurrentRevisionOption::NoStream(_)) => None,
                None => panic!("no current revision"),
            },
            match &s.position_option {
                Some(PositionOption::Position(p)) => {
                    assert_eq!(p.commit_position, p.prepare_position);
                    Some(p.commit_position)
                }
                Some(PositionOption::NoPosition(_)) => None,
                None => panic!("no position"),
            },
        ),
        other => panic!("expected success, got {other:?}"),
    }
}

fn error(answer: &BatchAppendResp) -> &rpc::Status {
    match &answer.result {
        Some(batch_append_resp::Result::Error(status)) => status,
        other => panic!("expected an error, got {other:?}"),
    }
}

fn wrong_expected_version(answer: &BatchAppendResp) -> proto::WrongExpectedVersion {
    let status = error(answer);
    assert_eq!(status.code, Code::AlreadyExists as i32, "{status:?}");
    let details = status.details.as_ref().unwrap();
    assert_eq!(
        details.type_url,
        "type.googleapis.com/event_store.client.WrongExpectedVersion"
    );
    proto::WrongExpectedVersion::decode(details.value.as_slice()).unwrap()
}

async fn stream_types(client: &mut Client, stream: &str) -> Vec<String> {
    read_events(
        client,
        read_options(
            stream_option(stream, RevisionOption::Start(Empty {})),
            true,
            count(100),
            no_filter(),
        ),
    )
    .await
    .iter()
    .map(|e| type_of(e).to_owned())
    .collect()
}

#[tokio::test]
async fn a_batch_appends_atomically_and_answers_with_revision_and_position() {
    let cluster = DoubleCluster::start(1).await;
    let mut client = streams(cluster.endpoints()[0]).await;
    let events = vec![
        event(Uuid::new_v4(), "A"),
        event(Uuid::new_v4(), "B"),
        event(Uuid::new_v4(), "C"),
    ];
    let answer = batch(&mut client, "s-1", P::NoStream(Empty {}), events).await;
    assert_eq!(answer.stream_identifier, Some(stream_id("s-1")));
    let (revision, position) = success(&answer);
    assert_eq!(revision, Some(2));
    assert_eq!(stream_types(&mut client, "s-1").await, ["A", "B", "C"]);
    let last = read_events(
        &mut client,
        read_options(
            stream_option("s-1", RevisionOption::End(Empty {})),
            false,
            count(1),
            no_filter(),
        ),
    )
    .await;
    assert_eq!(Some(last[0].commit_position), position);
    // Every expected-position form.
    for (expected, ty) in [
        (P::StreamPosition(2), "D"),
        (P::StreamExists(Empty {}), "E"),
        (P::Any(Empty {}), "F"),
    ] {
        let answer = batch(
            &mut client,
            "s-1",
            expected,
            vec![event(Uuid::new_v4(), ty)],
        )
        .await;
        assert!(success(&answer).1 > position);
    }
    assert_eq!(
        stream_types(&mut client, "s-1").await,
        ["A", "B", "C", "D", "E", "F"]
    );
    // An empty batch writes nothing: no position.
    let answer = batch(&mut client, "empty", P::NoStream(Empty {}), Vec::new()).await;
    assert_eq!(success(&answer), (None, None));
}

#[tokio::test]
async fn conflicts_are_wrong_expected_version_statuses_and_retries_are_idempotent() {
    use proto::wrong_expected_version::{
        CurrentStreamRevisionOption as Current, ExpectedStreamPositionOption as Expected,
    };
    let cluster = DoubleCluster::start(1).await;
    let mut client = streams(cluster.endpoints()[0]).await;
    let wev = wrong_expected_version(
        &batch(
            &mut client,
            "s-1",
            P::StreamExists(Empty {}),
            vec![event(Uuid::new_v4(), "A")],
        )
        .await,
    );
    assert_eq!(
        wev.current_stream_revision_option,
        Some(Current::CurrentNoStream(Empty {}))
    );
    assert_eq!(
        wev.expected_stream_position_option,
        Some(Expected::ExpectedStreamExists(Empty {}))
    );
    let events = vec![event(Uuid::new_v4(), "A"), event(Uuid::new_v4(), "B")];
    let first = batch(&mut client, "s-1", P::NoStream(Empty {}), events.clone()).await;
    // The same ids at the same expected position: the first answer again, nothing written.
    let again = batch(&mut client, "s-1", P::NoStream(Empty {}), events).await;
    assert_eq!(success(&again), success(&first));
    let wev = wrong_expected_version(
        &batch(
            &mut client,
            "s-1",
            P::StreamPosition(5),
            vec![event(Uuid::new_v4(), "C")],
        )
        .await,
    );
    assert_eq!(
        wev.current_stream_revision_option,
        Some(Current::CurrentStreamRevision(1))
    );
    assert_eq!(
        wev.expected_stream_position_option,
        Some(Expected::ExpectedStreamPosition(5))
    );
    let wev = wrong_expected_version(
        &batch(
            &mut client,
            "s-1",
            P::NoStream(Empty {}),
            vec![event(Uuid::new_v4(), "C")],
        )
        .await,
    );
    assert_eq!(
        wev.expected_stream_position_option,
        Some(Expected::ExpectedNoStream(Empty {}))
    );
    assert_eq!(stream_types(&mut client, "s-1").await, ["A", "B"]);
}

#[tokio::test]
async fn batches_are_multiplexed_and_split_over_requests_on_one_call() {
    let cluster = DoubleCluster::start(1).await;
    let mut client = streams(cluster.endpoints()[0]).await;
    let mut call = Call::open(&mut client).await;
    let (x, y) = (Uuid::new_v4(), Uuid::new_v4());
    // x's options and first chunk, y complete, x's second and last chunk.
    call.send(request(
        x,
        Some(options("x", P::NoStream(Empty {}))),
        vec![event(Uuid::new_v4(), "X1")],
        false,
    ))
    .await;
    call.send(request(
        y,
        Some(options("y", P::Any(Empty {}))),
        vec![event(Uuid::new_v4(), "Y1")],
        true,
    ))
    .await;
    let answer = call.answer().await;
    assert_eq!(answer.correlation_id, uuid(y));
    assert_eq!(success(&answer).0, Some(0));
    // Nothing of x is written before its final request.
    assert_eq!(cluster.event_count(), 2 + 1);
    call.send(request(
        x,
        None,
        vec![event(Uuid::new_v4(), "X2"), event(Uuid::new_v4(), "X3")],
        true,
    ))
    .await;
    let answer = call.answer().await;
    assert_eq!(answer.correlation_id, uuid(x));
    assert_eq!(answer.stream_identifier, Some(stream_id("x")));
    assert_eq!(success(&answer).0, Some(2));
    assert_eq!(stream_types(&mut client, "x").await, ["X1", "X2", "X3"]);
    // Requests for an unknown correlation id (no options first) are ignored; the call ends
    // when the client ends its requests.
    call.send(request(
        Uuid::new_v4(),
        None,
        vec![event(Uuid::new_v4(), "Z")],
        true,
    ))
    .await;
    drop(call.tx);
    assert!(call.rx.message().await.unwrap().is_none());
    assert_eq!(cluster.event_count(), 2 + 4);
}

#[tokio::test]
async fn bad_requests_and_passed_deadlines_are_answered_not_written() {
    let cluster = DoubleCluster::start(1).await;
    let mut client = streams(cluster.endpoints()[0]).await;
    let mut call = Call::open(&mut client).await;
    let bad = |answer: &BatchAppendResp| {
        let status = error(answer);
        assert_eq!(status.code, Code::InvalidArgument as i32, "{status:?}");
        assert_eq!(
            status.details.as_ref().unwrap().type_url,
            "type.googleapis.com/event_store.client.BadRequest"
        );
    };
    let mut no_type = event(Uuid::new_v4(), "T");
    no_type.metadata.remove("type");
    call.send(request(
        Uuid::new_v4(),
        Some(options("s", P::Any(Empty {}))),
        vec![no_type],
        true,
    ))
    .await;
    bad(&call.answer().await);
    let mut no_stream_name = options("s", P::Any(Empty {}));
    no_stream_name.stream_identifier = None;
    call.send(request(
        Uuid::new_v4(),
        Some(no_stream_name),
        vec![event(Uuid::new_v4(), "T")],
        true,
    ))
    .await;
    bad(&call.answer().await);
    let mut no_expected = options("s", P::Any(Empty {}));
    no_expected.expected_stream_position = None;
    call.send(request(
        Uuid::new_v4(),
        Some(no_expected),
        vec![event(Uuid::new_v4(), "T")],
        true,
    ))
    .await;
    bad(&call.answer().await);
    call.send(BatchAppendReq {
        correlation_id: None,
        ..request(
            Uuid::new_v4(),
            Some(options("s", P::Any(Empty {}))),
            vec![],
            true,
        )
    })
    .await;
    bad(&call.answer().await);
    // A deadline already passed, as a duration and as the older absolute time.
    for deadline in [
        DeadlineOption::Deadline(prost_types::Duration {
            seconds: 0,
            nanos: 0,
        }),
        DeadlineOption::Deadline21100(prost_types::Timestamp::from(
            SystemTime::now() - Duration::from_secs(1),
        )),
    ] {
        let mut late = options("s", P::Any(Empty {}));
        late.deadline_option = Some(deadline);
        call.send(request(
            Uuid::new_v4(),
            Some(late),
            vec![event(Uuid::new_v4(), "T")],
            true,
        ))
        .await;
        let answer = call.answer().await;
        let status = error(&answer);
        assert_eq!(status.code, Code::DeadlineExceeded as i32, "{status:?}");
    }
    // The call survives all of that.
    let answer = {
        call.send(request(
            Uuid::new_v4(),
            Some(options("s", P::Any(Empty {}))),
            vec![event(Uuid::new_v4(), "T")],
            true,
        ))
        .await;
        call.answer().await
    };
    assert_eq!(success(&answer).0, Some(0));
    assert_eq!(cluster.event_count(), 2 + 1);
}

#[tokio::test]
async fn a_follower_redirects_batch_appends_to_the_leader() {
    let cluster = DoubleCluster::start(3).await;
    let mut follower = streams(cluster.endpoints()[1]).await;
    let (_tx, requests) = mpsc::channel::<BatchAppendReq>(1);
    let status = follower
        .batch_append(leader_request(ReceiverStream::new(requests)))
        .await
        .map(|_| ())
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    assert_eq!(status.metadata().get("exception").unwrap(), "not-leader");
}

#[tokio::test]
async fn server_features_name_batch_append() {
    let cluster = DoubleCluster::start(1).await;
    let mut client = ServerFeaturesClient::connect(format!("http://{}", cluster.endpoints()[0]))
        .await
        .unwrap();
    let supported = client
        .get_supported_methods(Empty {})
        .await
        .unwrap()
        .into_inner();
    assert!(!supported.event_store_server_version.is_empty());
    let methods: Vec<(String, String)> = supported
        .methods
        .iter()
        .map(|m| (m.service_name.clone(), m.method_name.clone()))
        .collect();
    for (service, method) in [
        ("event_store.client.streams.streams", "read"),
        ("event_store.client.streams.streams", "append"),
        ("event_store.client.streams.streams", "batchappend"),
        ("event_store.client.gossip.gossip", "read"),
    ] {
        assert!(
            methods.contains(&(service.to_owned(), method.to_owned())),
            "{service}/{method} in {methods:?}"
        );
    }
    // Nothing the double does not serve (persistent subscriptions, the v2 append session…).
    assert!(
        methods
            .iter()
            .all(|(s, _)| !s.contains("persistent") && !s.contains("v2"))
    );
}
