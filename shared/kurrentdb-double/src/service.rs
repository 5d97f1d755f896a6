//! The gRPC services of one node: `Streams` (Read, Append) and `Gossip` (Read).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use ecohub_kurrentdb_proto::gossip::{self, ClusterInfo, MemberInfo, gossip_server::Gossip};
use ecohub_kurrentdb_proto::shared::{self as proto, Empty, StreamIdentifier};
use ecohub_kurrentdb_proto::streams::append_req::{self, options::ExpectedStreamRevision};
use ecohub_kurrentdb_proto::streams::append_resp::{self, wrong_expected_version as wev};
use ecohub_kurrentdb_proto::streams::read_req::options::{
    self as read_options, CountOption, FilterOption, ReadDirection, StreamOption,
    all_options::AllOption, stream_options::RevisionOption, uuid_option,
};
use ecohub_kurrentdb_proto::streams::read_resp::{self, Content, ReadEvent, read_event};
use ecohub_kurrentdb_proto::streams::{
    AppendReq, AppendResp, ReadReq, ReadResp, streams_server::Streams,
};
use futures_util::Stream;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::metadata::MetadataMap;
use tonic::{Code, Request, Response, Status, Streaming};
use uuid::Uuid;

use crate::cluster::Shared;
use crate::filter::EventFilter;
use crate::log::{AppendOutcome, Expected, Proposed, Stored, now_ticks};

/// Messages buffered per streaming call. The producer task reads the shared log by
/// position (pull), so a slow reader only makes its own task wait: appends never block
/// and nothing buffers beyond this bound.
const CHANNEL_CAPACITY: usize = 32;
/// Events copied out of the log per lock acquisition.
const BATCH: usize = 64;

#[derive(Clone)]
pub(crate) struct NodeService {
    pub shared: Arc<Shared>,
    pub index: usize,
}

fn invalid(message: impl Into<String>) -> Status {
    Status::invalid_argument(message)
}

fn stream_name(id: Option<&StreamIdentifier>) -> Result<String, Status> {
    let id = id.ok_or_else(|| invalid("missing stream_identifier"))?;
    let name = String::from_utf8(id.stream_name.clone())
        .map_err(|_| invalid("stream name is not UTF-8"))?;
    if name.is_empty() {
        return Err(invalid("empty stream name"));
    }
    Ok(name)
}

fn uuid_from_proto(id: Option<&proto::Uuid>) -> Result<Uuid, Status> {
    match id.and_then(|u| u.value.as_ref()) {
        Some(proto::uuid::Value::String(s)) => {
            Uuid::parse_str(s).map_err(|_| invalid(format!("invalid event id {s:?}")))
        }
        Some(proto::uuid::Value::Structured(s)) => Ok(Uuid::from_u64_pair(
            s.most_significant_bits as u64,
            s.least_significant_bits as u64,
        )),
        None => Err(invalid("missing event id")),
    }
}

fn uuid_to_proto(id: Uuid, structured: bool) -> proto::Uuid {
    let value = if structured {
        let (hi, lo) = id.as_u64_pair();
        proto::uuid::Value::Structured(proto::uuid::Structured {
            most_significant_bits: hi as i64,
            least_significant_bits: lo as i64,
        })
    } else {
        proto::uuid::Value::String(id.to_string())
    };
    proto::Uuid { value: Some(value) }
}

fn timestamp_now() -> prost_types::Timestamp {
    prost_types::Timestamp::from(std::time::SystemTime::now())
}

fn event_message(e: &Stored, structured: bool) -> ReadResp {
    let metadata = [
        ("type".to_owned(), e.event_type.clone()),
        ("content-type".to_owned(), e.content_type.clone()),
        ("created".to_owned(), e.created.to_string()),
    ]
    .into_iter()
    .collect();
    ReadResp {
        content: Some(Content::Event(ReadEvent {
            event: Some(read_event::RecordedEvent {
                id: Some(uuid_to_proto(e.id, structured)),
                stream_identifier: Some(StreamIdentifier {
                    stream_name: e.stream.as_bytes().to_vec(),
                }),
                stream_revision: e.revision,
                prepare_position: e.position,
                commit_position: e.position,
                metadata,
                custom_metadata: e.custom_metadata.clone(),
                data: e.data.clone(),
            }),
            link: None,
            position: Some(read_event::Position::CommitPosition(e.position)),
        })),
    }
}

