//! The partner domain, tested through its public API: value types, given/when/then
//! scenarios for every command, the stored event schema, and a full lifecycle.

mod events;
mod lifecycle;
mod scenarios;
mod support;
mod values;
