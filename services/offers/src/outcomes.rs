//! Offer outcomes per proposition and persona: the evidence of acceptance propensities (a
//! read model fed by the customers' contact ledgers; it may lag them by a moment, which only
//! delays what ranking learns).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use crate::domain::{ContactEvent, OutcomeCounts, PropositionId, Response};

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

impl OutcomesReader {
    /// Counts a batch of contact-ledger events (fed by [`crate::views::ContactViews`]).
    pub(crate) fn apply(&self, events: &[(&str, ContactEvent)]) {
        let mut counts = self.counts.write().unwrap_or_else(|e| e.into_inner());
        for (_, event) in events {
            let (proposition, personas, presented) = match event {
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
    }

    pub(crate) fn reset(&self) {
        self.counts
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }
}
