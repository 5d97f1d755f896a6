//! [`AccessIndex`]: which access streams hold records of which partner and dataset, fed by
//! [`AccessIndexProjection`] over the `dataaccess-` category.
//!
//! It keeps one entry per access stream (one per consent) and, inside it, one span per
//! (partner, dataset) pair seen in that stream: first and last position, the revision of the
//! first record, the earliest and latest `at`, and a count. Its memory is bounded by the
//! number of consents times the datasets each one read, never by the number of accesses.
//! The audit queries use it to pick the streams worth reading; the records themselves are
//! always read from the streams.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use ecohub_eventstore::{EventFilter, Position, Projection, ProjectionError, RecordedEvent};
use ecohub_kernel::Timestamp;

use super::{AccessFilter, access_filter};
use crate::domain::access::DataAccessed;

/// What the index knows of one (partner, dataset) pair within one stream.
#[derive(Debug, Clone)]
struct Span {
    partner: Arc<str>,
    dataset: Arc<str>,
    first: Position,
    first_revision: u64,
    last: Position,
    min_at: Timestamp,
    max_at: Timestamp,
    count: u64,
}

impl Span {
    fn admits(&self, filter: &AccessFilter) -> bool {
        filter
            .partner_id
            .as_deref()
            .is_none_or(|p| p == &*self.partner)
            && filter
                .dataset
                .as_deref()
                .is_none_or(|d| d == &*self.dataset)
            && filter.from.is_none_or(|f| self.max_at >= f)
            && filter.to.is_none_or(|t| self.min_at < t)
    }
}

/// One access stream.
#[derive(Debug)]
struct StreamEntry {
    name: Arc<str>,
    first: Position,
    spans: Vec<Span>,
    /// A record could not be decoded: the stream is a candidate of every query (reading it
    /// reports the error, as a scan of the log would).
    opaque: bool,
}

#[derive(Debug, Default)]
struct Inner {
    /// Every access record up to here has been applied.
    checkpoint: Option<Position>,
    streams: Vec<StreamEntry>,
    by_name: HashMap<Arc<str>, usize>,
    /// Streams per partner / per dataset, in the order they were first seen.
    by_partner: HashMap<Arc<str>, Vec<usize>>,
    by_dataset: HashMap<Arc<str>, Vec<usize>>,
    opaque: Vec<usize>,
    records: u64,
}

impl Inner {
    fn stream(&mut self, name: &str, position: Position) -> usize {
        if let Some(&i) = self.by_name.get(name) {
            return i;
        }
        let name: Arc<str> = name.into();
        let i = self.streams.len();
        self.streams.push(StreamEntry {
            name: name.clone(),
            first: position,
            spans: Vec::new(),
            opaque: false,
        });
        self.by_name.insert(name, i);
        i
    }

    fn apply(&mut self, e: &RecordedEvent, access: Option<&DataAccessed>) {
        self.records += 1;
        let i = self.stream(&e.stream, e.position);
        let Some(a) = access else {
            if !self.streams[i].opaque {
                self.streams[i].opaque = true;
                self.opaque.push(i);
            }
            return;
        };
        let entry = &mut self.streams[i];
        if let Some(span) = entry
            .spans
            .iter_mut()
            .find(|s| *s.partner == *a.partner_id && *s.dataset == *a.dataset)
        {
            span.last = span.last.max(e.position);
            span.min_at = span.min_at.min(a.at);
            span.max_at = span.max_at.max(a.at);
            span.count += 1;
            return;
        }
        let listed_partner = entry.spans.iter().any(|s| *s.partner == *a.partner_id);
        let listed_dataset = entry.spans.iter().any(|s| *s.dataset == *a.dataset);
        let partner = intern(&mut self.by_partner, &a.partner_id, i, !listed_partner);
        let dataset = intern(&mut self.by_dataset, &a.dataset, i, !listed_dataset);
        self.streams[i].spans.push(Span {
            partner,
            dataset,
            first: e.position,
            first_revision: e.revision,
            last: e.position,
            min_at: a.at,
            max_at: a.at,
            count: 1,
        });
    }
}

/// The shared key of `value` in `map`, with stream `i` added to its list when `list`.
fn intern(map: &mut HashMap<Arc<str>, Vec<usize>>, value: &str, i: usize, list: bool) -> Arc<str> {
    let key = match map.get_key_value(value) {
        Some((key, _)) => key.clone(),
        None => {
            let key: Arc<str> = value.into();
            map.insert(key.clone(), Vec::new());
            key
        }
    };
    if list && let Some(streams) = map.get_mut(value) {
        streams.push(i);
    }
    key
}

/// A stream that may hold records a query wants, and where in it they can start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The stream.
    pub stream: Arc<str>,
    /// No wanted record of the stream lies before this position.
    pub lower: Position,
    /// No wanted record lies before this revision.
    pub from_revision: u64,
}

