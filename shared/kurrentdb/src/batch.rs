//! Appends multiplexed over one `Streams.BatchAppend` call per leader connection (ADR 0028),
//! the official clients' high-throughput path.
//!
//! A unary `Streams.Append` opens an HTTP/2 stream per append: request headers, the options,
//! the events, then response headers, the answer and trailers, each encoded by the client and
//! decoded by the server. On one long-lived `BatchAppend` call an append is one request
//! message (options, events, `is_final`) and one answer, matched by a correlation id, and
//! concurrent appends share the call's frames. Each append is still atomic and still answered
//! only once the server has committed it.
//!
//! The call belongs to a connection generation: a failed or ended call fails every append
//! waiting on it with its status, so the caller's usual retry (reconnect, `not-leader`
//! redirect, idempotent re-append by event id) applies, and the next append opens a new call.

use std::collections::HashMap;
use std::sync::Arc;

use ecohub_kurrentdb_proto::google::rpc;
use ecohub_kurrentdb_proto::streams::streams_client::StreamsClient;
use ecohub_kurrentdb_proto::streams::{BatchAppendReq, BatchAppendResp};
use tokio::sync::{mpsc, oneshot};
use tonic::Status;

use crate::connection::{Connected, Connection};

type Answer = oneshot::Sender<Result<BatchAppendResp, Status>>;

/// The appends waiting for their answer on one call, by correlation id.
#[derive(Default)]
struct Waiting {
    /// False once the call failed or ended: nothing more is answered on it.
    open: bool,
    answers: HashMap<uuid::Uuid, Answer>,
}

type SharedWaiting = Arc<std::sync::Mutex<Waiting>>;

fn lock(waiting: &SharedWaiting) -> std::sync::MutexGuard<'_, Waiting> {
    waiting
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// One open `BatchAppend` call.
#[derive(Clone)]
struct Lane {
    generation: u64,
    requests: mpsc::UnboundedSender<BatchAppendReq>,
    waiting: SharedWaiting,
}

/// The instance's `BatchAppend` call to the leader, opened on first use.
#[derive(Default)]
pub(crate) struct Appender {
    lane: tokio::sync::Mutex<Option<Lane>>,
}

/// Forgets an append's answer slot when its caller stops waiting (deadline, drop).
struct Slot {
    waiting: SharedWaiting,
    id: uuid::Uuid,
}

impl Drop for Slot {
    fn drop(&mut self) {
        lock(&self.waiting).answers.remove(&self.id);
    }
}

impl Appender {
    /// Sends `request` (one complete append: options, events, `is_final`, correlation `id`)
    /// on the call of `connected`, opening it if needed, and waits for its answer.
    pub(crate) async fn append(
        &self,
        conn: &Connection,
        connected: &Connected,
        id: uuid::Uuid,
        request: BatchAppendReq,
    ) -> Result<BatchAppendResp, Status> {
        let lane = self.lane(conn, connected).await?;
        let (tx, rx) = oneshot::channel();
        {
            let mut waiting = lock(&lane.waiting);
            if !waiting.open {
                return Err(Status::unavailable("the batch append call ended"));
            }
            waiting.answers.insert(id, tx);
        }
        let _slot = Slot {
            waiting: lane.waiting.clone(),
            id,
        };
        if lane.requests.send(request).is_err() {
            return Err(Status::unavailable("the batch append call ended"));
        }
        rx.await
            .unwrap_or_else(|_| Err(Status::unavailable("the batch append call ended")))
    }

    /// The open call of `connected`'s generation, or a new one.
    async fn lane(&self, conn: &Connection, connected: &Connected) -> Result<Lane, Status> {
        let mut lane = self.lane.lock().await;
        if let Some(l) = lane.as_ref()
            && l.generation == connected.generation
            && lock(&l.waiting).open
        {
            return Ok(l.clone());
        }
        // A call of an older connection (or a dead one) is abandoned: dropping its sender
        // ends its requests, and the server ends it.
        *lane = None;
        let (requests, rx) = mpsc::unbounded_channel::<BatchAppendReq>();
        let outgoing =
            futures_util::stream::unfold(
                rx,
                |mut rx| async move { rx.recv().await.map(|r| (r, rx)) },
            );
        let mut client = StreamsClient::new(connected.channel.clone());
        let mut answers = client
            .batch_append(conn.request(outgoing, true))
            .await?
            .into_inner();
        let waiting: SharedWaiting = Arc::new(std::sync::Mutex::new(Waiting {
            open: true,
            answers: HashMap::new(),
        }));
        let reader = waiting.clone();
        tokio::spawn(async move {
            let end = loop {
                match answers.message().await {
                    Ok(Some(answer)) => {
                        let Some(id) = answer
                            .correlation_id
                            .as_ref()
                            .and_then(crate::convert::uuid_from_proto)
                        else {
                            continue;
                        };
                        if let Some(tx) = lock(&reader).answers.remove(&id) {
                            let _ = tx.send(Ok(answer));
                        }
                    }
                    Ok(None) => {
                        break Status::unavailable("the server ended the batch append call");
                    }
                    Err(status) => break status,
                }
            };
            // Everything still waiting fails with the call's end: the callers retry.
            let mut waiting = lock(&reader);
            waiting.open = false;
            for (_, tx) in waiting.answers.drain() {
                let _ = tx.send(Err(end.clone()));
            }
        });
        let opened = Lane {
            generation: connected.generation,
            requests,
            waiting,
        };
        *lane = Some(opened.clone());
        Ok(opened)
    }
}

/// A `BatchAppendResp` error: the server's `google.rpc.Status` with its code and details.
pub(crate) enum Refusal {
    /// `WrongExpectedVersion` (ALREADY_EXISTS): the stream's revision, if it exists.
    WrongExpectedVersion(Option<u64>),
    /// A failure worth retrying (timeout, unavailable): as a gRPC status for `classify`.
    Retry(Status),
    /// A failure retrying will not fix.
    Fatal(ecohub_eventstore::StoreError),
}

/// What a batch append's error status means.
pub(crate) fn refusal(status: &rpc::Status) -> Refusal {
    use ecohub_eventstore::StoreError;
    use ecohub_kurrentdb_proto::shared::WrongExpectedVersion;
    use ecohub_kurrentdb_proto::shared::wrong_expected_version::CurrentStreamRevisionOption as C;
    use prost::Message;
    const INVALID_ARGUMENT: i32 = 3;
    const DEADLINE_EXCEEDED: i32 = 4;
    const ALREADY_EXISTS: i32 = 6;
    const ABORTED: i32 = 10;
    const UNAVAILABLE: i32 = 14;
    match status.code {
        ALREADY_EXISTS => {
            let current = status
                .details
                .as_ref()
                .and_then(|d| WrongExpectedVersion::decode(d.value.as_slice()).ok())
                .and_then(|w| w.current_stream_revision_option)
                .and_then(|c| match c {
                    C::CurrentStreamRevision(n) => Some(n),
                    C::CurrentNoStream(_) => None,
                });
            Refusal::WrongExpectedVersion(current)
        }
        INVALID_ARGUMENT => Refusal::Fatal(StoreError::InvalidRequest(status.message.clone())),
        DEADLINE_EXCEEDED | ABORTED | UNAVAILABLE => Refusal::Retry(Status::unavailable(format!(
            "batch append: {}",
            status.message
        ))),
        code => Refusal::Fatal(StoreError::Internal(format!(
            "event store refused the append (code {code}): {}",
            status.message
        ))),
    }
}
