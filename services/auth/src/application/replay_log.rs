//! The cross-instance `jti` replay guard on the event store, group-committed
//! (`docs/adr/0017-group-committed-jti-records.md`).
//!
//! Every `(namespace, jti)` is reduced to its [`replay_key`] and falls in one of [`SHARDS`]
//! shard streams `jtis-<n>`. An instance keeps, per shard, the keys recorded in that stream
//! (those not yet expired) and the stream revision they were read at. A first use is
//! recorded by appending a `JtisUsed` event with `ExpectedRevision::Exact(revision read)` (or
//! `NoStream`): the append succeeds only if no instance recorded anything in the shard since,
//! so a key absent from the instance's set was absent from the stream — exact across every
//! instance, as the one-stream-per-`jti` guard it replaces was. When another instance did
//! append, the store answers `WrongExpectedVersion`; the guard reads the new events, refuses
//! the keys they hold and appends the rest again.
//!
//! Concurrent first uses of one shard are committed together: one task per shard appends its
//! queue group after group, and the requests arriving while a group's append is in flight
//! form the next group, one event (a key queued twice is refused the second time). A request
//! is answered `true` only after the event holding its key was appended (durable: `Ok` from
//! the store); a request that goes away does not cancel its group.
//!
//! Expiry: a key is remembered until its `expires_at`, which callers bound to at most
//! [`MAX_REMEMBER`] ahead (a further one is refused as an error, never accepted unchecked).
//! Every event carries the time it was written, so an instance starting (or reaching a
//! shard for the first time) reads each shard backwards only until events written more than
//! `MAX_REMEMBER` + [`CLOCK_MARGIN`] ago: all their keys have expired.
//!
//! Stores written by the previous guard (one `jti-<key>` stream per use) are honoured: when
//! the `jti-` category has any stream, keys are also looked up there for the first
//! `MAX_REMEMBER` after the guard started (old markers are all expired after that).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use ecohub_eventstore::{
    CurrentRevision, Direction, ExpectedRevision, NewEvent, ReadStreamOptions, RecordedEvent,
    SharedStore, StoreError, StreamPosition,
};
use ecohub_kernel::{Clock, EventMetadata, Timestamp};
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

use ecohub_jose::replay::{JtiReplayGuard, ReplayFuture, ReplayGuardError, replay_key};

/// How many shard streams the keys are spread over (`jtis-0` … `jtis-7`): instances
/// appending at once mostly touch different shards, and one shard's group commit still
/// gathers many keys.
pub(crate) const SHARDS: usize = 8;
/// The longest a key is remembered: an `expires_at` further ahead is refused (client
/// assertions live at most 5 minutes plus skews, DPoP proofs about a minute).
pub const MAX_REMEMBER: Duration = Duration::from_secs(15 * 60);
/// How far instances' clocks may disagree when deciding which events are all expired.
pub(crate) const CLOCK_MARGIN: Duration = Duration::from_secs(5 * 60);
/// Most keys in one `JtisUsed` event.
const MAX_BATCH: usize = 512;
/// Events read per page when loading a shard.
const PAGE: usize = 256;
/// How many times a batch is re-appended after other instances' appends before giving up.
const MAX_ATTEMPTS: usize = 32;
/// The longest one group's store work may take: past it, the group is answered with an
/// error (the append may still land; a later append then fails on the revision and learns
/// its keys), so no request waits on a stuck store forever.
pub(crate) const STORE_TIMEOUT: Duration = Duration::from_secs(10);

/// The event type of a group of first uses.
pub(crate) const JTIS_USED: &str = "JtisUsed";

#[derive(Debug, Serialize, Deserialize)]
struct JtisUsedV1 {
    /// When the writing instance appended it (its clock).
    written_at: Timestamp,
    /// `[replay key, expires_at in Unix seconds]`.
    keys: Vec<(String, i64)>,
}

