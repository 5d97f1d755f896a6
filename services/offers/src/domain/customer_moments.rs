//! A customer's moments (ADR 0026, "The trail of moments"): the index the compliance
//! officer's offer trail lists a customer's moments from, received or refused, newest first.
//!
//! A moment's stream is named after its provider and the provider's id (`moment-<UUIDv8>`), so
//! nothing leads from a customer to their moments but the log. This index does: one stream per
//! customer, `offermoments-<customer key>` (the key as in `contacts_stream`: the customer's
//! UUID, or the SHA-256 of another id — no personal data in stream names or metadata), holding
//! one `MomentNoted` per moment that named the customer, in log order. A note carries only the
//! moment's id, the log position of the moment's first event that named the customer, and when
//! that happened; what became of the moment is read from the moment's own stream (exact).
//!
//! The notes are written by a projection of the moment events (`moment_index`), at least once;
//! `decide` keeps them exactly once and in order: a note whose position is not after the last
//! one noted is already in the stream (or older), so it is left out.

use ecohub_kernel::{Aggregate, DecodeError, DomainEvent, Position, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::OffersError;
use super::moment::MomentId;
use super::moment_event::MomentEvent;
use super::preference::customer_key;

/// One moment that named a customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MomentNote {
    /// The hub's id of the moment.
    pub moment: MomentId,
    /// The log position of the moment's first event that named the customer.
    pub source: Position,
    /// When that event happened (the moment received or refused).
    pub at: Timestamp,
}

/// How far a customer's index goes. It depends only on the stream's last event, so the index
/// writer reads just that one (`evolve` of the last event gives what a fold of all gives).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CustomerMoments {
    /// The position of the last moment noted (`None`: none yet).
    pub last: Option<Position>,
}

/// What the index writer asks.
#[derive(Debug, Clone)]
pub enum CustomerMomentsCommand {
    /// Note these moments (in log order); those noted already are left out.
    Note(Vec<MomentNote>),
}

/// An event of a customer's index of moments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustomerMomentEvent {
    /// `MomentNoted`: a moment named the customer.
    Noted(MomentNote),
}

impl Aggregate for CustomerMoments {
    type Command = CustomerMomentsCommand;
    type Event = CustomerMomentEvent;
    type Error = OffersError;
    const CATEGORY: &'static str = "offermoments";

    fn decide(
        &self,
        command: CustomerMomentsCommand,
        _now: Timestamp,
    ) -> Result<Vec<CustomerMomentEvent>, OffersError> {
        let CustomerMomentsCommand::Note(notes) = command;
        let mut last = self.last;
        let mut out = Vec::new();
        for note in notes {
            if last.is_some_and(|l| note.source <= l) {
                continue;
            }
            last = Some(note.source);
            out.push(CustomerMomentEvent::Noted(note));
        }
        Ok(out)
    }

    fn evolve(mut self, event: &CustomerMomentEvent) -> Self {
        let CustomerMomentEvent::Noted(note) = event;
        self.last = self.last.max(Some(note.source));
        self
    }
}

/// The stream of a customer's moments: `offermoments-<customer key>`.
pub fn customer_moments_stream(customer_id: &str) -> String {
    format!(
        "{}-{}",
        CustomerMoments::CATEGORY,
        customer_key(customer_id)
    )
}

/// The customer a moment event names: a received moment's, or a refused one's when it was
/// resolved (a partner's id that names nobody leaves it out).
pub fn customer_named(event: &MomentEvent) -> Option<&str> {
    match event {
        MomentEvent::Received { moment, .. } => Some(&moment.customer_id),
        MomentEvent::Refused { customer_id, .. } => customer_id.as_deref(),
        _ => None,
    }
}

/// Whether `events[at]` is the first of a moment's events (in stream order) naming `customer`:
/// the one event its note is for. A moment refused for a customer and received later, or
/// refused twice, is noted once.
pub fn first_naming(events: &[MomentEvent], at: usize, customer: &str) -> bool {
    events.get(at).and_then(customer_named) == Some(customer)
        && !events[..at]
            .iter()
            .any(|e| customer_named(e) == Some(customer))
}

impl CustomerMomentEvent {
    /// Every stored type name.
    pub const TYPES: [&'static str; 1] = ["MomentNoted"];
}

/// The stored form of `MomentNoted` (version 1).
#[derive(Serialize, Deserialize)]
struct MomentNotedV1 {
    moment_id: MomentId,
    source: Position,
    at: Timestamp,
}

impl DomainEvent for CustomerMomentEvent {
    fn event_type(&self) -> &'static str {
        Self::TYPES[0]
    }
    fn event_version(&self) -> u16 {
        1
    }
    fn encode(&self) -> Value {
        let CustomerMomentEvent::Noted(n) = self;
        serde_json::to_value(MomentNotedV1 {
            moment_id: n.moment,
            source: n.source,
            at: n.at,
        })
        .expect("stored payloads serialise")
    }
    fn decode(t: &str, v: u16, data: &Value) -> Result<Self, DecodeError> {
        DecodeError::check_known(t, v, &Self::TYPES, 1)?;
        let n: MomentNotedV1 = DecodeError::parse(t, data)?;
        Ok(CustomerMomentEvent::Noted(MomentNote {
            moment: n.moment_id,
            source: n.source,
            at: n.at,
        }))
    }
}
