//! The consent domain, pure: permission rules, input types, the lifecycle as
//! given/when/then scenarios, and the stored event schema.

mod bank;
mod events;
mod lifecycle;
mod support;
mod values;
