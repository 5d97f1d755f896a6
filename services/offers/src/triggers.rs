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

use std::time::Duration;

use async_trait::async_trait;
use ecohub_eventstore::{
    CheckpointStream, EventFilter, ExecuteError, Position, Projection, ProjectionError,
    RecordedEvent, StoreError, execute, load,
};
use ecohub_kernel::RequestContext;
use futures_util::{StreamExt, stream};
use serde_json::{Map, Value};

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

/// How many customers' moments are triggered at once.
const CONCURRENCY: usize = 64;

/// The trigger processor, a [`Projection`] to spawn with `ProjectionHandle::spawn`.
pub struct TriggerProcessor {
    state: OffersState,
}

impl std::fmt::Debug for TriggerProcessor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TriggerProcessor").finish_non_exhaustive()
    }
}

impl TriggerProcessor {
    /// The processor of `state`'s moments.
    pub fn new(state: OffersState) -> Self {
        Self { state }
    }
}

fn failed(e: impl std::fmt::Display) -> ProjectionError {
    ProjectionError(e.to_string())
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
        CHECKPOINTS.read(&*self.state.store).await
    }

    async fn apply(
        &mut self,
        events: &[RecordedEvent],
        checkpoint: Position,
    ) -> Result<(), ProjectionError> {
        if events.is_empty() {
            // Checkpoint-only positions are not persisted: after a restart the processor
            // re-reads at most the events it skipped since its last batch.
            return Ok(());
        }
        // Moments of one customer are triggered one after the other (their decisions append
        // to the same ledger); different customers' at once.
        let mut by_customer: Vec<(String, Vec<MomentId>)> = Vec::new();
        let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
        for v in events.iter().filter_map(|e| e.data_json().ok()) {
            let (Some(id), Some(customer)) = (
                v.get("id")
                    .and_then(Value::as_str)
                    .and_then(|s| MomentId::parse(s).ok()),
                v.get("customer_id").and_then(Value::as_str),
            ) else {
                continue;
            };
            let slot = *index.entry(customer.to_owned()).or_insert_with(|| {
                by_customer.push((customer.to_owned(), Vec::new()));
                by_customer.len() - 1
            });
            by_customer[slot].1.push(id);
        }
        let state = &self.state;
        let results: Vec<Result<(), AppError>> = stream::iter(by_customer)
            .map(|(_, ids)| async move {
                for id in ids {
                    state.trigger(id).await?;
                }
                Ok(())
            })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        if let Some(e) = results.into_iter().find_map(Result::err) {
            return Err(failed(e));
        }
        CHECKPOINTS
            .write(&*state.store, Some(checkpoint), state.clock.now())
            .await
    }

    async fn reset(&mut self) -> Result<(), ProjectionError> {
        // Starting again from zero triggers nothing twice: every moment already processed
        // holds its outcome, and every decision is in its ledger.
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
        let ctx = RequestContext::system(TRIGGERS_ACTOR);
        let stream = moment_stream(id);
        let mut moment = load::<Moment>(&*self.store, &stream).await?.0;
        let Some(received) = moment.received.clone() else {
            return Ok(());
        };
        for _ in 0..ATTEMPTS {
            if moment.triggered.is_some() {
                break;
            }
            let (matches, _) = self
                .match_triggers(
                    &received.moment_type,
                    &received.payload,
                    &received.customer_id,
                )
                .await?;
            let decision_id = (!matches.is_empty()).then(|| DecisionId::of_moment(id));
            match execute::<Moment>(
                &*self.store,
                &stream,
                MomentCommand::RecordTrigger {
                    matches,
                    decision_id,
                },
                self.clock.now(),
                ctx.metadata(),
            )
            .await
            {
                Ok(done) => moment = done.state,
                Err(ExecuteError::Store(StoreError::WrongExpectedVersion { .. })) => {
                    moment = load::<Moment>(&*self.store, &stream).await?.0;
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
        // earlier attempt that stopped before recording them), read exactly.
        let offers = self
            .ledger(&received.customer_id)
            .await?
            .offers
            .values()
            .filter(|r| r.offer.decision_id == decision_id)
            .map(|r| r.offer.offer_id)
            .collect();
        match execute::<Moment>(
            &*self.store,
            &stream,
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