/// What the index offers a query: the candidate streams, as of `checkpoint`.
#[derive(Debug, Clone, Default)]
pub struct Candidates {
    /// Every access record at or before this position is covered (`None`: none is).
    pub checkpoint: Option<Position>,
    /// Streams holding at least one record the filter may accept after the cursor.
    pub streams: Vec<Candidate>,
    /// Records of the matching spans (an upper estimate of the matches, cursor ignored).
    pub matching: u64,
    /// Every access record indexed.
    pub records: u64,
}

/// The access index as this instance knows it (cheap to clone; all clones share it).
#[derive(Clone, Debug, Default)]
pub struct AccessIndex {
    inner: Arc<RwLock<Inner>>,
}

impl AccessIndex {
    /// The streams that may hold records `filter` accepts after `after`, from the spans
    /// whose partner, dataset and time range fit. A filter without partner and dataset
    /// considers every stream (a time window alone).
    pub fn candidates(&self, filter: &AccessFilter, after: Option<Position>) -> Candidates {
        let inner = self.inner.read().unwrap_or_else(|p| p.into_inner());
        let by_key = match (&filter.partner_id, &filter.dataset) {
            (Some(p), _) => Some(inner.by_partner.get(p.as_str())),
            (None, Some(d)) => Some(inner.by_dataset.get(d.as_str())),
            (None, None) => None,
        };
        let all: Vec<usize>;
        let ids: &[usize] = match by_key {
            Some(list) => list.map_or(&[], Vec::as_slice),
            None => {
                all = (0..inner.streams.len()).collect();
                &all
            }
        };
        let mut out = Candidates {
            checkpoint: inner.checkpoint,
            records: inner.records,
            ..Candidates::default()
        };
        for &i in ids {
            let entry = &inner.streams[i];
            if entry.opaque {
                continue; // listed below, with every opaque stream
            }
            let mut lower: Option<Position> = None;
            let mut last: Option<Position> = None;
            let mut from_revision = u64::MAX;
            for span in entry.spans.iter().filter(|s| s.admits(filter)) {
                lower = Some(lower.map_or(span.first, |l| l.min(span.first)));
                last = Some(last.map_or(span.last, |l| l.max(span.last)));
                from_revision = from_revision.min(span.first_revision);
                out.matching += span.count;
            }
            let (Some(lower), Some(last)) = (lower, last) else {
                continue;
            };
            if after.is_some_and(|c| last <= c) {
                continue;
            }
            out.streams.push(Candidate {
                stream: entry.name.clone(),
                lower,
                from_revision,
            });
        }
        for &i in &inner.opaque {
            let entry = &inner.streams[i];
            out.streams.push(Candidate {
                stream: entry.name.clone(),
                lower: entry.first,
                from_revision: 0,
            });
        }
        out
    }

    /// Every access record up to here has been applied.
    pub fn checkpoint(&self) -> Option<Position> {
        self.inner
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .checkpoint
    }

    /// Access streams known.
    pub fn streams(&self) -> usize {
        self.inner
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .streams
            .len()
    }

    fn apply(&self, events: &[RecordedEvent], checkpoint: Position) {
        let decoded: Vec<Option<DataAccessed>> = events
            .iter()
            .map(|e| match e.decode::<DataAccessed>() {
                Ok(env) => Some(env.payload),
                Err(err) => {
                    tracing::warn!(stream = %e.stream, position = %e.position, error = %err,
                        "access record cannot be decoded; its stream joins every audit query");
                    None
                }
            })
            .collect();
        let mut inner = self.inner.write().unwrap_or_else(|p| p.into_inner());
        for (e, a) in events.iter().zip(&decoded) {
            inner.apply(e, a.as_ref());
        }
        inner.checkpoint = Some(inner.checkpoint.map_or(checkpoint, |c| c.max(checkpoint)));
    }

    fn clear(&self) {
        *self.inner.write().unwrap_or_else(|p| p.into_inner()) = Inner::default();
    }
}

/// Feeds an [`AccessIndex`] (in memory, rebuilt from zero at start).
#[derive(Debug)]
pub struct AccessIndexProjection {
    index: AccessIndex,
}

impl AccessIndexProjection {
    /// The projection that keeps `index` current.
    pub fn new(index: AccessIndex) -> Self {
        Self { index }
    }
}

#[async_trait]
impl Projection for AccessIndexProjection {
    fn name(&self) -> &str {
        "sharing-access-index"
    }
    fn filter(&self) -> EventFilter {
        access_filter()
    }
    async fn checkpoint(&mut self) -> Result<Option<Position>, ProjectionError> {
        Ok(None)
    }
    async fn apply(
        &mut self,
        events: &[RecordedEvent],
        checkpoint: Position,
    ) -> Result<(), ProjectionError> {
        self.index.apply(events, checkpoint);
        Ok(())
    }
    async fn reset(&mut self) -> Result<(), ProjectionError> {
        self.index.clear();
        Ok(())
    }
}
