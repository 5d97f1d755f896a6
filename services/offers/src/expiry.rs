//! Open offers by expiry: a read model of the contact ledgers, telling the expiry job
//! ([`crate::jobs`]) which ledgers have an offer due.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, RwLock};

use ecohub_kernel::Timestamp;

use crate::domain::{ContactEvent, OfferId};

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

impl OpenOffersReader {
    /// Follows a batch of contact-ledger events (fed by [`crate::views::ContactViews`]).
    pub(crate) fn apply(&self, events: &[(&str, ContactEvent)]) {
        let mut data = self.data.write().unwrap_or_else(|e| e.into_inner());
        for (stream, event) in events {
            match event.clone() {
                ContactEvent::Presented { offer, .. } => {
                    data.due
                        .insert((offer.expires_at, (*stream).to_owned(), offer.offer_id));
                    data.open
                        .insert(offer.offer_id, (offer.expires_at, (*stream).to_owned()));
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
    }

    pub(crate) fn reset(&self) {
        *self.data.write().unwrap_or_else(|e| e.into_inner()) = Data::default();
    }
}