/// The shard stream of a replay key.
fn shard_of(key: &str, shards: usize) -> usize {
    // The key is base64url of a SHA-256 digest: its characters are uniform over 64.
    key.bytes()
        .take(4)
        .fold(0usize, |h, b| h * 64 + usize::from(b))
        % shards
}

type Reply = oneshot::Sender<Result<bool, ReplayGuardError>>;

/// One shard: what this instance knows of its stream, and the first uses waiting to be
/// appended.
#[derive(Default)]
struct Shard {
    /// Recorded keys (durable in the shard stream) → expiry (Unix seconds).
    seen: HashMap<String, i64>,
    /// The stream revision `seen` covers; `None` until the shard was loaded.
    revision: Option<CurrentRevision>,
    /// Keys waiting or being appended.
    pending: HashSet<String>,
    waiting: Vec<(String, i64, Reply)>,
    /// Whether a task is appending this shard's queue.
    flushing: bool,
    /// `seen` is purged of expired keys when it grows past this.
    purge_at: usize,
}

impl Shard {
    fn purge(&mut self, now: i64) {
        if self.seen.len() >= self.purge_at {
            self.seen.retain(|_, expires| *expires >= now);
            self.purge_at = (self.seen.len() * 2).max(4096);
        }
    }
}

/// A [`JtiReplayGuard`] on the event store, exact across every instance and group-committed;
/// see the module documentation.
pub struct StoreReplayGuard {
    inner: Arc<Inner>,
}

struct Inner {
    store: SharedStore,
    clock: Arc<dyn Clock>,
    started: Timestamp,
    shards: Vec<Mutex<Shard>>,
    /// Whether the previous guard's `jti-` streams may still hold unexpired keys (checked
    /// once, on the first append).
    legacy: tokio::sync::OnceCell<bool>,
}

impl StoreReplayGuard {
    /// A guard appending to `store`, reading time from `clock`.
    pub fn new(store: SharedStore, clock: Arc<dyn Clock>) -> Self {
        Self {
            inner: Arc::new(Inner {
                started: clock.now(),
                store,
                clock,
                shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
                legacy: tokio::sync::OnceCell::new(),
            }),
        }
    }

    async fn first_use_of(
        &self,
        key: String,
        expires_at: Timestamp,
    ) -> Result<bool, ReplayGuardError> {
        let inner = &self.inner;
        if expires_at > inner.clock.now().plus(MAX_REMEMBER) {
            return Err(ReplayGuardError(format!(
                "a jti is remembered at most {} s",
                MAX_REMEMBER.as_secs()
            )));
        }
        let index = shard_of(&key, inner.shards.len());
        let (tx, rx) = oneshot::channel();
        let start;
        {
            let mut shard = inner.lock(index);
            if (shard.revision.is_some() && shard.seen.contains_key(&key))
                || shard.pending.contains(&key)
            {
                return Ok(false);
            }
            shard.pending.insert(key.clone());
            shard.waiting.push((key, expires_at.unix_seconds(), tx));
            start = !shard.flushing;
            shard.flushing = true;
        }
        if start {
            // One task per shard appends what is queued, group after group, until the
            // queue is empty; it outlives a request that goes away. The task owns its
            // `FlushEnded` from the start, so even a task dropped before it first ran
            // answers the queue (outside the lock: dropping it takes the lock).
            tokio::spawn(Inner::flush(FlushEnded {
                inner: Arc::clone(inner),
                index,
                cleanly: false,
            }));
        }
        rx.await
            .unwrap_or_else(|_| Err(ReplayGuardError("replay check abandoned".into())))
    }
}

