//! One projection of the customers' contact ledgers feeding every read model built from them
//! (the propensity evidence, the funnel, the open offers by expiry): each event is read and
//! decoded once, however many views it feeds.

use async_trait::async_trait;
use ecohub_eventstore::{EventFilter, Position, Projection, ProjectionError, RecordedEvent};
use ecohub_kernel::Aggregate;

use crate::domain::{ContactEvent, ContactLedger};
use crate::expiry::OpenOffersReader;
use crate::funnel::FunnelReader;
use crate::outcomes::OutcomesReader;

/// Feeds the read models of the contact ledgers.
#[derive(Debug)]
pub struct ContactViews {
    outcomes: OutcomesReader,
    funnel: FunnelReader,
    open_offers: OpenOffersReader,
}

impl ContactViews {
    /// A projection and the readers it feeds.
    pub fn new() -> (ContactViews, OutcomesReader, FunnelReader, OpenOffersReader) {
        let (outcomes, funnel, open_offers) = Default::default();
        (
            ContactViews {
                outcomes: OutcomesReader::clone(&outcomes),
                funnel: FunnelReader::clone(&funnel),
                open_offers: OpenOffersReader::clone(&open_offers),
            },
            outcomes,
            funnel,
            open_offers,
        )
    }
}

#[async_trait]
impl Projection for ContactViews {
    fn name(&self) -> &str {
        "offers-contact-views"
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
        let decoded = events
            .iter()
            .map(|e| {
                e.decode::<ContactEvent>()
                    .map(|env| (e.stream.as_str(), env.payload))
                    .map_err(|err| ProjectionError(err.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.outcomes.apply(&decoded);
        self.funnel.apply(&decoded);
        self.open_offers.apply(&decoded);
        Ok(())
    }
    async fn reset(&mut self) -> Result<(), ProjectionError> {
        self.outcomes.reset();
        self.funnel.reset();
        self.open_offers.reset();
        Ok(())
    }
}
