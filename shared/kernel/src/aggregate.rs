//! The decide/evolve pattern: decisions are pure functions of state, command and time.

use crate::{DomainEvent, Timestamp};

/// A consistency boundary whose state is a left fold of its events.
///
/// * `decide` answers a command with the events it causes, or a refusal; it does no IO and
///   gets `now` from the caller.
/// * `evolve` applies one event to the state; it never fails (events are facts).
pub trait Aggregate: Default + Clone + Send + Sync + 'static {
    /// What callers ask for, in the imperative (`RevokeConsent`).
    type Command;
    /// What happened, in the past tense (`ConsentRevoked`).
    type Event: DomainEvent + Clone + std::fmt::Debug + PartialEq;
    /// A business refusal with a lowercase message (`"consent is already revoked"`).
    type Error: std::error::Error + Send + Sync + 'static;

    /// The stream category of this aggregate (`consent`).
    const CATEGORY: &'static str;

    /// Decides which events `command` causes given the current state and time.
    fn decide(
        &self,
        command: Self::Command,
        now: Timestamp,
    ) -> Result<Vec<Self::Event>, Self::Error>;

    /// Applies one event to the state.
    fn evolve(self, event: &Self::Event) -> Self;

    /// Folds a history of events into a state.
    fn replay<'a>(events: impl IntoIterator<Item = &'a Self::Event>) -> Self {
        events
            .into_iter()
            .fold(Self::default(), |state, event| state.evolve(event))
    }
}
