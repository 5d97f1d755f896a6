//! Offer outcomes per proposition and persona: the evidence of acceptance propensities (a
//! read model fed by the customers' contact ledgers; it may lag them by a moment, which only
//! delays what ranking learns).

use std::sync::{Arc, RwLock};

use rustc_hash::FxHashMap;

use crate::domain::{ContactEvent, OutcomeCounts, PropositionId, Response};

/// One proposition's outcomes: over every customer, and per persona matched.
#[derive(Debug, Default)]
struct Buckets {
    all: OutcomeCounts,
    personas: FxHashMap<String, OutcomeCounts>,
}

#[derive(Debug, Default)]
struct Outcomes {
    by_proposition: FxHashMap<PropositionId, Buckets>,
    /// Bumped by every batch that counted something (and by a reset).
    version: u64,
}

/// Reads the outcome counts.
#[derive(Debug, Clone, Default)]
pub struct OutcomesReader {
    counts: Arc<RwLock<Outcomes>>,
}

impl OutcomesReader {
    /// The outcomes of `proposition` among customers who matched `persona` when it was
    /// presented (`None`: every customer).
    pub fn counts(&self, proposition: PropositionId, persona: Option<&str>) -> OutcomeCounts {
        let outcomes = self.counts.read().unwrap_or_else(|e| e.into_inner());
        let Some(b) = outcomes.by_proposition.get(&proposition) else {
            return OutcomeCounts::default();
        };
        match persona {
            None => b.all,
            Some(p) => b.personas.get(p).copied().unwrap_or_default(),
        }
    }

    /// Bumped by every batch that counted something: unchanged, the counts are the same.
    pub fn version(&self) -> u64 {
        self.counts
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .version
    }

    /// A copy of every count and the version it is of (what decisions rank with, shared
    /// between them).
    pub fn snapshot(&self) -> OutcomesSnapshot {
        let outcomes = self.counts.read().unwrap_or_else(|e| e.into_inner());
        OutcomesSnapshot {
            version: outcomes.version,
            by_proposition: outcomes
                .by_proposition
                .iter()
                .map(|(id, b)| {
                    (
                        *id,
                        SnapshotBuckets {
                            all: b.all,
                            personas: b.personas.iter().map(|(p, c)| (p.clone(), *c)).collect(),
                        },
                    )
                })
                .collect(),
        }
    }
}

impl OutcomesReader {
    /// Counts a batch of contact-ledger events (fed by [`crate::views::ContactViews`]).
    pub(crate) fn apply(&self, events: &[(&str, ContactEvent)]) {
        let mut outcomes = self.counts.write().unwrap_or_else(|e| e.into_inner());
        let mut counted = false;
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
            counted = true;
            let b = outcomes.by_proposition.entry(proposition).or_default();
            let count = |c: &mut OutcomeCounts| {
                if presented {
                    c.presented += 1;
                } else {
                    c.accepted += 1;
                }
            };
            count(&mut b.all);
            for p in personas {
                match b.personas.get_mut(p) {
                    Some(c) => count(c),
                    None => {
                        let mut c = OutcomeCounts::default();
                        count(&mut c);
                        b.personas.insert(p.clone(), c);
                    }
                }
            }
        }
        if counted {
            outcomes.version += 1;
        }
    }

    pub(crate) fn reset(&self) {
        let mut outcomes = self.counts.write().unwrap_or_else(|e| e.into_inner());
        outcomes.by_proposition.clear();
        outcomes.version += 1;
    }
}

/// One proposition's counts in a snapshot (a few personas each: scanned, not hashed).
#[derive(Debug, Clone, Default)]
struct SnapshotBuckets {
    all: OutcomeCounts,
    personas: Vec<(String, OutcomeCounts)>,
}

/// Every outcome count at one version of [`OutcomesReader`].
#[derive(Debug, Clone, Default)]
pub struct OutcomesSnapshot {
    version: u64,
    by_proposition: FxHashMap<PropositionId, SnapshotBuckets>,
}

impl OutcomesSnapshot {
    /// The version of the counts copied.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// As [`OutcomesReader::counts`], at this snapshot.
    pub fn counts(&self, proposition: PropositionId, persona: Option<&str>) -> OutcomeCounts {
        let Some(b) = self.by_proposition.get(&proposition) else {
            return OutcomeCounts::default();
        };
        match persona {
            None => b.all,
            Some(p) => b
                .personas
                .iter()
                .find(|(name, _)| name == p)
                .map(|(_, c)| *c)
                .unwrap_or_default(),
        }
    }
}
