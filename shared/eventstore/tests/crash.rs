//! Kill -9 in the middle of a write load: every acknowledged append must be there, exactly
//! once, after a restart.
//!
//! The test re-runs its own binary as a child that only runs `crash_child_writer` (a no-op
//! unless `ECOHUB_CRASH_CHILD_DB` is set). The child appends from several concurrent writers
//! and prints one line per acknowledged append; the parent kills it with SIGKILL once it has
//! seen enough acknowledgements, reopens the store and checks the log.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::str::FromStr;

use ecohub_eventstore::{
    EventFilter, EventStore, ExpectedRevision, NewEvent, SqliteStore, SqliteStoreOptions,
};
use ecohub_kernel::{EventId, Timestamp};
use serde_json::json;

const CHILD_ENV: &str = "ECOHUB_CRASH_CHILD_DB";
const ROUND_ENV: &str = "ECOHUB_CRASH_CHILD_ROUND";
const WRITERS: usize = 16;
const ACKS_BEFORE_KILL: usize = 3_000;
const ROUNDS: usize = 3;

/// One acknowledged append as the child reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Ack {
    stream: String,
    /// Revision and id of each event of the append.
    events: Vec<(u64, EventId)>,
    /// Position of the append's last event.
    position: u64,
}

impl Ack {
    fn parse(line: &str) -> Option<Self> {
        // ack <stream> <position> <revision>:<id> <revision>:<id> ...
        let mut parts = line.strip_prefix("ack ")?.split(' ');
        let stream = parts.next()?.to_owned();
        let position = parts.next()?.parse().ok()?;
        let events = parts
            .map(|p| {
                let (r, id) = p.split_once(':')?;
                Some((r.parse().ok()?, EventId::from_str(id).ok()?))
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Self {
            stream,
            events,
            position,
        })
    }
}

/// The child: appends forever from `WRITERS` tasks and reports every acknowledgement.
#[test]
fn crash_child_writer() {
    let Ok(db) = std::env::var(CHILD_ENV) else {
        return;
    };
    let round = std::env::var(ROUND_ENV).unwrap_or_default();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let store = SqliteStore::open(&db, SqliteStoreOptions::default()).unwrap();
        let tasks: Vec<_> = (0..WRITERS)
            .map(|w| {
                let store = store.clone();
                let stream = format!("crash-r{round}w{w}");
                tokio::spawn(async move {
                    let mut expected = ExpectedRevision::NoStream;
                    for i in 0u64.. {
                        let now = Timestamp::from(time::OffsetDateTime::now_utc());
                        let batch: Vec<NewEvent> = (0..1 + i % 3)
                            .map(|n| NewEvent::raw("Crash.Tested", json!({ "i": i, "n": n }), now))
                            .collect();
                        let ids: Vec<EventId> = batch.iter().map(|e| e.event_id).collect();
                        let r = store.append(&stream, expected, batch).await.unwrap();
                        expected = r.next_expected.into();
                        let last = match r.next_expected {
                            ecohub_eventstore::CurrentRevision::Current(n) => n,
                            ecohub_eventstore::CurrentRevision::NoStream => unreachable!(),
                        };
                        let first = last + 1 - ids.len() as u64;
                        let mut line =
                            format!("ack {stream} {}", r.position.map_or(0, |p| p.commit));
                        for (k, id) in ids.iter().enumerate() {
                            line.push_str(&format!(" {}:{id}", first + k as u64));
                        }
                        line.push('\n');
                        // One write per line, flushed before the next append.
                        let mut out = std::io::stdout().lock();
                        out.write_all(line.as_bytes()).unwrap();
                        out.flush().unwrap();
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
    });
}

#[test]
fn acknowledged_appends_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.db");
    let mut acked: Vec<Ack> = Vec::new();
    for round in 0..ROUNDS {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "crash_child_writer",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, &db)
            .env(ROUND_ENV, round.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let mut this_round = 0;
        while this_round < ACKS_BEFORE_KILL {
            let line = lines
                .next()
                .expect("the child stopped before it was killed")
                .unwrap();
            if let Some(ack) = Ack::parse(&line) {
                acked.push(ack);
                this_round += 1;
            }
        }
        // SIGKILL on Unix: no destructor, no close, no final checkpoint.
        child.kill().unwrap();
        // Acknowledgements printed before the kill but not read yet still count.
        for line in lines {
            let Ok(line) = line else { break };
            if let Some(ack) = Ack::parse(&line) {
                acked.push(ack);
            }
        }
        let status = child.wait().unwrap();
        assert!(!status.success(), "the child must have been killed");
        verify(&db, &acked);
    }
}

/// Reopens the store and checks it against every acknowledgement so far.
fn verify(db: &std::path::Path, acked: &[Ack]) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = SqliteStore::open(db, SqliteStoreOptions::default()).unwrap();
        let log = store
            .read_all(None, &EventFilter::all(), usize::MAX)
            .await
            .unwrap();
        // The log: unique ids, strictly increasing positions, contiguous revisions.
        let mut ids = HashSet::new();
        let mut next_revision: HashMap<&str, u64> = HashMap::new();
        let mut by_id = HashMap::new();
        for (i, e) in log.iter().enumerate() {
            assert!(ids.insert(e.event_id), "event {} stored twice", e.event_id);
            if i > 0 {
                assert!(e.position > log[i - 1].position, "positions not increasing");
            }
            let next = next_revision.entry(e.stream.as_str()).or_default();
            assert_eq!(e.revision, *next, "hole in stream {}", e.stream);
            *next += 1;
            by_id.insert(e.event_id, e);
        }
        // Every acknowledged event is there, where the acknowledgement said.
        let mut acked_events = 0;
        for ack in acked {
            for (revision, id) in &ack.events {
                let stored = by_id
                    .get(id)
                    .unwrap_or_else(|| panic!("acknowledged event {id} is lost"));
                assert_eq!(&stored.stream, &ack.stream);
                assert_eq!(stored.revision, *revision);
                acked_events += 1;
            }
            let last = ack.events.last().unwrap().1;
            assert_eq!(by_id[&last].position.commit, ack.position);
        }
        assert!(log.len() >= acked_events);
        eprintln!(
            "after kill: {} events stored, {acked_events} acknowledged ({} committed but not \
             yet acknowledged when the child died)",
            log.len(),
            log.len() - acked_events
        );
        // Each stream holds its acknowledged prefix, possibly followed by appends that were
        // committed but not yet acknowledged when the process died; never less.
        store.close().await.unwrap();
    });
}
