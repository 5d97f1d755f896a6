//! Property test (proptest) of the notifications read model's due index: whatever histories
//! its notifications have (queued, claimed, attempted, acknowledged or rejected by a poll, in
//! any order the log could hold), the notifications it finds due at any instant are exactly
//! those a scan of every notification's state finds, soonest first, and a bounded read
//! returns a prefix of them less the ones it is told to skip.

use std::time::Duration;

use ecohub_eventstore::{Position, Projection, RecordedEvent};
use ecohub_kernel::{DomainEvent, EventId, EventMetadata, Timestamp};
use ecohub_sharing::NotificationsReader;
use ecohub_sharing::domain::notifications::{Attempt, NotificationEvent, Queued};
use ecohub_sharing::notify::NotificationsProjection;
use ecohub_testkit::properties::config;
use proptest::prelude::*;
use serde_json::json;

const T0: Timestamp = Timestamp::from_unix_seconds(1_800_000_000);

fn at(s: u64) -> Timestamp {
    T0.plus(Duration::from_secs(s))
}

/// One step of a notification's history after it is queued (seconds after T0).
#[derive(Debug, Clone)]
enum Step {
    Claim(u64),
    Attempt { ack: bool, retry_at: Option<u64> },
    PollAck,
    PollReject,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (0u64..100).prop_map(Step::Claim),
        3 => (any::<bool>(), prop::option::of(0u64..100))
            .prop_map(|(ack, retry_at)| Step::Attempt { ack, retry_at }),
        1 => Just(Step::PollAck),
        1 => Just(Step::PollReject),
    ]
}

fn event(jti: &str, e: &NotificationEvent, n: u64) -> RecordedEvent {
    RecordedEvent {
        event_id: EventId::generate(T0),
        stream: format!("notification-{jti}"),
        revision: 0,
        position: Position::new(n),
        event_type: e.event_type().to_owned(),
        event_version: e.event_version(),
        data: serde_json::to_vec(&e.encode()).unwrap(),
        metadata: EventMetadata::default(),
        recorded_at: T0,
    }
}

fn history(jti: &str, queued_at: u64, steps: &[Step]) -> Vec<NotificationEvent> {
    let mut out = vec![NotificationEvent::Queued(Queued {
        jti: jti.to_owned(),
        subscription_id: "s".into(),
        partner_id: "p".into(),
        url: "https://p.example/hook".into(),
        event_type: "consent-revoked".into(),
        claims: json!({}),
        at: at(queued_at),
    })];
    let mut attempt = 0;
    for s in steps {
        out.push(match s {
            Step::Claim(until) => NotificationEvent::Claimed {
                attempt: attempt + 1,
                instance: "a".into(),
                until: at(*until),
            },
            Step::Attempt { ack, retry_at } => {
                attempt += 1;
                NotificationEvent::Attempted(Attempt {
                    attempt,
                    status: Some(if *ack { 202 } else { 500 }),
                    acknowledged: *ack,
                    error: None,
                    next_attempt_at: if *ack { None } else { retry_at.map(at) },
                    at: T0,
                })
            }
            Step::PollAck => NotificationEvent::AcknowledgedByPoll { at: T0 },
            Step::PollReject => NotificationEvent::Rejected {
                err: "invalid_request".into(),
                description: String::new(),
                at: T0,
            },
        });
    }
    out
}

proptest! {
    #![proptest_config(config(64))]

    #[test]
    fn the_due_index_finds_what_a_scan_finds(
        notifications in prop::collection::vec((0u64..100, prop::collection::vec(step(), 0..5)), 0..40),
        instants in prop::collection::vec(0u64..120, 1..6),
        max in 0usize..10,
    ) {
        let reader = NotificationsReader::default();
        let mut projection = NotificationsProjection::new(reader.clone());
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        // Interleave the histories as a log would: each notification's events in order.
        let mut histories: Vec<(String, std::collections::VecDeque<NotificationEvent>)> = notifications
            .iter()
            .enumerate()
            .map(|(i, (q, steps))| {
                let jti = format!("{i:032x}");
                let h = history(&jti, *q, steps).into();
                (jti, h)
            })
            .collect();
        let mut log = Vec::new();
        let mut turn = 0usize;
        while histories.iter().any(|(_, h)| !h.is_empty()) {
            let live: Vec<usize> = (0..histories.len()).filter(|i| !histories[*i].1.is_empty()).collect();
            let i = live[(turn * 7 + 3) % live.len()];
            turn += 1;
            let (jti, h) = &mut histories[i];
            let e = h.pop_front().unwrap();
            log.push(event(jti, &e, log.len() as u64 + 1));
        }
        runtime.block_on(projection.apply(&log, Position::new(log.len() as u64))).unwrap();

        for now in instants {
            let now = at(now);
            let mut scanned: Vec<(Timestamp, String)> = (0..notifications.len())
                .map(|i| format!("{i:032x}"))
                .filter_map(|j| {
                    let n = reader.get(&j)?;
                    let due = n.due_at()?;
                    let free = n.claim.as_ref().is_none_or(|(_, until)| *until <= now);
                    (due <= now && free).then(|| {
                        let claimable = n.claim.as_ref().map_or(due, |(_, u)| due.max(*u));
                        (claimable, j)
                    })
                })
                .collect();
            scanned.sort();
            let found = reader.due(now);
            let mut sorted_found = found.clone();
            sorted_found.sort();
            let mut expected: Vec<String> = scanned.iter().map(|(_, j)| j.clone()).collect();
            expected.sort();
            prop_assert_eq!(&sorted_found, &expected);
            // Soonest first.
            let times: Vec<Timestamp> = found
                .iter()
                .map(|j| scanned.iter().find(|(_, s)| s == j).unwrap().0)
                .collect();
            prop_assert!(times.windows(2).all(|w| w[0] <= w[1]));
            // Bounded, skipping some: a prefix of the rest.
            let skip = |j: &str| j.ends_with('1');
            let rest: Vec<String> = found.iter().filter(|j| !skip(j)).take(max).cloned().collect();
            prop_assert_eq!(reader.due_at_most(now, max, skip), rest);
        }
    }
}