impl Inner {
    fn lock(&self, index: usize) -> std::sync::MutexGuard<'_, Shard> {
        self.shards[index]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Appends shard `index`'s queue, one group at a time, and answers each request.
    ///
    /// Should the task end before the queue is empty (a panic, its runtime shutting down),
    /// `ended` answers what waits with an error and lets the next request start a new task:
    /// a dead task never leaves requests waiting.
    async fn flush(mut ended: FlushEnded) {
        let this = Arc::clone(&ended.inner);
        let index = ended.index;
        let stream = format!("jtis-{index}");
        loop {
            let (batch, revision) = {
                let mut shard = this.lock(index);
                if shard.waiting.is_empty() {
                    shard.flushing = false;
                    ended.cleanly = true;
                    return;
                }
                let n = shard.waiting.len().min(MAX_BATCH);
                let batch: Vec<(String, i64, Reply)> = shard.waiting.drain(..n).collect();
                (batch, shard.revision)
            };
            let outcome = tokio::time::timeout(
                STORE_TIMEOUT,
                this.append_batch(index, &stream, revision, &batch),
            )
            .await
            .unwrap_or_else(|_| {
                Err(ReplayGuardError(format!(
                    "{stream}: the store did not answer within {} s",
                    STORE_TIMEOUT.as_secs()
                )))
            });
            let mut shard = this.lock(index);
            for (key, _, _) in &batch {
                shard.pending.remove(key);
            }
            match outcome {
                Ok(fresh) => {
                    for (key, expires, reply) in batch {
                        let first = fresh.contains(&key);
                        if first {
                            shard.seen.insert(key, expires);
                        }
                        let _ = reply.send(Ok(first));
                    }
                    shard.purge(this.clock.now().unix_seconds());
                }
                Err(e) => {
                    for (_, _, reply) in batch {
                        let _ = reply.send(Err(e.clone()));
                    }
                }
            }
        }
    }

    /// Appends the keys of `batch` not recorded yet; returns those it recorded.
    async fn append_batch(
        &self,
        index: usize,
        stream: &str,
        revision: Option<CurrentRevision>,
        batch: &[(String, i64, Reply)],
    ) -> Result<HashSet<String>, ReplayGuardError> {
        let err = |e: StoreError| ReplayGuardError(e.to_string());
        let mut revision = match revision {
            Some(revision) => revision,
            None => self.load(index, stream).await.map_err(err)?,
        };
        let legacy = self.legacy_may_hold_keys().await.map_err(err)?;
        let mut fresh: Vec<(String, i64)> = Vec::with_capacity(batch.len());
        for (key, expires, _) in batch {
            if legacy
                && self
                    .store
                    .stream_revision(&format!("jti-{key}"))
                    .await
                    .map_err(err)?
                    != CurrentRevision::NoStream
            {
                continue;
            }
            fresh.push((key.clone(), *expires));
        }
        for _ in 0..MAX_ATTEMPTS {
            {
                let shard = self.lock(index);
                fresh.retain(|(key, _)| !shard.seen.contains_key(key));
            }
            if fresh.is_empty() {
                return Ok(HashSet::new());
            }
            let expected = match revision {
                CurrentRevision::Current(r) => ExpectedRevision::Exact(r),
                CurrentRevision::NoStream => ExpectedRevision::NoStream,
            };
            let now = self.clock.now();
            let data = serde_json::to_value(JtisUsedV1 {
                written_at: now,
                keys: fresh.clone(),
            })
            .map_err(|e| ReplayGuardError(e.to_string()))?;
            let mut event = NewEvent::raw(JTIS_USED, data, now);
            event.metadata = EventMetadata::system("replay-guard");
            match self.store.append(stream, expected, vec![event]).await {
                Ok(result) => {
                    self.lock(index).revision = Some(result.next_expected);
                    return Ok(fresh.into_iter().map(|(key, _)| key).collect());
                }
                Err(StoreError::WrongExpectedVersion { .. }) => {
                    // Another instance appended: learn its keys, then try the rest again.
                    revision = self.catch_up(index, stream, revision).await.map_err(err)?;
                }
                Err(e) => return Err(err(e)),
            }
        }
        Err(ReplayGuardError(format!(
            "{stream}: too many concurrent appends"
        )))
    }

