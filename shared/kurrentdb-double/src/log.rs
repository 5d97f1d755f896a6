//! The in-memory log shared by every node of a [`crate::DoubleCluster`]: one ordered `$all`
//! plus a per-stream index, written under one lock so that every expected-revision check is
//! atomic with its write (as on the real server, where the leader serializes writes).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use uuid::Uuid;

/// One event as stored.
#[derive(Debug)]
pub(crate) struct Stored {
    pub id: Uuid,
    pub stream: String,
    pub revision: u64,
    /// Commit position == prepare position.
    pub position: u64,
    pub event_type: String,
    pub content_type: String,
    /// 100-nanosecond ticks since the Unix epoch, server time at append.
    pub created: i64,
    pub custom_metadata: Vec<u8>,
    pub data: Vec<u8>,
}

/// An event proposed by a client.
#[derive(Debug, Clone)]
pub(crate) struct Proposed {
    pub id: Uuid,
    pub event_type: String,
    pub content_type: String,
    pub custom_metadata: Vec<u8>,
    pub data: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expected {
    Any,
    NoStream,
    StreamExists,
    Exact(u64),
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum AppendOutcome {
    /// `current`: the stream's revision after the append (`None`: no stream, only for an
    /// empty append); `position`: the last written (or idempotently matched) event's.
    Success {
        current: Option<u64>,
        position: Option<u64>,
    },
    WrongExpectedVersion {
        current: Option<u64>,
    },
}

/// Positions advance by a pseudo record size (this overhead plus the record's variable
/// parts), so they are strictly increasing but not contiguous, and user events follow the
/// system events at a position > 0.
const RECORD_OVERHEAD: u64 = 64;

pub(crate) fn now_ticks() -> i64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since.as_nanos() / 100).unwrap_or(i64::MAX)
}

#[derive(Debug, Default)]
pub(crate) struct Log {
    events: Vec<Arc<Stored>>,
    /// Stream name → indices into `events`, in revision order.
    streams: HashMap<String, Vec<usize>>,
    /// Event id → index into `events` (the id lookup of an idempotent re-append with
    /// `Any`/`StreamExists` without scanning the stream, as the server's id cache does).
    ids: HashMap<Uuid, Vec<usize>>,
    next_position: u64,
}

impl Log {
    /// A log holding the system events a fresh real server has before any user event.
    pub fn with_system_events() -> Log {
        let mut log = Log::default();
        let system = |stream: &str, data: &str| Proposed {
            id: Uuid::new_v4(),
            event_type: stream.to_owned(),
            content_type: "application/json".to_owned(),
            custom_metadata: Vec::new(),
            data: data.as_bytes().to_vec(),
        };
        log.write(
            "$epoch-information",
            vec![system(
                "$epoch-information",
                r#"{"epochNumber":0,"leaderInstanceId":"00000000-0000-0000-0000-000000000000"}"#,
            )],
        );
        log.write(
            "$settings",
            vec![system(
                "$settings",
                r#"{"$userStreamAcl":{},"$systemStreamAcl":{}}"#,
            )],
        );
        log
    }

    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn get(&self, index: usize) -> Option<&Arc<Stored>> {
        self.events.get(index)
    }

    pub fn last_position(&self) -> Option<u64> {
        self.events.last().map(|e| e.position)
    }

    /// Events `from..from+max` of `$all` (fewer at the end).
    pub fn slice(&self, from: usize, max: usize) -> Vec<Arc<Stored>> {
        let end = from.saturating_add(max).min(self.events.len());
        self.events.get(from..end).unwrap_or_default().to_vec()
    }

    /// Index of the first event whose position is `>= position`.
    pub fn index_at_or_after(&self, position: u64) -> usize {
        self.events.partition_point(|e| e.position < position)
    }

    /// Index of the first event whose position is `> position`.
    pub fn index_after(&self, position: u64) -> usize {
        self.events.partition_point(|e| e.position <= position)
    }

    /// The stream's events in revision order, `None` if it does not exist.
    pub fn stream(&self, name: &str) -> Option<Vec<Arc<Stored>>> {
        self.streams
            .get(name)
            .map(|ix| ix.iter().map(|&i| self.events[i].clone()).collect())
    }

    /// At most `max` events of the stream from `revision` on (none if it does not exist).
    pub fn stream_slice(&self, name: &str, revision: u64, max: usize) -> Vec<Arc<Stored>> {
        let Some(ix) = self.streams.get(name) else {
            return Vec::new();
        };
        let from = usize::try_from(revision)
            .unwrap_or(usize::MAX)
            .min(ix.len());
        let end = from.saturating_add(max).min(ix.len());
        ix[from..end]
            .iter()
            .map(|&i| self.events[i].clone())
            .collect()
    }

    /// The stream's last revision, `None` if it does not exist.
    pub fn current_revision(&self, stream: &str) -> Option<u64> {
        self.streams
            .get(stream)
            .and_then(|ix| ix.len().checked_sub(1))
            .map(|r| r as u64)
    }

    /// The stream's event at `revision`.
    fn at(&self, stream: &str, revision: u64) -> Option<&Arc<Stored>> {
        let ix = self.streams.get(stream)?;
        let i = usize::try_from(revision).ok()?;
        ix.get(i).map(|&i| &self.events[i])
    }

