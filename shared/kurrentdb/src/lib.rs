//! The EventStoreDB / KurrentDB backend of the event store, over the project's own thin gRPC
//! client (`ecohub-kurrentdb-proto`): see docs/adr/0006 for why not the official crate.
//!
//! * Every call goes to the leader (`requires-leader: true` on appends and exact reads); a
//!   `not-leader` answer reconnects to the advertised leader and retries; transport failures
//!   rediscover the leader over gossip with backoff and retry within the call's deadline.
//!   Appends are safe to retry: event ids make them idempotent.
//! * Subscriptions to `$all` resume after reconnection from the last position they delivered.
//! * The server's own events (`$`-prefixed streams and types) are never returned.
//!
//! Architecture invariant: nothing outside this crate knows that gRPC is involved; the hub
//! sees only [`ecohub_eventstore::EventStore`].

mod batch;
mod connection;
mod convert;
mod reads;
pub mod settings;
mod tail;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use ecohub_eventstore::{
    AppendResult, CurrentRevision, Direction, EventFilter, EventStore, ExpectedRevision, NewEvent,
    Position, ReadStreamOptions, RecordedEvent, StoreError, StreamPosition, Subscription,
    SubscriptionMessage, reads_must_cover,
};
use ecohub_kurrentdb_proto::shared::Empty;
use ecohub_kurrentdb_proto::streams::streams_client::StreamsClient;
use ecohub_kurrentdb_proto::streams::{
    BatchAppendReq, ReadResp, batch_append_req, batch_append_resp, read_req, read_resp,
};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tonic::Status;

use crate::connection::{Connection, Failure, classify};
use crate::reads::{
    advance, all_from, on_leader, on_leader_connection, read_all_after, read_all_page,
    read_options, store_to_status,
};
pub use crate::settings::{ConnectionSettings, InvalidConnectionString};

/// The EventStoreDB / KurrentDB backend.
pub struct KurrentDbStore {
    conn: Arc<Connection>,
    closed: Arc<AtomicBool>,
    monitor: JoinHandle<()>,
    categories: Arc<CategoryTracker>,
    tracker: std::sync::Mutex<Option<JoinHandle<()>>>,
    /// The tracker's subscription, shared by every subscription of this instance (ADR 0028).
    tail: Arc<tail::Tail>,
    heads: HeadReads,
    own: std::sync::Mutex<OwnWrites>,
    /// The `BatchAppend` call every append goes through (ADR 0028).
    appender: batch::Appender,
}

/// Read-index batching of the leader head read behind [`EventStore::category_heads`]: a call
/// needs a head read that *starts after* the instant its reads must cover
/// ([`ecohub_eventstore::reads_must_cover`]: the call itself, or the HTTP request it serves);
/// such a read covers every append acknowledged before that instant, by any instance. A call
/// takes the last finished round if it started late enough, waits for the one in flight if
/// that did, and otherwise waits for (or starts) the next: one round trip serves every
/// concurrent request and every check within a request, and each call waits at most two.
#[derive(Debug, Default)]
struct HeadReads {
    state: std::sync::Mutex<HeadRounds>,
    done: tokio::sync::Notify,
}

/// Frees an abandoned round (its leader's call was dropped) so that a waiter starts another.
struct RoundGuard<'a> {
    heads: &'a HeadReads,
    done: bool,
}

impl Drop for RoundGuard<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.heads
                .state
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .in_flight = false;
            self.heads.done.notify_waiters();
        }
    }
}

#[derive(Debug, Default)]
struct HeadRounds {
    /// Whether a round is in flight (led by a caller, about to start or reading).
    in_flight: bool,
    /// When the last finished round started and ended, and its answer.
    last: Option<(Instant, Instant, Result<Option<Position>, StoreError>)>,
}

