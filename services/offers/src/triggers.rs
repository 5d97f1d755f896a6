//! The trigger processor (ADR 0026): follows `MomentReceived` events from a durable checkpoint
//! (stream `offerstriggers-checkpoint`), evaluates the trigger rules of each moment, records
//! `TriggerMatched` (or `TriggerNotMatched`) on the moment's stream at the revision read, and
//! decides the matched rules' propositions for the customer in the decision the moment
//! determines, under the contact policies. A job: above the application layer.
//!
//! Exactly once across instances and restarts: the trigger outcome is appended at the
//! moment stream's revision (a second instance finds it there and follows it), and the
//! decision's id is derived from the moment, so the customer's ledger records it once
//! (`ContactCommand::Present` presents nothing for a decision it already holds). A crash
//! between the two appends leaves the checkpoint behind both; the moment is processed again
//! and the missing half is written.

use std::collections::VecDeque;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use ecohub_eventstore::{
    CheckpointStream, CurrentRevision, EventFilter, ExecuteError, Position, Projection,
    ProjectionError, RecordedEvent, StallReporter, StoreError, execute_on, load,
};
use ecohub_kernel::{Aggregate, RequestContext};
use serde_json::Map;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};

use crate::application::{AppError, OffersState};
use crate::decisions::{DecisionRequest, Trigger};
use crate::domain::{
    Channel, DecisionId, Moment, MomentCommand, MomentEvent, MomentId, moment_stream,
};

/// The stream of the processor's checkpoints.
pub const TRIGGERS_CHECKPOINT_STREAM: &str = "offerstriggers-checkpoint";
/// Where the processor keeps its checkpoints.
const CHECKPOINTS: CheckpointStream = CheckpointStream {
    stream: TRIGGERS_CHECKPOINT_STREAM,
    event_type: "TriggersCheckpointed",
    actor: TRIGGERS_ACTOR,
};
/// The actor of the processor's events.
pub const TRIGGERS_ACTOR: &str = "offers-triggers";

/// How many lanes trigger moments at once. A customer's moments always go to the same lane,
/// one after the other (their decisions append to the same ledger); different customers'
/// lanes run side by side.
const LANES: usize = 64;
/// How many moments may be dispatched and not yet done: beyond it, reading the log waits.
const WINDOW: usize = 4096;

/// The trigger processor, a [`Projection`] to spawn with `ProjectionHandle::spawn`.
///
/// Pipelined: `apply` hands each moment to its customer's lane and returns, so that the next
/// batch is read while the lanes work. The checkpoint it records is the low-water mark: the
/// last position up to which every dispatched moment is done. A restart therefore resumes at
/// or before the first moment not yet done, and processing a moment again changes nothing.
pub struct TriggerProcessor {
    state: OffersState,
    lanes: Vec<mpsc::UnboundedSender<Job>>,
    /// What the lanes are failing on.
    stalls: Arc<Stalls>,
    window: Arc<Semaphore>,
    /// Dispatched moments in log order, each with whether it is done.
    pending: VecDeque<(Position, Arc<AtomicBool>)>,
    /// Every event up to here was dispatched (the runner's checkpoint of the last batch).
    dispatched: Option<Position>,
    /// The last checkpoint recorded.
    written: Option<Position>,
    /// When it was recorded.
    written_at: tokio::time::Instant,
}

/// Checkpoints are recorded at most this often: under load one append per batch would be
/// about one per moment. A restart resumes at most this much earlier, and processing a
/// moment again changes nothing.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(200);

/// One moment for a lane.
struct Job {
    id: MomentId,
    /// The moment as its first event left it, when that event is what was read.
    seed: Option<(Moment, CurrentRevision)>,
    done: Arc<AtomicBool>,
    _permit: OwnedSemaphorePermit,
}

impl std::fmt::Debug for TriggerProcessor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TriggerProcessor")
            .field("pending", &self.pending.len())
            .finish_non_exhaustive()
    }
}

impl TriggerProcessor {
    /// The processor of `state`'s moments. Its lanes are tasks of the current runtime; they
    /// end when the processor is dropped.
    pub fn new(state: OffersState) -> Self {
        let stalls = Arc::new(Stalls::default());
        let lanes = (0..LANES)
            .map(|i| {
                let (tx, rx) = mpsc::unbounded_channel();
                tokio::spawn(lane(state.clone(), rx, i, Arc::clone(&stalls)));
                tx
            })
            .collect();
        Self {
            state,
            lanes,
            stalls,
            window: Arc::new(Semaphore::new(WINDOW)),
            pending: VecDeque::new(),
            dispatched: None,
            written: None,
            written_at: tokio::time::Instant::now(),
        }
    }

    /// The low-water mark: the last position up to which every dispatched moment is done.
    fn done_to(&mut self) -> Option<Position> {
        let mut last = None;
        while let Some((p, done)) = self.pending.front() {
            if !done.load(Ordering::Acquire) {
                return last;
            }
            last = Some(*p);
            self.pending.pop_front();
        }
        last.max(self.dispatched)
    }