fn checkpoint_message(position: u64) -> ReadResp {
    ReadResp {
        content: Some(Content::Checkpoint(read_resp::Checkpoint {
            commit_position: position,
            prepare_position: position,
            timestamp: Some(timestamp_now()),
        })),
    }
}

fn proposed_from_proto(p: append_req::ProposedMessage) -> Result<Proposed, Status> {
    let id = uuid_from_proto(p.id.as_ref())?;
    let mut metadata = p.metadata;
    let event_type = metadata
        .remove("type")
        .filter(|t| !t.is_empty())
        .ok_or_else(|| invalid("proposed message metadata must contain `type`"))?;
    let content_type = metadata
        .remove("content-type")
        .ok_or_else(|| invalid("proposed message metadata must contain `content-type`"))?;
    Ok(Proposed {
        id,
        event_type,
        content_type,
        custom_metadata: p.custom_metadata,
        data: p.data,
    })
}

/// A response stream that ends with UNAVAILABLE as soon as its node resigns leadership
/// or stops, whatever the producer is doing.
pub(crate) struct Abortable {
    inner: ReceiverStream<Result<ReadResp, Status>>,
    abort: Pin<Box<dyn Future<Output = Status> + Send>>,
    done: bool,
}

impl Stream for Abortable {
    type Item = Result<ReadResp, Status>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        if let Poll::Ready(status) = this.abort.as_mut().poll(cx) {
            this.done = true;
            return Poll::Ready(Some(Err(status)));
        }
        let next = Pin::new(&mut this.inner).poll_next(cx);
        if matches!(next, Poll::Ready(None | Some(Err(_)))) {
            this.done = true;
        }
        next
    }
}

impl NodeService {
    fn requires_leader<T>(request: &Request<T>) -> bool {
        request
            .metadata()
            .get("requires-leader")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }

    /// NOT_FOUND "Leader info available" with the leader's endpoint, as a real follower.
    fn check_leader(&self, requires: bool) -> Result<(), Status> {
        let leader = self.shared.leader();
        if !requires || leader == self.index {
            return Ok(());
        }
        let addr = self.shared.nodes[leader].addr;
        let mut trailers = MetadataMap::new();
        let value = |s: String| s.parse().expect("ASCII header value");
        trailers.insert("exception", value("not-leader".into()));
        trailers.insert("leader-endpoint-host", value(addr.ip().to_string()));
        trailers.insert("leader-endpoint-port", value(addr.port().to_string()));
        Err(Status::with_metadata(
            Code::NotFound,
            "Leader info available",
            trailers,
        ))
    }