/// What reads on this instance must never miss, whatever the request scope allows: the
/// position of every append it acknowledged, and every write that beat one of its appends
/// (after a `WrongExpectedVersion` the next reads start a fresh round).
#[derive(Debug, Default)]
struct OwnWrites {
    /// The last append acknowledged, overall and per `<category>-`.
    latest: Option<Position>,
    by_category: std::collections::HashMap<String, Position>,
    conflict_at: Option<Instant>,
}

/// How many times the leader of a head-read round yields before it starts the read, so that
/// more callers share the round. Bearer GETs on the protocol double (docs/benchmarks.md): 4
/// yields served 4–17% more requests per second than 1 (less hub and store CPU per request),
/// with the same single-connection latency; 8 and 16 were no better than 4, and yielding
/// only while the last yield brought a caller in gained 2–4%.
const LEADER_YIELDS: usize = 4;

/// How long [`EventStore::category_heads`] waits for the category tracker to pass the head
/// it read before answering with the global head instead (exact, only coarser).
const TRACKER_WAIT: Duration = Duration::from_millis(100);

/// Per-instance category heads, fed by a live subscription to `$all` started when the store
/// connects. The server cannot answer "the newest position of a stream category" cheaply and
/// exactly (a filtered backwards read of `$all` scans past every other event; the `$ce-`
/// system streams lag), so each instance follows the log itself. A head is only answered once
/// the subscription has delivered everything up to the global head read from the leader at the
/// start of the call, so it covers every append acknowledged before the call, by any instance;
/// if the subscription lags longer than [`TRACKER_WAIT`] the call answers with that global head.
#[derive(Debug)]
struct CategoryTracker {
    /// Position the subscription started after (the head at connect time): the head of every
    /// category it has not seen an append to since.
    start: Option<Position>,
    heads: std::sync::Mutex<std::collections::HashMap<String, Position>>,
    /// The last position delivered, raised only after `heads` took the event in.
    seen: tokio::sync::watch::Sender<Option<Position>>,
}

impl CategoryTracker {
    fn new(start: Option<Position>) -> Self {
        Self {
            start,
            heads: std::sync::Mutex::new(std::collections::HashMap::new()),
            seen: tokio::sync::watch::Sender::new(start),
        }
    }

    fn heads(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, Position>> {
        self.heads
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn observe(&self, message: &SubscriptionMessage) {
        let position = match message {
            SubscriptionMessage::Event(e) => {
                let category = category_of(&e.stream);
                let mut heads = self.heads();
                match heads.get_mut(category) {
                    Some(p) => *p = (*p).max(e.position),
                    None => {
                        heads.insert(category.to_owned(), e.position);
                    }
                }
                Some(e.position)
            }
            SubscriptionMessage::Checkpoint(p) => Some(*p),
            SubscriptionMessage::CaughtUp { position } => *position,
        };
        if let Some(p) = position {
            self.seen.send_if_modified(|seen| {
                let raise = seen.is_none_or(|s| p > s);
                if raise {
                    *seen = Some(p);
                }
                raise
            });
        }
    }

    /// The category's head once the subscription has delivered up to `head`, or `None` if it
    /// did not within [`TRACKER_WAIT`].
    async fn head_after(&self, category: &str, head: Position) -> Option<Option<Position>> {
        let mut seen = self.seen.subscribe();
        let passed = tokio::time::timeout(
            TRACKER_WAIT,
            seen.wait_for(|s| s.is_some_and(|s| s >= head)),
        )
        .await;
        if !matches!(passed, Ok(Ok(_))) {
            return None;
        }
        Some(self.heads().get(category).copied().or(self.start))
    }
}

/// The category of a stream: its name up to and including the first `-`, or the whole name.
fn category_of(stream: &str) -> &str {
    match stream.find('-') {
        Some(i) => &stream[..=i],
        None => stream,
    }
}

/// Follows `$all` from `start` into `tracker`, and hands every event to the instance's other
/// subscriptions through `tail`, until the store closes.
async fn track_categories(
    conn: Arc<Connection>,
    closed: Arc<AtomicBool>,
    tracker: Arc<CategoryTracker>,
    tail: Arc<tail::Tail>,
) {
    let (tx, mut rx) = mpsc::channel(SUBSCRIPTION_BUFFER);
    let task = tokio::spawn(subscription_task(
        conn,
        closed,
        tracker.start,
        EventFilter::all(),
        tx,
    ));
    while let Some(message) = rx.recv().await {
        match message {
            Ok(message) => {
                tracker.observe(&message);
                tail.dispatch(&message);
            }
            Err(e) => {
                // Heads then fall back to the global head after TRACKER_WAIT; subscriptions
                // go to the server themselves.
                tracing::warn!(error = %e, "category tracking stopped");
                break;
            }
        }
    }
    tail.close();
    task.abort();
}

impl std::fmt::Debug for KurrentDbStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KurrentDbStore")
            .field("settings", &self.conn.settings)
            .finish_non_exhaustive()
    }
}

