//! The sharing domain: pure (no IO, no clock, time arrives as `now`).
//!
//! * [`catalogue`] — dataset definitions: a record schema, providers, and field-level
//!   minimisation (which consent permissions unlock which fields); the `Dataset` aggregate
//!   whose events let admins change the catalogue.
//! * [`records`] — the `CustomerRecords` aggregate: what one provider published about one
//!   customer in one dataset, idempotent by record id.
//! * [`access`] — `DataAccessed`, the durable evidence of every read.
//! * [`notifications`] — event subscriptions, notifications and the mapping of hub events.
//! * [`event`] — the stored schema of every event above (`…V1` structs), apart from the
//!   domain types, with upcasting on decode.

pub mod access;
pub mod catalogue;
pub mod event;
pub mod notifications;
pub mod records;

use sha2::{Digest, Sha256};

/// A short, stable, non-reversible key for stream names built from values that must never
/// appear in a stream name themselves (customer ids, consent ids): the first 32 hex digits of
/// the SHA-256 of the parts joined by NUL.
pub fn stream_key(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            h.update([0u8]);
        }
        h.update(p.as_bytes());
    }
    let digest = h.finalize();
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}
