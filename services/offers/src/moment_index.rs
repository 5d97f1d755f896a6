//! The index of customers' moments (ADR 0026, "The trail of moments") and the reads of the
//! compliance officer's offer trail over moments.
//!
//! [`MomentIndexer`] is a projection of `MomentReceived` and `MomentRefused` with a durable
//! checkpoint (`offermomentindex-checkpoint`): for every moment event that is the first of its
//! moment to name a customer, it appends a `MomentNoted` to the customer's
//! `offermoments-<customer key>` stream (`domain::customer_moments`), at the revision it read,
//! so that instances and restarts that process the same events again write nothing twice.
//! A batch's customers are written side by side, each customer's notes in one append.
//!
//! [`OffersState::customer_moments`] lists a customer's moments newest first, a page at a
//! time, from that stream; the first page also covers what the index has not written yet, by
//! reading the moment events after the index's checkpoint (a bounded read: normally the last
//! fraction of a second). What became of each moment is read from its own stream (exact).

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use ecohub_eventstore::{
    CheckpointStream, CurrentRevision, EventFilter, ExpectedRevision, NewEvent, Position,
    Projection, ProjectionError, ReadStreamOptions, RecordedEvent, StoreError, StreamPosition,
    read_stream_to_end,
};
use ecohub_kernel::{Aggregate, EventMetadata, Timestamp};

use crate::application::{AppError, OffersState};
use crate::domain::{
    CustomerMomentEvent, CustomerMoments, CustomerMomentsCommand, MomentEvent, MomentId,
    MomentNote, customer_moments_stream, customer_named, first_naming, moment_stream,
};

/// The stream of the index's checkpoints.
pub const MOMENT_INDEX_CHECKPOINT_STREAM: &str = "offermomentindex-checkpoint";
/// The actor of the index's events.
pub const MOMENT_INDEX_ACTOR: &str = "offers-moment-index";
/// Where the index keeps its checkpoints.
const CHECKPOINTS: CheckpointStream = CheckpointStream {
    stream: MOMENT_INDEX_CHECKPOINT_STREAM,
    event_type: "MomentIndexCheckpointed",
    actor: MOMENT_INDEX_ACTOR,
};
/// Checkpoints are recorded at most this often (a restart writes nothing twice).
const CHECKPOINT_EVERY: Duration = Duration::from_millis(200);
/// The moment events that name customers.
const NAMING_EVENTS: [&str; 2] = ["MomentReceived", "MomentRefused"];
/// The first page reads at most this many moment events the index has not applied yet; past
/// it, the page says the index is catching up.
const TAIL_LIMIT: usize = 2_000;

/// The moment events that name customers, in the moments' streams.
fn naming_events() -> EventFilter {
    EventFilter {
        stream_prefixes: vec![format!("{}-", crate::domain::Moment::CATEGORY)],
        event_type_prefixes: NAMING_EVENTS.iter().map(|t| (*t).to_owned()).collect(),
    }
}

/// The index of customers' moments, a [`Projection`] to spawn with `ProjectionHandle::spawn`.
pub struct MomentIndexer {
    state: OffersState,
    written: Option<Position>,
    written_at: Option<tokio::time::Instant>,
}

impl std::fmt::Debug for MomentIndexer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MomentIndexer")
            .field("written", &self.written)
            .finish_non_exhaustive()
    }
}

impl MomentIndexer {
    /// The index of `state`'s moments.
    pub fn new(state: OffersState) -> Self {
        Self {
            state,
            written: None,
            written_at: None,
        }
    }
}

/// The note `r` makes for the customer it names, if it is the first of its moment's events to
/// name them (a moment refused and later received is noted once). Reads the moment's earlier
/// events only for an event that is not its moment's first (rare: a refusal sent again).
async fn note_of(
    state: &OffersState,
    r: &RecordedEvent,
) -> Result<Option<(String, MomentNote)>, AppError> {
    let event = r.decode::<MomentEvent>()?.payload;
    let Some(customer) = customer_named(&event) else {
        return Ok(None);
    };
    let (id, at) = match &event {
        MomentEvent::Received { moment, at } => (moment.id, *at),
        MomentEvent::Refused { id, at, .. } => (*id, *at),
        _ => return Ok(None),
    };
    if r.revision > 0 {
        let earlier = moment_events(state, id).await?;
        let Some(here) = earlier.iter().position(|(rev, _)| *rev == r.revision) else {
            return Ok(None);
        };
        let events: Vec<MomentEvent> = earlier.into_iter().map(|(_, e)| e).collect();
        if !first_naming(&events, here, customer) {
            return Ok(None);
        }
    }
    Ok(Some((
        customer.to_owned(),
        MomentNote {
            moment: id,
            source: r.position,
            at,
        },
    )))
}