    /// A channel-backed response whose producer runs on this node's task set (so stopping
    /// the node ends it) and which is aborted when the node resigns or stops.
    fn respond<F, Fut>(&self, produce: F) -> Response<Abortable>
    where
        F: FnOnce(mpsc::Sender<Result<ReadResp, Status>>) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let (tx, rx) = mpsc::channel(CHANNEL_CAPACITY);
        let node = &self.shared.nodes[self.index];
        let mut resign = node.resign.subscribe();
        let abort = Box::pin(async move {
            let _ = resign.changed().await;
            Status::unavailable(
                "Server is not the leader anymore (leader resigned or node stopped)",
            )
        });
        node.tasks.spawn(produce(tx));
        Response::new(Abortable {
            inner: ReceiverStream::new(rx),
            abort,
            done: false,
        })
    }

    fn read_stream(
        &self,
        options: read_options::StreamOptions,
        forwards: bool,
        count: u64,
        structured: bool,
    ) -> Result<Response<Abortable>, Status> {
        let name = stream_name(options.stream_identifier.as_ref())?;
        let events = self.shared.log.lock().unwrap().stream(&name);
        let count = usize::try_from(count).unwrap_or(usize::MAX);
        let messages: Vec<ReadResp> = match events {
            None => vec![ReadResp {
                content: Some(Content::StreamNotFound(read_resp::StreamNotFound {
                    stream_identifier: options.stream_identifier,
                })),
            }],
            Some(events) => {
                let last = events.len() as u64 - 1;
                let selected: Vec<&Arc<Stored>> = match (forwards, options.revision_option) {
                    (true, Some(RevisionOption::Revision(r))) => {
                        events.iter().skip_while(|e| e.revision < r).collect()
                    }
                    (true, Some(RevisionOption::Start(_)) | None) => events.iter().collect(),
                    (true, Some(RevisionOption::End(_))) => Vec::new(),
                    (false, option) => {
                        let from = match option {
                            Some(RevisionOption::Revision(r)) => r.min(last),
                            Some(RevisionOption::Start(_)) => 0,
                            Some(RevisionOption::End(_)) | None => last,
                        };
                        events
                            .iter()
                            .rev()
                            .skip_while(|e| e.revision > from)
                            .collect()
                    }
                };
                selected
                    .into_iter()
                    .take(count)
                    .map(|e| event_message(e, structured))
                    .collect()
            }
        };
        Ok(self.respond(move |tx| send_all(tx, messages)))
    }

    fn read_all(
        &self,
        options: read_options::AllOptions,
        forwards: bool,
        count: u64,
        filter: Option<EventFilter>,
        structured: bool,
    ) -> Result<Response<Abortable>, Status> {
        let count = usize::try_from(count).unwrap_or(usize::MAX);
        let matches = |e: &&Arc<Stored>| filter.as_ref().is_none_or(|f| f.matches(e));
        let messages: Vec<ReadResp> = {
            let log = self.shared.log.lock().unwrap();
            let len = log.len();
            // Both directions include an event at exactly the requested position.
            let selected: Vec<Arc<Stored>> = if forwards {
                let from = match options.all_option {
                    Some(AllOption::Position(p)) => log.index_at_or_after(p.commit_position),
                    Some(AllOption::Start(_)) | None => 0,
                    Some(AllOption::End(_)) => len,
                };
                let mut out = Vec::new();
                let mut at = from;
                while out.len() < count && at < len {
                    let batch = log.slice(at, BATCH);
                    at += batch.len();
                    out.extend(
                        batch
                            .iter()
                            .filter(matches)
                            .take(count - out.len())
                            .cloned(),
                    );
                }
                out
            } else {
                let until = match options.all_option {
                    Some(AllOption::Position(p)) => log.index_after(p.commit_position),
                    Some(AllOption::Start(_)) => 0,
                    Some(AllOption::End(_)) | None => len,
                };
                (0..until)
                    .rev()
                    .filter_map(|i| log.get(i))
                    .filter(matches)
                    .take(count)
                    .cloned()
                    .collect()
            };
            selected
                .iter()
                .map(|e| event_message(e, structured))
                .collect()
        };
        Ok(self.respond(move |tx| send_all(tx, messages)))
    }

    fn subscribe_all(
        &self,
        options: read_options::AllOptions,
        filter: Option<EventFilter>,
        structured: bool,
    ) -> Result<Response<Abortable>, Status> {
        let shared = self.shared.clone();
        // Exclusive start: the first event strictly after the position.
        let cursor = {
            let log = shared.log.lock().unwrap();
            match options.all_option {
                Some(AllOption::Position(p)) => log.index_after(p.commit_position),
                Some(AllOption::Start(_)) | None => 0,
                Some(AllOption::End(_)) => log.len(),
            }
        };
        Ok(self.respond(move |tx| subscription(shared, tx, cursor, filter, structured)))
    }
}

async fn send_all(tx: mpsc::Sender<Result<ReadResp, Status>>, messages: Vec<ReadResp>) {
    for m in messages {
        if tx.send(Ok(m)).await.is_err() {
            return;
        }
    }
}

