//! HTTP tests of the offers API against the embedded store, with fake partner standing and
//! customer records.

#[path = "../common/fixtures.rs"]
mod fixtures;

mod support;

mod catalogue;
mod console;
mod console_moments;
mod console_partner_names;
mod console_trail;
mod decisions;
mod moment_rules;
mod moments;
mod partner_data;
mod preferences;
mod propositions;