const SUBSCRIPTION_BUFFER: usize = 256;
const HEALTH_INTERVAL: Duration = Duration::from_secs(1);

impl KurrentDbStore {
    /// Parses `connection_string`, finds the leader and checks that it answers. Fails with a
    /// clear message when the string is invalid or no node can be reached.
    pub async fn connect(connection_string: &str) -> Result<Self, StoreError> {
        let settings = ConnectionSettings::parse(connection_string)
            .map_err(|e| StoreError::InvalidRequest(e.to_string()))?;
        let conn = Connection::new(settings)?;
        conn.get().await?;
        let mut store = Self::with_connection(conn);
        let start = store.head().await?;
        store.categories = Arc::new(CategoryTracker::new(start));
        store.tail.open(start);
        let tracker = tokio::spawn(track_categories(
            store.conn.clone(),
            store.closed.clone(),
            store.categories.clone(),
            store.tail.clone(),
        ));
        *store
            .tracker
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(tracker);
        Ok(store)
    }

    fn with_connection(conn: Arc<Connection>) -> Self {
        let closed = Arc::new(AtomicBool::new(false));
        let monitor = tokio::spawn(monitor(conn.clone(), closed.clone()));
        Self {
            conn,
            closed,
            monitor,
            categories: Arc::new(CategoryTracker::new(None)),
            tracker: std::sync::Mutex::new(None),
            tail: Arc::new(tail::Tail::new()),
            heads: HeadReads::default(),
            own: std::sync::Mutex::new(OwnWrites::default()),
            appender: batch::Appender::default(),
        }
    }

    /// The leader's head as read by a round that started at or after `since` (see
    /// [`HeadReads`]).
    async fn fresh_head(&self, since: Instant) -> Result<Option<Position>, StoreError> {
        let lock = || {
            self.heads
                .state
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        };
        loop {
            let notified = self.heads.done.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let lead = {
                let mut rounds = lock();
                // A head read that started late enough answers; so does a failure that ended
                // after `since`: refusing is always safe (fail closed), and a caller that waited
                // for a failing round should not wait for another before it is told.
                if let Some((started, ended, answer)) = &rounds.last
                    && (*started >= since || (answer.is_err() && *ended >= since))
                {
                    return answer.clone();
                }
                if rounds.in_flight {
                    // Late enough or not, it ends before the next can start: wait for it.
                    None
                } else {
                    rounds.in_flight = true;
                    Some(())
                }
            };
            if lead.is_none() {
                notified.await;
                continue;
            }
            // This call leads the next round. Should it be dropped, the guard frees the round
            // for a waiter to start again.
            let mut guard = RoundGuard {
                heads: &self.heads,
                done: false,
            };
            // The tasks ready to run go first, and the requests that arrived meanwhile (each
            // yield lets the runtime poll its sockets): under load they reach their checks now
            // and share this round instead of waiting for the next one. An idle instance loses
            // a few microseconds.
            for _ in 0..LEADER_YIELDS {
                tokio::task::yield_now().await;
            }
            // The round starts after `since` and after every caller that waited for it.
            let started = Instant::now();
            let answer = self.head().await;
            {
                let mut rounds = lock();
                rounds.in_flight = false;
                rounds.last = Some((started, Instant::now(), answer.clone()));
            }
            guard.done = true;
            self.heads.done.notify_waiters();
            return answer;
        }
    }