/// Appends `notes` (in log order) to the customer's index stream at the revision read; what
/// is noted already is left out (`CustomerMoments::decide`). Another writer in between: read
/// again.
async fn write_notes(
    state: &OffersState,
    stream: &str,
    notes: Vec<MomentNote>,
) -> Result<(), AppError> {
    loop {
        let last = state
            .store
            .read_stream(stream, ReadStreamOptions::backwards().limit(1))
            .await?;
        let (index, revision) = match last.first() {
            None => (CustomerMoments::default(), CurrentRevision::NoStream),
            Some(r) => (
                CustomerMoments::default().evolve(&r.decode::<CustomerMomentEvent>()?.payload),
                CurrentRevision::Current(r.revision),
            ),
        };
        let now = state.clock.now();
        let events = index.decide(CustomerMomentsCommand::Note(notes.clone()), now)?;
        if events.is_empty() {
            return Ok(());
        }
        let new: Vec<NewEvent> = events
            .iter()
            .map(|e| NewEvent::from_domain(e, EventMetadata::system(MOMENT_INDEX_ACTOR), now))
            .collect();
        match state
            .store
            .append(stream, ExpectedRevision::from(revision), new)
            .await
        {
            Ok(_) => return Ok(()),
            Err(StoreError::WrongExpectedVersion { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

#[async_trait]
impl Projection for MomentIndexer {
    fn name(&self) -> &str {
        "offers-moment-index"
    }

    fn filter(&self) -> EventFilter {
        naming_events()
    }

    async fn checkpoint(&mut self) -> Result<Option<Position>, ProjectionError> {
        let at = CHECKPOINTS.read(&*self.state.store).await?;
        self.written = at;
        Ok(at)
    }

    async fn apply(
        &mut self,
        events: &[RecordedEvent],
        checkpoint: Position,
    ) -> Result<(), ProjectionError> {
        let failed = |e: AppError| ProjectionError(e.to_string());
        // Each customer's notes in log order; customers in the order first seen.
        let mut by_customer: HashMap<String, Vec<MomentNote>> = HashMap::new();
        for r in events {
            if let Some((customer, note)) = note_of(&self.state, r).await.map_err(failed)? {
                by_customer
                    .entry(customer_moments_stream(&customer))
                    .or_default()
                    .push(note);
            }
        }
        let state = &self.state;
        futures_util::future::try_join_all(
            by_customer
                .into_iter()
                .map(|(stream, notes)| async move { write_notes(state, &stream, notes).await }),
        )
        .await
        .map_err(failed)?;
        let due = self
            .written_at
            .is_none_or(|t| t.elapsed() >= CHECKPOINT_EVERY);
        if Some(checkpoint) > self.written && due {
            CHECKPOINTS
                .write(&*self.state.store, Some(checkpoint), self.state.clock.now())
                .await?;
            self.written = Some(checkpoint);
            self.written_at = Some(tokio::time::Instant::now());
        }
        Ok(())
    }

    async fn reset(&mut self) -> Result<(), ProjectionError> {
        CHECKPOINTS
            .write(&*self.state.store, None, self.state.clock.now())
            .await?;
        self.written = None;
        self.written_at = None;
        Ok(())
    }
}

/// A moment's events with their revisions, oldest first (empty: no such moment).
pub(crate) async fn moment_events(
    state: &OffersState,
    id: MomentId,
) -> Result<Vec<(u64, MomentEvent)>, AppError> {
    read_stream_to_end(&*state.store, &moment_stream(id))
        .await?
        .iter()
        .map(|r| Ok((r.revision, r.decode::<MomentEvent>()?.payload)))
        .collect()
}

/// One of a customer's moments, as the trail lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct ListedMoment {
    /// The moment.
    pub id: MomentId,
    /// When it first named the customer.
    pub at: Timestamp,
    /// Its events, oldest first (exact: read from its stream).
    pub events: Vec<MomentEvent>,
}

/// A page of a customer's moments, newest first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MomentsPage {
    /// The moments.
    pub moments: Vec<ListedMoment>,
    /// The cursor of the next (older) page: the index revision to read before.
    pub next_before: Option<u64>,
    /// More moment events than a page reads wait for the index: the newest may be missing.
    pub catching_up: bool,
}

impl OffersState {
    /// The customer's moments (received or refused) newest first, `limit` at a time, before
    /// the index revision `before` (`None`: the newest, including those the index has not
    /// written yet).
    pub async fn customer_moments(
        &self,
        customer_id: &str,
        before: Option<u64>,
        limit: usize,
    ) -> Result<MomentsPage, AppError> {
        let stream = customer_moments_stream(customer_id);
        // The index's checkpoint is read before its stream: a note written in between is in
        // the stream read, or after the checkpoint read (then the tail read finds its moment).
        let checkpoint = match before {
            None => CHECKPOINTS
                .read(&*self.store)
                .await
                .map_err(|e| StoreError::Unavailable(e.0))?,
            Some(_) => None,
        };
        let from = match before {
            None => StreamPosition::End,
            Some(0) => return Ok(MomentsPage::default()),
            Some(b) => StreamPosition::Revision(b - 1),
        };
        let read = self
            .store
            .read_stream(
                &stream,
                ReadStreamOptions::backwards().from(from).limit(limit + 1),
            )
            .await?;
        let mut notes = Vec::with_capacity(read.len());
        for r in &read {
            let CustomerMomentEvent::Noted(note) = r.decode::<CustomerMomentEvent>()?.payload;
            notes.push((r.revision, note));
        }
        let next_before = (notes.len() > limit).then(|| {
            notes.truncate(limit);
            notes.last().map_or(0, |(rev, _)| *rev)
        });
        let mut page = MomentsPage {
            moments: Vec::with_capacity(notes.len()),
            next_before,
            catching_up: false,
        };
        if before.is_none() {
            let newest = notes.first().map(|(_, n)| n.source);
            let (mut unindexed, catching_up) =
                self.unindexed(customer_id, checkpoint.max(newest)).await?;
            unindexed.reverse();
            page.moments = unindexed;
            page.catching_up = catching_up;
        }
        for (_, note) in notes {
            let events = moment_events(self, note.moment)
                .await?
                .into_iter()
                .map(|(_, e)| e)
                .collect();
            page.moments.push(ListedMoment {
                id: note.moment,
                at: note.at,
                events,
            });
        }
        Ok(page)
    }

    /// The customer's moments the index has not noted yet, oldest first: the moment events
    /// after `from` (the later of the index's checkpoint and the customer's newest note) that
    /// first named the customer; and whether there were more events than this reads.
    async fn unindexed(
        &self,
        customer_id: &str,
        from: Option<Position>,
    ) -> Result<(Vec<ListedMoment>, bool), AppError> {
        let read = self
            .store
            .read_all(from, &naming_events(), TAIL_LIMIT + 1)
            .await?;
        let catching_up = read.len() > TAIL_LIMIT;
        let mut out: Vec<ListedMoment> = Vec::new();
        for r in read.iter().take(TAIL_LIMIT) {
            let event = r.decode::<MomentEvent>()?.payload;
            if customer_named(&event) != Some(customer_id) {
                continue;
            }
            let (id, at) = match &event {
                MomentEvent::Received { moment, at } => (moment.id, *at),
                MomentEvent::Refused { id, at, .. } => (*id, *at),
                _ => continue,
            };
            let stored = moment_events(self, id).await?;
            let Some(here) = stored.iter().position(|(rev, _)| *rev == r.revision) else {
                continue;
            };
            let events: Vec<MomentEvent> = stored.into_iter().map(|(_, e)| e).collect();
            if first_naming(&events, here, customer_id) {
                out.push(ListedMoment { id, at, events });
            }
        }
        Ok((out, catching_up))
    }

    /// A moment's events, oldest first (`NotFound`: no such moment).
    pub async fn moment_trail(&self, id: MomentId) -> Result<Vec<MomentEvent>, AppError> {
        let events: Vec<MomentEvent> = moment_events(self, id)
            .await?
            .into_iter()
            .map(|(_, e)| e)
            .collect();
        if events.is_empty() {
            return Err(crate::domain::OffersError::NotFound.into());
        }
        Ok(events)
    }
}
