//! The compliance audit of data accesses: pages of `DataAccessed` records, oldest first by
//! global position, after a cursor (the position of the last record already returned).
//!
//! A query reads what it returns plus a small, bounded overhead, never the whole log:
//!
//! * `consent_id`: the consent's own stream (`access_stream`), from the first revision after
//!   the cursor (found by a binary search over revisions when there is a cursor).
//! * `partner_id`, `dataset`, or a `from`/`to` window: the [`AccessIndex`] names the streams
//!   that hold matching records after the cursor (by partner, dataset and time span); they
//!   are merged by position (a lazy k-way merge: a stream is opened only once the merge
//!   reaches the first position it can contribute). The index may lag the store, so the
//!   access records it has not applied yet (after its checkpoint, up to the category head)
//!   are scanned to find the streams they add: exact, whatever the lag.
//! * no filter, or a filter most records pass (estimated from the index's counts): the
//!   category scan, which fills a page quickly when most records match.
//!
//! Every strategy returns exactly what [`scan_access_records`] (the scan of the global log
//! this module replaced, kept as the fallback and as the benchmark baseline) returns.

pub mod index;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet, VecDeque};
use std::sync::Arc;

use ecohub_eventstore::{
    CurrentRevision, EventFilter, EventStore, Position, ReadStreamOptions, RecordedEvent,
    StoreError, StreamPosition,
};
use ecohub_kernel::{DecodeError, Timestamp};

pub use index::{AccessIndex, AccessIndexProjection, Candidate, Candidates};

/// Why an audit query failed: the store failed, or an access record cannot be decoded.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored access record cannot be decoded.
    #[error("stored event cannot be decoded: {0}")]
    Decode(#[from] DecodeError),
}

use crate::domain::access::{ACCESS_CATEGORY, DataAccessed, access_stream};

/// Filters of the compliance list.
#[derive(Debug, Clone, Default)]
pub struct AccessFilter {
    /// Only this consent.
    pub consent_id: Option<String>,
    /// Only this recipient.
    pub partner_id: Option<String>,
    /// Only this dataset.
    pub dataset: Option<String>,
    /// At or after.
    pub from: Option<Timestamp>,
    /// Before.
    pub to: Option<Timestamp>,
}

impl AccessFilter {
    /// Whether `a` passes.
    pub fn matches(&self, a: &DataAccessed) -> bool {
        self.consent_id.as_ref().is_none_or(|c| *c == a.consent_id)
            && self.partner_id.as_ref().is_none_or(|p| *p == a.partner_id)
            && self.dataset.as_ref().is_none_or(|d| *d == a.dataset)
            && self.from.is_none_or(|f| a.at >= f)
            && self.to.is_none_or(|t| a.at < t)
    }

    fn is_empty(&self) -> bool {
        self.consent_id.is_none()
            && self.partner_id.is_none()
            && self.dataset.is_none()
            && self.from.is_none()
            && self.to.is_none()
    }
}

/// The global-log filter of access records.
pub fn access_filter() -> EventFilter {
    EventFilter {
        stream_prefixes: vec![ACCESS_CATEGORY.to_owned()],
        event_type_prefixes: vec![DataAccessed::TYPE.to_owned()],
    }
}

/// Records of one page, with whether the limit was reached (more may follow).
pub type AccessPage = (Vec<(Position, DataAccessed)>, bool);

/// Events per global-log read.
const SCAN_BATCH: usize = 500;
/// Largest stream page the merge reads at once.
const MAX_STREAM_PAGE: usize = 500;
/// Smallest stream page (the first page of a stream among many).
const MIN_STREAM_PAGE: usize = 8;

/// Up to `limit` access records after `after` that `filter` accepts, in log order, and
/// whether the limit was reached. Served from the consent's stream, from the streams the
/// index names, or by the category scan (see the module documentation).
/// The latest `limit` access records of one consent, newest first, and whether it has older
/// ones: the customer's "who used my data" (reads the consent's own access stream backwards,
/// so it costs what it returns).
pub async fn latest_of_consent(
    store: &dyn EventStore,
    consent_id: &str,
    limit: usize,
) -> Result<(Vec<DataAccessed>, bool), AuditError> {
    let limit = limit.max(1);
    let events = store
        .read_stream(
            &access_stream(consent_id),
            ReadStreamOptions::backwards().limit(limit + 1),
        )
        .await?;
    let more = events.len() > limit;
    let records = events
        .iter()
        .take(limit)
        .filter(|e| e.event_type.starts_with(DataAccessed::TYPE))
        .map(|e| Ok(e.decode::<DataAccessed>()?.payload))
        .collect::<Result<Vec<_>, AuditError>>()?;
    Ok((records, more))
}

