//! The tail of the log in memory: the events of the last commits, for live subscriptions.
//!
//! The writer pushes the events of each commit here after COMMIT and before it publishes the
//! new head, so every event up to a head a subscriber has seen is in the tail unless it was
//! evicted. A live subscription whose cursor is at or after the tail's floor (the position of
//! the last evicted event, or the head when the store opened) takes the events after its
//! cursor from memory and filters them as the SQL would, instead of a database read per
//! commit; a subscription further behind reads pages from the database as before.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use super::read::SqlFilter;
use crate::RecordedEvent;

/// Events kept at most.
const CAPACITY: usize = 16_384;
/// Bytes of payload kept at most (whichever bound is reached first).
const CAPACITY_BYTES: usize = 32 << 20;

#[derive(Debug)]
struct Inner {
    /// Every committed event after this position is in `events` (up to the head).
    floor: u64,
    /// In position order.
    events: VecDeque<Arc<RecordedEvent>>,
    /// Their payloads' bytes.
    bytes: usize,
}

/// The last committed events (see the module documentation).
#[derive(Debug)]
pub(crate) struct Tail {
    inner: Mutex<Inner>,
    capacity: usize,
    capacity_bytes: usize,
}

impl Tail {
    /// An empty tail over a log whose head is `head`.
    pub(crate) fn new(head: u64) -> Self {
        Self::with_capacity(head, CAPACITY, CAPACITY_BYTES)
    }

    fn with_capacity(head: u64, capacity: usize, capacity_bytes: usize) -> Self {
        Self {
            inner: Mutex::new(Inner {
                floor: head,
                events: VecDeque::new(),
                bytes: 0,
            }),
            capacity: capacity.max(1),
            capacity_bytes,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds the events of one commit, in position order, after every event already here.
    pub(crate) fn push(&self, committed: Vec<RecordedEvent>) {
        let mut inner = self.lock();
        for e in committed {
            debug_assert!(
                inner
                    .events
                    .back()
                    .is_none_or(|last| last.position < e.position)
            );
            inner.bytes += e.data.len();
            inner.events.push_back(Arc::new(e));
        }
        while inner.events.len() > self.capacity || inner.bytes > self.capacity_bytes {
            let Some(evicted) = inner.events.pop_front() else {
                break;
            };
            inner.bytes -= evicted.data.len();
            inner.floor = evicted.position.commit;
        }
    }

    /// The events after `after` up to `head` that pass `filter`, or `None` when the tail no
    /// longer holds every event after `after` (read the database then).
    pub(crate) fn after(
        &self,
        after: u64,
        head: u64,
        filter: &SqlFilter,
    ) -> Option<Vec<Arc<RecordedEvent>>> {
        let inner = self.lock();
        if inner.floor > after {
            return None;
        }
        let start = inner.events.partition_point(|e| e.position.commit <= after);
        Some(
            inner
                .events
                .range(start..)
                .take_while(|e| e.position.commit <= head)
                .filter(|e| filter.accepts(&e.stream, &e.event_type))
                .cloned()
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{EventFilter, Position};
    use ecohub_kernel::{EventId, EventMetadata, Timestamp};

    fn event(position: u64, stream: &str, event_type: &str) -> RecordedEvent {
        RecordedEvent {
            event_id: EventId::generate(Timestamp::from_unix_seconds(1)),
            stream: stream.into(),
            revision: 0,
            position: Position::new(position),
            event_type: event_type.into(),
            event_version: 1,
            data: b"{}".to_vec(),
            metadata: EventMetadata::default(),
            recorded_at: Timestamp::from_unix_seconds(1),
        }
    }

    fn positions(events: Option<Vec<Arc<RecordedEvent>>>) -> Option<Vec<u64>> {
        events.map(|v| v.iter().map(|e| e.position.commit).collect())
    }

    #[test]
    fn the_tail_answers_after_its_floor_filtered_and_up_to_the_head_only() {
        let tail = Tail::with_capacity(10, 3, 1 << 20);
        let any = SqlFilter::new(&EventFilter::default());
        assert_eq!(positions(tail.after(10, 10, &any)), Some(vec![]));
        assert_eq!(positions(tail.after(9, 10, &any)), None, "before the floor");
        tail.push(vec![
            event(11, "consent-a", "ConsentCreated"),
            event(13, "partner-b", "PartnerApplied"),
        ]);
        assert_eq!(positions(tail.after(10, 13, &any)), Some(vec![11, 13]));
        assert_eq!(
            positions(tail.after(10, 12, &any)),
            Some(vec![11]),
            "not beyond the head"
        );
        assert_eq!(positions(tail.after(11, 13, &any)), Some(vec![13]));
        let consents = SqlFilter::new(&EventFilter::streams(vec!["consent-".to_owned()]));
        assert_eq!(positions(tail.after(10, 13, &consents)), Some(vec![11]));
        let applied = SqlFilter::new(&EventFilter {
            stream_prefixes: vec!["partner-b".to_owned()],
            event_type_prefixes: vec!["PartnerApp".to_owned()],
        });
        assert_eq!(positions(tail.after(10, 13, &applied)), Some(vec![13]));
        tail.push(vec![
            event(14, "consent-a", "ConsentAuthorised"),
            event(15, "x", "Y"),
        ]);
        // Capacity 3: 11 was evicted, so a cursor before it reads the database.
        assert_eq!(positions(tail.after(10, 15, &any)), None);
        assert_eq!(positions(tail.after(11, 15, &any)), Some(vec![13, 14, 15]));
        assert_eq!(positions(tail.after(13, 15, &consents)), Some(vec![14]));
    }

    #[test]
    fn the_tail_keeps_at_most_its_bytes() {
        // Each event's payload is `{}` (2 bytes): room for two.
        let tail = Tail::with_capacity(0, 100, 5);
        let any = SqlFilter::new(&EventFilter::default());
        tail.push(vec![
            event(1, "a-1", "T"),
            event(2, "a-1", "T"),
            event(3, "a-1", "T"),
        ]);
        assert_eq!(positions(tail.after(0, 3, &any)), None);
        assert_eq!(positions(tail.after(1, 3, &any)), Some(vec![2, 3]));
    }
}
