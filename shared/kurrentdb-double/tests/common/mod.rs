//! Client helpers over the generated tonic client.
#![allow(dead_code)]

use std::net::SocketAddr;

use ecohub_kurrentdb_proto::gossip::gossip_client::GossipClient;
use ecohub_kurrentdb_proto::shared::{self as proto, Empty, StreamIdentifier};
use ecohub_kurrentdb_proto::streams::append_req::{self, options::ExpectedStreamRevision};
use ecohub_kurrentdb_proto::streams::read_req::{
    self,
    options::{
        AllOptions, CountOption, FilterOption, FilterOptions, ReadDirection, StreamOption,
        StreamOptions, SubscriptionOptions, UuidOption,
        all_options::AllOption,
        filter_options::{Expression, Filter, Window},
        stream_options::RevisionOption,
        uuid_option,
    },
};
use ecohub_kurrentdb_proto::streams::read_resp::{Content, read_event::RecordedEvent};
use ecohub_kurrentdb_proto::streams::{
    AppendReq, AppendResp, ReadReq, ReadResp, streams_client::StreamsClient,
};
use tonic::transport::Channel;
use uuid::Uuid;

pub use ecohub_kurrentdb_proto::streams::append_resp;

pub async fn streams(addr: SocketAddr) -> StreamsClient<Channel> {
    StreamsClient::connect(format!("http://{addr}"))
        .await
        .unwrap()
}

pub async fn gossip(addr: SocketAddr) -> GossipClient<Channel> {
    GossipClient::connect(format!("http://{addr}"))
        .await
        .unwrap()
}

pub fn leader_request<T>(message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert("requires-leader", "true".parse().unwrap());
    request
}

pub fn any() -> ExpectedStreamRevision {
    ExpectedStreamRevision::Any(Empty {})
}
pub fn no_stream() -> ExpectedStreamRevision {
    ExpectedStreamRevision::NoStream(Empty {})
}
pub fn stream_exists() -> ExpectedStreamRevision {
    ExpectedStreamRevision::StreamExists(Empty {})
}
pub fn exact(n: u64) -> ExpectedStreamRevision {
    ExpectedStreamRevision::Revision(n)
}

pub fn stream_id(name: &str) -> StreamIdentifier {
    StreamIdentifier {
        stream_name: name.as_bytes().to_vec(),
    }
}

pub fn proposed(id: Uuid, event_type: &str, data: &str) -> append_req::ProposedMessage {
    append_req::ProposedMessage {
        id: Some(proto::Uuid {
            value: Some(proto::uuid::Value::String(id.to_string())),
        }),
        metadata: [
            ("type".to_owned(), event_type.to_owned()),
            ("content-type".to_owned(), "application/json".to_owned()),
        ]
        .into_iter()
        .collect(),
        custom_metadata: br#"{"$correlationId":"c"}"#.to_vec(),
        data: data.as_bytes().to_vec(),
    }
}

pub fn append_messages(
    stream: &str,
    expected: ExpectedStreamRevision,
    events: Vec<append_req::ProposedMessage>,
) -> Vec<AppendReq> {
    let mut messages = vec![AppendReq {
        content: Some(append_req::Content::Options(append_req::Options {
            stream_identifier: Some(stream_id(stream)),
            expected_stream_revision: Some(expected),
        })),
    }];
    messages.extend(events.into_iter().map(|p| AppendReq {
        content: Some(append_req::Content::ProposedMessage(p)),
    }));
    messages
}

pub async fn try_append_raw(
    client: &mut StreamsClient<Channel>,
    messages: Vec<AppendReq>,
) -> Result<AppendResp, tonic::Status> {
    let request = leader_request(futures_util::stream::iter(messages));
    client.append(request).await.map(|r| r.into_inner())
}

pub async fn append(
    client: &mut StreamsClient<Channel>,
    stream: &str,
    expected: ExpectedStreamRevision,
    events: Vec<append_req::ProposedMessage>,
) -> append_resp::Result {
    try_append_raw(client, append_messages(stream, expected, events))
        .await
        .unwrap()
        .result
        .unwrap()
}

/// Appends one event with `any`, returns (revision, position).
pub async fn append_one(
    client: &mut StreamsClient<Channel>,
    stream: &str,
    event_type: &str,
) -> (u64, u64) {
    match append(
        client,
        stream,
        any(),
        vec![proposed(Uuid::new_v4(), event_type, "{}")],
    )
    .await
    {
        append_resp::Result::Success(s) => (revision(&s), position(&s)),
        other => panic!("{other:?}"),
    }
}

pub fn revision(s: &append_resp::Success) -> u64 {
    match s.current_revision_option {
        Some(append_resp::success::CurrentRevisionOption::CurrentRevision(r)) => r,
        ref other => panic!("{other:?}"),
    }
}

