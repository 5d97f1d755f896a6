//! The projection runner: read models fed from the global log through a catch-up
//! subscription, checkpointed by the projection itself, rebuildable from zero.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::StreamExt;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::{EventFilter, EventStore, Position, RecordedEvent, StoreError, SubscriptionMessage};

/// A read model fed from the global log.
///
/// `apply` must make the effect of `events` and the new checkpoint durable together (or
/// neither), so that a restart resumes exactly where it left off. In-memory projections
/// return `None` from `checkpoint` after a restart and are rebuilt from zero.
#[async_trait]
pub trait Projection: Send + 'static {
    /// Stable name (used in logs, metrics and checkpoints).
    fn name(&self) -> &str;

    /// Which events the projection wants; the others are skipped by the store.
    fn filter(&self) -> EventFilter {
        EventFilter::all()
    }

    /// Where to resume: the position of the last event applied, `None` to start from zero.
    async fn checkpoint(&mut self) -> Result<Option<Position>, ProjectionError>;

    /// Applies a batch of events (possibly empty) and records `checkpoint` as applied.
    async fn apply(
        &mut self,
        events: &[RecordedEvent],
        checkpoint: Position,
    ) -> Result<(), ProjectionError>;

    /// Forgets everything, so that the next run starts from zero.
    async fn reset(&mut self) -> Result<(), ProjectionError>;

    /// Given once, before anything else, a way to report work the projection handed off
    /// (the lanes of a pipelined processor) that keeps failing: its status shows it until the
    /// projection reports it recovered. Projections that do all their work in `apply` (whose
    /// errors the runner reports) ignore it.
    fn attach(&mut self, stalls: StallReporter) {
        let _ = stalls;
    }
}

/// Reports a projection's failing background work in its [`ProjectionStatus::stalled`].
#[derive(Debug, Clone)]
pub struct StallReporter(Arc<watch::Sender<ProjectionStatus>>);

impl StallReporter {
    /// `Some(what)`: work is failing and being retried; `None`: nothing is.
    pub fn report(&self, stalled: Option<String>) {
        self.0.send_if_modified(|s| {
            let changed = s.stalled != stalled;
            s.stalled = stalled;
            changed
        });
    }
}

/// A projection could not apply or persist events.
#[derive(Debug, thiserror::Error)]
#[error("projection failed: {0}")]
pub struct ProjectionError(pub String);

impl From<StoreError> for ProjectionError {
    fn from(e: StoreError) -> Self {
        ProjectionError(e.to_string())
    }
}

/// What a running projection reports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProjectionStatus {
    /// History has been applied and the projection follows the live log.
    pub caught_up: bool,
    /// Last position applied.
    pub checkpoint: Option<Position>,
    /// Events applied since the runner started (or was last rebuilt).
    pub events_applied: u64,
    /// Last error, cleared after the next successful batch.
    pub last_error: Option<String>,
    /// Work the projection handed off that keeps failing (see [`Projection::attach`]).
    pub stalled: Option<String>,
}

enum Control {
    Rebuild(tokio::sync::oneshot::Sender<()>),
}

/// Handle to a projection running in the background.
#[derive(Clone)]
pub struct ProjectionHandle {
    name: Arc<str>,
    status: watch::Receiver<ProjectionStatus>,
    control: mpsc::Sender<Control>,
    task: Arc<std::sync::Mutex<Option<JoinHandle<()>>>>,
}

impl std::fmt::Debug for ProjectionHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProjectionHandle")
            .field("name", &self.name)
            .field("status", &*self.status.borrow())
            .finish()
    }
}

const BATCH: usize = 512;

impl ProjectionHandle {
    /// Starts `projection` against `store` in a background task.
    pub fn spawn<P: Projection>(store: Arc<dyn EventStore>, projection: P) -> Self {
        let name: Arc<str> = projection.name().into();
        let (status_tx, status_rx) = watch::channel(ProjectionStatus::default());
        let (control_tx, control_rx) = mpsc::channel(4);
        let status_tx = Arc::new(status_tx);
        let mut projection = projection;
        projection.attach(StallReporter(Arc::clone(&status_tx)));
        let task = tokio::spawn(run(store, projection, status_tx, control_rx));
        Self {
            name,
            status: status_rx,
            control: control_tx,
            task: Arc::new(std::sync::Mutex::new(Some(task))),
        }
    }

