//! Load → decide → append: how application code runs a command against an aggregate.

use ecohub_kernel::{Aggregate, EventMetadata, Timestamp};

use crate::{
    AppendResult, CurrentRevision, EventStore, ExpectedRevision, NewEvent, StoreError,
    read_stream_to_end,
};

/// The outcome of a command that was accepted and stored.
#[derive(Debug, Clone)]
pub struct Executed<A: Aggregate> {
    /// State after the new events.
    pub state: A,
    /// The events the command caused (possibly none).
    pub events: Vec<A::Event>,
    /// The stream's revision after the append.
    pub revision: CurrentRevision,
}

/// Why a command did not produce stored events.
#[derive(Debug, thiserror::Error)]
pub enum ExecuteError<E: std::error::Error + 'static> {
    /// The domain refused the command.
    #[error(transparent)]
    Refused(E),
    /// The store refused or failed (a concurrent writer won: `WrongExpectedVersion`).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored event could not be decoded.
    #[error("stored event cannot be decoded: {0}")]
    Decode(#[from] ecohub_kernel::DecodeError),
}

/// Loads an aggregate's state and the revision it was read at. Reads the stream itself, so
/// the answer is exact at the time of the read (never a projection).
pub async fn load<A: Aggregate>(
    store: &dyn EventStore,
    stream: &str,
) -> Result<(A, CurrentRevision), ExecuteError<A::Error>> {
    let recorded = read_stream_to_end(store, stream).await?;
    let mut state = A::default();
    let mut revision = CurrentRevision::NoStream;
    for r in &recorded {
        let envelope = r.decode::<A::Event>()?;
        state = state.evolve(&envelope.payload);
        revision = CurrentRevision::Current(r.revision);
    }
    Ok((state, revision))
}

/// Runs `command` against the aggregate stored in `stream`: load, decide at `now`, append the
/// events with the revision the state was read at. A concurrent writer makes the append fail
/// with `WrongExpectedVersion` rather than overwrite its decision.
pub async fn execute<A: Aggregate>(
    store: &dyn EventStore,
    stream: &str,
    command: A::Command,
    now: Timestamp,
    metadata: EventMetadata,
) -> Result<Executed<A>, ExecuteError<A::Error>> {
    let (state, revision) = load::<A>(store, stream).await?;
    execute_on(store, stream, state, revision, command, now, metadata).await
}

/// [`execute`] on a state already loaded (or executed) at `revision`, without reading the
/// stream again: the append expects `revision`, so a stream that moved on since is refused
/// with `WrongExpectedVersion` and nothing is written.
pub async fn execute_on<A: Aggregate>(
    store: &dyn EventStore,
    stream: &str,
    state: A,
    revision: CurrentRevision,
    command: A::Command,
    now: Timestamp,
    metadata: EventMetadata,
) -> Result<Executed<A>, ExecuteError<A::Error>> {
    let events = state.decide(command, now).map_err(ExecuteError::Refused)?;
    if events.is_empty() {
        return Ok(Executed {
            state,
            events,
            revision,
        });
    }
    let new_events = events
        .iter()
        .map(|e| NewEvent::from_domain(e, metadata.clone(), now))
        .collect();
    let AppendResult { next_expected, .. } = store
        .append(stream, ExpectedRevision::from(revision), new_events)
        .await?;
    let state = events.iter().fold(state, |s, e| s.evolve(e));
    Ok(Executed {
        state,
        events,
        revision: next_expected,
    })
}

/// One stream's aggregate state, remembered with the head of the stream's category
/// (`<category>-`) it was read under: [`load`]ed again only when that head has moved. Exact
/// like [`load`]: every call reads the category head, which moves with every append to the
/// category acknowledged on any instance (the category-head rule of docs/ARCHITECTURE.md),
/// and on the embedded store is answered from memory. For small, rarely written, often read
/// streams (a catalogue): no read of the stream and no fold while nothing changed.
#[derive(Debug)]
pub struct Remembered<A> {
    stream: String,
    category: String,
    state: std::sync::Mutex<Option<Folded<A>>>,
}