pub async fn access_records(
    store: &dyn EventStore,
    index: &AccessIndex,
    after: Option<Position>,
    filter: &AccessFilter,
    limit: usize,
) -> Result<AccessPage, AuditError> {
    let limit = limit.max(1);
    if let Some(consent) = &filter.consent_id {
        let source = Source::new(access_stream(consent).into(), None, 0, after);
        return merge(store, vec![source], after, filter, limit).await;
    }
    if filter.is_empty() {
        return scan_access_records(store, after, filter, limit).await;
    }
    let candidates = index.candidates(filter, after);
    let Some(checkpoint) = candidates.checkpoint else {
        // The index has applied nothing yet: it cannot narrow anything down.
        return scan_access_records(store, after, filter, limit).await;
    };
    // A scan reads about limit × records / matching events; the merge opens at most every
    // candidate stream. Prefer the scan when the filter passes most records.
    let scan_cost = match candidates.matching {
        0 => u64::MAX,
        m => (limit as u64).saturating_mul(candidates.records.max(m)) / m,
    };
    let merge_cost = candidates.streams.len() as u64 + limit as u64;
    if merge_cost > scan_cost {
        return scan_access_records(store, after, filter, limit).await;
    }
    let tail_from = after.map_or(checkpoint, |a| a.max(checkpoint));
    let tail = unindexed_streams(store, tail_from, filter).await?;
    let mut seen: HashSet<Arc<str>> = HashSet::with_capacity(candidates.streams.len());
    let mut sources = Vec::with_capacity(candidates.streams.len() + tail.len());
    for c in candidates.streams {
        if seen.insert(c.stream.clone()) {
            sources.push(Source::new(c.stream, Some(c.lower), c.from_revision, after));
        }
    }
    for c in tail {
        if seen.insert(c.stream.clone()) {
            sources.push(Source::new(c.stream, Some(c.lower), c.from_revision, after));
        }
    }
    merge(store, sources, after, filter, limit).await
}

/// Reads up to `limit` access records after `from` matching `filter` by scanning the
/// category in the global log in batches (memory bounded by the batch and the limit; cost
/// proportional to the records scanned, matching or not).
pub async fn scan_access_records(
    store: &dyn EventStore,
    mut from: Option<Position>,
    filter: &AccessFilter,
    limit: usize,
) -> Result<AccessPage, AuditError> {
    let log_filter = access_filter();
    let mut out = Vec::new();
    loop {
        let batch = store.read_all(from, &log_filter, SCAN_BATCH).await?;
        let n = batch.len();
        for e in batch {
            from = Some(e.position);
            let a = e.decode::<DataAccessed>()?.payload;
            if filter.matches(&a) {
                out.push((e.position, a));
                if out.len() >= limit {
                    return Ok((out, true));
                }
            }
        }
        if n < SCAN_BATCH {
            return Ok((out, false));
        }
    }
}

/// The streams with records `filter` accepts after `from` (the index's checkpoint), up to
/// the category head read first: what the index may not have applied yet. Costs the
/// records appended since the checkpoint (the index's lag), nothing when it has caught up.
async fn unindexed_streams(
    store: &dyn EventStore,
    from: Position,
    filter: &AccessFilter,
) -> Result<Vec<Candidate>, AuditError> {
    let head = store.category_head(ACCESS_CATEGORY).await?;
    let Some(head) = head.filter(|h| *h > from) else {
        return Ok(Vec::new());
    };
    let log_filter = access_filter();
    let mut found = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    let mut cursor = Some(from);
    loop {
        let batch = store.read_all(cursor, &log_filter, SCAN_BATCH).await?;
        let n = batch.len();
        for e in batch {
            cursor = Some(e.position);
            if seen.contains(&e.stream) {
                continue;
            }
            // An undecodable record joins too: reading its stream reports it.
            let wanted = e
                .decode::<DataAccessed>()
                .map_or(true, |env| filter.matches(&env.payload));
            if wanted {
                seen.insert(e.stream.clone());
                found.push(Candidate {
                    stream: e.stream.as_str().into(),
                    lower: e.position,
                    from_revision: e.revision,
                });
            }
        }
        if n < SCAN_BATCH || cursor.is_some_and(|c| c >= head) {
            return Ok(found);
        }
    }
}