    fn own(&self) -> std::sync::MutexGuard<'_, OwnWrites> {
        self.own
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn stop_tracking(&self) {
        if let Some(t) = self
            .tracker
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
        {
            t.abort();
        }
        self.tail.close();
    }

    fn check_open(&self) -> Result<(), StoreError> {
        if self.closed.load(Ordering::SeqCst) {
            Err(StoreError::Closed)
        } else {
            Ok(())
        }
    }

    /// Runs `call` against the leader, following `not-leader` redirects and reconnecting
    /// after transport failures, until it succeeds, fails for good, or the deadline passes.
    async fn on_leader<T, F, Fut>(&self, what: &str, call: F) -> Result<T, StoreError>
    where
        F: Fn(StreamsClient<tonic::transport::Channel>) -> Fut,
        Fut: Future<Output = Result<T, Status>>,
    {
        self.check_open()?;
        on_leader(&self.conn, what, call).await
    }

    async fn on_leader_connection<T, F, Fut>(&self, what: &str, call: F) -> Result<T, StoreError>
    where
        F: Fn(connection::Connected) -> Fut,
        Fut: Future<Output = Result<T, Status>>,
    {
        self.check_open()?;
        on_leader_connection(&self.conn, what, call).await
    }
}

/// Keeps `healthy` true only while the leader answers; reconnects in the background.
async fn monitor(conn: Arc<Connection>, closed: Arc<AtomicBool>) {
    while !closed.load(Ordering::SeqCst) {
        tokio::time::sleep(HEALTH_INTERVAL).await;
        let all = EventFilter::all();
        let probe = read_all_page(&conn, None, Direction::Backwards, 1, &all, true);
        match tokio::time::timeout(Duration::from_secs(2), probe).await {
            Ok(Ok(_)) => conn.healthy.store(true, Ordering::SeqCst),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "event store health probe failed");
                conn.healthy.store(false, Ordering::SeqCst);
            }
            Err(_) => conn.healthy.store(false, Ordering::SeqCst),
        }
    }
}

