//! The gRPC services of one node: `Streams` (Read, Append, BatchAppend), `Gossip` (Read) and
//! `ServerFeatures` (GetSupportedMethods).

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use ecohub_kurrentdb_proto::google::rpc;
use ecohub_kurrentdb_proto::gossip::{self, ClusterInfo, MemberInfo, gossip_server::Gossip};
use ecohub_kurrentdb_proto::server_features::{
    SupportedMethod, SupportedMethods, server_features_server::ServerFeatures,
};
use ecohub_kurrentdb_proto::shared::{self as proto, Empty, StreamIdentifier};
use ecohub_kurrentdb_proto::streams::append_req::{self, options::ExpectedStreamRevision};
use ecohub_kurrentdb_proto::streams::append_resp::{self, wrong_expected_version as wev};
use ecohub_kurrentdb_proto::streams::batch_append_req::{self, options as batch_options};
use ecohub_kurrentdb_proto::streams::batch_append_resp;
use ecohub_kurrentdb_proto::streams::read_req::options::{
    self as read_options, CountOption, FilterOption, ReadDirection, StreamOption,
    all_options::AllOption, stream_options::RevisionOption, uuid_option,
};
use ecohub_kurrentdb_proto::streams::read_resp::{self, Content, ReadEvent, read_event};
use ecohub_kurrentdb_proto::streams::{
    AppendReq, AppendResp, BatchAppendReq, BatchAppendResp, ReadReq, ReadResp,
    streams_server::Streams,
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
/// The server version the double reports: the protocol level it models (`CaughtUp` and
/// `FellBehind` with positions, BatchAppend with a duration deadline).
const SERVER_VERSION: &str = "24.10.0";

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
    proposed(p.id.as_ref(), p.metadata, p.custom_metadata, p.data)
}

fn proposed(
    id: Option<&proto::Uuid>,
    mut metadata: HashMap<String, String>,
    custom_metadata: Vec<u8>,
    data: Vec<u8>,
) -> Result<Proposed, Status> {
    let id = uuid_from_proto(id)?;
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
        custom_metadata,
        data,
    })
}

/// A response stream that ends with UNAVAILABLE as soon as its node resigns leadership
/// or stops, whatever the producer is doing.
pub(crate) struct Abortable<T = ReadResp> {
    inner: ReceiverStream<Result<T, Status>>,
    abort: Pin<Box<dyn Future<Output = Status> + Send>>,
    done: bool,
}

impl<T> Stream for Abortable<T> {
    type Item = Result<T, Status>;

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
    fn respond<T, F, Fut>(&self, produce: F) -> Response<Abortable<T>>
    where
        F: FnOnce(mpsc::Sender<Result<T, Status>>) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let (tx, rx) = mpsc::channel(CHANNEL_CAPACITY);
        self.shared.nodes[self.index].tasks.spawn(produce(tx));
        self.abortable(rx)
    }

    /// A response whose messages are all known up front: queued at once, without a producer
    /// task (reads with a count; the head read of every hub request is one).
    fn respond_now<T>(&self, messages: Vec<T>) -> Response<Abortable<T>> {
        let (tx, rx) = mpsc::channel(messages.len().max(1));
        for m in messages {
            // The channel holds them all.
            let _ = tx.try_send(Ok(m));
        }
        self.abortable(rx)
    }

    /// `rx` as a response aborted when this node resigns or stops.
    fn abortable<T>(&self, rx: mpsc::Receiver<Result<T, Status>>) -> Response<Abortable<T>> {
        let node = &self.shared.nodes[self.index];
        let mut resign = node.resign.subscribe();
        let abort = Box::pin(async move {
            let _ = resign.changed().await;
            Status::unavailable(
                "Server is not the leader anymore (leader resigned or node stopped)",
            )
        });
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
        Ok(self.respond_now(messages))
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
        Ok(self.respond_now(messages))
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
        let source = Source::All { cursor, filter };
        Ok(self.respond(move |tx| subscription(shared, tx, source, structured)))
    }

    /// A catch-up subscription to one stream: after `revision` (exclusive), from the start,
    /// or from its end; the stream need not exist yet.
    fn subscribe_stream(
        &self,
        options: read_options::StreamOptions,
        structured: bool,
    ) -> Result<Response<Abortable>, Status> {
        let name = stream_name(options.stream_identifier.as_ref())?;
        let shared = self.shared.clone();
        let next = match options.revision_option {
            Some(RevisionOption::Revision(r)) => r.saturating_add(1),
            Some(RevisionOption::Start(_)) | None => 0,
            Some(RevisionOption::End(_)) => shared
                .log
                .lock()
                .unwrap()
                .current_revision(&name)
                .map_or(0, |r| r + 1),
        };
        let source = Source::Stream { name, next };
        Ok(self.respond(move |tx| subscription(shared, tx, source, structured)))
    }
}

