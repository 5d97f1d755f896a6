//! Catch-up subscriptions, pull-based.
//!
//! The subscription keeps a cursor (the last position it has considered) and reads the log
//! after it from the database, one page at a time, through the read pool. When a page reaches
//! the head of the snapshot it was read from, it emits `CaughtUp` once; from then on it waits
//! on the writer's `watch` of the committed head for a head beyond its cursor and reads again.
//! Every event is read from the database after the cursor, so an event committed between the
//! last history read and the switch to live is read by the next page: exactly once, in order,
//! whatever the timing. The writer only replaces a value in the `watch`: it never waits for a
//! subscriber, and a subscriber holds at most one page in memory.
//!
//! Live, a subscription takes what follows its cursor from the [`Tail`] (the last committed
//! events, in memory) when the tail still holds all of it, filtered as a page would be: no
//! database read per commit. Behind the tail, it reads pages as above.

use std::collections::VecDeque;
use std::sync::Arc;

use tokio::sync::watch;

use super::CategoryHeads;
use super::read::{ReadPool, SqlFilter, read_page};
use super::tail::Tail;
use crate::{Position, RecordedEvent, StoreError, Subscription, SubscriptionMessage};

/// Events per page.
const PAGE: usize = 512;
/// Positions one page of a scanning filter considers at most, so that a filter matching
/// little still makes steady progress (and checkpoints) through a long log.
const SCAN_WINDOW: u64 = 8_192;

struct State {
    pool: Arc<ReadPool>,
    head: watch::Receiver<u64>,
    /// Last committed position per category (raised before the head is published).
    heads: Arc<CategoryHeads>,
    /// The last committed events.
    tail: Arc<Tail>,
    /// The categories a category filter accepts (`None`: any other filter).
    categories: Option<Vec<String>>,
    filter: Arc<SqlFilter>,
    /// Every position up to this one has been considered.
    cursor: u64,
    /// Position of the last event delivered or checkpoint sent.
    marked: u64,
    caught_up: bool,
    buffer: VecDeque<SubscriptionMessage>,
    finished: bool,
}

pub(crate) fn subscribe(
    pool: Arc<ReadPool>,
    head: watch::Receiver<u64>,
    heads: Arc<CategoryHeads>,
    tail: Arc<Tail>,
    from: Option<Position>,
    filter: SqlFilter,
) -> Subscription {
    let cursor = from.map_or(0, |p| p.commit);
    let state = State {
        pool,
        head,
        heads,
        tail,
        categories: filter.categories(),
        filter: Arc::new(filter),
        cursor,
        marked: cursor,
        caught_up: false,
        buffer: VecDeque::new(),
        finished: false,
    };
    Box::pin(futures_util::stream::unfold(
        state,
        |mut state| async move {
            let message = state.next_message().await?;
            Some((message, state))
        },
    ))
}

impl State {
    async fn next_message(&mut self) -> Option<Result<SubscriptionMessage, StoreError>> {
        loop {
            if let Some(message) = self.buffer.pop_front() {
                return Some(Ok(message));
            }
            if self.finished {
                return None;
            }
            if self.caught_up && *self.head.borrow() <= self.cursor {
                let cursor = self.cursor;
                if self.head.wait_for(|head| *head > cursor).await.is_err() {
                    // The writer is gone (the store was closed or dropped) and everything
                    // it committed has been delivered.
                    self.finished = true;
                    return Some(Err(StoreError::Closed));
                }
                continue;
            }
            if self.caught_up && self.nothing_new_for_the_filter() {
                continue;
            }
            if self.caught_up && self.take_from_tail() {
                continue;
            }
            if let Err(e) = self.read_next_page().await {
                self.finished = true;
                return Some(Err(e));
            }
        }
    }

    /// Live, with a category filter: when no accepted category got an append after the
    /// cursor, moves the cursor to the head without reading (and lets the consumer checkpoint
    /// there, as a page of filtered-out events would). The writer raises the category heads
    /// before it publishes a head, so every commit up to the head read here is visible in
    /// them; a category absent from them has had no append since the store opened, so none
    /// after a caught-up cursor.
    fn nothing_new_for_the_filter(&mut self) -> bool {
        let Some(categories) = &self.categories else {
            return false;
        };
        let head = *self.head.borrow();
        if head <= self.cursor {
            return false;
        }
        if categories
            .iter()
            .any(|c| self.heads.known(c).is_some_and(|p| p > self.cursor))
        {
            return false;
        }
        self.cursor = head;
        if self.cursor > self.marked {
            self.marked = self.cursor;
            self.buffer
                .push_back(SubscriptionMessage::Checkpoint(Position::new(self.cursor)));
        }
        true
    }

    /// Live: takes the events after the cursor up to the head from the tail, when it holds
    /// them all (`false`: read the database). The writer pushes a commit's events before it
    /// publishes the head, so the tail holds every event up to the head read here.
    fn take_from_tail(&mut self) -> bool {
        let head = *self.head.borrow();
        if head <= self.cursor {
            return false;
        }
        let Some(events) = self.tail.after(self.cursor, head, &self.filter) else {
            return false;
        };
        self.cursor = head;
        if let Some(last) = events.last() {
            self.marked = last.position.commit;
        }
        self.buffer.extend(
            events
                .into_iter()
                .map(|e| SubscriptionMessage::Event(RecordedEvent::clone(&e))),
        );
        if self.cursor > self.marked {
            self.marked = self.cursor;
            self.buffer
                .push_back(SubscriptionMessage::Checkpoint(Position::new(self.cursor)));
        }
        true
    }

    async fn read_next_page(&mut self) -> Result<(), StoreError> {
        let after = self.cursor;
        let filter = Arc::clone(&self.filter);
        let page = self
            .pool
            .run(move |conn| read_page(conn, after, &filter, PAGE, Some(SCAN_WINDOW)))
            .await?;
        self.cursor = self.cursor.max(page.scanned_to);
        if let Some(last) = page.events.last() {
            self.marked = last.position.commit;
        }
        self.buffer
            .extend(page.events.into_iter().map(SubscriptionMessage::Event));
        let reached_head = page.scanned_to >= page.head;
        if !self.caught_up && reached_head {
            self.caught_up = true;
            self.marked = self.cursor;
            self.buffer.push_back(SubscriptionMessage::CaughtUp {
                position: (self.cursor > 0).then(|| Position::new(self.cursor)),
            });
        } else if self.cursor > self.marked {
            // Events were filtered out after the last one delivered: let the consumer
            // checkpoint past them.
            self.marked = self.cursor;
            self.buffer
                .push_back(SubscriptionMessage::Checkpoint(Position::new(self.cursor)));
        }
        Ok(())
    }
}