/// A state as folded: the category head it was read under, the state, its revision.
type Folded<A> = (Option<crate::Position>, std::sync::Arc<A>, CurrentRevision);

impl<A: Aggregate> Remembered<A> {
    /// Remembers the state of `stream` (nothing read yet).
    pub fn new(stream: impl Into<String>) -> Self {
        let stream = stream.into();
        let category = match stream.find('-') {
            Some(i) => stream[..=i].to_owned(),
            None => format!("{stream}-"),
        };
        Self {
            stream,
            category,
            state: std::sync::Mutex::new(None),
        }
    }

    /// The state as the stream stands now, and its revision.
    pub async fn load(
        &self,
        store: &dyn EventStore,
    ) -> Result<(std::sync::Arc<A>, CurrentRevision), ExecuteError<A::Error>> {
        // Read before the stream: the state loaded is at least as new as this head.
        let head = store.category_head(&self.category).await?;
        if let Some((_, state, revision)) = self
            .state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .filter(|(at, _, _)| *at == head)
        {
            return Ok((std::sync::Arc::clone(state), *revision));
        }
        let (state, revision) = load::<A>(store, &self.stream).await?;
        let state = std::sync::Arc::new(state);
        let mut remembered = self.state.lock().unwrap_or_else(|e| e.into_inner());
        // Keep the newest of two concurrent loads.
        if remembered.as_ref().is_none_or(|(at, _, _)| *at <= head) {
            *remembered = Some((head, std::sync::Arc::clone(&state), revision));
        }
        Ok((state, revision))
    }
}

/// Many streams of one category (`partner-…`, `offerpreferences-…`), each state remembered
/// like [`Remembered`] with the category head it was read under, and [`load`]ed again only
/// when that head has moved. Exact: every call reads the category head first (answered from
/// memory on the embedded store), so an append acknowledged on any instance is seen by the
/// next call that starts after it. For categories written rarely and read on hot paths (a
/// partner's standing on every publication, a customer's offer preferences on every
/// moment). At most `capacity` states are kept: when full, those read under an older head
/// are dropped first, then all.
#[derive(Debug)]
pub struct RememberedStreams<A> {
    category: String,
    capacity: usize,
    states: std::sync::Mutex<std::collections::HashMap<String, Folded<A>>>,
}

impl<A: Aggregate> RememberedStreams<A> {
    /// Remembers up to `capacity` streams of `category` (with its trailing `-`).
    pub fn new(category: impl Into<String>, capacity: usize) -> Self {
        Self {
            category: category.into(),
            capacity: capacity.max(1),
            states: std::sync::Mutex::new(std::collections::HashMap::new()),
        }
    }

    /// The state of `stream` (of this category) as it stands now, and its revision.
    pub async fn load(
        &self,
        store: &dyn EventStore,
        stream: &str,
    ) -> Result<(std::sync::Arc<A>, CurrentRevision), ExecuteError<A::Error>> {
        debug_assert!(
            stream.starts_with(&self.category),
            "{stream} is not in {}",
            self.category
        );
        // Read before the stream: the state loaded is at least as new as this head.
        let head = store.category_head(&self.category).await?;
        if let Some((_, state, revision)) = self
            .states
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(stream)
            .filter(|(at, _, _)| *at == head)
        {
            return Ok((std::sync::Arc::clone(state), *revision));
        }
        let (state, revision) = load::<A>(store, stream).await?;
        let state = std::sync::Arc::new(state);
        let mut states = self.states.lock().unwrap_or_else(|e| e.into_inner());
        if states.len() >= self.capacity && !states.contains_key(stream) {
            states.retain(|_, (at, _, _)| *at >= head);
            if states.len() >= self.capacity {
                states.clear();
            }
        }
        // Keep the newest of two concurrent loads.
        let newer = states.get(stream).is_none_or(|(at, _, _)| *at <= head);
        if newer {
            states.insert(
                stream.to_owned(),
                (head, std::sync::Arc::clone(&state), revision),
            );
        }
        Ok((state, revision))
    }
}
