//! The sharing domain through its public API: the bundled catalogue, minimisation, and
//! given/when/then scenarios of the `Dataset` and `CustomerRecords` aggregates, and the
//! `[sharing]` settings.

mod catalogue;
mod config;
mod notifications;
mod records;
mod stored;

/// The domain stays pure: no runtime, HTTP, IO or clock reads in `src/domain`.
#[test]
fn the_domain_does_no_io() {
    let sources = [
        include_str!("../../src/domain/mod.rs"),
        include_str!("../../src/domain/catalogue.rs"),
        include_str!("../../src/domain/records.rs"),
        include_str!("../../src/domain/access.rs"),
        include_str!("../../src/domain/notifications.rs"),
        include_str!("../../src/domain/event.rs"),
    ];
    for source in sources {
        for forbidden in [
            "tokio",
            "actix",
            "reqwest",
            "SystemClock",
            "Instant::now",
            "std::fs",
            "ecohub_eventstore",
        ] {
            assert!(
                !source.contains(forbidden),
                "domain code mentions {forbidden}"
            );
        }
    }
}
