//! The sharing domain through its public API: the bundled catalogue, minimisation, and
//! given/when/then scenarios of the `Dataset` and `CustomerRecords` aggregates.

mod catalogue;
mod records;