/// What a subscription reads: `$all` from an index into the log (optionally filtered), or
/// one stream from a revision.
enum Source {
    All {
        cursor: usize,
        filter: Option<EventFilter>,
    },
    Stream {
        name: String,
        next: u64,
    },
}

/// Confirmation, history after the start, caught-up, then live events: one producer per
/// subscription pulling from the shared log, in order, with no gaps and no duplicates
/// (the cursor is an index into the append-only log, or a stream revision).
async fn subscription(
    shared: Arc<Shared>,
    tx: mpsc::Sender<Result<ReadResp, Status>>,
    mut source: Source,
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
        let (batch, caught_up_message) = {
            let log = shared.log.lock().unwrap();
            match &source {
                Source::All { cursor, .. } => (
                    log.slice(*cursor, BATCH),
                    read_resp::CaughtUp {
                        timestamp: Some(timestamp_now()),
                        stream_revision: None,
                        position: log.last_position().map(|p| read_resp::Position {
                            commit_position: p,
                            prepare_position: p,
                        }),
                    },
                ),
                Source::Stream { name, next } => (
                    log.stream_slice(name, *next, BATCH),
                    read_resp::CaughtUp {
                        timestamp: Some(timestamp_now()),
                        stream_revision: log
                            .current_revision(name)
                            .and_then(|r| i64::try_from(r).ok()),
                        position: None,
                    },
                ),
            }
        };
        if batch.is_empty() {
            if !caught_up {
                caught_up = true;
                let message = ReadResp {
                    content: Some(Content::CaughtUp(caught_up_message)),
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
        match &mut source {
            Source::All { cursor, filter } => {
                *cursor += batch.len();
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
            Source::Stream { next, .. } => {
                for e in batch {
                    *next = e.revision + 1;
                    if tx.send(Ok(event_message(&e, structured))).await.is_err() {
                        return;
                    }
                }
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
            (Some(StreamOption::Stream(s)), Some(CountOption::Subscription(_))) => {
                if !forwards {
                    return Err(invalid("subscriptions read forwards"));
                }
                self.subscribe_stream(s, structured)
            }
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

    type BatchAppendStream = Abortable<BatchAppendResp>;

    /// Appends multiplexed over one call: each correlation id is one atomic append whose
    /// options come with its first request and which `is_final` completes; each answer is a
    /// `BatchAppendResp` carrying the correlation id, with failures (wrong expected version,
    /// bad request, timeout) as a `google.rpc.Status` in the response rather than the call's
    /// status, as the real server does. The call ends when the client ends its requests.
    async fn batch_append(
        &self,
        request: Request<Streaming<BatchAppendReq>>,
    ) -> Result<Response<Abortable<BatchAppendResp>>, Status> {
        let requires = Self::requires_leader(&request);
        self.check_leader(requires)?;
        let incoming = request.into_inner();
        let node = self.clone();
        Ok(self.respond(move |tx| node.batch_appends(incoming, tx, requires)))
    }
}

/// One pending batch append: what its first request said and the events so far.
struct PendingBatch {
    stream: String,
    expected: Expected,
    events: Vec<Proposed>,
}

/// `google.rpc.Code` values the server uses in batch append errors.
const CODE_INVALID_ARGUMENT: i32 = 3;
const CODE_DEADLINE_EXCEEDED: i32 = 4;
const CODE_ALREADY_EXISTS: i32 = 6;

fn rpc_status<M: prost::Message>(
    code: i32,
    message: &str,
    type_name: &str,
    details: &M,
) -> rpc::Status {
    rpc::Status {
        code,
        message: message.to_owned(),
        details: Some(prost_types::Any {
            type_url: format!("type.googleapis.com/{type_name}"),
            value: details.encode_to_vec(),
        }),
    }
}

fn bad_request(message: &str) -> rpc::Status {
    rpc_status(
        CODE_INVALID_ARGUMENT,
        "BadRequest",
        "event_store.client.BadRequest",
        &proto::BadRequest {
            message: message.to_owned(),
        },
    )
}

fn timeout() -> rpc::Status {
    rpc_status(
        CODE_DEADLINE_EXCEEDED,
        "Timeout",
        "event_store.client.Timeout",
        &proto::Timeout {},
    )
}

fn wrong_expected_version(current: Option<u64>, expected: Expected) -> rpc::Status {
    use proto::wrong_expected_version::{
        CurrentStreamRevisionOption as Current, ExpectedStreamPositionOption as Wanted,
    };
    let details = proto::WrongExpectedVersion {
        current_stream_revision_option: Some(match current {
            Some(r) => Current::CurrentStreamRevision(r),
            None => Current::CurrentNoStream(Empty {}),
        }),
        expected_stream_position_option: Some(match expected {
            Expected::Exact(n) => Wanted::ExpectedStreamPosition(n),
            Expected::Any => Wanted::ExpectedAny(Empty {}),
            Expected::StreamExists => Wanted::ExpectedStreamExists(Empty {}),
            Expected::NoStream => Wanted::ExpectedNoStream(Empty {}),
        }),
    };
    rpc_status(
        CODE_ALREADY_EXISTS,
        "WrongExpectedVersion",
        "event_store.client.WrongExpectedVersion",
        &details,
    )
}

/// Whether a batch append's deadline (a duration from now, or the pre-21.10 absolute time)
/// has already passed when its options arrive: the server answers Timeout without writing.
fn deadline_passed(deadline: Option<&batch_options::DeadlineOption>) -> bool {
    match deadline {
        Some(batch_options::DeadlineOption::Deadline(d)) => {
            d.seconds < 0 || (d.seconds == 0 && d.nanos <= 0)
        }
        Some(batch_options::DeadlineOption::Deadline21100(t)) => {
            std::time::SystemTime::try_from(*t).is_ok_and(|at| at <= std::time::SystemTime::now())
        }
        None => false,
    }
}

fn batch_expected(options: &batch_append_req::Options) -> Result<Expected, &'static str> {
    use batch_options::ExpectedStreamPosition as P;
    match options.expected_stream_position {
        Some(P::StreamPosition(n)) => Ok(Expected::Exact(n)),
        Some(P::NoStream(_)) => Ok(Expected::NoStream),
        Some(P::Any(_)) => Ok(Expected::Any),
        Some(P::StreamExists(_)) => Ok(Expected::StreamExists),
        None => Err("missing expected_stream_position"),
    }
}

impl NodeService {
    /// The producer of one BatchAppend call: reads the client's requests until it ends them
    /// and answers each completed correlation id.
    async fn batch_appends(
        self,
        mut incoming: Streaming<BatchAppendReq>,
        tx: mpsc::Sender<Result<BatchAppendResp, Status>>,
        requires: bool,
    ) {
        let mut pending: HashMap<Uuid, PendingBatch> = HashMap::new();
        loop {
            let request = tokio::select! {
                request = incoming.message() => request,
                () = tx.closed() => return,
            };
            let request = match request {
                Ok(Some(request)) => request,
                // The client ended its requests (or the call broke): end ours.
                Ok(None) | Err(_) => return,
            };
            let answer = |result: batch_append_resp::Result, stream: Option<StreamIdentifier>| {
                BatchAppendResp {
                    correlation_id: request.correlation_id.clone(),
                    result: Some(result),
                    stream_identifier: stream,
                    expected_stream_position: None,
                }
            };
            let error = |status: rpc::Status, stream: Option<StreamIdentifier>| {
                answer(batch_append_resp::Result::Error(status), stream)
            };
            let correlation = match uuid_from_proto(request.correlation_id.as_ref()) {
                Ok(id) => id,
                Err(e) => {
                    let stream = request
                        .options
                        .as_ref()
                        .and_then(|o| o.stream_identifier.clone());
                    if tx
                        .send(Ok(error(bad_request(e.message()), stream)))
                        .await
                        .is_err()
                    {
                        return;
                    }
                    continue;
                }
            };
            if let Some(options) = &request.options
                && !pending.contains_key(&correlation)
            {
                let stream_id = options.stream_identifier.clone();
                let checked = stream_name(stream_id.as_ref())
                    .map_err(|e| bad_request(e.message()))
                    .and_then(|stream| {
                        let expected = batch_expected(options).map_err(bad_request)?;
                        if deadline_passed(options.deadline_option.as_ref()) {
                            return Err(timeout());
                        }
                        Ok(PendingBatch {
                            stream,
                            expected,
                            events: Vec::new(),
                        })
                    });
                match checked {
                    Ok(batch) => {
                        pending.insert(correlation, batch);
                    }
                    Err(status) => {
                        if tx.send(Ok(error(status, stream_id))).await.is_err() {
                            return;
                        }
                        continue;
                    }
                }
            }
            // Requests for a correlation id without (earlier) options are ignored, as the
            // server does.
            let Some(batch) = pending.get_mut(&correlation) else {
                continue;
            };
            let mut failed = None;
            for p in request.proposed_messages.iter().cloned() {
                match proposed(p.id.as_ref(), p.metadata, p.custom_metadata, p.data) {
                    Ok(event) => batch.events.push(event),
                    Err(e) => {
                        failed = Some(bad_request(e.message()));
                        break;
                    }
                }
            }
            let stream_id = Some(StreamIdentifier {
                stream_name: batch.stream.as_bytes().to_vec(),
            });
            if let Some(status) = failed {
                pending.remove(&correlation);
                if tx.send(Ok(error(status, stream_id))).await.is_err() {
                    return;
                }
                continue;
            }
            if !request.is_final {
                continue;
            }
            let Some(batch) = pending.remove(&correlation) else {
                continue;
            };
            // Leadership may have moved while the client was streaming its events.
            if let Err(status) = self.check_leader(requires) {
                let _ = tx.send(Err(status)).await;
                return;
            }
            let expected = batch.expected;
            let result = match self.shared.append(&batch.stream, expected, batch.events) {
                AppendOutcome::Success { current, position } => {
                    use batch_append_resp::success::{CurrentRevisionOption, PositionOption};
                    batch_append_resp::Result::Success(batch_append_resp::Success {
                        current_revision_option: Some(match current {
                            Some(r) => CurrentRevisionOption::CurrentRevision(r),
                            None => CurrentRevisionOption::NoStream(Empty {}),
                        }),
                        position_option: Some(match position {
                            Some(p) => PositionOption::Position(proto::AllStreamPosition {
                                commit_position: p,
                                prepare_position: p,
                            }),
                            None => PositionOption::NoPosition(Empty {}),
                        }),
                    })
                }
                AppendOutcome::WrongExpectedVersion { current } => {
                    batch_append_resp::Result::Error(wrong_expected_version(current, expected))
                }
            };
            if tx.send(Ok(answer(result, stream_id))).await.is_err() {
                return;
            }
        }
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

#[tonic::async_trait]
impl ServerFeatures for NodeService {
    /// The methods this double serves, named and featured like the real server's answer
    /// (lower case; `Read` with `position` and `events`, `BatchAppend` with
    /// `deadline_duration`), so that official clients choose BatchAppend as they would on a
    /// real server.
    async fn get_supported_methods(
        &self,
        _request: Request<Empty>,
    ) -> Result<Response<SupportedMethods>, Status> {
        let method = |service: &str, name: &str, features: &[&str]| SupportedMethod {
            method_name: name.to_owned(),
            service_name: service.to_owned(),
            features: features.iter().map(|f| (*f).to_owned()).collect(),
        };
        let streams = "event_store.client.streams.streams";
        Ok(Response::new(SupportedMethods {
            methods: vec![
                method(streams, "read", &["position", "events"]),
                method(streams, "append", &[]),
                method(streams, "batchappend", &["deadline_duration"]),
                method("event_store.client.gossip.gossip", "read", &[]),
                method(
                    "event_store.client.server_features.serverfeatures",
                    "getsupportedmethods",
                    &[],
                ),
            ],
            event_store_server_version: SERVER_VERSION.to_owned(),
        }))
    }
}
