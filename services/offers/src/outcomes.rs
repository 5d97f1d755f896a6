//! Offer outcomes per proposition and persona: the evidence of acceptance propensities (a
//! read model fed by the customers' contact ledgers; it may lag them by a moment, which only
//! delays what ranking learns).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use ecohub_eventstore::{EventFilter, Position, Projection, ProjectionError, RecordedEvent};
use ecohub_kernel::Aggregate;

use crate::domain::{ContactEvent, ContactLedger, OutcomeCounts, PropositionId, Response};

type Key = (PropositionId, Option<String>);

/// Reads the outcome counts.
#[derive(Debug, Clone, Default)]
pub struct OutcomesReader {
    counts: Arc<RwLock<HashMap<Key, OutcomeCounts>>>,
}

impl OutcomesReader {
    /// The outcomes of `proposition` among customers who matched `persona` when it was
    /// presented (`None`: every customer).
    pub fn counts(&self, proposition: PropositionId, persona: Option<&str>) -> OutcomeCounts {
        self.counts
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&(proposition, persona.map(str::to_owned)))
            .copied()
            .unwrap_or_default()
    }
}

/// Feeds an [`OutcomesReader`].
#[derive(Debug)]
pub struct Outcomes {
    reader: OutcomesReader,
}

impl Outcomes {
    /// A projection and the reader it feeds.
    pub fn new() -> (Outcomes, OutcomesReader) {
        let reader = OutcomesReader::default();
        (
            Outcomes {
                reader: reader.clone(),
            },
            reader,
        )
    }
}

#[async_trait]
impl Projection for Outcomes {
    fn name(&self) -> &str {
        "offers-outcomes"
    }
    fn filter(&self) -> EventFilter {
        EventFilter::streams([format!("{}-", ContactLedger::CATEGORY)])
    }
    async fn checkpoint(&mut self) -> Result<Option<Position>, ProjectionError> {
        Ok(None)
    }
    async fn apply(
        &mut self,
        events: &[RecordedEvent],
        _: Position,
    ) -> Result<(), ProjectionError> {
        let mut counts = self
            .reader
            .counts
            .write()
            .unwrap_or_else(|e| e.into_inner());
        for e in events {
            let event = e
                .decode::<ContactEvent>()
                .map_err(|err| ProjectionError(err.to_string()))?
                .payload;
            let (proposition, personas, presented) = match &event {
                ContactEvent::Presented { offer, .. } => {
                    (offer.proposition_id, &offer.personas, true)
                }
                ContactEvent::Responded {
                    proposition_id,
                    personas,
                    response: Response::Accepted,
                    ..
                } => (*proposition_id, personas, false),
                _ => continue,
            };
            let keys = std::iter::once(None).chain(personas.iter().cloned().map(Some));
            for persona in keys {
                let c = counts.entry((proposition, persona)).or_default();
                if presented {
                    c.presented += 1;
                } else {
                    c.accepted += 1;
                }
            }
        }
        Ok(())
    }
    async fn reset(&mut self) -> Result<(), ProjectionError> {
        self.reader
            .counts
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        Ok(())
    }
}
