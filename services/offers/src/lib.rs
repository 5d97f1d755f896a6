//! Bundled co-branded propositions.
pub mod domain;
