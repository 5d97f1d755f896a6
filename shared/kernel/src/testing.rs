//! Given/when/then harness for aggregates.
//!
//! ```
//! # use ecohub_kernel::testing::given;
//! # use ecohub_kernel::testing::example::{Counter, CounterCommand, CounterEvent};
//! # use ecohub_kernel::Timestamp;
//! given::<Counter>([CounterEvent::Incremented { by: 2 }])
//!     .when(CounterCommand::Increment { by: 3 })
//!     .then([CounterEvent::Incremented { by: 3 }]);
//! given::<Counter>([CounterEvent::Incremented { by: 9 }])
//!     .when(CounterCommand::Increment { by: 3 })
//!     .then_refused("counter would exceed 10");
//! ```

use crate::{Aggregate, Timestamp};

/// Starts a scenario from a history of events.
pub fn given<A: Aggregate>(history: impl IntoIterator<Item = A::Event>) -> Given<A> {
    let history: Vec<A::Event> = history.into_iter().collect();
    Given {
        state: A::replay(history.iter()),
        now: Timestamp::from_unix_seconds(1_800_000_000),
    }
}

/// Starts a scenario from an aggregate that has no events yet.
pub fn given_no_history<A: Aggregate>() -> Given<A> {
    given::<A>(std::iter::empty())
}

/// A scenario's history, folded.
pub struct Given<A: Aggregate> {
    state: A,
    now: Timestamp,
}

impl<A: Aggregate> Given<A> {
    /// Sets the time at which the command is decided (defaults to a fixed instant).
    pub fn at(mut self, now: Timestamp) -> Self {
        self.now = now;
        self
    }

    /// The state the history folds into, for assertions on `evolve`.
    pub fn state(&self) -> &A {
        &self.state
    }

    /// Decides `command` against the history.
    pub fn when(self, command: A::Command) -> When<A> {
        let outcome = self.state.decide(command, self.now);
        When {
            state: self.state,
            outcome,
        }
    }
}

/// A decided scenario, ready for its expectations.
pub struct When<A: Aggregate> {
    state: A,
    outcome: Result<Vec<A::Event>, A::Error>,
}

impl<A: Aggregate> When<A> {
    /// Expects exactly these events, in order. Returns the state after applying them.
    #[track_caller]
    pub fn then(self, expected: impl IntoIterator<Item = A::Event>) -> A {
        let expected: Vec<A::Event> = expected.into_iter().collect();
        match self.outcome {
            Ok(events) => {
                assert_eq!(
                    events, expected,
                    "decided events differ from the expected ones"
                );
                events.iter().fold(self.state, |s, e| s.evolve(e))
            }
            Err(e) => panic!("expected events {expected:?}, but the command was refused: {e}"),
        }
    }

    /// Expects a refusal whose message is exactly `message`.
    #[track_caller]
    pub fn then_refused(self, message: &str) -> A::Error {
        match self.outcome {
            Ok(events) => panic!("expected refusal {message:?}, but got events {events:?}"),
            Err(e) => {
                assert_eq!(e.to_string(), message, "refusal message differs");
                e
            }
        }
    }

    /// Expects a refusal and hands it to `check` for structural assertions.
    #[track_caller]
    pub fn then_refused_with(self, check: impl FnOnce(&A::Error)) {
        match self.outcome {
            Ok(events) => panic!("expected a refusal, but got events {events:?}"),
            Err(e) => check(&e),
        }
    }
}

/// A tiny aggregate used by the harness's own tests and documentation examples.
pub mod example {
    use serde::{Deserialize, Serialize};

    use crate::{Aggregate, DecodeError, DomainEvent, Timestamp};

    /// A counter that refuses to exceed 10.
    #[derive(Debug, Clone, Default, PartialEq)]
    pub struct Counter {
        /// Current value.
        pub value: u32,
    }

    /// Commands of [`Counter`].
    #[derive(Debug, Clone)]
    pub enum CounterCommand {
        /// Increase the value.
        Increment {
            /// By how much.
            by: u32,
        },
    }

    /// Events of [`Counter`].
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub enum CounterEvent {
        /// The value was increased.
        Incremented {
            /// By how much.
            by: u32,
        },
    }