pub fn position(s: &append_resp::Success) -> u64 {
    match &s.position_option {
        Some(append_resp::success::PositionOption::Position(p)) => {
            assert_eq!(p.commit_position, p.prepare_position);
            p.commit_position
        }
        other => panic!("{other:?}"),
    }
}

pub fn read_options(
    stream_option: StreamOption,
    forwards: bool,
    count_option: CountOption,
    filter_option: FilterOption,
) -> ReadReq {
    ReadReq {
        options: Some(read_req::Options {
            stream_option: Some(stream_option),
            read_direction: if forwards {
                ReadDirection::Forwards as i32
            } else {
                ReadDirection::Backwards as i32
            },
            resolve_links: false,
            count_option: Some(count_option),
            filter_option: Some(filter_option),
            uuid_option: Some(UuidOption {
                content: Some(uuid_option::Content::String(Empty {})),
            }),
            control_option: None,
        }),
    }
}

pub fn stream_option(name: &str, from: RevisionOption) -> StreamOption {
    StreamOption::Stream(StreamOptions {
        stream_identifier: Some(stream_id(name)),
        revision_option: Some(from),
    })
}

pub fn all_option(from: AllOption) -> StreamOption {
    StreamOption::All(AllOptions {
        all_option: Some(from),
    })
}

pub fn at(position: u64) -> AllOption {
    AllOption::Position(read_req::options::Position {
        commit_position: position,
        prepare_position: position,
    })
}

pub fn no_filter() -> FilterOption {
    FilterOption::NoFilter(Empty {})
}

pub fn stream_prefix_filter(prefixes: &[&str], max: u32) -> FilterOption {
    filter(Filter::StreamIdentifier(prefix_expression(prefixes)), max)
}

pub fn type_prefix_filter(prefixes: &[&str], max: u32) -> FilterOption {
    filter(Filter::EventType(prefix_expression(prefixes)), max)
}

pub fn type_regex_filter(regex: &str) -> FilterOption {
    filter(
        Filter::EventType(Expression {
            regex: regex.to_owned(),
            prefix: Vec::new(),
        }),
        32,
    )
}

pub fn stream_regex_filter(regex: &str) -> FilterOption {
    filter(
        Filter::StreamIdentifier(Expression {
            regex: regex.to_owned(),
            prefix: Vec::new(),
        }),
        32,
    )
}

fn prefix_expression(prefixes: &[&str]) -> Expression {
    Expression {
        regex: String::new(),
        prefix: prefixes.iter().map(|p| (*p).to_owned()).collect(),
    }
}

fn filter(f: Filter, max: u32) -> FilterOption {
    FilterOption::Filter(FilterOptions {
        filter: Some(f),
        window: Some(Window::Max(max)),
        checkpoint_interval_multiplier: 1,
    })
}

pub fn count(n: u64) -> CountOption {
    CountOption::Count(n)
}

pub fn subscription() -> CountOption {
    CountOption::Subscription(SubscriptionOptions {})
}

/// All messages of a finite read (without `requires-leader`: any node answers).
pub async fn read(client: &mut StreamsClient<Channel>, request: ReadReq) -> Vec<ReadResp> {
    let mut stream = client.read(request).await.unwrap().into_inner();
    let mut out = Vec::new();
    while let Some(m) = stream.message().await.unwrap() {
        out.push(m);
    }
    out
}

/// The events of a finite read.
pub async fn read_events(
    client: &mut StreamsClient<Channel>,
    request: ReadReq,
) -> Vec<RecordedEvent> {
    read(client, request)
        .await
        .into_iter()
        .map(|m| match m.content {
            Some(Content::Event(e)) => e.event.unwrap(),
            other => panic!("not an event: {other:?}"),
        })
        .collect()
}

pub fn stream_of(e: &RecordedEvent) -> String {
    String::from_utf8(e.stream_identifier.as_ref().unwrap().stream_name.clone()).unwrap()
}

pub fn type_of(e: &RecordedEvent) -> &str {
    &e.metadata["type"]
}

pub fn id_of(e: &RecordedEvent) -> Uuid {
    match e.id.as_ref().unwrap().value.as_ref().unwrap() {
        proto::uuid::Value::String(s) => Uuid::parse_str(s).unwrap(),
        proto::uuid::Value::Structured(s) => Uuid::from_u64_pair(
            s.most_significant_bits as u64,
            s.least_significant_bits as u64,
        ),
    }
}

/// User events only (the double's system events are in `$`-prefixed streams).
pub fn user(events: Vec<RecordedEvent>) -> Vec<RecordedEvent> {
    events
        .into_iter()
        .filter(|e| !stream_of(e).starts_with('$'))
        .collect()
}
