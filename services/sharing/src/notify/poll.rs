//! What an RFC 8936 poll asks ([`Poll`]) and what it returns ([`Polled`]); the use case is
//! [`SharingState::poll`](crate::SharingState::poll).

use std::collections::BTreeMap;

/// A poll (RFC 8936 §2.4).
#[derive(Debug, Clone, Default)]
pub struct Poll {
    /// jtis acknowledged.
    pub ack: Vec<String>,
    /// jtis with errors: `(jti, err, description)`.
    pub set_errs: Vec<(String, String, String)>,
    /// Most SETs to return.
    pub max_events: usize,
    /// Answer at once even when nothing is pending.
    pub return_immediately: bool,
}

/// The SETs a poll returns.
#[derive(Debug, Clone, Default)]
pub struct Polled {
    /// jti → signed SET.
    pub sets: BTreeMap<String, String>,
    /// Whether more are pending.
    pub more_available: bool,
}
