//! One live subscription to `$all` per instance, shared by every subscriber (ADR 0028).
//!
//! The server sends each event once per subscription: a hub with fifteen projections had the
//! leader wake fifteen readers for every append, send every access record three times (the
//! category tracker, the store statistics, the audit index) and a checkpoint to each filtered
//! subscription every 32 events. Instead, the category tracker's subscription (unfiltered, it
//! sees everything anyway) is the instance's *tail*: [`Tail`] hands each event it delivers to
//! the local subscribers whose filter accepts it. A subscriber ([`follow`]) registers with the
//! tail first, then catches up from its own position with ordinary reads until the log's end,
//! then takes the tail's events past what it read. Nothing is missed: whatever the tail had
//! delivered when the subscriber registered is in the log before the catch-up's last read, and
//! whatever it delivers afterwards is queued for the subscriber. A subscriber that falls
//! behind (its queue full) is dropped by the tail and catches up from the log again; the tail
//! never waits for anyone.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use ecohub_eventstore::{EventFilter, Position, StoreError, Subscription, SubscriptionMessage};
use tokio::sync::mpsc;

use crate::connection::Connection;

/// How many events a subscriber may have queued before the tail drops it (it then catches up
/// from the log).
const QUEUE: usize = 4_096;
/// A filtered subscriber gets a checkpoint after this many events it did not want, as the
/// server's filtered subscriptions do (`checkpoint_interval_multiplier` × window).
const CHECKPOINT_EVERY: u32 = 32;
/// Events read per catch-up page.
const PAGE: usize = 1_000;

/// The instance's shared live subscription: the subscribers it feeds.
#[derive(Debug)]
pub(crate) struct Tail {
    state: std::sync::Mutex<TailState>,
}

#[derive(Debug)]
struct TailState {
    /// False before the tail's subscription runs and after it stopped: subscribers then
    /// subscribe to the server themselves.
    open: bool,
    /// The last position the tail delivered (everything up to it is in the log).
    last: Option<Position>,
    followers: Vec<Follower>,
}

#[derive(Debug)]
struct Follower {
    filter: EventFilter,
    tx: mpsc::Sender<SubscriptionMessage>,
    /// Events passed over since this follower's last message.
    unreported: u32,
}

