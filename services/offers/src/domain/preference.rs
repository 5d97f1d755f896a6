//! A customer's objection to personalised offers (GDPR Art. 21): while it stands the customer
//! is never profiled (no attribute is read, no persona matches) and gets nothing personalised.
//! It takes effect from the next request on: evaluations read the stream exactly.

use ecohub_kernel::{Aggregate, Timestamp};

use super::OffersError;
use super::event::PreferenceEvent;

/// The customer's choice (default: personalised offers allowed, as no objection was made).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OfferPreferences {
    /// The customer objects to personalised offers.
    pub objected: bool,
    /// When the choice last changed.
    pub changed_at: Option<Timestamp>,
}

/// What a customer asks.
#[derive(Debug, Clone)]
pub enum PreferenceCommand {
    /// Objects to (`allowed: false`) or allows (`allowed: true`) personalised offers.
    SetPersonalisedOffers {
        /// Whether personalised offers are allowed.
        allowed: bool,
    },
}

impl Aggregate for OfferPreferences {
    type Command = PreferenceCommand;
    type Event = PreferenceEvent;
    type Error = OffersError;
    const CATEGORY: &'static str = "offerpreferences";

    fn decide(
        &self,
        command: PreferenceCommand,
        now: Timestamp,
    ) -> Result<Vec<PreferenceEvent>, OffersError> {
        let PreferenceCommand::SetPersonalisedOffers { allowed } = command;
        Ok(match (allowed, self.objected) {
            (false, false) => vec![PreferenceEvent::PersonalisedOffersObjected { at: now }],
            (true, true) => vec![PreferenceEvent::PersonalisedOffersAllowed { at: now }],
            _ => vec![],
        })
    }

    fn evolve(mut self, event: &PreferenceEvent) -> Self {
        match event {
            PreferenceEvent::PersonalisedOffersObjected { at } => {
                self.objected = true;
                self.changed_at = Some(*at);
            }
            PreferenceEvent::PersonalisedOffersAllowed { at } => {
                self.objected = false;
                self.changed_at = Some(*at);
            }
        }
        self
    }
}

/// The stream of a customer's preferences: `offerpreferences-<id>`, where the id is the
/// customer's id when it is a UUID (the built-in directory's, as its `customer-<uuid>`
/// stream) and otherwise its SHA-256 in hex, so that an identifier a bank may consider
/// personal never appears in a stream name.
pub fn preferences_stream(customer_id: &str) -> String {
    format!(
        "{}-{}",
        OfferPreferences::CATEGORY,
        customer_key(customer_id)
    )
}

/// How a customer is named in the offers service's stream names: their id when it is a UUID,
/// otherwise its SHA-256 in hex.
pub fn customer_key(customer_id: &str) -> String {
    use sha2::{Digest, Sha256};
    match uuid::Uuid::try_parse(customer_id) {
        Ok(u) => u.to_string(),
        Err(_) => data_encoding::HEXLOWER.encode(&Sha256::digest(customer_id.as_bytes())),
    }
}
