//! Calls on the leader and reads of `$all`, shared by the store and its subscriptions.

use std::sync::atomic::Ordering;
use std::time::Duration;

use ecohub_eventstore::{Direction, EventFilter, Position, RecordedEvent, StoreError};
use ecohub_kurrentdb_proto::shared::Empty;
use ecohub_kurrentdb_proto::streams::streams_client::StreamsClient;
use ecohub_kurrentdb_proto::streams::{ReadReq, read_req, read_resp};
use tonic::Status;

use crate::connection::{Connected, Connection, Failure, classify};
use crate::convert;

/// An event as the server sent it.
pub(crate) type RawEvent = ecohub_kurrentdb_proto::streams::read_resp::read_event::RecordedEvent;

const READ_PAGE: u64 = 1_000;

pub(crate) async fn on_leader<T, F, Fut>(
    conn: &Connection,
    what: &str,
    call: F,
) -> Result<T, StoreError>
where
    F: Fn(StreamsClient<tonic::transport::Channel>) -> Fut,
    Fut: Future<Output = Result<T, Status>>,
{
    on_leader_connection(conn, what, |connected| {
        call(StreamsClient::new(connected.channel))
    })
    .await
}

/// [`on_leader`] for calls that need the connection itself (its generation).
pub(crate) async fn on_leader_connection<T, F, Fut>(
    conn: &Connection,
    what: &str,
    call: F,
) -> Result<T, StoreError>
where
    F: Fn(Connected) -> Fut,
    Fut: Future<Output = Result<T, Status>>,
{
    let deadline = tokio::time::Instant::now() + conn.settings.default_deadline;
    let mut backoff = Duration::from_millis(50);
    let mut last = String::from("deadline exceeded");
    while tokio::time::Instant::now() < deadline {
        // Finding the leader counts against the deadline too (discovery against a cluster
        // without one can take longer than the whole call may).
        let found = tokio::time::timeout_at(deadline, conn.get())
            .await
            .unwrap_or_else(|_| {
                Err(StoreError::Unavailable(format!(
                    "no leader found within {:?}",
                    conn.settings.default_deadline
                )))
            });
        let connected = match found {
            Ok(c) => c,
            Err(e) => {
                last = e.to_string();
                tokio::time::sleep(backoff.min(deadline - tokio::time::Instant::now())).await;
                backoff = (backoff * 2).min(Duration::from_secs(1));
                continue;
            }
        };
        match tokio::time::timeout_at(deadline, call(connected.clone())).await {
            Err(_) => last = format!("no answer within {:?}", conn.settings.default_deadline),
            Ok(Ok(v)) => {
                conn.healthy.store(true, Ordering::SeqCst);
                return Ok(v);
            }
            Ok(Err(status)) => match classify(&status) {
                Failure::Fatal(e) => return Err(e),
                Failure::NotLeader(host, port) => {
                    tracing::info!(host, port, "not the leader; following the redirect");
                    last = format!("not leader, leader is {host}:{port}");
                    if let Err(e) = conn
                        .reconnect(Some((host, port)), Some(connected.generation))
                        .await
                    {
                        last = e.to_string();
                    }
                }
                Failure::Transient(reason) => {
                    tracing::warn!(%reason, what, "event store call failed; reconnecting");
                    last = reason;
                    conn.invalidate(connected.generation).await;
                    tokio::time::sleep(backoff.min(deadline - tokio::time::Instant::now())).await;
                    backoff = (backoff * 2).min(Duration::from_secs(1));
                }
            },
        }
    }
    Err(StoreError::Unavailable(format!("{what}: {last}")))
}