/// Confirmation, history after `cursor`, caught-up, then live events: one producer per
/// subscription pulling from the shared log, in order, with no gaps and no duplicates
/// (the cursor is an index into the append-only log).
async fn subscription(
    shared: Arc<Shared>,
    tx: mpsc::Sender<Result<ReadResp, Status>>,
    mut cursor: usize,
    filter: Option<EventFilter>,
    structured: bool,
) {
    let confirmation = ReadResp {
        content: Some(Content::Confirmation(read_resp::SubscriptionConfirmation {
            subscription_id: Uuid::new_v4().to_string(),
        })),
    };
    if tx.send(Ok(confirmation)).await.is_err() {
        return;
    }
    let mut appended = shared.appended.subscribe();
    let mut caught_up = false;
    let mut scanned: u64 = 0;
    loop {
        // Mark the current length seen before looking, so no append is missed.
        appended.borrow_and_update();
        let (batch, last_position) = {
            let log = shared.log.lock().unwrap();
            (log.slice(cursor, BATCH), log.last_position())
        };
        if batch.is_empty() {
            if !caught_up {
                caught_up = true;
                let message = ReadResp {
                    content: Some(Content::CaughtUp(read_resp::CaughtUp {
                        timestamp: Some(timestamp_now()),
                        stream_revision: None,
                        position: last_position.map(|p| read_resp::Position {
                            commit_position: p,
                            prepare_position: p,
                        }),
                    })),
                };
                if tx.send(Ok(message)).await.is_err() {
                    return;
                }
                continue;
            }
            tokio::select! {
                changed = appended.changed() => if changed.is_err() { return },
                () = tx.closed() => return,
            }
            continue;
        }
        cursor += batch.len();
        for e in batch {
            scanned += 1;
            if filter.as_ref().is_none_or(|f| f.matches(&e))
                && tx.send(Ok(event_message(&e, structured))).await.is_err()
            {
                return;
            }
            if let Some(f) = &filter
                && scanned.is_multiple_of(f.checkpoint_every)
                && tx.send(Ok(checkpoint_message(e.position))).await.is_err()
            {
                return;
            }
        }
    }
}

#[tonic::async_trait]
impl Streams for NodeService {
    type ReadStream = Abortable;

    async fn read(&self, request: Request<ReadReq>) -> Result<Response<Abortable>, Status> {
        self.check_leader(Self::requires_leader(&request))?;
        let options = request
            .into_inner()
            .options
            .ok_or_else(|| invalid("missing options"))?;
        let forwards = options.read_direction() == ReadDirection::Forwards;
        let structured = matches!(
            options
                .uuid_option
                .as_ref()
                .and_then(|u| u.content.as_ref()),
            Some(uuid_option::Content::Structured(_))
        );
        let filter = match &options.filter_option {
            Some(FilterOption::Filter(f)) => Some(EventFilter::from_proto(f).map_err(invalid)?),
            Some(FilterOption::NoFilter(_)) | None => None,
        };
        match (options.stream_option, options.count_option) {
            (Some(StreamOption::Stream(s)), Some(CountOption::Count(count))) => {
                self.read_stream(s, forwards, count, structured)
            }
            (Some(StreamOption::Stream(_)), Some(CountOption::Subscription(_))) => Err(
                Status::unimplemented("the double only supports subscriptions to $all"),
            ),
            (Some(StreamOption::All(a)), Some(CountOption::Count(count))) => {
                self.read_all(a, forwards, count, filter, structured)
            }
            (Some(StreamOption::All(a)), Some(CountOption::Subscription(_))) => {
                if !forwards {
                    return Err(invalid("subscriptions read forwards"));
                }
                self.subscribe_all(a, filter, structured)
            }
            (None, _) => Err(invalid("missing stream_option")),
            (_, None) => Err(invalid("missing count_option")),
        }
    }