#[async_trait]
impl EventStore for KurrentDbStore {
    async fn append(
        &self,
        stream: &str,
        expected: ExpectedRevision,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult, StoreError> {
        if stream.is_empty() || stream.starts_with('$') {
            return Err(StoreError::InvalidRequest(format!(
                "stream name {stream:?} is empty or reserved ($)"
            )));
        }
        let mut ids = std::collections::HashSet::new();
        for e in &events {
            if !ids.insert(e.event_id) {
                return Err(StoreError::InvalidRequest(format!(
                    "event id {} appears twice in one append",
                    e.event_id
                )));
            }
            if e.event_type.is_empty() || e.event_type.starts_with('$') {
                return Err(StoreError::InvalidRequest(format!(
                    "event type {:?} is empty or reserved ($)",
                    e.event_type
                )));
            }
        }
        let id = uuid::Uuid::new_v4();
        let request = BatchAppendReq {
            correlation_id: Some(convert::uuid_to_proto(id)),
            options: Some(batch_append_req::Options {
                stream_identifier: Some(convert::stream_identifier(stream)),
                expected_stream_position: Some(convert::expected(expected)),
                deadline_option: prost_types::Duration::try_from(
                    self.conn.settings.default_deadline,
                )
                .ok()
                .map(batch_append_req::options::DeadlineOption::Deadline),
            }),
            proposed_messages: events
                .iter()
                .map(convert::proposed)
                .collect::<Result<_, _>>()?,
            is_final: true,
        };
        let outcome = self
            .on_leader_connection("append", |connected| {
                let request = request.clone();
                async move {
                    let answer = self
                        .appender
                        .append(&self.conn, &connected, id, request)
                        .await?;
                    Ok(match answer.result {
                        Some(batch_append_resp::Result::Success(s)) => Ok(s),
                        Some(batch_append_resp::Result::Error(status)) => {
                            match batch::refusal(&status) {
                                batch::Refusal::WrongExpectedVersion(actual) => Err(Ok(actual)),
                                batch::Refusal::Retry(status) => return Err(status),
                                batch::Refusal::Fatal(e) => Err(Err(e)),
                            }
                        }
                        None => Err(Err(StoreError::Internal(
                            "append answered without a result".into(),
                        ))),
                    })
                }
            })
            .await?;
        match outcome {
            Ok(s) => {
                let position = match s.position_option {
                    Some(batch_append_resp::success::PositionOption::Position(p)) => {
                        Some(Position {
                            commit: p.commit_position,
                            prepare: p.prepare_position,
                        })
                    }
                    _ => None,
                };
                if let Some(p) = position {
                    let mut own = self.own();
                    own.latest = own.latest.max(Some(p));
                    let category = category_of(stream);
                    if category.ends_with('-') {
                        match own.by_category.get_mut(category) {
                            Some(q) => *q = (*q).max(p),
                            None => {
                                own.by_category.insert(category.to_owned(), p);
                            }
                        }
                    }
                }
                Ok(AppendResult {
                    next_expected: convert::current_revision_from_batch(s.current_revision_option),
                    position,
                })
            }
            Err(Ok(actual)) => {
                // Another writer won: reads from now on must see what it wrote.
                self.own().conflict_at = Some(Instant::now());
                Err(StoreError::WrongExpectedVersion {
                    stream: stream.to_owned(),
                    expected,
                    actual: actual.map_or(CurrentRevision::NoStream, CurrentRevision::Current),
                })
            }
            Err(Err(e)) => Err(e),
        }
    }

    async fn read_stream(
        &self,
        stream: &str,
        options: ReadStreamOptions,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        use read_req::options::{StreamOptions, stream_options::RevisionOption};
        if options.limit == 0 {
            return Ok(Vec::new());
        }
        if options.direction == Direction::Forwards && options.from == StreamPosition::End {
            // The server reads nothing forwards from its end; the contract reads the last event.
            return self
                .read_stream(stream, ReadStreamOptions::backwards().limit(1))
                .await;
        }
        let revision = match options.from {
            StreamPosition::Start => RevisionOption::Start(Empty {}),
            StreamPosition::End => RevisionOption::End(Empty {}),
            StreamPosition::Revision(n) => RevisionOption::Revision(n),
        };
        let request = read_options(
            read_req::options::StreamOption::Stream(StreamOptions {
                stream_identifier: Some(convert::stream_identifier(stream)),
                revision_option: Some(revision),
            }),
            options.direction,
            read_req::options::CountOption::Count(options.limit.min(u64::MAX as usize) as u64),
            read_req::options::FilterOption::NoFilter(Empty {}),
        );
        self.on_leader("read stream", |mut client| {
            let request = self.conn.request(request.clone(), true);
            async move {
                let mut responses = client.read(request).await?.into_inner();
                let mut out = Vec::new();
                while let Some(ReadResp { content }) = responses.message().await? {
                    match content {
                        Some(read_resp::Content::Event(e)) => {
                            if let Some(event) = e.event {
                                out.push(convert::recorded(event).map_err(store_to_status)?);
                            }
                        }
                        Some(read_resp::Content::StreamNotFound(_)) => return Ok(Vec::new()),
                        _ => {}
                    }
                }
                Ok(out)
            }
        })
        .await
    }

    async fn stream_revision(&self, stream: &str) -> Result<CurrentRevision, StoreError> {
        let last = self
            .read_stream(stream, ReadStreamOptions::backwards().limit(1))
            .await?;
        Ok(last.first().map_or(CurrentRevision::NoStream, |e| {
            CurrentRevision::Current(e.revision)
        }))
    }

    async fn read_all(
        &self,
        from: Option<Position>,
        filter: &EventFilter,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        self.check_open()?;
        read_all_after(&self.conn, from, filter, limit).await
    }

    async fn subscribe_all(
        &self,
        from: Option<Position>,
        filter: EventFilter,
    ) -> Result<Subscription, StoreError> {
        self.check_open()?;
        if self.tail.is_open() {
            return Ok(tail::follow(
                self.conn.clone(),
                self.closed.clone(),
                self.tail.clone(),
                from,
                filter,
            ));
        }
        let (tx, rx) = mpsc::channel(SUBSCRIPTION_BUFFER);
        tokio::spawn(subscription_task(
            self.conn.clone(),
            self.closed.clone(),
            from,
            filter,
            tx,
        ));
        Ok(Box::pin(futures_util::stream::unfold(
            rx,
            |mut rx| async move { rx.recv().await.map(|m| (m, rx)) },
        )))
    }

    async fn head(&self) -> Result<Option<Position>, StoreError> {
        self.check_open()?;
        let mut cursor: Option<Position> = None;
        for round in 0..50 {
            // The last event is almost always one of ours: ask for it alone first (a page of
            // 64 events per head read cost more than the appends it served), then page past
            // any run of the server's own events.
            let count = if round == 0 { 1 } else { 64 };
            let page = read_all_page(
                &self.conn,
                cursor,
                Direction::Backwards,
                count,
                &EventFilter::all(),
                true,
            )
            .await?;
            let n = page.len() as u64;
            for raw in page {
                let position = convert::position(&raw);
                if cursor.is_some_and(|c| position >= c) {
                    continue;
                }
                cursor = Some(position);
                if !convert::is_system(&raw) {
                    return Ok(Some(position));
                }
            }
            if n < count {
                break;
            }
        }
        Ok(None)
    }

    /// Exact for every append acknowledged before the call (or before the request, within a
    /// [`ecohub_eventstore::reads_cover_from`] scope), by any instance, and for every append
    /// this instance acknowledged before the call (see [`CategoryTracker`], [`HeadReads`]):
    /// one head read on the leader, then this instance's tracker.
    async fn category_head(&self, prefix: &str) -> Result<Option<Position>, StoreError> {
        Ok(self.category_heads(&[prefix]).await?.remove(0))
    }

    async fn category_heads(&self, prefixes: &[&str]) -> Result<Vec<Option<Position>>, StoreError> {
        // What this instance acknowledged before the call: a floor under every answer.
        let (latest, mine, conflict_at) = {
            let own = self.own();
            let mine: Vec<Option<Position>> = prefixes
                .iter()
                .map(|p| own.by_category.get(category_of(p)).copied())
                .collect();
            (own.latest, mine, own.conflict_at)
        };
        let cover = reads_must_cover();
        let since = conflict_at.map_or(cover, |c| cover.max(c));
        let round = self.fresh_head(since).await?;
        let Some(head) = round.max(latest) else {
            return Ok(vec![None; prefixes.len()]);
        };
        let mut heads = Vec::with_capacity(prefixes.len());
        for (prefix, mine) in prefixes.iter().zip(mine) {
            let category = category_of(prefix);
            let tracked = if category.len() == prefix.len() && category.ends_with('-') {
                // The tracker must have passed the round's head and this instance's own last
                // write to the category; its writes elsewhere (access records) do not matter.
                let needed = round.max(mine).unwrap_or(head);
                self.categories.head_after(category, needed).await
            } else {
                None
            };
            // Not a `<category>-` prefix, or the tracker lags: the global head (exact, coarser).
            heads.push(tracked.unwrap_or(Some(head)));
        }
        Ok(heads)
    }

    async fn is_healthy(&self) -> bool {
        !self.closed.load(Ordering::SeqCst) && self.conn.healthy.load(Ordering::SeqCst)
    }

    async fn close(&self) -> Result<(), StoreError> {
        self.closed.store(true, Ordering::SeqCst);
        self.monitor.abort();
        self.stop_tracking();
        Ok(())
    }
}

impl Drop for KurrentDbStore {
    fn drop(&mut self) {
        self.closed.store(true, Ordering::SeqCst);
        self.monitor.abort();
        self.stop_tracking();
    }
}

/// Follows `$all` from `from` (exclusive), resubscribing after any transient failure from the
/// last position delivered or checkpointed. Ends when the consumer goes away, the store is
/// closed, or a non-retryable error is delivered.
async fn subscription_task(
    conn: Arc<Connection>,
    closed: Arc<AtomicBool>,
    from: Option<Position>,
    filter: EventFilter,
    tx: mpsc::Sender<Result<SubscriptionMessage, StoreError>>,
) {
    let mut cursor = from;
    let mut caught_up_sent = false;
    let mut backoff = Duration::from_millis(50);
    while !closed.load(Ordering::SeqCst) && !tx.is_closed() {
        let connected = match conn.get().await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "subscription cannot reach the event store; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(2));
                continue;
            }
        };
        let request = read_options(
            all_from(cursor, Direction::Forwards),
            Direction::Forwards,
            read_req::options::CountOption::Subscription(read_req::options::SubscriptionOptions {}),
            convert::server_filter(&filter),
        );
        let mut client = StreamsClient::new(connected.channel.clone());
        let outcome: Result<(), Status> = async {
            let mut responses = client
                .read(conn.request(request, false))
                .await?
                .into_inner();
            while let Some(ReadResp { content }) = responses.message().await? {
                backoff = Duration::from_millis(50);
                let message = match content {
                    Some(read_resp::Content::Event(e)) => {
                        let Some(raw) = e.event else { continue };
                        // After a resubscription the server starts after `cursor`; guard anyway.
                        match advance(raw, &mut cursor, &filter).map_err(store_to_status)? {
                            Some(event) => SubscriptionMessage::Event(event),
                            None => continue,
                        }
                    }
                    Some(read_resp::Content::CaughtUp(_)) => {
                        if caught_up_sent {
                            continue;
                        }
                        caught_up_sent = true;
                        SubscriptionMessage::CaughtUp { position: cursor }
                    }
                    Some(read_resp::Content::Checkpoint(c)) => {
                        let p = Position {
                            commit: c.commit_position,
                            prepare: c.prepare_position,
                        };
                        if cursor.is_some_and(|cur| p <= cur) {
                            continue;
                        }
                        cursor = Some(p);
                        SubscriptionMessage::Checkpoint(p)
                    }
                    _ => continue,
                };
                if tx.send(Ok(message)).await.is_err() {
                    return Ok(());
                }
            }
            Err(Status::unavailable("subscription ended by the server"))
        }
        .await;
        match outcome {
            Ok(()) => return,
            Err(status) => match classify(&status) {
                Failure::Fatal(e) => {
                    let _ = tx.send(Err(e)).await;
                    return;
                }
                Failure::NotLeader(host, port) => {
                    let _ = conn
                        .reconnect(Some((host, port)), Some(connected.generation))
                        .await;
                }
                Failure::Transient(reason) => {
                    if tx.is_closed() || closed.load(Ordering::SeqCst) {
                        return;
                    }
                    tracing::warn!(%reason, ?cursor, "subscription dropped; resubscribing");
                    conn.invalidate(connected.generation).await;
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(2));
                }
            },
        }
    }
}
