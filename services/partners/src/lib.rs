//! Partner onboarding.
//!
//! * [`domain`] — the pure `Partner` aggregate (decide/evolve, no IO, time passed in).
//! * [`application`] — the use cases on [`PartnersState`]: load the stream → decide → append
//!   with the revision read.
//! * [`directory`] — [`PartnerDirectory`], the staff list's read model.
//! * [`ports`] — what the authorization server provides: applicant tokens, signed software
//!   statements.
//! * [`http`] — [`configure`] mounts the routes; [`PartnersApi`] documents them.

pub mod application;
pub mod directory;
pub mod domain;
pub mod http;
pub mod ports;

pub use application::{
    AppError, Applied, PartnersConfig, PartnersPorts, PartnersState, RequestContext,
};
pub use directory::{DirectoryEntry, DirectoryReader, PartnerDirectory};
pub use http::{PartnersApi, configure};
pub use ports::{
    ApplicantTokens, IssuedToken, PortError, SoftwareStatementClaims, SoftwareStatements,
    StaffNames,
};