    async fn append(
        &self,
        request: Request<Streaming<AppendReq>>,
    ) -> Result<Response<AppendResp>, Status> {
        let requires = Self::requires_leader(&request);
        self.check_leader(requires)?;
        let mut incoming = request.into_inner();
        let options = match incoming.message().await?.and_then(|m| m.content) {
            Some(append_req::Content::Options(o)) => o,
            _ => return Err(invalid("the first append message must be options")),
        };
        let stream = stream_name(options.stream_identifier.as_ref())?;
        let expected = match options.expected_stream_revision {
            Some(ExpectedStreamRevision::Revision(n)) => Expected::Exact(n),
            Some(ExpectedStreamRevision::NoStream(_)) => Expected::NoStream,
            Some(ExpectedStreamRevision::Any(_)) => Expected::Any,
            Some(ExpectedStreamRevision::StreamExists(_)) => Expected::StreamExists,
            None => return Err(invalid("missing expected_stream_revision")),
        };
        let mut proposed = Vec::new();
        while let Some(message) = incoming.message().await? {
            match message.content {
                Some(append_req::Content::ProposedMessage(p)) => {
                    proposed.push(proposed_from_proto(p)?);
                }
                _ => return Err(invalid("only proposed messages may follow the options")),
            }
        }
        // Leadership may have moved while the client was streaming its events.
        self.check_leader(requires)?;
        let outcome = self.shared.append(&stream, expected, proposed);
        let result = match outcome {
            AppendOutcome::Success { current, position } => {
                use append_resp::success::{CurrentRevisionOption, PositionOption};
                append_resp::Result::Success(append_resp::Success {
                    current_revision_option: Some(match current {
                        Some(r) => CurrentRevisionOption::CurrentRevision(r),
                        None => CurrentRevisionOption::NoStream(Empty {}),
                    }),
                    position_option: Some(match position {
                        Some(p) => PositionOption::Position(append_resp::Position {
                            commit_position: p,
                            prepare_position: p,
                        }),
                        None => PositionOption::NoPosition(Empty {}),
                    }),
                })
            }
            AppendOutcome::WrongExpectedVersion { current } => {
                append_resp::Result::WrongExpectedVersion(append_resp::WrongExpectedVersion {
                    current_revision_option: Some(match current {
                        Some(r) => wev::CurrentRevisionOption::CurrentRevision(r),
                        None => wev::CurrentRevisionOption::CurrentNoStream(Empty {}),
                    }),
                    expected_revision_option: Some(match expected {
                        Expected::Exact(n) => wev::ExpectedRevisionOption::ExpectedRevision(n),
                        Expected::Any => wev::ExpectedRevisionOption::ExpectedAny(Empty {}),
                        Expected::StreamExists => {
                            wev::ExpectedRevisionOption::ExpectedStreamExists(Empty {})
                        }
                        Expected::NoStream => {
                            wev::ExpectedRevisionOption::ExpectedNoStream(Empty {})
                        }
                    }),
                })
            }
        };
        Ok(Response::new(AppendResp {
            result: Some(result),
        }))
    }
}

#[tonic::async_trait]
impl Gossip for NodeService {
    async fn read(&self, _request: Request<Empty>) -> Result<Response<ClusterInfo>, Status> {
        use gossip::member_info::VNodeState;
        let leader = self.shared.leader();
        let members = self
            .shared
            .nodes
            .iter()
            .enumerate()
            .map(|(i, node)| {
                let alive = node.is_alive();
                let state = match (alive, i == leader) {
                    (false, _) => VNodeState::Shutdown,
                    (true, true) => VNodeState::Leader,
                    (true, false) => VNodeState::Follower,
                };
                MemberInfo {
                    instance_id: Some(uuid_to_proto(node.instance_id, false)),
                    time_stamp: now_ticks(),
                    state: state as i32,
                    is_alive: alive,
                    http_end_point: Some(gossip::EndPoint {
                        address: node.addr.ip().to_string(),
                        port: u32::from(node.addr.port()),
                    }),
                }
            })
            .collect();
        Ok(Response::new(ClusterInfo { members }))
    }
}
