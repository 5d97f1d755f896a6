//! Who objected to personalised offers: a read model of the customers' preference streams,
//! fed by a catch-up subscription. Decisions use it once it has applied every preference event
//! up to the `offerpreferences-` category head read at their start (read your writes, like the
//! proposition list): what reading the customer's stream would answer, without the read.

use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use ecohub_eventstore::{EventFilter, Position, Projection, ProjectionError, RecordedEvent};
use ecohub_kernel::Aggregate;
use rustc_hash::FxHashSet;

use crate::domain::{OfferPreferences, PreferenceEvent};

#[derive(Debug, Default)]
struct State {
    /// The preference streams of the customers who object now.
    objected: FxHashSet<String>,
    /// The position up to which every preference event has been applied.
    applied: Option<Position>,
}

/// Reads the objections.
#[derive(Debug, Clone, Default)]
pub struct ObjectionsReader {
    state: Arc<RwLock<State>>,
}

impl ObjectionsReader {
    /// Whether every preference event up to `head` has been applied.
    pub fn has_applied(&self, head: Option<Position>) -> bool {
        head.is_none_or(|h| {
            self.state
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .applied
                .is_some_and(|a| a >= h)
        })
    }

    /// Whether the customer whose preferences are in `stream` objects (as applied so far).
    pub fn objected(&self, stream: &str) -> bool {
        self.state
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .objected
            .contains(stream)
    }
}

/// Feeds an [`ObjectionsReader`].
#[derive(Debug)]
pub struct Objections {
    reader: ObjectionsReader,
}

impl Objections {
    /// A projection and the reader it feeds.
    pub fn new() -> (Objections, ObjectionsReader) {
        let reader = ObjectionsReader::default();
        (
            Objections {
                reader: reader.clone(),
            },
            reader,
        )
    }
}

#[async_trait]
impl Projection for Objections {
    fn name(&self) -> &str {
        "offers-objections"
    }
    fn filter(&self) -> EventFilter {
        EventFilter::streams([format!("{}-", OfferPreferences::CATEGORY)])
    }
    async fn checkpoint(&mut self) -> Result<Option<Position>, ProjectionError> {
        Ok(None)
    }
    async fn apply(
        &mut self,
        events: &[RecordedEvent],
        checkpoint: Position,
    ) -> Result<(), ProjectionError> {
        let mut state = self.reader.state.write().unwrap_or_else(|e| e.into_inner());
        for e in events {
            let env = e
                .decode::<PreferenceEvent>()
                .map_err(|err| ProjectionError(err.to_string()))?;
            match env.payload {
                PreferenceEvent::PersonalisedOffersObjected { .. } => {
                    state.objected.insert(e.stream.clone());
                }
                PreferenceEvent::PersonalisedOffersAllowed { .. } => {
                    state.objected.remove(&e.stream);
                }
            }
        }
        state.applied = Some(checkpoint);
        Ok(())
    }
    async fn reset(&mut self) -> Result<(), ProjectionError> {
        *self.reader.state.write().unwrap_or_else(|e| e.into_inner()) = State::default();
        Ok(())
    }
}