    /// The projection's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its current status.
    pub fn status(&self) -> ProjectionStatus {
        self.status.borrow().clone()
    }

    /// Waits until the projection has applied everything up to `position` (or, with `None`,
    /// until it has caught up once).
    pub async fn wait_for(&self, position: Option<Position>) {
        let mut rx = self.status.clone();
        let _ = rx
            .wait_for(|s| match position {
                None => s.caught_up,
                Some(p) => s.caught_up && s.checkpoint.is_some_and(|c| c >= p),
            })
            .await;
    }

    /// Resets the projection and replays the log from zero; returns when the rebuild has
    /// started (watch [`Self::status`] or [`Self::wait_for`] for its end).
    pub async fn rebuild(&self) -> Result<(), ProjectionError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.control
            .send(Control::Rebuild(tx))
            .await
            .map_err(|_| ProjectionError("projection is not running".into()))?;
        rx.await
            .map_err(|_| ProjectionError("projection stopped during rebuild".into()))
    }

    /// Stops the projection.
    pub fn stop(&self) {
        if let Some(task) = self.task.lock().ok().and_then(|mut t| t.take()) {
            task.abort();
        }
    }
}

async fn run<P: Projection>(
    store: Arc<dyn EventStore>,
    mut projection: P,
    status: Arc<watch::Sender<ProjectionStatus>>,
    mut control: mpsc::Receiver<Control>,
) {
    const FIRST_BACKOFF: Duration = Duration::from_millis(100);
    let mut backoff = FIRST_BACKOFF;
    loop {
        let applied_before = status.borrow().events_applied;
        match follow(&*store, &mut projection, &status, &mut control).await {
            Ok(()) => return,
            Err(e) => {
                if status.borrow().events_applied != applied_before {
                    backoff = FIRST_BACKOFF; // it made progress since the last failure
                }
                tracing::warn!(projection = projection.name(), error = %e, "projection failed; retrying");
                status.send_modify(|s| {
                    s.caught_up = false;
                    s.last_error = Some(e.to_string());
                });
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}

/// Follows the log until the control channel closes (`Ok`) or something fails (`Err`).
async fn follow<P: Projection>(
    store: &dyn EventStore,
    projection: &mut P,
    status: &watch::Sender<ProjectionStatus>,
    control: &mut mpsc::Receiver<Control>,
) -> Result<(), ProjectionError> {
    'restart: loop {
        let from = projection.checkpoint().await?;
        status.send_modify(|s| {
            s.caught_up = false;
            s.checkpoint = from;
        });
        let mut subscription = store.subscribe_all(from, projection.filter()).await?;
        let mut batch: Vec<RecordedEvent> = Vec::with_capacity(BATCH);
        let mut last_persisted = tokio::time::Instant::now();
        loop {
            // Drain what is immediately available into one batch, then apply it.
            let message = tokio::select! {
                biased;
                c = control.recv() => match c {
                    None => return Ok(()),
                    Some(Control::Rebuild(done)) => {
                        projection.reset().await?;
                        status.send_modify(|s| {
                            s.events_applied = 0;
                            s.checkpoint = None;
                        });
                        let _ = done.send(());
                        continue 'restart;
                    }
                },
                m = subscription.next() => m,
            };
            let Some(message) = message else {
                return Err(ProjectionError("subscription ended".into()));
            };
            let mut pending = Some(message?);
            while let Some(m) = pending.take() {
                match m {
                    SubscriptionMessage::Event(e) => {
                        batch.push(e);
                        if batch.len() < BATCH {
                            pending =
                                match futures_util::FutureExt::now_or_never(subscription.next()) {
                                    Some(Some(m)) => Some(m?),
                                    Some(None) => {
                                        return Err(ProjectionError("subscription ended".into()));
                                    }
                                    None => None,
                                };
                        }
                    }
                    SubscriptionMessage::CaughtUp { position } => {
                        flush(
                            projection,
                            &mut batch,
                            position,
                            status,
                            &mut last_persisted,
                        )
                        .await?;
                        status.send_modify(|s| {
                            s.caught_up = true;
                            s.last_error = None;
                        });
                    }
                    SubscriptionMessage::Checkpoint(p) => {
                        flush(projection, &mut batch, Some(p), status, &mut last_persisted).await?;
                    }
                }
            }
            flush(projection, &mut batch, None, status, &mut last_persisted).await?;
        }
    }
}

/// How often a checkpoint that carries no events (the filter skipped them) is persisted.
/// In between, only the reported status moves; after a restart the projection re-scans at
/// most this much of the log, which is harmless.
const CHECKPOINT_ONLY_PERSIST_INTERVAL: Duration = Duration::from_secs(1);

async fn flush<P: Projection>(
    projection: &mut P,
    batch: &mut Vec<RecordedEvent>,
    at_least: Option<Position>,
    status: &watch::Sender<ProjectionStatus>,
    last_persisted: &mut tokio::time::Instant,
) -> Result<(), ProjectionError> {
    let last = batch.last().map(|e| e.position);
    let checkpoint = match (last, at_least) {
        (Some(a), Some(b)) => a.max(b),
        (Some(a), None) => a,
        (None, Some(b)) => {
            if status.borrow().checkpoint.is_some_and(|c| c >= b) {
                return Ok(());
            }
            if last_persisted.elapsed() < CHECKPOINT_ONLY_PERSIST_INTERVAL {
                status.send_modify(|s| s.checkpoint = Some(b));
                return Ok(());
            }
            b
        }
        (None, None) => return Ok(()),
    };
    projection.apply(batch, checkpoint).await?;
    *last_persisted = tokio::time::Instant::now();
    let n = batch.len() as u64;
    batch.clear();
    status.send_modify(|s| {
        s.checkpoint = Some(checkpoint);
        s.events_applied += n;
        s.last_error = None;
    });
    Ok(())
}

/// A projection's durable checkpoint kept in a stream of its own: each checkpoint is an event
/// `{"position": …}` of type `event_type` (`null` after a reset: start from zero), the last one
/// wins. For projections whose effects are appends to the store (dispatchers, processors)
/// and are idempotent, so that replaying what follows the checkpoint changes nothing.
#[derive(Debug, Clone, Copy)]
pub struct CheckpointStream {
    /// The stream (`sharingdispatch-checkpoint`).
    pub stream: &'static str,
    /// The checkpoint events' type (`DispatcherCheckpointed`).
    pub event_type: &'static str,
    /// The system actor recorded in their metadata (`sharing-dispatcher`).
    pub actor: &'static str,
}

impl CheckpointStream {
    /// The last checkpoint recorded, `None` for none or after a reset.
    pub async fn read(&self, store: &dyn EventStore) -> Result<Option<Position>, ProjectionError> {
        let last = store
            .read_stream(self.stream, crate::ReadStreamOptions::backwards().limit(1))
            .await?;
        match last.first() {
            None => Ok(None),
            Some(e) => serde_json::from_slice::<serde_json::Value>(&e.data)
                .ok()
                .and_then(|v| {
                    serde_json::from_value::<Option<Position>>(v["position"].clone()).ok()
                })
                .ok_or_else(|| ProjectionError(format!("malformed checkpoint in {}", self.stream))),
        }
    }

    /// Records `position` (`None`: start from zero next time).
    pub async fn write(
        &self,
        store: &dyn EventStore,
        position: Option<Position>,
        now: ecohub_kernel::Timestamp,
    ) -> Result<(), ProjectionError> {
        let mut event = crate::NewEvent::raw(
            self.event_type,
            serde_json::json!({ "position": position }),
            now,
        );
        event.metadata = ecohub_kernel::EventMetadata::system(self.actor);
        store
            .append(self.stream, crate::ExpectedRevision::Any, vec![event])
            .await?;
        Ok(())
    }
}