    async fn record_progress(&mut self) -> Result<(), ProjectionError> {
        let to = self.done_to();
        if to.is_some() && to > self.written && self.written_at.elapsed() >= CHECKPOINT_EVERY {
            CHECKPOINTS
                .write(&*self.state.store, to, self.state.clock.now())
                .await?;
            self.written = to;
            self.written_at = tokio::time::Instant::now();
        }
        Ok(())
    }
}

/// The moments the lanes keep failing on, reported in the processor's status
/// ([`ProjectionStatus::stalled`](ecohub_eventstore::ProjectionStatus), shown by
/// `/health/ready`) until they are done.
#[derive(Debug, Default)]
struct Stalls {
    reporter: std::sync::OnceLock<StallReporter>,
    failing: std::sync::Mutex<std::collections::BTreeMap<usize, String>>,
}

impl Stalls {
    /// Lane `lane` fails on `what`, or (`None`) no longer fails.
    fn set(&self, lane: usize, what: Option<String>) {
        let mut failing = self.failing.lock().unwrap_or_else(|e| e.into_inner());
        match what {
            Some(what) => {
                failing.insert(lane, what);
            }
            None => {
                failing.remove(&lane);
            }
        }
        if let Some(reporter) = self.reporter.get() {
            reporter.report(failing.values().next().map(|first| match failing.len() {
                1 => first.clone(),
                n => format!("{first} (and {} more lanes failing)", n - 1),
            }));
        }
    }
}

/// A lane: triggers its moments in order, each until it is done (a failure is retried with
/// backoff, as the projection runner retries a batch; nothing is skipped). While a moment
/// keeps failing, the processor's status says which and why.
async fn lane(
    state: OffersState,
    mut jobs: mpsc::UnboundedReceiver<Job>,
    index: usize,
    stalls: Arc<Stalls>,
) {
    while let Some(job) = jobs.recv().await {
        let mut backoff = Duration::from_millis(50);
        let mut seed = job.seed;
        let mut failed_since = None;
        while let Err(e) = state.trigger_from(job.id, seed.take()).await {
            tracing::warn!(moment = %job.id, error = %e, "triggering a moment failed; retrying");
            let since = *failed_since.get_or_insert_with(|| state.clock.now());
            stalls.set(
                index,
                Some(format!(
                    "moment {} failing since {since}, retrying: {e}",
                    job.id
                )),
            );
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(5));
        }
        if failed_since.is_some() {
            stalls.set(index, None);
        }
        job.done.store(true, Ordering::Release);
    }
}

fn failed(e: impl std::fmt::Display) -> ProjectionError {
    ProjectionError(e.to_string())
}

fn lane_of(customer: &str) -> usize {
    let mut h = rustc_hash::FxHasher::default();
    customer.hash(&mut h);
    (h.finish() % LANES as u64) as usize
}

#[async_trait]
impl Projection for TriggerProcessor {
    fn name(&self) -> &str {
        "offers-triggers"
    }

    fn filter(&self) -> EventFilter {
        EventFilter {
            stream_prefixes: vec![format!(
                "{}-",
                <Moment as ecohub_kernel::Aggregate>::CATEGORY
            )],
            event_type_prefixes: vec![MomentEvent::TYPES[0].to_owned()],
        }
    }

    async fn checkpoint(&mut self) -> Result<Option<Position>, ProjectionError> {
        // The runner (re)starts from here: what was dispatched before is dispatched again
        // (moments still in a lane are then triggered twice, the second time finding them
        // done), so progress is counted afresh.
        let from = CHECKPOINTS.read(&*self.state.store).await?;
        self.pending.clear();
        self.dispatched = from;
        self.written = from;
        Ok(from)
    }

    async fn apply(
        &mut self,
        events: &[RecordedEvent],
        checkpoint: Position,
    ) -> Result<(), ProjectionError> {
        for e in events {
            let Ok(MomentEvent::Received { moment, at }) =
                e.decode::<MomentEvent>().map(|env| env.payload)
            else {
                continue;
            };
            let (id, customer) = (moment.id, moment.customer_id.clone());
            // The first event of its stream: the moment's state at that revision, so that
            // the lane need not read the stream (an append at it fails if it moved on).
            let seed = (e.revision == 0).then(|| {
                (
                    Moment::default().evolve(&MomentEvent::Received { moment, at }),
                    CurrentRevision::Current(0),
                )
            });
            let permit = Arc::clone(&self.window)
                .acquire_owned()
                .await
                .map_err(failed)?;
            let done = Arc::new(AtomicBool::new(false));
            self.pending.push_back((e.position, Arc::clone(&done)));
            self.lanes[lane_of(&customer)]
                .send(Job {
                    id,
                    seed,
                    done,
                    _permit: permit,
                })
                .map_err(|_| ProjectionError("a trigger lane stopped".into()))?;
            // While the window is full, record how far the lanes got.
            if self.window.available_permits() == 0 {
                self.record_progress().await?;
            }
        }
        // Positions of batches without moments move nothing: recording them would append on
        // every idle tick (each checkpoint event itself a new position). An empty batch only
        // records how far the lanes got since.
        if !events.is_empty() {
            self.dispatched = Some(checkpoint);
        }
        self.record_progress().await
    }

