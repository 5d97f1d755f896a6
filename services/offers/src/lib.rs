//! Bundled co-branded propositions: the half of the product the bank's product managers use.
//!
//! * [`domain`] — the pure model: the attribute catalogue, JSONLogic conditions (checked,
//!   compiled, explained), personas, propositions with versions, four-eyes approval and
//!   co-branding, the evaluation of a proposition for one customer, customers' contact
//!   ledgers with the contact policies, and ranking by acceptance propensity.
//! * [`config`] — [`OffersConfig`].
//! * [`application`] — [`OffersState`] use cases (load → decide → append) and dry runs.
//! * [`decisions`] — deciding offers for a customer, recording them and their responses.
//! * [`index`] — the proposition list (read model); [`outcomes`] — offer outcomes per
//!   proposition and persona (read model); [`funnel`] — the offer funnel for reports (read
//!   model); [`expiry`] — open offers by expiry (read model).
//! * [`jobs`] — the job recording `OfferExpired` for offers nobody answered in time.
//! * [`moment_index`] — the index of each customer's moments (received or refused) the
//!   compliance officer's trail lists, and its reads.
//! * [`views`] — the one projection of the contact ledgers feeding those three read models.
//! * [`ports`] — partner standing, customer records and staff names, implemented by the hub.
//! * [`http`] — [`configure`] mounts the routes; [`OffersApi`] documents them.

pub mod application;
pub mod config;
pub mod decisions;
pub mod domain;
pub mod expiry;
pub mod funnel;
pub mod http;
pub mod index;
pub mod jobs;
pub(crate) mod ledgers;
pub mod moment_index;
pub(crate) mod moments;
pub mod objections;
pub mod outcomes;
pub mod ports;
pub(crate) mod screening;
pub mod triggers;
pub mod views;

pub use application::{AppError, DryRun, OffersPorts, OffersProjections, OffersState};
pub use config::OffersConfig;
pub use decisions::{DecidedOffer, Decision, DecisionRequest};
pub use http::{OffersApi, configure};
pub use index::{PropositionIndex, PropositionIndexReader};
pub use jobs::{run_offer_expiry, spawn_offer_expiry};
pub use moment_index::{ListedMoment, MOMENT_INDEX_CHECKPOINT_STREAM, MomentIndexer, MomentsPage};
pub use moments::{Publication, PublishOutcome, Publisher, Refusal, TriggerDryRun};
pub use outcomes::OutcomesReader;
pub use ports::{
    CustomerRecords, MomentProviders, OfferConsents, PartnerNames, PartnerStandings, PortError,
    ProfileConsents, ProfileRecord, ProviderGrant, StaffNames,
};
pub use triggers::{TRIGGERS_CHECKPOINT_STREAM, TriggerProcessor};
pub use views::ContactViews;