    /// Reads the shard backwards until its events are all expired; returns the revision read.
    async fn load(&self, index: usize, stream: &str) -> Result<CurrentRevision, StoreError> {
        let now = self.clock.now();
        let horizon = now.minus(MAX_REMEMBER + CLOCK_MARGIN);
        let mut revision = CurrentRevision::NoStream;
        let mut keys = Vec::new();
        let mut from = StreamPosition::End;
        'pages: loop {
            let options = ReadStreamOptions::backwards().from(from).limit(PAGE);
            let page = self.store.read_stream(stream, options).await?;
            for event in &page {
                if revision == CurrentRevision::NoStream {
                    revision = CurrentRevision::Current(event.revision);
                }
                let Some(used) = decode(event) else { continue };
                if used.written_at < horizon {
                    break 'pages;
                }
                keys.extend(used.keys);
            }
            match page.last() {
                Some(last) if page.len() == PAGE && last.revision > 0 => {
                    from = StreamPosition::Revision(last.revision - 1);
                }
                _ => break,
            }
        }
        let mut shard = self.lock(index);
        let now = now.unix_seconds();
        shard
            .seen
            .extend(keys.into_iter().filter(|(_, expires)| *expires >= now));
        shard.purge_at = (shard.seen.len() * 2).max(4096);
        shard.revision = Some(revision);
        Ok(revision)
    }

    /// Reads the shard's events after `revision`; returns the revision read.
    async fn catch_up(
        &self,
        index: usize,
        stream: &str,
        mut revision: CurrentRevision,
    ) -> Result<CurrentRevision, StoreError> {
        let options = ReadStreamOptions {
            direction: Direction::Forwards,
            from: StreamPosition::Revision(revision.next()),
            limit: usize::MAX,
        };
        let events = self.store.read_stream(stream, options).await?;
        let mut shard = self.lock(index);
        for event in &events {
            revision = CurrentRevision::Current(event.revision);
            if let Some(used) = decode(event) {
                shard.seen.extend(used.keys);
            }
        }
        shard.revision = Some(revision);
        Ok(revision)
    }

    /// Whether keys must also be looked up in the previous guard's `jti-<key>` streams.
    async fn legacy_may_hold_keys(&self) -> Result<bool, StoreError> {
        if self.clock.now() > self.started.plus(MAX_REMEMBER) {
            return Ok(false);
        }
        self.legacy
            .get_or_try_init(|| async {
                let head = self.store.category_head("jti-").await?;
                Ok::<bool, StoreError>(head.is_some())
            })
            .await
            .copied()
    }
}

/// Ends a shard's flush task: unless it ended cleanly, fails what still waits and clears the
/// task's claim so that the next request starts another one.
struct FlushEnded {
    inner: Arc<Inner>,
    index: usize,
    cleanly: bool,
}

impl Drop for FlushEnded {
    fn drop(&mut self) {
        if self.cleanly {
            return;
        }
        let mut shard = self.inner.lock(self.index);
        // Every pending key belongs to this task (the group in flight, whose replies are
        // dropped with it and so answered with an error, or the queue).
        shard.pending.clear();
        // The group in flight may or may not have been appended: read the shard again.
        shard.revision = None;
        shard.flushing = false;
        for (_, _, reply) in shard.waiting.drain(..) {
            let _ = reply.send(Err(ReplayGuardError("replay check abandoned".into())));
        }
    }
}

fn decode(event: &RecordedEvent) -> Option<JtisUsedV1> {
    (event.event_type == JTIS_USED)
        .then(|| serde_json::from_slice(&event.data).ok())
        .flatten()
}

impl std::fmt::Debug for StoreReplayGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreReplayGuard").finish_non_exhaustive()
    }
}

impl JtiReplayGuard for StoreReplayGuard {
    fn first_use<'a>(
        &'a self,
        namespace: &'a str,
        jti: &'a str,
        expires_at: Timestamp,
    ) -> ReplayFuture<'a> {
        Box::pin(self.first_use_of(replay_key(namespace, jti), expires_at))
    }
}