    fn attach(&mut self, stalls: StallReporter) {
        let _ = self.stalls.reporter.set(stalls);
    }

    async fn reset(&mut self) -> Result<(), ProjectionError> {
        // Starting again from zero triggers nothing twice: every moment already processed
        // holds its outcome, and every decision is in its ledger.
        self.pending.clear();
        self.dispatched = None;
        self.written = None;
        CHECKPOINTS
            .write(&*self.state.store, None, self.state.clock.now())
            .await
    }
}

/// How many times recording a trigger outcome is retried when another instance appended
/// to the moment first.
const ATTEMPTS: usize = 4;

impl OffersState {
    /// Processes one received moment: its trigger outcome (recorded once) and the decision of
    /// the matched propositions (recorded once in the customer's ledger).
    pub async fn trigger(&self, id: MomentId) -> Result<(), AppError> {
        self.trigger_from(id, None).await
    }

    /// [`Self::trigger`] starting from `seed`, the moment's state at a revision (as its
    /// subscription delivered it), when given; from its stream otherwise.
    async fn trigger_from(
        &self,
        id: MomentId,
        seed: Option<(Moment, CurrentRevision)>,
    ) -> Result<(), AppError> {
        let ctx = RequestContext::system(TRIGGERS_ACTOR);
        let stream = moment_stream(id);
        // Each append expects the revision this instance last read or wrote, so the stream
        // is read at most once (and again only when another instance appended first).
        let (mut moment, mut revision) = match seed {
            Some(seed) => seed,
            None => load::<Moment>(&*self.store, &stream).await?,
        };
        let Some(received) = moment.received.clone() else {
            return Ok(());
        };
        for _ in 0..ATTEMPTS {
            if moment.triggered.is_some() {
                break;
            }
            let matches = self
                .match_triggers(
                    &received.moment_type,
                    &received.payload,
                    &received.customer_id,
                )
                .await?;
            let decision_id = (!matches.is_empty()).then(|| DecisionId::of_moment(id));
            match execute_on::<Moment>(
                &*self.store,
                &stream,
                moment,
                revision,
                MomentCommand::RecordTrigger {
                    matches,
                    decision_id,
                },
                self.clock.now(),
                ctx.metadata(),
            )
            .await
            {
                Ok(done) => (moment, revision) = (done.state, done.revision),
                Err(ExecuteError::Store(StoreError::WrongExpectedVersion { .. })) => {
                    (moment, revision) = load::<Moment>(&*self.store, &stream).await?;
                }
                Err(e) => return Err(e.into()),
            }
        }
        let Some((matches, Some(decision_id))) = moment.triggered.clone() else {
            return Ok(());
        };
        if matches.is_empty() || moment.offers.is_some() {
            return Ok(());
        }
        let notify = self
            .ports
            .offer_consents
            .offer_partners(&received.customer_id, self.clock.now())
            .await?;
        self.decide(
            DecisionRequest {
                customer_id: received.customer_id.clone(),
                channel: Channel::Moment,
                placement: "moment".into(),
                params: Map::new(),
                max_offers: self.config.max_offers_per_moment,
                explain: false,
                co_brand: None,
                trigger: Some(Trigger {
                    decision_id,
                    moment_id: id,
                    moment_type: received.moment_type.clone(),
                    provider: received.provider.clone(),
                    matches,
                    notify,
                }),
            },
            &ctx,
        )
        .await?;
        // The offers the ledger holds under the moment's decision (made now, or by an
        // earlier attempt that stopped before recording them). A decision's offers are
        // appended together, so the ledger this instance remembers (as it last read or wrote
        // it) holds all of them or none; when it holds none, the stream is read.
        let of_decision = |ledger: &crate::domain::ContactLedger| -> Vec<_> {
            ledger
                .offers
                .values()
                .filter(|r| r.offer.decision_id == decision_id)
                .map(|r| r.offer.offer_id)
                .collect()
        };
        let remembered = self
            .ledgers
            .get(&crate::domain::contacts_stream(&received.customer_id))
            .map(|(ledger, _)| of_decision(&ledger))
            .filter(|offers| !offers.is_empty());
        let offers = match remembered {
            Some(offers) => offers,
            None => of_decision(&self.ledger(&received.customer_id).await?),
        };
        match execute_on::<Moment>(
            &*self.store,
            &stream,
            moment,
            revision,
            MomentCommand::RecordOffers { offers },
            self.clock.now(),
            ctx.metadata(),
        )
        .await
        {
            // Another instance recorded them first: the same offers.
            Ok(_) | Err(ExecuteError::Store(StoreError::WrongExpectedVersion { .. })) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Waits until the triggers are done with moment `id` (not matched, offered or held
    /// back), at most `timeout`: for tests.
    pub async fn processed(&self, id: MomentId, timeout: Duration) -> Result<Moment, AppError> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let m = self.moment(id).await?;
            if m.status().is_final() || std::time::Instant::now() >= deadline {
                return Ok(m);
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}