    /// If `proposed` are stored contiguously in `stream` from `start`: the last one.
    /// `Err(())` when only a leading part matches (corrupted idempotency on the real server).
    fn idempotent_run(
        &self,
        stream: &str,
        start: u64,
        proposed: &[Proposed],
    ) -> Result<Option<&Arc<Stored>>, ()> {
        let mut last = None;
        for (k, p) in proposed.iter().enumerate() {
            match self.at(stream, start + k as u64) {
                Some(e) if e.id == p.id => last = Some(e),
                _ if k == 0 => return Ok(None),
                _ => return Err(()),
            }
        }
        Ok(last)
    }

    /// Appends with the real server's expected-revision and idempotency rules.
    pub fn append(
        &mut self,
        stream: &str,
        expected: Expected,
        proposed: Vec<Proposed>,
    ) -> AppendOutcome {
        let current = self.current_revision(stream);
        let wrong = AppendOutcome::WrongExpectedVersion { current };
        let idempotent = |e: &Arc<Stored>| AppendOutcome::Success {
            current: Some(e.revision),
            position: Some(e.position),
        };
        match expected {
            Expected::Any | Expected::StreamExists => {
                if expected == Expected::StreamExists && current.is_none() {
                    return wrong;
                }
                // The first id anywhere in the stream, then the rest right after it.
                if let Some(first) = proposed.first() {
                    let found = self.ids.get(&first.id).and_then(|ix| {
                        ix.iter()
                            .map(|&i| &self.events[i])
                            .find(|e| e.stream == stream)
                    });
                    if let Some(found) = found {
                        return match self.idempotent_run(stream, found.revision, &proposed) {
                            Ok(Some(last)) => idempotent(last),
                            _ => wrong,
                        };
                    }
                }
            }
            Expected::NoStream | Expected::Exact(_) => {
                let want = match expected {
                    Expected::Exact(n) => Some(n),
                    _ => None,
                };
                if want != current {
                    let start = want.map_or(0, |n| n + 1);
                    let behind = current.is_some_and(|c| start <= c);
                    if behind
                        && !proposed.is_empty()
                        && let Ok(Some(last)) = self.idempotent_run(stream, start, &proposed)
                    {
                        return idempotent(last);
                    }
                    return wrong;
                }
            }
        }
        if proposed.is_empty() {
            return AppendOutcome::Success {
                current,
                position: None,
            };
        }
        let last = self.write(stream, proposed);
        AppendOutcome::Success {
            current: Some(last.revision),
            position: Some(last.position),
        }
    }

    fn write(&mut self, stream: &str, proposed: Vec<Proposed>) -> Arc<Stored> {
        let created = now_ticks();
        let first_revision = self.current_revision(stream).map_or(0, |c| c + 1);
        let mut last = None;
        for (revision, p) in (first_revision..).zip(proposed) {
            let size = RECORD_OVERHEAD
                + (stream.len() + p.event_type.len() + p.custom_metadata.len() + p.data.len())
                    as u64;
            let stored = Arc::new(Stored {
                id: p.id,
                stream: stream.to_owned(),
                revision,
                position: self.next_position,
                event_type: p.event_type,
                content_type: p.content_type,
                created,
                custom_metadata: p.custom_metadata,
                data: p.data,
            });
            self.next_position += size;
            self.streams
                .entry(stream.to_owned())
                .or_default()
                .push(self.events.len());
            // In log order: a re-append finds the id's first write in its stream.
            self.ids
                .entry(stored.id)
                .or_default()
                .push(self.events.len());
            self.events.push(stored.clone());
            last = Some(stored);
        }
        last.expect("write is only called with events")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(id: Uuid) -> Proposed {
        Proposed {
            id,
            event_type: "T".into(),
            content_type: "application/json".into(),
            custom_metadata: Vec::new(),
            data: b"{}".to_vec(),
        }
    }

    #[test]
    fn expected_revisions_and_idempotency() {
        let mut log = Log::with_system_events();
        let (a, b, c) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let first = log.append("s", Expected::NoStream, vec![ev(a), ev(b)]);
        let AppendOutcome::Success {
            current: Some(1),
            position: Some(p),
        } = first
        else {
            panic!("{first:?}")
        };
        // Same ids at the same expected revision: no write, original answer.
        assert_eq!(
            log.append("s", Expected::NoStream, vec![ev(a), ev(b)]),
            first
        );
        assert_eq!(log.append("s", Expected::Any, vec![ev(b)]), {
            AppendOutcome::Success {
                current: Some(1),
                position: Some(p),
            }
        });
        // Partial overlap.
        assert_eq!(
            log.append("s", Expected::NoStream, vec![ev(a), ev(c)]),
            AppendOutcome::WrongExpectedVersion { current: Some(1) }
        );
        assert_eq!(
            log.append("s", Expected::Any, vec![ev(a), ev(c)]),
            AppendOutcome::WrongExpectedVersion { current: Some(1) }
        );
        assert_eq!(log.len(), 4);
        assert_eq!(
            log.append("t", Expected::StreamExists, vec![ev(c)]),
            AppendOutcome::WrongExpectedVersion { current: None }
        );
        assert_eq!(
            log.append("t", Expected::Exact(0), vec![]),
            AppendOutcome::WrongExpectedVersion { current: None }
        );
        assert_eq!(
            log.append("t", Expected::NoStream, vec![]),
            AppendOutcome::Success {
                current: None,
                position: None
            }
        );
    }
}