    /// Refusals of [`Counter`].
    #[derive(Debug, thiserror::Error)]
    pub enum CounterError {
        /// The increment would pass the limit.
        #[error("counter would exceed 10")]
        Overflow,
        /// Zero increments are meaningless.
        #[error("increment must be positive")]
        Zero,
    }

    impl DomainEvent for CounterEvent {
        fn event_type(&self) -> &'static str {
            match self {
                CounterEvent::Incremented { .. } => "CounterIncremented",
            }
        }
        fn event_version(&self) -> u16 {
            1
        }
        fn encode(&self) -> serde_json::Value {
            match self {
                CounterEvent::Incremented { by } => serde_json::json!({ "by": by }),
            }
        }
        fn decode(
            event_type: &str,
            event_version: u16,
            data: &serde_json::Value,
        ) -> Result<Self, DecodeError> {
            #[derive(Deserialize)]
            struct V1 {
                by: u32,
            }
            match (event_type, event_version) {
                ("CounterIncremented", 1) => {
                    let v: V1 = DecodeError::parse(event_type, data)?;
                    Ok(CounterEvent::Incremented { by: v.by })
                }
                ("CounterIncremented", version) => Err(DecodeError::UnsupportedVersion {
                    event_type: event_type.into(),
                    version,
                }),
                _ => Err(DecodeError::UnknownType {
                    event_type: event_type.into(),
                }),
            }
        }
    }

    impl Aggregate for Counter {
        type Command = CounterCommand;
        type Event = CounterEvent;
        type Error = CounterError;
        const CATEGORY: &'static str = "counter";

        fn decide(
            &self,
            command: CounterCommand,
            _now: Timestamp,
        ) -> Result<Vec<CounterEvent>, CounterError> {
            match command {
                CounterCommand::Increment { by: 0 } => Err(CounterError::Zero),
                CounterCommand::Increment { by } if self.value + by > 10 => {
                    Err(CounterError::Overflow)
                }
                CounterCommand::Increment { by } => Ok(vec![CounterEvent::Incremented { by }]),
            }
        }

        fn evolve(mut self, event: &CounterEvent) -> Self {
            match event {
                CounterEvent::Incremented { by } => self.value += by,
            }
            self
        }
    }
}

#[cfg(test)]
mod tests {
    use super::example::*;
    use super::*;
    use crate::{DecodeError, DomainEvent};

    #[test]
    fn then_returns_the_evolved_state() {
        let state = given::<Counter>([CounterEvent::Incremented { by: 4 }])
            .when(CounterCommand::Increment { by: 1 })
            .then([CounterEvent::Incremented { by: 1 }]);
        assert_eq!(state.value, 5);
    }

    #[test]
    fn refusals_are_checked_by_message() {
        given_no_history::<Counter>()
            .when(CounterCommand::Increment { by: 0 })
            .then_refused("increment must be positive");
    }

    #[test]
    #[should_panic(expected = "decided events differ")]
    fn then_fails_on_different_events() {
        given_no_history::<Counter>()
            .when(CounterCommand::Increment { by: 1 })
            .then([CounterEvent::Incremented { by: 2 }]);
    }

    #[test]
    #[should_panic(expected = "but got events")]
    fn then_refused_fails_when_accepted() {
        given_no_history::<Counter>()
            .when(CounterCommand::Increment { by: 1 })
            .then_refused("counter would exceed 10");
    }

    #[test]
    fn events_round_trip_and_unknown_versions_are_refused() {
        let e = CounterEvent::Incremented { by: 7 };
        let back = CounterEvent::decode(e.event_type(), e.event_version(), &e.encode()).unwrap();
        assert_eq!(back, e);
        assert!(matches!(
            CounterEvent::decode("CounterIncremented", 9, &e.encode()),
            Err(DecodeError::UnsupportedVersion { version: 9, .. })
        ));
        assert!(matches!(
            CounterEvent::decode("CounterIncremented", 1, &serde_json::json!({"by": "x"})),
            Err(DecodeError::Malformed { .. })
        ));
    }
}
