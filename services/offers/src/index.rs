//! The proposition list: every proposition folded from its stream, fed by a catch-up
//! subscription (it may lag the streams by a moment; single propositions are read exactly
//! from their stream).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use ecohub_eventstore::{EventFilter, Position, Projection, ProjectionError, RecordedEvent};
use ecohub_kernel::Aggregate;

use crate::domain::{PartnerId, Proposition, PropositionEvent, PropositionId};

/// Reads the proposition list.
#[derive(Debug, Clone, Default)]
pub struct PropositionIndexReader {
    data: Arc<RwLock<BTreeMap<PropositionId, Arc<Proposition>>>>,
    /// The position up to which every proposition event has been applied.
    applied: Arc<RwLock<Option<Position>>>,
    /// Bumped (under the list's write lock) by every change of the list.
    generation: Arc<AtomicU64>,
}

impl PropositionIndexReader {
    /// Whether every proposition event up to `head` has been applied: then the list is what
    /// reading every proposition stream would give (read-your-writes for decisions).
    pub fn has_applied(&self, head: Option<Position>) -> bool {
        head.is_none_or(|h| {
            self.applied
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .is_some_and(|a| a >= h)
        })
    }

    /// One proposition, as the list has it.
    pub fn get(&self, id: PropositionId) -> Option<Proposition> {
        self.data
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&id)
            .map(|p| (**p).clone())
    }

    /// Every proposition with a published version, in creation order (shared, not copied:
    /// decisions read them on every request).
    pub fn published(&self) -> Vec<Arc<Proposition>> {
        self.published_with_generation().1
    }

    /// The list's generation: unchanged, [`Self::published`] would answer the same.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// [`Self::published`] and the generation it is of.
    pub fn published_with_generation(&self) -> (u64, Vec<Arc<Proposition>>) {
        let data = self.data.read().unwrap_or_else(|e| e.into_inner());
        let generation = self.generation.load(Ordering::Acquire);
        let published = data
            .values()
            .filter(|p| p.published().is_some())
            .cloned()
            .collect();
        (generation, published)
    }

    /// Up to `limit` propositions after `after`, in creation order (ids are UUIDv7), only
    /// those co-branded by `partner` when given.
    pub fn list(
        &self,
        partner: Option<PartnerId>,
        after: Option<PropositionId>,
        limit: usize,
    ) -> Vec<Proposition> {
        let data = self.data.read().unwrap_or_else(|e| e.into_inner());
        let range = match after {
            None => data.range(..),
            Some(a) => data.range((std::ops::Bound::Excluded(a), std::ops::Bound::Unbounded)),
        };
        range
            .map(|(_, p)| p)
            .filter(|p| partner.is_none_or(|x| p.partners().contains(&x)))
            .take(limit)
            .map(|p| (**p).clone())
            .collect()
    }
}

/// Feeds a [`PropositionIndexReader`].
#[derive(Debug)]
pub struct PropositionIndex {
    reader: PropositionIndexReader,
}

impl PropositionIndex {
    /// A projection and the reader it feeds.
    pub fn new() -> (PropositionIndex, PropositionIndexReader) {
        let reader = PropositionIndexReader::default();
        (
            PropositionIndex {
                reader: reader.clone(),
            },
            reader,
        )
    }
}

#[async_trait]
impl Projection for PropositionIndex {
    fn name(&self) -> &str {
        "offers-propositions"
    }
    fn filter(&self) -> EventFilter {
        EventFilter::streams([format!("{}-", Proposition::CATEGORY)])
    }
    async fn checkpoint(&mut self) -> Result<Option<Position>, ProjectionError> {
        Ok(None)
    }
    async fn apply(
        &mut self,
        events: &[RecordedEvent],
        checkpoint: Position,
    ) -> Result<(), ProjectionError> {
        let mut data = self.reader.data.write().unwrap_or_else(|e| e.into_inner());
        for e in events {
            let Some(id) = e
                .stream
                .strip_prefix("proposition-")
                .and_then(|s| PropositionId::parse(s).ok())
            else {
                continue;
            };
            let env = e
                .decode::<PropositionEvent>()
                .map_err(|err| ProjectionError(err.to_string()))?;
            let entry = data
                .remove(&id)
                .map(Arc::unwrap_or_clone)
                .unwrap_or_default();
            data.insert(id, Arc::new(entry.evolve(&env.payload)));
        }
        self.reader.generation.fetch_add(1, Ordering::AcqRel);
        drop(data);
        *self
            .reader
            .applied
            .write()
            .unwrap_or_else(|e| e.into_inner()) = Some(checkpoint);
        Ok(())
    }
    async fn reset(&mut self) -> Result<(), ProjectionError> {
        let mut data = self.reader.data.write().unwrap_or_else(|e| e.into_inner());
        data.clear();
        self.reader.generation.fetch_add(1, Ordering::AcqRel);
        drop(data);
        *self
            .reader
            .applied
            .write()
            .unwrap_or_else(|e| e.into_inner()) = None;
        Ok(())
    }
}
