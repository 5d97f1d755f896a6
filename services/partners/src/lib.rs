//! Partner onboarding. `domain` holds the pure decisions (no IO, time passed in).

pub mod domain;
