//! Open offers by expiry: a read model of the contact ledgers, telling the expiry job
//! ([`crate::jobs`]) which ledgers have an offer due.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use ecohub_eventstore::{EventFilter, Position, Projection, ProjectionError, RecordedEvent};
use ecohub_kernel::{Aggregate, Timestamp};

use crate::domain::{ContactEvent, ContactLedger, OfferId};

#[derive(Debug, Default)]
struct Data {
    /// (expiry, ledger stream, offer) of every open offer.
    due: BTreeSet<(Timestamp, String, OfferId)>,
    /// Offer → its entry in `due`.
    open: HashMap<OfferId, (Timestamp, String)>,
}

/// Reads the open offers by expiry.
#[derive(Debug, Clone, Default)]
pub struct OpenOffersReader {
    data: Arc<RwLock<Data>>,
}

impl OpenOffersReader {
    /// The ledgers with an offer due at `now` (expiry at or before it), each once.
    pub fn due_ledgers(&self, now: Timestamp) -> Vec<String> {
        let data = self.data.read().unwrap_or_else(|e| e.into_inner());
        let mut streams: Vec<String> = data
            .due
            .iter()
            .take_while(|(at, _, _)| *at <= now)
            .map(|(_, s, _)| s.clone())
            .collect();
        streams.sort();
        streams.dedup();
        streams
    }
}

/// Feeds an [`OpenOffersReader`].
#[derive(Debug)]
pub struct OpenOffers {
    reader: OpenOffersReader,
}

impl OpenOffers {
    /// A projection and the reader it feeds.
    pub fn new() -> (OpenOffers, OpenOffersReader) {
        let reader = OpenOffersReader::default();
        (
            OpenOffers {
                reader: reader.clone(),
            },
            reader,
        )
    }
}

#[async_trait]
impl Projection for OpenOffers {
    fn name(&self) -> &str {
        "offers-open"
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
        let mut data = self.reader.data.write().unwrap_or_else(|e| e.into_inner());
        for e in events {
            let event = e
                .decode::<ContactEvent>()
                .map_err(|err| ProjectionError(err.to_string()))?
                .payload;
            match event {
                ContactEvent::Presented { offer, .. } => {
                    data.due
                        .insert((offer.expires_at, e.stream.clone(), offer.offer_id));
                    data.open
                        .insert(offer.offer_id, (offer.expires_at, e.stream.clone()));
                }
                // Still open: a view is not an answer.
                ContactEvent::Responded {
                    response: crate::domain::Response::Viewed,
                    ..
                } => {}
                ContactEvent::Responded { offer_id, .. }
                | ContactEvent::Expired { offer_id, .. } => {
                    if let Some((at, stream)) = data.open.remove(&offer_id) {
                        data.due.remove(&(at, stream, offer_id));
                    }
                }
            }
        }
        Ok(())
    }
    async fn reset(&mut self) -> Result<(), ProjectionError> {
        *self.reader.data.write().unwrap_or_else(|e| e.into_inner()) = Data::default();
        Ok(())
    }
}