/// One stream being merged.
struct Source {
    stream: Arc<str>,
    /// No wanted record lies before this position (`None`: unknown, search from the cursor).
    lower: Option<Position>,
    /// Next revision to read.
    next: u64,
    /// Whether the first revision after the cursor must be searched for.
    search: bool,
    opened: bool,
    buffer: VecDeque<RecordedEvent>,
    exhausted: bool,
    page: usize,
}

impl Source {
    fn new(
        stream: Arc<str>,
        lower: Option<Position>,
        from_revision: u64,
        after: Option<Position>,
    ) -> Self {
        let search = match (after, lower) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(a), Some(l)) => l <= a,
        };
        Self {
            stream,
            lower,
            next: from_revision,
            search,
            opened: false,
            buffer: VecDeque::new(),
            exhausted: false,
            page: MIN_STREAM_PAGE,
        }
    }

    /// The merge key before the stream is opened: a lower bound of its next wanted record.
    fn key(&self, after: Option<Position>) -> Position {
        match self.buffer.front() {
            Some(e) => e.position,
            None => match (self.lower, after) {
                (Some(l), Some(a)) => l.max(a),
                (Some(l), None) => l,
                (None, Some(a)) => a,
                (None, None) => Position::new(0),
            },
        }
    }

    async fn open(
        &mut self,
        store: &dyn EventStore,
        after: Option<Position>,
    ) -> Result<(), AuditError> {
        self.opened = true;
        if let (true, Some(after)) = (self.search, after) {
            self.next = first_revision_after(store, &self.stream, self.next, after).await?;
        }
        self.fill(store).await
    }

    async fn fill(&mut self, store: &dyn EventStore) -> Result<(), AuditError> {
        if self.exhausted {
            return Ok(());
        }
        let page = store
            .read_stream(
                &self.stream,
                ReadStreamOptions::forwards()
                    .from(StreamPosition::Revision(self.next))
                    .limit(self.page),
            )
            .await?;
        self.exhausted = page.len() < self.page;
        if let Some(last) = page.last() {
            self.next = last.revision + 1;
        }
        self.buffer.extend(page);
        self.page = (self.page * 2).min(MAX_STREAM_PAGE);
        Ok(())
    }
}

/// The first revision at or after `from` whose position is after `after` (the stream's
/// next revision when there is none): a binary search, one single-event read per step.
async fn first_revision_after(
    store: &dyn EventStore,
    stream: &str,
    from: u64,
    after: Position,
) -> Result<u64, AuditError> {
    let end = match store.stream_revision(stream).await? {
        CurrentRevision::NoStream => return Ok(from),
        CurrentRevision::Current(n) => n + 1,
    };
    let (mut lo, mut hi) = (from.min(end), end);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let probe = store
            .read_stream(
                stream,
                ReadStreamOptions::forwards()
                    .from(StreamPosition::Revision(mid))
                    .limit(1),
            )
            .await?;
        match probe.first() {
            Some(e) if e.position <= after => lo = mid + 1,
            _ => hi = mid,
        }
    }
    Ok(lo)
}

/// Merges `sources` by position, keeping what `filter` accepts after `after`, until `limit`.
async fn merge(
    store: &dyn EventStore,
    mut sources: Vec<Source>,
    after: Option<Position>,
    filter: &AccessFilter,
    limit: usize,
) -> Result<AccessPage, AuditError> {
    if let [alone] = sources.as_mut_slice() {
        // A stream merged alone reads a whole page at once.
        alone.page = (limit + 1).clamp(MIN_STREAM_PAGE, MAX_STREAM_PAGE);
    }
    let mut heap: BinaryHeap<Reverse<(Position, usize)>> = sources
        .iter()
        .enumerate()
        .map(|(i, s)| Reverse((s.key(after), i)))
        .collect();
    let mut out = Vec::new();
    while let Some(Reverse((_, i))) = heap.pop() {
        let source = &mut sources[i];
        if !source.opened {
            source.open(store, after).await?;
        } else if let Some(e) = source.buffer.pop_front() {
            let wanted = after.is_none_or(|a| e.position > a)
                && e.event_type.starts_with(DataAccessed::TYPE);
            if wanted {
                let a = e.decode::<DataAccessed>()?.payload;
                if filter.matches(&a) {
                    out.push((e.position, a));
                    if out.len() >= limit {
                        return Ok((out, true));
                    }
                }
            }
            if source.buffer.is_empty() {
                source.fill(store).await?;
            }
        }
        if !source.buffer.is_empty() {
            heap.push(Reverse((source.key(after), i)));
        }
    }
    Ok((out, false))
}