pub(crate) fn read_options(
    stream_option: read_req::options::StreamOption,
    direction: Direction,
    count_option: read_req::options::CountOption,
    filter_option: read_req::options::FilterOption,
) -> ReadReq {
    use read_req::options::{ControlOption, ReadDirection, UuidOption, uuid_option};
    ReadReq {
        options: Some(read_req::Options {
            stream_option: Some(stream_option),
            read_direction: match direction {
                Direction::Forwards => ReadDirection::Forwards as i32,
                Direction::Backwards => ReadDirection::Backwards as i32,
            },
            resolve_links: false,
            count_option: Some(count_option),
            filter_option: Some(filter_option),
            uuid_option: Some(UuidOption {
                content: Some(uuid_option::Content::String(Empty {})),
            }),
            control_option: Some(ControlOption { compatibility: 1 }),
        }),
    }
}

pub(crate) fn all_from(
    from: Option<Position>,
    direction: Direction,
) -> read_req::options::StreamOption {
    use read_req::options::{AllOptions, all_options::AllOption};
    let option = match (from, direction) {
        (Some(p), _) => AllOption::Position(read_req::options::Position {
            commit_position: p.commit,
            prepare_position: p.prepare,
        }),
        (None, Direction::Forwards) => AllOption::Start(Empty {}),
        (None, Direction::Backwards) => AllOption::End(Empty {}),
    };
    read_req::options::StreamOption::All(AllOptions {
        all_option: Some(option),
    })
}

/// One page of `$all` starting at `from` (inclusive, as the server reads), as the server
/// returns it (its filter applied, system events included): (events, number received).
pub(crate) async fn read_all_page(
    conn: &Connection,
    from: Option<Position>,
    direction: Direction,
    count: u64,
    filter: &EventFilter,
    leader: bool,
) -> Result<Vec<RawEvent>, StoreError> {
    let request = read_options(
        all_from(from, direction),
        direction,
        read_req::options::CountOption::Count(count),
        convert::server_filter(filter),
    );
    on_leader(conn, "read $all", |mut client| {
        let request = conn.request(request.clone(), leader);
        async move {
            let mut stream = client.read(request).await?.into_inner();
            let mut out = Vec::new();
            while let Some(message) = stream.message().await? {
                if let Some(read_resp::Content::Event(read_resp::ReadEvent {
                    event: Some(event),
                    ..
                })) = message.content
                {
                    out.push(event);
                }
            }
            Ok(out)
        }
    })
    .await
}

/// Up to `limit` events of `$all` after `from` (exclusive) that pass `filter`, read on the
/// leader; fewer only when the log ends.
pub(crate) async fn read_all_after(
    conn: &Connection,
    from: Option<Position>,
    filter: &EventFilter,
    limit: usize,
) -> Result<Vec<RecordedEvent>, StoreError> {
    let mut out = Vec::new();
    let mut cursor = from;
    while out.len() < limit {
        // Server reads start at `cursor` inclusive: ask for one more and skip it.
        let want = (limit - out.len()).min(READ_PAGE as usize) as u64 + 1;
        let page = read_all_page(conn, cursor, Direction::Forwards, want, filter, true).await?;
        let received = page.len() as u64;
        for raw in page {
            if let Some(event) = advance(raw, &mut cursor, filter)?
                && out.len() < limit
            {
                out.push(event);
            }
        }
        if received < want {
            break;
        }
    }
    Ok(out)
}

/// Moves `cursor` past `raw` and returns it as a recorded event unless it was already seen
/// (at or before the cursor), is the server's own, or does not pass `filter` (whose
/// event-type part the server may not have applied).
pub(crate) fn advance(
    raw: RawEvent,
    cursor: &mut Option<Position>,
    filter: &EventFilter,
) -> Result<Option<RecordedEvent>, StoreError> {
    let position = convert::position(&raw);
    if cursor.is_some_and(|c| position <= c) {
        return Ok(None);
    }
    *cursor = Some(position);
    if convert::is_system(&raw) {
        return Ok(None);
    }
    let event = convert::recorded(raw)?;
    Ok(filter
        .matches(&event.stream, &event.event_type)
        .then_some(event))
}

pub(crate) fn store_to_status(e: StoreError) -> Status {
    Status::internal(e.to_string())
}