impl Tail {
    /// A tail that does not run (yet): [`Self::open`] starts it at `start`.
    pub(crate) fn new() -> Self {
        Self {
            state: std::sync::Mutex::new(TailState {
                open: false,
                last: None,
                followers: Vec::new(),
            }),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, TailState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The tail's subscription runs from `start` (exclusive), a position in the log.
    pub(crate) fn open(&self, start: Option<Position>) {
        let mut state = self.state();
        state.open = true;
        state.last = start;
    }

    /// The tail's subscription stopped: every follower catches up from the log and fails
    /// with `Unavailable` (its consumer resubscribes, to the server).
    pub(crate) fn close(&self) {
        let mut state = self.state();
        state.open = false;
        state.followers.clear();
    }

    pub(crate) fn is_open(&self) -> bool {
        self.state().open
    }

    /// Queues everything the tail delivers from now on for a follower with `filter`; answers
    /// the queue and the last position delivered before it (everything up to it is in the
    /// log), or `None` when the tail does not run.
    fn register(
        &self,
        filter: EventFilter,
    ) -> Option<(mpsc::Receiver<SubscriptionMessage>, Option<Position>)> {
        let mut state = self.state();
        if !state.open {
            return None;
        }
        let (tx, rx) = mpsc::channel(QUEUE);
        state.followers.push(Follower {
            filter,
            tx,
            unreported: 0,
        });
        Some((rx, state.last))
    }

    /// Hands what the tail's subscription delivered to every follower that wants it. A
    /// follower whose queue is full or gone is dropped.
    pub(crate) fn dispatch(&self, message: &SubscriptionMessage) {
        let position = match message {
            SubscriptionMessage::Event(e) => e.position,
            SubscriptionMessage::Checkpoint(p) => *p,
            SubscriptionMessage::CaughtUp { position } => match position {
                Some(p) => *p,
                None => return,
            },
        };
        let mut state = self.state();
        if state.last.is_some_and(|last| position <= last) {
            return;
        }
        state.last = Some(position);
        state.followers.retain_mut(|f| {
            let wanted = match message {
                SubscriptionMessage::Event(e) => f.filter.matches(&e.stream, &e.event_type),
                _ => false,
            };
            let out = if wanted {
                message.clone()
            } else {
                f.unreported += 1;
                if f.unreported < CHECKPOINT_EVERY {
                    return true;
                }
                SubscriptionMessage::Checkpoint(position)
            };
            f.unreported = 0;
            f.tx.try_send(out).is_ok()
        });
    }
}

/// A subscription to `$all` after `from` (exclusive) served by `tail` (see the module doc).
pub(crate) fn follow(
    conn: Arc<Connection>,
    closed: Arc<AtomicBool>,
    tail: Arc<Tail>,
    from: Option<Position>,
    filter: EventFilter,
) -> Subscription {
    let follow = Follow {
        conn,
        closed,
        tail,
        filter,
        cursor: from,
        pending: VecDeque::new(),
        phase: Phase::Register,
        caught_up_sent: false,
        backoff: FIRST_BACKOFF,
    };
    Box::pin(futures_util::stream::unfold(follow, |mut f| async move {
        let item = f.next().await?;
        Some((item, f))
    }))
}

const FIRST_BACKOFF: Duration = Duration::from_millis(50);

struct Follow {
    conn: Arc<Connection>,
    closed: Arc<AtomicBool>,
    tail: Arc<Tail>,
    filter: EventFilter,
    /// The last position delivered (or known to hold nothing more for this filter).
    cursor: Option<Position>,
    /// Read from the log, not yet delivered.
    pending: VecDeque<SubscriptionMessage>,
    phase: Phase,
    caught_up_sent: bool,
    backoff: Duration,
}

enum Phase {
    /// Not registered with the tail.
    Register,
    /// Registered (the tail queues into `queue` what it delivers after `registered_at`);
    /// reading the log from the cursor.
    CatchUp {
        queue: mpsc::Receiver<SubscriptionMessage>,
        registered_at: Option<Position>,
    },
    /// Taking the tail's events.
    Live(mpsc::Receiver<SubscriptionMessage>),
    /// Failed for good.
    Done,
}

impl Follow {
    async fn next(&mut self) -> Option<Result<SubscriptionMessage, StoreError>> {
        loop {
            if let Some(message) = self.pending.pop_front() {
                return Some(Ok(message));
            }
            if self.closed.load(Ordering::SeqCst) {
                return None;
            }
            match std::mem::replace(&mut self.phase, Phase::Done) {
                Phase::Done => return None,
                Phase::Register => match self.tail.register(self.filter.clone()) {
                    Some((queue, registered_at)) => {
                        self.phase = Phase::CatchUp {
                            queue,
                            registered_at,
                        }
                    }
                    None => {
                        return Some(Err(StoreError::Unavailable(
                            "the instance's subscription to $all stopped".into(),
                        )));
                    }
                },
                Phase::CatchUp {
                    queue,
                    registered_at,
                } => {
                    match crate::reads::read_all_after(&self.conn, self.cursor, &self.filter, PAGE)
                        .await
                    {
                        Ok(events) => {
                            self.backoff = FIRST_BACKOFF;
                            let end = events.len() < PAGE;
                            if let Some(last) = events.last() {
                                self.cursor = Some(last.position);
                            }
                            self.pending
                                .extend(events.into_iter().map(SubscriptionMessage::Event));
                            if !end {
                                self.phase = Phase::CatchUp {
                                    queue,
                                    registered_at,
                                };
                                continue;
                            }
                            // The read reached the log's end, which holds everything the tail
                            // had delivered at registration: the queue takes over from there.
                            self.cursor = self.cursor.max(registered_at);
                            self.phase = Phase::Live(queue);
                            if !self.caught_up_sent {
                                self.caught_up_sent = true;
                                self.pending.push_back(SubscriptionMessage::CaughtUp {
                                    position: self.cursor,
                                });
                            }
                        }
                        Err(StoreError::Closed) => return None,
                        Err(StoreError::Unavailable(reason)) => {
                            tracing::warn!(%reason, cursor = ?self.cursor, "subscription cannot catch up; retrying");
                            drop(queue);
                            self.phase = Phase::Register;
                            tokio::time::sleep(self.backoff).await;
                            self.backoff = (self.backoff * 2).min(Duration::from_secs(2));
                        }
                        Err(e) => return Some(Err(e)),
                    }
                }
                Phase::Live(mut queue) => match queue.recv().await {
                    Some(message) => {
                        self.phase = Phase::Live(queue);
                        let position = match &message {
                            SubscriptionMessage::Event(e) => e.position,
                            SubscriptionMessage::Checkpoint(p) => *p,
                            SubscriptionMessage::CaughtUp { .. } => continue,
                        };
                        if self.cursor.is_some_and(|c| position <= c) {
                            continue;
                        }
                        self.cursor = Some(position);
                        return Some(Ok(message));
                    }
                    // Dropped for falling behind, or the tail stopped: catch up from the log.
                    None => self.phase = Phase::Register,
                },
            }
        }
    }
}
