//! Bundled co-branded propositions: the half of the product the bank's product managers use.
//!
//! * [`domain`] — the pure model: the attribute catalogue, JSONLogic conditions (checked,
//!   compiled, explained), personas, propositions with versions, four-eyes approval and
//!   co-branding, and the evaluation of a proposition for one customer.
//! * [`config`] — [`OffersConfig`].
//! * [`application`] — [`OffersState`] use cases (load → decide → append) and dry runs.
//! * [`index`] — the proposition list (read model).
//! * [`ports`] — partner standing and customer records, implemented by the hub.
//! * [`http`] — [`configure`] mounts the routes; [`OffersApi`] documents them.

pub mod application;
pub mod config;
pub mod domain;
pub mod http;
pub mod index;
pub mod ports;

pub use application::{AppError, DryRun, OffersPorts, OffersState};
pub use config::OffersConfig;
pub use http::{OffersApi, configure};
pub use index::{PropositionIndex, PropositionIndexReader};
pub use ports::{
    CustomerRecords, PartnerStandings, PortError, ProfileConsents, ProfileRecord, ProviderGrant,
};
